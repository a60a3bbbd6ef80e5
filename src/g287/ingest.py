"""Ingest ICE sheet files into the history: parse, store raw, rebuild derived tables.

One write transaction stores every good file's raw bytes, rows and capture, and
brings the derived tables (identities, agreements, events) up to date. A file that
cannot be read is reported with one line and skipped; nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from g287 import labels, roster_read, store
from g287.history import (
    Agreement,
    Departure,
    Derived,
    Event,
    HistoryFold,
    IdentityRow,
    PendingEntry,
    PubIn,
    RowIn,
    derive,
)
from g287.read import READER_VERSION, SheetError, SheetRead, read_sheet
from g287.resolve import AgencyRecord, AgencyResolver, Merge, NameRecord, RowKey, load_aliases, parse_aliases
from g287.xlsx import WorkbookError

ALIASES_ENV = "G287_ALIASES"
SHEET_SUFFIXES = (".xlsx", ".xlsm")
ROSTER_SUFFIXES = (".csv",)


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What happened to one input file."""

    path: str
    publication_id: str | None
    list_name: str | None
    file: str
    rows: int | None = None
    message: str | None = None


@dataclass(slots=True)
class IngestReport:
    """Publications added, publications seen again, and files that failed."""

    added: list[FileOutcome] = field(default_factory=list)
    seen_again: list[FileOutcome] = field(default_factory=list)
    failed: list[FileOutcome] = field(default_factory=list)
    derivation: str = "unchanged"  # how derived tables were updated: full | append | unchanged

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


def stored_resolver(conn: sqlite3.Connection) -> AgencyResolver:
    """A resolver with the alias lines the stored history was built with."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'aliases'").fetchone()
    return AgencyResolver.with_aliases(parse_aliases(row[0], "stored alias file") if row else [])


def default_aliases_path() -> Path:
    """The alias file: ``$G287_ALIASES`` or the one shipped with g287."""
    configured = os.environ.get(ALIASES_ENV)
    if configured:
        return Path(configured)
    return Path(str(resources.files("g287").joinpath("data", "aliases.csv")))


def ingest_paths(conn: sqlite3.Connection, paths: Iterable[Path | str], *,
                 aliases: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest sheet files and folders in one transaction; return what happened.
    ``progress`` is told each file's path once it has been read and parsed (or has failed)."""
    captures: list[Capture] = []
    rosters: list[RosterFile] = []
    failed: list[FileOutcome] = []
    for path in sheet_files(Path(p) for p in paths):
        try:
            content = path.read_bytes()
            when = labels.capture_time(path) or dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        except OSError as exc:
            failed.append(FileOutcome(str(path), None, None, path.name, None, exc.strerror or str(exc)))
            if progress:
                progress(str(path))
        else:
            if path.suffix.lower() in ROSTER_SUFFIXES:
                rosters.append(RosterFile(str(path), path.name, content))
            else:
                captures.append(Capture(str(path), path.name, content,
                                        labels.capture_folder(path) or "", _utc(when)))
    report = ingest_captures(conn, captures, aliases=aliases, progress=progress, rosters=rosters)
    report.failed[:0] = failed
    return report


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
    alias_text, resolver, fingerprint = _alias_rules(aliases)
    fresh: dict[str, list[RowIn]] = {}
    raw_json: dict[int, str] = {}
    with store.transaction(conn), _reader_thread() as reader:
        known = {row[0]: row[1] for row in conn.execute("SELECT sha256, list FROM publications")}
        if not known:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('reader', ?)", (READER_VERSION,))
        firsts = {c.sha256: c for c in reversed(captures) if c.sha256 not in known}
        readings = reader.map(_read_bytes, [(c.content, c.file) for c in captures
                                            if firsts.get(c.sha256) is c])
        failed: dict[str, str] = {}
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('aliases', ?)", (alias_text,))
        for capture in captures:
            digest, pub_id = capture.sha256, capture.sha256[:12]
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
            if sheet is not None:
                _store_publication(conn, capture, sheet, raw_json)
                fresh[pub_id] = _fold_rows(pub_id, sheet)
                known[digest] = sheet.list_name
            _store_capture(conn, capture)
            outcome = FileOutcome(capture.source, pub_id, known[digest], capture.file,
                                  len(sheet.rows) if sheet else None)
            (report.added if sheet is not None else report.seen_again).append(outcome)
        for roster in rosters:
            _store_rosters(conn, roster, report, fresh, raw_json)
            if progress:
                progress(roster.source)
        report.derivation = update_history(conn, resolver, fingerprint, fresh)
        if also:
            also(conn, report)
    return report


