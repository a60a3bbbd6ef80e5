"""Check published statements against the history.

A claims file (YAML) lists statements; each has a text, a date (the end of that day),
and one or more metrics with the value the statement gives::

    claims:
      - text: "Over 1,000 agreements in 40 states"
        date: 2025-08-15
        source: participatingAgencies07072025pm.xlsx    # optional: the sheet the claim cites
        metrics:
          - {metric: agreements, value: 1000, qualifier: over}
          - {metric: states, value: 40}

Metrics: see ``CLAIM_METRICS`` (counts; ``new_agreements``/``growth_percent``/
``growth_multiple`` with ``since``; ``state_share``, ``model_share``,
``signed_in_year_share`` with ``year``, ``majority`` with a model as value; flows between
``since`` and ``date``: ``added``, ``ended``, ``switched``, ``first_agreements``,
``signed_since``; ``counties`` covered). Metric keys: ``METRIC_KEYS`` (``expect`` and
``expect_figure`` are what a test expects; the checker ignores them).
Filters (per metric or per claim): ``state``, ``model``, ``signed_year``, ``agency_type``.
Unknown metrics, filter keys or metric keys are errors naming the valid ones: a claim about
a subset must never be checked against the whole; an agency type ICE never printed makes
the metric unanswerable, naming those it did (never a count of zero).

Dates (:func:`check_claims`): ``date`` (a day, or ``[start, end]`` for a vaguely dated
article), ``by`` (the end of a year, month or day), ``during`` (a year, a month or
``[start, end]``) with ``across`` any | all | min | max over the publications seen.

What a date rests on comes from ``query.date_context``, the one model of what was seen.
Verdicts, each with a one-line note:

- ``exact``: the figure is right as printed (equal at the precision the value is printed
  with: "5%" is right for 4.52%, the rounding stated in the note; or the qualifier's
  inequality holds). ICE's own caption for the very day ("(71) as of 10/29/2010") is
  checked as ICE's statement.
- ``close``: within the tolerance, or within the band of ``about``/``nearly``.
- ``differs``: neither.
- ``before_archive``: the date (or a growth baseline) is before everything the archive saw;
  the note gives the lower bound reconstructed from the signing dates on the next
  publication seen, where one exists (never as observed).
- ``after_archive``: the claim's date is after the archive; the note gives the last sheet's
  (or the cited sheet's) figure, file and date. Never exact/close/differs: ICE may have
  changed the list since. A growth baseline in an unseen stretch is the reconstruction.
- ``outside_range``: the date falls in a stretch nobody captured: never answered by a
  publication from across it; the note names the captures on both sides with their figures
  and gives the reconstruction. A flow whose events may fall either side is not settled.
- ``unanswerable``: the history cannot compute it (a source not found, a metric that does
  not apply to the filters, an unknown filter value).

Qualifiers (``qualifier:``), with ``band`` = the tolerance, else 5% of the claimed value:

- ``over`` / ``more than``: exact when computed > claimed; ``at most`` / ``no more than``: <=;
- ``at least``: exact when computed >= claimed;
- ``under`` / ``less than`` / ``fewer than``: exact when computed < claimed;
- ``nearly`` / ``almost`` / ``close to``: exact when equal; close when claimed - band <= computed < claimed;
- ``about`` / ``around`` / ``approximately`` / ``roughly`` / ``some`` / ``an estimated`` /
  ``as many as`` / ``up to``: exact when equal; close within ± band.

Without a qualifier a figure is exact only when equal and close within the tolerance
(default 0). An inequality that fails by no more than a non-zero tolerance is close.

``source:`` names the sheet(s) the claim cites: ICE file names, comma-separated or a
list; ``name@<sha256 prefix>`` or ``name@<capture time or folder>`` picks one content
when ICE published two under one name. The named sheet is the one checked (replaced
sheets included); a name the archive does not hold, or one naming two contents without a
pick, makes the claim unanswerable. A date outside the archive is still before/after it.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

from g287 import inputs, query
from g287.analytics import measures
from g287.dates import parse_date
from g287.errors import BadInput
from g287.normalize import MODELS

COUNT_METRICS = {
    "agreements": "distinct agreements on the participating sheet",
    "agencies": "distinct agencies on the participating sheet",
    "states": "states with at least one agreement",
    "pending_entries": "distinct entries on the pending sheet",
}
GROWTH_METRICS = {
    "new_agreements": "agreements at `date` minus agreements at `since` (absolute growth)",
    "growth_percent": "percent growth of agreements since `since`",
    "growth_multiple": "agreements at `date` over agreements at `since`",
}
SHARE_METRICS = {
    "state_share": "percent of agreements in filters.state (of filters.model's agreements if given)",
    "model_share": "percent of agreements (in filters.state if given) of filters.model",
    "signed_in_year_share": "percent of agreements (filters) signed in `year` (default: the claim's year)",
    "majority": "the model named as `value` holds more than half of the agreements (filters.state)",
}
FLOW_METRICS = {
    "added": "agreements added between `since` and `date` (new, model added or reinstated; gross)",
    "ended": "agreements that left the participating list between `since` and `date`",
    "switched": "agencies whose agreement switched model between `since` and `date`",
    "first_agreements": "agencies whose FIRST agreement was signed between `since` and `date` (not renewals)",
    "signed_since": "agreements on the `date` sheet signed on or after `since`",
}
PLACE_METRICS = {
    "counties": "counties with at least one agency on the participating sheet (filters.state); "
                "the note gives the state's number of counties",
}
CLAIM_METRICS: dict[str, str] = {**COUNT_METRICS, **GROWTH_METRICS, **SHARE_METRICS, **FLOW_METRICS,
                                 **PLACE_METRICS}
FLOW_EVENTS = {"added": ("agreement_added", "model_added", "agreement_reinstated"),
               "ended": ("agreement_removed",), "switched": ("model_switched",)}
ACROSS = ("any", "all", "min", "max")
FILTERS = ("state", "model", "signed_year", "agency_type")
METRIC_KEYS = ("metric", "value", "qualifier", "tolerance", "since", "year", "filters", "expect",
               "expect_figure", "across")
CLAIM_KEYS = ("text", "date", "source", "filters", "tolerance", "qualifier", "metrics",
              "expect", "url", "outlet", "published", "note", "during", "by", "across")
QUALIFIERS = {"over": ">", "more than": ">", "at least": ">=", "under": "<", "less than": "<",
              "fewer than": "<", "at most": "<=", "no more than": "<=", "nearly": "nearly",
              "almost": "nearly", "as many as": "about", "up to": "about", "about": "about",
              "around": "about", "approximately": "about", "roughly": "about", "some": "about",
              "an estimated": "about", "close to": "nearly"}
VERDICTS = ("exact", "close", "differs", "outside_range", "before_archive", "after_archive",
            "unanswerable")
DEFAULT_BAND = "5%"
CLAIMS_MAX_BYTES = 8 * inputs.MB   # a claims file is a few KB of YAML


class ClaimsError(BadInput):
    """The claims file cannot be read as claims; the message names the entry."""


@dataclass(frozen=True, slots=True)
class MetricCheck:
    """The verdict on one metric of one claim."""

    claim: str
    date: str
    metric: str
    filters: dict[str, str]
    claimed: float | str
    computed: float | None
    verdict: str         # one of VERDICTS
    tolerance: str
    publication: dict[str, Any] | None
    note: str
    qualifier: str = ""
    baseline: dict[str, Any] | None = None     # the `since` publication of a growth metric
    reconstructed: float | None = None            # before the archive: from signing dates


@dataclass(frozen=True, slots=True)
class Figure:
    """A computed claim metric and the publications it rests on."""

    value: float | None
    publication: dict[str, Any] | None
    baseline: dict[str, Any] | None = None
    detail: str = ""
    raw: float | None = None      # unrounded (a share's part / whole), judged at the claim's precision
    upper: float | None = None    # a flow: the count if every event of an unseen stretch fell in the period


@dataclass(frozen=True, slots=True)
class Spec:
    """One metric of one claim, validated."""

    metric: str
    claimed: float | str
    filters: dict[str, str]
    qualifier: str
    tolerance: str
    since: dt.date | None
    year: int | None
    sources: tuple[str, ...] = field(default=())
    problem: str = ""     # why the claim, well-formed, cannot be checked as written
    decimals: int = 0     # the decimals the value is printed with ("5%": 0, "35.9": 1)


def _list_of(metric: str) -> str:
    return "pending" if metric == "pending_entries" else "participating"


def compute(conn: sqlite3.Connection, spec: Spec, day: dt.date,
            pub: query.Publication | None = None) -> Figure:
    """The value of a claim metric at the end of ``day`` (or on ``pub`` when the claim names
    its sheet), with its publication(s)."""
    f = spec.filters
    state, model = f.get("state"), f.get("model")
    signed_year = int(f["signed_year"]) if f.get("signed_year") else None
    if spec.metric in FLOW_METRICS:
        return _flow(conn, spec, day, pub)
    if spec.metric == "counties":
        return _counties(conn, spec, day, pub)
    if spec.metric in COUNT_METRICS:
        pub = pub or _publication(conn, _list_of(spec.metric), day)
        found = measures.value_on(pub, conn, spec.metric, state, model, day, "", signed_year,
                                  f.get("agency_type"))
        return Figure(found.value, found.publication)
    if f.get("agency_type") or (signed_year is not None and spec.metric not in ("state_share", "model_share")):
        raise ClaimsError(f"{spec.metric} takes only the state and model filters"
                          + (" (and signed_year)" if spec.metric.endswith("_share") else ""))
    pub = pub or _publication(conn, "participating", day)
    if spec.metric == "state_share":
        if not state:
            raise ClaimsError("state_share needs filters.state")
        result = measures.share(conn, day, state=state, model=model, signed_year=signed_year,
                                of="model" if model else "all", publication=pub)
    elif spec.metric in ("model_share", "majority"):
        model = str(spec.claimed) if spec.metric == "majority" else model
        if not model:
            raise ClaimsError("model_share needs filters.model")
        result = measures.share(conn, day, state=state, model=model, signed_year=signed_year,
                                of="state" if state else "all", publication=pub)
    elif spec.metric == "signed_in_year_share":
        result = measures.signed_in_year_share(conn, spec.year or day.year, day, state, model, pub)
    else:
        return _growth(conn, spec, pub, state, model)
    detail = f"{result.part} of {result.whole} {result.denominator}"
    raw = 100 * result.part / result.whole if result.part is not None and result.whole else None
    return Figure(result.percent, result.publication, detail=detail, raw=raw)


def _matches(item: Any, f: dict[str, str]) -> bool:
    return ((not f.get("state") or item.state == f["state"]) and (not f.get("model") or item.model == f["model"])
            and (not f.get("agency_type") or (item.agency_type or "").lower() == f["agency_type"].lower())
            and (not f.get("signed_year") or (item.signed is not None and item.signed.year == int(f["signed_year"]))))


def _flow(conn: sqlite3.Connection, spec: Spec, day: dt.date, pub: query.Publication | None) -> Figure:
    """Agreements added, ended or switched between two days (events between the publications
    seen), agencies whose first agreement was signed then, or agreements signed since a day."""
    if spec.since is None:
        raise ClaimsError(f"{spec.metric} needs `since` (or a period: `during`)")
    f = spec.filters
    start, end = spec.since, day
    if spec.metric == "signed_since":
        pub = pub or _publication(conn, "participating", day)
        items = [a for a in query.agreements_on(conn, pub) if _matches(a, f) and a.signed and a.signed >= start]
        return Figure(len(items), query.publication_ref(pub),
                      detail=f"agreements on {pub.file} signed on or after {start}")
    if spec.metric == "first_agreements":
        firsts = conn.execute(
            "SELECT g.agency_id, MIN(g.signed), a.state, a.agency_type FROM agreements g"
            " JOIN agencies a USING (agency_id) WHERE g.signed IS NOT NULL"
            + (" AND g.model = ?" if f.get("model") else "") + " GROUP BY g.agency_id",
            (f["model"],) if f.get("model") else ()).fetchall()
        found = [r for r in firsts if start.isoformat() <= r[1] <= end.isoformat()
                 and (not f.get("state") or r[2] == f["state"])
                 and (not f.get("agency_type") or (r[3] or "").lower() == f["agency_type"].lower())]
        return Figure(len(found), None, detail=(
            f"agencies whose earliest agreement ICE listed was signed {start} to {end} (renewals and "
            "second models not counted; agreements no list the archive holds showed are not seen)"))
    kinds = FLOW_EVENTS[spec.metric]
    certain, uncertain = 0, 0
    ordered = sorted(query.publications(conn, "participating"), key=lambda p: (p.seen, p.seq))
    window = {p.id: (ordered[i - 1].seen.isoformat() if i else p.seen.isoformat(), p.seen.isoformat())
              for i, p in enumerate(ordered)}
    eve = (start - dt.timedelta(days=1)).isoformat()
    for event in query.changes(conn, since=start - dt.timedelta(days=366)):
        if event.kind not in kinds or (f.get("state") and event.state != f["state"]) \
                or (f.get("model") and event.model != f["model"]):
            continue
        # It happened after the publication seen before (low) and by the one showing it (high).
        low, high = event.details.get("between") or window.get(event.after_id, (event.date, event.date))
        if low >= eve and high <= end.isoformat():
            certain += 1
        elif low < end.isoformat() and high > start.isoformat():
            uncertain += 1
    detail = f"{', '.join(kinds)} events between the publications seen {start} to {end}"
    if uncertain:
        detail += (f"; {uncertain} more fell in a stretch nobody captured that runs past the period, "
                   "so they may or may not belong to it")
    return Figure(certain, None, detail=detail, upper=certain + uncertain)


def _counties(conn: sqlite3.Connection, spec: Spec, day: dt.date, pub: query.Publication | None) -> Figure:
    """Counties with at least one agency listed (placed by the same rules as the maps)."""
    from g287.places import coverage, reference
    state, kind = spec.filters.get("state"), spec.filters.get("agency_type")
    shown_pub, placed = coverage.placed_agencies(conn, pub.date if pub else day)
    fips = {p.county.fips for p in placed if p.county.fips and (state is None or p.state == state)
            and (kind is None or (p.agency_type or "").lower() == kind.lower())}
    total = sum(1 for c in reference.counties().values() if state is None or c.state == state)
    return Figure(len(fips), query.publication_ref(shown_pub) if shown_pub else None,
                  detail=f"{len(fips)} of {total} counties{' in ' + state if state else ''} have "
                         f"{'a ' + kind + ' agency' if kind else 'an agency'} on the sheet (placed as on the maps)")


def _publication(conn: sqlite3.Connection, list_name: str, day: dt.date | None) -> query.Publication:
    """The sheet that answers for ``day`` (the newest without one); a one-line error, not a
    crash, when the archive holds none that early."""
    pub = query.publication_as_of(conn, list_name, day)
    if pub is None:
        raise ClaimsError(f"no {list_name} sheet on or before {day}" if day else f"no {list_name} sheet held")
    return pub


def _growth(conn: sqlite3.Connection, spec: Spec, pub: query.Publication, state: str | None,
            model: str | None) -> Figure:
    if spec.since is None:
        raise ClaimsError(f"{spec.metric} needs `since`")
    start = measures.value_at(conn, "agreements", spec.since, state, model)
    if start.value is None:
        # Never a baseline from across an unseen stretch: a lower bound from signing dates.
        start = measures.reconstructed_value(conn, "agreements", spec.since, state, model)
    end = measures.value_on(pub, conn, "agreements", state, model)
    value = _growth_value(spec.metric, start.value, end.value)
    baseline = f"{start.value} on {_cite(start.publication)}" + (f" ({start.note})" if start.note else "")
    return Figure(value, end.publication, start.publication,
                  f"{baseline} to {end.value} on {_cite(end.publication)}",
                  _growth_value(spec.metric, start.value, end.value, rounded=False))


def _growth_value(metric: str, start: float | None, end: float | None, rounded: bool = True) -> float | None:
    if start is None or end is None:
        return None
    if metric == "new_agreements":
        return end - start
    if not start:
        return None
    value = 100 * (end - start) / start if metric == "growth_percent" else end / start
    return round(value, 1 if metric == "growth_percent" else 2) if rounded else value


def _cite(pub: dict[str, Any] | None) -> str:
    if not pub:
        return "no sheet"
    ampm = f" {pub['label_ampm']}" if pub.get("label_ampm") else ""
    return f"{pub['file']} (ICE label {pub['label']}{ampm})"


def _band(claimed: float, tolerance: str) -> float:
    text = str(tolerance).strip()
    try:
        if text.endswith("%"):
            return abs(claimed) * float(text[:-1]) / 100
        return float(text)
    except ValueError as exc:
        raise ClaimsError(f"tolerance {tolerance!r} is neither a number nor a percentage") from exc


def judge(claimed: float, computed: float, qualifier: str, tolerance: str) -> str:
    """exact | close | differs for a number, under the qualifier's documented semantics."""
    kind = QUALIFIERS.get(qualifier, "=")
    if kind in ("nearly", "about"):
        band = _band(claimed, tolerance if tolerance not in ("", "0") else DEFAULT_BAND)
        if computed == claimed:
            return "exact"
        inside = claimed - band <= computed < claimed if kind == "nearly" else abs(computed - claimed) <= band
        return "close" if inside else "differs"
    band = _band(claimed, tolerance or "0")
    holds = {"=": computed == claimed, ">": computed > claimed, ">=": computed >= claimed,
             "<": computed < claimed, "<=": computed <= claimed}[kind]
    if holds:
        return "exact"
    return "close" if band > 0 and abs(computed - claimed) <= band else "differs"


