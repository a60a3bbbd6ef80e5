"""Exports and releases built from the real archive."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from frictionless import validate
from typer.testing import CliRunner

from g287 import ingest, store
from g287.cli import app
from g287.export import dictionary, release, writers
from g287.export.tables import build_tables
from sheets import PARTICIPATING_HEADER, write_sheet

DOCS = Path(__file__).resolve().parents[1] / "docs" / "DATA_DICTIONARY.md"


@pytest.fixture(scope="module")
def built(history_db, tmp_path_factory) -> release.Release:
    return release.build_release(history_db, tmp_path_factory.mktemp("releases"))


def test_release_validates_with_frictionless(built):
    report = validate(built.folder / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    assert built.folder.name == "g287-2025-07-07"


def test_parquet_reads_back_with_counts_and_types(built):
    for name, table in dictionary.TABLES.items():
        parquet = pq.read_table(built.folder / f"{name}.parquet")
        assert parquet.num_rows == built.rows[name]
        assert parquet.column_names == table.column_names
        types = {c.name: str(parquet.schema.field(c.name).type) for c in table.columns}
        expected = {"string": "string", "integer": "int64", "date": "date32[day]", "number": "double"}
        assert types == {c.name: expected[c.type] for c in table.columns}


def test_a_figure_reproduces_from_csv_alone(built):
    """Agreements on participatingAgencies06062025am.xlsx, from publication_rows.csv with
    the standard library only: distinct agreement ids on that file's rows."""
    with (built.folder / "publication_rows.csv").open(encoding="utf-8", newline="") as handle:
        ids = {r["agreement_id"] for r in csv.DictReader(handle)
               if r["file"] == "participatingAgencies06062025am.xlsx"}
    assert len(ids) == 649


def test_two_builds_are_byte_identical(history_db, built, tmp_path):
    again = release.build_release(history_db, tmp_path, previous=built.previous)
    assert (again.folder / "SHA256SUMS").read_text() == (built.folder / "SHA256SUMS").read_text()


def test_changes_against_a_previous_release(history_path, built, tmp_path):
    older = tmp_path / "releases"
    conn = store.connect(history_path, readonly=True)
    as_of = release.export(conn, "csv", older / "g287-2025-06-06", dt.date(2025, 6, 6), ["agreements"])
    assert as_of
    newer = release.build_release(conn, older)
    text = (newer.folder / "CHANGES.md").read_text()
    assert "Compared with g287-2025-06-06" in text and "Agreements new since then:" in text


def test_sqlite_has_descriptions_for_datasette(built):
    conn = sqlite3.connect(built.folder / "g287.sqlite")
    described = conn.execute("SELECT COUNT(*) FROM _metadata WHERE column_name IS NOT NULL").fetchone()[0]
    assert described == sum(len(t.columns) for t in dictionary.TABLES.values())
    meta = json.loads((built.folder / "metadata.json").read_text())
    assert "agreement_id" in meta["databases"]["g287"]["tables"]["agreements"]["columns"]


def test_as_of_export_knows_only_what_was_published_then(history_db):
    tables = build_tables(history_db, dt.date(2025, 6, 6), ["agreements", "publications"])
    assert max(p["date"] for p in tables["publications"]) == "2025-06-06"
    active = [a for a in tables["agreements"] if a["status"] == "active"]
    assert len(active) == 649


def test_formula_injection_is_neutralized(tmp_path):
    evil = "=HYPERLINK(\"http://x\",\"click\")"
    path = write_sheet(tmp_path / "sheets_20260101_120000" / "participatingAgencies01012026am.xlsx",
                       PARTICIPATING_HEADER,
                       [["TEXAS", evil, "County", "@SUM(A1)", "Task Force Model", dt.date(2025, 12, 1),
                         "link pending"],
                        ["TEXAS", "Smith County Sheriff’s Office", "County", "Smith County",
                         "Task Force Model", dt.date(2025, 12, 1), "link pending"]])
    conn = store.connect(tmp_path / "h.sqlite")
    ingest.ingest_paths(conn, [path])
    out = tmp_path / "csv"
    release.export(conn, "csv", out, tables=["agencies", "publication_rows"])
    text = (out / "agencies.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text
    assert "Smith County Sheriff’s Office" in text  # curly apostrophe kept as printed
    rows = (out / "publication_rows.csv").read_text(encoding="utf-8")
    assert "'@SUM(A1)" in rows
    release.export(conn, "xlsx", tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["agencies"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" for c in cells)


def test_safe_text():
    assert [writers.safe_text(v) for v in ("=1+1", "+1", "-2", "@x", "ok", 5)] == [
        "'=1+1", "'+1", "'-2", "'@x", "ok", 5]


def test_data_dictionary_doc_is_current():
    assert DOCS.read_text() == dictionary.markdown(), \
        "regenerate: python -m g287.export.dictionary > docs/DATA_DICTIONARY.md"


def test_cli_export_and_errors(history_path, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--format", "parquet", "--table", "events", "-o",
                                 str(tmp_path / "p"), "--db", str(history_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "events.parquet").exists()
    bad = runner.invoke(app, ["export", "--format", "dta", "-o", str(tmp_path / "x"), "--db",
                              str(history_path)])
    assert bad.exit_code == 1 and "unknown format" in bad.stderr


def test_geojson_export(history_db, tmp_path):
    [path] = release.export(history_db, "geojson", tmp_path / "agreements.geojson", dt.date(2025, 6, 6))
    collection = json.loads(path.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection" and collection["features"]
    assert collection["publication"]["file"] == "participatingAgencies06062025am.xlsx"
