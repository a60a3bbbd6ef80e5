"""Import community archives of ICE sheets in the ``sheets_YYYYMMDD_HHMMSS/`` layout:
a local folder, a zip file, or a GitHub repository (through GitHub's REST API).

Capture times come from the folder names (``g287.labels``). Files land in our
archive under the same folder and name, then are ingested; a file already there
with the same bytes is not downloaded or written again.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

import httpx

from g287 import ingest
from g287.acquire import http
from g287.acquire.files import remove_written, write_atomic

GITHUB_API = "https://api.github.com"
TOKEN_ENV = "GITHUB_TOKEN"
DEFAULT_REPO_PATH = "sheets"  # where appelson/Tracking_287g keeps its capture folders
_REPO = re.compile(r"^(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?(?::(?P<path>.*))?$")
_GITHUB_URL = re.compile(r"^https?://(?:www\.)?github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?"
                         r"(?:/tree/(?P<ref>[^/]+)(?:/(?P<path>.*))?)?/?$")
_CAPTURE = re.compile(r"^sheets_\d{8}_\d{6}$")


class ArchiveImportError(RuntimeError):
    """The archive cannot be imported; the message is one line."""


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    capture_folder: str
    name: str
    load: Callable[[], bytes]       # deferred so files we already hold are never downloaded
    git_sha: str | None = None      # GitHub's blob SHA-1, to recognise files we already hold


@dataclass(frozen=True, slots=True)
class GitHubSource:
    owner: str
    repo: str
    path: str
    ref: str | None = None


def parse_github(source: str) -> GitHubSource | None:
    """``owner/repo[:path]`` or a github.com URL (``…/tree/<ref>/<path>``), else None."""
    match = _GITHUB_URL.match(source) or _REPO.match(source)
    if match is None:
        return None
    groups = match.groupdict()
    path = groups["path"]
    return GitHubSource(groups["owner"], groups["repo"],
                        DEFAULT_REPO_PATH if path is None else path.strip("/"), groups.get("ref"))


def git_blob_sha(content: bytes) -> str:
    """Git's object id for a file's bytes, as GitHub lists it."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def import_archive(conn: sqlite3.Connection, source: str, archive: Path, *,
                   client: httpx.Client | None = None, api: str = GITHUB_API,
                   token: str | None = None, policy: http.Policy | None = None) -> ingest.IngestReport:
    """Copy an archive's sheets into our archive layout and ingest them.

    Files that cannot be ingested, or that clash with a different file of the same
    capture folder and name already in our archive, are reported in ``failed`` and
    not kept.
    """
    policy = policy or http.Policy()
    path = Path(source)
    own_client = client is None
    client = client or http.make_client(policy)
    try:
        files = _list(source, path, client, api, token, policy)
        if not files:
            raise ArchiveImportError(f"{source}: no sheets_YYYYMMDD_HHMMSS/*.xlsx files found")
        return _land(conn, archive, files)
    except http.DownloadError as exc:
        raise ArchiveImportError(str(exc)) from exc
    finally:
        if own_client:
            client.close()


def _list(source: str, path: Path, client: httpx.Client, api: str, token: str | None,
          policy: http.Policy) -> list[ArchiveFile]:
    if path.is_dir():
        return _from_folder(path)
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ArchiveImportError(f"{source}: a file, but not a zip archive")
        return _from_zip(path.read_bytes())
    github = parse_github(source)
    if github is None:
        raise ArchiveImportError(f"{source}: not a folder, a zip file or a GitHub owner/repo[:path]")
    return _GitHub(client, api.rstrip("/"), token, policy).files(github)


def _land(conn: sqlite3.Connection, archive: Path, files: list[ArchiveFile]) -> ingest.IngestReport:
    """Write what we lack into the archive, ingest it all, and keep only what ingested."""
    targets: list[Path] = []
    written: list[Path] = []
    clashes: list[ingest.FileOutcome] = []
    try:
        for item in files:
            target = archive / item.capture_folder / item.name
            if target.exists():
                if item.git_sha is None or git_blob_sha(target.read_bytes()) != item.git_sha:
                    content = item.load()
                    if target.read_bytes() != content:
                        clashes.append(ingest.FileOutcome(str(target), None, None, item.name, None,
                                                          "a different file of this name is already "
                                                          "in the archive"))
                        continue
            else:
                write_atomic(target, item.load())
                written.append(target)
            targets.append(target)
        report = ingest.ingest_paths(conn, targets)
    except BaseException:
        remove_written(written)
        raise
    unreadable = {Path(f.path) for f in report.failed}
    remove_written([p for p in written if p in unreadable])
    report.failed.extend(clashes)
    return report


