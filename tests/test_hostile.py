"""Hostile inputs from the fuzzing pass (issue 15, F1-F23): each test builds its input itself."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import threading
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from g287 import ingest, store, xlsx
from g287.cli import app
from g287.read import read_sheet
from sheets import PARTICIPATING_HEADER, write_sheet

ROW = ["TEXAS", "Smith County Sheriff's Office", "County", "Smith County", "Task Force Model",
       dt.date(2025, 12, 1), "link"]


def good_sheet(folder: Path, name: str = "participatingAgencies01012026am.xlsx", rows: int = 3) -> Path:
    """A small valid participating sheet with an MOA hyperlink on each row."""
    data = [[*ROW[:1], f"Agency {i} Sheriff's Office", *ROW[2:]] for i in range(rows)]
    return write_sheet(folder / "sheets_20260101_120000" / name, PARTICIPATING_HEADER, data,
                       links={(i, 6): f"https://www.ice.gov/doclib/287gMOA/a{i}.pdf" for i in range(rows)})


def rezip(content: bytes, change: dict[str, bytes | None] | None = None,
          add: dict[str, bytes] | None = None) -> bytes:
    """The workbook with some entries replaced (or, with None, dropped) and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            new = (change or {}).get(info.filename, src.read(info.filename))
            if new is not None:
                dst.writestr(info.filename, new)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def sheet_xml(content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read(SHEET)


# F1: one cell at XFD1048576, or a dimension that large, is refused before calamine.
@pytest.mark.parametrize("edit", [
    lambda xml: xml.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'),
    lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml),
    lambda xml: xml.replace(b"</sheetData>", b'<row r="900000"><c r="ZZ900000"><v>1</v></c></row></sheetData>'),
])
def test_absurd_sheet_extent_is_refused_in_one_line(tmp_path, edit):
    content = good_sheet(tmp_path).read_bytes()
    hostile = rezip(content, {SHEET: edit(sheet_xml(content))})
    with pytest.raises(xlsx.WorkbookError, match="worksheet spans .* more than the"):
        read_sheet(hostile, "participatingAgencies01022026am.xlsx")


# F2: zip bombs are refused from declared sizes and ratios, before anything is inflated.
def test_zip_bomb_part_is_refused_by_its_ratio(tmp_path):
    content = good_sheet(tmp_path).read_bytes()
    xml = sheet_xml(content)
    bomb = rezip(content, {SHEET: xml.replace(b"</worksheet>", b" " * 40_000_000 + b"</worksheet>")})
    assert len(bomb) < 200_000
    with pytest.raises(xlsx.WorkbookError, match="fold, more than"):
        read_sheet(bomb, "participatingAgencies01022026am.xlsx")


def test_zip_bomb_sizes_are_bounded_per_part_and_in_total(tmp_path, monkeypatch):
    content = good_sheet(tmp_path).read_bytes()
    incompressible = os.urandom(600_000)
    monkeypatch.setattr(xlsx, "MAX_PART_BYTES", 500_000)
    with pytest.raises(xlsx.WorkbookError, match="inflates to 600,000 bytes"):
        read_sheet(rezip(content, add={"xl/media/big.bin": incompressible}), "x.xlsx")
    monkeypatch.setattr(xlsx, "MAX_PART_BYTES", 1_000_000)
    monkeypatch.setattr(xlsx, "MAX_TOTAL_BYTES", 1_000_000)
    parts = {f"xl/media/p{i}.bin": incompressible[:300_000] for i in range(4)}
    with pytest.raises(xlsx.WorkbookError, match="the workbook inflates to"):
        read_sheet(rezip(content, add=parts), "x.xlsx")


# F3: a hyperlink over the whole sheet is clipped to the data range, not expanded cell by cell.
def test_sheet_wide_hyperlink_range_is_clipped_to_the_data(tmp_path):
    content = good_sheet(tmp_path, rows=3).read_bytes()
    xml = re.sub(rb'<hyperlink ref="G2"', b'<hyperlink ref="A1:XFD1048576"', sheet_xml(content))
    sheet = xlsx.read_worksheet(rezip(content, {SHEET: xml}))
    assert max(r for r, _ in sheet.hyperlinks) == 4 and max(c for _, c in sheet.hyperlinks) == 7
    assert len(sheet.hyperlinks) <= 4 * 7


