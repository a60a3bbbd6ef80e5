"""Server-rendered pages (Jinja2, autoescaped), in English and Spanish."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from g287 import query, search
from g287.analytics import claims, measures, series
from g287.documents import library as moa_library
from g287.history import EVENT_KINDS, GAP_MIN_DAYS, RENEWAL_MIN_DAYS
from g287.normalize import MODELS, STATES
from g287.places import coverage, maps, reference
from g287.web import atlas, share
from g287.web.context import History
from g287.web.feeds import atom
from g287.web.http import asset_url
from g287.web.i18n import Translator
from g287.web.longrun import long_run_svg
from g287.web.safety import content_disposition, http_url

router = APIRouter(include_in_schema=False)
# Pages whose form needs the server on every request: a static build leaves them out.
SERVER_ONLY = ("/moas/diff",)
SEARCH_PAGE = 50
_templates = Environment(
    loader=FileSystemLoader(str(resources.files("g287.web").joinpath("templates"))),
    autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
_templates.filters["http_url"] = http_url


def _t(request: Request) -> Translator:
    return request.state.t


def _history(request: Request) -> History:
    return request.app.state.history


def _data_age(request: Request, t: Translator, status_code: int) -> tuple[str, str]:
    """Every page's footer line (when g287 fetch last looked at ICE's page, else the newest
    capture; how old the newest data is) and its warning when ICE's page has not been
    checked for a while (query.freshness). An error page reads no figures: the fetch log
    and captures only."""
    with _history(request).connect() as conn:
        try:
            fetched = conn.execute("SELECT MAX(started_utc) FROM fetch_log").fetchone()[0]
        except sqlite3.OperationalError:
            fetched = None
        captured = conn.execute("SELECT MAX(captured_utc) FROM captures").fetchone()[0]
        fresh = query.freshness(conn) if status_code < 400 else None
    said = (t("site.checked", when=_when(fetched, t)) if fetched else
            t("site.never_checked", when=_when(captured, t) if captured else "—"))
    if fresh is None:
        return said, ""
    if fresh.newest_seen:
        said += " " + t("site.data_age", date=t.date(fresh.newest_seen, "medium"), days=t.number(fresh.age_days))
    days = fresh.checked_days if fresh.checked_days is not None else fresh.age_days
    return said, t("site.stale", days=t.number(days or 0)) if fresh.stale else ""


def _when(stamp: str, t: Translator) -> str:
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return f"{t.date(moment.date())} {moment:%H:%M} UTC"


def is_static(request: Request) -> bool:
    """Pages rendered for a static host (``g287 site build``)."""
    return bool(getattr(request.app.state, "static", False))


def origin(request: Request) -> str:
    """``scheme://host`` the site is published at (links add the root path themselves)."""
    public = getattr(request.app.state, "public_url", None)
    if public:
        return public.removesuffix(request.app.state.root)
    return str(request.base_url).rstrip("/")


def original_url(t: Translator, publication_id: str, file: str) -> str:
    """ICE's file as archived, under its own name (so it saves as ``…xlsx``, not ``file``)."""
    return t.url(f"/publications/{publication_id}/{quote(file)}")


def download_url(t: Translator, static: bool, path: str, **params: str) -> str:
    """An API download with filters: the live query URL, or on a static host the file the
    build wrote for it (``/api/v1/agreements?state=TX&format=csv`` → ``agreements.state-TX.csv``)."""
    return t.url(static_download(path, params) if static else f"{path}?{urlencode(params)}")


def static_download(path: str, params: dict[str, str]) -> str:
    """The file name a static build gives an API query (filters in the name, the format as suffix)."""
    fmt = params.get("format", "json")
    named = ".".join(f"{k}-{v}" for k, v in sorted(params.items()) if k != "format")
    suffix = {"csv": "csv", "excel": "excel.csv", "parquet": "parquet"}.get(fmt, "json")
    return f"{path}.{named}.{suffix}" if named else f"{path}.{suffix}"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = _t(request)
    static = is_static(request)
    # A static page is rebuilt only when its own inputs change, so when ICE's page was last
    # checked and how old the data is (new at every fetch) are shown on the home page only.
    if "checked" not in context and (not static or request.state.bare_path == "/"):
        context["checked"], context["stale"] = _data_age(request, t, status_code)
    context.setdefault("checked", None)
    context.setdefault("stale", "")
    other = Translator("es" if t.lang == "en" else "en", t.root)
    query_string = f"?{request.url.query}" if request.url.query and not static else ""
    page = _templates.get_template(template).render(
        t=t, request=request, models=MODELS, states={k: t.state(k) for k in STATES},
        switch_url=other.path(request.state.bare_path) + query_string, static=static, public_origin=origin(request),
        asset=lambda name: t.url(asset_url(name)), original=lambda pid, file: original_url(t, pid, file),
        download=lambda path, **params: download_url(t, static, path, **params),
        switch_lang=other.lang, state_name=t.state, **context)
    return HTMLResponse(page, status_code=status_code)


