"""Download each MOA and addendum PDF once, content-addressed, tied to its agreements.

Failures (404, timeouts, non-PDF answers such as an HTML page or a text file) are
recorded and retried on later runs; a URL already held is never downloaded again,
and a re-check (``recheck=True``) asks with its validators, so an unchanged
document costs a 304.

The phase always ends: it has a total time budget, downloads a few documents at a
time, and stops asking a host after a few consecutive connection failures (a circuit
breaker). What it did not get to is reported with the reason and tried on a later run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from g287 import outputs, query, store
from g287.acquire import http
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


BUDGET = 40.0           # seconds for the whole MOA phase of one run
CONCURRENCY = 4         # documents downloaded at once
BREAKER = 3             # consecutive connection failures after which a host waits for the next run
# One MOA request: short patience, no retries within the run (later runs retry, doubling).
MOA_TIMEOUT = 10.0      # connect / read
MOA_DEADLINE = 20.0     # whole download: a server dripping bytes cannot hold a slot for the budget


@dataclass(frozen=True, slots=True)
class Deferred:
    """A document not asked for in this run, and why; a later run asks for it."""

    url: str
    reason: str


@dataclass(slots=True)
class MoaReport:
    downloaded: list[str] = field(default_factory=list)
    already_held: int = 0
    unchanged: int = 0             # re-checked and still the same
    skipped_failed: int = 0        # failed before, not retried this time
    not_due: int = 0               # failed before; the next try is not due yet (backoff)
    failed: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False          # the caller asked to stop before every URL was visited
    deferred: list[Deferred] = field(default_factory=list)   # budget spent, host breaker open, stop


def moa_path(archive: Path, sha256: str) -> Path:
    """Where a document with this content is kept."""
    return archive / "moa" / f"{sha256}.pdf"


def is_pdf(content: bytes) -> bool:
    """Whether bytes are a PDF by their signature (not by name or content type)."""
    return _PDF_SIGNATURE in content[:_SIGNATURE_WINDOW]


def download_moas(conn: sqlite3.Connection, archive: Path, *, client: httpx.Client | None = None,
                  policy: http.Policy | None = None, now: dt.datetime | None = None,
                  retry_failed: bool = True, retry_now: bool = False, recheck: bool = False,
                  stop: Callable[[], bool] | None = None, budget: float = BUDGET,
                  concurrency: int = CONCURRENCY, breaker: int = BREAKER,
                  progress: Callable[[str], None] | None = None) -> MoaReport:
    """Fetch every MOA/addendum URL in the history not yet held, within ``budget`` seconds.

    URLs that failed are tried again when due (:func:`next_try`), or at once with
    ``retry_now``. ``concurrency`` downloads run at once; a host with ``breaker``
    consecutive connection failures is not asked again in this run. ``stop`` is asked
    between documents so a watcher can end promptly, never mid-write. Results are stored
    here, in the calling thread, one small transaction each.
    """
    policy = policy or http.Policy()
    policy = dataclasses.replace(policy, retries=0, timeout=min(policy.timeout, MOA_TIMEOUT),
                                 deadline=min(policy.deadline, budget, MOA_DEADLINE))
    until = time.monotonic() + budget
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    links = query.moa_links(conn)
    with store.transaction(conn):
        conn.executemany("INSERT OR IGNORE INTO moa_document_links VALUES (?, ?, ?, ?)",
                         [(link.url, link.agreement_id, link.agency_id, link.kind) for link in links])
    held = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        "SELECT url, status, attempts, last_attempt_utc FROM moa_documents")}
    report = MoaReport()
    due: deque[tuple[str, tuple[str | None, str | None]]] = deque()
    for url in sorted({link.url for link in links}):
        status, attempts, last_attempt = held.get(url, (None, 0, ""))
        if status == "ok" and not recheck:
            report.already_held += 1
        elif status == "failed" and not retry_failed:
            report.skipped_failed += 1
        elif status == "failed" and not retry_now and next_try(attempts, last_attempt) > now:
            report.not_due += 1
        else:
            validators = conn.execute("SELECT v.etag, v.last_modified FROM http_validators v JOIN moa_documents d"
                                      " USING (url) WHERE url = ? AND d.status = 'ok'", (url,)).fetchone()
            due.append((url, (validators[0], validators[1]) if validators else (None, None)))
    due = _round_robin(due)
    if progress:
        progress(f"MOA documents: {len(due)} to fetch, {report.already_held} held, {report.not_due} not due yet")
    own_client = client is None
    client = client or http.make_client(policy)
    failures: Counter[str] = Counter()
    running: dict[Future[_Fetched], str] = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="g287-moa") as pool:
            while due or running:
                while due and len(running) < max(1, concurrency):
                    url, validators = due.popleft()
                    host = urlsplit(url).netloc
                    if stop is not None and stop():
                        report.stopped = True
                        report.deferred.append(Deferred(url, "stopped on request"))
                    elif time.monotonic() >= until:
                        report.deferred.append(Deferred(url, f"the MOA time budget of {budget:g} s was spent"))
                    elif failures[host] >= breaker:
                        report.deferred.append(Deferred(url, f"{host} did not answer {breaker} times in a row"))
                    else:
                        running[pool.submit(_download, client, policy, archive, url, validators, until)] = url
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    url = running.pop(future)
                    fetched = future.result()
                    host = urlsplit(url).netloc
                    failures[host] = failures[host] + 1 if fetched.error and fetched.error.unreachable else 0
                    _store_result(conn, fetched, stamp, report)
                    if progress:
                        progress(f"{url}: {'failed: ' + str(fetched.error) if fetched.error else 'ok'}")
    finally:
        if own_client:
            client.close()
    return report


def _round_robin(due: deque[tuple[str, tuple[str | None, str | None]]]) -> deque:
    """The URLs ordered host by host in turn, so that one slow host cannot take every slot."""
    by_host: dict[str, deque] = {}
    for item in due:
        by_host.setdefault(urlsplit(item[0]).netloc, deque()).append(item)
    ordered: deque = deque()
    while by_host:
        for host in list(by_host):
            ordered.append(by_host[host].popleft())
            if not by_host[host]:
                del by_host[host]
    return ordered


@dataclass(frozen=True, slots=True)
class _Fetched:
    url: str
    response: http.Response | None = None
    sha256: str | None = None
    error: http.DownloadError | None = None


def _download(client: httpx.Client, policy: http.Policy, archive: Path, url: str,
              validators: tuple[str | None, str | None], until: float) -> _Fetched:
    """One document fetched and, when new, written to the archive (runs in a worker thread)."""
    try:
        response = http.get(client, url, policy, etag=validators[0], last_modified=validators[1], until=until)
        if response.status == 200 and not is_pdf(response.content):
            raise http.DownloadError(f"{url}: not a PDF ({response.content_type or 'no content type'}, "
                                     f"{len(response.content):,} bytes)")
    except http.DownloadError as exc:
        return _Fetched(url, error=exc)
    if response.status == 304:
        return _Fetched(url, response)
    sha256 = hashlib.sha256(response.content).hexdigest()
    target = moa_path(archive, sha256)
    try:
        if not target.exists():
            outputs.write_bytes(target, response.content, owned=False)
    except OSError as exc:
        raise MoaError(f"{target}: {exc.strerror or exc}") from exc
    return _Fetched(url, response, sha256)


def _store_result(conn: sqlite3.Connection, fetched: _Fetched, stamp: str, report: MoaReport) -> None:
    if fetched.error is not None:
        report.failed.append((fetched.url, str(fetched.error)))
        _record_failure(conn, fetched.url, str(fetched.error), fetched.error.status, stamp)
    elif fetched.response is not None and fetched.response.status == 304:
        report.unchanged += 1
        _record(conn, fetched.url, None, fetched.response, stamp)
    elif fetched.response is not None:
        report.downloaded.append(fetched.url)
        _record(conn, fetched.url, fetched.sha256, fetched.response, stamp)


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