# F4: a corrupt deflate stream is one failed file; the good files of the same run are stored.
def test_corrupt_deflate_fails_alone_and_the_rest_is_stored(tmp_path):
    good = good_sheet(tmp_path / "in")
    content = bytearray(good_sheet(tmp_path / "other", "pendingAgencies01012026am.xlsx").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as archive:
        info = archive.getinfo(SHEET)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    content[start:start + 40] = b"\xff" * 40
    bad = tmp_path / "in" / "sheets_20260102_120000" / "pendingAgencies01022026am.xlsx"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(bytes(content))
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "in"), "--db", str(tmp_path / "h.sqlite")])
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if "failed:" in line]
    assert len(failed) == 1 and "pendingAgencies01022026am.xlsx" in failed[0] and "corrupt" in failed[0]
    conn = store.connect(tmp_path / "h.sqlite")
    assert [r[0] for r in conn.execute("SELECT file FROM publications")] == [good.name]


# F19: only regular files are read: /dev/zero and a FIFO fail at once, the rest is stored.
def test_devices_and_fifos_are_refused_without_reading(tmp_path):
    good = good_sheet(tmp_path)
    fifo = tmp_path / "pendingAgencies01012026am.xlsx"
    os.mkfifo(fifo)
    conn = store.connect(tmp_path / "h.sqlite")
    done: list[ingest.IngestReport] = []
    worker = threading.Thread(target=lambda: done.append(
        ingest.ingest_paths(conn, [Path("/dev/zero"), fifo, good])), daemon=True)
    worker.start()
    worker.join(60)
    assert done, "ingest hung on a device or FIFO"
    assert [(f.file, f.message) for f in done[0].failed] == [("zero", "is a device, not a file"),
                                                             (fifo.name, "is a FIFO (named pipe), not a file")]
    assert [o.file for o in done[0].added] == [good.name]


def two_sheets(folder: Path, new_name: str, link: str = "https://www.ice.gov/doclib/287gMOA/x.pdf") -> Path:
    """Two participating publications: the second adds an agency named ``new_name``."""
    first = [["TEXAS", "Smith County Sheriff's Office", "County", "Smith County", "Task Force Model",
              dt.date(2025, 12, 1), "link"]]
    write_sheet(folder / "sheets_20260101_120000" / "participatingAgencies01012026am.xlsx",
                PARTICIPATING_HEADER, first, links={(0, 6): "https://www.ice.gov/doclib/287gMOA/s.pdf"})
    placeholder = "https://placeholder.invalid/target"
    second = write_sheet(folder / "sheets_20260102_120000" / "participatingAgencies01022026am.xlsx",
                         PARTICIPATING_HEADER, [*first, ["TEXAS", new_name, "County", "Smith County",
                                                         "Task Force Model", dt.date(2025, 12, 2), "link"]],
                         links={(0, 6): "https://www.ice.gov/doclib/287gMOA/s.pdf", (1, 6): placeholder})
    rels = "xl/worksheets/_rels/sheet1.xml.rels"
    content = second.read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read(rels)
    second.write_bytes(rezip(content, {rels: xml.replace(placeholder.encode(), link.encode())}))
    db = folder / "h.sqlite"
    conn = store.connect(db)
    assert ingest.ingest_paths(conn, [folder]).ok
    conn.close()
    return db


# F14, F15: Rich markup and terminal escapes in data are printed as text, never obeyed.
def test_markup_and_terminal_escapes_in_names_are_printed_as_text(tmp_path):
    name = "Smith [/] County [bold]Sheriff\x1b[2J\x1b]8;;http://evil/\x07Office"
    db = two_sheets(tmp_path / "in [/]", name)
    runner = CliRunner()
    for args in (["changes"], ["agency", "Smith"], ["publications"], ["status"]):
        result = runner.invoke(app, [*args, "--db", str(db)], env={"COLUMNS": "300"})
        assert result.exit_code == 0, (args, result.output)
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    story = runner.invoke(app, ["agency", "Smith", "--db", str(db)], env={"COLUMNS": "300"}).stdout
    assert "Smith [/] County [bold]Sheriff\\x1b[2J" in story
    again = runner.invoke(app, ["ingest", str(tmp_path / "in [/]"), "--db", str(tmp_path / "other.sqlite")])
    assert again.exit_code == 0 and "[/]" not in again.stderr


