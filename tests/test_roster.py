"""ICE's archived web rosters (2010–2017): read as publications with their provenance,
counted as the transcription says, dated by ICE's caption, and never bridged by
invented events across the years nothing was captured."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from g287 import ingest, qa, query, roster_read, store
from g287.normalize import STATES

ROSTER = "pre2018-roster-long.csv"
GAP = ("2017-08-01", "2025-05-16")


@pytest.fixture(scope="module")
def historical(historical_data: Path) -> Path:
    return historical_data


@pytest.fixture(scope="module")
def plain(historical: Path) -> dict[str, list[dict[str, str]]]:
    """The transcription read with the csv module alone: rows per Wayback capture."""
    captures: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (historical / ROSTER).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            captures[row["snapshot_ts"]].append(row)
    return dict(captures)


@pytest.fixture(scope="module")
def long_path(long_history_path: Path) -> Path:
    return long_history_path


@pytest.fixture(scope="module")
def long_db(long_history_db: sqlite3.Connection) -> sqlite3.Connection:
    return long_history_db


def publication_of(conn: sqlite3.Connection, snapshot_ts: str) -> query.Publication:
    row = conn.execute("SELECT publication_id FROM captures WHERE capture_folder = ?",
                       (f"wayback_{snapshot_ts}",)).fetchone()
    assert row, f"capture {snapshot_ts} not stored"
    return next(p for p in query.publications(conn, "participating") if p.id == row[0])


def test_counts_of_every_capture_equal_a_plain_reading(long_db, plain):
    assert len(plain) == 33
    for stamp, rows in plain.items():
        pub = publication_of(long_db, stamp)
        agreements = query.agreements_on(long_db, pub)
        # No capture prints one agency, model and signing date twice, so the sheets' rule
        # (one agreement per agency, model and signing date) counts one per row.
        assert pub.rows == len(agreements) == len(rows), stamp
        models = Counter({"Jail Enforcement": "JEM", "Task Force": "TFM"}[r["support_type"]] for r in rows)
        assert Counter(a.model for a in agreements) == models, stamp
        states = {r["state"].rstrip("*").strip() for r in rows}
        assert len({a.state for a in agreements}) == len(states), stamp
        assert {a.signed.isoformat() for a in agreements if a.signed} == {r["date_signed"] for r in rows}


def test_captures_are_publications_with_provenance(long_db, historical, plain):
    digest = hashlib.sha256((historical / ROSTER).read_bytes()).hexdigest()
    sources = long_db.execute("SELECT * FROM publication_sources").fetchall()
    contents = {tuple((r["caption"], r["state"], r["agency"], r["support_type"], r["date_signed"],
                       r["moa_file"]) for r in rows) for rows in plain.values()}
    assert len(sources) == len(contents)
    assert {s["transcription_sha256"] for s in sources} == {digest}
    assert {s["source_kind"] for s in sources} == {"web archive transcription"}
    whole = long_db.execute("SELECT content FROM raw_files WHERE sha256 = ?", (digest,)).fetchone()
    assert whole[0] == (historical / ROSTER).read_bytes()
    waybacks = long_db.execute("SELECT COUNT(*) FROM captures WHERE capture_folder LIKE 'wayback_%'")
    assert waybacks.fetchone()[0] == len(plain)
    for stamp, rows in plain.items():
        pub = publication_of(long_db, stamp)
        source = next(s for s in sources if s["publication_id"] == pub.id)
        caption = rows[0]["caption"] or None
        assert source["caption"] == caption
        if rows[0]["asof_basis"] == "on-page caption":
            month, day, year = caption.rsplit(" ", 1)[1].split("/")
            assert source["printed_as_of"] == f"{year}-{month}-{day}"
        # The publication is dated by its first capture's as-of date; raw bytes are the
        # transcription's lines for that capture, verbatim.
        first = long_db.execute("SELECT MIN(capture_folder) FROM captures WHERE publication_id = ?",
                                (pub.id,)).fetchone()[0].removeprefix("wayback_")
        raw = long_db.execute("SELECT content FROM raw_files WHERE sha256 = ?", (pub.sha256,)).fetchone()[0]
        lines = raw.decode("utf-8").splitlines()
        assert len(lines) == 1 + len(plain[first]) and all(line.startswith(f'"{first}"') for line in lines[1:])


def test_stale_captions_date_the_list_by_its_capture(long_db, plain):
    # 2014-04-14: the caption still says 08/07/2013 but the table lists agreements signed
    # later that year, so the list cannot be that of 2013-08-07.
    pub = publication_of(long_db, "20140414075008")
    latest = max(r["date_signed"] for r in plain["20140414075008"])
    assert latest > "2013-08-07"
    assert (pub.label, pub.dated_by) == ("2014-04-14", "capture")
    assert publication_of(long_db, "20130402163405").dated_by == "caption"


def test_a_change_under_a_stale_caption_is_dated_by_the_captures(long_db, plain):
    """Two contents under one caption date (10/29/2010): the change between them was made
    after the first was captured and before the second was, never on the caption's date."""
    first, second = publication_of(long_db, "20110220090259"), publication_of(long_db, "20110818151202")
    assert first.label == second.label == "2010-10-29"
    gone = {r["agency"] for r in plain["20110220090259"]} - {r["agency"] for r in plain["20110818151202"]}
    events = [e for e in query.changes(long_db) if e.after_id == second.id]
    assert gone and events and {e.agency_name for e in events if e.kind == "agreement_removed"} <= gone
    assert all(e.details["between"] == ["2011-02-20", "2011-08-18"] and e.date == "2011-08-18"
               for e in events)


