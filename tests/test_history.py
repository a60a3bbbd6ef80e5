"""The history built from the whole shared archive: publications, counts, identities, events."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

from g287 import qa, query
from g287.analytics.series import daily_series


def test_publications_deduplicated_by_content(history_db):
    """Quirk 1: 80 files, 46 distinct contents (20 participating, 26 pending)."""
    pubs = query.publications(history_db)
    assert len(pubs) == 46
    assert sum(p.list == "participating" for p in pubs) == 20
    assert sum(p.captures for p in pubs) == 80


def test_same_name_two_contents_are_two_publications(history_db):
    """Quirk 4: participatingAgencies07032025pm.xlsx carried 753 then 777 rows."""
    same = [p for p in query.publications(history_db, "participating")
            if p.file == "participatingAgencies07032025pm.xlsx"]
    assert [p.rows for p in sorted(same, key=lambda p: p.seq)] == [753, 777]


def test_same_content_two_names_is_one_publication(history_db):
    """Quirk 4: pendingAgencies06032025pm and 06042025am are byte-identical; labelled by the
    earliest capture."""
    pub = next(p for p in query.publications(history_db, "pending")
               if p.file == "pendingAgencies06032025pm.xlsx")
    names = {r[0] for r in history_db.execute(
        "SELECT file FROM captures WHERE publication_id = ?", (pub.id,))}
    assert names == {"pendingAgencies06032025pm.xlsx", "pendingAgencies06042025am.xlsx"}
    assert (pub.label, pub.label_ampm) == ("2025-06-03", "pm")


def test_status_as_of_names_ice_file_and_its_counts(history_db):
    """Done-when: status --as-of 2025-06-06 names participatingAgencies06062025am.xlsx."""
    result = query.status(history_db, dt.date(2025, 6, 6))
    part = result["participating"]
    assert part["publication"]["file"] == "participatingAgencies06062025am.xlsx"
    assert part["rows"] == part["agreements"] == 649
    assert result["pending"]["publication"]["file"] == "pendingAgencies06062025am.xlsx"
    assert result["pending"]["entries"] == 79


def test_first_sheet_matches_independent_count(history_db):
    """PEERS cross-check on 05/16/2025 am: 571 agreements, 40 states, JEM 91 TFM 275 WSO 205.
    PEERS counts 462 agencies by printed name; g287 resolves 461 because
    "City of St. Cloud Police Department" and "St. Cloud Police Department" (FL) are one agency."""
    part = query.status(history_db, dt.date(2025, 5, 16))["participating"]
    assert (part["agreements"], part["states"]) == (571, 40)
    assert part["by_model"] == {"JEM": 91, "WSO": 205, "TFM": 275}
    assert part["printed_agency_names"] == 462
    assert part["agencies"] == 461


def test_missing_sheet_in_capture_means_unchanged(history_db):
    """Quirk 2: no participating sheet was captured on 06-24; 06-23 am still stands."""
    result = query.status(history_db, dt.date(2025, 6, 24))
    assert result["participating"]["publication"]["file"] == "participatingAgencies06232025am.xlsx"
    assert result["pending"]["publication"]["file"] == "pendingAgencies06242025am.xlsx"


def test_as_of_before_archive_is_empty(history_db):
    status = query.status(history_db, dt.date(2025, 1, 1))
    assert (status["as_of"], status["participating"], status["pending"]) == ("2025-01-01", None, None)
    assert {c["kind"] for c in status["date_context"].values()} == {"before_archive"}
    assert "before the archive" in status["note"]


def test_truncated_spelling_is_one_agency_with_a_visible_rename(history_db):
    """Quirk 23: "Berrian County Sheriff's Offic" (truncated) became "...Office": one agency,
    and the merge is an event with its evidence (no silent near-match tier)."""
    found = query.search_agencies(history_db, "Berrian County")
    assert len(found) == 1 and found[0].spellings == 2
    story = query.agency_story(history_db, found[0].agency_id)
    tiers = {s["spelling"]: s["tier"] for s in story["spellings"]}
    assert tiers["Berrian County Sheriff's Office"] == "renamed"
    assert len(story["agreements"]) == 1
    (event,) = query.changes(history_db, kind="agreement_renamed", state="MI")
    assert event.details["from_name"] == "Berrian County Sheriff's Offic"
    assert event.details["evidence"]["same_county"] is True


def test_look_alike_agencies_are_not_merged(history_db):
    """PEERS 29: distinct agencies with similar names stay apart."""
    for a, b in (("Melbourne Beach Police", "Melbourne Police"),
                 ("University of Florida Police", "University of West Florida")):
        assert query.search_agencies(history_db, a)[0].agency_id != \
            query.search_agencies(history_db, b)[0].agency_id
    merges = history_db.execute("SELECT reason FROM identity_merges").fetchall()
    assert all("Hopewell" not in r[0] for r in merges)


def test_curly_apostrophe_does_not_split_an_agency(history_db):
    """Quirk 22 / RFW #240: one agency whatever apostrophe ICE typed."""
    found = query.search_agencies(history_db, "Galveston County Sheriff")
    assert len(found) == 1
    spellings = {s["spelling"] for s in query.agency_story(history_db, found[0].agency_id)["spellings"]}
    assert spellings == {"Galveston County Sheriff’s Office", "Galveston County Sheriff's Office"}