# F16: control characters are flagged when read and never make a feed invalid XML.
def test_control_characters_are_flagged_and_feeds_stay_valid_xml(tmp_path):
    from xml.etree import ElementTree

    from fastapi.testclient import TestClient

    from g287.web.app import create_app

    db = two_sheets(tmp_path, "Bad\x00Name\x1b Police\x0cDepartment")
    conn = store.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM row_issues WHERE code = 'control_characters'").fetchone()[0] >= 1
    response = TestClient(create_app(db)).get("/feeds/changes.atom")
    assert response.status_code == 200
    ElementTree.fromstring(response.content)


# F5: only http(s) links are stored and rendered; pages carry a strict CSP.
def test_javascript_links_are_flagged_not_rendered_and_pages_send_a_csp(tmp_path):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app

    db = two_sheets(tmp_path, "Script Police Department", link="javascript:alert(document.cookie)")
    conn = store.connect(db)
    agency_id, url = conn.execute("SELECT agency_id, moa_url FROM agreements a JOIN agencies USING (agency_id)"
                                  " WHERE name LIKE 'Script%'").fetchone()
    assert url is None
    assert conn.execute("SELECT COUNT(*) FROM row_issues WHERE code = 'link_not_http'").fetchone()[0] == 1
    conn.execute("UPDATE agreements SET moa_url = 'javascript:alert(1)' WHERE agency_id = ?", (agency_id,))
    conn.commit()  # a history stored before this fix: the page still renders no such link
    client = TestClient(create_app(db))
    page = client.get(f"/agency/{agency_id}")
    assert page.status_code == 200 and "javascript:" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert client.get("/api/v1/status").headers["x-content-type-options"] == "nosniff"


# F6: CSV from the CLI (--csv) and from the API (Downloads) is formula-safe.
def test_csv_from_cli_and_api_is_formula_safe(tmp_path):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app

    db = two_sheets(tmp_path, '=HYPERLINK("http://evil/","Sheriff")')
    cli = CliRunner().invoke(app, ["changes", "--csv", "--db", str(db)])
    api = TestClient(create_app(db)).get("/api/v1/changes?format=csv")
    for text in (cli.stdout, api.text):
        import csv

        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert any(c.startswith("'=HYPERLINK") for c in cells), text
        assert not any(c.startswith(("=", "+", "@")) for c in cells)


# F17: raw files download under any name (RFC 6266 filename*).
def test_raw_file_download_with_any_name(tmp_path):
    from urllib.parse import unquote

    from fastapi.testclient import TestClient

    from g287.web.app import create_app

    name = 'participatingAgencies01012026am "東京"\n;x.xlsx'
    path = good_sheet(tmp_path, name)
    conn = store.connect(tmp_path / "h.sqlite")
    assert ingest.ingest_paths(conn, [path]).ok
    pub = conn.execute("SELECT id FROM publications").fetchone()[0]
    response = TestClient(create_app(tmp_path / "h.sqlite")).get(f"/publications/{pub}/file")
    assert response.status_code == 200 and response.content == path.read_bytes()
    header = response.headers["content-disposition"]
    assert "\n" not in header and header.isascii()
    assert unquote(header.split("filename*=UTF-8''")[1]) == name


# F22: request bodies are bounded.
def test_oversized_request_body_is_refused(tmp_path):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app

    db = two_sheets(tmp_path, "Any Police Department")
    body = b'{"date": "2026-01-02", "metrics": [{"metric": "agreements", "value": 2}], "text": "' + \
        b"x" * 2_000_000 + b'"}'
    response = TestClient(create_app(db)).post("/api/v1/claims/check", content=body,
                                               headers={"Content-Type": "application/json"})
    assert response.status_code == 413


# The one error seam: a bug says it is one, with the traceback only under --debug.
def test_a_bug_is_reported_as_a_bug(tmp_path, monkeypatch):
    from g287 import query

    db = two_sheets(tmp_path, "Any Police Department")

    def broken(*_args, **_kwargs):
        raise ValueError("an internal mistake")

    monkeypatch.setattr(query, "status", broken)
    quiet = CliRunner().invoke(app, ["status", "--db", str(db)])
    assert quiet.exit_code == 70 and len(quiet.stderr.strip().splitlines()) == 1
    assert "internal error (a bug in g287" in quiet.stderr and "Traceback" not in quiet.output
    loud = CliRunner().invoke(app, ["--debug", "status", "--db", str(db)])
    assert isinstance(loud.exception, ValueError)