def _store_rosters(conn: sqlite3.Connection, roster: RosterFile, report: IngestReport,
                   fresh: dict[str, list[RowIn]], raw_json: dict[int, str]) -> None:
    """Store a web-roster transcription: each new capture content becomes a publication of
    the participating list (with its provenance in ``publication_sources``), a content
    already held is seen again; every Wayback capture is recorded in ``captures``. The
    whole transcription's bytes are kept too. A file that cannot be read is reported."""
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
            _store_publication(conn, capture, pub.sheet, raw_json)
            conn.execute("INSERT INTO publication_sources VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         (pub_id, roster_read.SOURCE_KIND, pub.content_key, pub.caption,
                          pub.caption_count, _iso(pub.printed_as_of), pub.as_of.isoformat(),
                          pub.dated_by, pub.basis, roster.file, digest))
            fresh[pub_id] = _fold_rows(pub_id, pub.sheet)
            known[pub.content_key] = pub_id
        for seen in pub.captures:
            conn.execute("INSERT OR IGNORE INTO captures VALUES (?, ?, ?, ?, ?)",
                         (pub_id, seen.file, f"wayback_{seen.snapshot_ts}", seen.captured_utc,
                          roster.source))
            new = added and seen is first
            outcome = FileOutcome(roster.source, pub_id, "participating", seen.file,
                                  len(pub.sheet.rows) if new else None)
            (report.added if new else report.seen_again).append(outcome)


@contextmanager
def _reader_thread() -> Iterator[ThreadPoolExecutor]:
    """One thread that parses sheets ahead of the writer; on an error or an abort the sheets
    not yet started are dropped rather than parsed."""
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="g287-reader")
    try:
        yield reader
    finally:
        reader.shutdown(wait=True, cancel_futures=True)


def _alias_rules(aliases: Path | None) -> tuple[str, AgencyResolver, str]:
    """The alias file's text, a resolver holding its lines, and the text's fingerprint."""
    alias_path = aliases or default_aliases_path()
    alias_text = alias_path.read_text(encoding="utf-8")
    resolver = AgencyResolver.with_aliases(load_aliases(alias_path))
    return alias_text, resolver, hashlib.sha256(alias_text.encode("utf-8")).hexdigest()


def _read_bytes(item: tuple[bytes, str] | tuple[bytes, str, bool]) -> SheetRead | str:
    """The sheet read from (bytes, file name[, is a web-roster capture]), or the one-line
    reason it cannot be read."""
    content, file, *roster = item
    try:
        if roster and roster[0]:
            found = roster_read.read_roster(content, file)
            if len(found) != 1:
                return f"{file}: {len(found)} capture contents where one was stored"
            return found[0].sheet
        return read_sheet(content, file)
    except (WorkbookError, SheetError, roster_read.RosterError) as exc:
        return str(exc)


