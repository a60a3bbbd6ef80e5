"""Low-level access to one xlsx workbook's first worksheet.

Cell values come from calamine (Rust), which reads ICE's sheets about 25 times
faster than openpyxl but drops two things ICE relies on: cell hyperlinks (the MOA
URLs) and error cells (``#N/A`` in COUNTY, which it reads as ''). Both are read
here from the worksheet XML, so nothing printed on the sheet is lost.
"""

from __future__ import annotations

import html
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from xml.etree import ElementTree

import python_calamine

from g287.errors import BadInput

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_CORE = {"dcterms": "http://purl.org/dc/terms/"}


class WorkbookError(BadInput):
    """The bytes are not a readable xlsx workbook; the message says why."""


# Bounds on what one workbook may cost to read. ICE's sheets are ~100 KB zipped and
# ~1 MB inflated, ~800 rows of 13 columns; the bounds leave room for sheets a thousand
# times larger and refuse zip bombs and sheets claiming billions of cells, which would
# otherwise exhaust memory (calamine allocates the whole declared range at once).
MAX_PART_BYTES = 256 * 1024 * 1024      # one inflated zip entry
MAX_TOTAL_BYTES = 512 * 1024 * 1024     # all entries inflated
MAX_RATIO = 200                         # inflated / compressed, for entries over 1 MB
MAX_CELLS = 20_000_000                  # rows x columns of the range a sheet spans
MAX_COLUMNS = 16_384                    # Excel's own limits (XFD, 1,048,576)
MAX_ROWS = 1_048_576
# calamine allocates every cell of the rectangle from a sheet's first to its last cell. A
# rectangle of more than SPARSE_CELLS cells holding under 1/SPARSITY of them (a header on
# row 1 and a row near 1,048,576) would cost seconds and hundreds of MB for a few cells.
SPARSE_CELLS = 1_000_000
SPARSITY = 100
_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")


def check_archive(archive: zipfile.ZipFile) -> None:
    """Refuse zip bombs before anything is inflated: each entry's and the whole
    workbook's declared inflated size, and each large entry's compression ratio.
    (Python's zipfile never inflates past a declared size, so declared sizes bound reads.)"""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > MAX_PART_BYTES:
            raise WorkbookError(f"{info.filename} inflates to {info.file_size:,} bytes, more than the "
                                f"{MAX_PART_BYTES:,} g287 reads (a zip bomb?)")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookError(f"{info.filename} inflates {info.file_size // max(info.compress_size, 1):,}"
                                f"-fold, more than the {MAX_RATIO}-fold g287 accepts (a zip bomb?)")
    if total > MAX_TOTAL_BYTES:
        raise WorkbookError(f"the workbook inflates to {total:,} bytes, more than the {MAX_TOTAL_BYTES:,} "
                            "g287 reads (a zip bomb?)")


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
# Any ``r`` attribute (cells' ``r="G5"``, rows' ``r="5"``): a byte scan, no parse. The
# pattern starts with a literal so that the regex engine skips ahead fast.
_REF = re.compile(rb"""r\s*=\s*["']([A-Za-z]{0,4})(\d{1,10})["']""")


def sheet_extent(sheet_xml: bytes) -> tuple[int, int]:
    """(last row, last column) the worksheet addresses, from its cells' and rows' ``r``."""
    refs = _REF.findall(sheet_xml)
    if not refs:
        return 0, 0
    letters, rows = zip(*refs, strict=True)
    last_col = max((column_number(c.decode().upper()) for c in set(letters) if c), default=0)
    return max(map(int, rows)), last_col


