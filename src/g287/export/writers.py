"""Write exported tables as CSV, Parquet, XLSX or SQLite, deterministically.

No timestamps go inside the files, rows come sorted by key, and text cells that a
spreadsheet would run as a formula (starting with = + - @, tab or CR) are neutralized.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from g287.export.dictionary import TABLES, Table

Rows = list[dict[str, object]]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FIXED_TIME = dt.datetime(2000, 1, 1)  # workbook properties: a constant, for identical bytes
_ARROW = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
          "date": pa.date32(), "boolean": pa.bool_()}
_SQL = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "date": "TEXT", "boolean": "INTEGER"}


def safe_text(value: object) -> object:
    """Prefix a quote to text a spreadsheet would treat as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(table: Table, rows: Rows) -> str:
    """One table as UTF-8 CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in rows:
        writer.writerow(["" if row[c] is None else safe_text(row[c]) for c in table.column_names])
    return buffer.getvalue()


def write_csv(path: Path, table: Table, rows: Rows) -> None:
    path.write_text(csv_text(table, rows), encoding="utf-8")


def arrow_table(table: Table, rows: Rows) -> pa.Table:
    """Rows as an Arrow table with the dictionary's types."""
    schema = pa.schema([pa.field(c.name, _ARROW[c.type], metadata={"description": c.description})
                        for c in table.columns], metadata={"description": table.description})
    columns = {}
    for column in table.columns:
        values = [row[column.name] for row in rows]
        if column.type == "date":
            values = [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values]
        columns[column.name] = values
    return pa.Table.from_pydict(columns, schema=schema)


def write_parquet(path: Path, table: Table, rows: Rows) -> None:
    pq.write_table(arrow_table(table, rows), path, compression="zstd")


def write_xlsx(path: Path, tables: dict[str, Rows]) -> None:
    """One workbook, a sheet per table; text always written as text, never as a formula."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False})
    book.set_properties({"title": "g287: 287(g) history", "created": FIXED_TIME})
    bold = book.add_format({"bold": True})
    for name, rows in tables.items():
        table = TABLES[name]
        sheet = book.add_worksheet(name[:31])
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, column.name, bold)
        for r, row in enumerate(rows, start=1):
            for col, column in enumerate(table.columns):
                value = row[column.name]
                if value is None:
                    continue
                if column.type in ("integer", "number") and not isinstance(value, str):
                    sheet.write_number(r, col, value)
                else:
                    sheet.write_string(r, col, str(value))
        sheet.freeze_panes(1, 0)
    book.close()


def write_sqlite(path: Path, tables: dict[str, Rows]) -> None:
    """A SQLite file with a ``_metadata`` table of descriptions, and a Datasette
    ``metadata.json`` beside it."""
    if path.exists():
        path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("CREATE TABLE _metadata (table_name TEXT, column_name TEXT, type TEXT, description TEXT)")
    for name, rows in tables.items():
        table = TABLES[name]
        columns = ", ".join(f'"{c.name}" {_SQL[c.type]}' for c in table.columns)
        conn.execute(f'CREATE TABLE "{name}" ({columns}, PRIMARY KEY ({", ".join(table.key)}))')
        conn.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(table.columns))})',
                         [tuple(row[c] for c in table.column_names) for row in rows])
        conn.execute("INSERT INTO _metadata VALUES (?, NULL, 'table', ?)", (name, table.description))
        conn.executemany("INSERT INTO _metadata VALUES (?, ?, ?, ?)",
                         [(name, c.name, c.type, c.description) for c in table.columns])
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    path.with_name("metadata.json").write_text(json.dumps(datasette_metadata(tables), indent=2) + "\n")


def datasette_metadata(tables: dict[str, Rows]) -> dict[str, object]:
    """Datasette's metadata: table and column descriptions, source and license."""
    return {"title": "g287: a history of ICE's 287(g) agreements",
            "source": "ICE 287(g) participating and pending agency sheets",
            "source_url": "https://www.ice.gov/identify-and-arrest/287g",
            "license": "CC0 1.0", "license_url": "https://creativecommons.org/publicdomain/zero/1.0/",
            "databases": {"g287": {"tables": {
                name: {"description": TABLES[name].description,
                       "columns": {c.name: c.description for c in TABLES[name].columns}}
                for name in tables}}}}
