"""Measures reporters quote: growth, new agreements per period, shares, the pending
pipeline and MOA transparency. Each result carries the publication(s) it rests on."""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
from collections import Counter
from dataclasses import dataclass

from g287 import query
from g287.errors import BadInput
from g287.normalize import MODELS

METRICS = ("agreements", "agencies", "states", "pending_entries")


class MeasureError(BadInput):
    """A measure asked for outside what the history holds."""


@dataclass(frozen=True, slots=True)
class Value:
    """One figure, the date asked for, and the publication it was read from."""

    metric: str
    date: str
    value: float | None
    publication: dict[str, object] | None


def value_at(conn: sqlite3.Connection, metric: str, as_of: dt.date, state: str | None = None,
             model: str | None = None) -> Value:
    """A count at the end of a day, optionally for one state and/or model."""
    if metric not in METRICS:
        raise MeasureError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    list_name = "pending" if metric == "pending_entries" else "participating"
    pub = query.publication_as_of(conn, list_name, as_of)
    if pub is None:
        return Value(metric, as_of.isoformat(), None, None)
    items = query.agreements_on(conn, pub) if list_name == "participating" else query.pending_on(conn, pub)
    if state:
        items = [i for i in items if i.state == query.check_state(state)]
    if model:
        items = [i for i in items if i.model == query.check_model(model)]
    figure = {"agreements": len(items), "pending_entries": len(items),
              "agencies": len({i.agency_id for i in items}),
              "states": len({i.state for i in items})}[metric]
    return Value(metric, as_of.isoformat(), figure, query.publication_ref(pub))


@dataclass(frozen=True, slots=True)
class Growth:
    """Change of a count between two dates."""

    metric: str
    start: Value
    end: Value
    absolute: float | None
    percent: float | None
    multiple: float | None


def growth(conn: sqlite3.Connection, start: dt.date, end: dt.date | None = None,
           metric: str = "agreements", state: str | None = None, model: str | None = None) -> Growth:
    """Growth from ``start`` to ``end`` (default: latest), with the baseline's source."""
    end = end or latest_date(conn)
    first, last = (value_at(conn, metric, day, state, model) for day in (start, end))
    if first.value is None or last.value is None:
        return Growth(metric, first, last, None, None, None)
    absolute = last.value - first.value
    percent = round(100 * absolute / first.value, 1) if first.value else None
    multiple = round(last.value / first.value, 2) if first.value else None
    return Growth(metric, first, last, absolute, percent, multiple)


def latest_date(conn: sqlite3.Connection) -> dt.date:
    """The date of the newest publication of either list."""
    pubs = query.publications(conn)
    if not pubs:
        raise MeasureError("the history holds no publication yet")
    return max(p.date for p in pubs)


@dataclass(frozen=True, slots=True)
class PeriodCount:
    period: str        # 2025-W23 or 2025-06
    count: int


def new_agreements(conn: sqlite3.Connection, by: str = "signed", period: str = "month",
                   as_of: dt.date | None = None) -> list[PeriodCount]:
    """New agreements per week or month, by signing date (agreements on the as-of sheet)
    or by first appearance on a participating sheet (every agreement ever listed)."""
    if by == "signed":
        days = [a.signed for a in query.active_agreements(conn, as_of) if a.signed]
    elif by == "first_seen":
        cutoff = (as_of or dt.date.max).isoformat()
        days = [dt.date.fromisoformat(r[0]) for r in conn.execute(
            "SELECT p.date FROM agreements a JOIN publications p ON p.id = a.first_seen"
            " WHERE p.date <= ? AND p.seq > 1", (cutoff,))]
    else:
        raise MeasureError("by must be 'signed' or 'first_seen'")
    if period not in ("week", "month"):
        raise MeasureError("period must be 'week' or 'month'")
    counts = Counter(_period(day, period) for day in days)
    return [PeriodCount(p, n) for p, n in sorted(counts.items())]


def _period(day: dt.date, period: str) -> str:
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class Share:
    """A part over a whole, as counts and a percentage."""

    description: str
    part: int
    whole: int
    percent: float | None
    publication: dict[str, object] | None


