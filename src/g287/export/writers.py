"""Write exported tables as CSV, Parquet, XLSX or SQLite, byte for byte reproducibly.

Nothing that changes between runs goes into a file: rows come sorted (``tables``),
Parquet holds no time (only pyarrow's version in ``created_by``), the workbook's
dates and zip entries are constant, and the SQLite file is copied out with VACUUM
INTO. Text cells a spreadsheet would run as a formula are neutralized in CSV and
written as text, never as formulas, in XLSX.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from g287 import csvfile
from g287.export.dictionary import NOTES, TABLES, Table

Rows = list[dict[str, Any]]

# The workbook's created/modified properties: a constant, so that two builds give the
# same bytes (xlsxwriter already dates every zip entry 1980-01-01).
FIXED_TIME = dt.datetime(2000, 1, 1)
TITLE = "g287: a history of ICE's 287(g) agreements"
_ARROW = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
          "date": pa.date32(), "boolean": pa.bool_()}
_SQL = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "date": "TEXT", "boolean": "INTEGER"}


def write_csv(path: Path, table: Table, rows: Rows) -> None:
    """One table as UTF-8 CSV (no BOM, LF line ends) with a header row."""
    csvfile.write_csv(path, table.column_names, ([row[c] for c in table.column_names] for row in rows))


def arrow_schema(table: Table) -> pa.Schema:
    """The table's explicit Arrow schema, descriptions kept as field metadata."""
    return pa.schema([pa.field(c.name, _ARROW[c.type], nullable=c.name not in table.key,
                               metadata={"description": c.description})
                      for c in table.columns], metadata={"description": table.description})


def arrow_table(table: Table, rows: Rows) -> pa.Table:
    """Rows as an Arrow table of the dictionary's types (ISO date text becomes dates)."""
    columns = {}
    for column in table.columns:
        values = [row[column.name] for row in rows]
        if column.type == "date":
            values = [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values]
        columns[column.name] = values
    return pa.Table.from_pydict(columns, schema=arrow_schema(table))


def write_parquet(path: Path, table: Table, rows: Rows) -> None:
    """One table as Parquet (zstd), with its schema and descriptions."""
    pq.write_table(arrow_table(table, rows), path, compression="zstd")


def write_xlsx(path: Path, tables: dict[str, Rows]) -> None:
    """One workbook, a sheet per table and a last sheet describing the columns.

    Every text goes through ``write_string``, so a cell is never a formula; dates are
    real dates, numbers real numbers.
    """
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"title": TITLE, "created": FIXED_TIME})
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in tables.items():
        table = TABLES[name]
        sheet = book.add_worksheet(name[:31])
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, column.name, bold)
        for r, row in enumerate(rows, start=1):
            for col, column in enumerate(table.columns):
                _write_cell(sheet, r, col, column.type, row[column.name], day)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(rows), len(table.columns) - 1)
    _write_dictionary_sheet(book, list(tables), bold)
    book.close()


def _write_cell(sheet: xlsxwriter.worksheet.Worksheet, r: int, col: int, type_: str,
                value: object, day: xlsxwriter.format.Format) -> None:
    if value is None:
        return
    if type_ == "date" and isinstance(value, str):
        sheet.write_datetime(r, col, dt.datetime.fromisoformat(value), day)
    elif type_ in ("integer", "number") and isinstance(value, int | float):
        sheet.write_number(r, col, value)
    elif type_ == "boolean" and isinstance(value, bool):
        sheet.write_boolean(r, col, value)
    else:
        sheet.write_string(r, col, str(value))


def _write_dictionary_sheet(book: xlsxwriter.Workbook, names: list[str],
                            bold: xlsxwriter.format.Format) -> None:
    sheet = book.add_worksheet("dictionary")
    lines = [("table", "column", "type", "description", "derived from")]
    for name in names:
        lines.append((name, "", "", TABLES[name].description, ""))
        lines += [(name, c.name, c.type, c.description, c.derivation) for c in TABLES[name].columns]
    lines += [("", "", "", f"{title}: {text}", "") for title, text in NOTES]
    for r, line in enumerate(lines):
        for col, text in enumerate(line):
            sheet.write_string(r, col, text, bold if r == 0 else None)
    sheet.freeze_panes(1, 0)


def write_sqlite(path: Path, tables: dict[str, Rows], metadata: Path | None = None,
                 name: str | None = None) -> None:
    """A SQLite file with declared keys and joins, a ``_metadata`` table of descriptions,
    and Datasette's ``metadata.json`` beside it (or at ``metadata``; ``name``: the database's
    name there when ``path`` is a temporary one).

    The tables are filled in a scratch file and copied out with VACUUM INTO, which
    writes fresh pages in a fixed order: the same rows give the same bytes.
    """
    scratch = path.with_name(path.name + ".tmp")
    for stale in (path, scratch):
        stale.unlink(missing_ok=True)
    conn = sqlite3.connect(scratch)
    try:
        _fill_sqlite(conn, tables)
        conn.commit()
        conn.execute("VACUUM INTO ?", (str(path),))
    finally:
        conn.close()
        scratch.unlink(missing_ok=True)
    described = json.dumps(datasette_metadata(name or path.stem, tables), indent=2,
                           ensure_ascii=False)
    (metadata or path.with_name("metadata.json")).write_text(described + "\n", encoding="utf-8")


def _fill_sqlite(conn: sqlite3.Connection, tables: dict[str, Rows]) -> None:
    conn.execute("CREATE TABLE _metadata (table_name TEXT NOT NULL, column_name TEXT, type TEXT,"
                 " description TEXT NOT NULL, derivation TEXT)")
    for name, rows in tables.items():
        table = TABLES[name]
        columns = [f'"{c.name}" {_SQL[c.type]}' + (
            ' REFERENCES "{}"("{}")'.format(*c.references.split(".")) if c.references else "")
            for c in table.columns]
        key = ", ".join(f'"{k}"' for k in table.key)
        conn.execute(f'CREATE TABLE "{name}" ({", ".join(columns)}, PRIMARY KEY ({key}))')
        conn.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(table.columns))})',
                         [tuple(row[c] for c in table.column_names) for row in rows])
        for column in table.columns:
            if column.references and column.name not in table.key:
                conn.execute(f'CREATE INDEX "{name}_{column.name}" ON "{name}"("{column.name}")')
        conn.execute("INSERT INTO _metadata VALUES (?, NULL, 'table', ?, NULL)", (name, table.description))
        conn.executemany("INSERT INTO _metadata VALUES (?, ?, ?, ?, ?)",
                         [(name, c.name, c.type, c.description, c.derivation) for c in table.columns])


def datasette_metadata(database: str, tables: dict[str, Rows]) -> dict[str, Any]:
    """Datasette's metadata: title, license, source, table and column descriptions."""
    return {"title": TITLE,
            "license": "CC0 1.0", "license_url": "https://creativecommons.org/publicdomain/zero/1.0/",
            "source": "ICE 287(g) participating and pending agency sheets",
            "source_url": "https://www.ice.gov/identify-and-arrest/287g",
            "databases": {database: {"tables": {
                name: {"description": TABLES[name].description,
                       "columns": {c.name: c.description for c in TABLES[name].columns}}
                for name in tables}}}}
