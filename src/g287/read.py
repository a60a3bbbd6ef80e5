"""Read one ICE 287(g) sheet (bytes) into rows with raw and normalized values.

Pure: the caller supplies the bytes and the file name. Column order, header
spellings and extra or missing columns vary between publications, so columns are
found by their header text; every cell's raw value is kept beside its normalized
value, and every repair or unreadable value becomes a :class:`RowIssue`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from g287 import normalize as nz
from g287.errors import BadInput
from g287.labels import FileLabel, parse_file_name
from g287.text import has_control
from g287.xlsx import Worksheet, read_worksheet

# Canonical column -> accepted header spellings (letters only, upper case).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "STATE": ("STATE", "ST", "STATENAME"),
    "AGENCY": ("LAWENFORCEMENTAGENCY", "LAWENFORCEMENTAGENCYNAME", "AGENCY", "AGENCYNAME",
               "LEA", "LAWENFORCEMENTAGENCIES"),
    "TYPE": ("TYPE", "AGENCYTYPE", "TYPEOFAGENCY"),
    "COUNTY": ("COUNTY", "COUNTYNAME", "COUNTIES"),
    "SUPPORT": ("SUPPORTTYPE", "SUPPORT", "MODEL", "GMODEL", "PROGRAMMODEL", "SUPPORTTYPES"),
    "SIGNED": ("SIGNED", "DATESIGNED", "SIGNEDDATE", "SIGNATUREDATE", "MOASIGNED", "SIGNEDON"),
    "MOA": ("MOA", "MOALINK", "MEMORANDUMOFAGREEMENT", "MOAS"),
    "ADDENDUM": ("ADDENDUM", "ADDENDUMLINK", "ADDENDA", "ADDENDUMS"),
}
_ALIAS_TO_COLUMN = {alias: col for col, aliases in HEADER_ALIASES.items() for alias in aliases}
REQUIRED = ("STATE", "AGENCY", "SUPPORT")
# Bump when a change to reading or normalization changes what is stored for a sheet;
# ``g287 qa`` then flags histories read by an older version and ``g287 rebuild`` re-reads them.
READER_VERSION = "3"  # 2: placeholder text read as missing; 3: signing dates bounded by the
# later of the label and the workbook's save time; Wayback addresses unwrapped
_HEADER_SEARCH_ROWS = 15
_VALUE_COLUMNS = ("STATE", "AGENCY", "TYPE", "COUNTY", "SUPPORT", "SIGNED")


class SheetError(BadInput):
    """The workbook is readable but is not an ICE 287(g) sheet we can use."""


@dataclass(frozen=True, slots=True)
class RowIssue:
    """A data problem found in one cell: kept as data, shown by ``g287 qa``."""

    row_number: int | None
    column: str | None
    code: str
    raw: str | None = None


@dataclass(slots=True)
class SheetRow:
    """One data row: raw cells as printed, and their normalized readings."""

    row_number: int
    raw: dict[str, Any]
    state: str | None
    agency_name: str
    name_key: str
    agency_type: str | None
    county: str | None
    model: str | None
    signed: dt.date | None
    moa_status: str | None
    moa_url: str | None
    addendum_status: str | None
    addendum_url: str | None
    issues: list[RowIssue] = field(default_factory=list)
    raw_json: str = ""    # ``raw`` as stored: JSON, made once per distinct row


@dataclass(slots=True)
class SheetRead:
    """Everything read from one sheet file."""

    file_name: str
    list_name: str
    label: FileLabel
    header: list[str]
    columns: dict[str, int]
    rows: list[SheetRow]
    issues: list[RowIssue]
    modified_utc: str | None


def header_key(text: object) -> str:
    """Fold a header cell to letters only, upper case (``Support  Type`` → ``SUPPORTTYPE``)."""
    return re.sub(r"[^A-Z]", "", nz.clean_text(text).upper())


def find_header(sheet: Worksheet) -> tuple[int, dict[str, int], list[str]]:
    """Locate the header row: the first row naming at least STATE and the agency."""
    for index, (_, values) in enumerate(sheet.rows[:_HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for col, value in enumerate(values):
            name = _ALIAS_TO_COLUMN.get(header_key(value))
            if name and name not in columns:
                columns[name] = col
        if "STATE" in columns and "AGENCY" in columns:
            header = [nz.clean_text(v) for v in values]
            while header and not header[-1]:
                header.pop()
            return index, columns, header
    raise SheetError("no header row naming STATE and LAW ENFORCEMENT AGENCY in the first "
                     f"{_HEADER_SEARCH_ROWS} rows")


def detect_list(file_name: str, columns: dict[str, int]) -> tuple[str, list[RowIssue]]:
    """Decide participating vs pending from the file name, else from the headers. A sheet
    named participating without SIGNED and MOA columns is the pending list under the other
    name (ICE swapped its two files on 2025-09-22): its columns win, flagged."""
    by_headers = "participating" if ("SIGNED" in columns or "MOA" in columns) else "pending"
    by_name = parse_file_name(file_name).list_name
    if by_name is None:
        return by_headers, [RowIssue(None, None, "list_from_headers", file_name)]
    if by_name != by_headers:
        return by_name if by_name == "pending" else by_headers, [
            RowIssue(None, None, "list_headers_disagree", file_name)]
    return by_name, []


def read_sheet(content: bytes, file_name: str) -> SheetRead:
    """Read an ICE sheet given as bytes; raise WorkbookError/SheetError if unusable."""
    sheet = read_worksheet(content)
    header_index, columns, header = find_header(sheet)
    list_name, issues = detect_list(file_name, columns)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise SheetError(f"header lacks required column(s) {', '.join(missing)}")
    expected = ("TYPE", "COUNTY") + (("SIGNED", "MOA") if list_name == "participating" else ())
    issues += [RowIssue(None, col, "column_missing") for col in expected if col not in columns]
    known = set(columns.values())
    extras = {col: name for col, name in enumerate(header) if col not in known and name}
    issues += [RowIssue(None, name, "column_extra") for name in extras.values()]
    label = parse_file_name(file_name)
    published = latest_possible(label.date, sheet.modified_utc)
    layout = _Layout(tuple(columns.items()), tuple(extras.items()))
    errors_by_row: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for (row, col), value in sheet.errors.items():
        errors_by_row[row].append((col, value))
    links_by_row: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for (row, col), target in sheet.hyperlinks.items():
        links_by_row[row].append((col, target))
    rows = []
    for number, values in sheet.rows[header_index + 1:]:
        reading = _reading(tuple(values), tuple(sorted(errors_by_row.get(number, ()))),
                           tuple(sorted(links_by_row.get(number, ()))), layout)
        if reading.has_content:
            rows.append(_sheet_row(number, reading, published))
    return SheetRead(file_name, list_name, label, header, columns, rows, issues,
                     sheet.modified_utc)


def latest_possible(label: dt.date | None, modified_utc: str | None) -> dt.date | None:
    """The latest day a sheet can describe, which bounds its signing dates: its label's
    date, or the day the workbook was last saved when that is later (a label a year early,
    ``01052025`` on a January 2026 list, must not discard the year's signing dates)."""
    saved = dt.date.fromisoformat(modified_utc[:10]) if modified_utc else None
    return max((d for d in (label, saved) if d), default=None)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a sheet's columns are: canonical name -> index, and extra headers by index."""

    columns: tuple[tuple[str, int], ...]
    extras: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class _Reading:
    """The normalized reading of one row's cells, wherever and however often it is printed.

    Consecutive publications reprint most rows unchanged (15,468 rows in the archive,
    1,939 distinct), so each distinct row is read and serialized once (``raw_json`` travels
    with the reading, never looked up by the identity of a dict that may be gone); :func:`_sheet_row` makes the
    :class:`SheetRow` from ``fields`` (``raw`` … ``model``, with ``raw`` shared, not
    copied) and ``documents`` (``moa_status`` … ``addendum_url``). The signing date is read
    per sheet, as its plausibility depends on the sheet's date.
    """

    has_content: bool
    has_signed: bool
    raw_json: str
    signed: object        # the SIGNED cell, None when it held a placeholder
    fields: tuple
    documents: tuple
    issues_before_signed: tuple[tuple[str, str, str | None], ...]  # (column, code, raw) issues
    issues_after_signed: tuple[tuple[str, str, str | None], ...]


@lru_cache(maxsize=65536)
def _reading(values: tuple[object, ...], errors: tuple[tuple[int, str], ...],
             links: tuple[tuple[int, str], ...], layout: _Layout) -> _Reading:
    error_at, link_at = dict(errors), dict(links)

    def cell(col: int | None) -> object:
        if col is None:
            return None
        if col + 1 in error_at:
            return error_at[col + 1]
        return values[col] if col < len(values) else None

    columns = dict(layout.columns)
    raw = {name: cell(col) for name, col in layout.columns}
    raw.update({name: cell(col) for col, name in layout.extras if cell(col) not in (None, "")})
    moa_col, add_col = columns.get("MOA"), columns.get("ADDENDUM")
    moa_link = link_at.get(moa_col + 1) if moa_col is not None else None
    add_link = link_at.get(add_col + 1) if add_col is not None else None
    if moa_link:
        raw["MOA_HYPERLINK"] = moa_link
    if add_link:
        raw["ADDENDUM_HYPERLINK"] = add_link
    issues: list[tuple[str, str, str | None]] = []
    # Placeholder text (``#N/A``, ``TBD``, ``-``, blank-looking unicode) is a missing value:
    # kept in ``raw`` as printed, flagged, and never read as a name, state or date.
    given = dict(raw)
    for name in _VALUE_COLUMNS:
        if nz.placeholder(raw.get(name)):
            given[name] = None
            if name != "COUNTY":  # a missing county is flagged county_missing below
                issues.append((name, "placeholder", _text(raw.get(name))))

    def note(column: str, result: nz.Normalized) -> object:
        if result.flag:
            issues.append((column, result.flag, _text(raw.get(column))))
        return result.value

    state = note("STATE", nz.state_code(given.get("STATE")))
    agency = nz.display_name(given.get("AGENCY"))
    if not agency:
        issues.append(("AGENCY", "agency_missing", None))
    elif agency != nz.clean_text(agency) or str(raw.get("AGENCY")) != agency:
        issues.append(("AGENCY", "agency_spacing", _text(raw.get("AGENCY"))))
    issues += [(name, "control_characters", _text(value)) for name, value in raw.items()
               if isinstance(value, str) and has_control(value)]
    kind = note("TYPE", nz.agency_type(given.get("TYPE"))) if "TYPE" in columns else None
    county = nz.county_text(given.get("COUNTY"))
    if "COUNTY" in columns and county is None:
        issues.append(("COUNTY", "county_missing", _text(raw.get("COUNTY"))))
    model = note("SUPPORT", nz.support_model(given.get("SUPPORT")))
    issues_before_signed = tuple(issues)
    issues.clear()
    moa = nz.document_link(raw.get("MOA"), moa_link) if moa_col is not None else None
    addendum = nz.document_link(raw.get("ADDENDUM"), add_link) if add_col is not None else None
    for column, link in (("MOA", moa), ("ADDENDUM", addendum)):
        if link and link.flag:
            issues.append((column, link.flag, _text(raw.get(column))))
    has_content = bool(errors) or any(v not in (None, "") and nz.clean_text(v) for v in values)
    documents = (moa.status, moa.url) if moa else (None, None)
    documents += (addendum.status, addendum.url) if addendum else (None, None)
    return _Reading(has_content, "SIGNED" in columns, raw_json(raw), given.get("SIGNED"),
                    (raw, state, agency, nz.name_key(agency), kind, county, model), documents,
                    issues_before_signed, tuple(issues))


def _sheet_row(number: int, reading: _Reading, published: dt.date | None) -> SheetRow:
    issues = [RowIssue(number, column, code, raw) for column, code, raw in reading.issues_before_signed]
    raw, signed = reading.fields[0], None
    if reading.has_signed:
        result = nz.signed_date(reading.signed, published)
        signed = result.value
        if result.flag and not (result.flag == "signed_missing" and raw.get("SIGNED")):
            issues.append(RowIssue(number, "SIGNED", result.flag, _text(raw.get("SIGNED"))))
    issues += [RowIssue(number, column, code, raw) for column, code, raw in reading.issues_after_signed]
    return SheetRow(number, *reading.fields, signed, *reading.documents, issues, reading.raw_json)


def raw_json(raw: dict[str, Any]) -> str:
    """The stored JSON of a row's raw cells (dates as ISO text)."""
    return json.dumps(raw, default=_json_default, ensure_ascii=False)


def _json_default(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)