def check_extent(sheet_xml: bytes) -> None:
    """Refuse a worksheet whose declared or addressed range is absurd (``XFD1048576``)
    before calamine sees it: it would try to allocate every cell of that range."""
    spans = [sheet_extent(sheet_xml)]
    dimension = _DIMENSION.search(sheet_xml[:4096]) or _DIMENSION.search(sheet_xml)
    if dimension:
        corners = [_CELL_REF.match(part.strip().upper()) for part in dimension.group(1).decode("ascii", "replace")
                   .split(":")]
        last_corner = corners[-1]
        if not all(corners) or last_corner is None:
            raise WorkbookError(f"worksheet dimension {dimension.group(1)[:40]!r} is not a cell range")
        spans.append((int(last_corner.group(2)), column_number(last_corner.group(1))))
    for rows, cols in spans:
        if rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS:
            raise WorkbookError(f"worksheet spans {rows:,} rows x {cols:,} columns, more than the "
                                f"{MAX_CELLS:,} cells g287 reads")
    rows_used = [int(r) for r in re.findall(rb"<(?:\w+:)?row\b[^>]*?\br\s*=\s*[\"'](\d{1,10})[\"']", sheet_xml)]
    if rows_used:
        area = (max(rows_used) - min(rows_used) + 1) * spans[0][1]
        held = len(_CELL.findall(sheet_xml))
        if area > SPARSE_CELLS and area > SPARSITY * held:
            raise WorkbookError(f"worksheet spreads {held:,} cells over rows {min(rows_used):,} to "
                                f"{max(rows_used):,} ({area:,} cells to allocate, more than {SPARSITY} per "
                                "cell it holds)")


@dataclass(slots=True)
class Worksheet:
    """The first worksheet's cells, addressed by 1-based sheet row and column."""

    name: str
    rows: list[tuple[int, list[object]]]  # (sheet row number, values from column 1)
    hyperlinks: dict[tuple[int, int], str] = field(default_factory=dict)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    modified_utc: str | None = None


@lru_cache(maxsize=1024)
def column_number(letters: str) -> int:
    """Turn a column name (``G``, ``AA``) into its 1-based number."""
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _cells_in(ref: str, last: tuple[int, int]) -> list[tuple[int, int]]:
    """Expand ``G5`` or ``G5:G7`` into (row, column) pairs, clipped to the sheet's data
    range ``last`` = (last row, last column): a range can name a million rows."""
    single = _CELL_REF.match(ref)
    if single:
        return [(int(single.group(2)), column_number(single.group(1)))]
    corners = [_CELL_REF.match(part.strip().upper()) for part in ref.split(":")]
    first, final = corners[0], corners[-1]
    if not all(corners) or first is None or final is None:
        return []
    (c1, r1), (c2, r2) = ((m.group(1), m.group(2)) for m in (first, final))
    return [(r, c) for r in range(int(r1), min(int(r2), last[0]) + 1)
            for c in range(column_number(c1), min(column_number(c2), last[1]) + 1)]


def read_worksheet(content: bytes) -> Worksheet:
    """Read the first worksheet of an xlsx file given as bytes."""
    if not content.startswith(b"PK"):
        raise WorkbookError("not an xlsx workbook (not a zip archive)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        check_archive(archive)
        sheet_path = _first_sheet_path(archive)
        sheet_xml = archive.read(sheet_path)
        rels = _read_optional(archive, _rels_path(sheet_path))
        core = _read_optional(archive, "docProps/core.xml")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError, zlib.error,
            NotImplementedError) as exc:
        raise WorkbookError(f"truncated or corrupt xlsx ({exc})") from exc
    except ElementTree.ParseError as exc:
        raise WorkbookError(f"corrupt workbook XML ({exc})") from exc
    check_extent(sheet_xml)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet = book.get_sheet_by_index(0)
        # From the sheet's first cell (``start``), not padded from A1: a sheet whose only row is
        # row 1,000,000 is one row, not a million empty ones.
        values = sheet.to_python(skip_empty_area=True)
    except Exception as exc:  # calamine raises its own untyped errors
        raise WorkbookError(f"unreadable worksheet ({exc})") from exc
    first_row, first_col = (sheet.start or (0, 0)) if values else (0, 0)
    rows: list[tuple[int, list[object]]] = [(first_row + i + 1, [None] * first_col + list(row))
                                            for i, row in enumerate(values)]
    last = (rows[-1][0] if rows else 0, max((len(r) for _, r in rows), default=0))
    return Worksheet(
        name=sheet.name,
        rows=rows,
        hyperlinks=_hyperlinks(sheet_xml, rels, last),
        errors=_error_cells(sheet_xml, last),
        modified_utc=_modified(core),
    )


