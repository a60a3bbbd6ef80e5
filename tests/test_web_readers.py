"""The site as readers and other sites use it: whole downloads, name search, Spanish
everywhere, HTTP caching/CORS/HEAD/gzip, the map's pieces (real archive, TestClient)."""

from __future__ import annotations

import csv
import html
import io
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from g287 import query
from g287.web.app import create_app
from g287.web.i18n import _strings


@pytest.fixture(scope="module")
def client(history_path):
    return TestClient(create_app(history_path))


# ---- downloads -------------------------------------------------------------------------

def test_download_links_give_every_row_with_its_source(client, history_db):
    page = client.get("/downloads").text
    links = dict(re.findall(r'id="(dl-[a-z-]+)" href="([^"]+)"', page))
    assert "limit" not in "".join(links.values())
    agreements = client.get(links["dl-agreements"].replace("&amp;", "&"))
    rows = list(csv.DictReader(io.StringIO(agreements.text)))
    assert len(rows) == len(query.active_agreements(history_db)) == 776
    assert {r["publication_file"] for r in rows} == {"participatingAgencies07072025pm.xlsx"}
    changes = list(csv.DictReader(io.StringIO(client.get(links["dl-changes"].replace("&amp;", "&")).text)))
    assert len(changes) == len(query.changes(history_db)) and len(changes) > 500
    assert all(r["after"].endswith(".xlsx") for r in changes)


def test_excel_variant_has_a_bom_and_cells_never_run_as_formulas(client):
    excel = client.get("/api/v1/agreements", params={"format": "excel", "state": "WY"})
    assert excel.content.startswith("\ufeff".encode())
    assert "Sheriff’s" in excel.content.decode("utf-8-sig")
    plain = client.get("/api/v1/agreements", params={"format": "csv", "state": "WY"})
    assert not plain.content.startswith("\ufeff".encode())
    from g287.web.api import csv_chunks
    text = "".join(csv_chunks([{"name": "=HYPERLINK(1)", "n": -3, "s": "-x", "a": "@x", "p": "+1"}]))
    assert text.splitlines()[1] == "'=HYPERLINK(1),-3,'-x,'@x,'+1"


def test_parquet_download_is_whole(client):
    import pyarrow.parquet as pq
    table = pq.read_table(io.BytesIO(client.get("/api/v1/agreements.parquet").content))
    assert table.num_rows == 776 and "publication_file" in table.column_names


def test_json_pages_still_have_a_limit(client):
    assert client.get("/api/v1/agreements", params={"limit": 501}).status_code == 400
    body = client.get("/api/v1/agreements").json()
    assert body["limit"] == 100 and body["total"] == 776


# ---- search ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("jacksonvile", ("Jacksonville Sheriff", "FL")),
    ("broward sheriff", ("Broward County Sheriff", "FL")),
    ("fort bend sheriff", ("Fort Bend County Sheriff", "TX")),
    ("st lucie", ("St. Lucie County Sheriff", "FL")),
    ("Laramie County Sheriff's", ("Laramie County Sheriff", "WY")),
    ("LARAMIE county sheriff’s office", ("Laramie County Sheriff", "WY")),
])
def test_search_finds_what_a_reader_means(client, text, expected):
    items = client.get("/api/v1/agencies", params={"q": text}).json()["items"]
    assert items, text
    assert items[0]["name"].startswith(expected[0]) and items[0]["state"] == expected[1]


def test_search_by_state_name_and_code_counts_honestly(client, history_db):
    in_texas = {r[0] for r in history_db.execute("SELECT agency_id FROM agencies WHERE state = 'TX'")}
    by_name = client.get("/api/v1/agencies", params={"q": "Texas", "limit": 500}).json()
    assert {a["agency_id"] for a in by_name["items"]} >= in_texas and by_name["total"] >= len(in_texas)
    assert client.get("/api/v1/agencies", params={"q": "Nuevo México"}).json()["total"] == \
        client.get("/api/v1/agencies", params={"state": "NM"}).json()["total"]
    sheriffs = client.get("/api/v1/agencies", params={"q": "sheriff"}).json()["total"]
    page = client.get("/search", params={"q": "sheriff"}).text
    assert f"{sheriffs:,} agencies match" in page and 'rel="next"' in page
    second = client.get("/search", params={"q": "sheriff", "page": 2}).text
    assert 'rel="prev"' in second


@pytest.mark.parametrize("text", ["%", "_", "%%", "'"])
def test_like_wildcards_are_literal(client, text):
    assert client.get("/api/v1/agencies", params={"q": text}).json()["total"] == 0


def test_did_you_mean(client):
    body = client.get("/api/v1/agencies", params={"q": "jacksonvile"}).json()
    assert body["fuzzy"] is True and body["suggestion"] == "jacksonville"
    exact = client.get("/api/v1/agencies", params={"q": "jacksonville"}).json()
    assert exact["fuzzy"] is False and exact["suggestion"] is None
    page = client.get("/search", params={"q": "jacksonvile"}).text
    assert 'id="did-you-mean"' in page and "jacksonville" in page
    assert client.get("/es/search", params={"q": "jacksonvile"}).text.count("Quizás quiso decir") == 1


