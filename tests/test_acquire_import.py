"""Importing community archives: a folder, a zip, a GitHub repository through its REST API."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from g287 import store
from g287.acquire import archive_import
from g287.acquire.archive_import import GitHubSource, git_blob_sha, parse_github
from g287.cli import app
from test_acquire_support import FAST, Route, Server, server_fixture, state_of  # noqa: F401

REPO = "/repos/appelson/Tracking_287g"
TREE = f"{REPO}/git/trees/main"
RAW = "/raw/appelson/Tracking_287g/main/sheets"


def captures(ice_sheets: Path, start: int, stop: int) -> list[Path]:
    return sorted(p for p in ice_sheets.iterdir() if p.is_dir())[start:stop]


def copy_layout(folders: list[Path], root: Path) -> int:
    count = 0
    for folder in folders:
        for f in folder.glob("*.xlsx"):
            (root / folder.name).mkdir(parents=True, exist_ok=True)
            (root / folder.name / f.name).write_bytes(f.read_bytes())
            count += 1
    return count


def test_parse_github_sources():
    assert parse_github("appelson/Tracking_287g") == GitHubSource("appelson", "Tracking_287g", "sheets")
    assert parse_github("appelson/Tracking_287g:data/sheets/") == GitHubSource("appelson", "Tracking_287g",
                                                                               "data/sheets")
    assert parse_github("https://github.com/appelson/Tracking_287g.git") == GitHubSource(
        "appelson", "Tracking_287g", "sheets")
    assert parse_github("https://github.com/appelson/Tracking_287g/tree/main/sheets") == GitHubSource(
        "appelson", "Tracking_287g", "sheets", "main")
    assert parse_github("not a repo") is None


def test_folder_import_files_and_reimport_is_a_no_op(ice_sheets, tmp_path):
    source = tmp_path / "community"
    count = copy_layout(captures(ice_sheets, 0, 6), source / "sheets")
    (source / "sheets" / "README.md").write_text("rendered table")
    (source / "sheets" / "sheets_20250519_024330" / ".~lock.x.xlsx").write_bytes(b"junk")
    (source / "other").mkdir()
    (source / "other" / "participatingAgencies.xlsx").write_bytes(b"not in a capture folder")
    conn = store.connect(tmp_path / "h.sqlite")
    report = archive_import.import_archive(conn, str(source), tmp_path / "archive")
    assert not report.failed and len(report.added) + len(report.seen_again) == count
    assert sorted(p.parent.name for p in (tmp_path / "archive").rglob("*.xlsx")) == sorted(
        p.parent.name for p in (source / "sheets").rglob("*.xlsx") if not p.name.startswith("."))
    folders = {r[0] for r in conn.execute("SELECT capture_folder FROM captures")}
    assert folders == {p.name for p in captures(ice_sheets, 0, 6)}
    again = archive_import.import_archive(conn, str(source), tmp_path / "archive")
    assert not again.added and len(again.seen_again) == count


def test_zip_import_skips_macos_junk(ice_sheets, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for folder in captures(ice_sheets, 6, 8):
            for f in folder.glob("*.xlsx"):
                z.write(f, f"Tracking_287g-main/sheets/{folder.name}/{f.name}")
                z.writestr(f"__MACOSX/Tracking_287g-main/sheets/{folder.name}/._{f.name}", b"\0\5\26\7")
    (tmp_path / "a.zip").write_bytes(buffer.getvalue())
    conn = store.connect(tmp_path / "h.sqlite")
    report = archive_import.import_archive(conn, str(tmp_path / "a.zip"), tmp_path / "archive")
    assert report.added and not report.failed
    assert not list((tmp_path / "archive").rglob("._*"))


def test_clashing_and_unreadable_files_are_reported_not_kept(ice_sheets, tmp_path):
    folder = captures(ice_sheets, 0, 1)[0]
    source = tmp_path / "community"
    copy_layout([folder], source)
    broken = source / folder.name / "pendingAgencies01012026am.xlsx"
    broken.write_bytes(b"<html>not a sheet</html>")
    archive = tmp_path / "archive"
    name = next(folder.glob("participating*.xlsx")).name
    (archive / folder.name).mkdir(parents=True)
    (archive / folder.name / name).write_bytes(b"something else")
    conn = store.connect(tmp_path / "h.sqlite")
    report = archive_import.import_archive(conn, str(source), archive)
    failed = {Path(f.path).name: f.message for f in report.failed}
    assert set(failed) == {broken.name, name} and "already in the archive" in failed[name]
    assert not (archive / folder.name / broken.name).exists()
    assert (archive / folder.name / name).read_bytes() == b"something else"


def serve_repo(server: Server, folders: list[Path], raw_host: str = "127.0.0.1", *,
               truncated: bool = False) -> str:
    """Serve a GitHub-like API for a repository holding these capture folders under
    ``sheets/``: its default branch, its tree (whole, or truncated so that it must be
    walked folder by folder) and raw files; return the raw-content base URL."""
    def tree(sha: str, entries: list[dict], **extra: object) -> Route:
        server.routes[f"{REPO}/git/trees/{sha}"] = Route(json.dumps({"sha": sha, "tree": entries} | extra).encode())
        return server.routes[f"{REPO}/git/trees/{sha}"]

    server.routes[REPO] = Route(json.dumps({"default_branch": "main"}).encode())
    readme = {"path": "README.md", "type": "blob", "sha": git_blob_sha(b"# sheets")}
    whole = [readme, {"path": "sheets", "type": "tree", "sha": "5" * 40}]
    in_sheets = []
    for number, folder in enumerate(folders):
        folder_sha = f"{number:040d}"
        whole.append({"path": f"sheets/{folder.name}", "type": "tree", "sha": folder_sha})
        in_sheets.append({"path": folder.name, "type": "tree", "sha": folder_sha})
        in_folder = []
        for f in sorted(folder.glob("*.xlsx")):
            server.routes[f"{RAW}/{folder.name}/{f.name}"] = Route(f.read_bytes())
            blob = {"type": "blob", "sha": git_blob_sha(f.read_bytes())}
            whole.append({"path": f"sheets/{folder.name}/{f.name}"} | blob)
            in_folder.append({"path": f.name} | blob)
        tree(folder_sha, in_folder)
    tree("5" * 40, in_sheets)
    tree("f" * 40, whole[:2])
    server.routes[TREE] = Route(json.dumps({"sha": "f" * 40, "tree": whole[:2] if truncated else whole,
                                            "truncated": truncated}).encode())
    return f"http://{raw_host}:{server.url.rsplit(':', 1)[1]}/raw"


def test_github_import_honours_rate_limits_and_never_downloads_twice(ice_sheets, tmp_path, server):
    folders = captures(ice_sheets, 5, 7)
    raw = serve_repo(server, folders)
    server.routes[TREE].fail_first = 1
    server.routes[TREE].fail_status = 429
    server.routes[TREE].fail_headers = {"Retry-After": "1"}
    server.routes[TREE].headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 2)}
    conn = store.connect(tmp_path / "h.sqlite")
    started = time.monotonic()
    with httpx.Client(timeout=5) as c:
        report = archive_import.import_archive(conn, "appelson/Tracking_287g", tmp_path / "archive", client=c,
                                               api=server.url, raw=raw, token="t0ken", policy=FAST)
    assert time.monotonic() - started >= 1.0  # sat out Retry-After and the spent quota
    assert server.hits[TREE] == 2 and server.hits[REPO] == 1
    files = sum(1 for f in folders for _ in f.glob("*.xlsx"))
    assert not report.failed and len(report.added) + len(report.seen_again) == files
    assert {r[0] for r in conn.execute("SELECT capture_folder FROM captures")} == {f.name for f in folders}
    assert all(h.get("Authorization") == "Bearer t0ken" for p, h in server.requests if not p.startswith("/raw/"))

    server.routes[TREE].headers = {}
    raw_hits = sum(n for path, n in server.hits.items() if path.startswith("/raw/"))
    with httpx.Client(timeout=5) as c:
        again = archive_import.import_archive(conn, "https://github.com/appelson/Tracking_287g/tree/main/sheets",
                                              tmp_path / "archive", client=c, api=server.url, raw=raw, policy=FAST)
    assert len(again.seen_again) == files
    assert sum(n for path, n in server.hits.items() if path.startswith("/raw/")) == raw_hits
    assert server.hits[REPO] == 1  # the ref came with the URL
    assert server.requests[-1][0] == f"{TREE}?recursive=1"


def test_a_truncated_tree_is_walked_folder_by_folder(ice_sheets, tmp_path, server):
    """GitHub truncates a recursive tree of over 100,000 entries; the import then lists
    each folder's own tree and finds the same files (no 1,000-entry folder cap either)."""
    folders = captures(ice_sheets, 5, 8)
    raw = serve_repo(server, folders, truncated=True)
    conn = store.connect(tmp_path / "h.sqlite")
    with httpx.Client(timeout=5) as c:
        report = archive_import.import_archive(conn, "appelson/Tracking_287g", tmp_path / "archive", client=c,
                                               api=server.url, raw=raw, policy=FAST)
    files = sorted(f"{f.parent.name}/{f.name}" for folder in folders for f in folder.glob("*.xlsx"))
    assert not report.failed and len(report.added) + len(report.seen_again) == len(files)
    assert sorted(str(p.relative_to(tmp_path / "archive")) for p in (tmp_path / "archive").rglob("*.xlsx")) == files
    assert server.hits[f"{REPO}/git/trees/{'5' * 40}"] == 1 and server.hits[f"{REPO}/git/trees/{'0' * 40}"] == 1


