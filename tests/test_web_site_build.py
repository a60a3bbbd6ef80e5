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
            if name in ("href", "src", "data-geometry") and value:
                self.urls.append(value)
            if name == "data-frames" and value:
                self.urls.append(value + "latest.json")


@pytest.fixture(scope="module")
def static_site(small_history, tmp_path_factory):
    out = tmp_path_factory.mktemp("public") / "public"
    result = CliRunner().invoke(cli, ["site", "build", "--db", str(small_history), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            httpx.get(base + "/", timeout=5)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base, out
    server.terminate()
    server.wait(timeout=10)


def test_static_site_crawls_clean(static_site, small_history):
    base, _ = static_site
    seen: set[str] = set()
    queue = ["/", "/es/"]
    broken, english = {}, {}
    data = _data_strings(store.connect(small_history, readonly=True))
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
            page = _Links()
            page.feed(response.text)
            for link in page.urls:
                target = urlsplit(urljoin(str(response.url), link))
                if target.netloc != urlsplit(base).netloc or target.query:
                    continue  # query strings need the live server
                queue.append(target.path)
            if url.startswith("/es"):
                text = _Text()
                text.feed(response.text)
                left = _english_left(" ".join(text.parts), data)
                if left:
                    english[url] = left
    assert broken == {}
    assert english == {}
    assert {"/agency/", "/es/state/FL", "/api/v1/geometry.json", "/es/map/county/latest.json"} <= {
        u if not u.startswith("/agency/") else "/agency/" for u in seen} | {"/agency/"}
    assert len(seen) > 40
    assert {"/moas", "/es/moas/checks", "/moas/diff"} <= seen and any(u.startswith("/es/moas/agreement/") for u in seen)


def test_static_api_files_match_the_live_urls(static_site):
    base, out = static_site
    with httpx.Client(base_url=base, timeout=30) as client:
        rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/agreements.csv").text)))
        assert len(rows) == 3 and {r["publication_file"] for r in rows} == {"participatingAgencies01102026am.xlsx"}
        status = client.get("/api/v1/status.json").json()
        assert status["participating"]["agreements"] == 3 and status["pending"]["entries"] == 1
        frame = client.get("/es/map/county/2026-01-01.json").json()
        assert frame["date"] == "2026-01-01" and "Fuente" in frame["source"]
        feed = client.get("/es/feeds/changes.atom").text
        assert "/es/agency/" in feed and "/es/es/" not in feed
        assert client.get("/sitemap.xml").status_code == 200
    assert re.search(r"Sitemap: http://localhost/sitemap.xml", (out / "robots.txt").read_text())
    assert json.loads((out / "api/v1/openapi.json").read_text())["paths"]


def test_live_server_answers_the_static_names(small_history):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app
    client = TestClient(create_app(small_history))
    assert client.get("/api/v1/agreements.csv").text == client.get("/api/v1/agreements?format=csv").text
    assert client.get("/api/v1/status.json").json() == client.get("/api/v1/status").json()


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