def _run_svg(xys: list[str], colour: str) -> str:
    """One run of points seen without a gap: a line, or a dot for a lone sighting."""
    if len(xys) == 1:
        x, y = xys[0].split(",")
        return f'<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}"/>'
    return f'<polyline fill="none" stroke="{colour}" stroke-width="3" points="{" ".join(xys)}"/>'


def growth_svg(points: list[series.PublicationPoint], t: Translator,
               stretches: Sequence[query.UnseenStretch] = ()) -> Markup:
    """A small line chart of agreements per publication, drawn here (no library, no JS);
    no line crosses a stretch nobody captured (series.runs)."""
    if not points:
        return Markup("")
    width, height, pad = 640, 220, 40
    days = [dt.date.fromisoformat(p.date).toordinal() for p in points]
    low, high = min(days), max(days) or 1
    top = max(p.count for p in points) * 1.1 or 1

    def xy(day: int, value: int) -> str:
        x = pad + (width - 2 * pad) * ((day - low) / ((high - low) or 1))
        return f"{x:.1f},{height - pad - (height - 2 * pad) * value / top:.1f}"
    seen = [str(p.publication.get("seen_from") or p.date) for p in points]
    lines = "".join(_run_svg([xy(days[i], points[i].count) for i in run], "#1b6ca8")
                    for run in series.runs(seen, list(stretches)))
    first, last = points[0], points[-1]
    title = t("chart.growth_title", first=t.number(first.count), last=t.number(last.count),
              start=t.date(first.date), end=t.date(last.date))
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{Markup.escape(title)}">'
        f'<title>{Markup.escape(title)}</title>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f'{lines}'
        f'<text x="{pad}" y="{height - 12}" font-size="13">{Markup.escape(t.date(first.date, "medium"))}</text>'
        f'<text x="{width - pad}" y="{height - 12}" font-size="13" text-anchor="end">'
        f'{Markup.escape(t.date(last.date, "medium"))}</text>'
        f'<text x="{pad}" y="{height - pad - 8 - (height - 2 * pad) * first.count / top:.1f}" font-size="13">'
        f'{Markup.escape(t.number(first.count))}</text>'
        f'<text x="{width - pad}" y="{height - pad - 8 - (height - 2 * pad) * last.count / top:.1f}" '
        f'font-size="13" text-anchor="end">{Markup.escape(t.number(last.count))}</text></svg>')


@router.get("/", response_class=HTMLResponse)
def home(request: Request, state: Annotated[str | None, Query(max_length=2)] = None,
         as_of: Annotated[str | None, Query(max_length=10)] = None) -> HTMLResponse:
    history = _history(request)
    t = _t(request)
    chosen = _state(state) if state else None
    day, dated = _as_of(request, as_of)
    if dated is None:
        return render(request, "error.html", status_code=400, message=t("error.bad_date", value=as_of))
    with history.connect() as conn:
        status = history.cached(conn, ("status", day), lambda: query.status(conn, day))
        points = [p for p in history.cached(conn, ("series", "participating"),
                                            lambda: series.publication_series(conn, "participating"))
                  if day is None or p.date <= day.isoformat()]
        state_map = history.cached(conn, ("map", "state", day, t.lang), lambda: _state_map(conn, t, day))
        trend = [p for p in history.cached(conn, ("models", chosen), lambda: model_counts(conn, chosen))
                 if day is None or p[0] <= day.isoformat()]
        reach = history.cached(conn, ("coverage", day), lambda: coverage.coverage(conn, day)) \
            if status["participating"] else None
        latest = history.cached(conn, ("changes", 12, day), lambda: query.changes(conn, until=day, limit=12))
        run = history.cached(conn, ("series", "long_run"), lambda: series.long_run(conn))
        unseen = history.cached(conn, ("unseen", "participating"), lambda: query.unseen_stretches(conn))
    # The growth chart draws ICE's sheets as a line; older web rosters are on the long-run
    # chart, which shows the years between them as a gap instead of a line.
    sheets = [p for p in points if p.publication["source_kind"] == "ICE sheet"]
    long_run = long_run_svg(run, t) if len(sheets) < len(points) and day is None else Markup("")
    return render(request, "home.html", status=status, chart=growth_svg(sheets, t, unseen), state_map=state_map,
                  latest=latest, trend=model_trend_svg(trend, t, chosen, unseen), trend_state=chosen, reach=reach,
                  long_run=long_run, dated=dated)


