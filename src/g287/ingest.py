"""Ingest ICE sheet files into the history: parse, store raw, rebuild derived tables.

One write transaction stores every good file's raw bytes, rows and capture, and
brings the derived tables (identities, agreements, events) up to date. A file that
cannot be read is reported with one line and skipped; nothing is half-written.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from g287 import answers, inputs, labels, roster_read, store, table_read
from g287.errors import BadInput, G287Error
from g287.fold_store import update_history
from g287.identity import decisions
from g287.identity.resolve import AgencyResolver, Alias
from g287.read import READER_VERSION, SheetError, SheetRead, read_sheet
from g287.row_store import RowWriter, clear_rows
from g287.xlsx import WorkbookError

SHEET_SUFFIXES = (".xlsx", ".xlsm")
ROSTER_SUFFIXES = (".csv",)
ROSTER_MANIFEST = "manifest.csv"


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What happened to one input file."""

    path: str
    publication_id: str | None
    list_name: str | None
    file: str
    rows: int | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ListAdded:
    """The publications of one list an ingest added: how many, which dates, their events."""

    list_name: str
    publications: int
    first_date: str
    last_date: str
    events: int       # changes these publications show (the first of a list is a baseline)


@dataclass(slots=True)
class IngestReport:
    """Publications added, publications seen again, and files that failed."""

    added: list[FileOutcome] = field(default_factory=list)
    seen_again: list[FileOutcome] = field(default_factory=list)
    failed: list[FileOutcome] = field(default_factory=list)
    derivation: str = "unchanged"  # how derived tables were updated: full | append | unchanged
    by_list: list[ListAdded] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class Capture:
    """One sheet file as captured: its bytes, name, where and when it was seen."""

    source: str          # the path or URL it was read from
    file: str            # ICE's file name
    content: bytes
    folder: str          # sheets_YYYYMMDD_HHMMSS, or '' when not from an archive folder
    captured_utc: str
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.content).hexdigest())


def capture_bytes(content: bytes, file: str, captured: dt.datetime, source: str) -> Capture:
    """A capture of downloaded bytes, filed under the archive folder for its time."""
    return Capture(source, file, content, f"sheets_{captured.astimezone(dt.UTC):%Y%m%d_%H%M%S}",
                   _utc(captured))


@dataclass(frozen=True, slots=True)
class RosterFile:
    """A transcription of ICE's archived web roster (CSV), as read from disk."""

    source: str
    file: str
    content: bytes
    addresses: dict[str, str] = field(default_factory=dict)   # snapshot ts -> Wayback address
    addresses_from: str = ""                                  # the file that listed them


def roster_file(path: Path, content: bytes) -> RosterFile:
    """A transcription read from disk, with the Wayback addresses of a ``manifest.csv``
    beside it when there is one (the transcription itself does not carry them)."""
    manifest = path.with_name(ROSTER_MANIFEST)
    try:
        addresses = roster_read.wayback_addresses(manifest.read_bytes()) if manifest.is_file() else {}
    except OSError:
        addresses = {}
    return RosterFile(str(path), path.name, content, addresses, manifest.name if addresses else "")


