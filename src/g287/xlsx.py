"""Low-level access to one xlsx workbook's first worksheet.

Cell values come from calamine (Rust), which reads ICE's sheets about 25 times
faster than openpyxl but drops two things ICE relies on: cell hyperlinks (the MOA
URLs) and error cells (``#N/A`` in COUNTY, which it reads as ''). Both are read
here from the worksheet XML, so nothing printed on the sheet is lost.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

import python_calamine

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_CORE = {"dcterms": "http://purl.org/dc/terms/"}


class WorkbookError(ValueError):
    """The bytes are not a readable xlsx workbook; the message says why."""


@dataclass(slots=True)
class Worksheet:
    """The first worksheet's cells, addressed by 1-based sheet row and column."""

    name: str
    rows: list[tuple[int, list[object]]]  # (sheet row number, values from column 1)
    hyperlinks: dict[tuple[int, int], str] = field(default_factory=dict)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    modified_utc: str | None = None


def column_number(letters: str) -> int:
    """Turn a column name (``G``, ``AA``) into its 1-based number."""
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _cells_in(ref: str) -> list[tuple[int, int]]:
    """Expand ``G5`` or ``G5:G7`` into (row, column) pairs."""
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
    start = sheet_xml.find(b"<hyperlinks")
    if start < 0:
        return {}
    end = sheet_xml.find(b"</hyperlinks>", start)
    if end < 0:
        return {}
    targets: dict[str, str] = {}
    if rels_xml:
        for rel in ElementTree.fromstring(rels_xml).iter(f"{{{_NS_PKG}}}Relationship"):
            targets[rel.get("Id", "")] = rel.get("Target", "")
    section = sheet_xml[start:end + len(b"</hyperlinks>")]
    wrapped = (b'<w xmlns="' + _NS_MAIN.encode() + b'" xmlns:r="' + _NS_REL.encode()
               + b'" xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision">'
               + section + b"</w>")
    links: dict[tuple[int, int], str] = {}
    for link in ElementTree.fromstring(wrapped).iter(f"{{{_NS_MAIN}}}hyperlink"):
        target = targets.get(link.get(f"{{{_NS_REL}}}id", ""))
        if not target:
            continue
        for cell in _cells_in(link.get("ref", "")):
            links[cell] = target
    return links


_ERROR_CELL = re.compile(rb'<c\b([^>]*\bt="e"[^>]*)>(?:<f[^>]*>[^<]*</f>|<f[^>]*/>)?<v>([^<]*)</v>')
_REF_ATTR = re.compile(rb'\br="([A-Z]+\d+)"')


def _error_cells(sheet_xml: bytes) -> dict[tuple[int, int], str]:
    errors: dict[tuple[int, int], str] = {}
    for match in _ERROR_CELL.finditer(sheet_xml):
        ref = _REF_ATTR.search(match.group(1))
        if ref:
            for cell in _cells_in(ref.group(1).decode()):
                errors[cell] = match.group(2).decode()
    return errors


def _modified(core_xml: bytes | None) -> str | None:
    if not core_xml:
        return None
    try:
        node = ElementTree.fromstring(core_xml).find("dcterms:modified", _NS_CORE)
    except ElementTree.ParseError:
        return None
    return node.text.strip() if node is not None and node.text else None
