"""Fetching ICE's sheets from a real local HTTP server: new, unchanged, changed, and every
failure mode storing nothing and saying why in one line (library and CLI)."""

from __future__ import annotations

import datetime as dt
import socket
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from g287 import query, store
from g287.acquire import fetch, run
from g287.cli import app
from sheets import PENDING_HEADER, write_sheet
from test_acquire_support import (  # noqa: F401 (fixtures)
    FAST,
    P1,
    P2,
    PAGE,
    Q1,
    SHEET_PATH,
    Route,
    Server,
    client_fixture,
    moa_samples_fixture,
    real,
    server_fixture,
    state_of,
)

T1, T2, T3 = (dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC), dt.datetime(2026, 1, 5, 16, tzinfo=dt.UTC),
              dt.datetime(2026, 1, 6, 10, tzinfo=dt.UTC))
MOA_PATH = "/doclib/287gMOA/"


def serve_moa_samples(server: Server, samples) -> dict[str, bytes]:
    """Serve every shared sample at ICE's MOA path under its original name; return path → bytes."""
    served = {}
    for sample in samples:
        body = sample.path.read_bytes()
        server.routes[MOA_PATH + sample.original_name] = Route(body, headers={"Content-Type": "application/pdf"})
        served[MOA_PATH + sample.original_name] = body
    return served


def test_done_when_new_unchanged_then_one_changed(ice_sheets, moa_samples, tmp_path, server, client):
    """The issue's done-when: three runs leave three publications, the second seen again,
    and each MOA PDF downloaded once."""
    conn = store.connect(tmp_path / "h.sqlite")
    archive = tmp_path / "archive"
    for item in (P1, Q1, P2):
        server.sheet(real(ice_sheets, item))
    served = serve_moa_samples(server, moa_samples)
    server.page(P1[1], Q1[1])
    reports = [run.run_once(conn, archive, server.url + PAGE, client=client, policy=FAST, now=T1)]
    reports.append(run.run_once(conn, archive, server.url + PAGE, client=client, policy=FAST, now=T2))
    server.page(P2[1], Q1[1])
    reports.append(run.run_once(conn, archive, server.url + PAGE, client=client, policy=FAST, now=T3))

    assert [[s.outcome for s in r.fetch.sheets] for r in reports] == [
        ["new", "new"], ["not_modified", "not_modified"], ["new", "not_modified"]]
    pubs = query.publications(conn)
    assert sorted((p.first_captured, p.file) for p in pubs) == [
        ("2026-01-05T10:00:00Z", P1[1]), ("2026-01-05T10:00:00Z", Q1[1]), ("2026-01-06T10:00:00Z", P2[1])]
    seen = Counter(r[0] for r in conn.execute("SELECT file FROM captures"))
    assert seen == {P1[1]: 2, Q1[1]: 3, P2[1]: 1}
    assert {r[0] for r in conn.execute("SELECT capture_folder FROM captures WHERE captured_utc ="
                                       " '2026-01-05T16:00:00Z'")} == {"sheets_20260105_160000"}
    assert sorted(str(p.relative_to(archive)) for p in archive.rglob("*.xlsx")) == [
        f"sheets_20260105_100000/{P1[1]}", f"sheets_20260105_100000/{Q1[1]}", f"sheets_20260106_100000/{P2[1]}"]
    assert server.hits[SHEET_PATH + P1[1]] == 2 and server.hits[SHEET_PATH + Q1[1]] == 3

    linked = {link.url.split("www.ice.gov", 1)[1] for link in query.moa_links(conn)}
    pdfs = {path for path, body in served.items() if body.startswith(b"%PDF-") and path in linked}
    assert len(pdfs) >= 10, len(pdfs)  # the real sheets link most of the shared samples
    assert all(server.hits[path] == 1 for path in pdfs)
    stored = {p.name for p in (archive / "moa").iterdir()}
    assert len(stored) == len({served[p] for p in pdfs})
    assert sum(len(r.moa.downloaded) for r in reports) == len(pdfs)
    assert reports[1].moa.already_held == len(pdfs) and reports[1].moa.downloaded == []
    assert [r[0] for r in conn.execute("SELECT outcome FROM fetch_log ORDER BY started_utc")] == [
        "new", "unchanged", "new"]


def test_same_bytes_without_validators_is_seen_again(ice_sheets, tmp_path, server, client):
    conn = store.connect(tmp_path / "h.sqlite")
    for item in (P1, Q1):
        server.sheet(real(ice_sheets, item), validators="none")
    server.page(P1[1], Q1[1])
    fetch.fetch(conn, tmp_path / "a", server.url + PAGE, client=client, policy=FAST, now=T1)
    again = fetch.fetch(conn, tmp_path / "a", server.url + PAGE, client=client, policy=FAST, now=T2)
    assert [s.outcome for s in again.sheets] == ["seen_again", "seen_again"]
    assert [s.archived for s in again.sheets] == [None, None]
    assert not (tmp_path / "a" / "sheets_20260105_160000").exists()
    assert len(query.publications(conn)) == 2
    assert conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 4