def at_precision(value: float, decimals: int) -> float:
    """``value`` rounded half up to the decimals a figure is printed with (4.52 → 5 at 0)."""
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


def judge_printed(spec: Spec, computed: float) -> tuple[str, str]:
    """The verdict on a figure judged at the precision the claim prints it with (a whole
    percent is right when the true share rounds to it), qualifiers on top; and a note saying
    what rounding made it so (empty when none did)."""
    claimed = float(spec.claimed)
    direct = judge(claimed, computed, spec.qualifier, spec.tolerance)
    if computed == int(computed) and spec.decimals == 0:
        return direct, ""
    shown = at_precision(computed, spec.decimals)
    if QUALIFIERS.get(spec.qualifier, "=") in (">", ">=", "<", "<="):
        return direct, ""
    rounded = judge(claimed, shown, spec.qualifier, spec.tolerance)
    order = VERDICTS.index
    if order(rounded) < order(direct):
        places = "a whole number" if spec.decimals == 0 else f"{spec.decimals} decimal(s)"
        return rounded, f"{computed:.2f} rounds to {shown:g} at the claim's precision ({places})"
    return direct, ""


def _date(value: Any, where: str) -> dt.date:
    try:
        return parse_date(value if isinstance(value, dt.date) else str(value))
    except BadInput as exc:
        raise ClaimsError(f"{where}: {exc}") from exc


