"""Read transcriptions of ICE's archived 287(g) web rosters (2010–2017) into publications.

Before 2018 ICE published no spreadsheet: its fact sheet carried an HTML table of
"mutually signed agreements" under a caption such as "Mutually Signed Agreements (71)
as of 10/29/2010". The Wayback Machine captured that page; a transcription lists one
CSV row per agency per capture (``snapshot_ts``, ``caption``, ``state``, ``agency``,
``support_type``, ``date_signed`` …). Pure: bytes in, one :class:`RosterPublication` per
distinct capture content out, each holding a :class:`~g287.read.SheetRead` so that
storage, identities and the fold treat it like a participating sheet.

A capture's content is its caption and its rows (capture fields left out), so several
captures of an unchanged page are one publication seen again. The publication's raw
bytes are the transcription's own lines for its first capture (header included): read
again, they give the same publication, which is how ``g287 rebuild`` re-reads it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from g287 import normalize as nz
from g287.errors import BadInput
from g287.labels import FileLabel
from g287.read import RowIssue, SheetRead, SheetRow

SOURCE_KIND = "web archive transcription"
# Columns a roster transcription must have. Also read when present: caption, caption_n,
# content_asof, asof_basis, moa_file (and any other column is kept in the raw row).
REQUIRED = ("snapshot_ts", "state", "agency", "support_type", "date_signed")
# What makes two captures the same content: everything but the capture's own fields.
_CONTENT = ("caption", "caption_n", "state", "agency", "support_type", "date_signed", "moa_file")
_CAPTION_DATE = re.compile(r"as\s+of\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE)
_CAPTION_COUNT = re.compile(r"\((\d+)\)")
_STALE = re.compile(r"capture", re.IGNORECASE)


class RosterError(BadInput):
    """A CSV that is not a roster transcription g287 can use; the message names the file."""


@dataclass(frozen=True, slots=True)
class WaybackCapture:
    """One Wayback Machine capture of ICE's page: its timestamp and its lines of the transcription."""

    snapshot_ts: str          # YYYYMMDDhhmmss, as the transcription gives it
    captured_utc: str         # the same instant, ISO-8601 UTC
    file: str                 # the name g287 gives this capture's slice of the transcription
    content: bytes            # the transcription's header and this capture's lines, verbatim


@dataclass(frozen=True, slots=True)
class RosterPublication:
    """One distinct content of ICE's roster page, with every capture that showed it."""

    content_key: str          # sha256 of the content (caption and rows)
    sheet: SheetRead
    caption: str | None       # the heading above the table as printed
    caption_count: int | None # the N of "Mutually Signed Agreements (N)"
    printed_as_of: dt.date | None   # the date in the caption
    as_of: dt.date            # the date the list describes (the publication's date)
    dated_by: str             # 'caption' | 'capture'
    basis: str | None         # the transcription's own words for the as-of rule
    captures: tuple[WaybackCapture, ...]


def is_roster_csv(content: bytes) -> bool:
    """Whether bytes look like a roster transcription (its header names the columns)."""
    try:
        first = content[:4096].decode("utf-8-sig", errors="ignore").splitlines()[0]
    except IndexError:
        return False
    header = {h.strip().lower() for h in next(csv.reader([first]), [])}
    return all(column in header for column in REQUIRED)


_WAYBACK = re.compile(r"web\.archive\.org/web/(\d{14})")


def wayback_addresses(content: bytes) -> dict[str, str]:
    """Wayback addresses listed in a companion CSV (such as the transcription project's
    manifest: any column named ``url``), by the capture timestamp each one names."""
    try:
        rows = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
        found = {}
        for row in rows:
            url = (row.get("url") or "").strip()
            match = _WAYBACK.search(url)
            if match:
                found.setdefault(match.group(1), url)
        return found
    except (UnicodeDecodeError, csv.Error):
        return {}


def capture_file_name(snapshot_ts: str) -> str:
    """The name of one capture's slice of a transcription (how it is cited and served)."""
    return f"ice-287g-factsheet-wayback-{snapshot_ts}.csv"


