"""The HTTP API and pages, through FastAPI's test client, on the real archive."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path
from xml.etree import ElementTree

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from g287 import ingest, query, store
from g287.web.app import create_app
from sheets import PARTICIPATING_HEADER, history_with_agency, write_sheet


@pytest.fixture(scope="module")
def app(history_path):
    return create_app(history_path)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def test_status_names_its_publication(client):
    body = client.get("/api/v1/status", params={"as_of": "2025-06-06"}).json()
    assert body["participating"]["publication"]["file"] == "participatingAgencies06062025am.xlsx"
    assert body["participating"]["agreements"] == 649


def test_lists_paginate_and_give_csv(client):
    page = client.get("/api/v1/agreements", params={"state": "FL", "limit": 10, "offset": 5}).json()
    assert page["total"] == 302 and len(page["items"]) == 10 and page["offset"] == 5
    assert page["publication"]["file"] == "participatingAgencies07072025pm.xlsx"
    csv = client.get("/api/v1/agreements", params={"state": "FL", "format": "csv", "limit": 500})
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 303
    accept = client.get("/api/v1/publications", headers={"Accept": "text/csv"})
    assert accept.text.startswith("id,list,file")


def test_agency_search_and_detail(client):
    found = client.get("/api/v1/agencies", params={"q": "weber"}).json()["items"]
    assert [a["state"] for a in found] == ["UT"]
    story = client.get(f"/api/v1/agencies/{found[0]['agency_id']}").json()
    assert story["agreements"][0]["model"] == "TFM" and story["events"]
    by_county = client.get("/api/v1/agencies", params={"q": "Brevard County", "state": "FL"}).json()
    assert by_county["total"] >= 3  # found by the county ICE printed, not only by name


def test_changes_filters(client):
    body = client.get("/api/v1/changes", params={"since": "2025-07-01", "kind": "moa_published",
                                                 "state": "FL"}).json()
    assert body["total"] > 0 and all(e["state"] == "FL" for e in body["items"])


def test_claims_check_endpoint(client):
    ok = client.post("/api/v1/claims/check", json={
        "text": "649 agreements", "date": "2025-06-06", "metrics": [{"metric": "agreements", "value": 649}]})
    assert ok.json()["results"][0]["verdict"] == "exact"
    wrong = client.post("/api/v1/claims/check", json={
        "date": "2025-06-06", "metrics": [{"metric": "agreements", "value": 700}]})
    assert wrong.json()["results"][0]["verdict"] == "differs"
    bad = client.post("/api/v1/claims/check", json={"date": "2025-06-06",
                                                    "metrics": [{"metric": "nonsense", "value": 1}]})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_parameter"
    unanswerable = client.post("/api/v1/claims/check", json={
        "date": "2025-06-06", "metrics": [{"metric": "state_share", "value": 40}]}).json()["results"][0]
    assert unanswerable["verdict"] == "unanswerable" and "filters.state" in unanswerable["note"]


def test_map_and_coverage(client):
    data = client.get("/api/v1/map", params={"level": "state", "as_of": "2025-06-06"}).json()
    assert data["fills"]["12"] and "participatingAgencies06062025am.xlsx" in data["source"]
    coverage = client.get("/api/v1/coverage").json()
    assert coverage["counties_with_agreement"] > 300 and coverage["population"]["data_year"] == 2023


@pytest.mark.parametrize("url, needle", [
    ("/api/v1/status?as_of=2025-02-30", "as_of"),
    ("/api/v1/agreements?state=ZZ", "state"),
    ("/api/v1/agencies?limit=100000", "limit"),
    ("/api/v1/changes?kind=exploded", "kind"),
    ("/api/v1/agreements?model=XYZ", "model"),
])
def test_bad_parameters_get_one_error_shape(client, url, needle):
    response = client.get(url)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"} and needle in body["error"]["message"]


def test_unknown_agency_is_404_json(client):
    response = client.get("/api/v1/agencies/ag_nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_etag_and_last_modified(client):
    first = client.get("/api/v1/status")
    assert first.headers["ETag"] and first.headers["Last-Modified"].endswith("GMT")
    again = client.get("/api/v1/status", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/", "/map", "/states", "/state/TX", "/changes", "/search?q=sheriff",
                                  "/methodology", "/downloads", "/map?i=0&level=state"])
def test_pages_in_both_languages(client, path):
    english = client.get(path)
    spanish = client.get("/es" + path)
    assert english.status_code == spanish.status_code == 200
    assert '<html lang="en">' in english.text and '<html lang="es">' in spanish.text
    assert "English" in spanish.text and "Español" in english.text


def test_spanish_dates_and_numbers(client):
    text = client.get("/es/").text
    assert "7 de julio de 2025" in text and "acuerdos" in text
    assert "July 7, 2025" in client.get("/").text


def test_changes_page_bad_date_is_a_clear_400(client):
    response = client.get("/changes", params={"since": "someday"})
    assert response.status_code == 400 and "someday" in response.text


def test_raw_publication_file_is_ice_bytes(client, history_db, ice_sheets):
    pub = query.publication_as_of(history_db, "participating", dt.date(2025, 5, 16))
    body = client.get(f"/publications/{pub.id}/file").content
    original = next(ice_sheets.rglob(pub.file)).read_bytes()
    assert body == original


def test_atom_feeds_are_valid(client):
    ns = {"a": "http://www.w3.org/2005/Atom"}
    for url in ("/feeds/changes.atom", "/feeds/state/FL.atom", "/es/feeds/changes.atom"):
        response = client.get(url)
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = ElementTree.fromstring(response.content)
        entries = feed.findall("a:entry", ns)
        assert entries and all(e.find("a:id", ns).text and e.find("a:updated", ns).text for e in entries)
        assert ".xlsx" in entries[0].find("a:summary", ns).text
    agency = client.get("/api/v1/agencies", params={"q": "weber"}).json()["items"][0]["agency_id"]
    feed = ElementTree.fromstring(client.get(f"/feeds/agency/{agency}.atom").content)
    assert len(feed.findall("a:entry", ns)) == 1


def test_agency_name_with_markup_is_shown_as_text(tmp_path):
    evil = "<script>alert(1)</script> & \"Sheriff's\" <img src=x onerror=alert(2)>"
    _, agency_id = history_with_agency(tmp_path, evil)
    client = TestClient(create_app(tmp_path / "h.sqlite"))
    for path in (f"/agency/{agency_id}", "/search?q=alert", "/state/TX", f"/feeds/agency/{agency_id}.atom"):
        text = client.get(path).text
        assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_fresh_answers_while_ingest_writes(history_path, ice_sheets, tmp_path):
    """Readers keep answering (no "database is locked") while an ingest writes, and see the
    new publication as soon as it is committed, without a restart."""
    db = tmp_path / "live.sqlite"
    shutil.copy(history_path, db)
    conn = store.connect(db)
    conn.execute("DELETE FROM captures WHERE publication_id = (SELECT id FROM publications ORDER BY date DESC,"
                 " list LIMIT 1)")
    conn.commit()
    client = TestClient(create_app(db))
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            response = client.get("/api/v1/status")
            if response.status_code != 200:
                errors.append(response.text)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    extra = tmp_path / "new" / "sheets_20260105_150000" / "participatingAgencies01052026am.xlsx"
    write_sheet(extra, PARTICIPATING_HEADER, [["OHIO", "Fresh County Sheriff's Office", "County", "Fresh County",
                                               "Task Force Model", dt.date(2026, 1, 2), "link pending"]])
    for _ in range(3):
        ingest.ingest_paths(store.connect(db), [extra, *list(ice_sheets.glob("sheets_2025070*"))])
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    latest = client.get("/api/v1/status").json()["participating"]["publication"]["file"]
    assert latest == "participatingAgencies01052026am.xlsx"


def test_api_fuzz_no_500_and_schema_conformant(app):
    """Property-based fuzzing of every operation in the OpenAPI document (schemathesis),
    bounded for CI: no 500, and every response conforms to the schema."""
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate()
        run()


def test_openapi_document_lists_every_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/status", "/api/v1/series", "/api/v1/publications", "/api/v1/agencies",
            "/api/v1/agencies/{agency_id}", "/api/v1/agreements", "/api/v1/changes", "/api/v1/claims/check",
            "/api/v1/map", "/api/v1/coverage"} <= set(paths)


def test_static_assets_are_local(client):
    text = client.get("/").text
    assert "http://" not in text.replace("http://www.w3.org", "") or "cdn" not in text
    assert 'src="/static/app.js?v=' in text and Path(__file__).exists()
