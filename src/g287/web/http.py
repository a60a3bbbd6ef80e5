"""HTTP behaviour other sites rely on: validators per representation, HEAD, CORS, gzip,
and fingerprinted static asset URLs."""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import format_datetime
from functools import cache, lru_cache
from importlib import resources

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from g287.web.context import History
from g287.web.i18n import Translator

STATIC_MAX_AGE = 365 * 24 * 3600


@cache
def asset_version(name: str) -> str:
    """First 10 hex digits of a static file's SHA-256: its URL changes when it does."""
    data = resources.files("g287.web").joinpath("static", name).read_bytes()
    return hashlib.sha256(data).hexdigest()[:10]


@lru_cache(maxsize=64)
def http_date(stamp: str) -> str:
    """``2025-07-08T15:18:23Z`` as an HTTP date."""
    moment = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return format_datetime(moment, usegmt=True)


def asset_url(name: str) -> str:
    """``/static/<name>?v=<hash>``, cached for a year by browsers and CDNs."""
    return f"/static/{name}?v={asset_version(name)}"


def representation_etag(state: str, lang: str, path: str, query: str, accept: str) -> str:
    """A weak ETag from everything an answer depends on: the history's state, the language,
    the URL and the representation chosen by Accept (so JSON and CSV never share one).
    Weak, because gzip changes the bytes but not the meaning."""
    wants = "csv" if "text/csv" in accept else "default"
    key = "\x1f".join((state, lang, path, query, wants))
    return f'W/"{hashlib.sha256(key.encode()).hexdigest()[:24]}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match comparison (weak: ``W/`` prefixes ignored; ``*`` matches)."""
    if not header:
        return False
    bare = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == bare for tag in header.split(","))


FILE_SUFFIXES = (".json", ".csv", ".parquet")
FILE_ROUTES = ("/api/v1/openapi.json", "/api/v1/geometry.json")


def file_alias(scope: Scope) -> Scope:
    """``/api/v1/X.json`` is ``/api/v1/X``; ``/api/v1/X.csv`` is ``/api/v1/X?format=csv`` (every
    row), ``X.excel.csv`` its Excel variant, ``X.parquet`` every row as Parquet. Files of a
    static build (``g287 site build``) have these names, so both serve the same URLs."""
    path, suffix = scope["path"].rsplit(".", 1)
    query = scope.get("query_string", b"")
    if suffix == "csv":
        path, excel = path.removesuffix(".excel"), path.endswith(".excel")
        query = (b"format=excel" if excel else b"format=csv") + (b"&" + query if query else b"")
    elif suffix == "parquet":
        query = b"format=parquet" + (b"&" + query if query else b"")
    return {**scope, "path": path, "query_string": query}


class Site:
    """Language from the path (``/es/...`` is the Spanish site, routed as ``/...``), and
    validators on every successful GET: a weak ETag per representation (304 when it
    matches), Last-Modified, ``Vary: Accept`` and a short public cache. Errors and
    static files are left alone; fingerprinted static URLs are cached for a year."""

    def __init__(self, app: ASGIApp, history: History, root: str = "") -> None:
        self.app, self.history, self.root = app, history, root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        lang = "es" if path == "/es" or path.startswith("/es/") else "en"
        bare = (path[3:] or "/") if lang == "es" else path
        scope = {**scope, "path": bare}
        if bare.startswith("/api/v1/") and bare.endswith(FILE_SUFFIXES) and bare not in FILE_ROUTES:
            scope = file_alias(scope)
        scope.setdefault("state", {})
        scope["state"] = {**scope["state"], "t": Translator(lang, self.root), "bare_path": bare}
        headers = Headers(scope=scope)
        query = scope.get("query_string", b"").decode("latin-1")
        static = bare.startswith("/static/")
        skip = False

        async def validated(message: Message) -> None:
            nonlocal skip
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Content-Language"] = lang
                if static and "v=" in query:
                    out["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
                elif scope["method"] == "GET" and message["status"] == 200 and not static:
                    state, modified = self.history.current()
                    etag = representation_etag(state, lang, bare, query, headers.get("accept", ""))
                    out["ETag"] = etag
                    out["Vary"] = "Accept"
                    if modified:
                        out["Last-Modified"] = http_date(modified)
                    if "cache-control" not in out:
                        out["Cache-Control"] = "public, max-age=60"
                    if etag_matches(headers.get("if-none-match"), etag):
                        skip = True
                        await send({"type": "http.response.start", "status": 304, "headers": [
                            (k.encode(), v.encode()) for k, v in (("etag", etag), ("vary", "Accept"))]})
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                        return
            elif skip:
                return
            await send(message)

        await self.app(scope, receive, validated)


class HeadAsGet:
    """Answer HEAD wherever GET is answered: the GET's status and headers, no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        sent_end = False

        async def head_send(message: Message) -> None:
            nonlocal sent_end
            if message["type"] == "http.response.body":
                if not sent_end:
                    sent_end = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, head_send)


def add_middleware(app: FastAPI, history: History, root: str = "") -> None:
    """Language and validators, gzip, HEAD wherever GET works, and CORS for reading (any
    origin, no credentials). ``root`` is the path the site is published under (links carry it)."""
    app.add_middleware(Site, history=history, root=root)
    app.add_middleware(GZipMiddleware, minimum_size=800)
    app.add_middleware(HeadAsGet)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD"], allow_credentials=False,
                       allow_headers=["Accept", "If-None-Match", "If-Modified-Since"],
                       expose_headers=["ETag", "Last-Modified", "Content-Disposition", "Content-Language"],
                       max_age=86400)
