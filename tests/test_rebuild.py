"""``g287 rebuild``: every stored publication re-read from its raw bytes and the history
replayed in one transaction; it repairs stored rows, reports what changed, and leaves
the database untouched when a stored file cannot be read."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from conftest import STORAGE_TABLES, table_digests
from g287 import ingest, qa, store
from g287.cli import app
from g287.read import READER_VERSION


@pytest.fixture()
def copy(history_path, tmp_path) -> sqlite3.Connection:
    path = tmp_path / "copy.sqlite"
    shutil.copy(history_path, path)
    conn = store.connect(path)
    yield conn
    conn.close()


def _derived(conn: sqlite3.Connection) -> dict[str, str]:
    digests = table_digests(conn)
    return {t: d for t, d in digests.items() if t not in ("meta", *STORAGE_TABLES)}


def test_rebuild_of_the_archive_changes_nothing(copy):
    before = _derived(copy)
    report = ingest.rebuild(copy)
    assert report.publications == 46
    assert report.rows_changed == []
    assert report.before == report.after
    assert report.after["sheet_rows"] == 15422 and report.after["agreements"] == 778
    assert _derived(copy) == before
    assert {r.name: r.status for r in qa.run_checks(copy)}["rows read by the current reader"] == "pass"


def test_rebuild_restores_rows_from_the_raw_bytes(copy):
    """A stored row altered after reading (as an older reader might have stored it) is read
    again from the file; the publication is named and qa's reader warning clears."""
    before = _derived(copy)
    pub_id, file = copy.execute("SELECT id, file FROM publications WHERE list = 'participating'"
                                " ORDER BY seq LIMIT 1").fetchone()
    with store.transaction(copy):
        printed = ("FROM publication_rows WHERE row_number = 2 AND pub ="
                   " (SELECT pub FROM publication_keys WHERE publication_id = ?)")
        copy.execute("INSERT INTO row_versions SELECT NULL, randomblob(16), raw, 'ZZ', agency_name,"
                     " name_key, agency_type, county, model, signed, moa_status, moa_url,"
                     " addendum_status, addendum_url FROM row_versions"
                     f" WHERE version_id = (SELECT version_id {printed})", (pub_id,))
        copy.execute("UPDATE publication_rows SET version_id = last_insert_rowid() WHERE row_number = 2"
                     " AND pub = (SELECT pub FROM publication_keys WHERE publication_id = ?)", (pub_id,))
        assert copy.execute("SELECT state FROM sheet_rows WHERE publication_id = ? AND row_number = 2",
                            (pub_id,)).fetchone()[0] == "ZZ"
        copy.execute("INSERT OR REPLACE INTO meta VALUES ('reader', '0')")
    warning = next(r for r in qa.run_checks(copy) if r.name == "rows read by the current reader")
    assert warning.status == "warn" and "run g287 rebuild" in warning.detail
    report = ingest.rebuild(copy)
    assert report.rows_changed == [file]
    assert _derived(copy) == before
    assert ingest.stored_reader_version(copy) == READER_VERSION
    checks = {r.name: r.status for r in qa.run_checks(copy)}
    assert checks["rows read by the current reader"] == "pass"
    assert "fail" not in checks.values()


def test_unreadable_stored_bytes_leave_everything_as_it_was(copy, tmp_path):
    file = copy.execute("SELECT file FROM publications ORDER BY seq DESC LIMIT 1").fetchone()[0]
    with store.transaction(copy):
        copy.execute("UPDATE raw_files SET content = ? WHERE sha256 = "
                     "(SELECT sha256 FROM publications WHERE file = ?)", (b"<html>gone</html>", file))
    before = table_digests(copy)
    with pytest.raises(ingest.RebuildError, match=f"^{file}: not an xlsx workbook"):
        ingest.rebuild(copy)
    assert table_digests(copy) == before
    result = CliRunner().invoke(app, ["rebuild", "--db", str(tmp_path / "copy.sqlite")])
    assert result.exit_code != 0
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"error: {file}: not an xlsx workbook (not a zip archive)"]
    assert table_digests(copy) == before


def test_rebuild_cli_reports_counts_in_json(copy, tmp_path):
    result = CliRunner().invoke(app, ["rebuild", "--db", str(tmp_path / "copy.sqlite"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["publications"] == 46 and report["rows_changed"] == []
    assert report["after"]["events"] == report["before"]["events"] == 1413  # + 2 visible renames (issue 20)


def to_schema_1(conn) -> None:
    """Put a history back in the schema-1 layout: every printed row stored whole."""
    conn.execute("PRAGMA foreign_keys = OFF")
    with store.transaction(conn):
        for name in ("sheet_rows", "row_issues", "row_identities"):
            conn.execute(f"CREATE TABLE {name}_v1 AS SELECT * FROM {name}")
            conn.execute(f"DROP VIEW {name}")
            conn.execute(f"ALTER TABLE {name}_v1 RENAME TO {name}")
        for name in ("answers", "publication_figures", *STORAGE_TABLES):
            conn.execute(f"DROP TABLE {name}")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def test_a_history_of_schema_1_is_moved_to_rows_by_version(copy, tmp_path):
    """A schema-1 history stored every printed row whole; opening it moves every value to
    rows stored by version, in one transaction, and every table reads as before."""
    before = _derived(copy)
    to_schema_1(copy)
    copy.close()
    moved = store.connect(tmp_path / "copy.sqlite")
    assert moved.execute("SELECT type FROM sqlite_master WHERE name = 'sheet_rows'").fetchone()[0] == "view"
    at_ingest = ("answers", "publication_figures")   # computed again by the next ingest
    assert ({k: v for k, v in _derived(moved).items() if k not in at_ingest}
            == {k: v for k, v in before.items() if k not in at_ingest})
    assert ingest.rebuild(moved).rows_changed == []
    moved.close()