def _as_of(request: Request, text: str | None) -> tuple[dt.date | None, dict[str, Any] | None]:
    """The day a dated page shows (None: today) and what to say about it; (None, None) for a
    date that does not read."""
    if not text:
        return None, {}
    day = _date_or_none(text)
    if day is None:
        return None, None
    t = _t(request)
    with _history(request).connect() as conn:
        context = query.date_context(conn, day)
    first = context.first or {}
    last = context.last or {}
    return day, {"day": day.isoformat(), "kind": context.kind, "text": t(
        f"asof.{context.kind}", date=t.date(day), first=t.date(str(first.get("label") or "")),
        last=t.date(str(last.get("label") or "")))}


def model_counts(conn: sqlite3.Connection, state: str | None) -> list[tuple[str, dict[str, int]]]:
    """Agreements per model on each participating publication (of one state, or all: from
    the figures stored at ingest)."""
    if state is None:
        return [(p.date, {m: p.by_model.get(m, 0) for m in MODELS})
                for p in series.publication_series(conn, "participating")]
    out = []
    for pub in query.publications(conn, "participating"):
        counts = Counter(a.model for a in query.agreements_on(conn, pub) if state is None or a.state == state)
        out.append((pub.seen.isoformat(), {m: counts.get(m, 0) for m in MODELS}))
    return out


def model_trend_svg(points: list[tuple[str, dict[str, int]]], t: Translator, state: str | None,
                    stretches: Sequence[query.UnseenStretch] = ()) -> Markup:
    """One line per model over the publications (dated by when seen), drawn here (no library,
    no JS); no line crosses a stretch nobody captured (series.runs)."""
    if not points:
        return Markup("")
    width, height, pad = 640, 240, 44
    days = [dt.date.fromisoformat(day).toordinal() for day, _ in points]
    low, span = min(days), (max(days) - min(days)) or 1
    top = max(max(c.values()) for _, c in points) * 1.1 or 1
    where = t.state(state) if state else t("trend.nation")
    title = t("trend.title", where=where, start=t.date(points[0][0]), end=t.date(points[-1][0]),
              counts="; ".join(f"{m} {t.number(points[-1][1][m])}" for m in MODELS))
    lines = []
    segments = series.runs([day for day, _ in points], list(stretches))
    for model in MODELS:
        for run in segments:
            lines.append(_run_svg([f"{pad + (width - 2 * pad) * (days[i] - low) / span:.1f},"
                                   f"{height - pad - (height - 2 * pad) * points[i][1][model] / top:.1f}"
                                   for i in run], maps.MODEL_FILLS[model]))
        last = points[-1][1][model]
        lines.append(f'<text x="{width - pad + 4}" y="{height - pad - (height - 2 * pad) * last / top + 4:.1f}" '
                     f'font-size="13" fill="{maps.MODEL_FILLS[model]}">{model} {Markup.escape(t.number(last))}</text>')
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width + 50} {height}" role="img" aria-label="{Markup.escape(title)}">'
        f'<title>{Markup.escape(title)}</title>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f'{"".join(lines)}'
        f'<text x="{pad}" y="{height - 12}" font-size="13">{Markup.escape(t.date(points[0][0], "medium"))}</text>'
        f'<text x="{width - pad}" y="{height - 12}" font-size="13" text-anchor="end">'
        f'{Markup.escape(t.date(points[-1][0], "medium"))}</text></svg>')


@router.get("/about", response_class=HTMLResponse)
def about(request: Request) -> HTMLResponse:
    return render(request, "about.html")


