"""Ingest as a transaction: re-runs change nothing, order does not matter, bad files are
reported in one line while the rest is stored, and a killed ingest leaves a sound database."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from g287 import ingest, qa, query, store
from g287.cli import app
from g287.errors import BadInput
from g287.read import read_sheet

DERIVED_DUMP = (
    "SELECT agency_id, state, name, agency_type, county, first_seen, last_seen FROM agencies",
    "SELECT * FROM agreements",
    "SELECT * FROM pending_entries",
    "SELECT event_id, kind, date, agency_id, agreement_id, pending_id, before_pub, after_pub, details"
    " FROM events",
    "SELECT id, file, date, seq, rows FROM publications",
)


def dump(conn: sqlite3.Connection) -> list[list[tuple]]:
    return [sorted(tuple(r) for r in conn.execute(sql)) for sql in DERIVED_DUMP]


def some_sheets(ice_sheets: Path, count: int) -> list[Path]:
    files = sorted(ice_sheets.rglob("*.xlsx"))
    step = max(1, len(files) // count)
    return files[::step][:count]


def test_reingest_changes_nothing(history_path, ice_sheets, tmp_path):
    copy = tmp_path / "again.sqlite"
    shutil.copy(history_path, copy)
    conn = store.connect(copy)
    before = dump(conn)
    report = ingest.ingest_paths(conn, [ice_sheets])
    assert (len(report.added), len(report.seen_again), len(report.failed)) == (0, 80, 0)
    assert dump(conn) == before
    conn.close()


def test_any_order_gives_the_same_history(ice_sheets, tmp_path):
    files = some_sheets(ice_sheets, 14)
    together = store.connect(tmp_path / "together.sqlite")
    ingest.ingest_paths(together, files)
    one_by_one = store.connect(tmp_path / "shuffled.sqlite")
    shuffled = files[:]
    random.Random(287).shuffle(shuffled)
    for path in shuffled:
        ingest.ingest_paths(one_by_one, [path])
    assert dump(one_by_one) == dump(together)


def test_appending_publications_one_by_one_equals_a_full_build(ice_sheets, tmp_path):
    """The fold goes on from stored tables when a newer publication arrives ("append"); the
    result must equal replaying everything at once."""
    folders = sorted(p for p in ice_sheets.iterdir() if p.is_dir())[-12:]
    together = store.connect(tmp_path / "together.sqlite")
    ingest.ingest_paths(together, folders)
    stepwise = store.connect(tmp_path / "stepwise.sqlite")
    modes = [ingest.ingest_paths(stepwise, [folder]).derivation for folder in folders]
    assert modes[0] == "full" and modes.count("append") >= 8, modes
    assert dump(stepwise) == dump(together)
    rows = "SELECT * FROM row_identities"
    assert sorted(map(tuple, stepwise.execute(rows))) == sorted(map(tuple, together.execute(rows)))


def test_bad_file_is_one_line_and_the_rest_is_stored(ice_sheets, tmp_path):
    bad = tmp_path / "in" / "participatingAgencies01012026am.xlsx"
    bad.parent.mkdir()
    bad.write_text("<html>Service unavailable</html>")
    good = next(ice_sheets.rglob("pendingAgencies05152025am.xlsx"))
    shutil.copy(good, tmp_path / "in" / good.name)
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "in"), "--db",
                                      str(tmp_path / "h.sqlite")])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert len(errors) == 1
    assert "participatingAgencies01012026am.xlsx" in errors[0] and "not a zip" in errors[0]
    conn = store.connect(tmp_path / "h.sqlite", readonly=True)
    assert [p.file for p in query.publications(conn)] == ["pendingAgencies05152025am.xlsx"]


def test_ingest_with_a_broken_alias_file_stores_nothing(ice_sheets, tmp_path):
    """A failure inside the ingest transaction (here: a broken alias file) stores nothing."""
    conn = store.connect(tmp_path / "h.sqlite")
    ingest.ingest_paths(conn, some_sheets(ice_sheets, 2))
    before = dump(conn)
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("state,spelling,canonical_name,note\nXX,,,\n")
    with pytest.raises(BadInput, match="aliases.csv: line 2"):
        ingest.ingest_paths(conn, [ice_sheets], aliases=aliases)
    assert dump(conn) == before


def test_failed_rebuild_leaves_database_as_it_was(ice_sheets, tmp_path):
    """A rebuild that meets a stored file it can no longer read changes nothing."""
    conn = store.connect(tmp_path / "h.sqlite")
    ingest.ingest_paths(conn, some_sheets(ice_sheets, 3))
    conn.execute("UPDATE raw_files SET content = ? WHERE sha256 = (SELECT sha256 FROM publications"
                 " ORDER BY seq DESC LIMIT 1)", (b"PK\x03\x04 no longer a workbook",))
    conn.commit()
    before = dump(conn) + [sorted(tuple(r) for r in conn.execute("SELECT key, value FROM meta"))]
    with pytest.raises(ingest.RebuildError, match="corrupt"):
        ingest.rebuild(conn)
    assert dump(conn) + [sorted(tuple(r) for r in conn.execute("SELECT key, value FROM meta"))] == before


def test_alias_file_settles_what_rules_cannot(ice_sheets, tmp_path):
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("state,spelling,canonical_name,note\n"
                       "FL,Melbourne Beach Police Department,Melbourne Police Department,test only\n")
    conn = store.connect(tmp_path / "h.sqlite")
    ingest.ingest_paths(conn, [next(ice_sheets.rglob("participatingAgencies07072025pm.xlsx"))],
                        aliases=aliases)
    found = query.search_agencies(conn, "Melbourne Beach", state="FL")
    assert [a.name for a in found] == ["Melbourne Police Department"]
    merge = conn.execute("SELECT tier, reason FROM identity_merges").fetchone()
    assert tuple(merge) == ("alias", "test only")


KILL_SCRIPT = """
import sys
from g287 import ingest, store
conn = store.connect(sys.argv[1])

