"""``g287 site build``: the whole site and the read-only API as static files, for any host.

Every file is the app's own answer (requested in-process from an app made with
``static=True`` and the site's public ``base_url``), written where a static host serves it
under the same URL: a page ``/state/TX`` as ``state/TX/index.html``, an API document
``/api/v1/agreements.csv`` as that file. Links, assets, feeds, sitemap and robots carry the
base URL's path, so the site works at a domain root or under ``/g287/``. What needs a
server is done in the browser from prebuilt files (search from ``search-index.json``,
change filters over the full list, both map levels with date permalinks) or is not shown
(MOA full-text search and compare, the home page's per-state trend, which each state page
shows instead); filtered downloads are prebuilt per state. ICE's originals keep their
names; ``404.html`` is the not-found page static hosts serve.

:func:`generate` writes a complete site into a folder it is handed; given the previous
build's folder it reuses (hard-links) every file whose bytes did not change, and skips
rendering altogether when nothing the pages depend on changed. Replacing the published
folder is the caller's business (:func:`build` hands it to :func:`g287.outputs.write_folder`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
import warnings
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

from g287 import __version__, outputs, query, store
from g287.acquire import fetch as fetch_mod
from g287.acquire.moa import moa_path
from g287.documents import library as moa_library
from g287.web.app import create_app, public_base
from g287.web.context import History
from g287.web.pages import SERVER_ONLY, site_paths, static_download

LANGS = ("", "/es")
API_LISTS = ("publications", "agencies", "agreements", "changes")
API_DOCS = ("status", "series", "coverage", "reference", "geometry", "openapi")
MANIFEST = ".g287-pages.json"
NOT_FOUND = "/this-page-does-not-exist"


@dataclass(frozen=True, slots=True)
class BuildReport:
    folder: Path
    files: int
    bytes: int
    written: int  # files with new bytes
    reused: int  # unchanged files linked from the previous build
    seconds: float
    rendered: bool = True  # False: no input changed, the previous build was reused whole


def urls(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(URL to request, path of the file under the site's root) for every file of a static site."""
    out: list[str] = []
    pages = [p for p in site_paths(conn) if p not in SERVER_ONLY] + ["/map/county", "/map/state"]
    dates = sorted({p.seen.isoformat() for p in query.publications(conn, "participating")})
    states = [p.removeprefix("/state/") for p in pages if p.startswith("/state/")]
    agencies = [p.removeprefix("/agency/") for p in pages if p.startswith("/agency/")]
    for lang in LANGS:
        out += [lang + p if p != "/" or not lang else lang for p in pages]
        out += [f"{lang}/map/{level}/{day}.json" for level in ("county", "state") for day in [*dates, "latest"]]
        out += [f"{lang}/map/{level}/{day}.svg" for level in ("county", "state") for day in ["latest", *dates[-1:]]]
        out += [f"{lang}/feeds/changes.atom"] + [f"{lang}/feeds/state/{s}.atom" for s in states]
        out += [f"{lang}/feeds/agency/{a}.atom" for a in agencies]
        out += [f"{lang}/share/state/{s}.png" for s in states] + [f"{lang}/share/agency/{a}.png" for a in agencies]
    out += [f"/api/v1/{name}.json" for name in API_DOCS]
    out += [f"/api/v1/{name}.{suffix}" for name in API_LISTS for suffix in ("json", "csv", "excel.csv", "parquet")]
    out += ["/api/v1/series.csv", "/api/v1/series.excel.csv"]
    out += [f"/api/v1/agencies/{a}.json" for a in agencies]
    out += [f"/publications/{p.id}/{quote(p.file)}" for p in query.publications(conn)]
    held = [d.sha256 for d in moa_library.documents(conn)]
    out += [f"/api/v1/moas/{sha}" for sha in held]
    out += [f"/moas/{sha}.pdf" for sha in held if moa_path(fetch_mod.archive_dir(), sha).is_file()]
    out += ["/robots.txt", "/sitemap.xml", "/search-index.json"]
    pairs = [(url, unquote(url)) for url in out]
    queries = [("/api/v1/series", {"kind": "daily", "format": "csv"})]
    queries += [(f"/api/v1/{name}", {"state": s, "format": "csv"})
                for s in states for name in ("agreements", "changes")]
    pairs += [(f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}", static_download(path, params))
              for path, params in queries]
    return pairs


def _target(folder: Path, path: str, content_type: str) -> Path:
    relative = PurePosixPath(path.lstrip("/"))
    if "text/html" in content_type:
        return folder / relative / "index.html"
    return folder / relative


