"""Acquisition against real HTTP servers that the tests start on 127.0.0.1, serving an
ICE-like page, real sheets from the shared archive and real MOA PDFs."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import sheet
from g287 import query, store
from g287.acquire import archive_import, fetch, http, moa, watch
from g287.acquire.page import PageLayoutError, find_sheet_links
from g287.cli import app
from sheets import PARTICIPATING_HEADER, write_sheet

FAST = http.Policy(timeout=1.0, retries=1, backoff=0.01, max_bytes=5_000_000)
SHEET_PATH = "/doclib/about/offices/ero/287g/"


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    declared_length: int | None = None   # a Content-Length larger than the body: truncation


class Server:
    """A threaded HTTP server whose routes the test sets; counts hits per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                outer.hits[path] += 1
                route = outer.routes.get(path, Route(b"not found", 404))
                time.sleep(route.delay)
                etag = route.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(route.declared_length or len(route.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(route.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, *names: str) -> None:
        links = "".join(f'<li><a href="{SHEET_PATH}{n}">{n}</a></li>' for n in names)
        self.routes["/identify-and-arrest/287g"] = Route(
            f"<html><body><h1>287(g)</h1><ul>{links}</ul></body></html>".encode(),
            headers={"Content-Type": "text/html"})

    def sheet(self, path: Path, name: str | None = None) -> None:
        body = path.read_bytes()
        self.routes[SHEET_PATH + (name or path.name)] = Route(body, headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "ETag": '"' + hashlib.sha256(body).hexdigest()[:16] + '"'})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ToLocal(httpx.BaseTransport):
    """Send requests for www.ice.gov to the local server (real HTTP on 127.0.0.1)."""

    def __init__(self, server: Server) -> None:
        self.inner = httpx.HTTPTransport()
        self.base = httpx.URL(server.url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "www.ice.gov":
            request.url = request.url.copy_with(scheme="http", host=self.base.host, port=self.base.port)
            request.headers["Host"] = f"{self.base.host}:{self.base.port}"
        return self.inner.handle_request(request)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def client(server):
    with httpx.Client(transport=ToLocal(server), timeout=FAST.timeout, follow_redirects=True) as c:
        yield c


def real(ice_sheets: Path, capture: str, name: str) -> Path:
    return sheet(ice_sheets, capture, name)


P1 = ("sheets_20250519_024330", "participatingAgencies05162025am.xlsx")
Q1 = ("sheets_20250519_024330", "pendingAgencies05152025am.xlsx")
P2 = ("sheets_20250519_151802", "participatingAgencies05192025am.xlsx")


def state_of(conn: sqlite3.Connection, archive: Path) -> tuple:
    tables = ("publications", "captures", "http_validators", "fetch_log", "moa_documents")
    counts = tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)
    files = sorted(str(p.relative_to(archive)) for p in archive.rglob("*")) if archive.exists() else []
    return counts, files


def run_fetch(conn, tmp_path, server, client, when: str) -> fetch.FetchReport:
    return fetch.fetch(conn, tmp_path / "archive", server.url + "/identify-and-arrest/287g",
                       client=client, policy=FAST, now=dt.datetime.fromisoformat(when))


def test_three_fetches_new_unchanged_one_changed(ice_sheets, tmp_path, server, client):
    conn = store.connect(tmp_path / "h.sqlite")
    for item in (P1, Q1, P2):
        server.sheet(real(ice_sheets, *item))
    server.page(P1[1], Q1[1])
    first = run_fetch(conn, tmp_path, server, client, "2026-01-05T10:00:00+00:00")
    assert [s.outcome for s in first.sheets] == ["new", "new"]
    second = run_fetch(conn, tmp_path, server, client, "2026-01-05T16:00:00+00:00")
    assert [s.outcome for s in second.sheets] == ["not_modified", "not_modified"]
    server.page(P2[1], Q1[1])
    third = run_fetch(conn, tmp_path, server, client, "2026-01-06T10:00:00+00:00")
    assert [s.outcome for s in third.sheets] == ["new", "not_modified"]
    pubs = query.publications(conn)
    assert sorted(p.file for p in pubs) == sorted([P1[1], Q1[1], P2[1]])
    captures = dict(conn.execute("SELECT p.file, COUNT(*) FROM captures c JOIN publications p"
                                 " ON p.id = c.publication_id GROUP BY p.file").fetchall())
    assert captures == {P1[1]: 2, Q1[1]: 3, P2[1]: 1}  # seen again on the later fetches
    archive = tmp_path / "archive"
    archived = sorted(str(p.relative_to(archive)) for p in archive.rglob("*.xlsx"))
    assert archived == [f"sheets_20260105_100000/{P1[1]}", f"sheets_20260105_100000/{Q1[1]}",
                        f"sheets_20260106_100000/{P2[1]}"]
    assert server.hits[SHEET_PATH + P1[1]] == 2  # second time answered 304


def test_each_moa_pdf_downloaded_once(ice_sheets, shared_data, tmp_path, server, client):
    samples = sorted((shared_data / "moa-samples").glob("*.pdf"))[:2]
    urls = [f"https://www.ice.gov/doclib/287gMOA/{p.name.split('__')[-1]}" for p in samples]
    for pdf, url in zip(samples, urls, strict=True):
        server.routes[httpx.URL(url).raw_path.decode()] = Route(
            pdf.read_bytes(), headers={"Content-Type": "application/pdf"})
    broken = "https://www.ice.gov/doclib/287gMOA/missing.pdf"
    rows = [["OHIO", f"Agency {i} Police Department", "Municipality", "#N/A", "Task Force Model",
             dt.date(2025, 12, 1), "link"] for i in range(3)]
    book = write_sheet(tmp_path / "src" / "participatingAgencies01052026am.xlsx", PARTICIPATING_HEADER,
                       rows, links={(0, 6): urls[0], (1, 6): urls[1], (2, 6): broken})
    server.sheet(book)
    server.sheet(real(ice_sheets, *Q1))
    server.page(book.name, Q1[1])
    conn = store.connect(tmp_path / "h.sqlite")
    run_fetch(conn, tmp_path, server, client, "2026-01-05T10:00:00+00:00")
    archive = tmp_path / "archive"
    first = moa.download_moas(conn, archive, client=client, policy=FAST)
    assert sorted(first.downloaded) == sorted(urls) and [u for u, _ in first.failed] == [broken]
    again = moa.download_moas(conn, archive, client=client, policy=FAST)
    assert again.downloaded == [] and again.already_held == 2 and len(again.failed) == 1
    for pdf, url in zip(samples, urls, strict=True):
        assert server.hits[httpx.URL(url).raw_path.decode()] == 1
        digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
        assert moa.moa_path(archive, digest).read_bytes() == pdf.read_bytes()
    attempts = conn.execute("SELECT attempts FROM moa_documents WHERE url = ?", (broken,)).fetchone()
    assert attempts[0] == 2  # failures are retried on later runs


@pytest.mark.parametrize("breakage, message", [
    ("layout", "page layout changed"),
    ("404", "HTTP 404"),
    ("timeout", "timed out"),
    ("truncated", "truncated download"),
    ("html", "served HTML"),
    ("oversized", "byte limit"),
])
def test_failures_store_nothing_and_say_why(ice_sheets, tmp_path, server, client, breakage, message):
    conn = store.connect(tmp_path / "h.sqlite")
    server.sheet(real(ice_sheets, *P1))
    server.sheet(real(ice_sheets, *Q1))
    server.page(P1[1], Q1[1])
    participating = SHEET_PATH + P1[1]
    if breakage == "layout":
        server.routes["/identify-and-arrest/287g"] = Route(b"<html><p>We moved things.</p></html>")
    elif breakage == "404":
        server.routes[participating] = Route(b"gone", 404)
    elif breakage == "timeout":
        server.routes[participating].delay = 2.5
    elif breakage == "truncated":
        route = server.routes[participating]
        route.declared_length = len(route.body) + 5000
    elif breakage == "html":
        server.routes[participating] = Route(b"<!doctype html><title>Error</title>",
                                             headers={"Content-Type": "text/html"})
    elif breakage == "oversized":
        server.routes[participating] = Route(b"PK" + b"0" * 6_000_000)
    before = state_of(conn, tmp_path / "archive")
    with pytest.raises(fetch.FetchError, match=message) as raised:
        run_fetch(conn, tmp_path, server, client, "2026-01-05T10:00:00+00:00")
    assert "\n" not in str(raised.value)
    assert state_of(conn, tmp_path / "archive") == before


def test_redirect_is_followed(ice_sheets, tmp_path, server, client):
    conn = store.connect(tmp_path / "h.sqlite")
    server.sheet(real(ice_sheets, *P1), name="moved-" + P1[1])
    server.sheet(real(ice_sheets, *Q1))
    server.routes[SHEET_PATH + P1[1]] = Route(status=302, headers={"Location": SHEET_PATH + "moved-" + P1[1]})
    server.page(P1[1], Q1[1])
    report = run_fetch(conn, tmp_path, server, client, "2026-01-05T10:00:00+00:00")
    assert [s.outcome for s in report.sheets] == ["new", "new"]


def test_cli_fetch_failure_is_one_line(tmp_path, server):
    server.routes["/identify-and-arrest/287g"] = Route(b"<html>nothing here</html>")
    result = CliRunner().invoke(app, ["fetch", "--source", server.url + "/identify-and-arrest/287g",
                                      "--archive", str(tmp_path / "a"), "--db", str(tmp_path / "h.sqlite")])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "page layout changed" in result.stderr
    assert not (tmp_path / "a").exists()


def test_page_links_are_resolved_and_suffixes_kept():
    html = (b'<a href="/doclib/287g/participatingAgencies07112025am_b.xlsx">p</a>'
            b'<a href="https://www.ice.gov/doclib/287g/pendingAgencies07112025am.xlsx">q</a>')
    links = find_sheet_links(html, "https://www.ice.gov/identify-and-arrest/287g")
    assert links.participating == "https://www.ice.gov/doclib/287g/participatingAgencies07112025am_b.xlsx"
    with pytest.raises(PageLayoutError):
        find_sheet_links(b"<a href='/x.pdf'>x</a>", "https://www.ice.gov/")


def test_durations():
    assert [watch.parse_duration(t) for t in ("30m", "6h", "1d", "45s")] == [1800, 21600, 86400, 45]
    with pytest.raises(ValueError, match="not a duration"):
        watch.parse_duration("often")


def test_second_watcher_is_refused(tmp_path):
    with watch.exclusive_lock(tmp_path), pytest.raises(watch.WatchLocked, match="another g287 watch"):
        watch.watch(lambda _stop: None, 1, tmp_path, lambda _: None, max_runs=1)


def test_watch_stops_cleanly_on_sigterm(ice_sheets, tmp_path, server):
    server.sheet(real(ice_sheets, *P1))
    server.sheet(real(ice_sheets, *Q1))
    server.page(P1[1], Q1[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "g287", "watch", "--every", "30s", "--no-moa", "--source",
         server.url + "/identify-and-arrest/287g", "--archive", str(tmp_path / "a"),
         "--db", str(tmp_path / "h.sqlite")], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while server.hits[SHEET_PATH + Q1[1]] == 0 and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "received SIGTERM" in err and "new" in err
    conn = store.connect(tmp_path / "h.sqlite", readonly=True)
    assert len(query.publications(conn)) == 2


def test_import_local_folder_and_zip(ice_sheets, tmp_path):
    folders = sorted(p for p in ice_sheets.iterdir() if p.is_dir())[:6]
    conn = store.connect(tmp_path / "h.sqlite")
    source = tmp_path / "community"
    for folder in folders:
        for f in folder.glob("*.xlsx"):
            (source / "sheets" / folder.name).mkdir(parents=True, exist_ok=True)
            (source / "sheets" / folder.name / f.name).write_bytes(f.read_bytes())
    report = archive_import.import_archive(conn, str(source), tmp_path / "archive")
    assert len(report.added) + len(report.seen_again) == sum(1 for f in folders for _ in f.glob("*.xlsx"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for folder in sorted(p for p in ice_sheets.iterdir() if p.is_dir())[6:8]:
            for f in folder.glob("*.xlsx"):
                z.write(f, f"Tracking_287g-main/sheets/{folder.name}/{f.name}")
    (tmp_path / "a.zip").write_bytes(buffer.getvalue())
    again = archive_import.import_archive(conn, str(tmp_path / "a.zip"), tmp_path / "archive")
    assert again.added and not again.failed
    captured = {r[0] for r in conn.execute("SELECT capture_folder FROM captures")}
    assert captured == {p.name for p in sorted(p for p in ice_sheets.iterdir() if p.is_dir())[:8]}


def test_import_from_github_api(ice_sheets, tmp_path, server):
    folders = sorted(p for p in ice_sheets.iterdir() if p.is_dir())[5:7]
    listing = [{"name": f.name, "type": "dir"} for f in folders] + [{"name": "README.md", "type": "file"}]
    server.routes["/repos/appelson/Tracking_287g/contents/sheets"] = Route(
        json.dumps(listing).encode(), headers={"X-RateLimit-Remaining": "0",
                                               "X-RateLimit-Reset": str(int(time.time()))})
    for folder in folders:
        entries = []
        for f in sorted(folder.glob("*.xlsx")):
            raw = f"/raw/{folder.name}/{f.name}"
            server.routes[raw] = Route(f.read_bytes())
            entries.append({"name": f.name, "type": "file", "download_url": server.url + raw})
        server.routes[f"/repos/appelson/Tracking_287g/contents/sheets/{folder.name}"] = Route(
            json.dumps(entries).encode())
    conn = store.connect(tmp_path / "h.sqlite")
    with httpx.Client(timeout=5) as c:
        report = archive_import.import_archive(conn, "appelson/Tracking_287g", tmp_path / "archive",
                                               client=c, api=server.url, token="t0ken")
    assert not report.failed and len(report.added) + len(report.seen_again) == sum(
        1 for f in folders for _ in f.glob("*.xlsx"))
    assert {r[0] for r in conn.execute("SELECT capture_folder FROM captures")} == {f.name for f in folders}