def _unknown(kind: str, keys: Any, valid: tuple[str, ...] | dict, where: str) -> None:
    bad = [str(k) for k in keys if k not in valid]
    if bad:
        raise ClaimsError(f"{where}: unknown {kind} {', '.join(map(repr, bad))}; "
                          f"use {', '.join(valid)}")


def _sources(value: Any) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(str(i).strip() for i in items if str(i).strip())


def _spec(claim: dict[str, Any], metric: Any, where: str) -> Spec:
    if not isinstance(metric, dict) or "metric" not in metric or "value" not in metric:
        raise ClaimsError(f"{where}: each metric needs `metric` (one of {', '.join(CLAIM_METRICS)}) "
                          "and `value`")
    _unknown("metric key", metric, METRIC_KEYS, where)
    name = metric["metric"]
    if name not in CLAIM_METRICS:
        raise ClaimsError(f"{where}: unknown metric {name!r}; use one of {', '.join(CLAIM_METRICS)}")
    raw_filters = metric.get("filters") if metric.get("filters") is not None else claim.get("filters")
    if raw_filters is not None and not isinstance(raw_filters, dict):
        raise ClaimsError(f"{where}: filters must be a mapping such as {{state: FL}}")
    filters = {k: str(v) for k, v in (raw_filters or {}).items()}
    _unknown("filter", filters, FILTERS, where)
    try:
        if filters.get("state"):
            filters["state"] = query.check_state(filters["state"])
        if filters.get("model"):
            filters["model"] = query.check_model(filters["model"])
    except query.QueryError as exc:
        raise ClaimsError(f"{where}: {exc}") from exc
    if filters.get("signed_year") and not filters["signed_year"].isdigit():
        raise ClaimsError(f"{where}: signed_year {filters['signed_year']!r} is not a year")
    qualifier = " ".join(str(metric.get("qualifier", claim.get("qualifier", "")) or "").lower().split())
    if qualifier and qualifier not in QUALIFIERS:
        raise ClaimsError(f"{where}: unknown qualifier {qualifier!r}; use {', '.join(QUALIFIERS)}")
    problem = ""
    decimals = 0
    written = str(metric["value"]).strip()
    claimed: float | str = written
    if name == "majority":
        claimed = written.upper()
        if claimed not in MODELS:
            problem = f"majority takes a model as value ({', '.join(MODELS)}), not {metric['value']!r}"
    else:
        digits = written.replace(",", "").rstrip("%").strip()
        decimals = len(digits.partition(".")[2]) if "." in digits else 0
        try:
            claimed = float(digits)
        except ValueError:
            problem = f"{name} takes a number as value, not {metric['value']!r}"
        if isinstance(claimed, float) and not math.isfinite(claimed):
            raise ClaimsError(f"{where}: value {metric['value']!r} is not a finite number")
    tolerance = str(metric.get("tolerance", claim.get("tolerance", 0)) or 0)
    _band(1.0, tolerance)
    since = _date(metric["since"], where) if metric.get("since") else None
    day = _date(claim["date"], where)
    if (name in GROWTH_METRICS or name in FLOW_METRICS) and since is None:
        problem = problem or f"{name} needs `since` (the baseline date)"
    if since is not None and since > day:
        problem = problem or f"`since` {since} is after the claim's date {day}"
    year = int(metric["year"]) if metric.get("year") else None
    return Spec(name, claimed, filters, qualifier, tolerance, since, year,
                _sources(claim.get("source")), problem, decimals)


