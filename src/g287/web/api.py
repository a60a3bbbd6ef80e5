"""The JSON/CSV API under ``/api/v1``: each handler calls one library function."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from enum import StrEnum
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from g287 import csvfile, query
from g287.analytics import claims, measures, series
from g287.cli.common import to_jsonable
from g287.history import EVENT_KINDS
from g287.normalize import MODELS, STATES
from g287.places import coverage, maps
from g287.web import atlas
from g287.web.context import History
from g287.web.safety import content_disposition

MAX_LIMIT = 500


class ErrorBody(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    """The one shape of every API error."""

    error: ErrorBody


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class Format(StrEnum):
    json = "json"
    csv = "csv"
    excel = "excel"
    parquet = "parquet"


class Level(StrEnum):
    county = "county"
    state = "state"


class SeriesKind(StrEnum):
    publications = "publications"
    daily = "daily"
    reconstructed = "reconstructed"


StateCode = StrEnum("StateCode", {code: code for code in STATES})  # type: ignore[misc]
ModelCode = StrEnum("ModelCode", {code: code for code in MODELS})  # type: ignore[misc]
EventKind = StrEnum("EventKind", {kind: kind for kind in EVENT_KINDS})  # type: ignore[misc]

class PublicationRef(BaseModel):
    """The citation every figure carries: which ICE sheet, its label date and digest."""

    id: str
    list: str
    file: str
    label: str
    label_ampm: str | None
    dated_by: str
    sha256: str
    first_captured: str | None


class ListPage(BaseModel):
    """One JSON page of a list; ``total`` counts every item, not just this page."""

    total: int | None = Field(description="None when the date lies before the archive: unknown, not zero.")
    limit: int
    offset: int
    answer: str | None = None
    note: str | None = Field(default=None, description="What the archive can say for the date asked.")
    date_context: dict[str, Any] | None = None
    publication: PublicationRef | None = Field(default=None, description="Agreements: the sheet they come from.")
    fuzzy: bool | None = Field(default=None, description="Agency search: found only by likeness (a typo).")
    suggestion: str | None = Field(default=None, description="Agency search: the query as the history spells it.")
    absent: bool | None = Field(default=None, description="Agency search: nothing typed has an agreement or a "
                                "pending request now (`answer` says whether it never was listed, or until when).")
    facts: list[dict[str, Any]] | None = Field(default=None, description="Agency search: `answer` as data.")
    items: list[dict[str, Any]]


class SeriesBody(BaseModel):
    kind: str
    note: str = ""
    points: list[dict[str, Any]]


class StatusBody(BaseModel):
    """Both lists at the end of a day, each with the publication it comes from."""

    as_of: str | None
    participating: dict[str, Any] | None
    pending: dict[str, Any] | None


ERRORS = {400: {"model": Error, "description": "bad parameter"},
          404: {"model": Error, "description": "not found"}}
router = APIRouter(prefix="/api/v1", responses=ERRORS)
CSV = {200: {"model": ListPage, "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}},
                         "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}},
             "description": "JSON; CSV with format=csv or excel, or Accept: text/csv; Parquet with format=parquet"}}

DateQuery = Annotated[dt.date | None, Query(description="End of this day (YYYY-MM-DD); default: latest.")]
Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}; 100 by "
                                     "default for JSON. CSV gives every row unless a limit is given.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
StateQuery = Annotated[StateCode | None, Query(description="Two-letter USPS state code.")]
ModelQuery = Annotated[ModelCode | None, Query(description="JEM, WSO or TFM.")]
FormatQuery = Annotated[Format, Query(alias="format", description=(
    "json (default); csv (UTF-8, every row, streamed); excel (the same CSV with a UTF-8 byte-order "
    "mark for Excel); parquet (every row); or send Accept: text/csv."))]


def history(request: Request) -> History:
    return request.app.state.history


def _wants_csv(request: Request, fmt: Format) -> bool:
    return fmt in (Format.csv, Format.excel) or "text/csv" in request.headers.get("accept", "")


def csv_chunks(rows: Iterable[dict[str, Any]], excel: bool = False) -> Iterator[str]:
    """CSV text (the one CSV writer, ``g287.csvfile``: formula-safe cells) in chunks of 500
    rows, columns from the first row; ``excel`` starts with a UTF-8 byte-order mark so Excel
    reads "Sheriff’s" right."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        yield csvfile.BOM if excel else ""
        return
    header = list(first)
    batch: list[str] = []
    for line in csvfile.iter_csv(header, ([row.get(k) for k in header] for row in itertools.chain([first], rows)),
                                 bom=excel):
        batch.append(line)
        if len(batch) >= 500:
            yield "".join(batch)
            batch = []
    yield "".join(batch)