# F7: implausible file-name labels are flagged and dated by capture time instead.
def test_implausible_labels_are_dated_by_capture(tmp_path):
    from g287 import query

    for i, (folder, name) in enumerate((("sheets_20260101_120000", "participatingAgencies01012026am.xlsx"),
                                        ("sheets_20260102_120000", "participatingAgencies01015025am.xlsx"),
                                        ("sheets_20260103_120000", "participatingAgencies01010001am.xlsx"))):
        rows = [[*ROW[:1], f"Agency {j} Sheriff's Office", *ROW[2:]] for j in range(i + 1)]
        write_sheet(tmp_path / folder / name, PARTICIPATING_HEADER, rows)
    conn = store.connect(tmp_path / "h.sqlite")
    assert ingest.ingest_paths(conn, [tmp_path]).ok
    pubs = query.publications(conn, "participating")
    assert [(p.file, p.label, p.dated_by) for p in pubs] == [
        ("participatingAgencies01012026am.xlsx", "2026-01-01", "label"),
        ("participatingAgencies01015025am.xlsx", "2026-01-02", "capture_label_implausible"),
        ("participatingAgencies01010001am.xlsx", "2026-01-03", "capture_label_implausible")]
    assert query.status(conn)["participating"]["publication"]["file"] == "participatingAgencies01010001am.xlsx"
    assert [e.kind for e in query.changes(conn)] == ["agreement_added", "agreement_added"]


# F10: ids are long; a collision is an error, never a silent merge.
def test_id_collision_is_an_error_not_a_merge(tmp_path, monkeypatch):
    from g287.identity import resolve

    assert len(resolve.stable_id("ag", "TX", "x").split("_")[1]) * 4 >= 96
    path = good_sheet(tmp_path, rows=40)
    monkeypatch.setattr(resolve, "ID_HEX_DIGITS", 1)  # 16 possible ids for 40 agencies: they must collide
    result = CliRunner().invoke(app, ["ingest", str(path), "--db", str(tmp_path / "h.sqlite")])
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        result.stderr.strip().splitlines()[-1]] and "refusing to merge them" in result.stderr
    assert store.connect(tmp_path / "h.sqlite").execute("SELECT COUNT(*) FROM publications").fetchone()[0] == 0


# F11: an export never writes over the history or a file it uses.
def test_export_refuses_to_overwrite_the_history(tmp_path):
    db = two_sheets(tmp_path, "Any Police Department")
    before = db.read_bytes()
    runner = CliRunner()
    for fmt, target in (("sqlite", db), ("xlsx", db), ("geojson", db),
                        ("sqlite", Path(str(db) + "-wal")), ("csv", tmp_path / "." / db.name)):
        result = runner.invoke(app, ["export", "--format", fmt, "-o", str(target), "--db", str(db)])
        assert result.exit_code == 1 and "is the history database" in result.stderr, (fmt, result.output)
    link = tmp_path / "link.sqlite"
    os.link(db, link)
    result = runner.invoke(app, ["export", "--format", "sqlite", "-o", str(link), "--db", str(db)])
    assert result.exit_code == 1 and "is the history database" in result.stderr
    assert db.read_bytes() == before


# F23: rebuilding a release never deletes a user's files; a failed build leaves nothing;
# a malformed --previous release is one line.
def test_release_keeps_user_files_cleans_up_and_checks_previous(tmp_path, monkeypatch):
    from g287.export import release, writers

    db = two_sheets(tmp_path / "h", "Any Police Department")
    out = tmp_path / "releases"
    runner = CliRunner()
    assert runner.invoke(app, ["release", "-o", str(out), "--db", str(db)]).exit_code == 0
    folder = next(out.glob("g287-*"))
    (folder / "my notes.txt").write_text("mine")
    again = runner.invoke(app, ["release", "-o", str(out), "--db", str(db)])
    assert again.exit_code == 2 and "my notes.txt" in again.stderr
    assert (folder / "my notes.txt").read_text() == "mine"
    (folder / "my notes.txt").unlink()

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers, "write_xlsx", broken)
    full = runner.invoke(app, ["release", "-o", str(out), "--db", str(db)])
    assert full.exit_code == 1 and "No space left on device" in full.stderr
    assert sorted(p.name for p in out.iterdir()) == [folder.name]
    monkeypatch.undo()

    bad = tmp_path / "bad-release"
    bad.mkdir()
    (bad / "agreements.csv").write_text("state,name\nTX,x\n")
    result = runner.invoke(app, ["release", "-o", str(tmp_path / "r2"), "--previous", str(bad), "--db", str(db)])
    assert result.exit_code == 2 and "lacks the key column" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert release.history_files(store.connect(db))


