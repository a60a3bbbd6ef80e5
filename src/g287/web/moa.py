"""MOA documents on the web: ``/api/v1/moas`` (search, records, per agreement) and the pages
``/moas`` (search with highlighted snippets linking to the PDF page), ``/moas/{sha}``,
``/moas/checks`` (documents vs sheets) and ``/moas/diff``. Each handler calls one
:mod:`g287.documents.library` function, as the CLI does.
"""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response

from g287.acquire import fetch as fetch_mod
from g287.acquire.moa import moa_path
from g287.cli.common import to_jsonable
from g287.documents import library
from g287.errors import G287Error
from g287.web import api, pages

api_router = APIRouter(prefix="/api/v1", responses=api.ERRORS, tags=["moas"])
page_router = APIRouter(include_in_schema=False)

Phrase = Annotated[str, api.text_query(200, "Words to find, as a phrase (stemmed).")]
StateFilter = Annotated[str | None, api.text_query(2, "Two-letter state of the linked agreement.")]
ModelFilter = Annotated[str | None, api.text_query(3, "JEM, WSO or TFM.")]
Ref = Annotated[str, PathParam(max_length=200, pattern=api.NO_CONTROLS)]


def _call(request: Request, compute: Any) -> Any:
    try:
        with request.app.state.history.connect() as conn:
            return compute(conn)
    except G287Error as exc:
        raise api.ApiError(exc.http_status, type(exc).__name__.lower(), str(exc)) from exc


@api_router.get("/moas", summary="MOA documents: full-text search (q) or every document held")
def moas(request: Request, q: Phrase = "", state: StateFilter = None, model: ModelFilter = None,
         limit: api.Limit = 50) -> dict[str, Any]:
    if q.strip():
        hits = _call(request, lambda c: library.search(c, q, state=state, model=model, limit=limit or 50))
        return {"q": q, "total": len(hits), "items": to_jsonable(hits)}
    records = _call(request, library.records)
    return {"total": len(records), "items": to_jsonable(records[:limit])}


@api_router.get("/moas/{ref}", summary="One MOA: fields with page and span, links, checks against the sheets")
def moa(request: Request, ref: Ref) -> dict[str, Any]:
    return to_jsonable(_call(request, lambda c: library.show(c, ref)))


@api_router.get("/agreements/{agreement_id}/moas", summary="The MOA documents of one agreement, with checks")
def agreement_moas(request: Request, agreement_id: Ref) -> dict[str, Any]:
    records = _call(request, lambda c: library.for_agreement(c, agreement_id))
    return {"agreement_id": agreement_id, "items": to_jsonable(records)}


def _page_call(request: Request, compute: Any) -> tuple[Any, str | None]:
    try:
        with request.app.state.history.connect() as conn:
            return compute(conn), None
    except G287Error as exc:
        return None, str(exc)


@page_router.get("/moas", response_class=HTMLResponse)
def moas_page(request: Request, q: Phrase = "", state: StateFilter = None, model: ModelFilter = None) -> HTMLResponse:
    hits, error = (_page_call(request, lambda c: library.search(c, q, state=state or None, model=model or None,
                                                                 limit=200)) if q.strip() else ([], None))
    records, _ = _page_call(request, library.records)
    return pages.render(request, "moas.html", named=_named_links(request, records or []), q=q, hits=hits or [],
                        error=error, records=records or [],
                        form={"state": state or "", "model": model or ""}, status_code=400 if error else 200)


@page_router.get("/moas/checks", response_class=HTMLResponse)
def checks_page(request: Request) -> HTMLResponse:
    records, error = _page_call(request, library.records)
    return pages.render(request, "moa_checks.html", records=records or [], error=error,
                        named=_named_links(request, records or []))


@page_router.get("/moas/diff", response_class=HTMLResponse)
def diff_page(request: Request, a: Annotated[str, Query(max_length=200)] = "",
              b: Annotated[str, Query(max_length=200)] = "", show_same: bool = False) -> HTMLResponse:
    result, error = (_page_call(request, lambda c: library.compare(c, a, b)) if a and b else (None, None))
    records, _ = _page_call(request, library.records)
    return pages.render(request, "moa_diff.html", a=a, b=b, result=result, error=error, records=records or [],
                        show_same=show_same, status_code=400 if error else 200)


def agreements_named(conn: sqlite3.Connection, ids: set[str]) -> dict[str, dict[str, str]]:
    """Agency, state and model of each agreement, so MOA pages can link to the agency."""
    out: dict[str, dict[str, str]] = {}
    for agreement_id, agency_id, name, state, model in conn.execute(
            "SELECT a.agreement_id, a.agency_id, g.name, g.state, a.model FROM agreements a JOIN agencies g"
            f" USING (agency_id) WHERE a.agreement_id IN ({','.join('?' * len(ids))})", sorted(ids)):
        out[agreement_id] = {"agency_id": agency_id, "agency": name, "state": state, "model": model}
    return out


def _named_links(request: Request, records: list[Any]) -> dict[str, dict[str, str]]:
    ids = {k.agreement_id for r in records for k in r.links}
    named, _ = _page_call(request, lambda c: agreements_named(c, ids))
    return named or {}


def _held(sha256: str) -> bool:
    """Whether the archive holds the PDF itself (else the page links only to ICE's copy)."""
    return moa_path(fetch_mod.archive_dir(), sha256).is_file()


@page_router.get("/moas/agreement/{agreement_id}", response_class=HTMLResponse)
def agreement_page(request: Request, agreement_id: str) -> HTMLResponse:
    records, error = _page_call(request, lambda c: library.for_agreement(c, agreement_id))
    named, _ = _page_call(request, lambda c: agreements_named(c, {agreement_id}))
    named = {**(named or {}), **_named_links(request, records or [])}
    return pages.render(request, "moa_agreement.html", agreement_id=agreement_id, records=records or [],
                        error=error, agreement=named.get(agreement_id), named=named,
                        held={r.sha256: _held(r.sha256) for r in records or []})


@page_router.get("/moas/{ref}.pdf")
def moa_pdf(request: Request, ref: str) -> Response:
    """The PDF as held in the archive (``$G287_ARCHIVE``), for documents imported from files."""
    doc, error = _page_call(request, lambda c: library.find_document(c, ref))
    path = moa_path(fetch_mod.archive_dir(), doc.sha256) if doc else None
    if path is None or not path.is_file():
        return pages.not_found(request)
    return FileResponse(path, media_type="application/pdf", filename=doc.name)


@page_router.get("/moas/{ref}", response_class=HTMLResponse)
def moa_page(request: Request, ref: str) -> HTMLResponse:
    record, error = _page_call(request, lambda c: library.show(c, ref))
    if record is None:
        return pages.not_found(request)
    return pages.render(request, "moa.html", r=record, error=error, named=_named_links(request, [record]),
                        held={record.sha256: _held(record.sha256)})