def test_token_goes_only_to_the_api_host(ice_sheets, tmp_path, server):
    raw = serve_repo(server, captures(ice_sheets, 5, 6), raw_host="localhost")
    conn = store.connect(tmp_path / "h.sqlite")
    with httpx.Client(timeout=5) as c:
        archive_import.import_archive(conn, "appelson/Tracking_287g", tmp_path / "archive", client=c,
                                      api=server.url, raw=raw, token="t0ken", policy=FAST)
    sent = {path.startswith("/raw/"): h.get("Authorization") for path, h in server.requests}
    assert sent == {False: "Bearer t0ken", True: None}


def test_spent_quota_beyond_patience_is_a_clear_error(tmp_path, server):
    server.routes[REPO] = Route(b"{}", 403, {"X-RateLimit-Remaining": "0",
                                             "X-RateLimit-Reset": str(int(time.time()) + 3600)})
    conn = store.connect(tmp_path / "h.sqlite")
    before = state_of(conn, tmp_path / "archive")
    with httpx.Client(timeout=5) as c, pytest.raises(archive_import.ArchiveImportError,
                                                     match="HTTP 403.*asks us to wait"):
        archive_import.import_archive(conn, "appelson/Tracking_287g", tmp_path / "archive", client=c,
                                      api=server.url, policy=FAST)
    assert state_of(conn, tmp_path / "archive") == before


def test_cli_import_folder_json_and_errors(ice_sheets, tmp_path, server):
    source = tmp_path / "community"
    count = copy_layout(captures(ice_sheets, 0, 2), source)
    base = ["--archive", str(tmp_path / "archive"), "--db", str(tmp_path / "h.sqlite"), "--allow-private-hosts"]
    result = CliRunner().invoke(app, ["import-archive", str(source), *base, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["added"]) + len(report["seen_again"]) == count and report["failed"] == []
    (tmp_path / "notes.txt").write_text("hello")
    bad = CliRunner().invoke(app, ["import-archive", str(tmp_path / "notes.txt"), *base])
    assert bad.exit_code == 2 and bad.stderr.strip().endswith("notes.txt: a file, but not a zip archive")
    missing = CliRunner().invoke(app, ["import-archive", "owner/none", *base, "--api", server.url,
                                       "--retries", "0"])
    assert missing.exit_code == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "/repos/owner/none: HTTP 404" in missing.stderr
