"""Exports in one format, and dated, checksummed releases of the whole history.

A release folder, ``g287-YYYY-MM-DD`` after its newest publication (never the
clock), holds every table as CSV and Parquet, one XLSX workbook, one SQLite file
with Datasette's ``metadata.json``, a Frictionless ``datapackage.json``,
``CHANGES.md`` against the previous release and ``SHA256SUMS``. The same history
gives the same bytes, so a checksum identifies a release's content.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import importlib
import io
import json
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from g287 import csvfile, inputs, outputs, query
from g287.errors import Conflict
from g287.export import writers
from g287.export.dictionary import NOTES, TABLES, ExportError, frictionless_schema
from g287.export.tables import Row, build_tables

__all__ = ["ExportError", "FORMATS", "Release", "build_release", "export"]

FORMATS = ("csv", "parquet", "xlsx", "sqlite", "geojson")
PREVIOUS_MAX_BYTES = 2048 * inputs.MB  # a table of a release is tens of MB
RELEASE_NAME = re.compile(r"^g287-\d{4}-\d{2}-\d{2}$")
LICENSE = {"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/",
           "title": "Creative Commons Zero v1.0 Universal"}
SOURCES = [
    {"title": "U.S. Immigration and Customs Enforcement, 287(g) program page: participating and "
              "pending agency sheets (U.S. government works, public domain, 17 U.S.C. 105)",
     "path": "https://www.ice.gov/identify-and-arrest/287g"},
    {"title": "appelson/Tracking_287g: archive of ICE's sheets and MOAs captured since May 2025",
     "path": "https://github.com/appelson/Tracking_287g"},
]


def export(conn: sqlite3.Connection, fmt: str, output: Path, as_of: dt.date | None = None,
           tables: list[str] | None = None) -> list[Path]:
    """Write tables as known at the end of ``as_of`` in one format: a folder of files
    (csv, parquet) or one file (xlsx, sqlite, geojson). Returns the files written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "geojson":
        if tables:
            raise ExportError("geojson has one layer (agreements by county); --table does not apply")
        _refuse_history_paths(conn, [output])
        collection = _geojson(conn, as_of)
        outputs.write_bytes(output, (json.dumps(collection, ensure_ascii=False) + "\n").encode())
        return [output]
    data = build_tables(conn, as_of, tables)
    if fmt in ("csv", "parquet"):
        _refuse_history_paths(conn, [output, *(output / f"{name}.{fmt}" for name in data)])
        _refuse_history_inside(conn, [output])
        write = writers.write_csv if fmt == "csv" else writers.write_parquet

        def fill(staging: Path, _previous: Path | None) -> None:
            for name, rows in data.items():
                write(staging / f"{name}.{fmt}", TABLES[name], rows)

        outputs.write_folder(output, f"export-{fmt}", fill)
        return [output / f"{name}.{fmt}" for name in data]
    metadata = output.with_name("metadata.json")
    _refuse_history_paths(conn, [output, metadata])
    with outputs.staged_files([output, metadata] if fmt == "sqlite" else [output]) as temps:
        target = temps[Path(os.path.abspath(output))]
        if fmt == "xlsx":
            writers.write_xlsx(target, data)
            return [output]
        writers.write_sqlite(target, data, temps[Path(os.path.abspath(metadata))], output.stem)
    return [output, metadata]


def _geojson(conn: sqlite3.Connection, as_of: dt.date | None) -> dict:
    """Agreements joined to county shapes come from ``g287.places.geojson``; geometry is
    that module's business, not the exporter's."""
    try:
        places = importlib.import_module("g287.places.geojson")
    except ImportError as exc:
        raise ExportError("geojson needs the places module (g287.places.geojson), which this "
                          f"installation lacks: {exc}") from exc
    return places.agreements_geojson(conn, as_of)


@dataclass(frozen=True, slots=True)
class ReleaseFile:
    """One file of a release, as listed in ``SHA256SUMS``."""

    name: str
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class TableChange:
    """How one table differs from the previous release, rows matched by key."""

    table: str
    rows: int
    before: int | None        # None: the previous release lacks this table
    added: int
    removed: int
    changed: int              # same key, a different value in a column both have
    columns: dict[str, int]   # changed rows per column, most first


@dataclass(frozen=True, slots=True)
class Release:
    """What a release build wrote."""

    folder: Path
    previous: Path | None
    rows: dict[str, int]
    files: list[ReleaseFile]
    changes: list[TableChange]


