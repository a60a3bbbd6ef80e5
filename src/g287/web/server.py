"""Serving the site to the open internet: every connection and every log line is bounded.

uvicorn waits forever for a half-sent request and logs every malformed one; a few
hundred idle clients (slowloris) then stop it answering anyone, and junk requests
fill the disk with log lines. Here a request must arrive whole within a few seconds,
connections are capped, and repeated log lines are rate-limited.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from g287.errors import BadInput
from g287.text import ControlFilter

REQUEST_READ_TIMEOUT = 10.0   # seconds for a request's headers and body to arrive
KEEP_ALIVE_TIMEOUT = 5.0      # idle seconds between requests on one connection
MAX_CONNECTIONS = 512         # beyond this, new requests get 503 at once
MAX_HEADER_BYTES = 16 * 1024
LOG_LINES_PER_SECOND = 20
DB_ENV = "G287_SERVE_DB"


class BoundedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request (headers and body)
    is not complete within ``REQUEST_READ_TIMEOUT`` of the connection or of the previous
    response."""

    _read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.more_body:
            self._disarm()  # the request is in; the application takes the time it needs

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(REQUEST_READ_TIMEOUT, self._too_slow)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _too_slow(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


class RateLimit(logging.Filter):
    """At most ``per_second`` records a second pass; the others are counted and the count
    is added to the next record that passes."""

    def __init__(self, per_second: int = LOG_LINES_PER_SECOND) -> None:
        super().__init__()
        self.per_second = per_second
        self.window = 0
        self.passed = 0
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = int(time.monotonic())
        if now != self.window:
            self.window, self.passed = now, 0
        if self.passed >= self.per_second:
            self.dropped += 1
            return False
        self.passed += 1
        if self.dropped:
            record.msg = f"{record.msg} ({self.dropped} similar log lines suppressed before this one)"
            self.dropped = 0
        return True


def config(app: Any, host: str, port: int, **extra: Any) -> uvicorn.Config:
    """The uvicorn configuration g287 serves with."""
    return uvicorn.Config(app, host=host, port=port, log_level="info", http=BoundedH11Protocol,
                          timeout_keep_alive=int(KEEP_ALIVE_TIMEOUT), limit_concurrency=MAX_CONNECTIONS,
                          h11_max_incomplete_event_size=MAX_HEADER_BYTES, server_header=False, **extra)


def _limit_logs() -> None:
    limit = RateLimit()
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(limit)
        logging.getLogger(name).addFilter(ControlFilter())  # a request path never reaches a terminal raw


# The routes a reader opens first, answered once in-process before a worker takes
# connections (with an agency's and a state's page, found in the history): their imports,
# templates, catalogs, reference files and cached answers are then ready.
WARM_PATHS = ("/", "/map", "/map/county/latest.json", "/map/state/latest.json", "/map/county/latest.svg",
              "/states", "/changes", "/search?q=county", "/downloads", "/methodology", "/about", "/moas",
              "/feeds/changes.atom")
WARM_API = ("/api/v1/status", "/api/v1/series", "/api/v1/coverage", "/api/v1/map", "/api/v1/map?level=state",
            "/api/v1/agencies?q=county", "/api/v1/agreements", "/api/v1/changes", "/api/v1/publications",
            "/api/v1/geometry.json", "/api/v1/reference")


def warm(app: Callable, db_path: Path) -> None:
    """Answer the first pages and API routes once, in English and Spanish, before this
    process serves: the port opens only once a worker is ready, so the first reader after a
    restart gets the speed of the hundredth. Answers stored at ingest (:mod:`g287.answers`)
    make this cheap; a route that fails here fails the same way for a reader, and is left
    to answer then."""
    from g287 import store
    from g287.places import coverage

    conn = store.connect(db_path, readonly=True)
    try:
        coverage.load_placements(conn)
        row = conn.execute(
            "SELECT a.agency_id, a.state FROM agreements g JOIN agencies a USING (agency_id)"
            " WHERE g.status = 'active' ORDER BY g.agreement_id LIMIT 1").fetchone()
    finally:
        conn.close()
    pages = [*WARM_PATHS, *([f"/agency/{row[0]}", f"/state/{row[1]}"] if row else [])]
    paths = [*pages, *(f"/es{p}" for p in pages), *WARM_API]
    # In a thread of its own: uvicorn calls the app factory from inside its running loop.
    thread = threading.Thread(target=asyncio.run, args=(_answer_all(app, paths),), name="g287-warm")
    thread.start()
    thread.join()


async def _answer_all(app: Callable, paths: list[str]) -> None:
    """GET each path through the ASGI app, the response dropped."""
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, object]) -> None:
        return None

    for target in paths:
        path, _, query = target.partition("?")
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 0),
                 "server": ("localhost", 80)}
        try:
            await app(scope, receive, send)
        except Exception:  # it fails the same way for a reader, who is told
            logging.getLogger("uvicorn.error").exception("g287: warming %s failed", target)


def app_from_env():
    """The app of each worker process (uvicorn imports it by name), warmed before it serves."""
    from g287.web.app import create_app

    _limit_logs()
    path = Path(os.environ[DB_ENV])
    app = create_app(path)
    warm(app, path)
    return app


def serve(db_path: Path, host: str, port: int, workers: int = 0) -> None:
    """Serve the site for one history database until interrupted, with ``workers``
    processes (0: 2 × cores + 1)."""
    count = workers or 2 * (os.cpu_count() or 1) + 1
    _limit_logs()
    if count == 1:
        from g287.web.app import create_app

        app = create_app(db_path)
        warm(app, db_path)
        uvicorn.Server(config(app, host, port)).run()
        return
    os.environ[DB_ENV] = str(db_path.resolve())
    # A worker importing g287 and warming on a busy machine can take longer than uvicorn's
    # 5 s to answer the supervisor's first ping (40 s seen under load 11). The socket is
    # bound here but listens only when the first warmed worker starts serving on it.
    settings = config("g287.web.server:app_from_env", host, port, factory=True, workers=count,
                      timeout_worker_healthcheck=120)
    # uvicorn's own shared socket is made without IPPROTO_TCP, so asyncio leaves Nagle's
    # algorithm on for each connection and every keep-alive answer waits ~40 ms for an ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise BadInput(f"{host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    logging.getLogger("uvicorn.error").info("g287: %d worker processes", count)
    Multiprocess(settings, sockets=[sock]).run()
