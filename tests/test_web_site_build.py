"""`g287 site build`: the static site, served by a plain static server (python -m http.server
on 127.0.0.1) and crawled: every link, asset, map frame and API file answers."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from g287 import ingest, store
from g287.cli import app as cli
from sheets import PARTICIPATING_HEADER, PENDING_HEADER, write_sheet
from test_web_readers import _data_strings, _english_left, _Text


@pytest.fixture(scope="module")
def small_history(tmp_path_factory) -> Path:
    """Two ICE updates (a join, a model added, a pending entry), made with real sheets."""
    folder = tmp_path_factory.mktemp("site")
    first = [["TEXAS", "Smith County Sheriff's Office", "County", "Smith County", "Task Force Model",
              dt.date(2025, 12, 1), "link pending"],
             ["FLORIDA", "City of Miami Police Department", "Municipality", "Miami-Dade County",
              "Task Force Model", dt.date(2025, 11, 3), "link pending"]]
    second = [*first, ["FLORIDA", "Broward County Sheriff’s Office", "County", "Broward County",
                       "Jail Enforcement Model", dt.date(2026, 1, 5), "link pending"]]
    paths = [write_sheet(folder / "sheets_20260101_120000" / "participatingAgencies01012026am.xlsx",
                         PARTICIPATING_HEADER, first),
             write_sheet(folder / "sheets_20260110_120000" / "participatingAgencies01102026am.xlsx",
                         PARTICIPATING_HEADER, second),
             write_sheet(folder / "sheets_20260110_120000" / "pendingAgencies01102026am.xlsx",
                         PENDING_HEADER, [["OHIO", "Butler County Sheriff's Office", "County", "Butler County",
                                           "Warrant Service Officer"]])]
    conn = store.connect(folder / "h.sqlite")
    report = ingest.ingest_paths(conn, paths)
    conn.close()
    assert not report.failed, report.failed
    return folder / "h.sqlite"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src", "data-geometry", "data-index", "action") and value:
                self.urls.append(value)
            if name == "data-frames" and value:
                self.urls.append(value + "latest.json")


ROOT = "/g287"
PUBLIC = "https://news.example.org/g287/"


def _serve(folder: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            httpx.get(base + "/", timeout=5)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return base, server


@pytest.fixture(scope="module")
def static_site(small_history, tmp_path_factory):
    """The export built for a sub-path and served there by a plain file server."""
    host = tmp_path_factory.mktemp("host")
    out = host / "g287"
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out),
                                      "--base-url", PUBLIC])
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ files, [\d.]+ MB; \d+ written, 0 unchanged; [\d.]+ s", result.output), result.output
    base, server = _serve(host)
    yield base, out
    server.terminate()
    server.wait(timeout=10)


def _crawl(base: str, data: set[str]) -> tuple[set[str], dict[str, int], dict[str, str], list[str], list[str]]:
    """Every URL reachable from the home pages: (seen, broken, English left on Spanish pages,
    links that leave the sub-path, HTML pages)."""
    seen: set[str] = set()
    html: list[str] = []
    queue = [f"{ROOT}/", f"{ROOT}/es/", f"{ROOT}/robots.txt", f"{ROOT}/sitemap.xml"]
    broken, english, escaped = {}, {}, []
    with httpx.Client(base_url=base, follow_redirects=True, timeout=30) as client:
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            response = client.get(url)
            if response.status_code != 200:
                broken[url] = response.status_code
                continue
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            html.append(str(response.url))
            page = _Links()
            page.feed(response.text)
            for link in page.urls:
                target = urlsplit(urljoin(str(response.url), link))
                if target.netloc != urlsplit(base).netloc:
                    continue
                if not target.path.startswith(ROOT + "/"):
                    escaped.append(f"{url} -> {link}")
                    continue
                queue.append(target.path)
            if url.startswith(f"{ROOT}/es"):
                text = _Text()
                text.feed(response.text)
                left = _english_left(" ".join(text.parts), data)
                if left:
                    english[url] = left
    return seen, broken, english, escaped, html


def test_static_site_under_a_sub_path_crawls_clean(static_site, small_history):
    base, out = static_site
    seen, broken, english, escaped, _ = _crawl(base, _data_strings(store.connect(small_history, readonly=True)))
    assert broken == {} and escaped == [] and english == {}
    pages = {u.removeprefix(ROOT) for u in seen}
    assert {"/es/state/FL", "/api/v1/geometry.json", "/es/map/county/latest.json", "/map/state/",
            "/es/map/state/", "/search-index.json", "/moas", "/es/moas/checks"} <= pages, sorted(pages)
    assert any(u.startswith("/agency/") for u in pages)
    assert not any(u.startswith("/es/moas/agreement/") for u in pages)  # no document held: not linked
    assert "/moas/diff" not in pages  # a compare form needs the server: not linked
    originals = [u for u in pages if u.startswith("/publications/")]
    assert originals and all(u.endswith((".xlsx", ".csv")) for u in originals)
    assert any(u.startswith("/api/v1/agreements.state-FL") for u in pages)
    # No file anywhere points at localhost; every absolute URL is the published one.
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".txt", ".atom", ".json", ""):
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "localhost" not in text, path
    sitemap = (out / "sitemap.xml").read_text()
    locs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    assert locs and all(loc.startswith(PUBLIC.rstrip("/")) for loc in locs)
    with httpx.Client(base_url=base, follow_redirects=True, timeout=30) as client:  # every page it lists
        missing_pages = [loc for loc in locs if client.get(ROOT + loc.removeprefix(PUBLIC.rstrip("/"))).status_code
                         != 200]
    assert missing_pages == []
    assert f"Sitemap: {PUBLIC}sitemap.xml" in (out / "robots.txt").read_text()
    feed = (out / "es/feeds/changes.atom").read_text()
    assert f"{PUBLIC}es/agency/" in feed and "/es/es/" not in feed
    missing = httpx.get(base + ROOT + "/404.html")
    assert missing.status_code == 200 and f'href="{ROOT}/static/style.css' in missing.text


def test_static_api_files_match_the_live_urls(static_site):
    base, out = static_site
    with httpx.Client(base_url=base + ROOT, timeout=30) as client:
        rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/agreements.csv").text)))
        assert len(rows) == 3 and {r["publication_file"] for r in rows} == {"participatingAgencies01102026am.xlsx"}
        florida = list(csv.DictReader(io.StringIO(client.get("/api/v1/agreements.state-FL.csv").text)))
        assert len(florida) == 2 and {r["state"] for r in florida} == {"FL"}
        status = client.get("/api/v1/status.json").json()
        assert status["participating"]["agreements"] == 3 and status["pending"]["entries"] == 1
        frame = client.get("/es/map/county/2026-01-01.json").json()
        assert frame["date"] == "2026-01-01" and "Fuente" in frame["source"]
        original = client.get("/publications/" + next(
            p.name for p in (out / "publications").iterdir()) + "/participatingAgencies01012026am.xlsx")
        assert original.status_code in (200, 404)
    assert json.loads((out / "api/v1/openapi.json").read_text())["paths"]


def test_rebuild_rewrites_only_what_changed(static_site, small_history):
    _, out = static_site
    again = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out),
                                     "--base-url", PUBLIC])
    assert again.exit_code == 0, again.output
    assert re.search(r"; 0 written, \d+ unchanged; [\d.]+ s \(no input changed: nothing rendered\)",
                     again.output), again.output
    moved = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out),
                                     "--base-url", "https://other.example.org/"])
    assert moved.exit_code == 0, moved.output
    written, unchanged = map(int, re.search(r"(\d+) written, (\d+) unchanged", moved.output).groups())
    assert written > 0 and unchanged > 0 and "nothing rendered" not in moved.output
    # the pages name the new address; assets and data files do not
    assert 'href="/static/style.css' in (out / "index.html").read_text()
    back = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out),
                                    "--base-url", PUBLIC])
    assert back.exit_code == 0, back.output


def test_live_server_answers_the_static_names(small_history):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app
    client = TestClient(create_app(small_history))
    assert client.get("/api/v1/agreements.csv").text == client.get("/api/v1/agreements?format=csv").text
    assert client.get("/api/v1/status.json").json() == client.get("/api/v1/status").json()


def test_a_wrong_base_url_is_refused_before_anything_is_written(small_history, tmp_path):
    bad = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(tmp_path / "x"),
                                   "--base-url", "ftp://example.org/"])
    assert bad.exit_code == 2 and "--base-url" in bad.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.browser
def test_static_site_in_chromium_has_no_dead_features(static_site, small_history):
    """Every page of the export loads in Chromium without a failed request or a script error,
    and what needs no server works: typo-tolerant search, suggestions, change filters, both
    map levels and date permalinks."""
    from playwright.sync_api import sync_playwright

    from test_web_browser import ARGS, CHROMIUM
    base, _ = static_site
    *_, pages = _crawl(base, set())
    failures: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("pageerror", lambda e: failures.append(f"script error {e}"))
        for url in pages:
            page.goto(url, wait_until="load")
        assert len(pages) > 30 and failures == []

        page.goto(f"{base}{ROOT}/search/?q=browrd+sherif")
        page.wait_for_selector("#results li a")
        assert "Broward County Sheriff" in page.locator("#results").inner_text()
        assert page.locator("#search-count").is_visible()
        page.goto(f"{base}{ROOT}/es/")
        page.locator("#q").press_sequentially("smiht", delay=30)
        page.wait_for_selector("#q-suggest:not([hidden]) a")
        assert "Smith County" in page.locator("#q-suggest").inner_text()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**{ROOT}/es/agency/**")

        page.goto(f"{base}{ROOT}/changes/")
        everything = page.locator("table.events tbody tr:visible").count()
        page.select_option("#state", "FL")
        page.click("#changes-filter button[type=submit]")
        shown = page.locator("table.events tbody tr:visible")
        assert 0 < shown.count() <= everything and all("FL" in t for t in shown.all_inner_texts())
        assert "state=FL" in page.url and page.locator("#changes-csv").get_attribute("href").endswith(
            "changes.state-FL.csv")
        page.goto(f"{base}{ROOT}/changes/?state=TX")  # a shared filtered link
        assert page.locator("#state").input_value() == "TX"
        assert page.locator("table.events tbody tr:visible").count() == 0
        assert page.locator("#changes-count").inner_text().endswith(" 0")

        page.goto(f"{base}{ROOT}/map/state/?date=2026-01-05")
        page.wait_for_selector("svg.live-map path[data-fips]")
        deadline = time.time() + 20
        while page.locator("#map").get_attribute("data-date") != "2026-01-01" and time.time() < deadline:
            time.sleep(0.1)
        assert page.locator("#map").get_attribute("data-date") == "2026-01-01"  # in force on the 5th
        assert page.locator("#level-county").get_attribute("href").endswith("/map/county/?date=2026-01-01")
        page.click("#level-county")
        page.wait_for_selector("svg.live-map path[data-fips]")
        assert "/map/county/" in page.url and failures == []
        browser.close()


def test_build_refuses_a_users_folder_and_leaves_it_untouched(small_history, tmp_path):
    """Issue 28: a folder holding a user's index.html, notes and drafts is not a site build."""
    out = tmp_path / "out"
    (out / "docs").mkdir(parents=True)
    mine = {"index.html": "<h1>my site</h1>", "notes.txt": "notes", "docs/draft.md": "d"}
    for name, text in mine.items():
        (out / name).write_text(text)
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert f"{out}: not a folder g287 made" in " ".join(result.output.split())
    assert {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()} == mine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing left beside it


