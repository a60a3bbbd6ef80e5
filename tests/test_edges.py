"""Issue 21: every answer for a date says what was seen, on the history `make history`
builds (ICE's sheets and the 2010–2017 web rosters together). Figures checked by hand:
the roster's counts with the csv module, the sheets' with openpyxl (see
examples/claims_2025_reporting.yaml)."""

from __future__ import annotations

import datetime as dt

import pytest

from g287 import query
from g287.analytics import claims, measures

DAY = dt.date.fromisoformat


@pytest.mark.parametrize(("day", "kind"), [
    ("2009-01-01", "before_archive"), ("2010-10-29", "caption"), ("2011-03-01", "in_gap"),
    ("2017-01-20", "in_gap"), ("2017-07-15", "in_archive"), ("2024-12-31", "in_gap"),
    ("2025-05-28", "in_archive"), ("2025-08-29", "after_archive")])
def test_every_date_says_what_was_seen(long_history_db, day, kind):
    context = query.date_context(long_history_db, DAY(day))
    assert context.kind == kind
    assert (context.answering is not None) == (kind in ("in_archive", "after_archive"))


def test_a_2025_date_before_the_first_sheet_is_never_answered_by_the_2017_page(long_history_db):
    context = query.date_context(long_history_db, DAY("2024-12-31"))
    assert context.answering is None
    assert (context.before["seen"], context.before["count"]) == ("2017-08-01", 58)
    assert (context.after["publication"]["file"], context.after["count"]) == (
        "participatingAgencies05162025am.xlsx", 571)
    rebuilt = query.reconstruction(long_history_db, context)
    # openpyxl: 135 rows of participatingAgencies05162025am.xlsx SIGNED by 2024-12-31, 21 STATEs
    assert (rebuilt["agreements"], rebuilt["states"], rebuilt["lower_bound"]) == (135, 21, True)
    assert rebuilt["publication"]["file"] == "participatingAgencies05162025am.xlsx"
    status = query.status(long_history_db, DAY("2024-12-31"))
    assert status["reconstruction"]["agreements"] == 135
    assert status["date_context"]["participating"]["kind"] == "in_gap"


def test_growth_is_never_baselined_across_an_unseen_stretch(long_history_db):
    result = measures.growth(long_history_db, DAY("2025-01-20"), DAY("2025-07-07"), state="FL")
    # openpyxl: 48 FLORIDA rows signed by 2025-01-20 on the sheet of May 16; 302 on July 7 pm
    assert (result.start.value, result.end.value, result.percent) == (48, 302, 529.2)
    assert result.start.publication["file"] == "participatingAgencies05162025am.xlsx"
    assert "upper bound" in result.note


def test_a_caption_is_ice_s_own_statement_about_its_day(long_history_db):
    """ICE kept "as of 10/29/2010" above two lists (71 rows captured 2011-02-20, 69 rows first
    captured 2011-08-18): the earlier caption states 71 for that day; the later list does
    not answer for it."""
    checked = claims.check_claims(long_history_db, [
        {"text": "(71) as of 10/29/2010", "date": "2010-10-29", "metrics": [
            {"metric": "agreements", "value": 71}, {"metric": "agreements", "value": 69},
            {"metric": "states", "value": 25}]}])
    assert [(r.verdict, r.computed) for r in checked[:2]] == [("exact", 71), ("differs", 71)]
    assert checked[0].publication["first_captured"].startswith("2011-02-20")
    assert "caption" in checked[0].note and "2011-02-20" in checked[0].note
    # A caption states a total only: other figures of that day were not seen.
    assert (checked[2].verdict, checked[2].computed, checked[2].reconstructed) == ("before_archive", None, 25)


@pytest.mark.parametrize(("printed", "qualifier", "computed", "verdict"), [
    ("5%", "about", 100 * 29 / 641, "exact"), ("5%", "", 100 * 29 / 641, "exact"),
    ("14", "", 14.196, "exact"), ("42", "", 42.278, "exact"), ("42.0", "", 42.278, "differs"),
    ("43", "roughly", 42.278, "close"), ("4.5", "", 4.524, "exact"), ("4.6", "", 4.524, "differs"),
    ("4", "over", 4.524, "exact"), ("5", "over", 4.524, "differs"), ("70", "as many as", 69, "close"),
    ("641", "some", 641, "exact"), ("640", "", 641, "differs")])
def test_figures_are_judged_at_the_precision_printed(printed, qualifier, computed, verdict):
    spec = claims._spec({"date": "2025-06-04"}, {"metric": "state_share", "value": printed,
                                                 "qualifier": qualifier}, "test")
    got, note = claims.judge_printed(spec, computed)
    assert got == verdict
    rounded = verdict == "exact" and qualifier != "over" and computed != float(printed.rstrip("%"))
    assert bool(note) == rounded and (not note or "rounds to" in note)