def _state_map(conn: sqlite3.Connection, t: Translator, as_of: dt.date | None = None) -> Markup:
    try:
        return Markup(atlas.render_svg(maps.map_data(conn, as_of, "state"), t))
    except maps.MapError:
        return Markup("")


def _map_day(dates: list[str], date: str | None, i: int | None) -> tuple[str | None, str | None]:
    """The publication date a map request means, and a note when the asked date is not one:
    the sheet in force at the end of that day, or none before the archive."""
    if not dates:
        return None, None
    if i is not None:
        return dates[min(i, len(dates) - 1)], None
    if not date or date in dates:
        return date or dates[-1], None
    try:
        asked = dt.date.fromisoformat(date).isoformat()
    except ValueError:
        return dates[-1], "map.bad_date"
    earlier = [d for d in dates if d <= asked]
    if not earlier:
        return None, "map.before"
    return earlier[-1], "map.in_force" if asked <= dates[-1] else "map.after"


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, date: Annotated[str | None, Query(max_length=10)] = None,
             i: Annotated[int | None, Query(ge=0, le=100_000)] = None,
             level: Annotated[str, Query(pattern="^(county|state)$")] = "county") -> HTMLResponse:
    with _history(request).connect() as conn:
        dates = sorted({p.seen.isoformat() for p in query.publications(conn, "participating")})
        chosen, note = _map_day(dates, date, i)
        status = query.status(conn, dt.date.fromisoformat(chosen)) if chosen else None
        asked = _date_or_none(date) if note == "map.in_force" else None
        context = query.date_context(conn, asked) if asked else None
    t = _t(request)
    note_text = t(note, asked=t.date(date) if note != "map.bad_date" else date, shown=t.date(chosen),
                  first=t.date(dates[0]) if dates else "", last=t.date(dates[-1]) if dates else "") if note else None
    if context is not None and context.before and context.after:
        # A day nobody captured: the map shows the last list seen before it, and says so.
        note_text = t("map.in_gap", asked=t.date(date), shown=t.date(chosen),
                      start=t.date(context.before["seen"]), end=t.date(context.after["seen"]),
                      before=t.number(context.before["count"]), after=t.number(context.after["count"]))
    return render(request, "map.html", dates=dates, chosen=chosen, index=dates.index(chosen) if chosen else 0,
                  level=level, status=status, note=note_text, state_fips=STATES)


@router.get("/map/{level}", response_class=HTMLResponse)
def map_level_page(request: Request, level: Annotated[str, PathParam(pattern="^(county|state)$")],
                   date: Annotated[str | None, Query(max_length=10)] = None) -> HTMLResponse:
    """The map at one level under its own path, so a static host has both levels."""
    return map_page(request, date=date, i=None, level=level)


@router.get("/map/{level}/{date}.svg")
def map_svg(request: Request, level: Annotated[str, PathParam(pattern="^(county|state)$")],
            date: Annotated[str, PathParam(max_length=10)]) -> Response:
    """The server-drawn map of one publication date (``latest`` for the newest), for
    readers without JavaScript."""
    day = _date_or_none(date)
    t = _t(request)
    with _history(request).connect() as conn:
        try:
            svg = _history(request).cached(conn, ("map.svg", level, day, t.lang), lambda: atlas.render_svg(
                maps.map_data(conn, day, level), t))
        except maps.MapError:
            return not_found(request)
    return Response(svg, media_type="image/svg+xml")


@router.get("/map/{level}/{date}.json")
def map_json(request: Request, level: Annotated[str, PathParam(pattern="^(county|state)$")],
             date: Annotated[str, PathParam(max_length=10)]) -> Response:
    """One date's fills, labels, legend and source in the page's language (the geometry
    comes once from /api/v1/geometry.json). Paths, not query strings, so a static build
    serves the same URLs."""
    day = _date_or_none(date)
    t = _t(request)
    with _history(request).connect() as conn:
        try:
            body = _history(request).cached(conn, ("map.json", level, day, t.lang),
                                            lambda: atlas.frame(conn, day, level, t))
        except maps.MapError:
            return JSONResponse({"error": {"code": "no_data", "message": t("map.none_then")}}, status_code=404)
    return JSONResponse(body)


def _date_or_none(text: str | None) -> dt.date | None:
    """A YYYY-MM-DD date, or None (latest) for anything else."""
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/states", response_class=HTMLResponse)
def states_page(request: Request) -> HTMLResponse:
    with _history(request).connect() as conn:
        status = query.status(conn)
        pending = query.pending_as_of(conn)
    pending_by_state = Counter(p.state for p in pending)
    return render(request, "states.html", status=status, pending_by_state=pending_by_state)


