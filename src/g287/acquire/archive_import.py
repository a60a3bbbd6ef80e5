"""Import community archives of ICE sheets in the ``sheets_YYYYMMDD_HHMMSS/`` layout:
a local folder, a zip file, or a GitHub repository (through GitHub's REST API)."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx

from g287 import ingest
from g287.acquire import http
from g287.acquire.files import write_atomic

GITHUB_API = "https://api.github.com"
_REPO = re.compile(r"^(?:https?://github\.com/)?(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?"
                   r"(?::(?P<path>.*))?/?$")
_CAPTURE = re.compile(r"^sheets_\d{8}_\d{6}$")


class ArchiveImportError(RuntimeError):
    """The archive cannot be imported; the message is one line."""


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    capture_folder: str
    name: str
    content: bytes


def import_archive(conn: sqlite3.Connection, source: str, archive: Path, *,
                   client: httpx.Client | None = None, api: str = GITHUB_API,
                   token: str | None = None, policy: http.Policy | None = None) -> ingest.IngestReport:
    """Copy an archive's sheets into our archive layout and ingest them."""
    path = Path(source)
    if path.is_dir():
        files = list(_from_folder(path))
    elif path.is_file() and zipfile.is_zipfile(path):
        files = list(_from_zip(path.read_bytes()))
    elif _REPO.match(source) and not path.exists():
        files = list(_from_github(source, client, api, token, policy or http.Policy()))
    else:
        raise ArchiveImportError(f"{source}: not a folder, a zip file or a GitHub owner/repo[:path]")
    if not files:
        raise ArchiveImportError(f"{source}: no sheets_YYYYMMDD_HHMMSS/*.xlsx files found")
    targets = []
    for item in files:
        target = archive / item.capture_folder / item.name
        if not target.exists():
            write_atomic(target, item.content)
        targets.append(target)
    return ingest.ingest_paths(conn, targets)


def _is_sheet(parts: tuple[str, ...]) -> bool:
    return (len(parts) >= 2 and _CAPTURE.match(parts[-2]) is not None
            and parts[-1].lower().endswith(".xlsx"))


def _from_folder(folder: Path) -> list[ArchiveFile]:
    return [ArchiveFile(p.parent.name, p.name, p.read_bytes()) for p in sorted(folder.rglob("*.xlsx"))
            if _is_sheet(p.parts)]


def _from_zip(content: bytes) -> list[ArchiveFile]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [ArchiveFile(PurePosixPath(n).parent.name, PurePosixPath(n).name, archive.read(n))
                for n in sorted(archive.namelist()) if _is_sheet(PurePosixPath(n).parts)]


def _from_github(source: str, client: httpx.Client | None, api: str, token: str | None,
                 policy: http.Policy) -> list[ArchiveFile]:
    match = _REPO.match(source)
    assert match is not None
    owner, repo, root = match["owner"], match["repo"], (match["path"] or "sheets").strip("/")
    headers = {"Accept": "application/vnd.github+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    own = client is None
    client = client or http.make_client(policy)
    try:
        listing = _github_json(client, f"{api}/repos/{owner}/{repo}/contents/{root}", headers, policy)
        files = []
        for folder in sorted(item["name"] for item in listing
                             if item.get("type") == "dir" and _CAPTURE.match(item["name"])):
            entries = _github_json(client, f"{api}/repos/{owner}/{repo}/contents/{root}/{folder}",
                                   headers, policy)
            for entry in entries:
                if entry.get("type") == "file" and entry["name"].lower().endswith(".xlsx"):
                    body = http.get(client, entry["download_url"], policy, headers=headers).content
                    files.append(ArchiveFile(folder, entry["name"], body))
        return files
    finally:
        if own:
            client.close()


def _github_json(client: httpx.Client, url: str, headers: dict[str, str], policy: http.Policy) -> list:
    """GET a GitHub API listing; when this answer spent the rate limit, wait for its reset
    before the next call (a refused call is retried by ``http.get``)."""
    response = http.get(client, url, policy, headers=headers)
    if response.headers is not None and response.headers.get("X-RateLimit-Remaining") == "0":
        time.sleep(http.rate_limit_wait(response.headers) or 0.0)
    try:
        data = json.loads(response.content)
    except ValueError as exc:
        raise ArchiveImportError(f"{url}: the GitHub API did not answer JSON") from exc
    if not isinstance(data, list):
        raise ArchiveImportError(f"{url}: expected a folder listing from the GitHub API")
    return data