def without_override(args: list[str]) -> list[str]:
    """Run a command that file permissions bind. Root ignores them through its capabilities
    (CAP_DAC_OVERRIDE and friends), so as root the command runs as root without any
    capability: still the owner of the files (it reads a clone in a private 0700 folder and
    its virtualenv, whatever the umask), but a read-only file or folder is read-only to it."""
    if os.geteuid() != 0:
        return args
    return ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all",
            "--securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked,+keep_caps_locked",
            "--", *args]


# F12: a history on a read-only file system (or read-only file) still answers every read.
def test_read_only_history_answers(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "ro"
    db = two_sheets(folder, "Any Police Department")
    for leftover in folder.glob("h.sqlite-*"):
        leftover.unlink()
    tree = [folder, *folder.rglob("*")]
    for path in tree:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        probe = subprocess.run(without_override(["touch", str(folder / "probe")]), capture_output=True)
        assert probe.returncode != 0, "the read-only folder is writable: the test would prove nothing"
        for args in (["status", "--json"], ["changes", "--json"], ["qa"]):
            result = subprocess.run(without_override([sys.executable, "-m", "g287", *args, "--db", str(db)]),
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, (args, result.stderr)
        web = subprocess.run(without_override([sys.executable, "-c", (
            "import sys; from pathlib import Path; from fastapi.testclient import TestClient;"
            "from g287.web.app import create_app;"
            "c = TestClient(create_app(Path(sys.argv[1])));"
            "print(c.get('/api/v1/status').status_code, c.get('/').status_code)"), str(db)]),
            capture_output=True, text=True, timeout=120)
        assert web.stdout.split() == ["200", "200"], web.stderr
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in tree[1:] if p.parent == folder)
    finally:
        for path in tree:
            path.chmod(0o755 if path.is_dir() else 0o644)


# F18: a locked or damaged history is one line, never a traceback or a silent answer.
def test_locked_and_damaged_history_are_one_line(tmp_path, monkeypatch):
    import sqlite3

    db = two_sheets(tmp_path, "Any Police Department")
    runner = CliRunner()
    blocker = sqlite3.connect(db)
    blocker.execute("PRAGMA busy_timeout = 0")
    blocker.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 100)
    locked = runner.invoke(app, ["ingest", str(good_sheet(tmp_path / "more")), "--db", str(db)])
    blocker.rollback()
    blocker.close()
    assert locked.exit_code == 1 and "locked" in locked.stderr, locked.output
    assert [line for line in locked.stderr.splitlines() if line.startswith("error:")]
    # Damage a page in the middle of the file: status must not answer as if nothing happened.
    conn = store.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sheet_rows'").fetchone()[0]
    conn.close()
    raw = bytearray(db.read_bytes())
    raw[(root - 1) * page_size:(root - 1) * page_size + 64] = b"\x0d" + b"\xff" * 63
    db.write_bytes(bytes(raw))
    damaged = runner.invoke(app, ["status", "--db", str(db)])
    assert damaged.exit_code == 1 and "damaged" in damaged.stderr, damaged.output
    assert len(damaged.stderr.strip().splitlines()) == 1


# F9: half-sent requests time out and do not stop the server answering others; log lines are bounded.
def test_slowloris_is_dropped_and_others_are_served(tmp_path, monkeypatch):
    import logging
    import socket
    import urllib.request

    from g287.web import server as web_server
    from test_web_api import live_server

    db = two_sheets(tmp_path, "Any Police Department")
    monkeypatch.setattr(web_server, "REQUEST_READ_TIMEOUT", 1.0)
    with live_server(db) as url:
        port = int(url.rsplit(":", 1)[1])
        idle = []
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            idle.append(s)
        with urllib.request.urlopen(f"{url}/api/v1/status", timeout=10) as answer:
            assert answer.status == 200
        time.sleep(2.0)
        for s in idle:
            s.settimeout(5)
            assert s.recv(1024) == b"", "a half-sent request was not dropped"
            s.close()
    limit = web_server.RateLimit(per_second=3)
    records = [logging.LogRecord("uvicorn.error", logging.WARNING, "", 0, "Invalid HTTP request", None, None)
               for _ in range(1000)]
    assert sum(limit.filter(r) for r in records) <= 6


