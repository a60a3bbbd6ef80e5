"""The worksheet XML scans (hyperlinks, error cells) on layouts other than Excel's own.

Excel, xlsxwriter and ICE's files write ``<hyperlink ref=.. r:id=..>`` and
``<Relationship Id=.. Type=.. Target=..>`` in one attribute order, which the reader
matches in one pass; other writers may order, quote or prefix them differently.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from g287.xlsx import read_worksheet
from sheets import PARTICIPATING_HEADER, write_sheet

ROWS = [
    ["TEXAS", "Alpha Police Department", "Municipal", "#N/A", "Task Force Model", dt.date(2025, 1, 2), "link"],
    ["TEXAS", "Beta Sheriff's Office", "County", "Bee", "Jail Enforcement Model", dt.date(2025, 2, 3), "link"],
    ["TEXAS", "Gamma Police Department", "Municipal", "#N/A", "Warrant Service Officer", dt.date(2025, 3, 4),
     "link pending"],
]
LINKS = {(0, 6): "https://www.ice.gov/doclib/a.pdf?x=1&y=2", (1, 6): "https://www.ice.gov/doclib/b.pdf"}


def _rewrite(source: Path, target: Path, sheet_xml, rels_xml) -> Path:
    """Copy an xlsx, passing its worksheet XML and the worksheet's rels through functions."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = sheet_xml(data)
            elif name == "xl/worksheets/_rels/sheet1.xml.rels":
                data = rels_xml(data)
            new.writestr(name, data)
    return target


def _swap_link_attributes(xml: bytes) -> bytes:
    """Put r:id before ref in single quotes; type error cells in single quotes too."""
    xml = xml.replace(b't="e"', b"t='e'")
    return re.sub(rb'<hyperlink ref="([^"]*)" r:id="([^"]*)"/>', rb"<hyperlink r:id='\2' ref='\1'/>", xml)


def _prefix_worksheet(xml: bytes) -> bytes:
    """Bind the main namespace to ``x:``, as some generators do, and reorder error cells."""
    xml = xml.replace(b'<worksheet xmlns="', b'<x:worksheet xmlns:x="')
    xml = re.sub(rb"<(/?)(?!\?|x:worksheet)([a-zA-Z]+)", rb"<\1x:\2", xml)
    xml = xml.replace(b"</worksheet>", b"</x:worksheet>")
    return re.sub(rb'<x:c r="([A-Z]+\d+)" t="e">', rb'<x:c t="e" s="0" r="\1">', xml)


def _reorder_relationships(xml: bytes) -> bytes:
    return re.sub(rb'<Relationship Id="([^"]*)" Type="([^"]*)" Target="([^"]*)"',
                  rb'<Relationship Target="\3" Id="\1" Type="\2"', xml)


@pytest.mark.parametrize("sheet_xml, rels_xml, also_linked", [
    (_swap_link_attributes, _reorder_relationships, {}),
    (_prefix_worksheet, lambda xml: xml, {}),
    (lambda xml: xml.replace(b'ref="G3"', b'ref="G3:G4"'), lambda xml: xml, {(4, 7): LINKS[(1, 6)]}),
])
def test_other_xml_layouts_read_the_same(tmp_path, sheet_xml, rels_xml, also_linked):
    plain = write_sheet(tmp_path / "plain.xlsx", PARTICIPATING_HEADER, ROWS, LINKS)
    expected = read_worksheet(plain.read_bytes())
    assert expected.hyperlinks == {(2, 7): LINKS[(0, 6)], (3, 7): LINKS[(1, 6)]}
    assert expected.errors == {(2, 4): "#N/A", (4, 4): "#N/A"}
    other = read_worksheet(_rewrite(plain, tmp_path / "other.xlsx", sheet_xml, rels_xml).read_bytes())
    assert other.rows == expected.rows
    assert other.errors == expected.errors
    assert other.hyperlinks == expected.hyperlinks | also_linked