def sheet_files(paths: Iterable[Path]) -> list[Path]:
    """Expand files and folders (recursively) into sheet files and roster transcriptions,
    in a stable order. In folders, a CSV counts only when its header is a roster's (other
    CSVs, such as archive manifests, are not sources); a CSV named explicitly always counts."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and (
                p.suffix.lower() in SHEET_SUFFIXES
                or (p.suffix.lower() in ROSTER_SUFFIXES and _is_roster(p)))))
        else:
            found.append(path)
    return found


def _is_roster(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return roster_read.is_roster_csv(handle.read(4096))
    except OSError:
        return False


MAX_FILE_BYTES = 100 * 1024 * 1024  # ICE's sheets are ~100 KB; fetch downloads at most 50 MB


def read_sheet_file(path: Path) -> bytes:
    """A sheet file's bytes; only regular files of a sane size (``/dev/zero`` would never
    end, a FIFO would wait forever): the one check of :mod:`g287.inputs`."""
    found = inputs.problem(path, MAX_FILE_BYTES)
    if found is not None:
        raise BadInput(found)
    with path.open("rb") as handle:
        content = handle.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise BadInput(f"grew past {MAX_FILE_BYTES:,} bytes while being read")
    return content


def ingest_paths(conn: sqlite3.Connection, paths: Iterable[Path | str], *,
                 aliases: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest sheet files and folders in one transaction; return what happened.
    ``progress`` is told each file's path once it has been read and parsed (or has failed)."""
    captures: list[Capture] = []
    rosters: list[RosterFile] = []
    failed: list[FileOutcome] = []
    manifests: dict[Path, dict[str, tuple[str, list[str]]]] = {}
    for path in sheet_files(Path(p) for p in paths):
        try:
            content = read_sheet_file(path)
            wayback = labels.wayback_time(path.name)
            when = labels.capture_time(path) or wayback or dt.datetime.fromtimestamp(
                path.stat().st_mtime, dt.UTC)
        except (OSError, BadInput) as exc:
            message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            failed.append(FileOutcome(str(path), None, None, path.name, None, message))
            if progress:
                progress(str(path))
        else:
            if path.suffix.lower() in ROSTER_SUFFIXES:
                rosters.append(roster_file(path, content))
            elif wayback and not labels.capture_folder(path):
                capture = Capture(str(path), path.name, content, wayback_folder(wayback), _utc(wayback))
                captures.append(capture)
                captures += _same_bytes_captured(path, capture, manifests)
            else:
                captures.append(Capture(str(path), path.name, content,
                                        labels.capture_folder(path) or "", _utc(when)))
    report = ingest_captures(conn, captures, aliases=aliases, progress=progress, rosters=rosters)
    report.failed[:0] = failed
    return report


def wayback_folder(moment: dt.datetime) -> str:
    """The capture folder g287 files a Wayback capture under (as the web rosters' captures)."""
    return f"wayback_{moment.astimezone(dt.UTC):%Y%m%d%H%M%S}"


def _same_bytes_captured(path: Path, capture: Capture,
                         manifests: dict[Path, dict[str, tuple[str, list[str]]]]) -> list[Capture]:
    """Further Wayback captures of the same bytes, as the archive's ``manifest.csv`` lists
    them (column ``source_paths``: every original path of this content, ``|``-separated);
    only paths that name a Wayback timestamp count, and only if the manifest's SHA-256 is
    the file's."""
    folder = path.parent
    if folder not in manifests:
        manifests[folder] = _read_manifest(folder / ROSTER_MANIFEST)
    sha, sources = manifests[folder].get(path.name, ("", []))
    if sha != capture.sha256:
        return []
    found = []
    for source in sources:
        name = Path(source.strip()).name
        moment = labels.wayback_time(name)
        if moment and name != capture.file:
            found.append(Capture(capture.source, name, capture.content, wayback_folder(moment),
                                 _utc(moment)))
    return found


