"""Transcriptions of ICE's 287(g) web table (2021 – February 2025) as captured by the Wayback Machine.

Before ICE linked two spreadsheets (February 2025), its 287(g) page showed the list as an HTML
table. A community project transcribed each Wayback capture of that page into an xlsx named
for the capture (``…-YYYYMMDDhhmmss.xlsx``): STATE, LAW ENFORCEMENT AGENCY, SUPPORT TYPE,
SIGNED (text), MOA (the Wayback address of the PDF). These are transcriptions of archived
pages, not ICE's files: no TYPE, no COUNTY, and the bytes are the transcriber's.

A sheet is recognised by what it holds, not by its name: a capture whose MOA cells are
Wayback addresses typed as text (ICE's own sheets carry ``link`` with a hyperlink to ice.gov).
Its content is its rows with the Wayback prefix of each link removed (the prefix names the
capture, so it changes with every capture of an unchanged page): captures of an unchanged
table are one publication seen again. Pure: a :class:`~g287.read.SheetRead` in, facts out.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace

from g287 import normalize as nz
from g287.read import SheetRead

SOURCE_KIND = "web table transcription"
DATED_BY = "capture"
BASIS = "the Wayback Machine capture time in the file name (the table carried no date)"
# Sheet-level notes that describe the family, not a fault of one capture.
_EXPECTED = {("TYPE", "column_missing"), ("COUNTY", "column_missing")}
_WAYBACK = re.compile(r"https?://web\.archive\.org/web/\d", re.IGNORECASE)


def is_transcription(sheet: SheetRead) -> bool:
    """Whether a sheet is a transcription of an archived web page: MOA cells that are
    Wayback addresses typed as text."""
    return any(isinstance(row.raw.get("MOA"), str) and _WAYBACK.match(row.raw["MOA"].strip())
               for row in sheet.rows)


def content_key(sheet: SheetRead) -> str:
    """The table's content: each row's printed cells, links without their Wayback prefix."""
    content = [[nz.clean_text(row.raw.get(c)) for c in ("STATE", "AGENCY", "SUPPORT", "SIGNED")]
               + [row.moa_url or nz.clean_text(row.raw.get("MOA"))] for row in sheet.rows]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()


def as_transcription(sheet: SheetRead) -> SheetRead:
    """The sheet with the family's expected gaps (no TYPE, no COUNTY) not reported as faults
    of each capture; every row and every row issue kept."""
    return replace(sheet, issues=[i for i in sheet.issues if (i.column, i.code) not in _EXPECTED])