def test_last_modified_makes_the_request_conditional(ice_sheets, tmp_path, server, client):
    conn = store.connect(tmp_path / "h.sqlite")
    routes = [server.sheet(real(ice_sheets, item), validators="last-modified") for item in (P1, Q1)]
    server.page(P1[1], Q1[1])
    fetch.fetch(conn, tmp_path / "a", server.url + PAGE, client=client, policy=FAST, now=T1)
    again = fetch.fetch(conn, tmp_path / "a", server.url + PAGE, client=client, policy=FAST, now=T2)
    assert [s.outcome for s in again.sheets] == ["not_modified", "not_modified"]
    sent = [h.get("If-Modified-Since") for path, h in server.requests if path == SHEET_PATH + P1[1]]
    assert sent == [None, routes[0].headers["Last-Modified"]]


def test_redirect_is_followed_and_filed_under_the_linked_name(ice_sheets, tmp_path, server, client):
    conn = store.connect(tmp_path / "h.sqlite")
    server.sheet(real(ice_sheets, P1), name="moved.xlsx")
    server.sheet(real(ice_sheets, Q1))
    server.routes[SHEET_PATH + P1[1]] = Route(status=301, headers={"Location": SHEET_PATH + "moved.xlsx"})
    server.page(P1[1], Q1[1])
    report = fetch.fetch(conn, tmp_path / "a", server.url + PAGE, client=client, policy=FAST, now=T1)
    assert [s.outcome for s in report.sheets] == ["new", "new"]
    assert (tmp_path / "a" / "sheets_20260105_100000" / P1[1]).is_file()


def test_server_errors_are_retried_with_backoff(ice_sheets, tmp_path, server, client):
    conn = store.connect(tmp_path / "h.sqlite")
    server.sheet(real(ice_sheets, P1)).fail_first = 1
    server.sheet(real(ice_sheets, Q1))
    server.page(P1[1], Q1[1])
    report = fetch.fetch(conn, tmp_path / "a", server.url + PAGE, client=client, policy=FAST, now=T1)
    assert [s.outcome for s in report.sheets] == ["new", "new"]
    assert server.hits[SHEET_PATH + P1[1]] == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _break(breakage: str, server: Server, tmp_path: Path) -> str:
    """Set up one failure on the second fetch (P2 replaces P1); return the source URL."""
    participating = SHEET_PATH + P2[1]
    route = server.routes[participating]
    if breakage == "layout":
        server.routes[PAGE] = Route(b"<html><p>We moved things.</p><a href='/x.pdf'>x</a></html>")
    elif breakage == "page 404":
        server.routes[PAGE] = Route(b"gone", 404)
    elif breakage == "refused":
        return f"http://127.0.0.1:{_closed_port()}{PAGE}"
    elif breakage == "pending 404":
        server.routes[SHEET_PATH + Q1[1]] = Route(b"gone", 404)
    elif breakage == "timeout":
        route.delay = 1.2
    elif breakage == "truncated":
        route.declared_length = len(route.body) + 5000
    elif breakage == "html page as xlsx":
        server.routes[participating] = Route(b"<!doctype html><title>Error</title><p>Access denied</p>",
                                             headers={"Content-Type": "text/html"})
    elif breakage == "html without content type":
        server.routes[participating] = Route(b"\n  <html><body>Service unavailable</body></html>")
    elif breakage == "oversized":
        route.declared_length = 60_000_000  # beyond any limit; refused before reading
    elif breakage == "not an ICE sheet":
        other = write_sheet(tmp_path / "other.xlsx", ["NAME", "VALUE"], [["a", 1]])
        server.routes[participating] = Route(other.read_bytes())
    elif breakage == "not a workbook":
        server.routes[participating] = Route(b"%PDF-1.7 not a sheet")
    elif breakage == "503":
        route.fail_first = 99
    elif breakage == "redirect loop":
        server.routes[participating] = Route(status=302, headers={"Location": participating})
    return server.url + PAGE


FAILURES = [
    ("layout", "page layout changed"), ("page 404", "HTTP 404"), ("refused", "ConnectError"),
    ("pending 404", "HTTP 404"), ("timeout", "timed out"), ("truncated", "truncated download"),
    ("html page as xlsx", "served HTML"), ("html without content type", "served HTML"),
    ("oversized", "byte limit"), ("not an ICE sheet", "not a readable ICE sheet"),
    ("not a workbook", "no zip signature"), ("503", "HTTP 503"), ("redirect loop", "too many redirects"),
]