def _read_manifest(path: Path) -> dict[str, tuple[str, list[str]]]:
    """file -> (sha256, source paths) from an archive manifest; {} when absent or unreadable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return {}
    try:
        return {Path(r.get("file") or "").name: ((r.get("sha256") or "").strip(),
                                                  (r.get("source_paths") or "").split("|"))
                for r in csv.DictReader(io.StringIO(text)) if r.get("file")}
    except csv.Error:
        return {}


def ingest_captures(conn: sqlite3.Connection, captures: Iterable[Capture], *,
                    aliases: Path | None = None,
                    also: Callable[[sqlite3.Connection, IngestReport], None] | None = None,
                    progress: Callable[[str], None] | None = None,
                    rosters: Iterable[RosterFile] = ()) -> IngestReport:
    """Ingest captured sheets in one transaction: new contents become publications, known
    contents are recorded as seen again; unreadable ones are reported and skipped.
    ``also`` writes a caller's own records in the same transaction (raising undoes all);
    ``progress`` is told each capture's source once it has been parsed (or has failed).
    ``rosters`` are web-roster transcriptions stored in the same transaction
    (:func:`_store_rosters`).

    A reader thread parses the next new sheet while this one is stored: calamine and
    SQLite both release the GIL, so the two overlap on a multi-core machine.
    """
    captures = list(captures)
    report = IngestReport()
    alias_text, resolver, fingerprint = _alias_rules(conn, aliases)
    with store.transaction(conn), _reader_thread() as reader:
        writer = RowWriter(conn)
        known = {row[0]: row[1] for row in conn.execute("SELECT sha256, list FROM publications")}
        # Transcriptions of the web table: their bytes differ per capture, their rows may not.
        transcribed = dict(conn.execute("SELECT content_key, publication_id FROM publication_sources"
                                        " WHERE source_kind = ?", (table_read.SOURCE_KIND,)))
        held = dict(conn.execute("SELECT sha256, publication_id FROM transcribed_captures"))
        known |= dict.fromkeys(held, "participating")
        if not known:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('reader', ?)", (READER_VERSION,))
        firsts = {c.sha256: c for c in reversed(captures) if c.sha256 not in known}
        readings = reader.map(_read_bytes, [(c.content, c.file) for c in captures
                                            if firsts.get(c.sha256) is c])
        failed: dict[str, str] = {}
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('aliases', ?)", (alias_text,))
        for capture in captures:
            digest = capture.sha256
            pub_id = held.get(digest, digest[:12])
            sheet = None
            if firsts.get(digest) is capture:
                sheet = next(readings)
                if isinstance(sheet, str):
                    failed[digest] = sheet
            if progress:
                progress(capture.source)
            if digest in failed:
                report.failed.append(FileOutcome(capture.source, None, None, capture.file, None,
                                                 failed[digest]))
                continue
            if sheet is not None and table_read.is_transcription(sheet):
                _store_transcription(writer, capture, sheet, report, transcribed, held)
                known[digest] = sheet.list_name
                continue
            if sheet is not None:
                _store_publication(writer, capture, sheet)
                known[digest] = sheet.list_name
            _store_capture(conn, capture, pub_id)
            outcome = FileOutcome(capture.source, pub_id, known[digest], capture.file,
                                  len(sheet.rows) if sheet else None)
            (report.added if sheet is not None else report.seen_again).append(outcome)
        for roster in rosters:
            _store_rosters(writer, roster, report)
            if progress:
                progress(roster.source)
        evidence = _document_evidence(conn, resolver)
        report.derivation = update_history(conn, resolver, fingerprint + evidence, writer.printed)
        if report.derivation != "unchanged" or report.seen_again:
            answers.refresh(conn, list(writer.printed), everything=report.derivation == "full")
        report.by_list = _added_by_list(conn, list(writer.printed))
        if also:
            also(conn, report)
    return report


def _store_rosters(writer: RowWriter, roster: RosterFile, report: IngestReport) -> None:
    """Store a web-roster transcription: each new capture content becomes a publication of
    the participating list (with its provenance in ``publication_sources``), a content
    already held is seen again; every Wayback capture is recorded in ``captures``. The
    whole transcription's bytes are kept too. A file that cannot be read is reported."""
    conn = writer.conn
    try:
        found = roster_read.read_roster(roster.content, roster.file)
    except roster_read.RosterError as exc:
        report.failed.append(FileOutcome(roster.source, None, None, roster.file, None, str(exc)))
        return
    digest = hashlib.sha256(roster.content).hexdigest()
    conn.execute("INSERT OR IGNORE INTO raw_files VALUES (?, ?, ?)",
                 (digest, len(roster.content), roster.content))
    known = dict(conn.execute("SELECT content_key, publication_id FROM publication_sources"))
    for pub in found:
        first = pub.captures[0]
        pub_id = known.get(pub.content_key)
        added = pub_id is None
        if added:
            capture = Capture(roster.source, first.file, first.content, f"wayback_{first.snapshot_ts}",
                              first.captured_utc)
            pub_id = capture.sha256[:12]
            _store_publication(writer, capture, pub.sheet)
            conn.execute("INSERT INTO publication_sources VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         (pub_id, roster_read.SOURCE_KIND, pub.content_key, pub.caption,
                          pub.caption_count,
                          pub.printed_as_of.isoformat() if pub.printed_as_of else None,
                          pub.as_of.isoformat(),
                          pub.dated_by, pub.basis, roster.file, digest))
            known[pub.content_key] = pub_id
        for seen in pub.captures:
            conn.execute("INSERT OR IGNORE INTO captures VALUES (?, ?, ?, ?, ?)",
                         (pub_id, seen.file, f"wayback_{seen.snapshot_ts}", seen.captured_utc,
                          roster.source))
            if seen.snapshot_ts in roster.addresses:
                conn.execute("INSERT OR IGNORE INTO wayback_captures VALUES (?, ?, ?)",
                             (f"wayback_{seen.snapshot_ts}", roster.addresses[seen.snapshot_ts],
                              roster.addresses_from))
            new = added and seen is first
            outcome = FileOutcome(roster.source, pub_id, "participating", seen.file,
                                  len(pub.sheet.rows) if new else None)
            (report.added if new else report.seen_again).append(outcome)