def read_roster(content: bytes, file_name: str) -> list[RosterPublication]:
    """Read a roster transcription; raise :class:`RosterError` if it cannot be used."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(f"{file_name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    records = _records(text)
    if not records:
        raise RosterError(f"{file_name}: empty file")
    header_line, *lines = records
    header = [h.strip() for h in next(csv.reader([header_line]))]
    columns = {name.lower(): index for index, name in enumerate(header)}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise RosterError(f"{file_name}: not a roster transcription: no column(s) {', '.join(missing)}")
    by_capture: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for number, line in enumerate(lines, start=2):
        values = next(csv.reader([line]), [])
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise RosterError(f"{file_name}: record {number} has {len(values)} fields, "
                              f"the header {len(header)}")
        row = {name: values[index] for name, index in columns.items()}
        stamp = row["snapshot_ts"].strip()
        if _capture_time(stamp) is None:
            raise RosterError(f"{file_name}: record {number}: snapshot_ts {stamp!r} is not "
                              "YYYYMMDDhhmmss")
        by_capture.setdefault(stamp, []).append((line, row))
    publications: dict[str, RosterPublication] = {}
    for stamp in sorted(by_capture):
        members = by_capture[stamp]
        rows = [row for _, row in members]
        key = _content_key(rows)
        capture = WaybackCapture(stamp, _capture_time(stamp), capture_file_name(stamp),
                                 "".join([header_line, *(line for line, _ in members)]).encode("utf-8"))
        known = publications.get(key)
        if known is None:
            publications[key] = _publication(key, header, rows, capture, file_name)
        else:
            publications[key] = _seen_again(known, capture)
    return sorted(publications.values(), key=lambda p: p.captures[0].snapshot_ts)


def _records(text: str) -> list[str]:
    """Split CSV text into records, each with its line ending, quoted newlines kept inside."""
    records, pending = [], ""
    for line in text.splitlines(keepends=True):
        pending += line
        if pending.count('"') % 2 == 0:
            if not pending.endswith(("\n", "\r")):
                pending += "\n"
            records.append(pending)
            pending = ""
    if pending:
        records.append(pending if pending.endswith("\n") else pending + "\n")
    return records


def _capture_time(stamp: str) -> str | None:
    try:
        moment = dt.datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _content_key(rows: list[dict[str, str]]) -> str:
    content = [[row.get(column, "").strip() for column in _CONTENT] for row in rows]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()


def _seen_again(known: RosterPublication, capture: WaybackCapture) -> RosterPublication:
    return RosterPublication(known.content_key, known.sheet, known.caption, known.caption_count,
                             known.printed_as_of, known.as_of, known.dated_by, known.basis,
                             (*known.captures, capture))


def _publication(key: str, header: list[str], rows: list[dict[str, str]],
                 capture: WaybackCapture, file_name: str) -> RosterPublication:
    first = rows[0]
    caption = nz.clean_text(first.get("caption")) or None
    count_text = nz.clean_text(first.get("caption_n"))
    count_match = _CAPTION_COUNT.search(caption or "")
    caption_count = int(count_text) if count_text.isdigit() else (
        int(count_match.group(1)) if count_match else None)
    printed = _caption_date(caption)
    captured = dt.date.fromisoformat(capture.captured_utc[:10])
    as_of, dated_by, basis = _as_of(first, printed, captured, file_name, capture.snapshot_ts)
    # Nothing on a page can be signed after the page was captured; a row signed after the
    # caption's date shows the caption was not updated, so the capture dates the list.
    sheet_rows = [_row(number, row, captured) for number, row in enumerate(rows, start=2)]
    issues: list[RowIssue] = []
    latest = max((r.signed for r in sheet_rows if r.signed), default=None)
    if dated_by == "caption" and latest and latest > as_of:
        as_of, dated_by = captured, "capture"
        issues.append(RowIssue(None, "caption", "caption_date_stale",
                               f"{caption} (a row is signed {latest.isoformat()})"))
    elif printed and dated_by == "capture":
        issues.append(RowIssue(None, "caption", "caption_date_stale", caption))
    if caption is None:
        issues.append(RowIssue(None, "caption", "caption_missing"))
    elif caption_count is not None and caption_count != len(rows):
        issues.append(RowIssue(None, "caption", "caption_count_differs",
                               f"caption says {caption_count}, {len(rows)} rows"))
    label = FileLabel("participating", as_of, None, "")
    sheet = SheetRead(capture.file, "participating", label, header,
                      {name: index for index, name in enumerate(header)}, sheet_rows, issues, None)
    return RosterPublication(key, sheet, caption, caption_count, printed, as_of, dated_by, basis,
                             (capture,))


def _caption_date(caption: str | None) -> dt.date | None:
    match = _CAPTION_DATE.search(caption or "")
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _as_of(first: dict[str, str], printed: dt.date | None, captured: dt.date, file_name: str,
           stamp: str) -> tuple[dt.date, str, str | None]:
    """The date the list describes: the transcription's ``content_asof`` when it gives one
    (with its ``asof_basis``), else the caption's date, else the capture date."""
    basis = nz.clean_text(first.get("asof_basis")) or None
    given = nz.clean_text(first.get("content_asof"))
    if given:
        try:
            day = dt.date.fromisoformat(given)
        except ValueError as exc:
            raise RosterError(f"{file_name}: capture {stamp}: content_asof {given!r} is not "
                              "YYYY-MM-DD") from exc
        by_capture = day == captured and (printed != day or bool(basis and _STALE.search(basis)))
        return day, "capture" if by_capture else "caption", basis
    if printed:
        return printed, "caption", basis
    return captured, "capture", basis


