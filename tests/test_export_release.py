"""A release built from the real archive: valid, typed, reproducible, comparable."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from frictionless import validate

from g287 import outputs
from g287.export import dictionary, release

ARROW_TYPES = {"string": "string", "integer": "int64", "date": "date32[day]", "number": "double",
               "boolean": "bool"}


@pytest.fixture(scope="module")
def built(history_db: sqlite3.Connection, tmp_path_factory: pytest.TempPathFactory) -> release.Release:
    return release.build_release(history_db, tmp_path_factory.mktemp("releases"))


def test_release_folder_is_named_for_the_newest_publication(built):
    assert built.folder.name == "g287-2025-07-07"
    names = {f.name for f in built.files}
    for table in dictionary.TABLES:
        assert {f"{table}.csv", f"{table}.parquet"} <= names
    assert {"g287.xlsx", "g287.sqlite", "metadata.json", "datapackage.json", "CHANGES.md",
            "SHA256SUMS"} <= names
    assert names | {outputs.MARKER} == {p.name for p in built.folder.iterdir()}


def test_datapackage_validates_with_frictionless(built):
    """One validation of the whole package: schemas, enums, keys and joins."""
    report = validate(built.folder / "datapackage.json")
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])[:5]
    package = json.loads((built.folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "CC0-1.0"
    assert {s["path"] for s in package["sources"]} == {
        "https://www.ice.gov/identify-and-arrest/287g", "https://github.com/appelson/Tracking_287g"}


def test_parquet_reads_back_with_counts_and_types(built):
    for name, table in dictionary.TABLES.items():
        parquet = pq.read_table(built.folder / f"{name}.parquet")
        assert parquet.num_rows == built.rows[name]
        assert parquet.column_names == table.column_names
        assert {f.name: str(f.type) for f in parquet.schema} == {
            c.name: ARROW_TYPES[c.type] for c in table.columns}
        assert parquet.schema.field(table.key[0]).metadata[b"description"]


def test_figure_reproduces_from_csv_with_the_standard_library(built):
    """Agreements on participatingAgencies06062025am.xlsx: distinct agreement ids on its rows."""
    with (built.folder / "publication_rows.csv").open(encoding="utf-8", newline="") as handle:
        ids = {r["agreement_id"] for r in csv.DictReader(handle)
               if r["file"] == "participatingAgencies06062025am.xlsx"}
    assert len(ids) == 649


def test_two_builds_give_identical_bytes(history_db, built, tmp_path):
    again = release.build_release(history_db, tmp_path)
    assert (again.folder / "SHA256SUMS").read_bytes() == (built.folder / "SHA256SUMS").read_bytes()
    assert [f.sha256 for f in again.files] == [f.sha256 for f in built.files]


def test_checksums_match_the_files(built):
    for line in (built.folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((built.folder / name).read_bytes()).hexdigest() == digest


def test_workbook_has_no_clock_inside(built):
    with zipfile.ZipFile(built.folder / "g287.xlsx") as book:
        stamps = {i.date_time for i in book.infolist()}
        core = book.read("docProps/core.xml").decode()
    assert len(stamps) == 1 and stamps.pop()[0] == 1980
    assert "2000-01-01T00:00:00Z" in core


def test_workbook_has_a_sheet_per_table_with_typed_cells(built):
    book = openpyxl.load_workbook(built.folder / "g287.xlsx", read_only=True)
    assert book.sheetnames == [*dictionary.TABLES, "dictionary"]
    header, first = list(book["agreements"].iter_rows(min_row=1, max_row=2, values_only=True))
    row = dict(zip(header, first, strict=True))
    assert row["signed"].year >= 2019 and isinstance(row["events"], int)


def test_sqlite_has_descriptions_for_datasette(built):
    conn = sqlite3.connect(built.folder / "g287.sqlite")
    described = conn.execute("SELECT COUNT(*) FROM _metadata WHERE column_name IS NOT NULL").fetchone()[0]
    assert described == sum(len(t.columns) for t in dictionary.TABLES.values())
    joins = conn.execute("SELECT \"table\", \"from\" FROM pragma_foreign_key_list('agreements')").fetchall()
    assert ("agencies", "agency_id") in joins
    assert conn.execute("SELECT COUNT(*) FROM agreements").fetchone()[0] == built.rows["agreements"]
    meta = json.loads((built.folder / "metadata.json").read_text(encoding="utf-8"))
    columns = meta["databases"]["g287"]["tables"]["agreements"]["columns"]
    assert columns["agreement_id"] == dictionary.TABLES["agreements"].columns[0].description


def test_changes_against_an_earlier_release(history_db, built, tmp_path):
    earlier = tmp_path / "g287-2025-06-06"
    release.export(history_db, "csv", earlier, as_of=dt.date(2025, 6, 6))
    newer = release.build_release(history_db, tmp_path)
    assert newer.previous == earlier
    text = (newer.folder / "CHANGES.md").read_text(encoding="utf-8")
    assert "Compared with g287-2025-06-06" in text
    agreements = next(c for c in newer.changes if c.table == "agreements")
    assert (agreements.before, agreements.rows, agreements.removed) == (650, 778, 0)
    assert agreements.added == 128 and "Agreements new since then: 128" in text


def test_release_never_replaces_a_folder_that_is_not_a_release(history_db, tmp_path):
    squatter = tmp_path / "g287-2025-07-07"
    squatter.mkdir()
    (squatter / "notes.txt").write_text("mine")
    with pytest.raises(outputs.OutputRefused, match="g287-2025-07-07: not a folder g287 made"):
        release.build_release(history_db, tmp_path)
    assert (squatter / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["g287-2025-07-07"]


def test_a_release_made_before_markers_is_replaced_but_not_with_a_users_file(history_db, built, tmp_path):
    """A release older than the marker is recognised by its SHA256SUMS; a file added is refused."""
    older = tmp_path / built.folder.name
    shutil.copytree(built.folder, older)
    (older / outputs.MARKER).unlink()
    (older / "chart.png").write_bytes(b"mine")
    with pytest.raises(outputs.OutputRefused, match="chart.png"):
        release.build_release(history_db, tmp_path)
    (older / "chart.png").unlink()
    again = release.build_release(history_db, tmp_path)
    assert (again.folder / outputs.MARKER).is_file() and sorted(p.name for p in tmp_path.iterdir()) == [older.name]


def test_export_refuses_a_file_it_did_not_write_and_replaces_its_own(history_db, tmp_path):
    mine = tmp_path / "book.xlsx"
    mine.write_bytes(b"my workbook")
    with pytest.raises(outputs.OutputRefused, match="book.xlsx: exists and was not written by g287"):
        release.export(history_db, "xlsx", mine, tables=["agencies"])
    assert mine.read_bytes() == b"my workbook"
    ours = tmp_path / "export.sqlite"
    for _ in range(2):
        assert release.export(history_db, "sqlite", ours, tables=["agencies"]) == [ours, tmp_path / "metadata.json"]
    assert json.loads((tmp_path / "metadata.json").read_text())["databases"].keys() == {"export"}
    folder = tmp_path / "csv"
    release.export(history_db, "csv", folder, tables=["agencies"])
    release.export(history_db, "csv", folder, tables=["agreements"])
    assert sorted(p.name for p in folder.iterdir()) == [outputs.MARKER, "agreements.csv"]
    assert not [p for p in tmp_path.iterdir() if ".g287-" in p.name and p.name != outputs.FILES]


def test_release_size_is_reported(built):
    sizes = {f.name: f.bytes for f in built.files}
    assert sizes == {p.name: p.stat().st_size for p in Path(built.folder).iterdir() if p.name != outputs.MARKER}


def test_sigkill_during_a_release_rebuild_leaves_the_previous_release(tmp_path):
    """Issue 28: a release killed mid-build leaves the complete previous one; the re-run works."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from test_hostile import two_sheets

    db = two_sheets(tmp_path / "in", "Jones County Sheriff's Office")
    out = tmp_path / "releases"
    first = subprocess.run([sys.executable, "-m", "g287", "release", "-o", str(out), "--db", str(db)],
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    (folder,) = out.iterdir()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    build = subprocess.Popen([sys.executable, "-m", "g287", "release", "-o", str(out), "--db", str(db)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and build.poll() is None:
        staging = [p for p in out.iterdir() if ".g287-staging" in p.name]
        if staging and any(p.suffix == ".csv" for p in staging[0].iterdir()):
            break
        time.sleep(0.002)
    assert build.poll() is None, "the release ended before it could be killed"
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    again = subprocess.run([sys.executable, "-m", "g287", "release", "-o", str(out), "--db", str(db)],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert [p.name for p in out.iterdir()] == [folder.name]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # the same history, the same bytes
