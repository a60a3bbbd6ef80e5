"""Pages for readers on the real archive: the claims checker (the API's library call), home
and state pages for any date, the per-state summary with coverage, and share images."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from g287 import query
from g287.places import coverage
from g287.web.app import create_app


@pytest.fixture(scope="module")
def client(history_path):
    return TestClient(create_app(history_path))


def test_claims_page_gives_the_apis_verdict_in_both_languages(client):
    claim = {"date": "2025-07-08", "metric": "agreements", "value": "700", "qualifier": "over"}
    api = client.post("/api/v1/claims/check", json={"date": claim["date"], "metrics": [
        {"metric": "agreements", "value": 700, "qualifier": "over"}]}).json()["results"][0]
    page = client.get("/claims", params=claim)
    assert page.status_code == 200 and api["verdict"] == "exact"
    assert "Right" in page.text and f"From ICE&#39;s sheets: {api['computed']:,.0f}" in page.text
    assert api["publication"]["file"] in page.text
    spanish = client.get("/es/claims", params={**claim, "value": "800"})
    assert "No coincide" in spanish.text and "Según las hojas de ICE: 776" in spanish.text
    before = client.get("/claims", params={"date": "2019-01-01", "metric": "agreements", "value": "10"})
    assert "Before the archive" in before.text
    bad = client.get("/claims", params={"date": "someday", "metric": "agreements", "value": "1"})
    assert bad.status_code == 400 and "cannot be checked" in bad.text


def test_home_and_state_pages_for_any_date(client, history_db):
    dates = sorted({p.label for p in query.publications(history_db, "participating")})
    day = dt.date.fromisoformat(dates[0])
    then = query.status(history_db, day)["participating"]
    home = client.get("/", params={"as_of": dates[0]})
    assert home.status_code == 200 and 'id="as-of-note"' in home.text
    assert re.search(rf'id="fig-agreements">{then["agreements"]:,}<', home.text)
    assert then["publication"]["file"] in home.text
    texas = [a for a in query.active_agreements(history_db, day) if a.state == "TX"]
    page = client.get("/es/state/TX", params={"as_of": dates[0]})
    assert re.search(rf'id="state-agreements">{len(texas)}<', page.text) and "Tal como estaban" in page.text
    assert len(texas) != len([a for a in query.active_agreements(history_db) if a.state == "TX"])
    assert "nothing was seen then" in client.get("/state/TX", params={"as_of": "2001-01-01"}).text
    assert client.get("/state/TX", params={"as_of": "0"}).status_code == 400


def test_state_summary_agrees_with_the_coverage_figures(client, history_db):
    share = coverage.coverage(history_db)["population"]["by_state"]["TX"]["share_percent"]
    page = client.get("/state/TX")
    shown = re.search(r'id="state-population">([\d.,]+) %<', page.text).group(1)
    assert float(shown.replace(",", "")) == pytest.approx(share, abs=0.05)
    assert re.search(r'id="state-counties">\d+<', page.text) and "of 254 counties" in page.text
    assert '<svg class="chart"' in page.text  # the per-model trend of this state


def test_share_images_for_agency_and_state_pages(client, history_db):
    agency = history_db.execute("SELECT agency_id FROM agencies ORDER BY length(name) DESC LIMIT 1").fetchone()[0]
    for url in (f"/share/agency/{agency}.png", f"/es/share/agency/{agency}.png", "/share/state/TX.png",
                "/es/share/state/FL.png"):
        image = client.get(url)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(image.content)).size == (1200, 630)
    page = client.get(f"/es/agency/{agency}")
    assert f'<meta property="og:image" content="http://testserver/es/share/agency/{agency}.png">' in page.text
    assert client.get("/share/state/ZZ.png").status_code == 404
