"""Throughput of `g287 serve` under concurrency, measured with wrk in one run; prints figures.

    python bench/bench_load.py            # needs wrk (apt-get install -y wrk)

Builds a history from the shared archive in a temporary folder, starts `g287 serve` (one
worker process per core) on 127.0.0.1, warms it, then for each URL runs wrk with 1
connection and with 50 connections (4 s each, three alternating rounds, medians) and prints
requests per second and the ratio (target for /api/v1/status: 50 clients ≥ 1.5 × one client).
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from g287 import config, ingest, store

URLS = ["/api/v1/status", "/api/v1/agencies?q=sheriff&limit=20", "/"]
SECONDS = 4
ROUNDS = 3  # alternating 1-client and 50-client runs; medians, so a burst of other load skews less


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wrk(url: str, connections: int) -> float:
    out = subprocess.run(["wrk", "-t", "2" if connections > 1 else "1", "-c", str(connections),
                          "-d", f"{SECONDS}s", url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses under load")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "g287.sqlite"
        conn = store.connect(db)
        ingest.ingest_paths(conn, [config.shared_data_dir() / "ice-sheets"])
        conn.close()
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "g287", "serve", "--db", str(db), "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 180
            while time.time() < deadline:
                try:
                    if httpx.get(base + "/api/v1/status", timeout=30).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            for path in URLS:  # warm every worker's caches
                for _ in range(20):
                    httpx.get(base + path, timeout=60)
            print(f"g287 serve, wrk {SECONDS} s per run, median of {ROUNDS} alternating rounds")
            for path in URLS:
                ones, fifties = [], []
                for _ in range(ROUNDS):
                    ones.append(wrk(base + path, 1))
                    fifties.append(wrk(base + path, 50))
                one, fifty = statistics.median(ones), statistics.median(fifties)
                print(f"{path:40s} 1 client {one:8.0f} req/s   50 clients {fifty:8.0f} req/s   "
                      f"ratio {fifty / one:4.2f}  rounds {[round(x) for x in ones]} / {[round(x) for x in fifties]}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