def _read_optional(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return archive.read(name)
    except KeyError:
        return None


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    first = workbook.find(f"{{{_NS_MAIN}}}sheets/{{{_NS_MAIN}}}sheet")
    if first is None:
        raise WorkbookError("workbook has no worksheet")
    rel_id = first.get(f"{{{_NS_REL}}}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{{{_NS_PKG}}}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    raise WorkbookError("workbook names a worksheet it does not contain")


def _hyperlinks(sheet_xml: bytes, rels_xml: bytes | None, last: tuple[int, int]) -> dict[tuple[int, int], str]:
    """Map cells to their hyperlink targets, scanning the bytes: a worksheet holds
    thousands of these tags and a tree parse of them costs more than calamine's read.
    Excel's own attribute layout is matched in one pass; any other layout is read
    attribute by attribute."""
    start = _HYPERLINKS.search(sheet_xml)
    if start is None or not rels_xml:
        return {}
    end = _HYPERLINKS_END.search(sheet_xml, start.start())
    section = sheet_xml[start.start():end.start() if end else len(sheet_xml)]
    pairs = _REL_FAST.findall(rels_xml)
    if len(pairs) != _tag_count(rels_xml, b"Relationship"):
        pairs = [(a.get(b"Id"), a.get(b"Target", b"")) for a in map(_attrs, _RELATIONSHIP.findall(rels_xml))]
    targets = {rel_id: html.unescape(target.decode("utf-8", errors="replace")) for rel_id, target in pairs}
    refs = _LINK_FAST.findall(section)
    if len(refs) != _tag_count(section, b"hyperlink"):
        refs = [(a.get(b"ref", b""), a.get(b"id")) for a in map(_attrs, _HYPERLINK.findall(section))]
    links: dict[tuple[int, int], str] = {}
    for ref, rel_id in refs:
        target = targets.get(rel_id)
        if target:
            for cell in _cells_in(ref.decode(errors="replace"), last):
                links[cell] = target
    return links


def _tag_count(xml: bytes, name: bytes) -> int:
    """How many ``name`` elements (not ``names`` containers) the bytes hold."""
    return xml.count(name) - xml.count(name + b"s")


_HYPERLINKS = re.compile(rb"<(?:\w+:)?hyperlinks\b")
_HYPERLINKS_END = re.compile(rb"</(?:\w+:)?hyperlinks>")
_REL_FAST = re.compile(rb'<Relationship Id="([^"]*)" Type="[^"]*" Target="([^"]*)"')
_LINK_FAST = re.compile(rb'<hyperlink ref="([^"]*)" r:id="([^"]*)"')
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_HYPERLINK = re.compile(rb"<(?:\w+:)?hyperlink\b([^>]*)>")
# Attribute names without their namespace prefix: r:id -> id (xr:uid stays uid).
_ATTRIBUTE = re.compile(rb"""(?:[\w.-]+:)?([\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attrs(tag: bytes) -> dict[bytes, bytes]:
    return {name: double or single for name, double, single in _ATTRIBUTE.findall(tag)}


_ERROR_TYPE = re.compile(rb"""t\s*=\s*["']e["']""")  # an attribute when after whitespace
_CELL_TAG = re.compile(rb"(?:\w+:)?c\s")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_ERROR_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


def _error_cells(sheet_xml: bytes, last: tuple[int, int]) -> dict[tuple[int, int], str]:
    """Cells typed ``t="e"`` (``#N/A``, ``#REF!``): found from each type attribute back
    to its cell's start, since only a few of a sheet's cells are errors."""
    errors: dict[tuple[int, int], str] = {}
    for typed in _ERROR_TYPE.finditer(sheet_xml):
        if sheet_xml[typed.start() - 1:typed.start()] not in (b" ", b"\t", b"\r", b"\n"):
            continue
        open_at = sheet_xml.rfind(b"<", 0, typed.start())
        close_at = sheet_xml.find(b">", typed.start())
        tag = sheet_xml[open_at + 1:close_at]
        ref = _attrs(tag).get(b"r") if _CELL_TAG.match(tag) and not tag.endswith(b"/") else None
        end = _CELL_END.search(sheet_xml, close_at) if ref else None
        value = _ERROR_VALUE.search(sheet_xml, close_at, end.start()) if end else None
        if ref and value:
            for cell in _cells_in(ref.decode(errors="replace"), last):
                errors[cell] = html.unescape(value.group(1).decode("utf-8", errors="replace"))
    return errors


def _modified(core_xml: bytes | None) -> str | None:
    if not core_xml:
        return None
    try:
        node = ElementTree.fromstring(core_xml).find("dcterms:modified", _NS_CORE)
    except ElementTree.ParseError:
        return None
    return node.text.strip() if node is not None and node.text else None