def test_unknown_filter_values_name_the_valid_ones(long_history_db):
    """`agency_type: Sheriff` once counted 0 and got a confident `differs`."""
    checked = claims.check_claims(long_history_db, [{"text": "t", "date": "2025-06-04", "metrics": [
        {"metric": "agencies", "value": 3, "filters": {"agency_type": "Sheriff"}},
        {"metric": "agencies", "value": 3, "filters": {"agency_type": "county"}}]}])
    assert checked[0].verdict == "unanswerable" and checked[0].computed is None
    assert "unknown agency type 'Sheriff'; ICE printed County, Municipality, State Agency" in checked[0].note
    assert checked[1].verdict == "differs" and checked[1].filters["agency_type"] == "County"


def _one(conn, claim):
    return claims.check_claims(conn, [claim])


def test_periods_any_all_min_max(long_history_db, historical_data):
    """Roster counts per capture read with the csv module: 2011's captures list 71, 69, 69."""
    import csv
    from collections import Counter
    with (historical_data / "pre2018-roster-long.csv").open(encoding="utf-8", newline="") as handle:
        per = Counter(r["snapshot_ts"][:8] for r in csv.DictReader(handle))
    peak = max(n for day, n in per.items() if day.startswith("2011"))
    assert peak == 71
    peak_check = _one(long_history_db, {"text": "in 2011, at its peak, 71", "during": 2011, "metrics": [
        {"metric": "agreements", "value": peak, "across": "max"},
        {"metric": "agreements", "value": 69, "across": "min"},
        {"metric": "agreements", "value": 69, "across": "all"},
        {"metric": "agreements", "value": 70, "qualifier": "as many as", "across": "max"}]})
    assert [r.verdict for r in peak_check] == ["exact", "exact", "differs", "close"]
    assert peak_check[0].date == "2011-01-01..2011-12-31" and "not seen: 2011-02-20 to 2011-08-18" in peak_check[0].note
    may = _one(long_history_db, {"text": "in May 2025, 628", "during": "2025-05", "metrics": [
        {"metric": "agreements", "value": 628}]})[0]
    assert may.verdict == "exact" and may.publication["label"] in ("2025-05-23", "2025-05-28")
    by = _one(long_history_db, {"text": "by 2010", "by": 2010, "metrics": [{"metric": "agreements", "value": 71}]})[0]
    assert by.date == "2010-12-31" and by.verdict == "before_archive" and by.reconstructed == 71


def test_a_vaguely_dated_claim_says_whether_its_verdict_holds_across_the_range(long_history_db):
    checked = _one(long_history_db, {"text": "early June", "date": ["2025-05-25", "2025-06-05"], "metrics": [
        {"metric": "states", "value": 40}, {"metric": "agreements", "value": 641}]})
    assert checked[0].verdict == "exact" and "holds across the range" in checked[0].note
    assert checked[1].verdict == "differs" and "does not hold across the range" in checked[1].note


def test_flows_between_dates(long_history_db, ice_sheets):
    import openpyxl
    rows = list(openpyxl.load_workbook(ice_sheets / "sheets_20250708_151823" / "participatingAgencies07072025pm.xlsx")
                .worksheets[0].iter_rows(min_row=2, values_only=True))
    import re

    def day(value: object) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/?(\d{4})", str(value).strip())  # e.g. 05/082025
        return dt.date(int(found[3]), int(found[1]), int(found[2])) if found else None
    signed = [day(r[5]) for r in rows if any(v not in (None, "") and str(v).strip() for v in r)]
    since = [d for d in signed if d and d >= DAY("2025-01-20")]
    checked = _one(long_history_db, {"text": "flows", "date": "2025-07-07", "metrics": [
        {"metric": "signed_since", "value": len(since), "since": "2025-01-20"},
        {"metric": "added", "value": 207, "since": "2025-05-16"},
        {"metric": "new_agreements", "value": 205, "since": "2025-05-16"}]})
    # openpyxl: SIGNED on or after 2025-01-20 (Excel dates, or text such as 05/082025)
    assert (checked[0].computed, checked[0].verdict) == (len(since), "exact")
    assert [r.verdict for r in checked[1:]] == ["exact", "exact"]
    # an ended count whose events fall in a stretch running past the period is not settled
    ended = _one(long_history_db, {"text": "32 task force partnerships ended in 2012", "during": 2012,
                                   "metrics": [{"metric": "ended", "value": 3, "filters": {"model": "TFM"}}]})[0]
    assert ended.verdict == "outside_range" and "nobody captured" in ended.note


