"""The one CSV writer: CLI ``--csv``, API downloads and open-data exports.

Cells are formula-safe: spreadsheet programs run text starting with ``=``, ``+``,
``-`` or ``@`` (and tab or carriage return, which some strip first) as a formula, so
a hostile agency name in ICE's sheet could run in a reporter's Excel. Such text gets
a leading ``'``. Numbers stay numbers (``-3`` is written as is). UTF-8, ``\\n`` line
ends, a byte-order mark only when asked (Excel needs it to read UTF-8).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(text: str) -> str:
    """Text a spreadsheet would run as a formula, with a leading ``'``; other text as is."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any) -> str:
    """One value as written to CSV: None empty, containers as JSON, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        value = json.dumps(value, ensure_ascii=False)
    return defuse(str(value))


def iter_csv(header: Sequence[str], rows: Iterable[Iterable[Any]], *, bom: bool = False) -> Iterator[str]:
    """CSV lines (header first), one string per row, for streaming answers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([cell(h) for h in header])
    yield (BOM if bom else "") + take()
    for row in rows:
        writer.writerow([cell(v) for v in row])
        yield take()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Iterable[Any]], *, bom: bool = False) -> Path:
    """Write a CSV file (UTF-8) and return its path."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.writelines(iter_csv(header, rows, bom=bom))
    return path