def _valued(conn: sqlite3.Connection, spec: Spec) -> Spec:
    """The spec with its filter values checked against the history: an agency type ICE never
    printed makes the metric unanswerable, naming those it did, never a count of zero."""
    if spec.filters.get("agency_type") and not spec.problem:
        try:
            spec.filters["agency_type"] = query.check_agency_type(conn, spec.filters["agency_type"])
        except query.QueryError as exc:
            return replace(spec, problem=str(exc))
    return spec


def _period(value: Any, where: str) -> tuple[dt.date, dt.date]:
    """The first and last day a claim's period names: a year (2011), a month (2025-05), a day,
    or a pair of those ([2012, 2016])."""
    if isinstance(value, list):
        if len(value) != 2:
            raise ClaimsError(f"{where}: a period is [start, end], not {value!r}")
        return _period(value[0], where)[0], _period(value[1], where)[1]
    if isinstance(value, dt.date):
        return value, value
    text = str(value).strip()
    try:
        if text.isdigit() and len(text) == 4:
            return dt.date(int(text), 1, 1), dt.date(int(text), 12, 31)
        if len(text) == 7 and text[4] == "-":
            first = dt.date(int(text[:4]), int(text[5:]), 1)
            return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    except ValueError as exc:
        raise ClaimsError(f"{where}: {value!r} is not a period (YYYY, YYYY-MM or YYYY-MM-DD)") from exc
    day = _date(text, where)
    return day, day


