"""The watcher: durations, one watcher per archive, log lines, clean stops on signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from g287 import query, store
from g287.acquire import watch
from g287.cli import app
from g287.errors import BadInput
from test_acquire_support import P1, PAGE, Q1, SHEET_PATH, real, server_fixture  # noqa: F401


def test_durations():
    assert [watch.parse_duration(t) for t in ("30m", "6h", "1d", "45s", "1.5h", " 2H ")] == [
        1800, 21600, 86400, 45, 5400, 7200]
    for text in ("often", "6", "0h", "-1h", "6 hours", ""):
        with pytest.raises(BadInput, match="not a duration"):
            watch.parse_duration(text)


def test_cli_rejects_a_bad_interval(tmp_path):
    result = CliRunner().invoke(app, ["watch", "--every", "soon", "--archive", str(tmp_path)])
    assert result.exit_code == 2 and "'soon' is not a duration" in result.stderr


def test_second_watcher_exits_with_a_clear_message(tmp_path):
    with watch.exclusive_lock(tmp_path / "archive"):
        result = CliRunner().invoke(app, ["watch", "--every", "1h", "--archive", str(tmp_path / "archive"),
                                          "--db", str(tmp_path / "h.sqlite")])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another g287 watch is running on this archive" in lines[0]
    assert f"pid {os.getpid()}" in lines[0]


def test_failed_run_is_logged_and_the_watch_goes_on(tmp_path):
    logs: list[str] = []
    calls: list[int] = []

    def run_once(_stop: threading.Event) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("https://www.ice.gov/identify-and-arrest/287g: HTTP 503")

    assert watch.watch(run_once, 0.01, tmp_path, logs.append, max_runs=2) == 2
    assert "run 1 failed: https://www.ice.gov/identify-and-arrest/287g: HTTP 503" in logs
    assert logs[-1] == "watch ended after 2 run(s)"


def test_second_signal_aborts_the_current_run(tmp_path):
    logs: list[str] = []

    def run_once(stop: threading.Event) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set()  # the first signal only asks the run to stop at a safe point
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # never reached: the second signal aborts here

    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    assert watch.watch(run_once, 3600, tmp_path, logs.append) == 1
    assert time.monotonic() - started < 4
    assert logs[:3] == ["received SIGTERM; stopping after the current run",
                        "received SIGINT again; aborting the current run", "run 1 aborted"]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers


def test_watch_process_stops_cleanly_on_sigterm(ice_sheets, tmp_path, server):
    for item in (P1, Q1):
        server.sheet(real(ice_sheets, item))
    server.page(P1[1], Q1[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "g287", "watch", "--every", "1h", "--no-moa", "--json", "--allow-private-hosts",
         "--source",
         server.url + PAGE, "--archive", str(tmp_path / "a"), "--db", str(tmp_path / "h.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while server.hits[SHEET_PATH + Q1[1]] == 0 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    second = subprocess.run(
        [sys.executable, "-m", "g287", "watch", "--every", "1h", "--archive", str(tmp_path / "a"),
         "--db", str(tmp_path / "h.sqlite")], capture_output=True, text=True, timeout=30)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert second.returncode == 1 and f"pid {proc.pid}" in second.stderr
    assert "watching " in err and "received SIGTERM; stopping" in err and "watch ended after 1 run(s)" in err
    report = json.loads(out.strip())
    assert [s["outcome"] for s in report["fetch"]["sheets"]] == ["new", "new"]
    conn = store.connect(tmp_path / "h.sqlite", readonly=True)
    assert len(query.publications(conn)) == 2
    conn.close()