def parsed(path):
    print("parsed", path, flush=True)
    sys.stdin.readline()  # wait inside the transaction until the test says go on


ingest.ingest_paths(conn, sys.argv[2:], progress=parsed)
print("committed", flush=True)
"""


@pytest.mark.parametrize("parsed", [1, 15, 40, None])
def test_sigkill_midway_leaves_committed_publications(ice_sheets, tmp_path, parsed):
    """SIGKILL lands inside the ingest's transaction while it waits after ``parsed`` sheets
    (None: after the commit): the database opens, passes qa, and holds exactly the
    publications committed before the kill."""
    db = tmp_path / "killed.sqlite"
    folders = sorted(p for p in ice_sheets.iterdir() if p.is_dir())
    first, rest = folders[:10], folders[10:]
    conn = store.connect(db)
    ingest.ingest_paths(conn, first)
    committed = {p.sha256 for p in query.publications(conn)}
    conn.close()
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(db), *map(str, rest)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seen, line = 0, ""
    while seen != parsed:
        line = proc.stdout.readline()
        if not line.startswith("parsed "):
            break
        seen += 1
        if seen != parsed:
            proc.stdin.write("go\n")
            proc.stdin.flush()
    assert seen == parsed or line == "committed\n", (seen, line)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdin.close()
    proc.stdout.close()
    conn = store.connect(db)
    found = {p.sha256 for p in query.publications(conn)}
    if parsed is None:
        assert found > committed and len(found) == 46
    else:
        assert proc.returncode == -signal.SIGKILL and found == committed
    assert [r.name for r in qa.run_checks(conn) if r.status == "fail"] == []
    conn.close()


def test_status_json_equals_library_result(history_path, history_db):
    result = CliRunner().invoke(app, ["status", "--as-of", "2025-06-06", "--json", "--db",
                                      str(history_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == query.status(history_db, dt.date(2025, 6, 6))


def test_cli_commands_answer_in_json(history_path):
    runner = CliRunner()
    for args in (["publications"], ["changes", "--kind", "renewed"], ["agency", "Weber County"],
                 ["qa"]):
        result = runner.invoke(app, [*args, "--json", "--db", str(history_path)])
        assert result.exit_code == 0, (args, result.output)
        json.loads(result.stdout)


def test_cli_bad_parameters_are_one_line_errors(history_path):
    """Bad input exits 2, missing data 1; every date option reads dates the same way."""
    runner = CliRunner()
    for args, needle, code in ((["changes", "--state", "ZZ"], "unknown state", 2),
                               (["changes", "--since", "yesterday"], "not a date", 2),
                               (["status", "--as-of", "yesterday"], "not a date", 2),
                               (["growth", "--since", "2025-02-30"], "not a date", 2),
                               (["map", "-o", "m.svg", "--as-of", "7/7/2025"], "not a date", 2),
                               (["changes", "--kind", "exploded"], "unknown kind", 2),
                               (["agency", "no such agency anywhere"], "no agency matches", 1)):
        result = runner.invoke(app, [*args, "--db", str(history_path)])
        assert result.exit_code == code and needle in result.stderr, (args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1


def test_status_without_database_says_so(tmp_path):
    result = CliRunner().invoke(app, ["status", "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 1 and "run `g287 ingest` first" in result.stderr


def test_a_callers_records_commit_with_the_ingest_or_not_at_all(ice_sheets, tmp_path):
    """``also`` runs inside the ingest's transaction (fetch stores URL validators and its log
    there): when it raises, the publications are not stored either."""
    conn = store.connect(tmp_path / "h.sqlite")
    path = some_sheets(ice_sheets, 1)[0]
    capture = ingest.Capture(str(path), path.name, path.read_bytes(), "sheets_20250519_024330",
                             "2025-05-19T02:43:30Z")

    def refuse(conn: sqlite3.Connection, report: ingest.IngestReport) -> None:
        assert [o.file for o in report.added] == [path.name]
        conn.execute("INSERT INTO meta VALUES ('caller', 'seen')")
        raise RuntimeError("caller failed")

    with pytest.raises(RuntimeError, match="caller failed"):
        ingest.ingest_captures(conn, [capture], also=refuse)
    assert conn.execute("SELECT COUNT(*) FROM publications").fetchone()[0] == 0
    assert conn.execute("SELECT value FROM meta WHERE key = 'caller'").fetchone() is None
    ingest.ingest_captures(conn, [capture], also=lambda c, r: c.execute("INSERT INTO meta VALUES ('caller', 'ok')"))
    assert conn.execute("SELECT COUNT(*) FROM publications").fetchone()[0] == 1
    assert conn.execute("SELECT value FROM meta WHERE key = 'caller'").fetchone()[0] == "ok"


def test_cli_ingest_checks_the_history_after_storing(ice_sheets, tmp_path):
    """``g287 ingest`` runs the qa checks afterwards over what it touched: all of the history
    when an older publication made it replay the fold from the start. A broken invariant
    (here raw bytes altered behind g287's back) makes it exit non-zero and name the check;
    ``g287 qa --all`` finds it whatever the last ingest touched."""
    db = str(tmp_path / "h.sqlite")
    older, newer = some_sheets(ice_sheets, 2)
    result = CliRunner().invoke(app, ["ingest", str(newer), "--db", db])
    assert result.exit_code == 0 and f"{len(qa.CHECKS)} checks passed, 0 warned, 0 failed" in result.stdout
    conn = store.connect(db)
    with store.transaction(conn):
        conn.execute("UPDATE raw_files SET content = x'00'")
    conn.close()
    result = CliRunner().invoke(app, ["qa", "--all", "--db", db])
    assert result.exit_code == 1 and "raw bytes stored and intact" in result.stdout
    result = CliRunner().invoke(app, ["ingest", str(older), "--db", db])
    assert result.exit_code == 1
    assert "qa failed: raw bytes stored and intact" in result.stderr


def test_an_aborted_ingest_stops_parsing_and_stores_nothing(ice_sheets, tmp_path, monkeypatch):
    """An abort inside the transaction (here from the progress callback, as a second SIGTERM
    to the watcher would) rolls back, and the reader thread drops the sheets not yet started."""
    parsed: list[str] = []

    def counting(content: bytes, file: str):
        parsed.append(file)
        return read_sheet(content, file)

    monkeypatch.setattr(ingest, "read_sheet", counting)
    conn = store.connect(tmp_path / "h.sqlite")
    files = some_sheets(ice_sheets, 40)

    def abort(_: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest.ingest_paths(conn, files, progress=abort)
    assert conn.execute("SELECT COUNT(*) FROM publications").fetchone()[0] == 0
    assert 1 <= len(parsed) < 10, parsed


def test_raw_cells_stay_with_their_row_when_the_reading_cache_evicts(ice_sheets, tmp_path, monkeypatch):
    """The reader memoizes each distinct row; a tiny cache evicts constantly during a long
    build, and every stored row must still carry its own raw cells (once, one row was
    stored with another's when a cache keyed by ``id()`` met a reused id)."""
    from functools import lru_cache

    from g287 import normalize as nz
    from g287 import read

    monkeypatch.setattr(read, "_reading", lru_cache(maxsize=4)(read._reading.__wrapped__))
    conn = store.connect(tmp_path / "evicting.sqlite")
    ingest.ingest_paths(conn, some_sheets(ice_sheets, 12))
    rows = conn.execute("SELECT raw, agency_name, state, model FROM sheet_rows").fetchall()
    assert len(rows) > 1000
    wrong = [r["agency_name"] for r in rows
             if (nz.display_name(json.loads(r["raw"]).get("AGENCY")), nz.state_code(
                 json.loads(r["raw"]).get("STATE")).value, nz.support_model(
                 json.loads(r["raw"]).get("SUPPORT")).value) != (r["agency_name"], r["state"], r["model"])]
    assert wrong == []


def test_ingest_prints_a_summary_per_list_and_each_file_when_verbose(ice_sheets, tmp_path):
    folders = sorted(p for p in ice_sheets.iterdir() if p.name.startswith("sheets_2025070"))[:4]
    db = str(tmp_path / "summary.sqlite")
    quiet = CliRunner().invoke(app, ["ingest", str(folders[0]), str(folders[1]), "--db", db])
    assert quiet.exit_code == 0, quiet.output
    assert "participating: " in quiet.output and " publications (" in quiet.output
    assert "  + " not in quiet.output
    loud = CliRunner().invoke(app, ["ingest", "-v", *map(str, folders[2:]), "--db", db])
    assert loud.exit_code == 0, loud.output
    conn = store.connect(db)
    added = {r["id"]: r["file"] for r in conn.execute(
        "SELECT id, file FROM publications WHERE id NOT IN (SELECT publication_id FROM captures"
        " WHERE capture_folder IN (?, ?))", (folders[0].name, folders[1].name))}
    assert added and all(f"+ {file} (" in loud.output for file in added.values())
    changes = conn.execute("SELECT COUNT(*) FROM events WHERE before_pub IS NOT NULL AND after_pub IN"
                           f" ({','.join('?' * len(added))})", list(added)).fetchone()[0]
    shown = sum(int(line.rsplit(", ", 1)[1].split()[0]) for line in loud.output.splitlines()
                if " publications (" in line)
    assert shown == changes > 0
