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


def _cells_in(ref: str) -> list[tuple[int, int]]:
    """Expand ``G5`` or ``G5:G7`` into (row, column) pairs."""
    single = _CELL_REF.match(ref)
    if single:
        return [(int(single.group(2)), column_number(single.group(1)))]
    corners = [_CELL_REF.match(part.strip().upper()) for part in ref.split(":")]
    if not all(corners):
        return []
    (c1, r1), (c2, r2) = ((m.group(1), m.group(2)) for m in (corners[0], corners[-1]))
    return [(r, c) for r in range(int(r1), int(r2) + 1)
            for c in range(column_number(c1), column_number(c2) + 1)]


def read_worksheet(content: bytes) -> Worksheet:
    """Read the first worksheet of an xlsx file given as bytes."""
    if not content.startswith(b"PK"):
        raise WorkbookError("not an xlsx workbook (not a zip archive)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        sheet_path = _first_sheet_path(archive)
        sheet_xml = archive.read(sheet_path)
        rels = _read_optional(archive, _rels_path(sheet_path))
        core = _read_optional(archive, "docProps/core.xml")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError) as exc:
        raise WorkbookError(f"truncated or corrupt xlsx ({exc})") from exc
    except ElementTree.ParseError as exc:
        raise WorkbookError(f"corrupt workbook XML ({exc})") from exc
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet = book.get_sheet_by_index(0)
        values = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own untyped errors
        raise WorkbookError(f"unreadable worksheet ({exc})") from exc
    first_row, first_col = sheet.start if values else (0, 0)
    rows = [(first_row + i + 1, [None] * first_col + list(row)) for i, row in enumerate(values)]
    return Worksheet(
        name=sheet.name,
        rows=rows,
        hyperlinks=_hyperlinks(sheet_xml, rels),
        errors=_error_cells(sheet_xml),
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


def _hyperlinks(sheet_xml: bytes, rels_xml: bytes | None) -> dict[tuple[int, int], str]:
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
    targets = {rel_id: html.unescape(target.decode("utf-8")) for rel_id, target in pairs}
    refs = _LINK_FAST.findall(section)
    if len(refs) != _tag_count(section, b"hyperlink"):
        refs = [(a.get(b"ref", b""), a.get(b"id")) for a in map(_attrs, _HYPERLINK.findall(section))]
    links: dict[tuple[int, int], str] = {}
    for ref, rel_id in refs:
        target = targets.get(rel_id)
        if target:
            for cell in _cells_in(ref.decode()):
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


def _error_cells(sheet_xml: bytes) -> dict[tuple[int, int], str]:
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
            for cell in _cells_in(ref.decode()):
                errors[cell] = html.unescape(value.group(1).decode("utf-8"))
    return errors


def _modified(core_xml: bytes | None) -> str | None:
    if not core_xml:
        return None
    try:
        node = ElementTree.fromstring(core_xml).find("dcterms:modified", _NS_CORE)
    except ElementTree.ParseError:
        return None
    return node.text.strip() if node is not None and node.text else None