def _csv(request: Request, rows: Iterable[dict[str, Any]], name: str, fmt: Format) -> StreamingResponse:
    excel = fmt == Format.excel or request.query_params.get("bom") in ("1", "true")
    return StreamingResponse(csv_chunks(rows, excel), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": content_disposition(f"{name}.csv")})


def _parquet(rows: Iterable[dict[str, Any]], name: str) -> Response:
    """Every row as one Parquet file (nested values as JSON text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                                   for k, v in row.items()} for row in rows])
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return Response(sink.getvalue(), media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": content_disposition(f"{name}.parquet")})


def _page(request: Request, fmt: Format, name: str, items: list[Any], limit: int | None, offset: int,
          extra: dict[str, Any] | None = None) -> Response:
    """One page of a list as JSON (at most MAX_LIMIT items, 100 by default), or as CSV:
    every row from ``offset`` (or ``limit`` of them), streamed."""
    if _wants_csv(request, fmt) or fmt == Format.parquet:
        chosen = items[offset:] if limit is None else items[offset:offset + limit]
        rows = (_flat(to_jsonable(i), (extra or {}).get("publication")) for i in chosen)
        return _parquet(rows, name) if fmt == Format.parquet else _csv(request, rows, name, fmt)
    limit = limit or 100
    rows = [to_jsonable(i) for i in items[offset:offset + limit]]
    return JSONResponse({"total": len(items), "limit": limit, "offset": offset, **(extra or {}), "items": rows})


def _flat(row: dict[str, Any], publication: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested citation blocks become ``publication_file`` etc. in CSV; a list's one
    source publication is repeated on every row."""
    flat = {}
    if publication:
        row = {**row, "publication": publication}
    for key, value in row.items():
        if isinstance(value, dict) and key == "publication":
            flat.update({f"publication_{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _with(request: Request, compute: Callable[[Any], Any]) -> Any:
    with history(request).connect() as conn:
        return compute(conn)


@router.get("/status", summary="The program at the end of a day, with the publications used",
            responses={200: {"model": StatusBody, "description": "Counts per list, with their publications"}})
async def status(request: Request, as_of: DateQuery = None) -> Response:
    body = history(request).peek(("status.json", as_of))
    if body is None:  # computed in a thread once; cached answers are sent from the event loop
        def compute() -> bytes:
            with history(request).connect() as conn:
                return history(request).cached(conn, ("status.json", as_of), lambda: json.dumps(
                    to_jsonable(query.status(conn, as_of)), ensure_ascii=False).encode())
        body = await run_in_threadpool(compute)
    return Response(body, media_type="application/json")


@router.get("/series", responses={200: {**CSV[200], "model": SeriesBody}},
            summary="Counts over time: per publication, daily, or reconstructed")
def series_endpoint(request: Request, kind: SeriesKind = SeriesKind.publications,
                    fmt: FormatQuery = Format.json, as_of: DateQuery = None) -> Any:
    def compute(conn: Any) -> list[dict[str, Any]]:
        if kind == SeriesKind.publications:
            return [to_jsonable(p) for p in series.publication_series(conn)]
        if kind == SeriesKind.daily:
            return [to_jsonable(p) for p in series.daily_series(conn)]
        result = series.reconstructed_series(conn, as_of)
        return [] if result is None else [
            {**p, "publication": result.publication, "caveat": result.caveat, "note": result.note}
            for p in result.points]
    with history(request).connect() as conn:
        points = history(request).cached(conn, ("series", kind.value, as_of), lambda: compute(conn))
    if _wants_csv(request, fmt):
        return _csv(request, (_flat({k: v for k, v in p.items() if k not in ("by_state", "by_agency_type")})
                              for p in points), f"series-{kind.value}", fmt)
    note = series.RECONSTRUCTED_NOTE if kind == SeriesKind.reconstructed else ""
    return {"kind": kind.value, "note": note, "points": points}


@router.get("/publications", responses=CSV, summary="Every distinct sheet ICE published")
def publications(request: Request, limit: Limit = None, offset: Offset = 0,
                 fmt: FormatQuery = Format.json) -> Any:
    items = _with(request, query.publications)
    return _page(request, fmt, "publications", items, limit, offset)


@router.get("/agencies", responses=CSV, summary="Search agencies by name, county or city; filter them")
def agencies(request: Request, q: Annotated[str, Query(max_length=200)] = "", state: StateQuery = None,
             model: ModelQuery = None, agency_type: Annotated[str | None, Query(max_length=40)] = None,
             status: Annotated[str | None, Query(pattern="^(participating|pending|former)$")] = None,
             limit: Limit = None, offset: Offset = 0, fmt: FormatQuery = Format.json) -> Any:
    with history(request).connect() as conn:
        items, found = history(request).cached(
            conn, ("agencies", q.strip().lower(), state, model, agency_type, status),
            lambda: (query.search_agencies(conn, q, state, model, agency_type, status),
                     query.lookup(conn, q) if q.strip() else None))
    # Absence is an answer: whether what was typed has an agreement, before any look-alike.
    extra = {"fuzzy": not found.matches and bool(found.lookalikes), "suggestion": found.suggestion,
             "answer": found.answer, "absent": found.absent, "facts": found.facts} if found else None
    return _page(request, fmt, "agencies", items, limit, offset, extra)


@router.get("/agencies/{agency_id}", summary="An agency's whole history")
def agency(request: Request, agency_id: Annotated[str, PathParam(max_length=40)]) -> dict[str, Any]:
    try:
        return _with(request, lambda conn: query.agency_story(conn, agency_id))
    except query.QueryError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc


@router.get("/agreements", responses=CSV, summary="Agreements in force at the end of a day")
def agreements(request: Request, as_of: DateQuery = None, state: StateQuery = None, model: ModelQuery = None,
               limit: Limit = None, offset: Offset = 0, fmt: FormatQuery = Format.json) -> Any:

    def compute(conn: Any) -> tuple[list[Any], dict[str, Any] | None]:
        items = query.active_agreements(conn, as_of)
        pub = query.publication_ref(items[0].publication) if items else None
        items = [a for a in items if (not state or a.state == state) and (not model or a.model == model)]
        return [{k: v for k, v in asdict(a).items() if k != "publication"} for a in items], pub
    items, pub = _with(request, compute)
    context = _with(request, lambda conn: query.date_context(conn, as_of))
    extra = {"publication": pub, "note": context.note, "date_context": asdict(context)}
    if not context.known and context.kind != "after_archive":  # nothing seen that day: unknown, not zero
        if _wants_csv(request, fmt):
            return _csv(request, [{"answer": "unknown", "note": context.note}], "agreements", fmt)
        return JSONResponse({"total": None, "answer": "unknown", "limit": limit or 100, "offset": offset,
                             **extra, "publication": None, "items": []})
    return _page(request, fmt, "agreements", items, limit, offset, extra)


@router.get("/changes", responses=CSV, summary="Events between publications, newest first")
def changes(request: Request, since: DateQuery = None, until: DateQuery = None, state: StateQuery = None,
            kind: Annotated[EventKind | None, Query(description="Event kind.")] = None,
            limit: Limit = None, offset: Offset = 0, fmt: FormatQuery = Format.json) -> Any:
    items = _with(request, lambda conn: query.changes(conn, since, until, state, kind))
    return _page(request, fmt, "changes", items, limit, offset)


ClaimMetricName = StrEnum("ClaimMetricName", {m: m for m in claims.CLAIM_METRICS})  # type: ignore[misc]


class ClaimFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown filter must never be dropped silently
    state: StateCode | None = None
    model: ModelCode | None = None
    signed_year: int | None = Field(default=None, ge=1990, le=2100)
    agency_type: str | None = Field(default=None, max_length=40)


class ClaimMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: ClaimMetricName
    value: Annotated[float, Field(allow_inf_nan=False)] | Annotated[str, Field(max_length=10)] = Field(
        description="A number; a model code for `majority`.")
    qualifier: Annotated[str, Field(pattern="^(" + "|".join(claims.QUALIFIERS) + ")$")] | None = None
    year: int | None = Field(default=None, ge=1990, le=2100)
    tolerance: float | Annotated[str, Field(pattern=r"^\d+(\.\d+)?%$")] | None = Field(
        default=None, description="Absolute (2) or relative (\"1.5%\").")
    since: dt.date | None = None
    filters: ClaimFilters | None = None


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(default="", max_length=2000)
    date: dt.date
    source: str | None = Field(default=None, max_length=500, description="ICE file name(s) the claim cites.")
    metrics: list[ClaimMetric] = Field(min_length=1, max_length=50)


@router.post("/claims/check", summary="Check a claim against the history")
def claims_check(request: Request, claim: Annotated[Claim, Body()]) -> dict[str, Any]:
    payload = claim.model_dump(exclude_none=True, mode="json")
    try:
        results = _with(request, lambda conn: claims.check_claims(conn, [payload]))
    except (claims.ClaimsError, measures.MeasureError, query.QueryError) as exc:
        raise ApiError(400, "bad_claim", str(exc)) from exc
    return {"results": to_jsonable(results)}


@router.get("/map", summary="Map data: a fill and a label per county or state FIPS")
def map_endpoint(request: Request, as_of: DateQuery = None, level: Level = Level.county,
                 model: ModelQuery = None) -> dict[str, Any]:
    try:
        data = _with(request, lambda conn: maps.map_data(conn, as_of, level.value, model))
    except maps.MapError as exc:
        raise ApiError(404, "no_data", str(exc)) from exc
    return to_jsonable(data)


@router.get("/coverage", summary="Counties, population and sworn officers covered")
def coverage_endpoint(request: Request, as_of: DateQuery = None) -> dict[str, Any]:
    with history(request).connect() as conn:
        return history(request).cached(conn, ("coverage", as_of), lambda: coverage.coverage(conn, as_of))


@router.get("/reference", summary="The program's models, states and event kinds")
def reference() -> dict[str, Any]:
    return {"models": MODELS, "states": {k: v[1] for k, v in STATES.items()}, "event_kinds": EVENT_KINDS}


@router.get("/geometry.json", summary="Map geometry: projected TopoJSON of counties and states (fetch once)")
def geometry_endpoint() -> Response:
    """Albers USA on a 960 × 600 canvas, quantized to half a pixel; the same shapes as the
    server-drawn maps. Changes only with g287's reference files."""
    return Response(_geometry_bytes(), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=86400"})


@cache
def _geometry_bytes() -> bytes:
    return json.dumps(atlas.topology(), separators=(",", ":")).encode()
