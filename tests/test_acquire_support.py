"""Shared pieces of the acquisition tests: a real HTTP server on 127.0.0.1 serving an
ICE-like page, real sheets from the shared archive and real MOA PDFs; a transport that
sends www.ice.gov requests there (and refuses every other host), and a state snapshot.

No test lives here; the test_acquire_* modules import these fixtures (``*_fixture``,
registered under the short names).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from conftest import sheet, table_digests
from g287.acquire import http

FAST = http.Policy(timeout=0.5, retries=1, backoff=0.01, max_bytes=5_000_000, max_wait=2.0, deadline=10.0)
PAGE = "/identify-and-arrest/287g"
SHEET_PATH = "/doclib/about/offices/ero/287g/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Real captures from the shared archive (ICE's own files, byte for byte).
P1 = ("sheets_20250519_024330", "participatingAgencies05162025am.xlsx")
Q1 = ("sheets_20250519_024330", "pendingAgencies05152025am.xlsx")
P2 = ("sheets_20250519_151802", "participatingAgencies05192025am.xlsx")


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    declared_length: int | None = None   # a Content-Length larger than the body: truncation
    conditional: bool = True             # answer If-None-Match / If-Modified-Since with 304
    fail_first: int = 0                  # answer fail_status to this many requests first
    fail_status: int = 503
    fail_headers: dict[str, str] = field(default_factory=dict)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Say nothing: a client dropping a kept-alive connection is normal here, and the
        default traceback on stderr would land in the output of a CLI test running meanwhile."""


class Server:
    """A threaded HTTP server on 127.0.0.1 whose routes the test sets; counts hits per path
    and keeps the request headers of each hit."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                outer.hits[path] += 1
                outer.requests.append((self.path, dict(self.headers.items())))
                route = outer.routes.get(path, Route(b"not found", 404))
                time.sleep(route.delay)
                if route.fail_first > 0:
                    route.fail_first -= 1
                    route = Route(b"busy", route.fail_status, route.fail_headers)
                if route.conditional and route.status == 200 and self._not_modified(route):
                    self.send_response(304)
                    for name in ("ETag", "Last-Modified"):
                        if name in route.headers:
                            self.send_header(name, route.headers[name])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(route.declared_length or len(route.body)))
                if route.declared_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(route.body)

            def _not_modified(self, route: Route) -> bool:
                etag = route.headers.get("ETag")
                if etag and self.headers.get("If-None-Match"):
                    return self.headers["If-None-Match"] == etag
                modified = route.headers.get("Last-Modified")
                return bool(modified) and self.headers.get("If-Modified-Since") == modified

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def page(self, *names: str) -> None:
        """ICE's page linking these sheet names (relative links, as ICE writes them)."""
        links = "".join(f'<li><a href="{SHEET_PATH}{n}">{n}</a></li>' for n in names)
        self.routes[PAGE] = Route(
            f"<html><body><h1>287(g)</h1><ul>{links}</ul><a href='/about'>About</a></body></html>".encode(),
            headers={"Content-Type": "text/html; charset=utf-8"})

    def sheet(self, path: Path, name: str | None = None, *, validators: str = "etag") -> Route:
        """Serve a sheet's bytes under ICE's path; ``validators``: etag, last-modified or none."""
        body = path.read_bytes()
        headers = {"Content-Type": XLSX}
        if validators == "etag":
            headers["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        elif validators == "last-modified":
            headers["Last-Modified"] = formatdate(1_750_000_000 + len(body), usegmt=True)
        route = Route(body, headers=headers, conditional=validators != "none")
        self.routes[SHEET_PATH + (name or path.name)] = route
        return route

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ToLocal(httpx.BaseTransport):
    """Send www.ice.gov requests to the local server over real HTTP; refuse any other host,
    so no test can reach the internet."""

    def __init__(self, server: Server) -> None:
        self.inner = httpx.HTTPTransport()
        self.base = httpx.URL(server.url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "www.ice.gov":
            request.url = request.url.copy_with(scheme="http", host=self.base.host, port=self.base.port)
            request.headers["Host"] = f"{self.base.host}:{self.base.port}"
        elif request.url.host != "127.0.0.1":
            raise httpx.ConnectError(f"test transport refuses {request.url.host}", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(name="server")
def server_fixture():
    s = Server()
    yield s
    s.close()


@pytest.fixture(name="client")
def client_fixture(server):
    with httpx.Client(transport=ToLocal(server), timeout=FAST.timeout, follow_redirects=True) as c:
        yield c


@dataclass(frozen=True)
class MoaSample:
    path: Path
    original_name: str      # the file name in ICE's URL (%20 included, as ICE wrote it)


@pytest.fixture(name="moa_samples", scope="session")
def moa_samples_fixture(shared_data: Path) -> list[MoaSample]:
    """The shared MOA samples (PDFs and the two junk files), with ICE's file names."""
    folder = shared_data / "moa-samples"
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        pytest.fail(f"{manifest} is missing: the MOA tests serve the shared samples", pytrace=False)
    with manifest.open(encoding="utf-8", newline="") as handle:
        samples = [MoaSample(folder / row["sample_file"], row["original_file_name"]) for row in csv.DictReader(handle)]
    missing = [str(s.path) for s in samples if not s.path.is_file()]
    if missing:
        pytest.fail(f"shared MOA samples missing: {', '.join(missing)}", pytrace=False)
    return samples


def real(ice_sheets: Path, item: tuple[str, str]) -> Path:
    return sheet(ice_sheets, *item)


def state_of(conn: sqlite3.Connection, archive: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Everything a failure must leave alone: a digest of every table's rows and of every
    file in the archive."""
    rows = table_digests(conn)
    files = ({str(p.relative_to(archive)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
              for p in archive.rglob("*")} if archive.exists() else {})
    return rows, files