def share(conn: sqlite3.Connection, as_of: dt.date | None = None, state: str | None = None,
          model: str | None = None, signed_year: int | None = None, of: str = "all") -> Share:
    """Share of agreements on the as-of sheet.

    ``of='all'``: the part (state/model/year filters) over all agreements;
    ``of='model'``: a state's share of one model (part: state and model; whole: the model);
    ``of='state'``: a model's share of one state (part: state and model; whole: the state).
    """
    pub = query.publication_as_of(conn, "participating", as_of)
    items = query.agreements_on(conn, pub) if pub else []
    code = query.check_state(state) if state else None
    model_code = query.check_model(model) if model else None

    def keep(a: query.ActiveAgreement, with_state: bool, with_model: bool) -> bool:
        return ((not with_state or code is None or a.state == code)
                and (not with_model or model_code is None or a.model == model_code)
                and (signed_year is None or (a.signed is not None and a.signed.year == signed_year)))

    part = sum(keep(a, True, True) for a in items)
    if of == "all":
        whole = len(items)
    elif of == "model":
        whole = sum(a.model == model_code for a in items)
    elif of == "state":
        whole = sum(a.state == code for a in items)
    else:
        raise MeasureError("of must be 'all', 'model' or 'state'")
    text = " ".join(p for p in (code, model_code, f"signed in {signed_year}" if signed_year else None)
                    if p) or "all"
    return Share(f"{text} / {of}", part, whole, round(100 * part / whole, 1) if whole else None,
                 query.publication_ref(pub) if pub else None)


def top(conn: sqlite3.Connection, attribute: str = "state", as_of: dt.date | None = None,
        n: int = 10) -> list[tuple[str, int]]:
    """The states or agency types with the most agreements on the as-of sheet."""
    if attribute not in ("state", "agency_type", "model"):
        raise MeasureError("attribute must be state, agency_type or model")
    counts = Counter(getattr(a, attribute) or "unknown" for a in query.active_agreements(conn, as_of))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The pending list at a date and what became of pending entries over the archive."""

    entries: int
    by_model: dict[str, int]
    signed: int
    withdrawn: int
    still_pending: int
    median_days_to_signed: float | None
    publication: dict[str, object] | None


def pending_pipeline(conn: sqlite3.Connection, as_of: dt.date | None = None) -> Pipeline:
    """Pending entries at the end of ``as_of``, and outcomes of entries first listed by then."""
    pub = query.publication_as_of(conn, "pending", as_of)
    entries = query.pending_on(conn, pub) if pub else []
    cutoff = (as_of or dt.date.max).isoformat()
    outcomes = Counter()
    days = []
    for status, days_pending in conn.execute(
            "SELECT e.status, e.days_pending FROM pending_entries e"
            " JOIN publications p ON p.id = e.first_seen WHERE p.date <= ?", (cutoff,)):
        outcomes[status] += 1
        if status == "signed" and days_pending is not None:
            days.append(days_pending)
    return Pipeline(len(entries), {m: sum(e.model == m for e in entries) for m in MODELS},
                    outcomes["signed"], outcomes["withdrawn"], outcomes["pending"],
                    statistics.median(days) if days else None,
                    query.publication_ref(pub) if pub else None)


@dataclass(frozen=True, slots=True)
class Transparency:
    """How many agreements in force have their MOA published, and how fast it came."""

    agreements: int
    moa_published: int
    percent: float | None
    median_days_until_published: float | None
    published_later: int
    publication: dict[str, object] | None


def moa_transparency(conn: sqlite3.Connection, as_of: dt.date | None = None) -> Transparency:
    """Share of agreements on the as-of sheet with an MOA link; days from first listing to
    the MOA link for those listed without one (only measurable inside the archive)."""
    pub = query.publication_as_of(conn, "participating", as_of)
    items = query.agreements_on(conn, pub) if pub else []
    linked = sum(a.moa_url is not None for a in items)
    ids = [a.agreement_id for a in items]
    delays = [r[0] for r in conn.execute(
        "SELECT julianday(l.date) - julianday(f.date) FROM agreements a"
        " JOIN publications f ON f.id = a.first_seen JOIN publications l ON l.id = a.moa_first_linked"
        f" WHERE a.agreement_id IN ({','.join('?' * len(ids))}) AND f.seq > 1"
        " AND a.moa_first_linked != a.first_seen AND l.date <= ?",
        (*ids, (pub.label if pub else ""))) if r[0] is not None]
    return Transparency(len(items), linked, round(100 * linked / len(items), 1) if items else None,
                        statistics.median(delays) if delays else None, len(delays),
                        query.publication_ref(pub) if pub else None)
