"""Write small synthetic ICE-like xlsx files for formats the real archive lacks."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

from g287 import ingest, store

PARTICIPATING_HEADER = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE",
                        "SIGNED", "MOA"]
PENDING_HEADER = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE"]


def write_sheet(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]],
                links: dict[tuple[int, int], str] | None = None,
                saved: dt.datetime | None = None) -> Path:
    """Write one worksheet: ``rows`` below ``header``; cells may be dates, text, numbers,
    or ``"#N/A"`` (written as a real Excel error cell); ``links`` maps (data row index,
    column index) to a hyperlink URL for that cell; ``saved`` is the workbook's save time
    (dcterms:modified; default now)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    if saved:
        book.set_properties({"created": saved})
    sheet = book.add_worksheet("Sheet1")
    dates = book.add_format({"num_format": "m/d/yyyy"})
    for col, name in enumerate(header):
        sheet.write_string(0, col, name)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            url = (links or {}).get((r - 1, c))
            if url:
                sheet.write_url(r, c, url, string=str(value))
            elif value == "#N/A":
                sheet.write_formula(r, c, "=NA()", None, "#N/A")
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), dates)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            elif value is not None:
                sheet.write_number(r, c, value)
    book.close()
    return path


def history_with_agency(folder: Path, name: str, county: str = "Smith County") -> tuple[sqlite3.Connection, str]:
    """A history of one Texas participating sheet naming one agency; returns it and the agency id."""
    path = write_sheet(folder / "sheets_20260101_120000" / "participatingAgencies01012026am.xlsx",
                       PARTICIPATING_HEADER, [["TEXAS", name, "County", county, "Task Force Model",
                                               dt.date(2025, 12, 1), "link pending"]])
    conn = store.connect(folder / "h.sqlite")
    ingest.ingest_paths(conn, [path])
    return conn, conn.execute("SELECT agency_id FROM agencies").fetchone()[0]
