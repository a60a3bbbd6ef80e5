"""Import community archives of ICE sheets in the ``sheets_YYYYMMDD_HHMMSS/`` layout:
a local folder, a zip file, or a GitHub repository (through GitHub's REST API).

A repository is listed with the Git Trees API (one request for the whole tree; the
contents API stops at 1,000 entries a folder, fewer than a long-running capture job
makes) and its files are downloaded from GitHub's raw-content host, which does not
count against the API's rate limit.

Capture times come from the folder names (``g287.labels``). Files land in our
archive under the same folder and name, then are ingested; a file already there
with the same bytes is not downloaded or written again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

import httpx

from g287 import ingest, inputs, xlsx
from g287.acquire import http
from g287.acquire.files import remove_written, write_atomic
from g287.errors import BadInput, NetworkError

GITHUB_API = "https://api.github.com"
GITHUB_RAW = "https://raw.githubusercontent.com"
TOKEN_ENV = "GITHUB_TOKEN"
ZIP_MAX_BYTES = 4096 * inputs.MB  # the whole archive as one zip is a few hundred MB
DEFAULT_REPO_PATH = "sheets"  # where appelson/Tracking_287g keeps its capture folders
_REPO = re.compile(r"^(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?(?::(?P<path>.*))?$")
_GITHUB_URL = re.compile(r"^https?://(?:www\.)?github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?"
                         r"(?:/tree/(?P<ref>[^/]+)(?:/(?P<path>.*))?)?/?$")
_CAPTURE = re.compile(r"^sheets_\d{8}_\d{6}$")


class ArchiveImportError(BadInput):
    """The archive cannot be imported; the message is one line."""


class ArchiveUnreachable(NetworkError, ArchiveImportError):
    """The archive's host could not be reached or refused (a network failure, exit 1)."""


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
                   client: httpx.Client | None = None, api: str = GITHUB_API, raw: str = GITHUB_RAW,
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
        files = _list(source, path, _GitHub(client, api.rstrip("/"), raw.rstrip("/"), token, policy))
        if not files:
            raise ArchiveImportError(f"{source}: no sheets_YYYYMMDD_HHMMSS/*.xlsx files found")
        return _land(conn, archive, files)
    except http.DownloadError as exc:
        raise ArchiveUnreachable(str(exc)) from exc
    finally:
        if own_client:
            client.close()


