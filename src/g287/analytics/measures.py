"""Measures reporters quote: growth, new agreements per period, shares, the pending
pipeline and MOA transparency. Each result carries the publication(s) it rests on."""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

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
    publication: dict[str, Any] | None
    note: str = ""      # set when the date is outside what the archive can answer


def value_at(conn: sqlite3.Connection, metric: str, as_of: dt.date, state: str | None = None,
             model: str | None = None) -> Value:
    """A count at the end of a day, optionally for one state and/or model; ``None`` (with
    the reason) when nothing was seen that day (:func:`query.date_context`): a figure is
    never carried across a stretch nobody captured."""
    if metric not in METRICS:
        raise MeasureError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    list_name = "pending" if metric == "pending_entries" else "participating"
    context = query.date_context(conn, as_of, list_name)
    pub = query.publication_as_of(conn, list_name, as_of)
    if pub is None or context.kind not in ("in_archive", "after_archive"):
        return Value(metric, as_of.isoformat(), None, None, context.note)
    return value_on(pub, conn, metric, state, model, as_of, context.note)


def value_on(pub: query.Publication, conn: sqlite3.Connection, metric: str, state: str | None = None,
             model: str | None = None, as_of: dt.date | None = None, note: str = "",
             signed_year: int | None = None, agency_type: str | None = None) -> Value:
    """A count as printed on one given publication (a replaced one included)."""
    list_name = "pending" if metric == "pending_entries" else "participating"
    if pub.list != list_name:
        raise MeasureError(f"{metric} is counted on a {list_name} sheet, not on {pub.file}")
    if signed_year is not None and list_name == "pending":
        raise MeasureError("pending entries have no signing date to filter by")
    items = query.agreements_on(conn, pub) if list_name == "participating" else query.pending_on(conn, pub)
    items = _filtered(items, state, model, signed_year, agency_type)
    figure = {"agreements": len(items), "pending_entries": len(items),
              "agencies": len({i.agency_id for i in items}),
              "states": len({i.state for i in items})}[metric]
    return Value(metric, (as_of or pub.date).isoformat(), figure, query.publication_ref(pub), note)


def _filtered(items: list, state: str | None, model: str | None, signed_year: int | None = None,
              agency_type: str | None = None) -> list:
    code = query.check_state(state) if state else None
    model_code = query.check_model(model) if model else None
    return [i for i in items if (code is None or i.state == code)
            and (model_code is None or i.model == model_code)
            and (agency_type is None or (i.agency_type or "").lower() == agency_type.lower())
            and (signed_year is None or (i.signed is not None and i.signed.year == signed_year))]


RECONSTRUCTED = "reconstructed from signing dates"


def _seen(context: query.DateContext) -> bool:
    """Whether a publication stands for the day: observed, or the last one after the archive."""
    return context.kind in ("in_archive", "after_archive")


def reconstructed_value(conn: sqlite3.Connection, metric: str, day: dt.date, state: str | None = None,
                        model: str | None = None, agency_type: str | None = None) -> Value:
    """A count on a day nothing was seen (before the archive, in an unseen stretch, under a
    caption), reconstructed from the signing dates on the next participating publication
    seen after it (:func:`query.reconstruction`): agreements signed on or before ``day``.
    Never an observation: agreements that ended before that publication are invisible to it."""
    context = query.date_context(conn, day, "participating")
    rebuilt = None if metric == "pending_entries" else query.reconstruction(
        conn, context, query.check_state(state) if state else None, query.check_model(model) if model else None,
        agency_type)
    if rebuilt is None:
        return Value(metric, day.isoformat(), None, None, "no reconstruction exists for this figure")
    pub = rebuilt["publication"]
    return Value(metric, day.isoformat(), rebuilt[metric], pub,
                 f"{RECONSTRUCTED} on {pub['file']}, not observed (a lower bound)")


@dataclass(frozen=True, slots=True)
class Growth:
    """Change of a count between two dates."""

    metric: str
    start: Value
    end: Value
    absolute: float | None
    percent: float | None
    multiple: float | None
    note: str = ""


