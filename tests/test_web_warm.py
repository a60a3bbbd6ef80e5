"""A restarted server answers its first reader as fast as its hundredth: each worker answers
the first pages once before it serves, from answers stored at ingest."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

from g287.web import server
from g287.web.app import create_app

ROUTES = ("/", "/es/", "/map", "/map/county/latest.json", "/es/map/county/latest.json", "/map/state/latest.json",
          "/api/v1/coverage", "/api/v1/geometry.json", "/api/v1/status", "/search?q=county")


def test_warm_fills_the_caches_of_the_first_pages(history_path):
    app = create_app(history_path)
    server.warm(app, history_path)
    history = app.state.history
    for key in (("status", None), ("series", "participating"), ("map", "state", None, "en"),
                ("map", "state", None, "es"), ("coverage", None), ("map.json", "county", None, "en"),
                ("map.json", "county", None, "es"), ("models", None)):
        assert history.peek(key) is not None, key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200, url
        body = response.read()
    return time.perf_counter() - start, body


def test_a_fresh_server_answers_its_first_readers_like_later_ones(history_path):
    """The real server on 127.0.0.1 with two workers: the port opens only once a worker is
    warm, so the first request of each route is answered about as fast as a repeated one
    (compared loosely, over all routes together: timing targets live in bench/)."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "g287", "serve", "--db", str(history_path),
                                "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the server did not open its port"
                time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        first = {path: _get(base + path) for path in ROUTES}
        warm = {path: min(_get(base + path)[0] for _ in range(3)) for path in ROUTES}
    finally:
        process.terminate()
        process.wait(30)
    first_total, warm_total = sum(t for t, _ in first.values()), sum(warm.values())
    assert first_total <= 3 * warm_total + 0.5, (first_total, warm_total, first)
    assert all(body for _, body in first.values())
