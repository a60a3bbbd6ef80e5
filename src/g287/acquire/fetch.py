"""Fetch ICE's current sheets, archive them and ingest them, all or nothing.

Both sheets are downloaded and checked (zip signature, workbook structure, and a
full read as an ICE sheet) before anything is written, so a failure of either
leaves the archive and the database as they were and raises one line.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sqlite3
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from g287 import ingest, outputs
from g287.acquire import http
from g287.acquire.files import remove_written
from g287.acquire.page import DEFAULT_SOURCE, PageLayoutError, file_name, find_sheet_links
from g287.errors import NetworkError
from g287.read import SheetError, read_sheet
from g287.xlsx import WorkbookError, check_archive

ARCHIVE_ENV = "G287_ARCHIVE"


class FetchError(NetworkError):
    """A fetch failed; nothing was stored. The message is one line."""


def archive_dir(explicit: Path | None = None) -> Path:
    """The archive folder: the argument, ``$G287_ARCHIVE``, or ``./archive``."""
    return Path(explicit or os.environ.get(ARCHIVE_ENV) or "archive")


@dataclass(slots=True)
class SheetOutcome:
    list_name: str
    url: str
    file: str
    outcome: str             # new | seen_again (same bytes) | not_modified (HTTP 304)
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
    """Reject what is not an ICE sheet: an HTML error page, a truncated zip, another workbook."""
    if "html" in content_type.lower() or content.lstrip()[:1] == b"<":
        raise FetchError(f"{url}: served HTML ({content_type or 'no content type'}), not a workbook")
    if not content.startswith(b"PK\x03\x04"):
        raise FetchError(f"{url}: not an xlsx workbook (no zip signature)")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise FetchError(f"{url}: zip without xl/workbook.xml, not an xlsx workbook")
            check_archive(archive)
            broken = archive.testzip()
    except WorkbookError as exc:
        raise FetchError(f"{url}: {exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FetchError(f"{url}: truncated or corrupt xlsx ({exc})") from exc
    if broken is not None:
        raise FetchError(f"{url}: corrupt xlsx (bad CRC in {broken})")
    try:
        read_sheet(content, file_name(url))
    except (WorkbookError, SheetError) as exc:
        raise FetchError(f"{url}: not a readable ICE sheet ({exc})") from exc


def fetch(conn: sqlite3.Connection, archive: Path, source_url: str = DEFAULT_SOURCE, *,
          client: httpx.Client | None = None, policy: http.Policy | None = None,
          now: dt.datetime | None = None) -> FetchReport:
    """Download the current sheets; archive and ingest what is new; record what is not.

    Raises FetchError (one line, naming the URL or file) and stores nothing when any
    step fails.
    """
    policy = policy or http.Policy()
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    own_client = client is None
    client = client or http.make_client(policy)
    try:
        downloads = _download_sheets(conn, client, policy, source_url)
    except (http.DownloadError, PageLayoutError) as exc:
        raise FetchError(str(exc)) from exc
    except sqlite3.Error as exc:
        raise FetchError(f"database: {exc}") from exc
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


@dataclass(frozen=True, slots=True)
class _Held:
    etag: str | None
    last_modified: str | None
    sha256: str


def _download_sheets(conn: sqlite3.Connection, client: httpx.Client, policy: http.Policy,
                     source_url: str) -> list[_Download]:
    page = http.get(client, source_url, policy)
    links = find_sheet_links(page.content, page.url)
    downloads = []
    for list_name, url in links.items():
        held = held_validators(conn, url)
        response = http.get(client, url, policy, etag=held.etag if held else None,
                            last_modified=held.last_modified if held else None)
        if response.status == 304:
            content = _raw(conn, held.sha256) if held else None
            if content is None:
                raise FetchError(f"{url}: HTTP 304 Not Modified to a request that was not conditional")
        else:
            check_workbook(url, response.content, response.content_type)
            content = response.content
        downloads.append(_Download(list_name, url, response, content))
    return downloads


def held_validators(conn: sqlite3.Connection, url: str) -> _Held | None:
    """The validators remembered for a URL, only while its content is still held
    (a 304 is useless without the bytes it stands for)."""
    row = conn.execute("SELECT v.etag, v.last_modified, v.sha256 FROM http_validators v"
                       " JOIN raw_files r USING (sha256) WHERE v.url = ?", (url,)).fetchone()
    if row is None or not (row[0] or row[1]):
        return None
    return _Held(row[0], row[1], row[2])


def _raw(conn: sqlite3.Connection, sha256: str) -> bytes | None:
    row = conn.execute("SELECT content FROM raw_files WHERE sha256 = ?", (sha256,)).fetchone()
    return bytes(row[0]) if row else None


def _store(conn: sqlite3.Connection, archive: Path, source_url: str, now: dt.datetime,
           downloads: list[_Download]) -> FetchReport:
    """Write new files and ingest them with the URLs' validators, in one transaction;
    undo the files if anything fails."""
    captures = [ingest.capture_bytes(d.content, file_name(d.url), now, d.url) for d in downloads]
    report = FetchReport(source_url, now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    written: list[Path] = []
    try:
        held = {c.sha256 for c in captures if _raw(conn, c.sha256) is not None}
        for d, capture in zip(downloads, captures, strict=True):
            outcome = SheetOutcome(d.list_name, d.url, capture.file, "new", capture.sha256)
            if d.response.status == 304:
                outcome.outcome = "not_modified"
            elif capture.sha256 in held:
                outcome.outcome = "seen_again"
            else:
                target = archive / capture.folder / capture.file
                if target.exists():
                    raise FetchError(f"{target}: already in the archive; refusing to overwrite")
                outputs.write_bytes(target, d.content, owned=False)
                written.append(target)
                outcome.archived = str(target)
            report.sheets.append(outcome)
        ingest.ingest_captures(conn, captures,
                               also=lambda conn, result: _record(conn, report, downloads, result))
    except BaseException as exc:
        remove_written(written)
        if isinstance(exc, OSError):
            raise FetchError(f"{exc.filename or archive}: {exc.strerror or exc}") from exc
        if isinstance(exc, sqlite3.Error):
            raise FetchError(f"database: {exc}") from exc
        raise
    return report


def _record(conn: sqlite3.Connection, report: FetchReport, downloads: list[_Download],
            result: ingest.IngestReport) -> None:
    """Within the ingest's transaction: the URLs' validators and the fetch log, so that
    the sheets, what we know of their URLs and the log are stored together or not at all."""
    if result.failed:  # check_workbook read every new sheet, so only a change in the core gets here
        raise FetchError("; ".join(f"{f.path}: {f.message}" for f in result.failed))
    report.derivation = result.derivation
    for d, outcome in zip(downloads, report.sheets, strict=True):
        _remember(conn, d, outcome.sha256, report.captured_utc)
    conn.execute("INSERT INTO fetch_log VALUES (?, ?, ?, ?)",
                 (report.captured_utc, report.source, "new" if report.new else "unchanged",
                  ", ".join(f"{s.file} {s.outcome}" for s in report.sheets)))


def _remember(conn: sqlite3.Connection, download: _Download, sha256: str, checked_utc: str) -> None:
    """Store the URL's validators; a 304 that omits them keeps the ones we sent."""
    keep = download.response.status == 304
    conn.execute(
        "INSERT INTO http_validators VALUES (?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET"
        " etag = CASE WHEN ? THEN coalesce(excluded.etag, etag) ELSE excluded.etag END,"
        " last_modified = CASE WHEN ? THEN coalesce(excluded.last_modified, last_modified)"
        " ELSE excluded.last_modified END, sha256 = excluded.sha256, checked_utc = excluded.checked_utc",
        (download.url, download.response.etag, download.response.last_modified, sha256, checked_utc,
         keep, keep))