def growth(conn: sqlite3.Connection, start: dt.date, end: dt.date | None = None,
           metric: str = "agreements", state: str | None = None, model: str | None = None) -> Growth:
    """Growth from ``start`` to ``end`` (default: latest), with the baseline's source."""
    end = end or latest_date(conn)
    first, last = (value_at(conn, metric, day, state, model) for day in (start, end))
    notes = [first.note, last.note]
    if first.value is None and metric != "pending_entries":
        # Never a baseline from across an unseen stretch: the signing dates on the next
        # publication seen give a lower bound of the start (so the growth is an upper bound).
        first = reconstructed_value(conn, metric, start, state, model)
        if first.value is not None:
            notes.append(f"baseline {first.value} {first.note}: the growth is an upper bound")
    note = "; ".join(dict.fromkeys(n for n in notes if n))
    if first.value is None or last.value is None:
        return Growth(metric, first, last, None, None, None, note)
    absolute = last.value - first.value
    percent = round(100 * absolute / first.value, 1) if first.value else None
    multiple = round(last.value / first.value, 2) if first.value else None
    return Growth(metric, first, last, absolute, percent, multiple, note)


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
    """A part over a whole, as counts and a percentage, each side named in words."""

    description: str
    numerator: str       # what ``part`` counts, e.g. "agreements in FL signed in 2025"
    denominator: str     # what ``whole`` counts, e.g. "agreements signed in 2025"
    part: int | None
    whole: int | None
    percent: float | None
    publication: dict[str, Any] | None
    note: str = ""


def _agreements_phrase(state: str | None, model: str | None, signed_year: int | None) -> str:
    words = [f"{model} agreements" if model else "agreements"]
    if state:
        words.append(f"in {state}")
    if signed_year:
        words.append(f"signed in {signed_year}")
    return " ".join(words)


def share(conn: sqlite3.Connection, as_of: dt.date | None = None, state: str | None = None,
          model: str | None = None, signed_year: int | None = None, of: str = "all",
          publication: query.Publication | None = None) -> Share:
    """Share of agreements on the as-of sheet; ``signed_year`` restricts both sides.

    ``of='all'``: the part (state/model filters) over all agreements;
    ``of='model'``: a state's share of one model (part: state and model; whole: the model);
    ``of='state'``: a model's share of one state (part: state and model; whole: the state).
    ``publication`` pins the sheet (a replaced one included) instead of ``as_of``.
    """
    code = query.check_state(state) if state else None
    model_code = query.check_model(model) if model else None
    if of not in ("all", "model", "state"):
        raise MeasureError(f"of must be 'all', 'model' or 'state', not {of!r}")
    if of == "model" and model_code is None:
        raise MeasureError("a share of a model needs the model (--model JEM, WSO or TFM)")
    if of == "state" and code is None:
        raise MeasureError("a share of a state needs the state (--state, e.g. FL)")
    whole_state = code if of == "state" else None
    whole_model = model_code if of == "model" else None
    numerator = _agreements_phrase(code, model_code, signed_year)
    denominator = _agreements_phrase(whole_state, whole_model, signed_year)
    description = f"{numerator} / {denominator}"
    context = query.date_context(conn, as_of, "participating")
    if publication is None and not _seen(context):
        return Share(description, numerator, denominator, None, None, None, None, context.note)
    pub = publication or query.publication_as_of(conn, "participating", as_of)
    note = "" if publication else context.note
    items = [a for a in query.agreements_on(conn, pub)
             if signed_year is None or (a.signed is not None and a.signed.year == signed_year)]

    def counted(a: query.ActiveAgreement, state_code: str | None, model_name: str | None) -> bool:
        return (state_code is None or a.state == state_code) and (model_name is None or a.model == model_name)

    part = sum(counted(a, code, model_code) for a in items)
    whole = sum(counted(a, whole_state, whole_model) for a in items)
    return Share(description, numerator, denominator, part, whole,
                 round(100 * part / whole, 1) if whole else None, query.publication_ref(pub), note)