def fingerprint(conn: sqlite3.Connection, base_url: str | None) -> str:
    """Everything the pages depend on: the history's state, the MOA documents held, the
    code and templates of the web package, and where the site is published."""
    digest = hashlib.sha256()
    digest.update(repr((History.version(conn), __version__, base_url)).encode())
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'moa%'"
                                 " ORDER BY name").fetchall():
        digest.update(repr((table, tuple(conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()))).encode())
    if _has_table(conn, "moa_texts"):  # a new reader of the fields re-extracts documents
        digest.update(repr(tuple(conn.execute("SELECT group_concat(sha256 || extractor || fields_version) FROM"
                                              " (SELECT * FROM moa_texts ORDER BY sha256)").fetchone())).encode())
    digest.update(repr(tuple(conn.execute("SELECT MAX(started_utc) FROM fetch_log").fetchone())
                       if _has_table(conn, "fetch_log") else None).encode())
    package = Path(str(resources.files("g287.web")))
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".html", ".js", ".css", ".svg", ".po"):
            digest.update(str(path.relative_to(package)).encode() + path.read_bytes())
    return digest.hexdigest()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def _previous_manifest(previous: Path | None) -> dict:
    if previous is None:
        return {}
    try:
        return json.loads((previous / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def generate(db_path: Path, staging: Path, base_url: str | None = None,
             previous: Path | None = None) -> BuildReport:
    """Write a complete static site into ``staging`` (an empty or missing folder).

    With ``previous`` (an earlier complete build), files whose bytes are unchanged are
    hard-linked from it, and when the fingerprint of every input is unchanged nothing is
    rendered at all."""
    started = time.perf_counter()
    conn = store.connect(db_path, readonly=True)
    try:
        wanted = urls(conn)
        stamp = fingerprint(conn, base_url)
    finally:
        conn.close()
    staging.mkdir(parents=True, exist_ok=True)
    before = _previous_manifest(previous)
    known: dict[str, str] = before.get("files", {})
    files: dict[str, str] = {}
    written = reused = size = 0

    def keep(relative: str, data: bytes) -> None:
        nonlocal written, reused, size
        digest = hashlib.sha256(data).hexdigest()
        target = staging / relative
        if previous is not None and known.get(relative) == digest and (previous / relative).is_file():
            _link_or_copy(previous / relative, target)
            reused += 1
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written += 1
        files[relative] = digest
        size += len(data)

    if previous is not None and before.get("fingerprint") == stamp and all(
            (previous / rel).is_file() for rel in known):
        for relative, digest in known.items():
            _link_or_copy(previous / relative, staging / relative)
            files[relative] = digest
            size += (previous / relative).stat().st_size
        reused = len(known)
        rendered = False
    else:
        rendered = True
        static = Path(str(resources.files("g287.web").joinpath("static")))
        for path in sorted(static.rglob("*")):
            if path.is_file():
                keep(f"static/{path.relative_to(static).as_posix()}", path.read_bytes())
        with warnings.catch_warnings():  # Starlette's notice about its httpx-based client
            warnings.simplefilter("ignore", DeprecationWarning)
            from starlette.testclient import TestClient
        host = f"{urlsplit(base_url).scheme}://{urlsplit(base_url).netloc}" if base_url else "http://localhost"
        client = TestClient(create_app(db_path, base_url=base_url, static=True), base_url=host)
        for url, where in wanted:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: the site answered {response.status_code} while building")
            target = _target(staging, where, response.headers.get("content-type", ""))
            keep(target.relative_to(staging).as_posix(), response.content)
        missing = client.get(NOT_FOUND)
        keep("404.html", missing.content)
    (staging / MANIFEST).write_text(json.dumps({"fingerprint": stamp, "base_url": base_url, "files": files},
                                               indent=0, sort_keys=True), encoding="utf-8")
    return BuildReport(staging, len(files), size, written, reused, time.perf_counter() - started, rendered)


def build(db_path: Path, folder: Path, base_url: str | None = None) -> BuildReport:
    """Write the static site at ``folder``: generated beside it and swapped in whole
    (:func:`g287.outputs.write_folder`), replacing only an earlier g287 site build, whose
    unchanged files the new build reuses."""
    public_base(base_url)  # a wrong address is refused before anything is written
    report = outputs.write_folder(
        folder, "site", lambda staging, previous: generate(db_path, staging, base_url, previous),
        legacy=lambda found: _unmarked_build(db_path, found))
    return replace(report, folder=folder)


def _unmarked_build(db_path: Path, folder: Path) -> dict[str, str] | None:
    """The files of a site built before g287 marked its outputs, or None unless the folder is
    plainly one: the API's OpenAPI document, robots.txt and sitemap.xml are there, and every
    file is at a URL the site has (a user's notes, drafts or other pages are not)."""
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file() or p.is_symlink()}
    if not {"robots.txt", "sitemap.xml", "api/v1/openapi.json"} <= files.keys():
        return None
    conn = store.connect(db_path, readonly=True)
    try:
        paths = [path.lstrip("/") for _, path in urls(conn)]
    finally:
        conn.close()
    static = Path(str(resources.files("g287.web").joinpath("static")))
    known = {*paths, *(f"{p}/index.html".lstrip("/") for p in paths), MANIFEST, "404.html",
             *(f"static/{p.relative_to(static).as_posix()}" for p in static.rglob("*") if p.is_file())}
    if not files.keys() <= known:
        return None
    return {rel: outputs.sha256_file(path) for rel, path in files.items() if path.is_file()}