def check_claims(conn: sqlite3.Connection, claims: list[dict[str, Any]]) -> list[MetricCheck]:
    """Check every metric of every claim; verdicts are data, bad claims are ``ClaimsError``.

    A claim is dated by ``date`` (a day; or ``[start, end]`` for a vaguely dated article: the
    verdict is checked on every publication seen in the range and the note says whether it
    holds across it), ``by`` (the end of a year, month or day: "by 2010") or ``during`` (a
    year, month or ``[start, end]``: "in May 2025", "in 2011, at its peak"), with ``across``
    any (default), all, min or max over the publications seen in the period. Flow metrics
    take the period as their ``since`` and ``date``."""
    results: list[MetricCheck] = []
    for number, claim in enumerate(claims, start=1):
        where = f"claim {number}"
        if not isinstance(claim, dict) or "metrics" not in claim or not any(
                k in claim for k in ("date", "by", "during")):
            raise ClaimsError(f"{where}: needs `date` (or `by` / `during`) and `metrics`")
        _unknown("claim key", claim, CLAIM_KEYS, where)
        if not isinstance(claim["metrics"], list) or not claim["metrics"]:
            raise ClaimsError(f"{where}: `metrics` must be a non-empty list")
        span, default_across = None, "any"
        if "during" in claim:
            span = _period(claim["during"], where)
        elif "by" in claim:
            day = _period(claim["by"], where)[1]
        elif isinstance(claim["date"], list):
            span, default_across = _period(claim["date"], where), "all"
        if span is not None:
            day = span[1]
        elif "by" not in claim:
            day = _date(claim["date"], where)
        dated = {**claim, "date": day}
        text = str(claim.get("text", ""))
        for metric in claim["metrics"]:
            if span is not None and isinstance(metric, dict) and not metric.get("since") and (
                    metric.get("metric") in FLOW_METRICS or metric.get("metric") in GROWTH_METRICS):
                metric = {**metric, "since": span[0]}
            spec = _valued(conn, _spec(dated, metric, where))
            across = str(metric.get("across", claim.get("across", default_across)) if isinstance(metric, dict)
                         else default_across)
            if across not in ACROSS:
                raise ClaimsError(f"{where}: unknown across {across!r}; use {', '.join(ACROSS)}")
            if span is None or span[0] == span[1] or spec.metric in FLOW_METRICS or spec.metric in GROWTH_METRICS:
                results.append(_check(conn, text, day, spec))
            else:
                results.append(_check_period(conn, text, span, spec, across))
    return results