@pytest.mark.parametrize("via", ["library", "cli"])
@pytest.mark.parametrize(("breakage", "message"), FAILURES, ids=[f[0] for f in FAILURES])
def test_failures_store_nothing_and_say_why(ice_sheets, tmp_path, server, client, via, breakage, message):
    db, archive = tmp_path / "h.sqlite", tmp_path / "archive"
    conn = store.connect(db)
    for item in (P1, Q1, P2):
        server.sheet(real(ice_sheets, item))
    server.page(P1[1], Q1[1])
    fetch.fetch(conn, archive, server.url + PAGE, client=client, policy=FAST, now=T1)
    server.page(P2[1], Q1[1])
    source = _break(breakage, server, tmp_path)
    before = state_of(conn, archive)
    if via == "library":
        with pytest.raises(fetch.FetchError, match=message) as raised:
            fetch.fetch(conn, archive, source, client=client, policy=FAST, now=T2)
        said = str(raised.value)
    else:
        result = CliRunner().invoke(app, ["fetch", "--source", source, "--archive", str(archive), "--db", str(db),
                                          "--no-moa", "--timeout", "0.5", "--retries", "1", "--allow-private-hosts"])
        assert result.exit_code == 1, result.output
        said = result.stderr.strip()
        assert said.startswith("error: ") and message in said
    assert "\n" not in said and "127.0.0.1" in said
    assert state_of(conn, archive) == before


def test_cli_fetch_json_reports_each_sheet(ice_sheets, tmp_path, server):
    for item in (P1, Q1):
        server.sheet(real(ice_sheets, item))
    server.page(P1[1], Q1[1])
    args = ["fetch", "--source", server.url + PAGE, "--archive", str(tmp_path / "a"),
            "--db", str(tmp_path / "h.sqlite"), "--no-moa", "--allow-private-hosts", "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert '"outcome": "new"' in first.stdout and '"moa": null' in first.stdout
    second = CliRunner().invoke(app, args[:-1])
    assert second.exit_code == 0 and second.stdout.count("not modified") == 2


def test_first_fetch_failure_creates_no_archive(tmp_path, server):
    server.routes[PAGE] = Route(b"<html>nothing here</html>")
    result = CliRunner().invoke(app, ["fetch", "--source", server.url + PAGE, "--archive", str(tmp_path / "a"),
                                      "--db", str(tmp_path / "h.sqlite"), "--no-moa", "--allow-private-hosts"])
    assert result.exit_code == 1 and "page layout changed" in result.stderr
    assert not (tmp_path / "a").exists()


def test_pending_written_by_hand_is_read_like_ice(tmp_path, server, client):
    """A sheet whose name ICE suffixed (``_b``) is archived under that exact name."""
    book = write_sheet(tmp_path / "src" / "pendingAgencies01052026am_b.xlsx", PENDING_HEADER,
                       [["OHIO", "Agency Police Department", "Municipality", "#N/A", "Task Force Model"]])
    server.sheet(book)
    other = write_sheet(tmp_path / "src" / "participatingAgencies01052026am.xlsx",
                        ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED", "MOA"],
                        [["OHIO", "Agency Police Department", "Municipality", "#N/A", "Task Force Model",
                          dt.date(2025, 12, 1), "link pending"]])
    server.sheet(other)
    server.page(other.name, book.name)
    conn = store.connect(tmp_path / "h.sqlite")
    report = fetch.fetch(conn, tmp_path / "a", server.url + PAGE, client=client, policy=FAST, now=T1)
    assert [s.file for s in report.sheets] == [other.name, book.name]
    assert (tmp_path / "a" / "sheets_20260105_100000" / "pendingAgencies01052026am_b.xlsx").is_file()


def test_unwritable_archive_stores_nothing(ice_sheets, tmp_path, server, client):
    conn = store.connect(tmp_path / "h.sqlite")
    for item in (P1, Q1):
        server.sheet(real(ice_sheets, item))
    server.page(P1[1], Q1[1])
    archive = tmp_path / "archive"
    archive.write_text("a file where the archive folder should be")
    before = state_of(conn, tmp_path / "elsewhere")
    with pytest.raises(fetch.FetchError, match="archive") as raised:
        fetch.fetch(conn, archive, server.url + PAGE, client=client, policy=FAST, now=T1)
    assert "\n" not in str(raised.value)
    assert state_of(conn, tmp_path / "elsewhere") == before and archive.read_text().startswith("a file")