def test_counties_covered_and_near_misses(long_history_db):
    texas = _one(long_history_db, {"text": "63 of Texas' 254 counties", "date": "2025-07-07", "metrics": [
        {"metric": "counties", "value": 63, "filters": {"state": "TX", "agency_type": "County"}}]})[0]
    assert "of 254 counties in TX" in texas.note and texas.computed is not None
    found = claims.find_claim(long_history_db, "agreements", 629)
    assert {m.near for m in found} == {"off by 1"} and {m.value for m in found} == {628}


def test_api_and_pages_answer_a_gap_day_from_the_one_model(long_history_path):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app
    client = TestClient(create_app(long_history_path))
    gap = client.get("/api/v1/agreements", params={"as_of": "2020-01-01"}).json()
    assert gap["total"] is None and gap["answer"] == "unknown" and gap["publication"] is None
    assert gap["date_context"]["kind"] == "in_gap" and gap["date_context"]["before"]["count"] == 58
    assert client.get("/api/v1/coverage", params={"as_of": "2020-01-01"}).json()["counties_with_agreement"] is None
    status = client.get("/api/v1/status", params={"as_of": "2024-12-31"}).json()
    assert status["reconstruction"]["agreements"] == 135
    page = client.get("/map", params={"date": "2020-01-01"}).text
    assert "Nobody captured ICE&#39;s list on January 1, 2020" in page and "(58 agreements)" in page
    search = client.get("/search", params={"q": "Travis County"}).text
    assert "No agency in Travis County, TX has a 287(g) agreement, and none was ever listed" in search
    assert search.index("search-answer") < search.index('id="lookalikes"')
    assert "Look-alikes (not what you typed)" in search
    api = client.get("/api/v1/agencies", params={"q": "Travis County"}).json()
    assert api["absent"] is True and api["facts"][0]["code"] == "place_never"
    downloads = client.get("/downloads").text
    assert "transcriptions of archived pages" in downloads and "Transcription of an archived page: " \
        "pre2018-roster-long.csv" in downloads
    home = client.get("/").text
    assert 'id="checked"' in home and "Newest data: Jul 8, 2025" in home
    assert 'id="stale"' in home   # the shared archive was last seen in July 2025


def test_charts_never_draw_across_an_unseen_stretch(long_history_db):
    from g287.analytics import series
    stretches = query.unseen_stretches(long_history_db)
    days = ["2017-07-02", "2017-08-01", "2025-05-16", "2025-05-19"]
    assert series.runs(days, stretches) == [[0, 1], [2, 3]]
    from g287.web import pages
    from g287.web.i18n import Translator
    points = pages.model_counts(long_history_db, None)
    svg = str(pages.model_trend_svg(points, Translator("en"), None, stretches))
    # per model: the 2017 run and the 2025 run are apart; lone captures are dots
    assert svg.count("<polyline") == 3 * sum(1 for run in series.runs([d for d, _ in points], stretches)
                                             if len(run) > 1)
    assert svg.count("<polyline") >= 6 and "<circle" in svg


def test_an_agency_that_left_says_so_with_the_lists_around_it(long_history_db, long_history_path):
    """Harris County Sheriff's Office (TX): on the 2017-01-29 capture, not on 2017-03-05's
    (its rows read with the csv module from the roster transcription)."""
    found = query.lookup(long_history_db, "Harris County")
    texas = next(p for p in found.places if p.state == "TX")
    assert texas.standing == "former" and texas.last_listed == "2017-01-29"
    story = query.agency_story(long_history_db, texas.agencies[0].agency_id)
    standing = story["standing"]
    assert standing["code"] == "former" and standing["last_listed"]["seen_from"] == "2017-01-29"
    assert standing["next_seen"]["seen_from"] == "2017-03-05"
    from fastapi.testclient import TestClient

    from g287.web.app import create_app
    page = TestClient(create_app(long_history_path)).get(f"/agency/{texas.agencies[0].agency_id}").text
    assert "last listed on Jan 29, 2017" in page and "of Mar 5, 2017, does not show it" in page


def test_a_capture_the_day_before_the_first_label_answers_nothing(long_history_path, tmp_path):
    """labels.plausible lets a label be a day after the capture: that capture is a sighting
    before any publication is dated, so nothing answers for its day (it used to crash)."""
    import shutil

    from g287 import store
    path = tmp_path / "g287.sqlite"
    shutil.copy(long_history_path, path)
    conn = store.connect(path)
    first = query.publications(conn, "pending")[0]
    assert not first.transcribed
    day = first.seen - dt.timedelta(days=1)
    conn.execute("INSERT INTO captures (publication_id, file, capture_folder, captured_utc) VALUES (?, ?, ?, ?)",
                 (first.id, first.file, f"sheets_{day:%Y%m%d}_230000", f"{day}T23:00:00+00:00"))
    context = query.date_context(conn, day, "pending")
    assert context.kind == "before_archive" and context.answering is None and not context.known
    assert context.after["publication"]["id"] == first.id and "dated that early" in context.note
    conn.close()