class RebuildError(ValueError):
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
    alias_text, resolver, fingerprint = _alias_rules(aliases)
    fresh: dict[str, list[RowIn]] = {}
    raw_json: dict[int, str] = {}
    with store.transaction(conn), _reader_thread() as reader:
        stored = conn.execute("SELECT p.id, p.file, f.content FROM publications p"
                              " LEFT JOIN raw_files f USING (sha256) ORDER BY p.id").fetchall()
        rosters = {r[0] for r in conn.execute("SELECT publication_id FROM publication_sources")}
        missing = [file for _, file, content in stored if content is None]
        if missing:
            raise RebuildError(f"{missing[0]}: raw bytes missing from the database")
        before = {table: _count(conn, table) for table in _COUNTED}
        previous = _stored_rows(conn)
        for table in ("row_identities", "row_issues", "sheet_rows"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM meta WHERE key = 'fold'")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('aliases', ?)", (alias_text,))
        readings = reader.map(_read_bytes, [(content, file, pub_id in rosters)
                                            for pub_id, file, content in stored])
        changed = []
        for (pub_id, file, _), sheet in zip(stored, readings, strict=True):
            if isinstance(sheet, str):
                raise RebuildError(f"{file}: {sheet}")
            conn.execute("UPDATE publications SET list = ?, xlsx_modified = ?, header = ?, rows = ?"
                         " WHERE id = ?", (*_sheet_facts(sheet), pub_id))
            rows, issues = _store_rows(conn, pub_id, sheet, raw_json)
            fresh[pub_id] = _fold_rows(pub_id, sheet)
            if (rows, sorted(issues, key=repr)) != previous.get(pub_id, ([], [])):
                changed.append(file)
        update_history(conn, resolver, fingerprint, fresh)  # replays everything: the fold key is gone
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('reader', ?)", (READER_VERSION,))
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


def _fold_rows(pub_id: str, sheet: SheetRead) -> list[RowIn]:
    """The rows as the fold reads them, equal to what :func:`load_rows` gives once stored."""
    return [RowIn(pub_id, r.row_number, RowKey(r.state, r.agency_name, r.name_key, r.agency_type,
                                               r.county, r.model, r.signed), r.moa_url, r.addendum_url)
            for r in sheet.rows]


def _store_publication(conn: sqlite3.Connection, capture: Capture, sheet: SheetRead,
                       raw_json: dict[int, str]) -> None:
    """Store one new publication. ``raw_json`` caches the JSON of each raw-cells dict by
    identity: the reader shares one dict among all printings of a row."""
    pub_id = capture.sha256[:12]
    conn.execute("INSERT OR IGNORE INTO raw_files VALUES (?, ?, ?)",
                 (capture.sha256, len(capture.content), capture.content))
    conn.execute(
        "INSERT INTO publications (id, sha256, file, first_captured, list, xlsx_modified, header, rows,"
        " label_date, label_ampm, label_suffix, date, dated_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, '', '', 'label')",
        (pub_id, capture.sha256, capture.file, capture.captured_utc, *_sheet_facts(sheet)))
    _store_rows(conn, pub_id, sheet, raw_json)


def _sheet_facts(sheet: SheetRead) -> tuple[str, str | None, str, int]:
    """What a publication records of its sheet: list, xlsx modified time, header, row count."""
    return (sheet.list_name, sheet.modified_utc, json.dumps(sheet.header, ensure_ascii=False),
            len(sheet.rows))


