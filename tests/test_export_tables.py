"""Exported tables: the dictionary, the as-of cut, spreadsheet safety and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import sys
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from g287 import csvfile, ingest, store
from g287.cli import app
from g287.export import dictionary, release
from g287.export.tables import build_tables
from sheets import PARTICIPATING_HEADER, write_sheet

DOCS = Path(__file__).resolve().parents[1] / "docs" / "DATA_DICTIONARY.md"
EVIL_NAME = '=HYPERLINK("http://x.example","click")'


def test_data_dictionary_doc_is_current():
    assert DOCS.read_text(encoding="utf-8") == dictionary.markdown(), \
        "regenerate: python -m g287.export.dictionary > docs/DATA_DICTIONARY.md"


def test_dictionary_is_complete_and_consistent():
    for table in dictionary.TABLES.values():
        names = table.column_names
        assert len(set(names)) == len(names), table.name
        assert set(table.key) <= set(names) and set(table.order) <= set(names)
        assert table.order[-len(table.key):] == table.key or table.key == ("date",)
        for column in table.columns:
            assert column.type in dictionary.TYPES and column.description and column.derivation
            if column.references:
                ref_table, ref_column = column.references.split(".")
                assert ref_column in dictionary.TABLES[ref_table].column_names


def test_tables_have_exactly_the_dictionary_columns(history_db):
    tables = build_tables(history_db, dt.date(2025, 5, 20))
    for name, rows in tables.items():
        assert rows and all(list(r) == dictionary.TABLES[name].column_names for r in rows[:3])


def test_as_of_cut_knows_only_what_was_published_then(history_db):
    tables = build_tables(history_db, dt.date(2025, 6, 6), ["agreements", "publications", "events",
                                                            "daily_series"])
    assert max(p["date"] for p in tables["publications"]) == "2025-06-06"
    assert len([a for a in tables["agreements"] if a["status"] == "active"]) == 649
    assert max(e["date"] for e in tables["events"]) == "2025-06-06"
    last = tables["daily_series"][-1]
    assert (last["date"], last["agreements"]) == ("2025-06-06", 649)
    on_sheet = next(p for p in tables["publications"]
                    if p["file"] == "participatingAgencies06062025am.xlsx")
    assert on_sheet["items"] == 649


def test_as_of_before_the_archive_is_an_error(history_db):
    with pytest.raises(release.ExportError, match="no publication dated on or before 2020-01-01"):
        build_tables(history_db, dt.date(2020, 1, 1))


def test_unknown_table_is_an_error(history_db):
    with pytest.raises(release.ExportError, match="unknown table"):
        build_tables(history_db, names=["agreement"])


def test_raw_spelling_kept_as_printed(history_db):
    rows = build_tables(history_db, dt.date(2025, 5, 16), ["publication_rows"])["publication_rows"]
    printed = {r["agency_printed"] for r in rows}
    assert "Montgomery County Sheriff\u2019s Office" in printed
    campbell = next(r for r in rows if r["signed_printed"] == "05/082025")
    assert campbell["signed"] == "2025-05-08" and "signed_text_repaired" in campbell["issues"]


def test_safe_text():
    assert [csvfile.cell(v) for v in ("=1+1", "+1", "-2", "@x", "\tx", "\rx", "ok", 5, -3, True, None)] == [
        "'=1+1", "'+1", "'-2", "'@x", "'\tx", "'\rx", "ok", "5", "-3", "true", ""]


@pytest.fixture()
def crafted(tmp_path: Path) -> sqlite3.Connection:
    """A history of one synthetic participating sheet with formula-like cells."""
    path = write_sheet(tmp_path / "sheets_20260101_120000" / "participatingAgencies01012026am.xlsx",
                       PARTICIPATING_HEADER,
                       [["TEXAS", EVIL_NAME, "County", "@SUM(A1)", "Task Force Model",
                         dt.date(2025, 12, 1), "link pending"],
                        ["TEXAS", "-2+3 Smith County Sheriff\u2019s Office", "County", "Smith County",
                         "Task Force Model", dt.date(2025, 12, 1), "+cmd|' /C calc'!A0"]])
    conn = store.connect(tmp_path / "h.sqlite")
    report = ingest.ingest_paths(conn, [path])
    assert not report.failed
    yield conn
    conn.close()


def test_formula_cells_cannot_run_in_csv(crafted, tmp_path):
    release.export(crafted, "csv", tmp_path / "csv")
    for path in (tmp_path / "csv").glob("*.csv"):
        for line in path.read_text(encoding="utf-8").splitlines():
            cells = line.split(",")
            assert not any(c.startswith(csvfile.FORMULA_STARTS) for c in cells), (path.name, line)
    agencies = (tmp_path / "csv" / "agencies.csv").read_text(encoding="utf-8")
    assert "\"'=HYPERLINK(\"\"http://x.example\"\",\"\"click\"\")\"" in agencies
    assert "'-2+3 Smith County Sheriff\u2019s Office" in agencies  # curly apostrophe kept
    rows = (tmp_path / "csv" / "publication_rows.csv").read_text(encoding="utf-8")
    assert "'@SUM(A1)" in rows and "'+cmd|" in rows


def test_formula_cells_are_text_in_xlsx(crafted, tmp_path):
    release.export(crafted, "xlsx", tmp_path / "out.xlsx")
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    values = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(csvfile.FORMULA_STARTS):
                    values[cell.value] = cell.data_type
    assert values[EVIL_NAME] == "s" and values["@SUM(A1)"] == "s"
    assert set(values.values()) == {"s"}


def test_parquet_and_sqlite_keep_values_unchanged(crafted, tmp_path):
    release.export(crafted, "parquet", tmp_path / "pq", tables=["agencies"])
    names = pq.read_table(tmp_path / "pq" / "agencies.parquet").column("name").to_pylist()
    assert EVIL_NAME in names
    release.export(crafted, "sqlite", tmp_path / "db" / "out.sqlite")
    conn = sqlite3.connect(tmp_path / "db" / "out.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM agencies WHERE name = ?", (EVIL_NAME,)).fetchone()[0] == 1
    meta = json.loads((tmp_path / "db" / "metadata.json").read_text(encoding="utf-8"))
    assert "out" in meta["databases"]


def test_cli_export_and_errors(history_path, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--format", "parquet", "--table", "events", "--as-of",
                                 "2025-06-06", "-o", str(tmp_path / "p"), "--db", str(history_path)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "p" / "events.parquet").num_rows > 0
    bad = runner.invoke(app, ["export", "--format", "dta", "-o", str(tmp_path / "x"),
                              "--db", str(history_path)])
    assert bad.exit_code == 2 and "unknown format 'dta'" in bad.stderr
    bad = runner.invoke(app, ["export", "--format", "csv", "--table", "nope", "-o", str(tmp_path / "x"),
                              "--db", str(history_path)])
    assert bad.exit_code == 2 and "unknown table(s) nope" in bad.stderr


def test_cli_release_json(history_path, tmp_path):
    result = CliRunner().invoke(app, ["release", "-o", str(tmp_path), "--db", str(history_path),
                                      "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["folder"].endswith("g287-2025-07-07") and summary["previous"] is None
    assert summary["rows"]["agreements"] == 778
    assert {f["name"] for f in summary["files"]} >= {"SHA256SUMS", "datapackage.json"}


def test_geojson_goes_through_places(history_db, tmp_path):
    [path] = release.export(history_db, "geojson", tmp_path / "a.geojson", dt.date(2025, 6, 6))
    collection = json.loads(path.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection" and collection["features"]
    with pytest.raises(release.ExportError, match="--table does not apply"):
        release.export(history_db, "geojson", tmp_path / "b.geojson", tables=["agreements"])


def test_geojson_without_places_is_a_clear_error(history_db, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "g287.places.geojson", None)
    with pytest.raises(release.ExportError, match="geojson needs the places module"):
        release.export(history_db, "geojson", tmp_path / "a.geojson")