def test_reingest_adds_nothing(long_path, historical, tmp_path):
    copy = tmp_path / "again.sqlite"
    shutil.copy(long_path, copy)
    conn = store.connect(copy)
    before = [sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}"))
              for t in ("publications", "captures", "publication_sources", "events", "agreements")]
    for target in (historical, historical / ROSTER):
        report = ingest.ingest_paths(conn, [target])
        assert (len(report.added), len(report.seen_again), len(report.failed)) == (0, 33, 0)
    after = [sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}"))
             for t in ("publications", "captures", "publication_sources", "events", "agreements")]
    assert after == before
    conn.close()


def test_status_names_the_capture_and_caption(long_db, plain, historical):
    result = query.status(long_db, dt.date(2017, 1, 29))["participating"]
    assert result["capture"]["wayback_timestamp"] == "20170129002131"
    with (historical / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        listed = [r["url"] for r in csv.DictReader(handle) if "/web/20170129002131" in r["url"]]
    assert result["capture"]["wayback_url"] == listed[0]
    assert result["publication"]["caption"] is None   # ICE dropped the heading in 2015
    assert result["agreements"] == result["rows"] == len(plain["20170129002131"])
    assert "gap" not in result
    captioned = query.status(long_db, dt.date(2013, 6, 1))["participating"]
    assert captioned["publication"]["caption"] == "Mutually Signed Agreements (39) signed as of 12/31/2012"
    assert captioned["capture"]["wayback_timestamp"] == "20130601201323"
    assert captioned["agreements"] == 39


def test_a_day_in_the_gap_answers_with_the_last_capture_labelled(long_db, plain):
    status = query.status(long_db, dt.date(2020, 1, 1))
    assert status["participating"] is None   # nothing answers for a day nobody saw
    result = status["participating_seen_before"]
    assert result["capture"]["wayback_timestamp"] == "20170801021304"
    assert result["agreements"] == len(plain["20170801021304"])
    assert result["gap"]["kind"] == "in_gap" and result["gap"]["between"] == list(GAP)
    rebuilt = result["reconstruction"]
    first_sheet = query.publication_as_of(long_db, "participating", dt.date.fromisoformat(GAP[1]))
    expected = sum(1 for a in query.agreements_on(long_db, first_sheet)
                   if a.signed and a.signed <= dt.date(2020, 1, 1))
    assert rebuilt["agreements"] == expected and rebuilt["publication"]["id"] == first_sheet.id


def test_no_event_is_invented_inside_the_gap(long_db):
    events = query.changes(long_db, include_baseline=True)
    assert not [e for e in events if e.list == "participating" and GAP[0] < e.date < GAP[1]]
    across = [e for e in events if e.after.startswith("participating")
              and e.before and e.before.startswith("ice-287g-factsheet")]
    assert across and {e.kind for e in across} >= {"agreement_removed", "agreement_added"}
    # A pending entry signed across the gap was seen pending in 2025: its range starts then.
    assert all(e.details["between"] == list(GAP) and e.when == f"between {GAP[0]} and {GAP[1]}"
               for e in across if e.kind != "pending_signed")
    assert all((e.details.get("between") or ["9999"])[0] > GAP[0] for e in across if e.kind == "pending_signed")


def test_an_agency_of_2011_and_2025_has_one_story(long_db):
    first_web = query.publications(long_db, "participating")[0]
    last = query.publication_as_of(long_db, "participating")
    both = long_db.execute(
        "SELECT agency_id FROM row_identities WHERE publication_id = ? INTERSECT"
        " SELECT agency_id FROM row_identities WHERE publication_id = ?", (first_web.id, last.id)).fetchall()
    assert both, "no agency on both the 2010 roster and the newest sheet"
    for (agency_id,) in both:
        story = query.agency_story(long_db, agency_id)
        listed = {g["first_seen"]["source_kind"] for g in story["agreements"]}
        assert listed == {"web archive transcription", "ICE sheet"} or len(story["agreements"]) == 1
        for event in story["events"]:
            assert event["list"] == "pending" or not GAP[0] < event["date"] < GAP[1]
            if event["before"] and event["before"].startswith("ice-287g") and event["after"].endswith(".xlsx"):
                assert event["when"] == f"between {GAP[0]} and {GAP[1]}"


def test_qa_reports_captions_that_disagree_with_their_rows(long_db, plain):
    check = qa.caption_counts(long_db)
    disagree = sorted(stamp for stamp, rows in plain.items()
                      if rows[0]["caption_n"] and int(rows[0]["caption_n"]) != len(rows))
    assert check.status == "warn" and check.count == len(disagree) == 3
    for stamp in disagree:
        assert roster_read.capture_file_name(stamp) in check.detail
    assert all(c.status != "fail" for c in qa.run_checks(long_db))


def test_rebuild_rereads_web_rosters_from_their_bytes(long_path, tmp_path):
    copy = tmp_path / "rebuild.sqlite"
    shutil.copy(long_path, copy)
    conn = store.connect(copy)
    before = sorted(tuple(r) for r in conn.execute("SELECT * FROM publication_sources"))
    # As if an older reader had dated a capture otherwise: rebuild reads it again.
    conn.execute("UPDATE publication_sources SET as_of = '2001-01-01', dated_by = 'capture'"
                 " WHERE caption IS NOT NULL")
    conn.commit()
    report = ingest.rebuild(conn)
    assert report.rows_changed == [] and report.before == report.after
    assert sorted(tuple(r) for r in conn.execute("SELECT * FROM publication_sources")) == before
    assert conn.execute("SELECT MIN(date) FROM publications").fetchone()[0] == "2010-10-29"
    conn.close()


SYNTHETIC = (
    '"snapshot_ts","capture_date","caption","caption_n","content_asof","asof_basis","state",'
    '"agency","support_type","date_signed","moa_file"\n'
    '"20110101000000",2011-01-01,"Mutually Signed Agreements (2) as of 12/01/2010",2,2010-12-01,'
    '"on-page caption","DELAWARE**","Delaware Dept. of Correction","Jail Enforcement",2009-10-01,"a.pdf"\n'
    '"20110101000000",2011-01-01,"Mutually Signed Agreements (2) as of 12/01/2010",2,2010-12-01,'
    '"on-page caption","ALABAMA","Alabama Department of Public Safety","Task Force",2003-09-10,""\n'
    '"20110301000000",2011-03-01,"Mutually Signed Agreements (2) as of 12/01/2010",2,2010-12-01,'
    '"on-page caption","DELAWARE**","Delaware Dept. of Correction","Jail Enforcement",2009-10-01,"a.pdf"\n'
    '"20110301000000",2011-03-01,"Mutually Signed Agreements (2) as of 12/01/2010",2,2010-12-01,'
    '"on-page caption","ALABAMA","Alabama Department of Public Safety","Task Force",2003-09-10,""\n'
)


def test_same_content_captured_twice_is_one_publication():
    pubs = roster_read.read_roster(SYNTHETIC.encode(), "roster.csv")
    assert len(pubs) == 1
    pub = pubs[0]
    assert [c.snapshot_ts for c in pub.captures] == ["20110101000000", "20110301000000"]
    assert (pub.as_of, pub.dated_by, pub.caption_count) == (dt.date(2010, 12, 1), "caption", 2)
    delaware, alabama = pub.sheet.rows
    assert (delaware.state, delaware.model, alabama.model) == ("DE", "JEM", "TFM")
    assert "state_footnote" in {i.code for i in delaware.issues}
    assert delaware.raw["state"] == "DELAWARE**" and delaware.moa_status == "named"
    again = roster_read.read_roster(pub.captures[0].content, pub.captures[0].file)
    assert [p.content_key for p in again] == [pub.content_key]


def test_bad_roster_files_fail_in_one_line_and_other_csvs_are_not_sources(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text('"snapshot_ts","state","agency"\n"20110101000000","ALABAMA","X"\n', encoding="utf-8")
    conn = store.connect(tmp_path / "g.sqlite")
    report = ingest.ingest_paths(conn, [broken])
    assert [f.message for f in report.failed] == [
        "broken.csv: not a roster transcription: no column(s) support_type, date_signed"]
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "manifest.csv").write_text("file,sha256\nx.xlsx,00\n", encoding="utf-8")
    (folder / "roster.csv").write_text(SYNTHETIC, encoding="utf-8")
    assert ingest.sheet_files([folder]) == [folder / "roster.csv"]
    report = ingest.ingest_paths(conn, [folder])
    assert (len(report.added), len(report.seen_again), len(report.failed)) == (1, 1, 0)
    # A manifest.csv that lists no Wayback address gives none (and is no source itself).
    assert conn.execute("SELECT COUNT(*) FROM wayback_captures").fetchone()[0] == 0
    conn.close()


def test_pre2018_claims_example(long_db):
    from g287.analytics import claims

    path = Path(__file__).resolve().parents[1] / "examples" / "claims-pre2018.yaml"
    results = claims.check_claims(long_db, claims.load_claims(path))
    assert [(r.date, r.verdict, r.computed) for r in results] == [
        ("2017-01-20", "outside_range", None), ("2017-01-20", "differs", 36), ("2012-10-02", "exact", 20),
        ("2012-12-31", "exact", 0), ("2012-12-31", "exact", 39), ("2017-08-01", "exact", 58),
        ("2017-08-01", "exact", 18)]
    # The inauguration falls in a 49-day stretch no capture saw: not judged, answered by no
    # publication, the captures on both sides named with their figures, and the lower bound
    # from the next capture's signing dates offered; the nearest capture, cited as the
    # claim's source, is judged.
    assert results[0].publication is None and results[0].reconstructed == 36
    for part in ("2016-12-11 (34 agreements on " + roster_read.capture_file_name("20161211024641"),
                 "2017-01-29 (36 agreements on " + roster_read.capture_file_name("20170129002131"),
                 "nobody captured", "a lower bound"):
        assert part in results[0].note
    assert results[1].publication["label"] == "2017-01-29" and "2017-01-29" in results[1].note
    deep = claims.check_claims(long_db, [
        {"text": "in the gap", "date": "2021-01-20", "metrics": [{"metric": "agreements", "value": 58}]},
        {"text": "before any capture", "date": "2009-02-01", "metrics": [{"metric": "agreements", "value": 67}]},
    ])
    # Inside the 2017-2025 gap nothing is judged; before the first capture neither.
    assert [r.verdict for r in deep] == ["outside_range", "before_archive"]
    assert "2017-08-01" in deep[0].note

def test_model_timeline_shows_the_task_force_model_leaving_in_2012(long_db, plain):
    from g287.analytics import series

    changes = series.model_timeline(long_db)
    task_force = [(c.change, c.agreements_after) for c in changes if c.model == "TFM"]
    assert task_force[0][0] == "listed" and task_force[1:] == [("absent", 0), ("listed again", 275)]
    gone = next(c for c in changes if c.model == "TFM" and c.change == "absent")
    # From the transcription: the last capture listing a "Task Force" row, and the next one.
    with_tf = sorted(stamp for stamp, rows in plain.items() if any(r["support_type"] == "Task Force" for r in rows))
    later = sorted(stamp for stamp in plain if stamp > with_tf[-1])
    assert gone.before["file"] == roster_read.capture_file_name(with_tf[-1])
    assert gone.after["file"] == roster_read.capture_file_name(later[0])
    assert gone.when == "between 2012-10-16 and 2012-12-31"
    back = next(c for c in changes if c.model == "TFM" and c.change == "listed again")
    assert back.when == f"between {GAP[0]} and {GAP[1]}"


def test_home_page_long_run_chart_marks_observed_gap_and_reconstruction(long_path, long_db):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app

    page = TestClient(create_app(long_path)).get("/").text
    chart = page[page.index('<svg class="chart long-run"'):]
    chart = chart[:chart.index("</svg>")]
    publications = len(query.publications(long_db, "participating"))
    assert chart.count('<circle class="observed"') == publications
    assert chart.count('<rect class="gap"') == 1 and "not captured between August 1, 2017 and May 16, 2025" in chart
    assert 'class="reconstructed"' in chart and "legend-reconstructed" in chart
    # No observed line crosses the gap: every segment stays on one side of it.
    for segment in chart.split('<polyline class="observed-line"')[1:]:
        xs = [float(p.split(",")[0]) for p in segment.split('points="')[1].split('"')[0].split()]
        gap = chart.split('<rect class="gap" x="')[1]
        left = float(gap.split('"')[0])
        right = left + float(gap.split('width="')[1].split('"')[0])
        assert max(xs) <= left + 0.1 or min(xs) >= right - 0.1
    original = TestClient(create_app(long_path)).get(
        f"/publications/{publication_of(long_db, '20170129002131').id}/file")
    assert original.headers["content-type"].startswith("text/csv")
    assert original.text.splitlines()[1].startswith('"20170129002131"')



def test_a_renamed_agency_linked_by_its_moa_file_keeps_one_identity(long_db, plain):
    # Read from the transcription: an agency whose name changed while its MOA file's stem
    # stayed (the date digits at the end change with each re-signing).
    by_stem: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rows in plain.values():
        for r in rows:
            if r["moa_file"]:
                by_stem[(r["state"], roster_read.moa_stem(r["moa_file"]))].add(r["agency"])
    renamed = {key: names for key, names in by_stem.items() if len(names) > 1}
    assert renamed, "the transcription holds no rename evidenced by an MOA file"
    for (state, _), names in renamed.items():
        code = next(c for c, (_, name) in STATES.items() if name.upper() == state.rstrip("*").strip())
        ids = {r[0] for r in long_db.execute(
            "SELECT DISTINCT i.agency_id FROM sheet_rows s JOIN row_identities i USING (publication_id,"
            f" row_number) WHERE s.state = ? AND s.agency_name IN ({','.join('?' * len(names))})",
            (code, *sorted(names)))}
        assert len(ids) == 1, names
        story = query.agency_story(long_db, ids.pop())
        added = Counter(e["model"] for e in story["events"] if e["kind"] == "agreement_added")
        assert max(added.values()) == 1, names


def test_moa_evidence_needs_one_candidate_and_the_same_model():
    def row(pub: str, name: str, moa: str, model: str = "JEM") -> roster_read.RosterRow:
        return roster_read.RosterRow(pub, "VA", name.lower(), name, model, moa)

    before = [row("a", "Old Jail", "r_jail101509.pdf"), row("a", "Other", "r_other.pdf")]
    assert [(r.new_key, r.old_key) for r in roster_read.renames(
        [before, [row("b", "New Center", "r_jail.pdf"), row("b", "Other", "r_other.pdf")]])] == [
        ("new center", "old jail")]
    # Another model, or the old name still listed, or two names on one stem: no rename.
    assert not roster_read.renames([before, [row("b", "New Center", "r_jail.pdf", "TFM")]])
    assert not roster_read.renames([before, [row("b", "New Center", "r_jail.pdf"),
                                             row("b", "Old Jail", "r_jail101509.pdf")]])
    assert not roster_read.renames([before + [row("a", "Annex", "r_jail2.pdf")],
                                    [row("b", "New Center", "r_jail.pdf")]])


def test_pages_and_feeds_quote_a_range_for_events_across_the_gap(long_path, long_db):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app

    across = next(e for e in query.changes(long_db) if e.kind == "agreement_removed"
                  and e.details.get("between") == list(GAP))
    client = TestClient(create_app(long_path))
    page = client.get(f"/agency/{across.agency_id}").text
    assert "between Aug 1, 2017 and May 16, 2025" in page
    assert "<td>May 16, 2025</td><td>Agreement removed" not in page
    feed = client.get(f"/feeds/agency/{across.agency_id}.atom").text
    assert "it happened between August 1, 2017 and May 16, 2025" in feed


def test_daily_series_flags_the_days_nobody_saw(long_db):
    from g287.analytics import series

    days = {p.date: p for p in series.daily_series(long_db, dt.date(2017, 7, 30), dt.date(2025, 5, 20))}
    assert not days["2017-08-01"].in_gap and days["2017-08-02"].in_gap and days["2025-05-15"].in_gap
    assert not days["2025-05-16"].in_gap and not days["2025-05-20"].in_gap
    # never carried across what nobody saw
    assert days["2020-01-01"].agreements is None and days["2020-01-01"].participating_file is None
    assert days["2017-08-01"].agreements == 58


@pytest.mark.browser
def test_long_run_chart_in_a_real_browser(long_path):
    from playwright.sync_api import sync_playwright

    from test_web_browser import ARGS, ARTIFACTS, CHROMIUM, serve

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make test` does)", pytrace=False)
    url, server = serve(long_path)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/")
            chart = page.locator("svg.long-run")
            chart.scroll_into_view_if_needed()
            assert chart.is_visible()
            gap = chart.locator("rect.gap").bounding_box()
            whole = chart.bounding_box()
            assert gap and whole and 0.3 < gap["width"] / whole["width"] < 0.7   # 2017→2025 of 2010→2025
            legend = chart.locator("g[class^=legend] text").all_text_contents()
            assert [text.split(":")[0].split(" ")[0] for text in legend] == ["observed", "gap", "reconstructed"]
            ARTIFACTS.mkdir(exist_ok=True)
            chart.screenshot(path=str(ARTIFACTS / "long-run.png"))
            browser.close()
    finally:
        server.should_exit = True


def test_the_web_rosters_leave_the_sheets_history_as_it_was(history_db, long_db):
    """Adding 2010–2017 changes nothing after ICE's first sheet: same events, same counts,
    except that an agency the rosters show under both spellings ICE prints in 2025 (a renewal
    across the stretch, judged by lineage with its evidence) is one agency, not two."""
    first = query.publications(history_db, "participating")[0].label
    sql = ("SELECT kind, date, agency_id, agreement_id, pending_id, model FROM events WHERE date > ?"
           " ORDER BY 1, 2, 3, 4, 5, 6")
    assert long_db.execute(sql, (first,)).fetchall() == history_db.execute(sql, (first,)).fetchall()
    joined = long_db.execute(
        "SELECT COUNT(*) FROM lineage l JOIN publications b ON b.id = l.before_pub"
        " JOIN publications a ON a.id = l.after_pub WHERE l.status = 'merged'"
        " AND b.file LIKE 'ice-287g-factsheet-%' AND a.file LIKE 'participatingAgencies%'").fetchone()[0]
    assert joined == 1   # Walker County, TX: Sheriff's Office (2017, 2025) = Sheriff's Department (2020)
    for day in (None, dt.date(2025, 6, 6)):
        sheets, both = query.status(history_db, day), query.status(long_db, day)
        for key in ("agreements", "states", "by_model", "by_state"):
            assert sheets["participating"][key] == both["participating"][key]
        assert both["participating"]["agencies"] == sheets["participating"]["agencies"] - joined


def test_web_roster_agencies_take_the_type_ice_printed_later(long_db):
    pub = publication_of(long_db, "20130402163405")
    agreements = query.agreements_on(long_db, pub)
    later = {r[0]: (r[1], r[2]) for r in long_db.execute("SELECT agency_id, agency_type, county FROM agencies")}
    assert {a.agency_id: (a.agency_type, a.county) for a in agreements} == {
        a.agency_id: later[a.agency_id] for a in agreements}
    assert any(a.agency_type is None for a in agreements)       # only on the web roster: unknown
    assert any(a.agency_type == "County" for a in agreements)
    raw = long_db.execute("SELECT COUNT(*) FROM sheet_rows WHERE publication_id = ? AND agency_type IS NOT NULL",
                          (pub.id,)).fetchone()[0]
    assert raw == 0                                              # the rows stay as printed


def test_rosters_and_sheets_in_any_order_give_one_history(ice_sheets, historical, tmp_path):
    sheets = sorted(ice_sheets.rglob("*.xlsx"))[::16]
    dump = ("SELECT agency_id, state, name, first_seen, last_seen FROM agencies", "SELECT * FROM agreements",
            "SELECT event_id, kind, date, agency_id, details FROM events",
            "SELECT id, date, seq, dated_by FROM publications", "SELECT * FROM identity_merges")
    histories = []
    together = store.connect(tmp_path / "together.sqlite")
    ingest.ingest_paths(together, [historical, *sheets])
    older_first = store.connect(tmp_path / "older_first.sqlite")
    ingest.ingest_paths(older_first, [historical])
    assert ingest.ingest_paths(older_first, sheets).derivation == "append"
    newer_first = store.connect(tmp_path / "newer_first.sqlite")
    ingest.ingest_paths(newer_first, sheets)
    assert ingest.ingest_paths(newer_first, [historical]).derivation == "full"
    for conn in (together, older_first, newer_first):
        histories.append([sorted(tuple(r) for r in conn.execute(sql)) for sql in dump])
        conn.close()
    assert histories[0] == histories[1] == histories[2]
