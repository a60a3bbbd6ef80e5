"""The HTTP API and pages, through FastAPI's test client, on the real archive."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

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


@contextmanager
def live_server(db: Path) -> Iterator[str]:
    """The site over ``db`` served by uvicorn on a free local port, in a thread; yields its URL."""
    import socket

    from g287.web import server as web_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = web_server.uvicorn.Server(web_server.config(create_app(db), "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_schemathesis_finds_nothing_on_any_route(tmp_path):
    """schemathesis run as a developer runs it, with every check: its coverage phase (values at
    the edges of each schema, schema-violating requests, undeclared methods such as TRACE) and
    fuzzing, over every operation of the OpenAPI document, against a live server: zero failures.
    Bounded for CI: a one-agency history (every answer is cheap) and few examples per operation."""
    history_with_agency(tmp_path, "Smith County Sheriff's Office")
    command = Path(sys.executable).with_name("schemathesis")
    with live_server(tmp_path / "h.sqlite") as url:
        result = subprocess.run(
            [str(command), "run", f"{url}/api/v1/openapi.json", "--checks", "all", "--max-examples", "8",
             "--workers", "1", "--seed", "287", "--generation-database", "none", "--no-color",
             "--phases", "examples,coverage,fuzzing"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    tail = result.stdout[max(result.stdout.find("= FAILURES ="), result.stdout.find("= ERRORS ="), 0):][:8000]
    assert result.returncode == 0, tail
    assert re.search(r"API Operations:\s+Selected: (\d+)/\1\s+Tested: \1", result.stdout), tail
    assert int(re.search(r"Selected: (\d+)", result.stdout).group(1)) >= 15, tail


def test_openapi_document_lists_every_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/status", "/api/v1/series", "/api/v1/publications", "/api/v1/agencies",
            "/api/v1/agencies/{agency_id}", "/api/v1/agreements", "/api/v1/changes", "/api/v1/claims/check",
            "/api/v1/map", "/api/v1/coverage"} <= set(paths)


def test_static_assets_are_local(client):
    text = client.get("/").text
    assert "http://" not in text.replace("http://www.w3.org", "") or "cdn" not in text
    assert 'src="/static/app.js?v=' in text and Path(__file__).exists()


@pytest.mark.parametrize("url, needle", [
    ("/api/v1/status?as_of=9999-12-31", "1900-01-01 to 2100-12-31"),
    ("/api/v1/status?as_of=0001-01-01", "1900-01-01 to 2100-12-31"),
    ("/api/v1/agreements?as_of=0", "YYYY-MM-DD"),            # a number is not a Unix-time date
    ("/api/v1/coverage?as_of=1735689600", "YYYY-MM-DD"),
    ("/api/v1/changes?since=2025-W01-1", "YYYY-MM-DD"),       # nor an ISO week date
    ("/api/v1/map?as_of=%202025-06-06", "YYYY-MM-DD"),
    ("/api/v1/series?kind=reconstructed&as_of=2025-02-29", "not a date"),
    ("/api/v1/moas?q=a%00b", "control characters"),
    ("/api/v1/agencies?q=%00", "control characters"),
    ("/api/v1/agencies?agency_type=County%0d%0aX", "agency_type"),
    ("/api/v1/agencies?agency_type=Sheriff", "State Agency"),   # unknown: an error naming the valid ones
    ("/api/v1/agencies/ag_%00", "control characters"),
    ("/api/v1/moas/x%00", "control characters"),
    ("/api/v1/agreements/x%1b[31m/moas", "control characters"),
    ("/api/v1/agreements?limit=99999999999999999999999", "limit"),
    ("/api/v1/agreements?offset=-1", "offset"),
    ("/api/v1/agencies?q=" + "x" * 201, "q"),
])
def test_edges_of_the_calendar_nuls_and_huge_values_are_400_json(client, url, needle):
    response = client.get(url)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "bad_parameter" and needle in response.json()["error"]["message"]


def test_claim_bodies_are_validated_strictly(client):
    metric = {"metric": "agreements", "value": 649}
    for body, needle in (({"date": 0, "metrics": [metric]}, "YYYY-MM-DD"),
                         ({"date": "9999-12-31", "metrics": [metric]}, "2100-12-31"),
                         ({"date": "2025-06-06", "text": "a\x00b", "metrics": [metric]}, "control characters"),
                         ({"date": "2025-06-06", "metrics": [{**metric, "value": True}]}, "number"),
                         ({"date": "2025-06-06", "metrics": [{**metric, "tolerance": "12"}]}, "tolerance")):
        response = client.post("/api/v1/claims/check", json=body)
        assert response.status_code == 400 and needle in response.json()["error"]["message"], (body, response.text)
    lines = client.post("/api/v1/claims/check", json={"date": "2025-06-06", "text": "649\tagreements\n",
                                                      "metrics": [{**metric, "year": 2025.0}]})
    assert lines.status_code == 200 and lines.json()["results"][0]["verdict"] == "exact"


def test_every_failure_is_json_with_a_documented_status(client):
    trace = client.request("TRACE", "/api/v1/status")
    assert trace.status_code == 405 and trace.headers["allow"] == "GET, HEAD"
    assert trace.json()["error"]["code"] == "method_not_allowed"
    post = client.post("/api/v1/agreements")
    assert post.status_code == 405 and "GET" in post.headers["allow"]
    huge = client.post("/api/v1/claims/check", content=b"{" + b" " * 1_100_000 + b"}",
                       headers={"content-type": "application/json"})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "422" not in codes and {"400", "404", "409", "503"} <= codes, (method, path, codes)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "413" in schema["paths"]["/api/v1/claims/check"]["post"]["responses"]
    assert "406" in schema["paths"]["/api/v1/agreements"]["get"]["responses"]


def test_claims_check_can_be_called_from_another_site(client):
    preflight = client.options("/api/v1/claims/check", headers={
        "Origin": "https://newsroom.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    assert preflight.headers["access-control-allow-origin"] == "*"
    answer = client.post("/api/v1/claims/check", headers={"Origin": "https://newsroom.example"}, json={
        "date": "2025-06-06", "metrics": [{"metric": "agreements", "value": 649}]})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers


def test_api_docs_are_served_by_the_site(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") or s.startswith("data:") for s in sources), sources
    for source in sources:
        if source.startswith("/"):
            asset = client.get(source)
            assert asset.status_code == 200 and len(asset.content) > 100, source
    assert client.get("/api/v1/docs/../openapi.json").status_code in (200, 404)
    assert client.get("/api/v1/docs/evil.js").status_code == 404


def test_conditional_requests(client):
    first = client.get("/api/v1/publications")
    modified, etag = first.headers["last-modified"], first.headers["etag"]
    assert client.get("/api/v1/publications", headers={"If-Modified-Since": modified}).status_code == 304
    later = client.get("/api/v1/publications", headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert later.status_code == 304 and later.headers["etag"] == etag and later.headers["last-modified"] == modified
    for older in ("Mon, 01 Jan 2024 00:00:00 GMT", "yesterday", "Mon, 99 Foo 2024 00:00:00 GMT"):
        assert client.get("/api/v1/publications", headers={"If-Modified-Since": older}).status_code == 200
    # If-None-Match decides when both are sent (RFC 9110 §13.1.3).
    both = client.get("/api/v1/publications", headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert both.status_code == 200
    csv = client.get("/api/v1/publications", headers={"Accept": "text/csv"})
    assert csv.headers["etag"] != etag
    assert client.get("/api/v1/publications", headers={"Accept": "text/csv", "If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize("accept, expected", [
    (None, "application/json"),
    ("text/csv", "text/csv"),
    ("text/csv;q=0.5, application/json", "application/json"),
    ("application/json;q=0.1, text/csv", "text/csv"),
    ("text/csv;q=0, */*", "application/json"),
    ("text/*", "text/csv"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"),
    ("TEXT/CSV; Q=0.9, application/json; q=0.8", "text/csv"),
])
def test_accept_q_values_choose_the_representation(client, accept, expected):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/api/v1/publications", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith(expected)


def test_unacceptable_accept_is_406_and_format_wins(client):
    refused = client.get("/api/v1/agreements", headers={"Accept": "image/png"})
    assert refused.status_code == 406 and refused.json()["error"]["code"] == "not_acceptable"
    forced = client.get("/api/v1/agreements", params={"format": "csv"}, headers={"Accept": "image/png"})
    assert forced.status_code == 200 and forced.headers["content-type"].startswith("text/csv")
    assert client.get("/api/v1/status", headers={"Accept": "image/png"}).status_code == 200


def test_csv_cells_hold_no_json_and_downloads_are_named(client):
    import csv
    import io

    for url, column in (("/api/v1/agencies", "active_models"), ("/api/v1/changes", "details_url"),
                        ("/api/v1/series?kind=daily", "by_model_TFM"),
                        ("/api/v1/agreements", "publication_file")):
        response = client.get(url, params={"format": "csv"} if "?" not in url else None,
                              headers={"Accept": "text/csv"})
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert rows and column in rows[0], (url, list(rows[0]))
        cells = [v for row in rows for v in row.values() if v]
        assert not [v for v in cells if v.lstrip("'")[:1] in "[{"], url
    agencies = list(csv.DictReader(io.StringIO(client.get("/api/v1/agencies", params={"format": "csv"}).text)))
    assert any(row["active_models"] == "JEM; TFM; WSO" for row in agencies)
    named = client.get("/api/v1/agreements", params={"format": "csv", "state": "FL", "model": "TFM",
                                                     "as_of": "2025-06-06"})
    assert 'filename="g287-agreements-FL-TFM-as-of-2025-06-06.csv"' in named.headers["content-disposition"]
    excel = client.get("/api/v1/changes.excel.csv", params={"since": "2025-07-01"})
    assert 'filename="g287-changes-since-2025-07-01.excel.csv"' in excel.headers["content-disposition"]
    latest = client.get("/api/v1/publications.parquet").headers["content-disposition"]
    assert re.search(r'filename="g287-publications-\d{4}-\d{2}-\d{2}\.parquet"', latest), latest


def test_parquet_has_the_flat_columns(client):
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(client.get("/api/v1/changes", params={"format": "parquet"}).content))
    assert "details_url" in table.column_names and "details" not in table.column_names
    assert table.num_rows == client.get("/api/v1/changes").json()["total"]


def test_a_bug_is_still_a_json_error_and_pages_say_allow(history_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(query, "publications", broken)
    client = TestClient(create_app(history_path), raise_server_exceptions=False)
    response = client.get("/api/v1/publications")
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal"
    assert "RuntimeError" in response.json()["error"]["message"] and "boom" not in response.text
    page = client.request("TRACE", "/states")
    assert page.status_code == 405 and page.headers["allow"] == "GET, HEAD"