# ---- Spanish -----------------------------------------------------------------------------

class _Text(HTMLParser):
    """Visible text and the attributes readers see or hear (title, alt, aria-label...)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        for name in ("title", "alt", "aria-label", "placeholder", "data-state-link", "data-county-link",
                     "data-points-label"):
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "meta" and attrs.get("name") == "description":
            self.parts.append(attrs.get("content") or "")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


ENGLISH = re.compile(r"\b(the|and|of|with|agreements?|agenc(?:y|ies)|pending|search|downloads?|source|days?|"
                     r"changes?|states?|date|level|show|previous|next|page|models?|match(?:es)?|none|only|"
                     r"several|counties|checked|not found|error|zoom|whole|drag|click)\b", re.IGNORECASE)


def _data_strings(conn) -> list[str]:
    """Names that come from ICE's sheets and reference files (shown as printed)."""
    rows = conn.execute("SELECT spelling FROM agency_names UNION SELECT name FROM agencies UNION"
                        " SELECT county FROM agencies WHERE county IS NOT NULL UNION SELECT file FROM publications"
                        " UNION SELECT file FROM captures").fetchall()
    from g287.places import reference
    names = [r[0] for r in rows] + [c.name for c in reference.counties().values()]
    return sorted({n for n in names if n}, key=len, reverse=True)


def _english_left(text: str, data: list[str]) -> list[str]:
    text = re.sub(r"«[^»]*»", " ", text)  # quotations of ICE's own words stay in English
    for name in data:
        if name in text:
            text = text.replace(name, " ")
    english_messages = []
    for key, value in _strings("en").items():
        spanish = _strings("es").get(key)
        for form in (value if isinstance(value, tuple) else (value,)):
            for fragment in re.split(r"\{[a-z_]+\}", form):
                fragment = fragment.strip(" .,:;()“”")
                if len(fragment) >= 12 and spanish and fragment not in str(spanish):
                    english_messages.append(fragment)
    found = [m for m in english_messages if m in text]
    found += ENGLISH.findall(text)
    return found


def test_no_english_interface_string_on_any_spanish_page(client, history_db):
    """Crawls the Spanish site from /es/ (every page it links to, a sample of agency pages)
    plus error and edge pages; fails on any English interface string."""
    data = _data_strings(history_db)
    start = ["/es/", "/es/search?q=sheriff", "/es/search?q=jacksonvile", "/es/map?date=2020-01-01",
             "/es/map?date=2025-06-05", "/es/map?date=2030-01-01", "/es/changes?since=someday", "/es/nowhere",
             "/es/agency/ag_nothing", "/es/changes?state=ZZ", "/es/map?level=state", "/es/search?q=zzzzzz"]
    seen, queue, agencies, problems = set(), list(start), 0, {}
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code in (200, 400, 404), (url, response.status_code)
        if "html" not in response.headers["content-type"]:
            continue
        parser = _Text()
        parser.feed(response.text)
        left = _english_left(" ".join(parser.parts), data)
        if left:
            problems[url] = left[:8]
        for link in parser.links:
            path = urlsplit(link).path
            if not link.startswith("/es") or link in seen or "/feeds/" in path:
                continue
            if path.startswith("/es/agency/"):
                if agencies >= 40:
                    continue
                agencies += 1
            if path.startswith("/es/changes") and "page=" in link:
                continue
            queue.append(link)
    assert len(seen) > 60
    # This history holds no MOA document: no agency page links to an empty MOA page.
    assert not any(u.startswith("/es/moas/agreement/") for u in seen)
    assert problems == {}, problems


def test_spanish_map_data_and_image(client):
    frame = client.get("/es/map/state/latest.json").json()
    assert frame["title"].startswith("Acuerdos 287(g) por estado") and "Fuente" in frame["source"]
    assert any("acuerdos" in label for label in frame["labels"].values())
    assert "Nuevo México" in " ".join(frame["labels"].values()) or "NM" not in frame["labels"]
    svg = client.get("/es/map/county/latest.svg").text
    assert "Puerto Rico y otros territorios" in svg and "territories" not in svg
    assert "1 acuerdo vigente" in client.get("/es/state/WY").text or "acuerdos vigentes" in \
        client.get("/es/state/WY").text


def test_plural_forms(client):
    from g287.web.i18n import Translator
    assert Translator("es").plural("state.agreements", 1) == "1 acuerdo vigente"
    assert Translator("es").plural("state.agreements", 2) == "2 acuerdos vigentes"
    assert Translator("en").plural("search.results", 1, q="x") == "1 agency matches “x”."
    assert Translator("es").plural("agency.days_pending", 1000) == "1.000 días pendiente"