def _store_transcription(writer: RowWriter, capture: Capture, sheet: SheetRead, report: IngestReport,
                         transcribed: dict[str, str], held: dict[str, str]) -> None:
    """Store one capture of ICE's web table as transcribed (:mod:`g287.table_read`): a new
    table content becomes a publication of the participating list dated by its capture,
    with its provenance in ``publication_sources``; a content already held is seen again.
    Every capture's bytes are kept, and each is recorded in ``captures``."""
    conn = writer.conn
    sheet = table_read.as_transcription(sheet)
    key = table_read.content_key(sheet)
    pub_id = transcribed.get(key)
    added = pub_id is None
    if added:
        pub_id = capture.sha256[:12]
        _store_publication(writer, capture, sheet)
        conn.execute("INSERT INTO publication_sources VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     (pub_id, table_read.SOURCE_KIND, key, None, None, None, capture.captured_utc[:10],
                      table_read.DATED_BY, table_read.BASIS, capture.file, capture.sha256))
        transcribed[key] = pub_id
    conn.execute("INSERT OR IGNORE INTO raw_files VALUES (?, ?, ?)",
                 (capture.sha256, len(capture.content), capture.content))
    conn.execute("INSERT OR IGNORE INTO transcribed_captures VALUES (?, ?)", (capture.sha256, pub_id))
    held[capture.sha256] = pub_id
    _store_capture(conn, capture, pub_id)
    outcome = FileOutcome(capture.source, pub_id, "participating", capture.file,
                          len(sheet.rows) if added else None)
    (report.added if added else report.seen_again).append(outcome)


def _document_evidence(conn: sqlite3.Connection, resolver: AgencyResolver) -> str:
    """Add the web rosters' renames evidenced by MOA file names (``roster_read.renames``) to
    the resolver as alias lines, after the alias file's own (which win); return a digest
    of them for the fold's fingerprint, so that new evidence replays the history."""
    by_pub: dict[str, list[roster_read.RosterRow]] = defaultdict(list)
    for r in conn.execute(
            "SELECT r.publication_id, r.state, r.name_key, r.agency_name, r.model,"
            " json_extract(r.raw, '$.moa_file') FROM sheet_rows r"
            " JOIN publication_sources s ON s.publication_id = r.publication_id"
            " JOIN publications p ON p.id = r.publication_id WHERE r.state IS NOT NULL"
            f" AND s.source_kind = '{roster_read.SOURCE_KIND}'"
            " ORDER BY s.as_of, p.first_captured, r.publication_id, r.row_number"):
        by_pub[r[0]].append(roster_read.RosterRow(*tuple(r)))
    found = roster_read.renames(list(by_pub.values()))
    for rename in found:
        resolver.aliases.setdefault((rename.state, rename.new_key), Alias(
            rename.state, rename.new_key, rename.old_key, rename.reason))
    if not found:
        return ""
    text = "\n".join(f"{r.state}|{r.new_key}|{r.old_key}" for r in found)
    return ":moa:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _added_by_list(conn: sqlite3.Connection, pub_ids: list[str]) -> list[ListAdded]:
    """Per list: the publications added, their date range and the events they show."""
    if not pub_ids:
        return []
    marks = ",".join("?" * len(pub_ids))
    return [ListAdded(r["list"], r["n"], r["first_date"], r["last_date"], r["events"] or 0)
            for r in conn.execute(
                "WITH changes AS (SELECT after_pub, COUNT(*) AS n FROM events"
                f"   WHERE before_pub IS NOT NULL AND after_pub IN ({marks}) GROUP BY after_pub)"
                " SELECT p.list, COUNT(*) AS n, MIN(p.date) AS first_date, MAX(p.date) AS last_date,"
                " SUM(c.n) AS events FROM publications p LEFT JOIN changes c ON c.after_pub = p.id"
                f" WHERE p.id IN ({marks}) GROUP BY p.list ORDER BY p.list", pub_ids + pub_ids)]