_RANK = {"exact": 0, "close": 1, "differs": 2}


def _check_period(conn: sqlite3.Connection, text: str, span: tuple[dt.date, dt.date], spec: Spec,
                  across: str) -> MetricCheck:
    """A figure over a period: checked on every publication seen in it (and the one in force
    at its start), taken as any, all, the smallest or the largest; the stretches nobody
    captured inside the period named in the note."""
    start, end = span
    list_name = _list_of(spec.metric)
    pubs = [p for p in query.publications(conn, list_name) if start <= p.seen <= end]
    opening = query.date_context(conn, start, list_name)
    # Known: a publication answers for the start (date_context asked publication_as_of the same).
    if opening.known and (first := query.publication_as_of(conn, list_name, start)) is not None:
        pubs = [first] + [p for p in pubs if p.id != first.id]
    label = f"{start}..{end}"
    if not pubs or spec.problem or spec.sources or spec.metric == "majority":
        checked = _check(conn, text, end, spec)
        why = "" if pubs else f"no publication of the {list_name} list was seen {start} to {end}; "
        return replace(checked, date=label, note=why + checked.note)
    figures: list[tuple[query.Publication, Figure, str, float]] = []  # ..., verdict, value
    for pub in pubs:
        try:
            figure = compute(conn, spec, pub.seen, pub)
        except (ClaimsError, measures.MeasureError, query.QueryError) as exc:
            return MetricCheck(text, label, spec.metric, spec.filters, spec.claimed, None, "unanswerable",
                               spec.tolerance, None, str(exc), spec.qualifier)
        if figure.value is not None:
            figures.append((pub, figure, judge_printed(spec, figure.raw if figure.raw is not None
                                                       else figure.value)[0], figure.value))
    if not figures:
        return MetricCheck(text, label, spec.metric, spec.filters, spec.claimed, None, "unanswerable",
                           spec.tolerance, None, "no figure on the publications seen", spec.qualifier)
    if across in ("min", "max"):
        pick = (min if across == "min" else max)(figures, key=lambda x: x[3])
        verdict, rounding = judge_printed(spec, pick[1].raw if pick[1].raw is not None else pick[3])
        summary = f"the {'smallest' if across == 'min' else 'largest'} figure of {len(figures)} publications seen"
    else:
        ranked = sorted(figures, key=lambda x: _RANK[x[2]])
        pick = ranked[0] if across == "any" else ranked[-1]
        verdict, rounding = pick[2], ""
        held = sum(1 for x in figures if x[2] == pick[2])
        summary = f"{pick[2]} on {held} of {len(figures)} publications seen" + (
            " (the verdict holds across the range)" if held == len(figures) and across == "all" else
            " (the verdict does not hold across the range: " + ", ".join(
                f"{x[1].value:g} on {x[0].seen}" for x in figures) + ")" if across == "all" else "")
    gaps = [g for g in query.unseen_stretches(conn, list_name)
            if g.start < end.isoformat() and g.end > start.isoformat()]
    unseen = "; not seen: " + ", ".join(f"{g.start} to {g.end}" for g in gaps) if gaps else ""
    note = (f"{summary} {start} to {end}: {pick[1].value:g} on {_cite(pick[1].publication)}"
            + (f" ({pick[1].detail})" if pick[1].detail else "") + (f"; {rounding}" if rounding else "") + unseen)
    return MetricCheck(text, label, spec.metric, spec.filters, spec.claimed, pick[1].value, verdict,
                       spec.tolerance, pick[1].publication, note, spec.qualifier)


