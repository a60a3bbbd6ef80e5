"""Server-rendered pages (Jinja2, autoescaped), in English and Spanish."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from g287 import query
from g287.analytics import series
from g287.history import EVENT_KINDS, GAP_MIN_DAYS, RENEWAL_MIN_DAYS
from g287.normalize import MODELS, STATES
from g287.places import coverage, maps
from g287.web.context import History
from g287.web.feeds import atom
from g287.web.i18n import Translator
from g287.web.longrun import long_run_svg
from g287.web.safety import content_disposition, http_url

router = APIRouter(include_in_schema=False)
_templates = Environment(
    loader=FileSystemLoader(str(resources.files("g287.web").joinpath("templates"))),
    autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
_templates.filters["http_url"] = http_url


def _t(request: Request) -> Translator:
    return request.state.t


def _history(request: Request) -> History:
    return request.app.state.history


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = _t(request)
    other = Translator("es" if t.lang == "en" else "en")
    page = _templates.get_template(template).render(
        t=t, request=request, models=MODELS, states={k: v[1] for k, v in STATES.items()},
        switch_url=other.path(request.state.bare_path) + (f"?{request.url.query}" if request.url.query else ""),
        switch_lang=other.lang, **context)
    return HTMLResponse(page, status_code=status_code)


def growth_svg(points: list[series.PublicationPoint], t: Translator) -> Markup:
    """A small line chart of agreements per publication, drawn here (no library, no JS)."""
    if not points:
        return Markup("")
    width, height, pad = 640, 220, 40
    days = [dt.date.fromisoformat(p.date).toordinal() for p in points]
    low, high = min(days), max(days) or 1
    top = max(p.count for p in points) * 1.1 or 1

    def xy(day: int, value: int) -> str:
        x = pad + (width - 2 * pad) * ((day - low) / ((high - low) or 1))
        return f"{x:.1f},{height - pad - (height - 2 * pad) * value / top:.1f}"
    line = " ".join(xy(d, p.count) for d, p in zip(days, points, strict=True))
    first, last = points[0], points[-1]
    title = t("chart.growth_title", first=t.number(first.count), last=t.number(last.count),
              start=t.date(first.date), end=t.date(last.date))
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{Markup.escape(title)}">'
        f'<title>{Markup.escape(title)}</title>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f'<polyline fill="none" stroke="#1b6ca8" stroke-width="3" points="{line}"/>'
        f'<text x="{pad}" y="{height - 12}" font-size="13">{Markup.escape(t.date(first.date, "medium"))}</text>'
        f'<text x="{width - pad}" y="{height - 12}" font-size="13" text-anchor="end">'
        f'{Markup.escape(t.date(last.date, "medium"))}</text>'
        f'<text x="{pad}" y="{height - pad - 8 - (height - 2 * pad) * first.count / top:.1f}" font-size="13">'
        f'{Markup.escape(t.number(first.count))}</text>'
        f'<text x="{width - pad}" y="{height - pad - 8 - (height - 2 * pad) * last.count / top:.1f}" '
        f'font-size="13" text-anchor="end">{Markup.escape(t.number(last.count))}</text></svg>')


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    history = _history(request)
    with history.connect() as conn:
        status = query.status(conn)
        points = history.cached(conn, ("series", "participating"),
                                lambda: series.publication_series(conn, "participating"))
        state_map = history.cached(conn, ("map", "state", None), lambda: _state_map(conn))
        latest = query.changes(conn, limit=12)
        run = history.cached(conn, ("series", "long_run"), lambda: series.long_run(conn))
    # The growth chart draws ICE's sheets as a line; older web rosters are on the long-run
    # chart, which shows the years between them as a gap instead of a line.
    sheets = [p for p in points if p.publication["source_kind"] == "ICE sheet"]
    long_run = long_run_svg(run, _t(request)) if len(sheets) < len(points) else Markup("")
    return render(request, "home.html", status=status, chart=growth_svg(sheets, _t(request)),
                  state_map=state_map, latest=latest, long_run=long_run)


def _state_map(conn: sqlite3.Connection, as_of: dt.date | None = None) -> Markup:
    try:
        return Markup(maps.render_svg(maps.map_data(conn, as_of, "state")))
    except maps.MapError:
        return Markup("")


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, date: Annotated[str | None, Query(max_length=10)] = None,
             i: Annotated[int | None, Query(ge=0, le=100_000)] = None,
             level: Annotated[str, Query(pattern="^(county|state)$")] = "county") -> HTMLResponse:
    history = _history(request)
    with history.connect() as conn:
        pubs = query.publications(conn, "participating")
        dates = sorted({p.label for p in pubs})
        chosen = (dates[min(i, len(dates) - 1)] if i is not None and dates else
                  date if date in dates else (dates[-1] if dates else None))
        day = dt.date.fromisoformat(chosen) if chosen else None
        svg = history.cached(conn, ("map", level, chosen), lambda: Markup(
            maps.render_svg(maps.map_data(conn, day, level)))) if chosen else Markup("")
        status = query.status(conn, day) if day else None
    return render(request, "map.html", dates=dates, chosen=chosen, index=dates.index(chosen) if chosen else 0,
                  svg=svg, level=level, status=status)


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
def state_page(request: Request, code: str) -> HTMLResponse:
    state = _state(code)
    if state is None:
        return not_found(request)
    with _history(request).connect() as conn:
        agreements = [a for a in query.active_agreements(conn) if a.state == state]
        pending = [p for p in query.pending_as_of(conn) if p.state == state]
        former = [a for a in query.search_agencies(conn, "", state=state, status_filter="former")]
        recent = query.changes(conn, state=state, limit=30)
    return render(request, "state.html", code=state, agreements=agreements, pending=pending,
                  former=former, recent=recent)


@router.get("/agency/{agency_id}", response_class=HTMLResponse)
def agency_page(request: Request, agency_id: str) -> HTMLResponse:
    with _history(request).connect() as conn:
        try:
            story = query.agency_story(conn, agency_id)
        except query.QueryError:
            return not_found(request)
        placed = coverage.agency_place(conn, agency_id)
    a = story["agency"]
    county, roster = (placed.county, placed.roster) if placed else coverage.place(
        a["state"], a["name"], a["agency_type"], a["county"])
    return render(request, "agency.html", story=story, county=county, roster=roster)


@router.get("/changes", response_class=HTMLResponse)
def changes_page(request: Request, since: Annotated[str | None, Query(max_length=10)] = None,
                 until: Annotated[str | None, Query(max_length=10)] = None,
                 state: Annotated[str | None, Query(max_length=2)] = None,
                 kind: Annotated[str | None, Query(max_length=40)] = None,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    error = None
    try:
        start = dt.date.fromisoformat(since) if since else None
        end = dt.date.fromisoformat(until) if until else None
        with _history(request).connect() as conn:
            events = query.changes(conn, start, end, state or None, kind or None, limit=100,
                                   offset=(page - 1) * 100)
    except (ValueError, query.QueryError) as exc:
        events, error = [], str(exc)
    return render(request, "changes.html", events=events, error=error, kinds=EVENT_KINDS, page=page,
                  form={"since": since or "", "until": until or "", "state": state or "", "kind": kind or ""},
                  status_code=400 if error else 200)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    results = []
    if q.strip():
        with _history(request).connect() as conn:
            results = query.search_agencies(conn, q, limit=200)
    return render(request, "search.html", q=q, results=results)


@router.get("/methodology", response_class=HTMLResponse)
def methodology(request: Request) -> HTMLResponse:
    return render(request, "methodology.html", renewal_days=RENEWAL_MIN_DAYS, kinds=EVENT_KINDS,
                  gap_days=GAP_MIN_DAYS)


@router.get("/downloads", response_class=HTMLResponse)
def downloads(request: Request) -> HTMLResponse:
    with _history(request).connect() as conn:
        pubs = list(reversed(query.publications(conn)))
    return render(request, "downloads.html", pubs=pubs)


@router.get("/publications/{publication_id}/file")
def raw_file(request: Request, publication_id: str) -> Response:
    """The exact bytes ICE published, as archived."""
    with _history(request).connect() as conn:
        row = conn.execute("SELECT p.file, f.content FROM publications p JOIN raw_files f USING (sha256)"
                           " WHERE p.id = ?", (publication_id,)).fetchone()
    if row is None:
        return not_found(request)
    # A web roster's original is the transcription's lines for its capture (CSV).
    media = ("text/csv; charset=utf-8" if row[0].lower().endswith(".csv") else
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(row[1], media_type=media, headers={"Content-Disposition": content_disposition(row[0])})


def _feed(request: Request, events: list[query.EventRecord], title: str, name: str) -> Response:
    base = str(request.base_url).rstrip("/")
    body = atom(events, title=title, feed_id=f"tag:g287,2025:{name}", self_url=str(request.url),
                site_url=base + _t(request).path("/"), t=_t(request))
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