def _list(source: str, path: Path, github: _GitHub) -> list[ArchiveFile]:
    if path.is_dir():
        return _from_folder(path)
    if os.path.lexists(path) and not path.is_dir():
        content = inputs.read_file(path, ZIP_MAX_BYTES, "zip archive")
        if not zipfile.is_zipfile(io.BytesIO(content)):
            raise ArchiveImportError(f"{source}: a file, but not a zip archive")
        try:
            return _from_zip(content)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise ArchiveImportError(f"{source}: a damaged zip archive ({exc})") from exc
    repository = parse_github(source)
    if repository is None:
        raise ArchiveImportError(f"{source}: not a folder, a zip file or a GitHub owner/repo[:path]")
    return github.files(repository)


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
                    try:
                        content = item.load()
                    except ArchiveImportError as exc:
                        clashes.append(ingest.FileOutcome(str(target), None, None, item.name, None, str(exc)))
                        continue
                    if target.read_bytes() != content:
                        clashes.append(ingest.FileOutcome(str(target), None, None, item.name, None,
                                                          "a different file of this name is already "
                                                          "in the archive"))
                        continue
            else:
                try:
                    content = item.load()
                except ArchiveImportError as exc:
                    clashes.append(ingest.FileOutcome(str(target), None, None, item.name, None, str(exc)))
                    continue
                write_atomic(target, content)
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
    """The sheets of a zip archive, each read only when needed and only if its declared
    size is sane; a name the zip holds twice is refused rather than one copy dropped."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        entries = [i for i in archive.infolist() if _is_sheet(PurePosixPath(i.filename).parts)]
    counts = Counter(i.filename for i in entries)
    files = []
    for info in sorted({i.filename: i for i in entries}.values(), key=lambda i: i.filename):
        path = PurePosixPath(info.filename)
        load = partial(_zip_entry, content, info, counts[info.filename])
        files.append(ArchiveFile(path.parent.name, path.name, load))
    return files


def _zip_entry(content: bytes, info: zipfile.ZipInfo, copies: int) -> bytes:
    if copies > 1:
        raise ArchiveImportError(f"{info.filename} appears {copies} times in the zip archive; none was imported")
    limit = ingest.MAX_FILE_BYTES
    bomb = info.file_size > 1024 * 1024 and info.file_size > xlsx.MAX_RATIO * max(info.compress_size, 1)
    if info.file_size > limit or bomb:
        raise ArchiveImportError(f"{info.filename} inflates to {info.file_size:,} bytes from "
                                 f"{info.compress_size:,}; more than g287 reads from one entry")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive, archive.open(info) as handle:
            return handle.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ArchiveImportError(f"{info.filename}: corrupt zip entry ({exc})") from exc


class _GitHub:
    """The few GitHub REST calls an import needs, with rate limits honoured."""

    def __init__(self, client: httpx.Client, api: str, raw: str, token: str | None,
                 policy: http.Policy) -> None:
        self.client, self.api, self.raw, self.token, self.policy = client, api, raw, token, policy

    def files(self, source: GitHubSource) -> list[ArchiveFile]:
        """Every sheet under the source's path, with its blob SHA and a deferred download."""
        repo = f"{self.api}/repos/{source.owner}/{source.repo}"
        ref = source.ref or str(self.json(repo).get("default_branch") or "")
        if not ref:
            raise ArchiveImportError(f"{repo}: GitHub names no default branch")
        prefix = f"{source.path}/" if source.path else ""
        found = []
        for path, sha in self.blobs(repo, ref):
            parts = tuple(path.removeprefix(prefix).split("/"))
            if path.startswith(prefix) and len(parts) == 2 and _is_sheet(parts):
                url = f"{self.raw}/{source.owner}/{source.repo}/{quote(ref)}/{quote(path)}"
                found.append(ArchiveFile(parts[0], parts[1], self.loader(url), sha))
        return found

    def blobs(self, repo: str, ref: str) -> list[tuple[str, str]]:
        """(path, blob SHA) of every file at ``ref``; when GitHub truncates the recursive
        listing (over 100,000 entries), the tree is walked one folder at a time."""
        listing = self.json(f"{repo}/git/trees/{quote(ref, safe='')}?recursive=1")
        if not listing.get("truncated"):
            return sorted((str(e["path"]), str(e["sha"])) for e in _entries(listing) if e.get("type") == "blob")
        found: list[tuple[str, str]] = []
        folders = [("", str(listing.get("sha")))]
        while folders:
            folder, sha = folders.pop()
            for entry in _entries(self.json(f"{repo}/git/trees/{sha}")):
                path = f"{folder}{entry['path']}"
                if entry.get("type") == "tree":
                    folders.append((f"{path}/", str(entry["sha"])))
                elif entry.get("type") == "blob":
                    found.append((path, str(entry["sha"])))
        return sorted(found)

    def json(self, url: str) -> dict:
        """GET a JSON object from the API; when this answer spent the rate limit, sit out its reset."""
        response = http.get(self.client, url, self.policy, headers=self.headers(url))
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise ArchiveUnreachable(f"{url}: the GitHub API did not answer JSON") from exc
        if not isinstance(data, dict):
            raise ArchiveImportError(f"{url}: the GitHub API answered something other than an object")
        self.respect_quota(url, response)
        return data

    def loader(self, url: str) -> Callable[[], bytes]:
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
            raise ArchiveUnreachable(f"{url}: GitHub rate limit spent; it resets in {wait:.0f} s "
                                     f"(pass --token or $GITHUB_TOKEN for a higher limit)")
        time.sleep(wait)


def _entries(listing: dict) -> list[dict]:
    tree = listing.get("tree")
    if not isinstance(tree, list):
        raise ArchiveImportError("the GitHub API gave a tree without entries")
    return [e for e in tree if isinstance(e, dict) and "path" in e and "sha" in e]