def _is_sheet(parts: tuple[str, ...]) -> bool:
    """A sheet in a capture folder; skips hidden files such as macOS's ``._name.xlsx``."""
    return (len(parts) >= 2 and _CAPTURE.match(parts[-2]) is not None and "__MACOSX" not in parts
            and not parts[-1].startswith(".") and parts[-1].lower().endswith(".xlsx"))


def _from_folder(folder: Path) -> list[ArchiveFile]:
    return [ArchiveFile(p.parent.name, p.name, p.read_bytes) for p in sorted(folder.rglob("*.xlsx"))
            if _is_sheet(p.parts) and p.is_file()]


def _from_zip(content: bytes) -> list[ArchiveFile]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = [n for n in sorted(archive.namelist()) if _is_sheet(PurePosixPath(n).parts)]
        return [ArchiveFile(PurePosixPath(n).parent.name, PurePosixPath(n).name,
                            lambda data=archive.read(n): data) for n in names]


class _GitHub:
    """The few GitHub REST calls an import needs, with rate limits honoured."""

    def __init__(self, client: httpx.Client, api: str, token: str | None, policy: http.Policy) -> None:
        self.client, self.api, self.token, self.policy = client, api, token, policy

    def files(self, source: GitHubSource) -> list[ArchiveFile]:
        base = f"{self.api}/repos/{source.owner}/{source.repo}/contents"
        query = f"?ref={quote(source.ref, safe='')}" if source.ref else ""
        root = f"{base}/{quote(source.path)}" if source.path else base
        found = []
        for folder in sorted(e["name"] for e in self.listing(root + query)
                             if e.get("type") == "dir" and _CAPTURE.match(str(e.get("name")))):
            for entry in self.listing(f"{root}/{folder}{query}"):
                if entry.get("type") == "file" and _is_sheet((folder, str(entry.get("name")))):
                    found.append(ArchiveFile(folder, entry["name"], self.loader(entry), entry.get("sha")))
        return found

    def listing(self, url: str) -> list[dict]:
        """GET a folder listing; when this answer spent the rate limit, sit out its reset."""
        response = http.get(self.client, url, self.policy, headers=self.headers(url))
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise ArchiveImportError(f"{url}: the GitHub API did not answer JSON") from exc
        if not isinstance(data, list):
            raise ArchiveImportError(f"{url}: not a folder in the repository (expected a listing)")
        self.respect_quota(url, response)
        return [e for e in data if isinstance(e, dict)]

    def loader(self, entry: dict) -> Callable[[], bytes]:
        url = entry.get("download_url")
        if not url:
            raise ArchiveImportError(f"{entry.get('path', entry.get('name'))}: GitHub gives no download URL")

        def load() -> bytes:
            response = http.get(self.client, url, self.policy, headers=self.headers(url))
            self.respect_quota(url, response)
            return response.content
        return load

    def headers(self, url: str) -> dict[str, str]:
        """API headers; the token goes only to the API host and GitHub's raw-content host."""
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        host = urlsplit(url).hostname or ""
        if self.token and (host == urlsplit(self.api).hostname or host.endswith(".githubusercontent.com")):
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def respect_quota(self, url: str, response: http.Response) -> None:
        if response.headers is None or response.headers.get("X-RateLimit-Remaining") != "0":
            return
        wait = http.rate_limit_wait(response.headers) or 0.0
        if wait > self.policy.max_wait:
            raise ArchiveImportError(f"{url}: GitHub rate limit spent; it resets in {wait:.0f} s "
                                     f"(pass --token or $GITHUB_TOKEN for a higher limit)")
        time.sleep(wait)
