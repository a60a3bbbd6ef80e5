"""HTTP behaviour other sites rely on: validators per representation, HEAD, CORS, gzip,
and fingerprinted static asset URLs."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_MAX_AGE = 365 * 24 * 3600


@cache
def asset_version(name: str) -> str:
    """First 10 hex digits of a static file's SHA-256: its URL changes when it does."""
    data = resources.files("g287.web").joinpath("static", name).read_bytes()
    return hashlib.sha256(data).hexdigest()[:10]


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


def add_middleware(app: FastAPI) -> None:
    """gzip, HEAD wherever GET works, and CORS for reading (any origin, no credentials)."""
    app.add_middleware(GZipMiddleware, minimum_size=800)
    app.add_middleware(HeadAsGet)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD"], allow_credentials=False,
                       allow_headers=["Accept", "If-None-Match", "If-Modified-Since"],
                       expose_headers=["ETag", "Last-Modified", "Content-Disposition", "Content-Language"],
                       max_age=86400)