def find_source(conn: sqlite3.Connection, source: str, list_name: str) -> query.Publication | str | None:
    """The publication a source names, for one list: a Publication, ``None`` when the source
    names another list, or a string saying why it cannot be used."""
    name, _, pick = source.partition("@")
    rows = conn.execute("SELECT DISTINCT c.publication_id, c.captured_utc, c.capture_folder FROM captures c"
                        " WHERE lower(c.file) = lower(?)", (name,)).fetchall()
    pubs = {p.id: p for p in query.publications(conn)}
    found = {pubs[r[0]].id: pubs[r[0]] for r in rows if r[0] in pubs}
    if not found:
        return f"source {name} is not in the archive"
    if all(p.list != list_name for p in found.values()):
        return None
    if pick:
        wanted = pick.strip().lower()
        found = {pid: p for pid, p in found.items() if p.sha256.startswith(wanted) or any(
            r[0] == pid and wanted in (str(r[1] or "").lower(), str(r[2] or "").lower()) for r in rows)}
        if not found:
            return f"no content of {name} has hash prefix or capture time {pick}"
    if len(found) > 1:
        versions = "; ".join(f"{p.sha256[:12]} first captured {p.first_captured}" for p in found.values())
        return f"{name} names {len(found)} contents ({versions}): add @hash-prefix or @capture-time"
    return next(iter(found.values()))


def _check(conn: sqlite3.Connection, text: str, day: dt.date, spec: Spec) -> MetricCheck:
    base: dict[str, Any] = dict(claim=text, date=day.isoformat(), metric=spec.metric, filters=spec.filters,
                claimed=spec.claimed, tolerance=spec.tolerance, qualifier=spec.qualifier)
    if spec.problem:
        return MetricCheck(**base, computed=None, verdict="unanswerable", publication=None, note=spec.problem)
    list_name = _list_of(spec.metric)
    pub = None
    for source in spec.sources:
        named = find_source(conn, source, list_name)
        if isinstance(named, str):
            return MetricCheck(**base, computed=None, verdict="unanswerable", publication=None, note=named)
        pub = named or pub
    context = query.date_context(conn, day, list_name)
    # A date outside the archive is never judged, whatever sheet the claim cites.
    if context.kind == "before_archive":
        return _unseen(conn, spec, base, day, context, "before_archive")
    if context.kind == "after_archive":
        return _after(conn, spec, base, day, context, pub)
    # Flows count events between the publications seen and signing dates: a boundary in an
    # unseen stretch leaves some events uncertain (the note counts them), not the whole figure.
    between_sightings = spec.metric in FLOW_METRICS and spec.metric != "signed_since"
    if pub is None and not between_sightings:
        if context.kind == "caption" and (stated := _caption(spec, base, context)):
            return stated
        if context.kind in ("in_gap", "caption"):
            return _unseen(conn, spec, base, day, context,
                           "outside_range" if context.before else "before_archive")
        if spec.since is not None and spec.metric != "signed_since":
            since_context = query.date_context(conn, spec.since, list_name)
            if since_context.kind in ("before_archive", "in_gap", "caption"):
                verdict = "before_archive" if since_context.kind == "before_archive" else "outside_range"
                return _unseen(conn, spec, base, day, since_context, verdict)
    try:
        figure = compute(conn, spec, day, pub)
    except (ClaimsError, measures.MeasureError, query.QueryError) as exc:
        return MetricCheck(**base, computed=None, verdict="unanswerable", publication=None, note=str(exc))
    if figure.value is None:
        return MetricCheck(**base, computed=None, verdict="unanswerable", publication=figure.publication,
                           baseline=figure.baseline, note=f"undefined: {figure.detail or 'no figure'}")
    if spec.metric == "majority":
        verdict = "exact" if figure.value > 50 else "differs"
        note = f"{spec.claimed} holds {figure.value}% ({figure.detail})"
    else:
        verdict, rounding = judge_printed(spec, figure.raw if figure.raw is not None else figure.value)
        note = "; ".join(n for n in (figure.detail, rounding) if n)
        if figure.upper is not None and verdict != "exact" and figure.value <= float(spec.claimed) <= figure.upper:
            # What nobody saw could make the claim right: not judged.
            verdict = "outside_range"
            note += f"; between {figure.value:g} and {figure.upper:g}, the claim cannot be settled"
    if pub is not None and pub.date != day:
        note = "; ".join(n for n in (note, f"checked on the cited sheet {_cite(query.publication_ref(pub))}")
                         if n)
    return MetricCheck(**base, computed=figure.value, verdict=verdict, publication=figure.publication,
                       baseline=figure.baseline, note=note)


def _caption(spec: Spec, base: dict[str, Any], context: query.DateContext) -> MetricCheck | None:
    """A count ICE's caption states for the claim's very day: ICE's own statement, checkable
    as such (only the caption's total: it says nothing of states, models or types)."""
    caption = context.caption
    if caption is None or spec.metric != "agreements" or spec.filters:
        return None
    count = float(caption["count"])
    verdict, rounding = judge_printed(spec, count)
    note = (f"ICE's own caption \"{caption['text']}\" states {caption['count']} as of {caption['as_of']}: "
            f"a statement, not a list seen that day (the list under it was first captured "
            f"{caption['content_seen']})")
    return MetricCheck(**base, computed=count, verdict=verdict, publication=caption["publication"],
                       note="; ".join(n for n in (note, rounding) if n))


