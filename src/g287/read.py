"""Read one ICE 287(g) sheet (bytes) into rows with raw and normalized values.

Pure: the caller supplies the bytes and the file name. Column order, header
spellings and extra or missing columns vary between publications, so columns are
found by their header text; every cell's raw value is kept beside its normalized
value, and every repair or unreadable value becomes a :class:`RowIssue`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from g287 import normalize as nz
from g287.labels import FileLabel, parse_file_name
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
_HEADER_SEARCH_ROWS = 15


class SheetError(ValueError):
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
    raw: dict[str, object]
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
    """Decide participating vs pending from the file name, else from the headers."""
    by_headers = "participating" if ("SIGNED" in columns or "MOA" in columns) else "pending"
    by_name = parse_file_name(file_name).list_name
    if by_name is None:
        return by_headers, [RowIssue(None, None, "list_from_headers", file_name)]
    if by_name != by_headers and by_name == "pending":
        return by_name, [RowIssue(None, None, "list_headers_disagree", file_name)]
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
    rows = [
        _read_row(number, values, columns, extras, sheet, label.date)
        for number, values in sheet.rows[header_index + 1:]
        if _has_content(values, number, sheet)
    ]
    return SheetRead(file_name, list_name, label, header, columns, rows, issues,
                     sheet.modified_utc)


def _has_content(values: list[object], row_number: int, sheet: Worksheet) -> bool:
    """A row counts only if some cell holds text, a value, or an error value."""
    if any(v not in (None, "") and nz.clean_text(v) for v in values):
        return True
    return any(r == row_number for r, _ in sheet.errors)


def _cell(values: list[object], col: int | None, row: int, sheet: Worksheet) -> object:
    if col is None:
        return None
    error = sheet.errors.get((row, col + 1))
    if error is not None:
        return error
    return values[col] if col < len(values) else None


def _read_row(number: int, values: list[object], columns: dict[str, int], extras: dict[int, str],
              sheet: Worksheet, published: dt.date | None) -> SheetRow:
    raw = {name: _cell(values, col, number, sheet) for name, col in columns.items()}
    raw.update({name: _cell(values, col, number, sheet) for col, name in extras.items()
                if _cell(values, col, number, sheet) not in (None, "")})
    moa_col, add_col = columns.get("MOA"), columns.get("ADDENDUM")
    moa_link = sheet.hyperlinks.get((number, moa_col + 1)) if moa_col is not None else None
    add_link = sheet.hyperlinks.get((number, add_col + 1)) if add_col is not None else None
    if moa_link:
        raw["MOA_HYPERLINK"] = moa_link
    if add_link:
        raw["ADDENDUM_HYPERLINK"] = add_link

    issues: list[RowIssue] = []

    def note(column: str, result: nz.Normalized) -> object:
        if result.flag:
            issues.append(RowIssue(number, column, result.flag, _text(raw.get(column))))
        return result.value

    state = note("STATE", nz.state_code(raw.get("STATE")))
    agency = nz.display_name(raw.get("AGENCY"))
    if not agency:
        issues.append(RowIssue(number, "AGENCY", "agency_missing"))
    elif agency != nz.clean_text(agency) or str(raw.get("AGENCY")) != agency:
        issues.append(RowIssue(number, "AGENCY", "agency_spacing", _text(raw.get("AGENCY"))))
    kind = note("TYPE", nz.agency_type(raw.get("TYPE"))) if "TYPE" in columns else None
    county = nz.county_text(raw.get("COUNTY"))
    if "COUNTY" in columns and county is None:
        issues.append(RowIssue(number, "COUNTY", "county_missing", _text(raw.get("COUNTY"))))
    model = note("SUPPORT", nz.support_model(raw.get("SUPPORT")))
    signed = (note("SIGNED", nz.signed_date(raw.get("SIGNED"), published))
              if "SIGNED" in columns else None)
    moa = nz.document_link(raw.get("MOA"), moa_link) if moa_col is not None else None
    addendum = nz.document_link(raw.get("ADDENDUM"), add_link) if add_col is not None else None
    for column, link in (("MOA", moa), ("ADDENDUM", addendum)):
        if link and link.flag:
            issues.append(RowIssue(number, column, link.flag, _text(raw.get(column))))
    return SheetRow(
        row_number=number, raw=raw, state=state, agency_name=agency,
        name_key=nz.name_key(agency), agency_type=kind, county=county, model=model,
        signed=signed, moa_status=moa.status if moa else None, moa_url=moa.url if moa else None,
        addendum_status=addendum.status if addendum else None,
        addendum_url=addendum.url if addendum else None, issues=issues,
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)
