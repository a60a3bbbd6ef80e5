"""A server's memory stays within its documented bound whatever clients ask (issue 28):
every distinct date of a map is a new answer, and the cache keeps only its byte budget."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from g287 import ingest, store
from g287.web.context import History, size_of
from sheets import PARTICIPATING_HEADER, write_sheet

ROW = ["TEXAS", "Smith County Sheriff's Office", "County", "Smith County", "Task Force Model",
       dt.date(2025, 12, 1), "link pending"]


@pytest.fixture(scope="module")
def tiny_history(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("memory")
    sheet = write_sheet(folder / "sheets_20260101_120000" / "participatingAgencies01012026am.xlsx",
                        PARTICIPATING_HEADER, [ROW])
    conn = store.connect(folder / "h.sqlite")
    assert not ingest.ingest_paths(conn, [sheet]).failed
    conn.close()
    return folder / "h.sqlite"


def test_the_cache_keeps_its_byte_budget_least_recently_used_first(tiny_history, monkeypatch):
    monkeypatch.setenv("G287_CACHE_MB", "1")
    history = History(tiny_history)
    conn = store.connect(tiny_history, readonly=True)
    for day in range(40):
        history.cached(conn, ("map.svg", day), lambda: "x" * 100_000)
        assert history.cached_bytes <= history.budget == 1024 * 1024
    kept = history.cached(conn, ("map.svg", 39), lambda: "recomputed")
    assert kept == "x" * 100_000 and history.cached(conn, ("map.svg", 0), lambda: "recomputed") == "recomputed"
    assert history.cached(conn, ("huge",), lambda: b"y" * 600_000) == b"y" * 600_000
    assert history.peek(("huge",)) is None  # larger than a quarter of the budget: not kept
    conn.close()
    nested = {"fills": [{"fips": f"{i:05d}", "colour": "#abcdef"} for i in range(1000)]}
    assert 100_000 < size_of(nested, 10**9) < 2_000_000


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_hundreds_of_distinct_map_dates_keep_the_server_within_its_bound(tiny_history):
    """The real server process (one worker), 240 distinct drawn maps (120 dates, English and
    Spanish, ~175 KB each: ~40 MB if kept), a cache budget of 4 MB: RSS grows by far less."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "G287_CACHE_MB": "4"}
    server = subprocess.Popen([sys.executable, "-m", "g287", "serve", "--db", str(tiny_history), "--port",
                               str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.time() + 60
            while True:
                try:
                    client.get("/api/v1/status")
                    break
                except httpx.HTTPError:
                    assert time.time() < deadline and server.poll() is None, "the server did not start"
                    time.sleep(0.2)
            days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(130)]
            for day in days[:10]:  # warm up: the drawing code, the geometry, both languages
                for lang in ("", "/es"):
                    assert client.get(f"{lang}/map/state/{day}.svg").status_code == 200
            before = _rss_kb(server.pid)
            for day in days[10:]:
                for lang in ("", "/es"):
                    response = client.get(f"{lang}/map/state/{day}.svg")
                    assert response.status_code == 200 and len(response.content) > 100_000
            grown = (_rss_kb(server.pid) - before) / 1024
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert grown < 16, f"the server grew by {grown:.1f} MB over 240 distinct maps with a 4 MB cache"
