"""Network work always ends (issue 15): ``g287 fetch`` against hosts that refuse, stall,
drip a byte a second, reset connections or drop SYNs, all on 127.0.0.1 (never real hosts)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from g287 import store
from g287.acquire import fetch as fetch_mod
from g287.acquire import http, moa
from g287.cli import app
from sheets import PARTICIPATING_HEADER, PENDING_HEADER, write_sheet
from test_acquire_support import PAGE, server_fixture  # noqa: F401


class Hostile:
    """A TCP listener on 127.0.0.1 that misbehaves in one way: ``stall`` (reads, never
    answers), ``drip`` (headers, then one body byte a second), ``reset`` (RST on accept),
    ``blackhole`` (never accepts: once its backlog is full, connections time out)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0 if mode == "blackhole" else 64)
        self.port = self.sock.getsockname()[1]
        self.closing = threading.Event()
        self.held: list[socket.socket] = []
        if mode == "blackhole":
            # Fill the accept queue so that further SYNs are dropped.
            for _ in range(3):
                filler = socket.socket()
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", self.port))
                self.held.append(filler)
        else:
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            conn.recv(65536)
            if self.mode == "drip":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 100000\r\n\r\n")
                while not self.closing.wait(1.0):
                    conn.sendall(b"%")
            else:
                self.closing.wait()

    def close(self) -> None:
        self.closing.set()
        for s in [*self.held, self.sock]:
            with contextlib.suppress(OSError):
                s.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hostile():
    servers = {mode: Hostile(mode) for mode in ("stall", "drip", "reset", "blackhole")}
    yield servers
    for s in servers.values():
        s.close()


def ice_copy(server, folder: Path, moa_urls: list[str]) -> None:
    """A local copy of ICE's page with a participating sheet whose MOA links are ``moa_urls``."""
    rows = [["OHIO", f"Agency {i} Police Department", "Municipality", "#N/A", "Task Force Model",
             dt.date(2025, 12, 1), "link"] for i in range(len(moa_urls))]
    part = write_sheet(folder / "participatingAgencies01052026am.xlsx", PARTICIPATING_HEADER, rows,
                       links={(i, 6): url for i, url in enumerate(moa_urls)})
    pend = write_sheet(folder / "pendingAgencies01052026am.xlsx", PENDING_HEADER,
                       [["OHIO", "Waiting Police Department", "Municipality", "#N/A", "Task Force Model"]])
    server.sheet(part)
    server.sheet(pend)
    server.page(part.name, pend.name)


def test_fetch_with_every_moa_host_unreachable_ends_within_a_minute(tmp_path, server, hostile):
    targets = [f"http://127.0.0.1:{closed_port()}"] + [f"http://127.0.0.1:{h.port}" for h in hostile.values()]
    urls = [f"{targets[i % len(targets)]}/doclib/287gMOA/moa{i}.pdf" for i in range(300)]
    ice_copy(server, tmp_path / "src", urls)
    started = time.monotonic()
    result = CliRunner().invoke(app, ["fetch", "--source", server.url + PAGE, "--archive", str(tmp_path / "a"),
                                      "--db", str(tmp_path / "h.sqlite"), "--allow-private-hosts", "--json"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert elapsed <= 60, f"fetch took {elapsed:.0f} s"
    report = json.loads(result.stdout)
    assert [s["outcome"] for s in report["fetch"]["sheets"]] == ["new", "new"]
    conn = store.connect(tmp_path / "h.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM publications").fetchone()[0] == 2
    tried = dict(conn.execute("SELECT url, status FROM moa_documents").fetchall())
    assert set(tried.values()) == {"failed"} and not report["moa"]["downloaded"]
    deferred = {d["url"]: d["reason"] for d in report["moa"]["deferred"]}
    # Every URL is either recorded as failed (retried later, doubling) or left for the next run, with why.
    assert set(tried) | set(deferred) == set(urls) and not set(tried) & set(deferred)
    assert any("times in a row" in why for why in deferred.values())
    # Each host was given up after a few connection failures, not tried 60 times.
    for target in targets:
        assert sum(url.startswith(target + "/") for url in tried) <= moa.BREAKER + moa.CONCURRENCY


def test_budget_defers_what_it_cannot_reach_and_a_later_run_asks_again(tmp_path, server, hostile):
    drip = f"http://127.0.0.1:{hostile['drip'].port}"
    urls = [f"{drip}/moa{i}.pdf" for i in range(6)]
    ice_copy(server, tmp_path / "src", urls)
    conn = store.connect(tmp_path / "h.sqlite")
    policy = http.Policy(timeout=5, allow_private=True)
    fetch_mod.fetch(conn, tmp_path / "a", server.url + PAGE, policy=policy)
    heard: list[str] = []
    started = time.monotonic()
    report = moa.download_moas(conn, tmp_path / "a", policy=policy, budget=2, concurrency=2, breaker=100,
                               progress=heard.append)
    assert time.monotonic() - started < 10
    assert len(report.failed) == 2 and all("timed out" in why for _, why in report.failed)
    assert [d.reason for d in report.deferred] == ["the MOA time budget of 2 s was spent"] * 4
    assert heard[0].startswith("MOA documents: 6 to fetch")
    # The deferred URLs were never attempted, so the next run asks for them at once.
    later = moa.download_moas(conn, tmp_path / "a", policy=policy, budget=1, concurrency=4, breaker=100)
    assert {u for u, _ in later.failed} == set(urls) - {u for u, _ in report.failed}


def test_public_hosts_only_unless_allowed(server):
    """Sheet hyperlinks and redirects cannot make g287 probe the local network (F21)."""
    server.page("participatingAgencies01052026am.xlsx")
    with http.make_client(http.Policy()) as client:
        for url in ("http://127.0.0.1:9/x.pdf", "http://169.254.169.254/latest/meta-data", "http://[::1]/x",
                    "http://10.0.0.1/x.pdf", "http://localhost/x.pdf", server.url + PAGE):
            with pytest.raises(http.DownloadError, match="not a public address"):
                http.get(client, url, http.Policy(retries=0))
    with http.make_client(http.Policy(allow_private=True)) as client:
        assert http.get(client, server.url + PAGE, http.Policy(retries=0)).status == 200
