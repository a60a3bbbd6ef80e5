"""The JSON/CSV API under ``/api/v1``: each handler calls one library function."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from g287 import csvfile, dates, query
from g287.analytics import claims, measures, series
from g287.cli.common import to_jsonable
from g287.errors import BadInput
from g287.history import DEPARTURE_STATUSES, EVENT_KINDS
from g287.normalize import AGENCY_TYPES, MODELS, STATES
from g287.places import coverage, maps
from g287.web import atlas, http
from g287.web.context import History
from g287.web.safety import MAX_BODY_BYTES, content_disposition

MAX_LIMIT = 500

# What every text parameter may hold: no control characters (a NUL ends a C string in
# SQLite's FTS5 parser; none of them means anything in a name, a code or a phrase).
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"
# Free text (a claim's wording) may also hold tabs and line breaks.
NO_CONTROLS_BUT_LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# YYYY-MM-DD within the years g287 answers for (g287.dates.EARLIEST to LATEST).
DATE_PATTERN = r"^(19[0-9]{2}|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
PATTERN_MEANING = {
    NO_CONTROLS: "must not hold control characters (U+0000 to U+001F, U+007F)",
    NO_CONTROLS_BUT_LINES: "must not hold control characters other than tab and line breaks",
    DATE_PATTERN: f"must be a date as YYYY-MM-DD from {dates.EARLIEST} to {dates.LATEST}",
}


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


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _strict_date(value: object) -> object:
    """A date parameter: exactly ``YYYY-MM-DD`` (no Unix times, week dates or spaces) within
    the dates g287 answers for, so no date reaches the library that it cannot add a day to."""
    if value is None or isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(DATE_PATTERN, value):
        raise PydanticCustomError("date_format", f"{value!r} {PATTERN_MEANING[DATE_PATTERN]}")
    try:
        return dates.parse_date(value)
    except BadInput as exc:
        raise PydanticCustomError("date_value", str(exc)) from exc


_DATE_SCHEMA = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
ApiDate = Annotated[dt.date, BeforeValidator(_strict_date), WithJsonSchema(_DATE_SCHEMA)]
OptionalDate = Annotated[dt.date | None, BeforeValidator(_strict_date),
                         WithJsonSchema({"anyOf": [_DATE_SCHEMA, {"type": "null"}]})]


def text_query(max_length: int, description: str | None = None) -> Any:
    """A free-text query parameter: bounded, without control characters."""
    return Query(max_length=max_length, pattern=NO_CONTROLS, description=description)


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
AgencyType = StrEnum("AgencyType", {kind.replace(" ", "_"): kind for kind in AGENCY_TYPES})  # type: ignore[misc]
EventKind = StrEnum("EventKind", {kind: kind for kind in EVENT_KINDS})  # type: ignore[misc]
DepartureStatus = StrEnum("DepartureStatus", {s: s for s in (*DEPARTURE_STATUSES, "all")})  # type: ignore[misc]

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


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "A parameter is missing, malformed or out of range; the message names it."},
    404: {"model": Error, "description": "No such agency, agreement, document or data."},
    409: {"model": Error, "description": "The history is locked by another process (an ingest); try again."},
    503: {"model": Error, "description": "The history cannot be read (missing, damaged or unreadable)."},
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)
CSV: dict[int | str, dict[str, Any]] = {
    200: {"model": ListPage, "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}},
                                         "application/vnd.apache.parquet": {"schema": {"type": "string",
                                                                                       "format": "binary"}}},
          "description": "JSON; CSV with format=csv or excel, or Accept: text/csv; Parquet with format=parquet"},
    406: {"model": Error, "description": "Accept names neither application/json nor text/csv (use `format`)."},
}
REPRESENTATIONS = ("application/json", "text/csv")

DateQuery = Annotated[OptionalDate, Query(description=(
    f"End of this day (YYYY-MM-DD, {dates.EARLIEST} to {dates.LATEST}); default: latest."))]
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
    """CSV when ``format`` asks for it; without ``format``, the representation Accept prefers
    by its q-values (JSON when Accept is absent or says ``*/*``; 406 when it allows neither)."""
    if "format" in request.query_params:
        return fmt in (Format.csv, Format.excel)
    chosen = http.preferred(request.headers.get("accept"), REPRESENTATIONS)
    if chosen is None:
        raise ApiError(406, "not_acceptable", f"Accept: {request.headers.get('accept', '')[:100]!r} allows neither "
                       f"{' nor '.join(REPRESENTATIONS)}; or ask with format=json, csv, excel or parquet")
    return chosen == "text/csv"


def csv_chunks(rows: Iterable[dict[str, Any]], excel: bool = False) -> Iterator[str]:
    """CSV text (the one CSV writer, ``g287.csvfile``: formula-safe cells) in chunks of 500
    rows; the columns are every key any row has, in the order they first appear (rows differ:
    an event's details depend on its kind); ``excel`` starts with a UTF-8 byte-order mark so
    Excel reads "Sheriff’s" right."""
    rows = list(rows)
    if not rows:
        yield csvfile.BOM if excel else ""
        return
    header = list(dict.fromkeys(key for row in rows for key in row))
    batch: list[str] = []
    for line in csvfile.iter_csv(header, ([row.get(k) for k in header] for row in rows), bom=excel):
        batch.append(line)
        if len(batch) >= 500:
            yield "".join(batch)
            batch = []
    yield "".join(batch)


FILE_NAME_FILTERS = ("kind", "state", "model", "status", "agency_type", "level")


def file_name(request: Request, name: str) -> str:
    """A download's descriptive name: what it holds, its filters and its date, e.g.
    ``g287-agreements-FL-TFM-as-of-2025-06-06`` (undated answers carry the date of the
    history's newest capture)."""
    params = request.query_params
    parts = ["g287", name, *(params[key] for key in FILE_NAME_FILTERS
                             if params.get(key) and params[key] not in name.split("-"))]
    if params.get("q"):
        parts.append("matching-" + params["q"][:40])
    dated = [f"{key.replace('_', '-')}-{params[key]}" for key in ("as_of", "since", "until") if params.get(key)]
    newest = history(request).current()[1]
    parts.extend(dated or ([newest[:10]] if newest else []))
    return re.sub(r"[^A-Za-z0-9._]+", "-", "-".join(parts)).strip("-")


def _csv(request: Request, rows: Iterable[dict[str, Any]], name: str, fmt: Format) -> StreamingResponse:
    excel = fmt == Format.excel or request.query_params.get("bom") in ("1", "true")
    suffix = ".excel.csv" if excel else ".csv"
    return StreamingResponse(csv_chunks(rows, excel), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": content_disposition(file_name(request, name) + suffix)})


def _parquet(request: Request, rows: Iterable[dict[str, Any]], name: str) -> Response:
    """Every row as one Parquet file, with the CSV's flat columns; a column whose rows hold
    values of different types (an event detail that is a date here, a number there) is text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(rows)
    header = list(dict.fromkeys(key for row in rows for key in row))
    columns: dict[str, list[Any]] = {key: [row.get(key) for row in rows] for key in header}
    for key, values in columns.items():
        kinds = {float if type(v) is int else type(v) for v in values if v is not None}
        if len(kinds) > 1:
            columns[key] = [None if v is None else csvfile.cell(v) for v in values]
    sink = io.BytesIO()
    pq.write_table(pa.table(columns) if header else pa.table({}), sink)
    return Response(sink.getvalue(), media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": content_disposition(file_name(request, name) + ".parquet")})


def _page(request: Request, fmt: Format, name: str, items: list[Any], limit: int | None, offset: int,
          extra: dict[str, Any] | None = None) -> Response:
    """One page of a list as JSON (at most MAX_LIMIT items, 100 by default), or as CSV:
    every row from ``offset`` (or ``limit`` of them), streamed."""
    if _wants_csv(request, fmt) or fmt == Format.parquet:
        chosen = items[offset:] if limit is None else items[offset:offset + limit]
        flat = (_flat(to_jsonable(i), (extra or {}).get("publication")) for i in chosen)
        return _parquet(request, flat, name) if fmt == Format.parquet else _csv(request, flat, name, fmt)
    limit = limit or 100
    rows = [to_jsonable(i) for i in items[offset:offset + limit]]
    return JSONResponse({"total": len(items), "limit": limit, "offset": offset, **(extra or {}), "items": rows})


def _flat(row: dict[str, Any], publication: dict[str, Any] | None = None) -> dict[str, Any]:
    """A row as flat cells for CSV and Parquet, never JSON inside a cell: nested blocks become
    columns (``publication_file``, ``details_url``, ``by_model_TFM``), lists one cell with
    their items separated by ``; ``. A list's one source publication is repeated on every row."""
    flat: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if isinstance(value, dict):
            for sub, inner in value.items():
                put(f"{key}_{sub}", inner)
        elif isinstance(value, list | tuple):
            flat[key] = "; ".join(_item(v) for v in value)
        else:
            flat[key] = value

    for key, value in ({**row, "publication": publication} if publication else row).items():
        put(key, value)
    return flat


def _item(value: Any) -> str:
    """One item of a list cell: ``key: value`` pairs for a nested block, else its CSV text."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_item(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_item(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
def agencies(request: Request, q: Annotated[str, text_query(200, "Words of a name, county or city; typos "
                                                            "tolerated.")] = "", state: StateQuery = None,
             model: ModelQuery = None,
             agency_type: Annotated[AgencyType | None, Query(description="County, Municipality or State Agency "
                                                           "(ICE's TYPE column).")] = None,
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
def agency(request: Request, agency_id: Annotated[str, PathParam(max_length=40, pattern=NO_CONTROLS)]
           ) -> dict[str, Any]:
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
            status: Annotated[DepartureStatus | None, Query(description=(
                "Departures of this status (provisional, confirmed, retracted, all); a departure "
                "kind without it gives the confirmed ones."))] = None,
            limit: Limit = None, offset: Offset = 0, fmt: FormatQuery = Format.json) -> Any:
    items = _with(request, lambda conn: query.changes(conn, since, until, state, kind,
                                                      status=status.value if status else None))
    return _page(request, fmt, "changes", items, limit, offset)


def _json_number(value: object) -> object:
    """Only a JSON number is a number: not ``true`` (pydantic would take it as 1), nor the text
    ``"12"`` (which the schema allows only where text is meant, as a model code)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("not_a_number", "must be a number")
    return value


Year = Annotated[int, Field(ge=1990, le=2100), BeforeValidator(_json_number)]
Number = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_json_number)]
ClaimMetricName = StrEnum("ClaimMetricName", {m: m for m in claims.CLAIM_METRICS})  # type: ignore[misc]


class ClaimFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown filter must never be dropped silently
    state: StateCode | None = None
    model: ModelCode | None = None
    signed_year: Year | None = None
    agency_type: str | None = Field(default=None, max_length=40, pattern=NO_CONTROLS)


class ClaimMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: ClaimMetricName
    value: Number | Annotated[str, Field(max_length=10,
                                                                               pattern=NO_CONTROLS)] = Field(
        description="A number; a model code for `majority`.")
    qualifier: Annotated[str, Field(pattern="^(" + "|".join(claims.QUALIFIERS) + ")$")] | None = None
    year: Year | None = None
    tolerance: Number | Annotated[str, Field(pattern=r"^\d+(\.\d+)?%$")] | None = Field(
        default=None, description="Absolute (2) or relative (\"1.5%\").")
    since: OptionalDate = None
    filters: ClaimFilters | None = None


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(default="", max_length=2000, pattern=NO_CONTROLS_BUT_LINES)
    date: ApiDate
    source: str | None = Field(default=None, max_length=500, pattern=NO_CONTROLS,
                               description="ICE file name(s) the claim cites.")
    metrics: list[ClaimMetric] = Field(min_length=1, max_length=50)


@router.post("/claims/check", summary="Check a claim against the history",
             responses={413: {"model": Error, "description": f"A body over {MAX_BODY_BYTES:,} bytes."}})
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


docs_router = APIRouter(prefix="/api/v1", include_in_schema=False)
DOCS_ASSETS = {"swagger-ui.css": "text/css; charset=utf-8",
               "swagger-ui-bundle.js": "text/javascript; charset=utf-8"}


@docs_router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    """Interactive docs (Swagger UI) served by this site itself: its script and style come
    from the ``swagger-ui-py`` package, not a CDN, so the site's CSP (``'self'`` only) holds."""
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>g287 API</title><link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{_docs_url("swagger-ui.css")}"></head>'
        '<body><div id="swagger-ui" data-openapi="/api/v1/openapi.json"></div>'
        f'<script src="{_docs_url("swagger-ui-bundle.js")}"></script>'
        f'<script src="{http.asset_url("api-docs.js")}"></script></body></html>')


@docs_router.get("/docs/{asset}")
def docs_asset(asset: str) -> Response:
    if asset not in DOCS_ASSETS:
        raise ApiError(404, "not_found", f"no docs file {asset[:80]!r}")
    return Response(_docs_asset(asset), media_type=DOCS_ASSETS[asset],
                    headers={"Cache-Control": "public, max-age=86400"})


@cache
def _docs_asset(name: str) -> bytes:
    return resources.files("swagger_ui").joinpath("static", name).read_bytes()


def _docs_url(name: str) -> str:
    """The asset's URL, changing with its content (a new swagger-ui-py is fetched anew)."""
    return f"/api/v1/docs/{name}?v={hashlib.sha256(_docs_asset(name)).hexdigest()[:10]}"


def tidy_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as the API behaves: parameter errors are 400 (``Error``), never
    FastAPI's 422, so its 422 entries and their schemas are removed."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    return schema