def _store_rows(conn: sqlite3.Connection, pub_id: str, sheet: SheetRead,
                raw_json: dict[int, str]) -> tuple[list[tuple], list[tuple]]:
    """Insert a sheet's rows and issues; return them as stored."""
    rows = [(pub_id, r.row_number, _cached_json(r.raw, raw_json),
             r.state, r.agency_name, r.name_key, r.agency_type, r.county, r.model,
             r.signed.isoformat() if r.signed else None, r.moa_status, r.moa_url,
             r.addendum_status, r.addendum_url) for r in sheet.rows]
    conn.executemany("INSERT INTO sheet_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    issues = [(pub_id, i.row_number, i.column, i.code, i.raw) for i in sheet.issues]
    issues += [(pub_id, i.row_number, i.column, i.code, i.raw) for r in sheet.rows for i in r.issues]
    conn.executemany("INSERT INTO row_issues VALUES (?,?,?,?,?)", issues)
    return rows, issues


def _cached_json(raw: dict[str, object], cache: dict[int, str]) -> str:
    text = cache.get(id(raw))
    if text is None:
        text = cache[id(raw)] = json.dumps(raw, default=_json_default, ensure_ascii=False)
    return text


def _json_default(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


def _store_capture(conn: sqlite3.Connection, capture: Capture) -> None:
    conn.execute("INSERT OR IGNORE INTO captures VALUES (?, ?, ?, ?, ?)",
                 (capture.sha256[:12], capture.file, capture.folder, capture.captured_utc,
                  capture.source))


FOLD_VERSION = "1"  # bump when derivation rules change: stored histories are then rebuilt


def update_history(conn: sqlite3.Connection, resolver: AgencyResolver, fingerprint: str,
                   fresh: dict[str, list[RowIn]]) -> str:
    """Bring the derived tables up to date; return 'full', 'append' or 'unchanged'.

    When every new publication is newer than all stored ones (the usual case: ICE
    published an update) and the rules are unchanged, the fold goes on from the stored
    derived tables; otherwise it is replayed from the first publication. Both give the
    same tables (a test ingests in shuffled order to prove it). ``fresh`` holds the rows
    of the publications this ingest stored, so that they need not be read back.
    """
    new_ids = set(fresh)
    stored = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT id, first_captured, seq FROM publications")}
    publications = _date_publications(conn)
    fingerprint = f"{FOLD_VERSION}:{fingerprint}"
    previous = conn.execute("SELECT value FROM meta WHERE key = 'fold'").fetchone()
    old = [p for p in publications if p.id not in new_ids]
    new = [p for p in publications if p.id in new_ids]
    unchanged_old = all(stored[p.id][0] == _first_captured(conn, p.id) for p in old)
    appendable = (previous is not None and previous[0] == fingerprint and unchanged_old
                  and (not old or not new or min(p.order for p in new) > max(p.order for p in old)))
    if appendable and not new:
        return "unchanged"
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('fold', ?)", (fingerprint,))
    if appendable:
        fold = _restore_fold(conn, resolver, {p.id: p for p in old})
        identities = [i for pub in new for i in fold.add(pub, fresh[pub.id])]
        _write_derived(conn, fold.finish(), identities, replace_identities=False)
        return "append"
    rows = load_rows(conn, [p.id for p in old]) | fresh
    derived, identities = derive(publications, rows, resolver)
    _write_derived(conn, derived, identities, replace_identities=True)
    return "full"


def _first_captured(conn: sqlite3.Connection, publication_id: str) -> str | None:
    row = conn.execute("SELECT first_captured FROM publications WHERE id = ?",
                       (publication_id,)).fetchone()
    return row[0] if row else None


def load_rows(conn: sqlite3.Connection, publication_ids: list[str] | None) -> dict[str, list[RowIn]]:
    where, params = "", ()
    if publication_ids is not None:
        where = f" WHERE publication_id IN ({','.join('?' * len(publication_ids))})"
        params = tuple(publication_ids)
    rows: dict[str, list[RowIn]] = defaultdict(list)
    for r in conn.execute(
            "SELECT publication_id, row_number, state, agency_name, name_key, agency_type,"
            " county, model, signed, moa_url, addendum_url FROM sheet_rows"
            f"{where} ORDER BY publication_id, row_number", params):
        key = RowKey(r[2], r[3], r[4], r[5], r[6], r[7], _date(r[8]))
        rows[r[0]].append(RowIn(r[0], r[1], key, r[9], r[10]))
    return rows


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _restore_fold(conn: sqlite3.Connection, resolver: AgencyResolver,
                  pubs: dict[str, PubIn]) -> HistoryFold:
    """Rebuild the fold's state from the derived tables, to go on with newer publications."""
    for r in conn.execute("SELECT * FROM agencies ORDER BY rowid"):
        resolver.agencies[r["agency_id"]] = AgencyRecord(
            r["agency_id"], r["state"], r["name_key"], r["name"], r["agency_type"], r["county"],
            r["first_seen"], r["last_seen"])
        resolver.by_key[(r["state"], r["name_key"])] = r["agency_id"]
    for r in conn.execute("SELECT * FROM agency_names ORDER BY rowid"):
        resolver.names[(r["agency_id"], r["spelling"])] = NameRecord(*tuple(r))
        resolver.keys_seen.setdefault(r["agency_id"], set()).add(r["name_key"])
        resolver.by_key[(resolver.agencies[r["agency_id"]].state, r["name_key"])] = r["agency_id"]
    resolver.merges.extend(Merge(*tuple(r)) for r in conn.execute(
        "SELECT * FROM identity_merges ORDER BY rowid"))
    fold = HistoryFold(resolver)
    for r in conn.execute("SELECT * FROM agreements ORDER BY rowid"):
        fold.agreements[r["agreement_id"]] = Agreement(
            r["agreement_id"], r["agency_id"], r["model"], _date(r["signed"]),
            _date(r["signed_first"]), r["first_seen"], r["last_seen"], r["status"], r["moa_url"],
            r["addendum_url"], r["moa_first_linked"], r["succeeded_by"])
    for r in conn.execute("SELECT * FROM pending_entries ORDER BY rowid"):
        status = "pending" if r["status"] == "withdrawn" else r["status"]
        fold.pending[r["pending_id"]] = PendingEntry(
            r["pending_id"], r["agency_id"], r["model"], r["first_seen"], r["last_seen"],
            pubs[r["first_seen"]].label_date, status, r["agreement_id"], r["days_pending"])
    fold.events = [
        Event(r["kind"], r["list"], _date(r["date"]), r["agency_id"], r["state"], r["before_pub"],
              r["after_pub"], r["agreement_id"], r["pending_id"], r["model"], json.loads(r["details"]))
        for r in conn.execute("SELECT * FROM events WHERE kind != 'pending_withdrawn' ORDER BY seq")]
    fold.departures = [Departure(r[0], r[1], r[2], _date(r[3])) for r in conn.execute(
        "SELECT pending_id, publication_id, before_pub, date FROM pending_departures ORDER BY rowid")]
    for list_name in ("participating", "pending"):
        latest = max((p for p in pubs.values() if p.list_name == list_name),
                     key=lambda p: p.order, default=None)
        fold.prev[list_name] = latest
        if latest is None:
            continue
        printed: dict[str, set] = defaultdict(set)
        for r in conn.execute(
                "SELECT i.agency_id, r.model, r.signed, i.agreement_id, i.pending_id"
                " FROM row_identities i JOIN sheet_rows r USING (publication_id, row_number)"
                " WHERE i.publication_id = ? AND i.agency_id IS NOT NULL", (latest.id,)):
            printed[r[0]].add((r[1], _date(r[2])))
            if r[3]:
                fold.active[r[3]] = fold.agreements[r[3]]
            if r[4]:
                fold.on_pending.add(r[4])
        fold.prev_printed[list_name] = dict(printed)
    return fold


_LIST_RANK = {"pending": 0, "participating": 1}


@dataclass(frozen=True, slots=True)
class _Dated:
    pub: PubIn
    label: labels.FileLabel
    captured: str


def dated_publications(conn: sqlite3.Connection) -> list[PubIn]:
    """Every stored publication in history order, dated by the ICE label of its earliest
    capture (else that capture's date). Read-only: exports replay the fold from it."""
    return [d.pub for d in _dated(conn)]


def _dated(conn: sqlite3.Connection) -> list[_Dated]:
    earliest: dict[str, tuple[str, str]] = {}
    for pub_id, file, captured in conn.execute(
            "SELECT publication_id, file, captured_utc FROM captures ORDER BY captured_utc, file"):
        earliest.setdefault(pub_id, (file, captured))
    # Web rosters are dated by the as-of date their caption printed (else their capture).
    sources = {r[0]: dt.date.fromisoformat(r[1]) for r in conn.execute(
        "SELECT publication_id, as_of FROM publication_sources")}
    dated = []
    for (pub_id, list_name) in conn.execute("SELECT id, list FROM publications"):
        file, captured = earliest[pub_id]
        label = labels.parse_file_name(file)
        day = label.date or sources.get(pub_id) or dt.date.fromisoformat(captured[:10])
        # Ties (one label, one capture) put pending before participating, so that a
        # participating sheet arriving after its companion pending sheet still appends.
        order = (label.order if label.date else (day.toordinal(), 1, "")) + (
            captured, _LIST_RANK[list_name], pub_id)
        source = "web" if pub_id in sources else "sheet"
        dated.append(_Dated(PubIn(pub_id, list_name, file, day, order, source), label, captured))
    return sorted(dated, key=lambda d: d.pub.order)


def _date_publications(conn: sqlite3.Connection) -> list[PubIn]:
    """Store each publication's date, label and order number within its list."""
    seq: dict[str, int] = defaultdict(int)
    dated = _dated(conn)
    dated_by = dict(conn.execute("SELECT publication_id, dated_by FROM publication_sources"))
    for d in dated:
        seq[d.pub.list_name] += 1
        conn.execute(
            "UPDATE publications SET file = ?, label_date = ?, label_ampm = ?, label_suffix = ?,"
            " date = ?, dated_by = ?, first_captured = ?, seq = ? WHERE id = ?",
            (d.pub.file, _iso(d.label.date), d.label.ampm, d.label.suffix, d.pub.label_date.isoformat(),
             "label" if d.label.date else dated_by.get(d.pub.id, "capture"), d.captured,
             seq[d.pub.list_name], d.pub.id))
    return [d.pub for d in dated]


_DERIVED_TABLES = ("events", "pending_departures", "pending_entries", "agreements", "agency_names",
                   "identity_merges", "agencies")  # children before parents


def _write_derived(conn: sqlite3.Connection, derived: Derived, identities: list[IdentityRow], *,
                   replace_identities: bool) -> None:
    for table in _DERIVED_TABLES:
        conn.execute(f"DELETE FROM {table}")
    if replace_identities:
        conn.execute("DELETE FROM row_identities")
    resolver = derived.resolver
    conn.executemany("INSERT INTO agencies VALUES (?,?,?,?,?,?,?,?)", [
        (a.agency_id, a.state, a.name, a.name_key, a.agency_type, a.county, a.first_seen,
         a.last_seen) for a in resolver.agencies.values()])
    conn.executemany("INSERT INTO agency_names VALUES (?,?,?,?,?,?,?,?)", [
        (n.agency_id, n.spelling, n.name_key, n.tier, n.reason, n.first_seen, n.last_seen, n.rows)
        for n in resolver.names.values()])
    conn.executemany("INSERT INTO identity_merges VALUES (?,?,?,?,?,?)", [
        (m.agency_id, m.name_key, m.merged_into_key, m.tier, m.reason, m.publication_id)
        for m in resolver.merges])
    conn.executemany("INSERT INTO agreements VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [
        (a.agreement_id, a.agency_id, a.model, _iso(a.signed), _iso(a.signed_first), a.first_seen,
         a.last_seen, a.status, a.moa_url, a.addendum_url, a.moa_first_linked, a.succeeded_by)
        for a in derived.agreements.values()])
    conn.executemany("INSERT INTO pending_entries VALUES (?,?,?,?,?,?,?,?)", [
        (p.pending_id, p.agency_id, p.model, p.first_seen, p.last_seen, p.status, p.agreement_id,
         p.days_pending) for p in derived.pending.values()])
    conn.executemany("INSERT INTO pending_departures VALUES (?,?,?,?)", [
        (d.pending_id, d.publication_id, d.before_pub, _iso(d.date)) for d in derived.departures])
    conn.executemany("INSERT INTO row_identities VALUES (?,?,?,?,?)", identities)
    conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", [
        (e.event_id, seq, e.kind, e.list_name, _iso(e.date), e.state, e.agency_id,
         e.agreement_id, e.pending_id, e.model, e.before_pub, e.after_pub,
         json.dumps(e.details, sort_keys=True)) for seq, e in enumerate(derived.events, 1)])


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