def build_release(conn: sqlite3.Connection, parent: Path, previous: Path | None = None) -> Release:
    """Write the dated release folder under ``parent`` and compare it with ``previous``
    (default: the newest older ``g287-*`` folder beside it).

    The folder is built beside its target and swapped in whole (:mod:`g287.outputs`), so
    a failed or killed build never leaves a half-written release; an existing release of
    the same date is replaced only when it is exactly what g287 wrote.
    """
    pubs = query.publications(conn)
    if not pubs:
        raise ExportError("the history holds no publication yet; run `g287 ingest`")
    newest = max(p.date for p in pubs)
    folder = parent / f"g287-{newest.isoformat()}"
    _refuse_history_inside(conn, [folder])
    outputs.check_folder(folder, "release", _listed_in_sums)
    previous = _previous_release(parent, folder, previous)
    data = build_tables(conn)
    changes = compare_tables(previous, data) if previous else []
    files = outputs.write_folder(
        folder, "release", lambda staging, _old: _write_release(staging, folder, newest, data, previous, changes),
        legacy=_listed_in_sums)
    return Release(folder, previous, {n: len(r) for n, r in data.items()}, files, changes)


def _write_release(partial: Path, folder: Path, newest: dt.date, data: dict[str, list[Row]],
                   previous: Path | None, changes: list[TableChange]) -> list[ReleaseFile]:
    for name, rows in data.items():
        writers.write_csv(partial / f"{name}.csv", TABLES[name], rows)
        writers.write_parquet(partial / f"{name}.parquet", TABLES[name], rows)
    writers.write_xlsx(partial / "g287.xlsx", data)
    writers.write_sqlite(partial / "g287.sqlite", data)
    (partial / "datapackage.json").write_text(
        json.dumps(datapackage(newest, list(data)), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8")
    (partial / "CHANGES.md").write_text(
        changes_markdown(folder.name, previous, changes, data), encoding="utf-8")
    return _write_checksums(partial)


def _previous_release(parent: Path, folder: Path, previous: Path | None) -> Path | None:
    if previous is not None:
        if not previous.is_dir():
            raise ExportError(f"{previous}: no previous release folder there (--previous names the folder)")
        return previous
    older = sorted(p for p in parent.glob("g287-*")
                   if p.is_dir() and RELEASE_NAME.match(p.name) and p.name < folder.name)
    return older[-1] if older else None


def _write_checksums(folder: Path) -> list[ReleaseFile]:
    files = [ReleaseFile(p.name, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
             for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    sums = folder / "SHA256SUMS"
    sums.write_text("".join(f"{f.sha256}  {f.name}\n" for f in files), encoding="utf-8")
    return [*files, ReleaseFile(sums.name, sums.stat().st_size, hashlib.sha256(sums.read_bytes()).hexdigest())]


def _listed_in_sums(folder: Path) -> dict[str, str] | None:
    """A release made before g287 marked its outputs: the files its ``SHA256SUMS`` lists."""
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        return None
    text = sums.read_text(encoding="utf-8", errors="replace")
    listed = dict(reversed(line.split("  ", 1)) for line in text.splitlines() if "  " in line)
    return {**listed, sums.name: outputs.sha256_file(sums)}


def history_files(conn: sqlite3.Connection) -> set[Path]:
    """The files the open history database uses (itself, its WAL, shared memory, journal)."""
    main = next((Path(r[2]) for r in conn.execute("PRAGMA database_list") if r[1] == "main" and r[2]), None)
    if main is None:
        return set()
    main = main.resolve()
    return {main, *(main.with_name(main.name + suffix) for suffix in ("-wal", "-shm", "-journal"))}


def _refuse_history_paths(conn: sqlite3.Connection, targets: list[Path]) -> None:
    """Refuse to write any file the history uses: an export must never replace the history."""
    used = history_files(conn)
    for target in targets:
        resolved = target.resolve()
        if resolved in used or (target.exists() and any(
                p.exists() and os.path.samefile(target, p) for p in used)):
            raise Conflict(f"{target}: that is the history database (or a file it uses); "
                           "choose another output")


def _refuse_history_inside(conn: sqlite3.Connection, folders: list[Path]) -> None:
    """Refuse to build a release in a folder that holds the history (it is replaced whole)."""
    for used in history_files(conn):
        for folder in folders:
            if used.is_relative_to(folder.resolve()):
                raise Conflict(f"{folder} holds the history database {used.name}; choose another output folder")


def datapackage(newest: dt.date, names: list[str]) -> dict[str, Any]:
    """The Frictionless data package describing the release's CSV tables."""
    return {
        "profile": "tabular-data-package",
        "name": "g287", "title": writers.TITLE, "version": newest.isoformat(),
        "description": "The full history of ICE's 287(g) participating and pending agency sheets "
                       f"up to {newest.isoformat()}, rebuilt from every sheet captured. "
                       + " ".join(f"{title}: {text}" for title, text in NOTES),
        "homepage": "https://www.ice.gov/identify-and-arrest/287g",
        "keywords": ["287(g)", "ICE", "immigration enforcement", "law enforcement agencies"],
        "licenses": [LICENSE], "sources": SOURCES,
        "resources": [{
            "name": name, "path": f"{name}.csv", "profile": "tabular-data-resource",
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "description": TABLES[name].description, "schema": frictionless_schema(TABLES[name]),
        } for name in names],
    }


def _keyed(names: list[str], key: tuple[str, ...], rows: list[dict[str, str]]) -> dict[tuple, dict]:
    return {tuple(r.get(k, "") for k in key): {n: r.get(n, "") for n in names} for r in rows}


def _read_csv(path: Path, key: tuple[str, ...] = ()) -> tuple[list[str], list[dict[str, str]]] | None:
    """A previous release's table (None when absent); a file that is not one is an ExportError."""
    if not os.path.lexists(path):
        return None
    text = inputs.read_text(path, PREVIOUS_MAX_BYTES, "table of a g287 release")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header, rows = list(reader.fieldnames or []), list(reader)
    except csv.Error as exc:
        raise ExportError(f"{path}: not a table of a g287 release ({exc})") from exc
    missing = [k for k in key if k not in header]
    if missing:
        raise ExportError(f"{path}: lacks the key column(s) {', '.join(missing)}; not a table of a g287 release")
    return header, rows


def compare_tables(previous: Path, data: dict[str, list[Row]]) -> list[TableChange]:
    """Each table against the previous release's CSV, cells compared as CSV text."""
    result = []
    for name, rows in data.items():
        table = TABLES[name]
        old = _read_csv(previous / f"{name}.csv", table.key)
        if old is None:
            result.append(TableChange(name, len(rows), None, len(rows), 0, 0, {}))
            continue
        shared = [c for c in table.column_names if c in old[0]]
        before = _keyed(shared, table.key, old[1])
        now = _keyed(shared, table.key, [{c: csvfile.cell(r[c]) for c in table.column_names}
                                         for r in rows])
        both = sorted(now.keys() & before.keys())
        columns = Counter(c for k in both for c in shared if now[k][c] != before[k][c])
        result.append(TableChange(
            name, len(rows), len(old[1]), len(now.keys() - before.keys()),
            len(before.keys() - now.keys()), sum(1 for k in both if now[k] != before[k]),
            dict(sorted(columns.items(), key=lambda kv: (-kv[1], kv[0])))))
    return result


def _agreement_line(row: Mapping[str, object]) -> str:
    """One agreement in CHANGES.md; a previous release's row may lack columns (or hold None
    where a CSV line is short), and is described with what it has."""
    def get(key: str) -> str:
        return str(row.get(key) or "")
    return (f"- {get('state')} {get('agency_name')}, {get('model')}, signed {get('signed') or 'undated'}"
            f" ({get('agreement_id')})")


def _agreement_changes(previous: Path, data: dict[str, list[Row]]) -> list[str]:
    old = _read_csv(previous / "agreements.csv", ("agreement_id",))
    if old is None or "agreements" not in data:
        return []
    before = {r["agreement_id"]: r for r in old[1]}
    now = {str(r["agreement_id"]): r for r in data["agreements"]}
    added = [r for k, r in now.items() if k not in before]
    gone = [r for k, r in before.items() if k not in now]
    moved = [(before[k], r) for k, r in now.items() if k in before and before[k].get("status") != r["status"]]
    lines = ["", f"Agreements new since then: {len(added)}; gone from the tables: {len(gone)}; "
             f"status changed: {len(moved)}.", ""]
    for title, items in (("New agreements", [_agreement_line(r) for r in added]),
                         ("Agreements no longer in the tables", [_agreement_line(r) for r in gone]),
                         ("Status changes", [f"{_agreement_line(r)}: {o.get('status')} → {r['status']}"
                                             for o, r in moved])):
        if items:
            lines += [f"## {title}", "", *items, ""]
    return lines


def changes_markdown(name: str, previous: Path | None, changes: list[TableChange],
                     data: dict[str, list[Row]]) -> str:
    """``CHANGES.md``: rows added, removed and changed per table, and the agreements
    that appeared, disappeared or changed status since the previous release."""
    lines = [f"# Changes in {name}", ""]
    if previous is None:
        lines += ["First release: no previous release to compare with.", "", "| table | rows |",
                  "| --- | ---: |", *(f"| {n} | {len(r):,} |" for n, r in data.items()), ""]
        return "\n".join(lines)
    lines += [f"Compared with {previous.name}. Rows are matched by each table's key; a row has "
              "changed when a value in a column both releases have differs.", "",
              "| table | rows | before | added | removed | changed | columns changed |",
              "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for c in changes:
        before = "not in it" if c.before is None else f"{c.before:,}"
        columns = ", ".join(f"{n} {k:,}" for n, k in c.columns.items())
        lines.append(f"| {c.table} | {c.rows:,} | {before} | {c.added:,} | {c.removed:,} "
                     f"| {c.changed:,} | {columns} |")
    lines += _agreement_changes(previous, data)
    return "\n".join(lines) + "\n"
