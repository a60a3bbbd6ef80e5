"""query.date_context: the one answer every layer gives for dates the archive cannot answer."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from g287 import ingest, query, store
from g287.analytics import claims
from g287.web.app import create_app
from sheets import PARTICIPATING_HEADER, write_sheet


@pytest.mark.parametrize("day, list_name, kind, answering", [
    (dt.date(2020, 1, 1), "participating", "before_archive", None),
    (dt.date(2025, 5, 15), "participating", "before_archive", None),
    (dt.date(2025, 5, 15), "pending", "in_archive", "pendingAgencies05152025am.xlsx"),
    (dt.date(2025, 6, 5), "participating", "in_archive", "participatingAgencies06042025am.xlsx"),
    (dt.date(2025, 7, 8), "participating", "in_archive", "participatingAgencies07072025pm.xlsx"),
    (dt.date(2025, 7, 9), "participating", "after_archive", "participatingAgencies07072025pm.xlsx"),
])
def test_kinds_on_the_archive(history_db, day, list_name, kind, answering):
    context = query.date_context(history_db, day, list_name)
    assert context.kind == kind
    assert (context.answering or {}).get("file") == answering
    assert bool(context.note) == (kind != "in_archive")
    assert context.first["label"] == ("2025-05-16" if list_name == "participating" else "2025-05-15")


def test_a_long_interval_between_publications_is_a_gap(tmp_path):
    row = ["TEXAS", "Smith County Sheriff's Office", "County", "Smith County", "Task Force Model",
           dt.date(2016, 1, 1), "link pending"]
    other = ["TEXAS", "Jones County Sheriff's Office", "County", "Jones County", "Task Force Model",
             dt.date(2025, 3, 1), "link pending"]
    paths = [write_sheet(tmp_path / folder / name, PARTICIPATING_HEADER, rows) for folder, name, rows in (
        ("sheets_20170801_120000", "participatingAgencies08012017am.xlsx", [row]),
        ("sheets_20250516_120000", "participatingAgencies05162025am.xlsx", [row, other]))]
    conn = store.connect(tmp_path / "h.sqlite")
    ingest.ingest_paths(conn, paths)
    context = query.date_context(conn, dt.date(2020, 1, 1))
    assert context.kind == "in_gap" and not context.known and context.answering is None
    assert context.before["publication"]["file"] == "participatingAgencies08012017am.xlsx"
    assert (context.before["count"], context.after["count"]) == (1, 2)
    assert "gap" in context.note and str((dt.date(2025, 5, 16) - dt.date(2017, 8, 1)).days) in context.note
    assert query.date_context(conn, dt.date(2017, 8, 1)).kind == "in_archive"
    assert query.date_context(conn, dt.date(2017, 8, 2)).kind == "in_gap"
    checked = claims.check_claims(conn, [{"text": "t", "date": "2020-01-01", "metrics": [
        {"metric": "agreements", "value": 1}]}])
    assert checked[0].verdict == "outside_range" and "gap" in checked[0].note


def test_api_answers_unknown_before_the_archive_and_notes_after(history_path):
    client = TestClient(create_app(history_path))
    before = client.get("/api/v1/agreements", params={"as_of": "2020-01-01"}).json()
    assert before["total"] is None and before["answer"] == "unknown"
    assert before["date_context"]["kind"] == "before_archive" and "before the archive" in before["note"]
    as_csv = client.get("/api/v1/agreements", params={"as_of": "2020-01-01", "format": "csv"}).text
    assert as_csv.splitlines()[0] == "answer,note" and as_csv.splitlines()[1].startswith("unknown,")
    after = client.get("/api/v1/agreements", params={"as_of": "2025-09-01"}).json()
    assert after["total"] == 776 and after["date_context"]["kind"] == "after_archive"
    assert "participatingAgencies07072025pm.xlsx" in after["note"]
    status = client.get("/api/v1/status", params={"as_of": "2020-01-01"}).json()
    assert status["participating"] is None and "before the archive" in status["note"]
    coverage = client.get("/api/v1/coverage", params={"as_of": "2020-01-01"}).json()
    assert coverage["counties_with_agreement"] is None and coverage["note"]
    checked = client.post("/api/v1/claims/check", json={"date": "2025-08-15", "metrics": [
        {"metric": "agreements", "value": 896}]}).json()["results"][0]
    assert checked["verdict"] == "after_archive" and "said 776" in checked["note"]
    bad = client.post("/api/v1/claims/check", json={"date": "2025-06-06", "metrics": [
        {"metric": "agreements", "value": 3, "filters": {"Stat": "FL"}}]})
    assert bad.status_code in (400, 422)


def test_agency_story_tells_signed_first_seen_and_first_published_apart(history_db, ice_sheets):
    import openpyxl

    def names(capture: str, file: str) -> set[str]:
        ws = openpyxl.load_workbook(ice_sheets / capture / file).worksheets[0]
        return {" ".join(str(r[1]).replace("\u2019", "'").lower().split())
                for r in ws.iter_rows(min_row=2, values_only=True) if r[1]}
    before = names("sheets_20250605_151847", "participatingAgencies06042025am.xlsx")
    baseline_id, fresh_id = (history_db.execute(
        "SELECT a.agency_id FROM agreements a JOIN publications p ON p.id = a.first_seen"
        " WHERE p.file = ? ORDER BY a.agreement_id LIMIT 1", (file,)).fetchone()[0]
        for file in ("participatingAgencies05162025am.xlsx", "participatingAgencies06062025am.xlsx"))
    old = query.agency_story(history_db, baseline_id)["agreements"][0]
    assert old["first_seen_in_archive"] == "2025-05-16" and old["first_published"] is None
    assert old["first_published_note"] and old["signed"] < "2025-05-16"
    story = query.agency_story(history_db, fresh_id)
    new = next(g for g in story["agreements"] if g["first_seen"]["file"] == "participatingAgencies06062025am.xlsx")
    assert new["first_published"] == new["first_seen_in_archive"] == "2025-06-06"
    assert " ".join(story["agency"]["name"].replace("\u2019", "'").lower().split()) not in before
