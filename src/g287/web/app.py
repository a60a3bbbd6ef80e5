"""The ASGI application: API, pages, feeds and static files over one history database."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from g287 import __version__
from g287.errors import BadInput, G287Error, from_environment
from g287.web import api, http, pages
from g287.web import moa as moa_pages
from g287.web.context import History, OneSnapshot
from g287.web.safety import BodyLimit, SecurityHeaders


def create_app(db_path: Path, base_url: str | None = None, static: bool = False) -> FastAPI:
    """Build the site for one history database (opened read-only per request).

    ``base_url`` is where the site is published (``https://org.github.io/g287/``): links
    start with its path and feeds, sitemap and robots name it. ``static`` renders pages for
    a static host (``g287 site build``): what would need the server is done in the browser
    from prebuilt files, or not shown."""
    app = FastAPI(title="g287 API", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url=None, redoc_url=None, description=API_DESCRIPTION)
    app.state.history = History(db_path)
    app.state.public_url, app.state.root = public_base(base_url)
    app.state.static = static
    app.include_router(api.router)
    app.include_router(api.docs_router)
    app.include_router(moa_pages.api_router)
    app.include_router(moa_pages.page_router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(resources.files("g287.web").joinpath("static"))),
              name="static")

    http.add_middleware(app, app.state.history, app.state.root)

    @app.exception_handler(api.ApiError)
    async def api_error(_request: Request, exc: api.ApiError) -> Response:
        return api.error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in _LOCATION_NOISE and "[" not in str(p))
        said = first.get("msg", "invalid value")
        if first.get("type") == "string_pattern_mismatch":
            said = api.PATTERN_MEANING.get((first.get("ctx") or {}).get("pattern", ""), said)
        message = f"{where}: {said}" if where else said
        if request.url.path.startswith("/api/"):
            return api.error_response(400, "bad_parameter", message)
        return pages.render(request, "error.html", status_code=400,
                            message=request.state.t("error.bad_parameter", where=where or message))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if "GET" in headers.get("Allow", "").split(", "):
            headers["Allow"] += ", HEAD"  # answered wherever GET is (http.HeadAsGet)
        if request.url.path.startswith("/api/"):
            return api.error_response(exc.status_code, _ERROR_CODES.get(exc.status_code, "error"), str(exc.detail),
                                      headers=headers)
        t = request.state.t
        page = pages.render(request, "error.html", status_code=exc.status_code, message=t(
            "error.not_found") if exc.status_code == 404 else t("error.generic", status=exc.status_code))
        page.headers.update(headers)
        return page

    @app.exception_handler(G287Error)
    @app.exception_handler(sqlite3.Error)
    async def g287_error(request: Request, exc: Exception) -> Response:
        """The web's one mapping of library errors: JSON under /api/, a page elsewhere."""
        mapped = from_environment(exc)
        if mapped is None:
            raise exc
        status = mapped.http_status if isinstance(exc, G287Error) else 503
        if request.url.path.startswith("/api/"):
            return api.error_response(status, _ERROR_CODES.get(status, "error"), mapped.message)
        return pages.render(request, "error.html", status_code=status, message=mapped.message)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        """A bug still answers in the API's one error shape (and is logged with its traceback)."""
        if request.url.path.startswith("/api/"):
            return api.error_response(500, "internal", "internal error (a bug in g287; please report it): "
                                      f"{type(exc).__name__}")
        return PlainTextResponse("Internal Server Error", status_code=500)

    original_openapi = app.openapi
    app.openapi = lambda: api.tidy_openapi(original_openapi())  # type: ignore[method-assign]

    app.add_middleware(OneSnapshot, history=app.state.history)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit)
    return app


def public_base(base_url: str | None) -> tuple[str | None, str]:
    """(absolute URL without trailing slash, path part) of where the site is published."""
    if not base_url:
        return None, ""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise BadInput(f"--base-url {base_url!r}: expected http(s)://host[/path/]")
    root = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{root}", root


# Parts of a validation error's location that name no parameter: where it was sent, or which
# member of a union (``value.float``) pydantic tried.
_LOCATION_NOISE = {"query", "path", "body", "header", "float", "int", "str", "bool", "none"}
_ERROR_CODES = {400: "bad_parameter", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
                502: "upstream", 503: "unavailable"}
API_DESCRIPTION = (
    "A citable history of ICE's 287(g) agreements. Every figure names the ICE publication (file, "
    "label date, SHA-256) it comes from.\n\n"
    "Every failure is JSON, `{\"error\": {\"code\", \"message\"}}`, with its status: 400 for a "
    "parameter that is missing, malformed or out of range (dates are `YYYY-MM-DD` from 1900-01-01 "
    "to 2100-12-31; text holds no control characters), 404 when nothing matches, 405 (with "
    "`Allow`) for a method a path does not take, 406 when Accept allows no representation a list "
    "has, 409 while another process locks the history, 413 for a body over 1 MB, 503 when the "
    "history cannot be read. Lists answer JSON, CSV (`format=csv`, `excel`, or `Accept: text/csv`, "
    "q-values honoured) and Parquet (`format=parquet`), with flat columns. GETs carry a weak ETag "
    "and Last-Modified and answer 304 to If-None-Match or If-Modified-Since. CORS: any origin, "
    "GET, HEAD and POST (the claims check), no credentials.")