def test_spanish_feeds_link_to_spanish_pages_and_pages_advertise_them(client):
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ElementTree.fromstring(client.get("/es/feeds/changes.atom").content)
    hrefs = [link.get("href") for link in feed.iter("{http://www.w3.org/2005/Atom}link")]
    assert hrefs and not any("/es/es" in h for h in hrefs)
    entry = feed.find("a:entry/a:link", ns).get("href")
    assert client.get(urlsplit(entry).path).status_code == 200 and urlsplit(entry).path.startswith("/es/agency/")
    for path in ("/es/", "/es/state/FL", "/es/changes"):
        assert 'type="application/atom+xml"' in client.get(path).text
        assert re.search(r'type="application/atom\+xml"[^>]*href="/es/feeds/', client.get(path).text), path
        assert 'href="/feeds/' not in client.get(path).text


# ---- HTTP for other sites ----------------------------------------------------------------

def test_cors_for_reading(client):
    got = client.get("/api/v1/status", headers={"Origin": "https://news.example"})
    assert got.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in got.headers
    pre = client.options("/api/v1/agreements", headers={"Origin": "https://news.example",
                                                        "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200 and "GET" in pre.headers["access-control-allow-methods"]


def test_etags_are_per_representation_and_errors_never_304(client):
    status = client.get("/api/v1/status")
    other = client.get("/api/v1/status", params={"as_of": "2025-06-06"})
    assert status.headers["etag"] != other.headers["etag"]
    as_json = client.get("/api/v1/publications")
    as_csv = client.get("/api/v1/publications", headers={"Accept": "text/csv"})
    assert as_json.headers["etag"] != as_csv.headers["etag"] and "Accept" in as_json.headers["vary"]
    for url in ("/api/v1/agencies/ag_nothing", "/api/v1/agreements?state=ZZ", "/nowhere"):
        for tag in (status.headers["etag"], "*"):
            response = client.get(url, headers={"If-None-Match": tag})
            assert response.status_code in (400, 404) and "etag" not in response.headers
    assert client.get("/api/v1/status", headers={"If-None-Match": status.headers["etag"]}).status_code == 304


def test_static_assets_fingerprinted_and_long_cached(client):
    page = client.get("/").text
    url = re.search(r'src="(/static/app\.js\?v=[0-9a-f]{10})"', page).group(1)
    asset = client.get(url)
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert asset.headers.get("etag") != client.get("/").headers["etag"]


@pytest.mark.parametrize("url", ["/", "/es/map", "/api/v1/status", "/api/v1/agreements?format=csv",
                                 "/static/style.css", "/feeds/changes.atom", "/map/state/latest.svg"])
def test_head_everywhere(client, url):
    get, head = client.get(url), client.head(url)
    assert head.status_code == get.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


def test_compressed(client):
    response = client.get("/map", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"


def test_map_transfer_is_light(client):
    """What /map costs a browser with JavaScript: the page, its assets, the geometry (once)
    and one date's fills, compressed as sent."""
    total = 0
    page = client.get("/map", headers={"Accept-Encoding": "gzip"})
    total += page.num_bytes_downloaded
    for url in ("/static/style.css", "/static/app.js", "/api/v1/geometry.json", "/map/county/latest.json"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.headers.get("content-encoding") == "gzip", url
        total += response.num_bytes_downloaded
    assert 50_000 < total <= 300_000, total


def test_map_dates_outside_publications_say_so(client):
    before = client.get("/map", params={"date": "2020-01-01"}).text
    assert 'id="map-note"' in before and "before the archive" in before
    between = client.get("/map", params={"date": "2025-06-05"}).text
    assert "published no sheet on June 5, 2025" in between
    assert client.get("/map/county/2020-01-01.json").status_code == 404


def test_city_agreements_are_points(client, history_db):
    frame = client.get("/map/county/latest.json").json()
    cities = {a.agency_id for a in query.active_agreements(history_db) if a.agency_type == "Municipality"}
    drawn = {p["agency_id"] for p in frame["points"]}
    assert drawn <= cities and len(drawn) >= 0.8 * len(cities)


def test_geometry_is_topojson_of_counties_and_states(client):
    topo = client.get("/api/v1/geometry.json").json()
    assert topo["type"] == "Topology" and len(topo["objects"]["states"]["geometries"]) >= 51
    assert len(topo["objects"]["counties"]["geometries"]) > 3000


def test_site_furniture(client):
    assert "Sitemap:" in client.get("/robots.txt").text
    sitemap = client.get("/sitemap.xml")
    assert sitemap.status_code == 200 and "/es/state/TX" in sitemap.text
    page = client.get("/es/state/TX").text
    assert '<meta name="description"' in page and 'property="og:title"' in page and 'rel="icon"' in page
    agency = client.get("/api/v1/agencies", params={"q": "weber"}).json()["items"][0]["agency_id"]
    assert "<title>Weber County Sheriff's Office, Utah" in html.unescape(client.get(f"/agency/{agency}").text)
    assert "(by g287 fetch)" in client.get("/").text or "g287 fetch" in client.get("/").text