def test_event_kinds_and_their_publications(history_db):
    events = query.changes(history_db)
    kinds = {e.kind for e in events}
    assert {"agreement_added", "agreement_removed", "moa_published", "pending_added",
            "pending_signed", "signing_date_corrected"} <= kinds
    # Each event names the two publications it lies between: the one where the change shows
    # and the one right before it in the same list (the first publication is the baseline).
    order = {name: [p.id for p in query.publications(history_db, name)] for name in ("participating", "pending")}
    files = {p.id: p.file for name in order for p in query.publications(history_db, name)}
    for e in events:
        pubs = order[e.list]
        assert pubs.index(e.after_id) >= 1 and e.before == files[pubs[pubs.index(e.after_id) - 1]], e
    baseline = query.changes(history_db, include_baseline=True)
    assert {e.after_id for e in baseline if e.before is None} == {pubs[0] for pubs in order.values()}
    signed = [e for e in events if e.kind == "pending_signed"]
    assert all(e.details["days_pending"] >= 0 for e in signed)


def test_changes_filters(history_db):
    florida = query.changes(history_db, since=dt.date(2025, 7, 1), state="fl", kind="moa_published")
    assert florida and all(e.state == "FL" and e.kind == "moa_published" and e.date >= "2025-07-01"
                           for e in florida)


def test_signing_date_correction_is_one_agreement(history_db):
    """PEERS 40: a re-dated agreement keeps its id and gets a correction event."""
    event = next(e for e in query.changes(history_db, kind="signing_date_corrected"))
    agreement = history_db.execute("SELECT signed, signed_first FROM agreements WHERE agreement_id = ?",
                                   (event.agreement_id,)).fetchone()
    assert agreement["signed"] == event.details["to"]
    assert agreement["signed_first"] is not None


def test_qa_passes_on_archive(history_db):
    results = qa.run_checks(history_db)
    assert [r.name for r in results if r.status == "fail"] == []
    duplicates = next(r for r in results if r.name.startswith("no agreement printed twice"))
    # "City of Zephyrhills PD" and "Zephyrhills PD" print one agreement twice (PEERS 26).
    assert duplicates.status == "warn" and "Zephyrhills Police Department" in duplicates.detail


def test_st_cloud_rows_with_two_dates_stay_two_agreements(history_db):
    """Quirk 10: St. Cloud PD (FL, TFM) is printed twice on the 753-row 07-03 pm sheet, once
    signed 2025-04-14 and once 2025-04-15; both rows are kept as printed, under one agency."""
    rows = history_db.execute(
        "SELECT r.signed, i.agency_id FROM sheet_rows r JOIN row_identities i"
        " USING (publication_id, row_number) JOIN publications p ON p.id = r.publication_id"
        " WHERE p.rows = 753 AND r.agency_name LIKE '%St. Cloud%' ORDER BY r.signed").fetchall()
    assert [r[0] for r in rows] == ["2025-04-14", "2025-04-15"]
    assert len({r[1] for r in rows}) == 1


GAP_DAYS = ["2025-06-11", "2025-06-12", "2025-06-13", "2025-06-14", "2025-06-15", "2025-06-16",
            "2025-06-17", "2025-06-19", "2025-06-20", "2025-06-22", "2025-06-28", "2025-06-29",
            "2025-07-01", "2025-07-05", "2025-07-06"]


def test_days_without_a_capture_carry_the_last_publication_forward(history_db, ice_sheets):
    """Quirk 3: no capture on these days; as of each, each list is its newest publication
    labelled on or before it, and the daily series names that file."""
    captured = {folder.name[7:15] for folder in ice_sheets.iterdir() if folder.is_dir()}
    assert not captured & {day.replace("-", "") for day in GAP_DAYS}
    assert len(captured) == 36
    daily = {p.date: p for p in daily_series(history_db)}
    for day in GAP_DAYS:
        for list_name in ("participating", "pending"):
            expected = max((p for p in query.publications(history_db, list_name) if p.label <= day),
                           key=lambda p: p.seq)
            assert query.publication_as_of(history_db, list_name, dt.date.fromisoformat(day)) == expected
            shown = daily[day].participating_file if list_name == "participating" else daily[day].pending_file
            assert shown == expected.file


def test_no_personal_names_from_workbook_properties_are_stored(history_db, ice_sheets):
    """Quirk 11: docProps name ICE staff (creator, last editor). g287 keeps the file's bytes
    as published but stores none of those names in its own tables."""
    names = set()
    for path in ice_sheets.rglob("*.xlsx"):
        core = zipfile.ZipFile(path).read("docProps/core.xml").decode("utf-8")
        names |= set(re.findall(r"<(?:dc:creator|cp:lastModifiedBy)>([^<]+)<", core))
    assert names, "the archive's workbooks name their authors"
    tables = [r[0] for r in history_db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in history_db.execute(f'SELECT * FROM "{table}"'):
            text = " ".join(str(v) for v in row if isinstance(v, str))
            assert not any(name in text for name in names), (table, tuple(row)[:3])