@contextmanager
def _reader_thread() -> Iterator[ThreadPoolExecutor]:
    """One thread that parses sheets ahead of the writer; on an error or an abort the sheets
    not yet started are dropped rather than parsed."""
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="g287-reader")
    try:
        yield reader
    finally:
        reader.shutdown(wait=True, cancel_futures=True)


def _alias_rules(conn: sqlite3.Connection, aliases: Path | None) -> tuple[str, AgencyResolver, str]:
    """The alias rules (shipped lines, then the user's decisions file over them: see
    :mod:`g287.identity.decisions`) as text, a resolver holding them, and the text's fingerprint."""
    alias_text, lines = decisions.rules(conn, aliases)
    resolver = AgencyResolver.with_aliases(lines)
    return alias_text, resolver, hashlib.sha256(alias_text.encode("utf-8")).hexdigest()


def _read_bytes(item: tuple[bytes, str] | tuple[bytes, str, bool]
                ) -> SheetRead | roster_read.RosterPublication | str:
    """The sheet (or web-roster publication) read from (bytes, file name[, is a web-roster
    capture]), or the one-line reason it cannot be read."""
    content, file, *roster = item
    try:
        if roster and roster[0]:
            found = roster_read.read_roster(content, file)
            if len(found) != 1:
                return f"{file}: {len(found)} capture contents where one was stored"
            return found[0]
        return read_sheet(content, file)
    except (WorkbookError, SheetError, roster_read.RosterError) as exc:
        return str(exc)


def _update_source(conn: sqlite3.Connection, pub_id: str, pub: roster_read.RosterPublication) -> None:
    """What a web roster's caption says and how it is dated, as this reader reads them."""
    conn.execute("UPDATE publication_sources SET caption = ?, caption_count = ?, printed_as_of = ?,"
                 " as_of = ?, dated_by = ?, basis = ? WHERE publication_id = ?",
                 (pub.caption, pub.caption_count,
                  pub.printed_as_of.isoformat() if pub.printed_as_of else None,
                  pub.as_of.isoformat(), pub.dated_by, pub.basis, pub_id))


class RebuildError(G287Error):
    """A stored publication cannot be read again; the history was left as it was."""


@dataclass(slots=True)
class RebuildReport:
    """What re-reading every stored publication changed."""

    publications: int
    before: dict[str, int]          # rows, row_issues, agencies, agreements, events
    after: dict[str, int]
    rows_changed: list[str]         # files whose stored rows or issues read differently now
    reader_version: str


_COUNTED = ("sheet_rows", "row_issues", "agencies", "agreements", "pending_entries", "events")


