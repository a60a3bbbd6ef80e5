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

Metrics: see ``CLAIM_METRICS`` (counts, ``new_agreements``/``growth_percent``/
``growth_multiple`` with ``since``, ``state_share``, ``model_share``,
``signed_in_year_share`` with ``year``, ``majority`` with a model as value). Metric keys:
``METRIC_KEYS`` (``expect`` is the verdict a test expects; the checker ignores it).
Filters (per metric or per claim): ``state``, ``model``, ``signed_year``, ``agency_type``.
Unknown metrics, filter keys or metric keys are errors naming the valid ones: a claim about
a subset must never be checked against the whole.

Verdicts, each with a one-line note:

- ``exact``: the figure is right as stated (equal; or the qualifier's inequality holds).
- ``close``: within the tolerance, or within the band of ``about``/``nearly``.
- ``differs``: neither.
- ``before_archive``: a date the metric needs is before the archive's first sheet; the note
  gives the figure reconstructed from signing dates where one exists (never as observed).
- ``after_archive``: the claim's date is after the archive; the note gives the last sheet's
  (or the cited sheet's) figure, file and date. Never exact/close/differs: ICE may have
  changed the list since.
- ``outside_range``: the date falls in a gap of the archive (``query.date_context``).
- ``unanswerable``: the history cannot compute it (a source not found, a metric that does
  not apply to the filters).

Qualifiers (``qualifier:``), with ``band`` = the tolerance, else 5% of the claimed value:

- ``over`` / ``more than``: exact when computed > claimed;
- ``at least``: exact when computed >= claimed;
- ``under`` / ``less than`` / ``fewer than``: exact when computed < claimed;
- ``nearly`` / ``almost``: exact when equal; close when claimed - band <= computed < claimed;
- ``about`` / ``around`` / ``approximately``: exact when equal; close within ± band.

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

from g287 import query
from g287.analytics import measures
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
CLAIM_METRICS: dict[str, str] = {**COUNT_METRICS, **GROWTH_METRICS, **SHARE_METRICS}
FILTERS = ("state", "model", "signed_year", "agency_type")
METRIC_KEYS = ("metric", "value", "qualifier", "tolerance", "since", "year", "filters", "expect",
               "expect_figure")
CLAIM_KEYS = ("text", "date", "source", "filters", "tolerance", "qualifier", "metrics",
              "expect", "url", "outlet", "published", "note")
QUALIFIERS = {"over": ">", "more than": ">", "at least": ">=", "under": "<", "less than": "<",
              "fewer than": "<", "at most": "<=", "no more than": "<=", "nearly": "nearly",
              "almost": "nearly", "as many as": "nearly", "up to": "nearly", "about": "about",
              "around": "about", "approximately": "about", "roughly": "about", "some": "about",
              "an estimated": "about", "close to": "nearly"}
VERDICTS = ("exact", "close", "differs", "outside_range", "before_archive", "after_archive",
            "unanswerable")
DEFAULT_BAND = "5%"


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
    publication: dict[str, object] | None
    note: str
    qualifier: str = ""
    baseline: dict[str, object] | None = None     # the `since` publication of a growth metric
    reconstructed: float | None = None            # before the archive: from signing dates


@dataclass(frozen=True, slots=True)
class Figure:
    """A computed claim metric and the publications it rests on."""

    value: float | None
    publication: dict[str, object] | None
    baseline: dict[str, object] | None = None
    detail: str = ""
    raw: float | None = None      # unrounded (a share's part / whole), judged at the claim's precision


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
    if spec.metric in COUNT_METRICS:
        pub = pub or query.publication_as_of(conn, _list_of(spec.metric), day)
        found = measures.value_on(pub, conn, spec.metric, state, model, day, "", signed_year,
                                  f.get("agency_type"))
        return Figure(found.value, found.publication)
    if f.get("agency_type") or (signed_year is not None and spec.metric not in ("state_share", "model_share")):
        raise ClaimsError(f"{spec.metric} takes only the state and model filters"
                          + (" (and signed_year)" if spec.metric.endswith("_share") else ""))
    pub = pub or query.publication_as_of(conn, "participating", day)
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
    raw = 100 * result.part / result.whole if result.whole else None
    return Figure(result.percent, result.publication, detail=detail, raw=raw)


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


def _cite(pub: dict[str, object] | None) -> str:
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
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ClaimsError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


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
    claimed: float | str = str(metric["value"]).strip()
    if name == "majority":
        claimed = claimed.upper()
        if claimed not in MODELS:
            problem = f"majority takes a model as value ({', '.join(MODELS)}), not {metric['value']!r}"
    else:
        digits = claimed.replace(",", "").rstrip("%").strip()
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
    if name in GROWTH_METRICS and since is None:
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


def check_claims(conn: sqlite3.Connection, claims: list[dict[str, Any]]) -> list[MetricCheck]:
    """Check every metric of every claim; verdicts are data, bad claims are ``ClaimsError``."""
    results = []
    for number, claim in enumerate(claims, start=1):
        where = f"claim {number}"
        if not isinstance(claim, dict) or "metrics" not in claim or "date" not in claim:
            raise ClaimsError(f"{where}: needs `date` and `metrics`")
        _unknown("claim key", claim, CLAIM_KEYS, where)
        if not isinstance(claim["metrics"], list) or not claim["metrics"]:
            raise ClaimsError(f"{where}: `metrics` must be a non-empty list")
        day = _date(claim["date"], where)
        specs = [_valued(conn, _spec(claim, metric, where)) for metric in claim["metrics"]]
        results.extend(_check(conn, str(claim.get("text", "")), day, spec) for spec in specs)
    return results


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
    base = dict(claim=text, date=day.isoformat(), metric=spec.metric, filters=spec.filters,
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
    if pub is None:
        if context.kind == "caption" and (stated := _caption(spec, base, context)):
            return stated
        if context.kind in ("in_gap", "caption"):
            return _unseen(conn, spec, base, day, context, "outside_range")
        if spec.since is not None:
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
    last = cited or query.publication_as_of(conn, context.list)
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
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ClaimsError(f"{path}: not valid YAML ({exc})") from exc
    claims = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(claims, list):
        raise ClaimsError(f"{path}: expected a list under `claims`")
    return claims


@dataclass(frozen=True, slots=True)
class Match:
    """A publication on which a metric had the value looked for."""

    metric: str
    value: float
    publication: dict[str, object]
    replaced: bool       # a later content of the same list carries the same label date


def find_claim(conn: sqlite3.Connection, metric: str, value: float,
               filters: dict[str, str] | None = None) -> list[Match]:
    """Every publication, replaced ones included, on which a metric had exactly this value."""
    findable = (*COUNT_METRICS, "state_share", "model_share")
    if metric not in findable:
        raise ClaimsError(f"find works on {', '.join(findable)}, not {metric!r}")
    _unknown("filter", filters or {}, FILTERS, "find")
    spec = Spec(metric, value, dict(filters or {}), "", "0", None, None)
    pubs = query.publications(conn, _list_of(metric))
    matches = []
    for pub in pubs:
        figure = compute(conn, spec, pub.date, pub)
        if figure.value == value:
            replaced = any(p.date == pub.date and p.seq > pub.seq for p in pubs)
            matches.append(Match(metric, value, figure.publication, replaced))
    return matches
