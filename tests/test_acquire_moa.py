"""MOA documents: each PDF downloaded once and kept by content hash, tied to its agreements;
junk and failures recorded and retried; re-checks are conditional."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from g287 import ingest, store
from g287.acquire import moa
from g287.cli import app
from sheets import PARTICIPATING_HEADER, write_sheet
from test_acquire_support import FAST, Route, client_fixture, moa_samples_fixture, server_fixture  # noqa: F401

MOA_PATH = "/doclib/287gMOA/"


def history_linking(folder: Path, urls: list[str]):
    """A history of one participating sheet whose agencies' MOA cells link these URLs."""
    rows = [["OHIO", f"Agency {i} Police Department", "Municipality", "#N/A", "Task Force Model",
             dt.date(2025, 12, 1), "link"] for i in range(len(urls))]
    book = write_sheet(folder / "sheets_20260105_100000" / "participatingAgencies01052026am.xlsx",
                       PARTICIPATING_HEADER, rows, links={(i, 6): url for i, url in enumerate(urls)})
    conn = store.connect(folder / "h.sqlite")
    report = ingest.ingest_paths(conn, [book])
    assert report.ok and report.added
    return conn


@pytest.fixture
def samples(moa_samples):
    pdfs = [s for s in moa_samples if s.path.suffix == ".pdf"]
    junk = [s for s in moa_samples if s.path.suffix != ".pdf"]
    assert len(pdfs) == 13 and {s.original_name for s in junk} == {"failed_downloads.txt", ".DS_Store"}
    return pdfs, junk


def test_pdfs_once_junk_recorded_and_retried(samples, tmp_path, server, client):
    pdfs, junk = samples
    good = [f"https://www.ice.gov{MOA_PATH}{s.original_name}" for s in pdfs[:3]]
    bad = [f"https://www.ice.gov{MOA_PATH}junk{i}.pdf" for i in range(len(junk))]
    for sample, url in zip(pdfs[:3] + junk, good + bad, strict=True):
        server.routes[url.removeprefix("https://www.ice.gov")] = Route(
            sample.path.read_bytes(), headers={"Content-Type": "application/pdf"})
    missing = f"https://www.ice.gov{MOA_PATH}missing.pdf"
    conn = history_linking(tmp_path, good + bad + [missing])
    archive = tmp_path / "archive"

    start = dt.datetime(2026, 1, 6, 12, tzinfo=dt.UTC)
    first = moa.download_moas(conn, archive, client=client, policy=FAST, now=start)
    assert sorted(first.downloaded) == sorted(good)
    assert sorted(u for u, _ in first.failed) == sorted(bad + [missing])
    assert all("not a PDF" in why for u, why in first.failed if u in bad)
    assert {p.name for p in (archive / "moa").iterdir()} == {
        hashlib.sha256(s.path.read_bytes()).hexdigest() + ".pdf" for s in pdfs[:3]}

    server.routes[MOA_PATH + "junk0.pdf"] = Route(pdfs[3].path.read_bytes())  # ICE fixed one link
    second = moa.download_moas(conn, archive, client=client, policy=FAST, now=start + dt.timedelta(hours=2))
    assert second.downloaded == [bad[0]] and second.already_held == 3
    for url in good:
        assert server.hits[url.removeprefix("https://www.ice.gov")] == 1
    rows = dict(conn.execute("SELECT url, attempts FROM moa_documents WHERE status = 'failed'").fetchall())
    assert rows == {bad[1]: 2, missing: 2}
    assert conn.execute("SELECT http_status FROM moa_documents WHERE url = ?", (missing,)).fetchone()[0] == 404

    third = moa.download_moas(conn, archive, client=client, policy=FAST, retry_failed=False)
    assert third.skipped_failed == 2 and third.downloaded == [] and not third.failed


