"""Exports and dated, checksummed releases of the history.

A release folder holds every table as CSV and Parquet, one XLSX workbook, one SQLite
file (with Datasette metadata), a Frictionless ``datapackage.json``, ``CHANGES.md``
against the previous release, and ``SHA256SUMS``. The same history gives the same
bytes: the folder is named for the newest publication, not the clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from g287 import query
from g287.export import writers
from g287.export.dictionary import TABLES
from g287.export.tables import build_tables
from g287.places import geojson

FORMATS = ("csv", "parquet", "xlsx", "sqlite", "geojson")
LICENSE = {"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/",
           "title": "CC0 1.0: the compilation is dedicated to the public domain; ICE's sheets are "
                    "U.S. government works (17 U.S.C. 105)"}
SOURCES = [
    {"title": "ICE 287(g) program page: participating and pending agency sheets",
     "path": "https://www.ice.gov/identify-and-arrest/287g"},
    {"title": "Archive of ICE's sheets captured by appelson/Tracking_287g",
     "path": "https://github.com/appelson/Tracking_287g"},
]


class ExportError(ValueError):
    """An export asked for something the history or format cannot give."""


def export(conn: sqlite3.Connection, fmt: str, output: Path, as_of: dt.date | None = None,
           tables: list[str] | None = None) -> list[Path]:
    """Write tables in one format: a folder of files (csv, parquet) or one file."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "geojson":
        return [_geojson(conn, output, as_of)]
    data = build_tables(conn, as_of, tables)
    if fmt in ("csv", "parquet"):
        output.mkdir(parents=True, exist_ok=True)
        written = []
        for name, rows in data.items():
            path = output / f"{name}.{fmt}"
            (writers.write_csv if fmt == "csv" else writers.write_parquet)(path, TABLES[name], rows)
            written.append(path)
        return written
    output.parent.mkdir(parents=True, exist_ok=True)
    (writers.write_xlsx if fmt == "xlsx" else writers.write_sqlite)(output, data)
    return [output]


def _geojson(conn: sqlite3.Connection, output: Path, as_of: dt.date | None) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(geojson.agreements_geojson(conn, as_of), ensure_ascii=False), encoding="utf-8")
    return output


@dataclass(frozen=True, slots=True)
class Release:
    """What a release build wrote."""

    folder: Path
    files: list[str]
    previous: Path | None
    rows: dict[str, int]


def build_release(conn: sqlite3.Connection, parent: Path, previous: Path | None = None) -> Release:
    """Write a dated release folder under ``parent``; compare with the previous release."""
    pubs = query.publications(conn)
    if not pubs:
        raise ExportError("the history holds no publication yet")
    newest = max(p.date for p in pubs)
    folder = parent / f"g287-{newest.isoformat()}"
    if previous is None:
        earlier = sorted(p for p in parent.glob("g287-*") if p.is_dir() and p.name < folder.name)
        previous = earlier[-1] if earlier else None
    data = build_tables(conn)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        writers.write_csv(folder / f"{name}.csv", TABLES[name], rows)
        writers.write_parquet(folder / f"{name}.parquet", TABLES[name], rows)
    writers.write_xlsx(folder / "g287.xlsx", data)
    writers.write_sqlite(folder / "g287.sqlite", data)
    (folder / "datapackage.json").write_text(
        json.dumps(datapackage(newest, data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "CHANGES.md").write_text(changes_markdown(folder, previous, data), encoding="utf-8")
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "SHA256SUMS")
    sums = "".join(f"{hashlib.sha256((folder / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    (folder / "SHA256SUMS").write_text(sums)
    return Release(folder, [*files, "SHA256SUMS"], previous, {n: len(r) for n, r in data.items()})


def datapackage(newest: dt.date, data: dict[str, list]) -> dict[str, object]:
    """A Frictionless data package describing the CSV tables."""
    return {
        "name": "g287", "title": "g287: a history of ICE's 287(g) agreements",
        "version": newest.isoformat(), "licenses": [LICENSE], "sources": SOURCES,
        "resources": [{
            "name": name.replace("_", "-"), "path": f"{name}.csv", "format": "csv",
            "mediatype": "text/csv", "encoding": "utf-8", "description": TABLES[name].description,
            "schema": {"fields": [{"name": c.name, "type": c.type, "description": c.description}
                                  for c in TABLES[name].columns],
                       "primaryKey": list(TABLES[name].key)},
        } for name in data],
    }


def _ids(path: Path, key: str) -> set[str]:
    if not path.exists():
        return set()
    with path.open(encoding="utf-8", newline="") as handle:
        return {row[key] for row in csv.DictReader(handle)}


def changes_markdown(folder: Path, previous: Path | None, data: dict[str, list]) -> str:
    """What changed since the previous release: rows per table, agreements added/removed."""
    lines = [f"# Changes in {folder.name}", ""]
    if previous is None:
        lines += ["First release: no previous release to compare with.", ""]
    else:
        lines += [f"Compared with {previous.name}.", "", "| table | rows | change |", "| --- | ---: | ---: |"]
        for name, rows in data.items():
            before = len(_ids(previous / f"{name}.csv", TABLES[name].key[0])) if len(
                TABLES[name].key) == 1 else None
            change = "" if before is None else f"{len(rows) - before:+,}"
            lines.append(f"| {name} | {len(rows):,} | {change} |")
        old = _ids(previous / "agreements.csv", "agreement_id")
        new = {str(r["agreement_id"]) for r in data["agreements"]}
        lines += ["", f"Agreements new since then: {len(new - old)}; "
                  f"gone from the tables: {len(old - new)}.", ""]
    lines += ["Counts per table:", ""] + [f"- {n}: {len(r):,} rows" for n, r in data.items()] + [""]
    return "\n".join(lines)
