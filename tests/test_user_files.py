"""Issue 28: every file a user hands over is checked before it is read, malformed content is
one bad-input line (never "internal error"), and no control character from data reaches a
terminal. Each test builds its own input."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from g287.cli import app
from test_hostile import good_sheet, two_sheets

ESCAPES = "Smith \x1b[31mRed\x1b[0m \x1b]0;title\x07 \x9b2J Sheriff's Office"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """Two publications; the second adds an agency whose name carries terminal escapes."""
    return two_sheets(tmp_path_factory.mktemp("escapes"), ESCAPES)


def run(*args: str, timeout: float = 60):
    """The command's result, run in a thread: a command that opens a FIFO would never end."""
    done = []
    thread = threading.Thread(target=lambda: done.append(CliRunner().invoke(app, list(args))), daemon=True)
    thread.start()
    thread.join(timeout)
    assert done, f"{args} did not end: it waited on its input"
    return done[0]


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "internal error" not in result.output
    errors = [line for line in result.output.strip().splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.output.strip().endswith(errors[0]), result.output
    return errors[0]


def test_no_control_character_from_names_reaches_the_terminal_in_any_format(hostile_db, tmp_path):
    for args in (["changes", "--csv"], ["changes", "--json"], ["changes"], ["agency", "Smith", "--json"],
                 ["agency", "Smith"], ["publications", "--csv"]):
        result = run(*args, "--db", str(hostile_db))
        assert result.exit_code == 0, (args, result.output)
        assert not [c for c in result.stdout if ord(c) < 32 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f], args
    printed = run("changes", "--csv", "--db", str(hostile_db)).stdout
    assert "Smith \\x1b[31mRed" in printed
    shown = json.loads(run("changes", "--json", "--db", str(hostile_db)).stdout)
    assert any(e["agency_name"] == ESCAPES for e in shown)  # JSON escapes them, losing nothing
    # a file written with -o keeps the bytes (formula-neutralized as always)
    run("export", "--format", "csv", "--table", "agencies", "-o", str(tmp_path / "out"), "--db", str(hostile_db))
    with (tmp_path / "out" / "agencies.csv").open(encoding="utf-8", newline="") as handle:
        assert ESCAPES in {row["name"] for row in csv.DictReader(handle)}


@pytest.fixture()
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def test_a_fifo_or_a_device_where_a_file_is_expected_is_one_line(hostile_db, tmp_path, fifo):
    """`moa add` of a FIFO waited forever; every command that reads a user's file checks it first."""
    previous = tmp_path / "g287-2020-01-01"
    previous.mkdir()
    os.mkfifo(previous / "agreements.csv")
    for args in (["moa", "add", str(fifo), "--archive", str(tmp_path / "archive")],
                 ["moa", "add", "/dev/zero", "--archive", str(tmp_path / "archive")],
                 ["claims", "check", str(fifo)],
                 ["ingest", str(good_sheet(tmp_path)), "--aliases", str(fifo)],
                 ["rebuild", "--aliases", "/dev/zero"],
                 ["import-archive", str(fifo), "--archive", str(tmp_path / "archive")],
                 ["release", "-o", str(tmp_path / "releases"), "--previous", str(previous)]):
        line = one_line_error(run(*args, "--db", str(hostile_db)))
        assert "is a FIFO (named pipe), not a file" in line or "is a device, not a file" in line, line


def _broken_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("sheets_20260101_120000/participatingAgencies01012026am.xlsx", b"x" * 1000)
    data = out.getvalue()
    return data[:30] + b"\0" * 20 + data[50:]


MALFORMED = {
    "previous release": ("agreements.csv", [b"agreement_id,status\nA1,active\n", b"\xff\xfe\x00garbage",
                                            b'agreement_id,"unclosed\n']),
    "decisions": ("decisions.csv", [b"\xff\xd8\xff\xe0 binary", b"state,spelling\nTX,a\n",
                                    b"state,spelling,canonical_name,note,decision\nTX,a,b,,maybe\n"]),
    "archive": ("archive.zip", [b"PK\x03\x04 not really", _broken_zip(), b""]),
    "claims": ("claims.yaml", [b"claims: [unclosed", b"- just a string\n- 3\n", b"\xff\xfe\x00",
                               b"claims:\n  - metrics: {a: 1}\n", b"claims:\n  - date: [1]\n    metrics:\n"
                               b"      - metric: agreements\n        value: {x: 1}\n"]),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_user_files_are_one_bad_input_line(hostile_db, tmp_path, kind):
    name, contents = MALFORMED[kind]
    for number, content in enumerate(contents):
        folder = tmp_path / f"g287-2020-01-0{number + 1}"
        folder.mkdir()
        path = folder / name
        path.write_bytes(content)
        args = {"previous release": ["release", "-o", str(tmp_path / "releases"), "--previous", str(folder)],
                "decisions": ["rebuild", "--aliases", str(path)],
                "archive": ["import-archive", str(path), "--archive", str(tmp_path / "archive")],
                "claims": ["claims", "check", str(path)]}[kind]
        result = run(*args, "--db", str(hostile_db))
        assert result.exit_code != 70 and "internal error" not in result.output, (kind, content, result.output)
        if result.exit_code == 0:
            assert (kind, number) in ACCEPTED, (kind, content, result.output)
        elif kind == "archive" and result.exit_code == 1:
            assert "failed:" in result.output and "corrupt zip entry" in result.output  # each entry reported
        else:
            line = one_line_error(result)
            assert str(path) in line or str(folder) in line, line


# A previous release lacking some columns, or with a quote left open (Python's csv reads it
# to the end of the file), is compared with what it has.
ACCEPTED = {("previous release", 0), ("previous release", 2)}


def test_malformed_sheets_and_pdfs_are_reported_not_bugs(tmp_path, hostile_db):
    sheet = tmp_path / "sheets_20260101_120000" / "participatingAgencies01012026am.xlsx"
    sheet.parent.mkdir()
    sheet.write_bytes(b"PK\x03\x04 not a workbook")
    result = run("ingest", str(sheet), "--db", str(tmp_path / "new.sqlite"))
    assert result.exit_code == 1 and "internal error" not in result.output
    assert "participatingAgencies01012026am.xlsx" in result.output
    pdf = tmp_path / "moa.pdf"
    pdf.write_bytes(b"%PDF-1.7 truncated")
    result = run("moa", "add", str(pdf), "--archive", str(tmp_path / "archive"), "--db", str(tmp_path / "m.sqlite"))
    assert result.exit_code == 0 and "internal error" not in result.output
    result = run("moa", "extract", "--archive", str(tmp_path / "archive"), "--db", str(tmp_path / "m.sqlite"))
    assert result.exit_code in (0, 1) and "internal error" not in result.output, result.output


def test_server_logs_and_json_never_carry_a_control_character():
    import logging

    from g287.text import ControlFilter, safe_json
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", "/agency/\x1b]0;owned\x07", "1.1", 404), None)
    assert ControlFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:1 - "GET /agency/\\x1b]0;owned\\x07 HTTP/1.1" 404'
    text = json.dumps({"name": "a\x9bb\x7f"}, ensure_ascii=False)
    assert json.loads(safe_json(text)) == {"name": "a\x9bb\x7f"} and "\x9b" not in safe_json(text)
