"""Benchmark the HTTP API and the home page on the shared archive; prints figures.

    python bench/bench_api.py

Builds a history from the archive in a temporary folder, serves it with uvicorn on
127.0.0.1 in a separate process, then:
- sends N requests per endpoint from C concurrent clients (httpx) and prints the
  median and p99 latency (targets: < 20 ms median for status, series, agency search);
- loads the home page in headless Chromium 5 times after a warm-up and prints the
  median load time (target: < 1 s).
"""

from __future__ import annotations

import concurrent.futures
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from g287 import config, ingest, store

REQUESTS, CONCURRENCY = 300, 4
ENDPOINTS = {"status": "/api/v1/status", "series": "/api/v1/series",
             "agency search": "/api/v1/agencies?q=county&limit=50"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def latencies(urls: list[str]) -> list[float]:
    """Latencies of REQUESTS requests cycling through ``urls`` (one URL: a warm cache)."""
    def one(client: httpx.Client, url: str) -> float:
        start = time.perf_counter()
        client.get(url).raise_for_status()
        return (time.perf_counter() - start) * 1000
    with httpx.Client() as client:
        one(client, urls[0])  # warm the server's caches
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        clients = [httpx.Client() for _ in range(CONCURRENCY)]
        times = list(pool.map(lambda i: one(clients[i % CONCURRENCY], urls[i % len(urls)]), range(REQUESTS)))
        for client in clients:
            client.close()
    return times


def home_load(base: str) -> float:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(base + "/")
        loads = []
        for _ in range(5):
            start = time.perf_counter()
            page.goto(base + "/", wait_until="load")
            loads.append(time.perf_counter() - start)
        browser.close()
    return statistics.median(loads)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "g287.sqlite"
        ingest.ingest_paths(store.connect(db), [config.shared_path("ice-sheets")])
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "g287", "serve", "--db", str(db), "--port", str(port)],
                                  stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(base + "/api/v1/status")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            print(f"{REQUESTS} requests per endpoint, {CONCURRENCY} concurrent clients, uvicorn (1 process)")
            words = sorted({w.lower() for (name,) in store.connect(db, readonly=True).execute(
                "SELECT name FROM agencies") for w in name.split() if len(w) > 3})[:REQUESTS]
            runs = {name: [base + path] for name, path in ENDPOINTS.items()}
            runs["agency search, a different word each time"] = [
                f"{base}/api/v1/agencies?q={w}&limit=50" for w in words]
            for name, urls in runs.items():
                times = sorted(latencies(urls))
                p99 = times[int(len(times) * 0.99) - 1]
                print(f"  {name:44} median {statistics.median(times):6.1f} ms   p99 {p99:6.1f} ms"
                      "   (target: median < 20 ms)")
            print(f"home page load in headless Chromium: median {home_load(base):.3f} s of 5 (target < 1 s)")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