def _row(number: int, raw: dict[str, str], captured: dt.date) -> SheetRow:
    issues: list[RowIssue] = []

    def note(column: str, result: nz.Normalized) -> object:
        if result.flag:
            issues.append(RowIssue(number, column, result.flag, raw.get(column)))
        return result.value

    printed_state = raw.get("state", "")
    state = note("state", nz.state_code(printed_state))
    if state and re.search(r"[^A-Za-z\s.]", printed_state):
        issues.append(RowIssue(number, "state", "state_footnote", printed_state))
    agency = nz.display_name(raw.get("agency"))
    if not agency:
        issues.append(RowIssue(number, "agency", "agency_missing", None))
    model = note("support_type", nz.support_model(raw.get("support_type")))
    signed = note("date_signed", nz.signed_date(_iso_date(raw.get("date_signed")), captured))
    moa_file = nz.clean_text(raw.get("moa_file")) or None
    cells, cells_json = _shared(tuple(raw.items()))
    return SheetRow(number, cells, state, agency, nz.name_key(agency), None, None, model,
                    signed, "named" if moa_file else "none", None, None, None, issues, cells_json)


@lru_cache(maxsize=65536)
def _shared(items: tuple[tuple[str, str], ...]) -> tuple[dict[str, str], str]:
    """One dict and its JSON per distinct raw row, made once, as the sheet reader does."""
    return dict(items), json.dumps(dict(items), ensure_ascii=False)


def _iso_date(text: str | None) -> object:
    """An ISO date as a date (the transcription's format), anything else as printed."""
    cleaned = nz.clean_text(text)
    try:
        return dt.date.fromisoformat(cleaned)
    except ValueError:
        return cleaned or None



@dataclass(frozen=True, slots=True)
class RosterRow:
    """What rename evidence reads of one stored web-roster row."""

    publication_id: str
    state: str
    name_key: str
    spelling: str
    model: str | None
    moa_file: str | None


@dataclass(frozen=True, slots=True)
class Rename:
    """A spelling that replaced another on the web roster, linked by the MOA file name."""

    state: str
    new_key: str
    old_key: str
    reason: str


def moa_stem(file_name: str | None) -> str | None:
    """An MOA file name without extension and trailing date digits, lower case
    (``r_287gprincewilliammanassasregionaljail101509.pdf`` → ``…regionaljail``)."""
    if not file_name:
        return None
    stem = re.sub(r"\.[a-z0-9]{1,5}$", "", file_name.strip().lower())
    stem = re.sub(r"[\d_\-\s]+$", "", stem)
    return stem or None


def renames(publications: list[list[RosterRow]]) -> list[Rename]:
    """Renames on consecutive web-roster publications (oldest first): in one state, a name
    that leaves the list while a never-seen name arrives with the same model and an MOA
    file of the same stem, the stem naming no other agency on either list. Two names for
    one agreement document are one agency; without that evidence they stay apart."""
    found: list[Rename] = []
    seen: set[tuple[str, str]] = set()
    for before, after in zip(publications, publications[1:], strict=False):
        seen |= {(r.state, r.name_key) for r in before}
        keys_before = {(r.state, r.name_key) for r in before}
        keys_after = {(r.state, r.name_key) for r in after}
        stems: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for row in (*before, *after):
            stem = moa_stem(row.moa_file)
            if stem:
                stems.setdefault((row.state, stem), set()).add((row.state, row.name_key))
        for new in after:
            key = (new.state, new.name_key)
            stem = moa_stem(new.moa_file)
            if not stem or key in keys_before or key in seen:
                continue
            named = stems[(new.state, stem)] - {key}
            old = [r for r in before if (r.state, r.name_key) in named]
            if len(named) != 1 or not old or (old[0].state, old[0].name_key) in keys_after \
                    or old[0].model != new.model:
                continue
            found.append(Rename(new.state, new.name_key, old[0].name_key,
                                f"'{new.spelling}' replaced '{old[0].spelling}' on the web roster: "
                                f"same state and model, MOA files {old[0].moa_file} and "
                                f"{new.moa_file}, old name absent from the later list"))
    return found