def signed_in_year_share(conn: sqlite3.Connection, year: int, as_of: dt.date | None = None,
                         state: str | None = None, model: str | None = None,
                         publication: query.Publication | None = None) -> Share:
    """Share of the agreements on the sheet (state/model filters) signed in ``year``;
    agreements printed without a readable signing date stay in the denominator."""
    context = query.date_context(conn, as_of, "participating")
    denominator = _agreements_phrase(state and query.check_state(state),
                                     model and query.check_model(model), None)
    numerator = f"{denominator} signed in {year}"
    if publication is None and not _seen(context):
        return Share(f"{numerator} / {denominator}", numerator, denominator, None, None, None, None,
                     context.note)
    pub = publication or query.publication_as_of(conn, "participating", as_of)
    items = _filtered(query.agreements_on(conn, pub), state, model)
    part = len(_filtered(items, None, None, year))
    return Share(f"{numerator} / {denominator}", numerator, denominator, part, len(items),
                 round(100 * part / len(items), 1) if items else None, query.publication_ref(pub),
                 "" if publication else context.note)


def top(conn: sqlite3.Connection, attribute: str = "state", as_of: dt.date | None = None,
        n: int = 10) -> list[tuple[str, int]]:
    """The states or agency types with the most agreements on the as-of sheet."""
    if attribute not in ("state", "agency_type", "model"):
        raise MeasureError("attribute must be state, agency_type or model")
    counts = Counter(getattr(a, attribute) or "unknown" for a in query.active_agreements(conn, as_of))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The pending list at a date and what had become, by that date, of the entries listed
    by then. ``None`` figures mean unknown (the date is before the archive)."""

    entries: int | None
    by_model: dict[str, int]
    signed: int | None            # listed as signed on a participating sheet by then
    withdrawn: int | None         # off the pending sheet by then without being listed as signed
    still_pending: int | None     # on the as-of pending sheet
    median_days_to_signed: float | None
    left_censored: int | None     # of the signed: already pending on the archive's first sheet
    median_days_uncensored: float | None   # the median without those
    publication: dict[str, Any] | None
    note: str = ""


CENSORING_NOTE = ("{n} of the {signed} signed entries were already pending on the archive's first "
                  "pending sheet ({file}): their wait began earlier than the archive can see, so the "
                  "median undercounts; without them: {uncensored}")


def pending_pipeline(conn: sqlite3.Connection, as_of: dt.date | None = None) -> Pipeline:
    """Pending entries at the end of ``as_of`` and the outcomes, as known that day, of the
    entries first listed by then; only publications dated on or before ``as_of`` count."""
    context = query.date_context(conn, as_of, "pending")
    if not _seen(context):
        return Pipeline(None, {}, None, None, None, None, None, None, None, context.note)
    pub = query.publication_as_of(conn, "pending", as_of)
    on_sheet = {e.pending_id: e for e in query.pending_on(conn, pub)}
    cutoff = pub.date if as_of is None else as_of
    signed_days, censored_days = [], []
    withdrawn = 0
    for pending_id, status, days_pending, first_date, first_seq in conn.execute(
            "SELECT e.pending_id, e.status, e.days_pending, p.date, p.seq FROM pending_entries e"
            " JOIN publications p ON p.id = e.first_seen WHERE p.date <= ?", (cutoff.isoformat(),)):
        signed_by_then = (status == "signed" and days_pending is not None
                          and dt.date.fromisoformat(first_date) + dt.timedelta(days=days_pending) <= cutoff)
        if signed_by_then:
            (censored_days if first_seq == 1 else signed_days).append(days_pending)
        elif pending_id not in on_sheet:
            withdrawn += 1
    every = signed_days + censored_days
    uncensored = statistics.median(signed_days) if signed_days else None
    notes = [context.note] if context.note else []
    if censored_days:
        first = query.publications(conn, "pending")[0]
        rest = f"{uncensored} days" if uncensored is not None else "none left to measure"
        notes.append(CENSORING_NOTE.format(n=len(censored_days), signed=len(every), file=first.file,
                                           uncensored=rest))
    return Pipeline(len(on_sheet), {m: sum(e.model == m for e in on_sheet.values()) for m in MODELS},
                    len(every), withdrawn, len(on_sheet), statistics.median(every) if every else None,
                    len(censored_days), uncensored, query.publication_ref(pub), "; ".join(notes))


@dataclass(frozen=True, slots=True)
class Transparency:
    """How many agreements in force have their MOA published, and how fast it came."""

    agreements: int
    moa_published: int
    percent: float | None
    median_days_until_published: float | None
    published_later: int
    publication: dict[str, Any] | None
    note: str = ""


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
                        query.publication_ref(pub) if pub else None,
                        query.date_context(conn, as_of, "participating").note)
