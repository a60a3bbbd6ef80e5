"""Count the data rows of a 287(g) sheet with openpyxl alone (no g287 code): the rows below
the first row naming STATE, skipping rows whose cells are all empty or white space.

    python tests/golden/count_rows.py FILE.xlsx ...
"""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl


def data_rows(path: Path) -> int:
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if any(str(v or "").strip().upper() == "STATE" for v in row))
    return sum(1 for row in rows[start + 1:] if any(str(v).strip() for v in row if v is not None))


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{data_rows(Path(name))}\t{name}")