# F13: import-archive bounds each zip entry, refuses duplicate names and exits 1 when files fail.
def test_import_archive_bounds_entries_and_reports_failures(tmp_path):
    good = good_sheet(tmp_path / "src").read_bytes()
    other = good_sheet(tmp_path / "src2", "pendingAgencies01012026am.xlsx").read_bytes()
    zipped = tmp_path / "community.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("repo/sheets_20260101_120000/participatingAgencies01012026am.xlsx", good)
        archive.writestr("repo/sheets_20260102_120000/pendingAgencies01022026am.xlsx", other)
        archive.writestr("repo/sheets_20260102_120000/pendingAgencies01022026am.xlsx", good)
        with archive.open("repo/sheets_20260103_120000/participatingAgencies01032026am.xlsx", "w") as bomb:
            for _ in range(150):
                bomb.write(b"\0" * 1_000_000)
    result = CliRunner().invoke(app, ["import-archive", str(zipped), "--archive", str(tmp_path / "a"),
                                      "--db", str(tmp_path / "h.sqlite")])
    assert result.exit_code == 1, result.output
    assert "appears 2 times" in result.stdout and "inflates to 150,000,000 bytes" in result.stdout
    conn = store.connect(tmp_path / "h.sqlite")
    assert [r[0] for r in conn.execute("SELECT file FROM publications")] == ["participatingAgencies01012026am.xlsx"]


# F8: every answer reads one snapshot, even while ingests run.
def test_answers_never_mix_two_ingests(tmp_path):
    from fastapi.testclient import TestClient

    from g287.web.app import create_app
    from sheets import PENDING_HEADER

    db = tmp_path / "h.sqlite"
    folders = []
    for day in range(1, 13):
        folder = tmp_path / f"gen{day}" / f"sheets_202601{day:02d}_120000"
        write_sheet(folder / f"participatingAgencies01{day:02d}2026am.xlsx", PARTICIPATING_HEADER,
                    [[*ROW[:1], f"Agency {i} Sheriff's Office", *ROW[2:]] for i in range(day)])
        write_sheet(folder / f"pendingAgencies01{day:02d}2026am.xlsx", PENDING_HEADER,
                    [["OHIO", f"Waiting {i} Police Department", "Municipality", "#N/A", "Task Force Model"]
                     for i in range(day)])
        folders.append(folder)
    conn = store.connect(db)
    ingest.ingest_paths(conn, [folders[0]])
    client = TestClient(create_app(db))
    done = threading.Event()

    def writer() -> None:
        for folder in folders[1:]:
            ingest.ingest_paths(conn, [folder])  # both lists of one day in one transaction
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    answers = 0
    while not done.is_set() or answers < 20:
        status = client.get("/api/v1/status").json()
        labels = {status[name]["publication"]["label"] for name in ("participating", "pending")}
        assert len(labels) == 1, status
        answers += 1
    thread.join()


def test_one_snapshot_is_shared_by_everything_answering_a_request(tmp_path):
    from g287 import query
    from g287.web.context import History

    first = good_sheet(tmp_path / "a")
    second = good_sheet(tmp_path / "b", "participatingAgencies01022026am.xlsx", rows=5)
    writer = store.connect(tmp_path / "h.sqlite")
    ingest.ingest_paths(writer, [first])
    history = History(tmp_path / "h.sqlite")
    with history.snapshot() as conn:
        before = query.status(conn)
        ingest.ingest_paths(writer, [second])
        with history.connect() as again:
            assert again is conn and query.status(again) == before
    with history.connect() as fresh:
        assert query.status(fresh)["participating"]["publication"]["file"] == second.name


def test_a_history_of_another_schema_read_only_says_how_to_upgrade(tmp_path):
    """Read-only commands (and the server) cannot move a history to this schema: they say so
    in one line and name the command that does, instead of failing on a missing table."""
    db = two_sheets(tmp_path, "Any Police Department")
    conn = store.connect(db)
    with store.transaction(conn):
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    result = CliRunner().invoke(app, ["status", "--db", str(db)])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "another version of g287 (schema 99" in lines[0] and "g287 rebuild" in lines[0]


