"""What the site does to stay safe with hostile data and hostile clients.

Sheet cells reach pages (an MOA "link" can be ``javascript:…``), file names reach
headers (a raw file's name can hold quotes, newlines, any script), and clients can
send endless bodies. These helpers and middlewares bound each of those once.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles only from this site; no frames, no plugins, forms post here only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
MAX_BODY_BYTES = 1_000_000


def http_url(url: object) -> str | None:
    """The URL when it is an absolute http(s) link to a host, else None (never rendered)."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def content_disposition(file_name: str, disposition: str = "attachment") -> str:
    """An RFC 6266 header for any file name: a plain ASCII ``filename`` fallback and the
    exact name UTF-8-encoded in ``filename*`` (quotes, newlines and non-Latin names are safe)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in file_name)
    return f"{disposition}; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{quote(file_name, safe='')}"


class SecurityHeaders:
    """Adds a strict Content-Security-Policy and related headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in ((b"content-security-policy", CSP.encode()),
                                    (b"x-content-type-options", b"nosniff"),
                                    (b"referrer-policy", b"no-referrer")):
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes (413), by declared length or as they stream."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(self.limit, scope["path"])(scope, receive, send)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, bounded, send)
        except _BodyTooLarge:
            await _too_large(self.limit, scope["path"])(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int, path: str) -> Response:
    """413, in the API's JSON error shape under ``/api/``."""
    message = f"request body over {limit:,} bytes"
    if path.startswith(("/api/", "/es/api/")):
        return JSONResponse({"error": {"code": "too_large", "message": message}}, status_code=413)
    return PlainTextResponse(message, status_code=413)