def test_rebuild_replaces_its_own_build_but_not_a_file_added_to_it(small_history, static_site, tmp_path):
    _, built = static_site
    out = tmp_path / "public"
    shutil.copytree(built, out)
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out)])
    assert result.exit_code == 0, result.output
    (out / "state" / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out)])
    assert result.exit_code == 2 and "state/notes.txt" in result.output
    (out / "state" / "notes.txt").unlink()
    (out / "index.html").write_text("edited by hand")
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out)])
    assert result.exit_code == 2 and "index.html was changed since g287 wrote it" in " ".join(result.output.split())
    assert (out / "index.html").read_text() == "edited by hand"


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("when", ["staging made", "a third written", "most written"])
def test_sigkill_during_a_rebuild_leaves_the_previous_build_and_the_rerun_works(
        small_history, static_site, tmp_path, when):
    """Issue 28: killed at any moment, the folder a host serves is the previous complete build."""
    _, built = static_site
    out = tmp_path / "public"
    shutil.copytree(built, out)
    before = _tree(out)
    wanted = {"staging made": 0, "a third written": len(before) // 3, "most written": len(before) * 9 // 10}[when]
    build = subprocess.Popen([sys.executable, "-m", "g287", "site", "build", "--db", str(small_history),
                              "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and build.poll() is None:
        staging = [p for p in tmp_path.iterdir() if p.name.startswith(".public.g287-staging")]
        if staging and sum(1 for p in staging[0].rglob("*") if p.is_file()) > wanted:
            break
        time.sleep(0.005)
    assert build.poll() is None, "the build ended before it could be killed"
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    assert _tree(out) == before
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public"]
    assert _tree(out).keys() == before.keys()


def test_a_build_made_before_markers_is_replaced_only_when_plainly_a_site(small_history, static_site, tmp_path):
    _, built = static_site
    out = tmp_path / "public"
    shutil.copytree(built, out)
    (out / ".g287-output.json").unlink()
    (out / "docs").mkdir()
    (out / "docs" / "draft.md").write_text("mine")
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out)])
    assert result.exit_code == 2 and "not a folder g287 made" in " ".join(result.output.split())
    assert (out / "docs" / "draft.md").read_text() == "mine"
    shutil.rmtree(out / "docs")
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / ".g287-output.json").is_file()
