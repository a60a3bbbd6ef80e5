"""``g287 site build``: the whole site and the read-only API as static files.

Every file is the live app's own answer (requested in-process), written where a static
host serves it under the same URL: a page ``/state/TX`` as ``state/TX/index.html`` (hosts
answer ``/state/TX`` with it, or redirect to ``/state/TX/``), an API document
``/api/v1/agreements.csv`` as that file (the live server answers the same ``.json``/``.csv``
names). What needs a query string (search, paging, filters, dates other than the map
scrubber's) is left to the live server; the static pages still link to it harmlessly
(a static host serves the unfiltered page: ``/moas`` lists every document held without a
search, ``/moas/diff`` shows the compare form). Each MOA document's page comes with its API
record and, when the archive holds it, the PDF its page links to.
"""

from __future__ import annotations

import shutil
import sqlite3
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

from g287 import outputs, query, store
from g287.acquire import fetch as fetch_mod
from g287.acquire.moa import moa_path
from g287.documents import library as moa_library
from g287.web.app import create_app
from g287.web.pages import site_paths

LANGS = ("", "/es")
API_LISTS = ("publications", "agencies", "agreements", "changes")
API_DOCS = ("status", "series", "coverage", "reference", "geometry", "openapi")


@dataclass(frozen=True, slots=True)
class BuildReport:
    folder: Path
    files: int
    bytes: int


def urls(conn: sqlite3.Connection) -> list[str]:
    """Every URL the static site holds."""
    out: list[str] = []
    pages = site_paths(conn)
    dates = sorted({p.seen.isoformat() for p in query.publications(conn, "participating")})
    states = [p.removeprefix("/state/") for p in pages if p.startswith("/state/")]
    agencies = [p.removeprefix("/agency/") for p in pages if p.startswith("/agency/")]
    for lang in LANGS:
        out += [lang + p if p != "/" or not lang else lang for p in pages]
        out += [f"{lang}/map/{level}/{day}.json" for level in ("county", "state") for day in [*dates, "latest"]]
        out += [f"{lang}/map/{level}/{day}.svg" for level in ("county", "state") for day in ["latest", *dates[-1:]]]
        out += [f"{lang}/feeds/changes.atom"] + [f"{lang}/feeds/state/{s}.atom" for s in states]
        out += [f"{lang}/feeds/agency/{a}.atom" for a in agencies]
    out += [f"/api/v1/{name}.json" for name in API_DOCS]
    out += [f"/api/v1/{name}.{suffix}" for name in API_LISTS for suffix in ("json", "csv", "excel.csv", "parquet")]
    out += ["/api/v1/series.csv", "/api/v1/series.excel.csv"]
    out += [f"/api/v1/agencies/{a}.json" for a in agencies]
    out += [f"/publications/{p.id}/file" for p in query.publications(conn)]
    held = [d.sha256 for d in moa_library.documents(conn)]
    out += [f"/api/v1/moas/{sha}" for sha in held]
    out += [f"/moas/{sha}.pdf" for sha in held if moa_path(fetch_mod.archive_dir(), sha).is_file()]
    return [*out, "/robots.txt", "/sitemap.xml"]


def _target(folder: Path, url: str, content_type: str) -> Path:
    path = PurePosixPath(url.lstrip("/"))
    if "text/html" in content_type:
        return folder / path / "index.html"
    return folder / path


def build(db_path: Path, folder: Path) -> BuildReport:
    """Write the static site at ``folder``: generated beside it and swapped in whole
    (:func:`g287.outputs.write_folder`), replacing only an earlier g287 site build."""
    report = outputs.write_folder(folder, "site", lambda staging, previous: generate(db_path, staging, previous),
                                  legacy=lambda found: _unmarked_build(db_path, found))
    return BuildReport(folder, report.files, report.bytes)


def _unmarked_build(db_path: Path, folder: Path) -> dict[str, str] | None:
    """The files of a site built before g287 marked its outputs, or None unless the folder is
    plainly one: the API's OpenAPI document, robots.txt and sitemap.xml are there, and every
    file is at a URL the site has (a user's notes, drafts or other pages are not)."""
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file() or p.is_symlink()}
    if not {"robots.txt", "sitemap.xml", "api/v1/openapi.json"} <= files.keys():
        return None
    conn = store.connect(db_path, readonly=True)
    try:
        paths = [url.lstrip("/") for url in urls(conn)]
    finally:
        conn.close()
    static = Path(str(resources.files("g287.web").joinpath("static")))
    known = {*paths, *(f"{p}/index.html".lstrip("/") for p in paths),
             *(f"static/{p.relative_to(static).as_posix()}" for p in static.rglob("*") if p.is_file())}
    if not files.keys() <= known:
        return None
    return {rel: outputs.sha256_file(path) for rel, path in files.items() if path.is_file()}


def generate(db_path: Path, folder: Path, previous: Path | None = None) -> BuildReport:
    """Page generation: write the complete site into ``folder``, a staging folder (empty but
    for g287's marker).
    ``previous`` is the last complete build (verified as g287's own), whose unchanged files
    may be reused; never write into it."""
    conn = store.connect(db_path, readonly=True)
    try:
        wanted = urls(conn)
    finally:
        conn.close()
    shutil.copytree(Path(str(resources.files("g287.web").joinpath("static"))), folder / "static")
    with warnings.catch_warnings():  # Starlette's notice about its httpx-based client
        warnings.simplefilter("ignore", DeprecationWarning)
        from starlette.testclient import TestClient
    client = TestClient(create_app(db_path), base_url="http://localhost")
    files, size = 0, 0
    for url in wanted:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: the site answered {response.status_code} while building")
        target = _target(folder, url, response.headers.get("content-type", ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(response.content)
        files += 1
        size += len(response.content)
    return BuildReport(folder, files, size)
