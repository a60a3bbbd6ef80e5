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
from dataclasses import dataclass, field
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
CLAIM_METRICS: dict[str, str] = {**COUNT_METRICS, **GROWTH_METRICS, **SHARE_METRICS}
FILTERS = ("state", "model", "signed_year", "agency_type")
METRIC_KEYS = ("metric", "value", "qualifier", "tolerance", "since", "year", "filters", "expect")
CLAIM_KEYS = ("text", "date", "source", "filters", "tolerance", "qualifier", "metrics",
              "expect", "url", "outlet", "published", "note")
QUALIFIERS = {"over": ">", "more than": ">", "at least": ">=", "under": "<", "less than": "<",
              "fewer than": "<", "nearly": "nearly", "almost": "nearly", "about": "about",
              "around": "about", "approximately": "about"}
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
    return Figure(result.percent, result.publication, detail=detail)


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
    start_pub = query.publication_as_of(conn, "participating", spec.since)
    start = (measures.value_on(start_pub, conn, "agreements", state, model) if start_pub
             else measures.reconstructed_value(conn, "agreements", spec.since, state, model))
    end = measures.value_on(pub, conn, "agreements", state, model)
    value = _growth_value(spec.metric, start.value, end.value)
    baseline = f"{start.value} on {_cite(start.publication)}" + (f" ({start.note})" if start.note else "")
    return Figure(value, end.publication, start.publication,
                  f"{baseline} to {end.value} on {_cite(end.publication)}")


def _growth_value(metric: str, start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    if metric == "new_agreements":
        return end - start
    if not start:
        return None
    return round(100 * (end - start) / start, 1) if metric == "growth_percent" else round(end / start, 2)


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
             "<": computed < claimed}[kind]
    if holds:
        return "exact"
    return "close" if band > 0 and abs(computed - claimed) <= band else "differs"


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
    written = str(metric["value"]).strip()
    claimed: float | str = written
    if name == "majority":
        claimed = written.upper()
        if claimed not in MODELS:
            problem = f"majority takes a model as value ({', '.join(MODELS)}), not {metric['value']!r}"
    else:
        try:
            claimed = float(written.replace(",", "").rstrip("%"))
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
                _sources(claim.get("source")), problem)


def check_claims(conn: sqlite3.Connection, claims: list[dict[str, Any]]) -> list[MetricCheck]:
    """Check every metric of every claim; verdicts are data, bad claims are ``ClaimsError``."""
    results: list[MetricCheck] = []
    for number, claim in enumerate(claims, start=1):
        where = f"claim {number}"
        if not isinstance(claim, dict) or "metrics" not in claim or "date" not in claim:
            raise ClaimsError(f"{where}: needs `date` and `metrics`")
        _unknown("claim key", claim, CLAIM_KEYS, where)
        if not isinstance(claim["metrics"], list) or not claim["metrics"]:
            raise ClaimsError(f"{where}: `metrics` must be a non-empty list")
        day = _date(claim["date"], where)
        specs = [_spec(claim, metric, where) for metric in claim["metrics"]]
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
        return _before(conn, spec, base, day, context.note)
    if context.kind == "after_archive":
        return _after(conn, spec, base, day, context, pub)
    if pub is None:
        if context.kind == "in_gap":
            return MetricCheck(**base, computed=None, verdict="outside_range",
                               publication=context.answering, note=context.note)
        if spec.since is not None:
            since_context = query.date_context(conn, spec.since, list_name)
            if since_context.kind == "before_archive":
                return _before(conn, spec, base, day, since_context.note)
            if since_context.kind == "in_gap":
                return MetricCheck(**base, computed=None, verdict="outside_range",
                                   publication=None, note=since_context.note)
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
        verdict = judge(float(spec.claimed), figure.value, spec.qualifier, spec.tolerance)
        note = figure.detail
    if pub is not None and pub.date != day:
        note = "; ".join(n for n in (note, f"checked on the cited sheet {_cite(query.publication_ref(pub))}")
                         if n)
    return MetricCheck(**base, computed=figure.value, verdict=verdict, publication=figure.publication,
                       baseline=figure.baseline, note=note)


def _before(conn: sqlite3.Connection, spec: Spec, base: dict[str, Any], day: dt.date,
            why: str) -> MetricCheck:
    """Before the archive: the reconstruction from signing dates, where the metric has one."""
    f = spec.filters
    reconstructed = None
    detail = "no reconstruction exists for this figure"
    if spec.metric in ("agreements", "agencies", "states") and not f.get("signed_year") \
            and not f.get("agency_type"):
        value = measures.reconstructed_value(conn, spec.metric, day, f.get("state"), f.get("model"))
        reconstructed, detail = value.value, f"{value.value} {measures.RECONSTRUCTED} on " \
                                             f"{_cite(value.publication)}, not observed"
    elif spec.metric in GROWTH_METRICS and spec.since is not None and day >= spec.since:
        state, model = f.get("state"), f.get("model")
        start = measures.reconstructed_value(conn, "agreements", spec.since, state, model)
        observed = query.date_context(conn, day, "participating").kind == "in_archive"
        end = (measures.value_at(conn, "agreements", day, state, model) if observed
               else measures.reconstructed_value(conn, "agreements", day, state, model))
        reconstructed = _growth_value(spec.metric, start.value, end.value)
        detail = (f"{reconstructed} from a baseline of {start.value} on {spec.since} "
                  f"{measures.RECONSTRUCTED} on {_cite(start.publication)} (not observed) "
                  f"to {end.value} on {day}" + (f" per {_cite(end.publication)}" if observed
                                                 else ", also reconstructed"))
    return MetricCheck(**base, computed=None, verdict="before_archive", publication=None,
                       reconstructed=reconstructed, note=f"{why}; {detail}")


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
    """A publication on which a metric had the value looked for."""

    metric: str
    value: float
    publication: dict[str, Any]
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
            matches.append(Match(metric, value, figure.publication or query.publication_ref(pub), replaced))
    return matches
