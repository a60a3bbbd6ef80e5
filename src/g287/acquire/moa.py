"""Download each MOA and addendum PDF once, content-addressed, tied to its agreements.

Failures (404, timeouts, non-PDF answers such as an HTML page or a text file) are
recorded and retried on later runs; a URL already held is never downloaded again,
and a re-check (``recheck=True``) asks with its validators, so an unchanged
document costs a 304.
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
from g287.errors import G287Error

_PDF_SIGNATURE = b"%PDF-"
_SIGNATURE_WINDOW = 1024  # PDF readers accept the header within the first KiB


# A URL that failed is tried again after 1 h, then 2 h, 4 h … at most a day apart: ICE
# posts many MOAs weeks after the agreement is listed, and a watcher running every 30
# minutes should not ask for hundreds of missing PDFs each time.
RETRY_FIRST = dt.timedelta(hours=1)
RETRY_MAX = dt.timedelta(days=1)


def next_try(attempts: int, last_attempt_utc: str) -> dt.datetime:
    """When a URL that has failed ``attempts`` times, last at ``last_attempt_utc``, is due."""
    wait = min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)
    return dt.datetime.fromisoformat(last_attempt_utc.replace("Z", "+00:00")) + wait


class MoaError(G287Error):
    """The run cannot go on (the archive is not writable); the message is one line."""


@dataclass(slots=True)
class MoaReport:
    downloaded: list[str] = field(default_factory=list)
    already_held: int = 0
    unchanged: int = 0             # re-checked and still the same
    skipped_failed: int = 0        # failed before, not retried this time
    not_due: int = 0               # failed before; the next try is not due yet (backoff)
    failed: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False          # the caller asked to stop before every URL was visited


def moa_path(archive: Path, sha256: str) -> Path:
    """Where a document with this content is kept."""
    return archive / "moa" / f"{sha256}.pdf"


def is_pdf(content: bytes) -> bool:
    """Whether bytes are a PDF by their signature (not by name or content type)."""
    return _PDF_SIGNATURE in content[:_SIGNATURE_WINDOW]


def download_moas(conn: sqlite3.Connection, archive: Path, *, client: httpx.Client | None = None,
                  policy: http.Policy | None = None, now: dt.datetime | None = None,
                  retry_failed: bool = True, retry_now: bool = False, recheck: bool = False,
                  stop: Callable[[], bool] | None = None) -> MoaReport:
    """Fetch every MOA/addendum URL in the history not yet held.

    URLs that failed are tried again when due (:func:`next_try`), or at once with
    ``retry_now``. ``stop`` is asked between documents so a watcher can end promptly,
    never mid-write.
    """
    policy = policy or http.Policy()
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    links = query.moa_links(conn)
    with store.transaction(conn):
        conn.executemany("INSERT OR IGNORE INTO moa_document_links VALUES (?, ?, ?, ?)",
                         [(link.url, link.agreement_id, link.agency_id, link.kind) for link in links])
    held = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        "SELECT url, status, attempts, last_attempt_utc FROM moa_documents")}
    report = MoaReport()
    own_client = client is None
    client = client or http.make_client(policy)
    try:
        for url in sorted({link.url for link in links}):
            if stop is not None and stop():
                report.stopped = True
                break
            status, attempts, last_attempt = held.get(url, (None, 0, ""))
            if status == "ok" and not recheck:
                report.already_held += 1
            elif status == "failed" and not retry_failed:
                report.skipped_failed += 1
            elif status == "failed" and not retry_now and next_try(attempts, last_attempt) > now:
                report.not_due += 1
            else:
                _fetch_one(conn, client, policy, archive, url, stamp, report)
    finally:
        if own_client:
            client.close()
    return report


def _fetch_one(conn: sqlite3.Connection, client: httpx.Client, policy: http.Policy, archive: Path,
               url: str, stamp: str, report: MoaReport) -> None:
    validators = conn.execute("SELECT v.etag, v.last_modified FROM http_validators v JOIN moa_documents d"
                              " USING (url) WHERE url = ? AND d.status = 'ok'", (url,)).fetchone()
    try:
        response = http.get(client, url, policy, etag=validators[0] if validators else None,
                            last_modified=validators[1] if validators else None)
        if response.status == 200 and not is_pdf(response.content):
            raise http.DownloadError(f"{url}: not a PDF ({response.content_type or 'no content type'}, "
                                     f"{len(response.content):,} bytes)")
    except http.DownloadError as exc:
        report.failed.append((url, str(exc)))
        _record_failure(conn, url, str(exc), exc.status, stamp)
        return
    if response.status == 304:
        report.unchanged += 1
        _record(conn, url, None, response, stamp)
        return
    sha256 = hashlib.sha256(response.content).hexdigest()
    target = moa_path(archive, sha256)
    try:
        if not target.exists():
            write_atomic(target, response.content)
    except OSError as exc:
        raise MoaError(f"{target}: {exc.strerror or exc}") from exc
    report.downloaded.append(url)
    _record(conn, url, sha256, response, stamp)


def _record(conn: sqlite3.Connection, url: str, sha256: str | None, response: http.Response,
            stamp: str) -> None:
    """Store a success; a 304 (``sha256`` None) keeps the document already held."""
    with store.transaction(conn):
        conn.execute(
            "INSERT INTO moa_documents VALUES (?, ?, ?, 'ok', ?, NULL, 1, ?, ?) ON CONFLICT(url) DO UPDATE SET"
            " sha256 = coalesce(excluded.sha256, sha256), size = coalesce(excluded.size, size),"
            " status = 'ok', http_status = excluded.http_status, error = NULL,"
            " attempts = attempts + 1, last_attempt_utc = excluded.last_attempt_utc",
            (url, sha256, len(response.content) if sha256 else None, response.status, stamp, stamp))
        conn.execute(
            "INSERT INTO http_validators VALUES (?, ?, ?, (SELECT sha256 FROM moa_documents WHERE url = ?), ?)"
            " ON CONFLICT(url) DO UPDATE SET etag = coalesce(excluded.etag, etag),"
            " last_modified = coalesce(excluded.last_modified, last_modified), sha256 = excluded.sha256,"
            " checked_utc = excluded.checked_utc",
            (url, response.etag, response.last_modified, url, stamp))


def _record_failure(conn: sqlite3.Connection, url: str, error: str, code: int | None, stamp: str) -> None:
    """Store a failure; a document already held stays held (a failed re-check loses nothing)."""
    with store.transaction(conn):
        conn.execute(
            "INSERT INTO moa_documents VALUES (?, NULL, NULL, 'failed', ?, ?, 1, ?, ?) ON CONFLICT(url)"
            " DO UPDATE SET http_status = excluded.http_status, error = excluded.error,"
            " attempts = attempts + 1, last_attempt_utc = excluded.last_attempt_utc",
            (url, code, error, stamp, stamp))

