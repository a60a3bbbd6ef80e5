"""Download each MOA and addendum PDF once, content-addressed, tied to its agreements.

Failures (404, timeouts, non-PDF answers) are recorded and retried on later runs; a
URL already held is never downloaded again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from g287 import query, store
from g287.acquire import http
from g287.acquire.files import write_atomic


@dataclass(slots=True)
class MoaReport:
    downloaded: list[str] = field(default_factory=list)
    already_held: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def moa_path(archive: Path, sha256: str) -> Path:
    """Where a document with this content is kept."""
    return archive / "moa" / f"{sha256}.pdf"


def download_moas(conn: sqlite3.Connection, archive: Path, *, client: httpx.Client | None = None,
                  policy: http.Policy | None = None, now: dt.datetime | None = None,
                  retry_failed: bool = True, stop: Callable[[], bool] | None = None) -> MoaReport:
    """Fetch every MOA/addendum URL in the history not yet held; ``stop`` is asked
    between documents so a watcher can end promptly."""
    policy = policy or http.Policy()
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    held = {r[0]: r[1] for r in conn.execute("SELECT url, status FROM moa_documents")}
    report = MoaReport()
    own_client = client is None
    client = client or http.make_client(policy)
    try:
        for url in sorted({link.url for link in query.moa_links(conn)}):
            if stop is not None and stop():
                break
            if held.get(url) == "ok" or (held.get(url) == "failed" and not retry_failed):
                report.already_held += 1
                continue
            _fetch_one(conn, client, policy, archive, url, stamp, report)
    finally:
        if own_client:
            client.close()
    return report


def _fetch_one(conn: sqlite3.Connection, client: httpx.Client, policy: http.Policy, archive: Path,
               url: str, stamp: str, report: MoaReport) -> None:
    status, sha256, size, error = None, None, None, None
    try:
        response = http.get(client, url, policy)
        status = response.status
        if not response.content.startswith(b"%PDF-"):
            raise http.DownloadError(f"{url}: not a PDF ({response.content_type or 'no content type'})")
        sha256 = hashlib.sha256(response.content).hexdigest()
        size = len(response.content)
        target = moa_path(archive, sha256)
        if not target.exists():
            write_atomic(target, response.content)
        report.downloaded.append(url)
    except http.DownloadError as exc:
        error = str(exc)
        report.failed.append((url, error))
    with store.transaction(conn):
        conn.execute(
            "INSERT INTO moa_documents VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT(url) DO UPDATE SET"
            " sha256 = excluded.sha256, size = excluded.size, status = excluded.status,"
            " http_status = excluded.http_status, error = excluded.error, attempts = attempts + 1,"
            " last_attempt_utc = excluded.last_attempt_utc",
            (url, sha256, size, "ok" if sha256 else "failed", status, error, stamp, stamp))