# Round two (issue 25): a sheet whose only row sits far down is read as that one row, quickly;
# a rectangle of a million cells holding a handful is refused in one line before calamine
# allocates it.
def test_far_down_rows_are_read_sparsely_or_refused(tmp_path):
    import resource

    import xlsxwriter

    def book(path: Path, rows: dict[int, list[str]]) -> bytes:
        workbook = xlsxwriter.Workbook(str(path))
        sheet = workbook.add_worksheet()
        for number, values in rows.items():
            for column, value in enumerate(values):
                sheet.write(number - 1, column + 1, value)
        workbook.close()
        return path.read_bytes()

    far = book(tmp_path / "far.xlsx", {1_000_001: ["TEXAS", "Far County Sheriff's Office", "County"]})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    sheet = xlsx.read_worksheet(far)
    assert time.perf_counter() - started < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB: no million-row padding
    assert sheet.rows == [(1_000_001, [None, "TEXAS", "Far County Sheriff's Office", "County"])]

    spread = book(tmp_path / "participatingAgencies01012026am.xlsx",
                  {1: PARTICIPATING_HEADER, 1_000_000: [str(v) for v in ROW]})
    started = time.perf_counter()
    with pytest.raises(xlsx.WorkbookError, match=r"spreads 1[0-9] cells over rows 1 to 1,000,000"):
        xlsx.read_worksheet(spread)
    assert time.perf_counter() - started < 2.0
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "participatingAgencies01012026am.xlsx"),
                                      "--db", str(tmp_path / "h.sqlite")])
    refusals = [line for line in result.output.splitlines() if "spreads" in line]
    assert len(refusals) == 1 and "participatingAgencies01012026am.xlsx" in refusals[0], result.output


FTS5_SYNTAX = ['"', '""', 'a"b', "NEAR(complaint procedure)", "complaint OR nothing", "complaint AND", "NOT",
               "*", "complaint*", "^complaint", "text:complaint", "sha256:x", "(", ")", "{text}: complaint",
               "a + b", "-complaint", "'", "\\", "%", "_", "Sheriff's \"Office", "complaint" * 20]