def rebuild(conn: sqlite3.Connection, *, aliases: Path | None = None) -> RebuildReport:
    """Re-read every publication from its stored raw bytes and replay the whole history,
    in one transaction; the way to bring an existing history up to a newer reader
    (``READER_VERSION``) or to audit that the stored rows are what the files say.
    If any stored file cannot be read, nothing is changed."""
    alias_text, resolver, fingerprint = _alias_rules(conn, aliases)
    with store.transaction(conn), _reader_thread() as reader:
        writer = RowWriter(conn)
        stored = conn.execute("SELECT p.id, p.file, f.content FROM publications p"
                              " LEFT JOIN raw_files f USING (sha256) ORDER BY p.id").fetchall()
        rosters = {r[0] for r in conn.execute("SELECT publication_id FROM publication_sources"
                                              " WHERE source_kind = ?", (roster_read.SOURCE_KIND,))}
        tables = {r[0] for r in conn.execute("SELECT publication_id FROM publication_sources"
                                             " WHERE source_kind = ?", (table_read.SOURCE_KIND,))}
        missing = [file for _, file, content in stored if content is None]
        if missing:
            raise RebuildError(f"{missing[0]}: raw bytes missing from the database")
        before = {table: _count(conn, table) for table in _COUNTED}
        previous = _stored_rows(conn)
        clear_rows(conn)
        conn.execute("DELETE FROM meta WHERE key = 'fold'")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('aliases', ?)", (alias_text,))
        readings = reader.map(_read_bytes, [(content, file, pub_id in rosters)
                                            for pub_id, file, content in stored])
        changed = []
        for (pub_id, file, _), sheet in zip(stored, readings, strict=True):
            if isinstance(sheet, str):
                raise RebuildError(f"{file}: {sheet}")
            if isinstance(sheet, roster_read.RosterPublication):
                _update_source(conn, pub_id, sheet)
                sheet = sheet.sheet
            elif pub_id in tables:
                sheet = table_read.as_transcription(sheet)
            conn.execute("UPDATE publications SET list = ?, xlsx_modified = ?, header = ?, rows = ?"
                         " WHERE id = ?", (*_sheet_facts(sheet), pub_id))
            stored_rows = writer.store(pub_id, sheet)
            if (stored_rows.rows, sorted(stored_rows.issues, key=repr)) != previous.get(pub_id, ([], [])):
                changed.append(file)
        evidence = _document_evidence(conn, resolver)
        update_history(conn, resolver, fingerprint + evidence, writer.printed)  # replays all: the fold key is gone
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('reader', ?)", (READER_VERSION,))
        answers.refresh(conn, list(writer.printed), everything=True)
        after = {table: _count(conn, table) for table in _COUNTED}
    return RebuildReport(len(stored), before, after, sorted(changed), READER_VERSION)


def stored_reader_version(conn: sqlite3.Connection) -> str | None:
    """The reader version the oldest stored rows were read with (None: no rows yet).
    Histories from before the version was recorded were read by version 1."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'reader'").fetchone()
    if row:
        return row[0]
    return "1" if conn.execute("SELECT 1 FROM publications LIMIT 1").fetchone() else None


def _count(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _stored_rows(conn: sqlite3.Connection) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """Each publication's stored rows (in row order) and issues (sorted), as inserted."""
    stored: dict[str, tuple[list[tuple], list[tuple]]] = defaultdict(lambda: ([], []))
    for row in conn.execute("SELECT * FROM sheet_rows ORDER BY publication_id, row_number"):
        stored[row[0]][0].append(tuple(row))
    for issue in conn.execute("SELECT * FROM row_issues"):
        stored[issue[0]][1].append(tuple(issue))
    for _, issues in stored.values():
        issues.sort(key=repr)
    return dict(stored)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _store_publication(writer: RowWriter, capture: Capture, sheet: SheetRead) -> None:
    """Store one new publication: its raw bytes, what it records of its sheet, its rows."""
    conn, pub_id = writer.conn, capture.sha256[:12]
    conn.execute("INSERT OR IGNORE INTO raw_files VALUES (?, ?, ?)",
                 (capture.sha256, len(capture.content), capture.content))
    conn.execute(
        "INSERT INTO publications (id, sha256, file, first_captured, list, xlsx_modified, header, rows,"
        " label_date, label_ampm, label_suffix, date, dated_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, '', '', 'label')",
        (pub_id, capture.sha256, capture.file, capture.captured_utc, *_sheet_facts(sheet)))
    writer.store(pub_id, sheet)


def _sheet_facts(sheet: SheetRead) -> tuple[str, str | None, str, int]:
    """What a publication records of its sheet: list, xlsx modified time, header, row count."""
    return (sheet.list_name, sheet.modified_utc, json.dumps(sheet.header, ensure_ascii=False),
            len(sheet.rows))


def _store_capture(conn: sqlite3.Connection, capture: Capture, pub_id: str | None = None) -> None:
    conn.execute("INSERT OR IGNORE INTO captures VALUES (?, ?, ?, ?, ?)",
                 (pub_id or capture.sha256[:12], capture.file, capture.folder, capture.captured_utc,
                  capture.source))