def test_failed_urls_wait_longer_after_each_failure(samples, tmp_path, server, client):
    """A missing MOA is asked for again after 1 h, then 2 h, 4 h … (at most a day), not on
    every run of a watcher; --retry-now asks at once."""
    missing = f"https://www.ice.gov{MOA_PATH}not-posted-yet.pdf"
    conn = history_linking(tmp_path, [missing])
    archive, start, hits = tmp_path / "archive", dt.datetime(2026, 1, 6, 12, tzinfo=dt.UTC), []
    for minutes in (0, 30, 61, 150, 182, 420, 422, 7 * 1440, 8 * 1440 + 1):
        report = moa.download_moas(conn, archive, client=client, policy=FAST,
                                   now=start + dt.timedelta(minutes=minutes))
        assert report.not_due + len(report.failed) == 1
        if report.failed:
            hits.append(minutes)
    assert hits == [0, 61, 182, 422, 7 * 1440, 8 * 1440 + 1]
    assert server.hits[MOA_PATH + "not-posted-yet.pdf"] == len(hits)
    assert moa.next_try(30, "2026-01-06T12:00:00Z") == start + moa.RETRY_MAX
    now = moa.download_moas(conn, archive, client=client, policy=FAST, retry_now=True,
                            now=start + dt.timedelta(minutes=8 * 1440 + 2))
    assert [u for u, _ in now.failed] == [missing] and now.not_due == 0


def test_document_is_tied_to_its_agreement(samples, tmp_path, server, client):
    pdfs, _ = samples
    url = f"https://www.ice.gov{MOA_PATH}{pdfs[0].original_name}"
    server.routes[MOA_PATH + pdfs[0].original_name] = Route(pdfs[0].path.read_bytes())
    conn = history_linking(tmp_path, [url])
    moa.download_moas(conn, tmp_path / "archive", client=client, policy=FAST)
    row = conn.execute("SELECT d.sha256, l.agreement_id, l.kind FROM moa_documents d"
                       " JOIN moa_document_links l USING (url)").fetchone()
    agreement = conn.execute("SELECT agreement_id FROM agreements").fetchone()[0]
    assert tuple(row) == (hashlib.sha256(pdfs[0].path.read_bytes()).hexdigest(), agreement, "moa")


def test_recheck_is_conditional(samples, tmp_path, server, client):
    pdfs, _ = samples
    path = MOA_PATH + pdfs[1].original_name
    server.routes[path] = Route(pdfs[1].path.read_bytes(), headers={"ETag": '"v1"'})
    conn = history_linking(tmp_path, ["https://www.ice.gov" + path])
    moa.download_moas(conn, tmp_path / "archive", client=client, policy=FAST)
    again = moa.download_moas(conn, tmp_path / "archive", client=client, policy=FAST, recheck=True)
    assert again.unchanged == 1 and again.downloaded == []
    assert [h.get("If-None-Match") for p, h in server.requests if p == path] == [None, '"v1"']


def test_timeout_is_a_recorded_failure(samples, tmp_path, server, client):
    pdfs, _ = samples
    server.routes[MOA_PATH + "slow.pdf"] = Route(pdfs[0].path.read_bytes(), delay=1.2)
    conn = history_linking(tmp_path, [f"https://www.ice.gov{MOA_PATH}slow.pdf"])
    report = moa.download_moas(conn, tmp_path / "archive", client=client, policy=FAST)
    assert len(report.failed) == 1 and "timed out" in report.failed[0][1]
    assert not (tmp_path / "archive" / "moa").exists()


def test_stop_is_asked_between_documents(samples, tmp_path, server, client):
    conn = history_linking(tmp_path, [f"https://www.ice.gov{MOA_PATH}{i}.pdf" for i in range(3)])
    report = moa.download_moas(conn, tmp_path / "archive", client=client, policy=FAST, stop=lambda: True)
    assert report.stopped and not report.failed and sum(server.hits.values()) == 0


def test_cli_moa_json(samples, tmp_path, server):
    pdfs, _ = samples
    server.routes[MOA_PATH + "a.pdf"] = Route(pdfs[2].path.read_bytes())
    history_linking(tmp_path, [server.url + MOA_PATH + "a.pdf", server.url + MOA_PATH + "gone.pdf"]).close()
    args = ["moa", "--archive", str(tmp_path / "archive"), "--db", str(tmp_path / "h.sqlite"),
            "--timeout", "1", "--retries", "0", "--allow-private-hosts", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["downloaded"] == [server.url + MOA_PATH + "a.pdf"]
    assert report["failed"] == [[server.url + MOA_PATH + "gone.pdf",
                                 f"{server.url}{MOA_PATH}gone.pdf: HTTP 404 Not Found"]]
    text = CliRunner().invoke(app, args[:-1])
    assert "downloaded 0, already held 1" in text.stdout and "waiting 1 " in text.stdout
    text = CliRunner().invoke(app, [*args[:-1], "--retry-now"])
    assert "downloaded 0, already held 1" in text.stdout and "HTTP 404" in text.stdout