# Round two (issue 25): FTS5 query syntax typed into every search box (MOA search in the
# library, CLI, page and API; agency search on the site, the API and the CLI) is searched as
# words, never an SQL error; a NUL is a 400 naming the parameter where a URL can carry one.
def test_fts5_syntax_in_every_search_box_is_plain_text(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from fastapi.testclient import TestClient

    from g287.documents import library
    from g287.web.app import create_app
    from sheets import history_with_agency

    conn, _ = history_with_agency(tmp_path, "Smith County Sheriff's Office")
    figure = plt.figure(figsize=(8.5, 11))
    figure.text(0.1, 0.8, "The complaint procedure of the Smith County Sheriff's Office", fontsize=10)
    pdf = tmp_path / "SmithCountyTX_TFM_MOA.pdf"
    figure.savefig(pdf)
    plt.close(figure)
    library.add_paths(conn, tmp_path / "archive", [pdf])
    read = library.extract(conn, tmp_path / "archive", workers=1)
    assert not read.failed and not read.missing
    assert [h.page for h in library.search(conn, "complaint procedure")] == [1]  # the box does search
    assert [h.page for h in library.search(conn, "complaint\x00procedure")] == [1]  # a NUL reads as a space
    db = str(tmp_path / "h.sqlite")
    client = TestClient(create_app(tmp_path / "h.sqlite"), raise_server_exceptions=False)
    runner = CliRunner()
    for text in FTS5_SYNTAX:
        library.search(conn, text)
        for url in ("/moas", "/es/moas", "/search", "/api/v1/moas", "/api/v1/agencies"):
            response = client.get(url, params={"q": text})
            assert response.status_code == 200, (url, text, response.text[:300])
        searched = runner.invoke(app, ["moa", "search", "--db", db, "--", text])
        assert searched.exit_code == 0, (text, searched.output)
        found = runner.invoke(app, ["agency", "--db", db, "--", text])
        assert found.exit_code in (0, 1) and "Traceback" not in found.output, (text, found.output)
        assert found.exit_code == 0 or len(found.stderr.strip().splitlines()) == 1, (text, found.output)
    for url in ("/api/v1/moas", "/api/v1/agencies"):
        refused = client.get(url, params={"q": "complaint\x00procedure"})
        assert refused.status_code == 400 and "control characters" in refused.json()["error"]["message"], url
    assert client.get("/moas", params={"q": "complaint\x00procedure"}).status_code == 400
    assert client.get("/search", params={"q": "Smith\x00County"}).status_code == 200


# Round two (issue 25): hostile agency names in the static export: every page, map and feed
# escapes them; JSON holds them exactly; CSV cells that a spreadsheet would run are defused.
def test_hostile_agency_names_in_the_static_export(tmp_path):
    import csv
    import json
    from xml.etree import ElementTree

    from sheets import PARTICIPATING_HEADER

    markup = "<script>alert(1)</script> & \"Sheriff's\" <img src=x onerror=alert(2)> ]]> {{7*7}}"
    formula = "=HYPERLINK(\"http://x\",\"Sheriff\")"
    rows = [[*ROW[:1], name, *ROW[2:6], "link pending"] for name in (markup, formula)]
    sheet = write_sheet(tmp_path / "sheets_20260101_120000" / "participatingAgencies01012026am.xlsx",
                        PARTICIPATING_HEADER, rows)
    db = tmp_path / "h.sqlite"
    assert CliRunner().invoke(app, ["ingest", str(sheet), "--db", str(db)]).exit_code == 0
    def strings(value: object) -> set[str]:
        if isinstance(value, dict):
            return {s for v in value.values() for s in strings(v)}
        if isinstance(value, list):
            return {s for v in value for s in strings(v)}
        return {value} if isinstance(value, str) else set()

    out = tmp_path / "site"
    built = CliRunner().invoke(app, ["site", "build", "-o", str(out), "--db", str(db)])
    assert built.exit_code == 0, built.output
    files = [p for p in out.rglob("*") if p.is_file()]
    seen_exact = 0
    for path in files:
        if path.suffix in (".html", ".svg", ".atom", ".xml"):
            text = path.read_text(encoding="utf-8")
            assert "<script>alert(1)" not in text and "<img src=x" not in text, path
            if path.suffix != ".html":
                ElementTree.fromstring(text.encode())  # still well-formed XML
        elif path.suffix == ".json":
            seen_exact += markup in strings(json.loads(path.read_text(encoding="utf-8")))
        elif path.suffix == ".csv":
            cells = [c for row in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()) for c in row]
            assert formula not in cells, path
            if "agencies" in path.name or "agreements" in path.name:
                assert "'" + formula in cells, path
    assert seen_exact >= 2, "the JSON API files hold the name exactly as ICE printed it"
    agency_pages = [p for p in files if p.parts[-3] == "agency" and p.name == "index.html"]
    assert agency_pages and any("&lt;script&gt;alert(1)&lt;/script&gt;" in p.read_text() for p in agency_pages)


# Round two (issue 25): SIGKILL in the middle of a schema upgrade (every row already moved,
# not yet committed) leaves the old history exactly as it was, and the next open upgrades it.
def test_sigkill_during_schema_upgrade_loses_nothing(tmp_path):
    import signal
    import sqlite3
    import subprocess
    import sys

    from conftest import table_digests
    from test_rebuild import to_schema_1

    db = two_sheets(tmp_path, "Any Police Department")
    conn = store.connect(db)
    statuses = CliRunner().invoke(app, ["status", "--json", "--db", str(db)]).stdout
    to_schema_1(conn)
    before = table_digests(conn)
    conn.close()
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from g287 import row_store, store\n"
        "move = row_store.migrate_from_per_row\n"
        "def moved_then_wait(conn):\n"
        "    move(conn)\n"
        "    print('moved', flush=True)\n"
        "    time.sleep(600)\n"
        "row_store.migrate_from_per_row = moved_then_wait\n"
        "store.connect(sys.argv[1])\n"), str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "moved"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    raw = sqlite3.connect(db)
    after = table_digests(raw)
    assert {name: after.get(name) for name in before} == before, "a killed upgrade changed the history"
    for created in set(after) - set(before):  # the new schema's tables, created empty before the move
        assert raw.execute(f'SELECT COUNT(*) FROM "{created}"').fetchone()[0] == 0, created
    raw.close()
    upgraded = store.connect(db)  # the next writable open upgrades it
    assert upgraded.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == store.SCHEMA_VERSION
    upgraded.close()
    assert CliRunner().invoke(app, ["status", "--json", "--db", str(db)]).stdout == statuses
