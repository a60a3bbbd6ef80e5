"""Fetch ICE's current sheets, archive them and ingest them, all or nothing.

Both sheets are downloaded and checked before anything is written: a failure of
either leaves the archive and the database as they were and raises one line.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sqlite3
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from g287 import ingest, store
from g287.acquire import http
from g287.acquire.files import write_atomic
from g287.acquire.page import DEFAULT_SOURCE, PageLayoutError, file_name, find_sheet_links

ARCHIVE_ENV = "G287_ARCHIVE"


class FetchError(RuntimeError):
    """A fetch failed; nothing was stored. The message is one line."""


def archive_dir(explicit: Path | None = None) -> Path:
    """The archive folder: the argument, ``$G287_ARCHIVE``, or ``./archive``."""
    return Path(explicit or os.environ.get(ARCHIVE_ENV) or "archive")


@dataclass(slots=True)
class SheetOutcome:
    list_name: str
    url: str
    file: str
    outcome: str             # new | seen_again | not_modified
    sha256: str
    archived: str | None = None


@dataclass(slots=True)
class FetchReport:
    source: str
    captured_utc: str
    sheets: list[SheetOutcome] = field(default_factory=list)
    derivation: str = "unchanged"

    @property
    def new(self) -> list[SheetOutcome]:
        return [s for s in self.sheets if s.outcome == "new"]


def check_workbook(url: str, content: bytes, content_type: str) -> None:
    """Reject what is not an xlsx workbook: an HTML error page, a truncated zip."""
    if "html" in content_type.lower() or content.lstrip()[:1] == b"<":
        raise FetchError(f"{url}: served HTML ({content_type or 'no content type'}), not a workbook")
    if not content.startswith(b"PK"):
        raise FetchError(f"{url}: not an xlsx workbook (no zip signature)")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise FetchError(f"{url}: zip without xl/workbook.xml, not an xlsx workbook")
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{url}: truncated or corrupt xlsx ({exc})") from exc


def fetch(conn: sqlite3.Connection, archive: Path, source_url: str = DEFAULT_SOURCE, *,
          client: httpx.Client | None = None, policy: http.Policy | None = None,
          now: dt.datetime | None = None) -> FetchReport:
    """Download the current sheets; archive and ingest what is new; record what is not."""
    policy = policy or http.Policy()
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    own_client = client is None
    client = client or http.make_client(policy)
    try:
        downloads = _download_sheets(conn, client, policy, source_url)
    except (http.DownloadError, PageLayoutError) as exc:
        raise FetchError(str(exc)) from exc
    finally:
        if own_client:
            client.close()
    return _store(conn, archive, source_url, now, downloads)


@dataclass(frozen=True, slots=True)
class _Download:
    list_name: str
    url: str
    response: http.Response
    content: bytes


def _download_sheets(conn: sqlite3.Connection, client: httpx.Client, policy: http.Policy,
                     source_url: str) -> list[_Download]:
    page = http.get(client, source_url, policy)
    links = find_sheet_links(page.content, page.url)
    downloads = []
    for list_name, url in links.items():
        held = conn.execute("SELECT etag, last_modified, sha256 FROM http_validators WHERE url = ?",
                            (url,)).fetchone()
        response = http.get(client, url, policy, etag=held[0] if held else None,
                            last_modified=held[1] if held else None)
        if response.status == 304:
            content = _raw(conn, held[2]) if held else None
            if content is None:
                raise FetchError(f"{url}: 304 Not Modified, but its content is not in the history")
        else:
            check_workbook(url, response.content, response.content_type)
            content = response.content
        downloads.append(_Download(list_name, url, response, content))
    return downloads


def _raw(conn: sqlite3.Connection, sha256: str | None) -> bytes | None:
    row = conn.execute("SELECT content FROM raw_files WHERE sha256 = ?", (sha256,)).fetchone()
    return row[0] if row else None


def _store(conn: sqlite3.Connection, archive: Path, source_url: str, now: dt.datetime,
           downloads: list[_Download]) -> FetchReport:
    report = FetchReport(source_url, ingest.capture_bytes(b"", "", now, "").captured_utc)
    captures, written = [], []
    for d in downloads:
        capture = ingest.capture_bytes(d.content, file_name(d.url), now, d.url)
        held = _raw(conn, capture.sha256) is not None
        outcome = SheetOutcome(d.list_name, d.url, capture.file,
                               "not_modified" if d.response.status == 304 else
                               ("seen_again" if held else "new"), capture.sha256)
        if not held:
            target = archive / capture.folder / capture.file
            write_atomic(target, d.content)
            written.append(target)
            outcome.archived = str(target)
        captures.append(capture)
        report.sheets.append(outcome)
    try:
        result = ingest.ingest_captures(conn, captures)
        if result.failed:
            raise FetchError("; ".join(f"{f.source}: {f.message}" for f in result.failed))
        report.derivation = result.derivation
        with store.transaction(conn):
            for d, outcome in zip(downloads, report.sheets, strict=True):
                conn.execute("INSERT OR REPLACE INTO http_validators VALUES (?, ?, ?, ?, ?)",
                             (d.url, d.response.etag, d.response.last_modified, outcome.sha256,
                              report.captured_utc))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
            if not any(path.parent.iterdir()):
                path.parent.rmdir()
        raise
    _log(conn, now, source_url, "new" if report.new else "unchanged",
         ", ".join(f"{s.file} {s.outcome}" for s in report.sheets))
    return report


def _log(conn: sqlite3.Connection, now: dt.datetime, source: str, outcome: str, detail: str) -> None:
    with store.transaction(conn):
        conn.execute("INSERT INTO fetch_log VALUES (?, ?, ?, ?)",
                     (now.strftime("%Y-%m-%dT%H:%M:%SZ"), source, outcome, detail))
