"""HTTP behaviour other sites rely on: validators per representation, HEAD, CORS, gzip,
and fingerprinted static asset URLs."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from email.utils import format_datetime, parsedate_to_datetime
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


def representation_etag(state: str, lang: str, path: str, query: str, content_type: str) -> str:
    """A weak ETag from everything an answer depends on: the history's state, the language,
    the URL and the representation sent (its Content-Type, so JSON and CSV never share one).
    Weak, because gzip changes the bytes but not the meaning."""
    key = "\x1f".join((state, lang, path, query, content_type))
    return f'W/"{hashlib.sha256(key.encode()).hexdigest()[:24]}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match comparison (weak: ``W/`` prefixes ignored; ``*`` matches)."""
    if not header:
        return False
    bare = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def not_modified(headers: Headers, etag: str, last_modified: str | None) -> bool:
    """Whether a GET may be answered 304 (RFC 9110 §13.1): If-None-Match decides when sent;
    otherwise If-Modified-Since, when it is a valid HTTP date at or after Last-Modified."""
    if "if-none-match" in headers:
        return etag_matches(headers["if-none-match"], etag)
    since = headers.get("if-modified-since")
    if not since or not last_modified:
        return False
    try:
        client = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False  # an unreadable date is ignored, as the RFC says
    if client.tzinfo is None:
        return False
    changed = dt.datetime.strptime(last_modified, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return changed <= client


def preferred(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer the client prefers by Accept (RFC 9110 §12.5.1): each offer takes the q of
    the most specific range that matches it (``text/csv`` over ``text/*`` over ``*/*``); the
    highest q wins, ties going to the first offer. No Accept (or an empty one): the first
    offer. None when every offer is excluded (q=0) or matched by no range."""
    if not accept or not accept.strip():
        return offers[0] if offers else None
    ranges: list[tuple[str, str, float]] = []
    for part in accept.split(",")[:50]:
        media, *params = (p.strip() for p in part.split(";"))
        kind, slash, sub = media.lower().partition("/")
        if not slash or not kind or not sub:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append((kind, sub, q))
    best: tuple[float, str] | None = None
    for offer in offers:
        kind, _, sub = offer.lower().partition("/")
        matches = [(2 if (k, s) == (kind, sub) else 1 if (k, s) == (kind, "*") else 0, q)
                   for k, s, q in ranges if (k, s) in ((kind, sub), (kind, "*"), ("*", "*"))]
        if not matches:
            continue
        q = max(matches)[1]
        if q > 0 and (best is None or q > best[0]):
            best = (q, offer)
    return best[1] if best else None


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
                    etag = representation_etag(state, lang, bare, query, out.get("content-type", ""))
                    out["ETag"] = etag
                    out["Vary"] = "Accept"
                    if modified:
                        out["Last-Modified"] = http_date(modified)
                    if "cache-control" not in out:
                        out["Cache-Control"] = "public, max-age=60"
                    if not_modified(headers, etag, modified):
                        skip = True
                        kept = [(k, v) for k, v in out.raw if k in NOT_MODIFIED_HEADERS]
                        await send({"type": "http.response.start", "status": 304, "headers": kept})
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                        return
            elif skip:
                return
            await send(message)

        await self.app(scope, receive, validated)


NOT_MODIFIED_HEADERS = (b"etag", b"vary", b"last-modified", b"cache-control", b"content-language")
"""What a 304 repeats of the 200 it stands for (RFC 9110 §15.4.5)."""


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
    """Language and validators, gzip, HEAD wherever GET works, and CORS from any origin
    without credentials: reading, and POSTing a claim to check (its preflight included).
    ``root`` is the path the site is published under (links carry it)."""
    app.add_middleware(Site, history=history, root=root)
    app.add_middleware(GZipMiddleware, minimum_size=800)
    app.add_middleware(HeadAsGet)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD", "POST"],
                       allow_credentials=False,
                       allow_headers=["Accept", "Content-Type", "If-None-Match", "If-Modified-Since"],
                       expose_headers=["ETag", "Last-Modified", "Content-Disposition", "Content-Language"],
                       max_age=86400)