def _state(code: str) -> str | None:
    try:
        return query.check_state(code)
    except query.QueryError:
        return None


@router.get("/state/{code}", response_class=HTMLResponse)
def state_page(request: Request, code: str, as_of: Annotated[str | None, Query(max_length=10)] = None) -> HTMLResponse:
    state = _state(code)
    if state is None:
        return not_found(request)
    day, dated = _as_of(request, as_of)
    if dated is None:
        return render(request, "error.html", status_code=400, message=_t(request)("error.bad_date", value=as_of))
    history = _history(request)
    t = _t(request)
    with history.connect() as conn:
        agreements = [a for a in query.active_agreements(conn, day) if a.state == state]
        pending = [p for p in query.pending_as_of(conn, day) if p.state == state]
        former = [] if day else [a for a in query.search_agencies(conn, "", state=state, status_filter="former")]
        recent = query.changes(conn, until=day, state=state, limit=30)
        summary = history.cached(conn, ("state-summary", state, day), lambda: state_summary(conn, state, day))
        trend = [p for p in history.cached(conn, ("models", state), lambda: model_counts(conn, state))
                 if day is None or p[0] <= day.isoformat()]
    return render(request, "state.html", code=state, agreements=agreements, pending=pending,
                  former=former, recent=recent, summary=summary, trend=model_trend_svg(trend, t, state),
                  dated=dated)


def state_summary(conn: sqlite3.Connection, state: str, as_of: dt.date | None) -> dict[str, Any]:
    """One state at the end of ``as_of``: agreements and agencies per model, and the counties
    and population its county-level agreements cover (``places.coverage``'s method)."""
    active = [a for a in query.active_agreements(conn, as_of) if a.state == state]
    _, placed = coverage.placed_agencies(conn, as_of)
    counties = {f: c for f, c in reference.counties().items() if c.state == state}
    held = {p.county.fips for p in placed if p.state == state and p.county.level == "county" and p.county.fips}
    held &= set(counties)
    population = sum(counties[f].population or 0 for f in held)
    total = sum(c.population or 0 for c in counties.values())
    return {"agreements": len(active), "agencies": len({a.agency_id for a in active}),
            "by_model": {m: sum(a.model == m for a in active) for m in MODELS},
            "counties": len(held), "counties_total": len(counties), "population": population,
            "population_share": round(100 * population / total, 1) if total else None}


@router.get("/agency/{agency_id}", response_class=HTMLResponse)
def agency_page(request: Request, agency_id: str) -> HTMLResponse:
    with _history(request).connect() as conn:
        try:
            story = query.agency_story(conn, agency_id)
        except query.QueryError:
            return not_found(request)
        placed = coverage.agency_place(conn, agency_id)
        documents = {g["agreement_id"]: moa_library.for_agreement(conn, g["agreement_id"])
                     for g in story["agreements"]}
    a = story["agency"]
    county, roster = (placed.county, placed.roster) if placed else coverage.place(
        a["state"], a["name"], a["agency_type"], a["county"])
    return render(request, "agency.html", story=story, county=county, roster=roster,
                  documents=documents, contacts=moa_contacts(documents))


CONTACT_FIELDS = ("agency_public_affairs_contact", "agency_contact", "ice_contact", "ice_field_office")


def moa_contacts(documents: dict[str, list[moa_library.MoaRecord]]) -> list[tuple[Any, moa_library.MoaRecord]]:
    """The contacts the agency's MOAs name (only documents tied to its agreements by URL or
    file name, never by a name match alone), each with the document it was read from."""
    out, seen = [], set()
    for agreement_id, records in documents.items():
        for record in records:
            if not any(k.agreement_id == agreement_id and k.status == "linked" for k in record.links):
                continue
            for name in CONTACT_FIELDS:
                found = record.fields.get(name)
                if found is not None and found.value and (name, found.value) not in seen:
                    seen.add((name, found.value))
                    out.append((found, record))
    return out