def _unseen(conn: sqlite3.Connection, spec: Spec, base: dict[str, Any], day: dt.date,
            context: query.DateContext, verdict: str) -> MetricCheck:
    """A date (or a growth baseline) nothing was seen on: never judged, never answered by a
    publication from across the stretch; the figures on both sides and the reconstruction
    from signing dates (a lower bound) where the metric has one."""
    f = spec.filters
    state, model = f.get("state"), f.get("model")
    reconstructed = None
    detail = "no reconstruction exists for this figure"
    if spec.metric in ("agreements", "agencies", "states") and not f.get("signed_year"):
        value = measures.reconstructed_value(conn, spec.metric, day, state, model, f.get("agency_type"))
        if value.value is not None:
            reconstructed = value.value
            detail = f"{value.value} {measures.RECONSTRUCTED} on {_cite(value.publication)}, not observed " \
                     "(a lower bound)"
    elif spec.metric in GROWTH_METRICS and spec.since is not None and day >= spec.since:
        start = measures.value_at(conn, "agreements", spec.since, state, model)
        if start.value is None:
            start = measures.reconstructed_value(conn, "agreements", spec.since, state, model)
        end = measures.value_at(conn, "agreements", day, state, model)
        if end.value is None:
            end = measures.reconstructed_value(conn, "agreements", day, state, model)
        reconstructed = _growth_value(spec.metric, start.value, end.value)
        if reconstructed is not None:
            detail = (f"{reconstructed} from a baseline of {start.value} on {spec.since} "
                      f"({start.note or 'per ' + _cite(start.publication)}) to {end.value} on {day} "
                      f"({end.note or 'per ' + _cite(end.publication)})")
    return MetricCheck(**base, computed=None, verdict=verdict, publication=None,
                       reconstructed=reconstructed, note=f"{context.note}; {detail}")


def _after(conn: sqlite3.Connection, spec: Spec, base: dict[str, Any], day: dt.date,
           context: query.DateContext, cited: query.Publication | None = None) -> MetricCheck:
    """After the archive: what the last sheet (or the sheet the claim cites) said, never a
    verdict on the claim."""
    last = cited or _publication(conn, context.list, None)
    try:
        figure = compute(conn, spec, last.date, last)
        which = "the cited sheet" if cited else "the last sheet"
        said = f"{which}, {_cite(figure.publication)}, said {figure.value}" + (
            f" ({figure.detail})" if figure.detail else "")
    except (ClaimsError, measures.MeasureError, query.QueryError) as exc:
        said = f"the last sheet is {_cite(query.publication_ref(last))} ({exc})"
    return MetricCheck(**base, computed=None, verdict="after_archive",
                       publication=query.publication_ref(last),
                       note=f"{day} is after the archive (last seen {context.last_seen}); {said}")


def load_claims(path: Path) -> list[dict[str, Any]]:
    """Read a claims YAML file."""
    try:
        data = yaml.safe_load(inputs.read_text(path, CLAIMS_MAX_BYTES, "claims YAML file"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise ClaimsError(f"{path}: not valid YAML ({problem}{where})") from exc
    claims = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(claims, list):
        raise ClaimsError(f"{path}: expected a list under `claims`")
    return claims


@dataclass(frozen=True, slots=True)
class Match:
    """A publication on which a metric had the value looked for, or nearly (``near``)."""

    metric: str
    value: float
    publication: dict[str, Any]
    replaced: bool       # a later content of the same list carries the same label date
    near: str = ""       # '' exact; else how it misses: 'off by 1' or 'as agencies, not agreements'


# Figures reporters confuse: a count of agreements printed as agencies, and the reverse.
_CONFUSED = {"agreements": "agencies", "agencies": "agreements"}


def find_claim(conn: sqlite3.Connection, metric: str, value: float,
               filters: dict[str, str] | None = None, near: bool = True) -> list[Match]:
    """Every publication, replaced ones included, on which a metric had exactly this value;
    then (``near``) the near misses a reporter may have meant: the value off by one, or the
    value as the other count (agencies for agreements, and the reverse)."""
    findable = (*COUNT_METRICS, "state_share", "model_share")
    if metric not in findable:
        raise ClaimsError(f"find works on {', '.join(findable)}, not {metric!r}")
    _unknown("filter", filters or {}, FILTERS, "find")
    pubs = query.publications(conn, _list_of(metric))
    tries = [(metric, value, "")]
    if near:
        tries += [(metric, value - 1, "off by 1"), (metric, value + 1, "off by 1")]
        if metric in _CONFUSED:
            tries.append((_CONFUSED[metric], value, f"as {_CONFUSED[metric]}, not {metric}"))
    matches = []
    for name, wanted, how in tries:
        spec = Spec(name, wanted, dict(filters or {}), "", "0", None, None)
        for pub in pubs:
            figure = compute(conn, spec, pub.date, pub)
            if figure.value == wanted:
                replaced = any(p.date == pub.date and p.seq > pub.seq for p in pubs)
                matches.append(Match(name, wanted, figure.publication or query.publication_ref(pub), replaced,
                                     how))
    return matches