@router.get("/changes", response_class=HTMLResponse)
def changes_page(request: Request, since: Annotated[str | None, Query(max_length=10)] = None,
                 until: Annotated[str | None, Query(max_length=10)] = None,
                 state: Annotated[str | None, Query(max_length=2)] = None,
                 kind: Annotated[str | None, Query(max_length=40)] = None,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    t = _t(request)
    error = None
    start, end = _date_or_none(since), _date_or_none(until)
    if (since and not start) or (until and not end):
        error = t("error.bad_date", value=since if since and not start else until)
    elif state and _state(state) is None:
        error = t("error.bad_state", value=state)
    elif kind and kind not in EVENT_KINDS:
        error = t("error.bad_kind", value=kind)
    events = []
    if error is None:
        with _history(request).connect() as conn:
            # A static host cannot filter or page: every change is on the page and the
            # browser filters it (app.js).
            events = query.changes(conn, start, end, state or None, kind or None,
                                   limit=None if is_static(request) else 100, offset=(page - 1) * 100)
    return render(request, "changes.html", events=events, error=error, kinds=EVENT_KINDS, page=page,
                  form={"since": since or "", "until": until or "", "state": state or "", "kind": kind or ""},
                  status_code=400 if error else 200)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: Annotated[str, Query(max_length=200)] = "",
                page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    results, found, answer = [], None, None
    if q.strip():
        with _history(request).connect() as conn:
            answer = query.lookup(conn, q)
            found = search.match(conn, q)
            # What the words typed found comes first; look-alikes only after, labelled.
            results = answer.matches + answer.lookalikes
    shown = results[(page - 1) * SEARCH_PAGE:page * SEARCH_PAGE]
    return render(request, "search.html", q=q, total=len(results), results=shown, page=page,
                  pages=max(1, -(-len(results) // SEARCH_PAGE)), found=found,
                  answer_lines=_lookup_lines(answer, _t(request)) if answer else [],
                  matched=len(answer.matches) if answer else 0,
                  alike={a.agency_id for a in answer.lookalikes} if answer else set())


_ABSENT_FACTS = ("place_never", "place_former", "none", "former")


def _lookup_lines(answer: query.Lookup, t: Translator) -> list[tuple[bool, str]]:
    """query.lookup's answer in the reader's language: (says an absence, sentence)."""
    lines = []
    for fact in answer.facts:
        values = {k: t.number(v) if k in ("count", "publications") else
                  t.date(v, "medium") if k in ("date", "first", "last") and v else v
                  for k, v in fact.items() if k != "code"}
        lines.append((fact["code"] in _ABSENT_FACTS, t(f"search.{fact['code']}", **values)))
    return lines


@router.get("/claims", response_class=HTMLResponse)
def claims_page(request: Request, date: Annotated[str, Query(max_length=10)] = "",
                metric: Annotated[str, Query(max_length=30)] = "", value: Annotated[str, Query(max_length=20)] = "",
                qualifier: Annotated[str, Query(max_length=20)] = "", since: Annotated[str, Query(max_length=10)] = "",
                year: Annotated[str, Query(max_length=4)] = "", state: Annotated[str, Query(max_length=2)] = "",
                model: Annotated[str, Query(max_length=3)] = "",
                text: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
    """A published figure checked against the history: the same library call as
    ``POST /api/v1/claims/check`` (:func:`g287.analytics.claims.check_claims`)."""
    form = {"date": date, "metric": metric, "value": value, "qualifier": qualifier, "since": since,
            "year": year, "state": state.upper(), "model": model.upper(), "text": text}
    results, error = [], None
    if date or value:
        try:
            number: float | str = float(value.replace(",", "")) if metric != "majority" else value.upper()
        except ValueError:
            number = value
        entry: dict[str, Any] = {"metric": metric, "value": number}
        entry.update({k: v for k, v in (("qualifier", qualifier), ("since", since)) if v})
        if year:
            entry["year"] = int(year) if year.isdigit() else year
        filters = {k: v for k, v in (("state", form["state"]), ("model", form["model"])) if v}
        if filters:
            entry["filters"] = filters
        try:
            with _history(request).connect() as conn:
                results = claims.check_claims(conn, [{"text": text, "date": date, "metrics": [entry]}])
        except (claims.ClaimsError, measures.MeasureError, query.QueryError) as exc:
            error = str(exc)
    return render(request, "claims.html", form=form, results=results, error=error,
                  metrics=list(claims.CLAIM_METRICS), qualifiers=list(claims.QUALIFIERS),
                  status_code=400 if error else 200)


@router.get("/share/agency/{agency_id}.png")
def share_agency(request: Request, agency_id: str) -> Response:
    """The agency page's share image: its agreements (model, status, signing date) and source."""
    t = _t(request)
    history = _history(request)
    with history.connect() as conn:
        try:
            story = history.cached(conn, ("story", agency_id), lambda: query.agency_story(conn, agency_id))
        except query.QueryError:
            return not_found(request)
    a = story["agency"]
    figures: list[tuple[str, str, str | None]] = [(g["model"], f"{t('status.' + g['status'])}"
                + (f", {t.date(g['signed'], 'medium')}" if g["signed"] else ""), share.model_colour(g["model"]))
               for g in story["agreements"]]
    last = max((g["last_seen"] for g in story["agreements"]), key=lambda p: p["label"], default=None)
    source = f"{t('cite.source')} {last['file']} ({t('cite.label')} {t.date(last['label'])})" if last else ""
    body = share.card(a["name"], f"{t.state(a['state'])} · {t.term('type', a['agency_type'])}", figures, source)
    return Response(body, media_type="image/png")


@router.get("/share/state/{code}.png")
def share_state(request: Request, code: str) -> Response:
    """The state page's share image: agreements, per model, and the sheet they come from."""
    state = _state(code)
    if state is None:
        return not_found(request)
    t = _t(request)
    history = _history(request)
    with history.connect() as conn:
        summary = history.cached(conn, ("state-summary", state, None), lambda: state_summary(conn, state, None))
        status = history.cached(conn, ("status", None), lambda: query.status(conn))
    pub = status["participating"]["publication"] if status["participating"] else None
    figures: list[tuple[str, str, str | None]] = [(t.number(summary["agreements"]), t("fig.agreements"), None)]
    figures += [(t.number(n), t(f"model.{m}"), share.model_colour(m)) for m, n in summary["by_model"].items()]
    source = f"{t('cite.source')} {pub['file']} ({t('cite.label')} {t.date(pub['label'])})" if pub else ""
    subtitle = t("state.counties_share", counties=t.number(summary["counties"]),
                 total=t.number(summary["counties_total"]))
    return Response(share.card(t.state(state), subtitle, figures, source), media_type="image/png")


@router.get("/search-index.json")
def search_index(request: Request) -> JSONResponse:
    """Every agency with the folded words of its names, county, type and state (both
    languages): what the browser searches on a static host (app.js forgives typos)."""
    history = _history(request)
    with history.connect() as conn:
        items = history.cached(conn, ("search-index",), lambda: search_items(conn))
    return JSONResponse({"items": items})


def search_items(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    spellings: dict[str, list[str]] = {}
    for agency_id, spelling in conn.execute("SELECT agency_id, spelling FROM agency_names"):
        spellings.setdefault(agency_id, []).append(spelling)
    out = []
    for a in query.search_agencies(conn, ""):
        words = [a.name, *spellings.get(a.agency_id, []), a.county or "", a.agency_type or "", a.state,
                 STATES[a.state][1] if a.state in STATES else "", search.STATE_NAMES_ES.get(a.state, "")]
        body = " ".join(dict.fromkeys(" ".join(search.fold(w) for w in words).split()))
        out.append({"agency_id": a.agency_id, "name": a.name, "state": a.state,
                    "state_name": STATES[a.state][1] if a.state in STATES else a.state,
                    "state_name_es": search.STATE_NAMES_ES.get(a.state, STATES.get(a.state, ("", a.state))[1]),
                    "county": a.county,
                    "models": list(a.active_models),
                    "status": "pending" if a.pending_models and not a.active_models else "former", "body": body})
    return out


@router.get("/methodology", response_class=HTMLResponse)
def methodology(request: Request) -> HTMLResponse:
    return render(request, "methodology.html", renewal_days=RENEWAL_MIN_DAYS, kinds=EVENT_KINDS,
                  gap_days=GAP_MIN_DAYS)


@router.get("/downloads", response_class=HTMLResponse)
def downloads(request: Request) -> HTMLResponse:
    with _history(request).connect() as conn:
        pubs = list(reversed(query.publications(conn)))
    return render(request, "downloads.html", pubs=pubs)


@router.get("/publications/{publication_id}/{name}")
def raw_file(request: Request, publication_id: str, name: str) -> Response:
    """The exact bytes ICE published, as archived, under the file's own name (``file`` is
    the older address of the same bytes)."""
    with _history(request).connect() as conn:
        row = conn.execute("SELECT p.file, f.content FROM publications p JOIN raw_files f USING (sha256)"
                           " WHERE p.id = ?", (publication_id,)).fetchone()
    if row is None or name not in (row[0], "file"):
        return not_found(request)
    # A web roster's original is the transcription's lines for its capture (CSV).
    media = ("text/csv; charset=utf-8" if row[0].lower().endswith(".csv") else
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(row[1], media_type=media, headers={"Content-Disposition": content_disposition(row[0])})


def _feed(request: Request, events: list[query.EventRecord], title: str, name: str) -> Response:
    t = _t(request)
    base = origin(request)
    # English ids are what subscribers already hold; Spanish feeds get their own.
    body = atom(events, title=title, feed_id=f"tag:g287,2025:{'es:' if t.lang == 'es' else ''}{name}",
                self_url=base + t.path(request.state.bare_path), base_url=base, t=t)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/feeds/changes.atom")
def feed_all(request: Request) -> Response:
    with _history(request).connect() as conn:
        events = query.changes(conn, limit=200)
    return _feed(request, events, _t(request)("feed.all"), "changes")


@router.get("/feeds/state/{code}.atom")
def feed_state(request: Request, code: str) -> Response:
    state = _state(code)
    if state is None:
        return not_found(request)
    with _history(request).connect() as conn:
        events = query.changes(conn, state=state, limit=200)
    return _feed(request, events, _t(request)("feed.state", state=STATES[state][1]), f"state:{state}")


@router.get("/feeds/agency/{agency_id}.atom")
def feed_agency(request: Request, agency_id: str) -> Response:
    with _history(request).connect() as conn:
        try:
            name = query.agency_story(conn, agency_id)["agency"]["name"]
        except query.QueryError:
            return not_found(request)
        events = query.changes(conn, agency_id=agency_id, include_baseline=True, limit=200)
    return _feed(request, events, _t(request)("feed.agency", agency=name), f"agency:{agency_id}")


def not_found(request: Request) -> HTMLResponse:
    return render(request, "error.html", status_code=404, message=_t(request)("error.not_found"))


@router.get("/robots.txt")
def robots(request: Request) -> Response:
    t = _t(request)
    return Response(f"User-agent: *\nDisallow: {t.url('/api/v1/claims/')}\nSitemap: {origin(request)}"
                    f"{t.url('/sitemap.xml')}\n",
                    media_type="text/plain; charset=utf-8")


@router.get("/sitemap.xml")
def sitemap(request: Request) -> Response:
    """Every page in both languages: the fixed pages, each state with agencies, each agency."""
    base = origin(request)
    with _history(request).connect() as conn:
        paths = [p for p in site_paths(conn) if not (is_static(request) and p in SERVER_ONLY)]
    urls = "".join(f"<url><loc>{base}{Translator(lang, _t(request).root).path(path)}</loc></url>"
                   for path in paths for lang in ("en", "es"))
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/'
                    f'sitemap/0.9">{urls}</urlset>', media_type="application/xml")


def site_paths(conn: sqlite3.Connection) -> list[str]:
    """The site's pages (one language): what the sitemap lists and ``g287 site build`` writes.
    The MOA pages come too: the index, documents vs sheets, the compare form, the MOA page of
    each agreement a document is tied to, and each held document's page."""
    states = [r[0] for r in conn.execute("SELECT DISTINCT state FROM agencies ORDER BY state")]
    agencies = [r[0] for r in conn.execute("SELECT agency_id FROM agencies ORDER BY agency_id")]
    # An agreement's MOA page only where a document is tied to it (agency pages link no other).
    agreements = [r[0] for r in conn.execute("SELECT DISTINCT l.agreement_id FROM moa_agreement_links l JOIN"
                                             " agreements USING (agreement_id) ORDER BY l.agreement_id")]
    documents = [d.sha256[:16] for d in moa_library.documents(conn)]
    return (["/", "/map", "/states", "/changes", "/methodology", "/about", "/downloads", "/search"]
            + [f"/state/{s}" for s in states] + [f"/agency/{a}" for a in agencies]
            + ["/moas", "/moas/checks", "/moas/diff"] + [f"/moas/agreement/{a}" for a in agreements]
            + [f"/moas/{d}" for d in documents])
