"""Check published statements against the history.

A claims file (YAML) lists statements; each has a text, a date (the end of that day),
and one or more metrics with the value the statement gives, optional filters (state,
model, list) and a tolerance (absolute, or a percentage such as ``"2%"``)::

    claims:
      - text: "571 agreements across 40 states"
        date: 2025-05-16
        metrics:
          - {metric: agreements, value: 571}
          - {metric: states, value: 40}
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from g287 import query
from g287.analytics import measures

# metric -> what it counts; filters narrow state/model where it makes sense.
CLAIM_METRICS: dict[str, str] = {
    "agreements": "distinct agreements on the participating sheet",
    "agencies": "distinct agencies on the participating sheet",
    "states": "states with at least one agreement",
    "pending_entries": "distinct entries on the pending sheet",
    "state_share": "percent of agreements in filters.state (of a model if filters.model)",
    "growth_percent": "percent growth of agreements since `since`",
    "growth_multiple": "agreements now over agreements at `since`",
}


class ClaimsError(ValueError):
    """The claims file cannot be read as claims; the message names the entry."""


@dataclass(frozen=True, slots=True)
class MetricCheck:
    """The verdict on one metric of one claim."""

    claim: str
    date: str
    metric: str
    filters: dict[str, str]
    claimed: float
    computed: float | None
    verdict: str         # exact | close | differs | outside_range | unanswerable
    tolerance: str
    publication: dict[str, object] | None
    note: str


def archive_range(conn: sqlite3.Connection) -> tuple[dt.date, dt.date] | None:
    """First and last publication dates held."""
    pubs = query.publications(conn)
    return (min(p.date for p in pubs), max(p.date for p in pubs)) if pubs else None


def compute(conn: sqlite3.Connection, metric: str, day: dt.date, filters: dict[str, str],
            since: dt.date | None = None) -> tuple[float | None, dict[str, object] | None]:
    """The value of a claim metric at the end of ``day``, with its publication."""
    state, model = filters.get("state"), filters.get("model")
    if metric in measures.METRICS:
        found = measures.value_at(conn, metric, day, state, model)
        return found.value, found.publication
    if metric == "state_share":
        if not state:
            raise ClaimsError("state_share needs filters.state")
        result = measures.share(conn, day, state=state, model=model, of="model" if model else "all")
        return result.percent, result.publication
    if metric in ("growth_percent", "growth_multiple"):
        if since is None:
            raise ClaimsError(f"{metric} needs `since`")
        result = measures.growth(conn, since, day, "agreements", state, model)
        value = result.percent if metric == "growth_percent" else result.multiple
        return value, result.end.publication
    raise ClaimsError(f"unknown metric {metric!r}; use one of {', '.join(CLAIM_METRICS)}")


def _within(claimed: float, computed: float, tolerance: Any) -> bool:
    text = str(tolerance or 0).strip()
    try:
        if text.endswith("%"):
            return abs(computed - claimed) <= abs(claimed) * float(text[:-1]) / 100
        return abs(computed - claimed) <= float(text)
    except ValueError as exc:
        raise ClaimsError(f"tolerance {tolerance!r} is neither a number nor a percentage") from exc


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ClaimsError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def check_claims(conn: sqlite3.Connection, claims: list[dict[str, Any]]) -> list[MetricCheck]:
    """Check every metric of every claim; verdicts are data, not exceptions."""
    span = archive_range(conn)
    results = []
    for number, claim in enumerate(claims, start=1):
        where = f"claim {number}"
        if not isinstance(claim, dict) or "metrics" not in claim or "date" not in claim:
            raise ClaimsError(f"{where}: needs `date` and `metrics`")
        day = _date(claim["date"], where)
        for metric in claim["metrics"]:
            results.append(_check_metric(conn, claim, day, metric, span, where))
    return results


def _check_metric(conn: sqlite3.Connection, claim: dict[str, Any], day: dt.date,
                  metric: dict[str, Any], span: tuple[dt.date, dt.date] | None,
                  where: str) -> MetricCheck:
    name = metric.get("metric")
    if name not in CLAIM_METRICS or "value" not in metric:
        raise ClaimsError(f"{where}: each metric needs `metric` (one of "
                          f"{', '.join(CLAIM_METRICS)}) and `value`")
    filters = {k: str(v) for k, v in (metric.get("filters") or claim.get("filters") or {}).items()}
    tolerance = metric.get("tolerance", claim.get("tolerance", 0))
    claimed = float(metric["value"])
    base = dict(claim=str(claim.get("text", "")), date=day.isoformat(), metric=name, filters=filters,
                claimed=claimed, tolerance=str(tolerance))
    if span is None or not span[0] <= day:
        covered = f"{span[0]} to {span[1]}" if span else "nothing yet"
        return MetricCheck(**base, computed=None, verdict="outside_range", publication=None,
                           note=f"the archive covers {covered}")
    since = _date(metric["since"], where) if metric.get("since") else None
    if since is not None and since < span[0]:
        return MetricCheck(**base, computed=None, verdict="outside_range", publication=None,
                           note=f"`since` {since} is before the archive ({span[0]} to {span[1]})")
    try:
        computed, publication = compute(conn, name, day, filters, since)
    except (ClaimsError, query.QueryError) as exc:
        return MetricCheck(**base, computed=None, verdict="unanswerable", publication=None,
                           note=f"{where}: {exc}")
    note = f"the archive covers {span[0]} to {span[1]}" if day > span[1] else ""
    try:
        close = computed is not None and _within(claimed, computed, tolerance)
    except ClaimsError as exc:
        return MetricCheck(**base, computed=computed, verdict="unanswerable", publication=publication,
                           note=f"{where}: {exc}")
    verdict = _verdict(claimed, computed, close)
    gap = _unseen(conn, name, day, filters, since, publication)
    if gap is not None:
        # Inside a stretch nobody captured, only what both sides agree on can be said.
        after_value, note = gap
        after = _verdict(claimed, after_value, after_value is not None and _within(
            claimed, after_value, tolerance))
        between = (computed is not None and after_value is not None
                   and min(computed, after_value) < claimed < max(computed, after_value))
        if between or after != verdict:
            why = (f"{claimed:g} lies between the two" if between else
                   f"the capture before says {verdict}, the one after {after}")
            return MetricCheck(**base, computed=computed, verdict="unanswerable",
                               publication=publication,
                               note=f"{note}; {why}, so the archive can neither confirm nor refute it")
        note = f"{note}; both captures around it say {verdict}"
    return MetricCheck(**base, computed=computed, verdict=verdict, publication=publication, note=note)


def _verdict(claimed: float, computed: float | None, close: bool) -> str:
    if computed is None:
        return "outside_range"
    if computed == claimed:
        return "exact"
    return "close" if close else "differs"


def _unseen(conn: sqlite3.Connection, metric: str, day: dt.date, filters: dict[str, str],
            since: dt.date | None, publication: dict[str, object] | None
            ) -> tuple[float | None, str] | None:
    """When ``day`` falls in a stretch nobody captured: the value on the first publication
    after it, and a note naming the captures on either side with their values."""
    if publication is None or metric == "pending_entries":
        return None
    pub = query.publication_as_of(conn, "participating", day)
    gap = query.gap_context(conn, "participating", day, pub) if pub else None
    if gap is None:
        return None
    after_day = dt.date.fromisoformat(gap["between"][1])
    before_value, _ = compute(conn, metric, day, filters, since)
    after_value, after_ref = compute(conn, metric, after_day, filters, since)
    nearest = min((dt.date.fromisoformat(gap["between"][0]), before_value),
                  (after_day, after_value), key=lambda seen: abs((seen[0] - day).days))
    return after_value, (f"{day} falls between captures of {gap['between'][0]} ({before_value:g}, "
                         f"{publication['file']}) and {gap['between'][1]} ({after_value:g}, "
                         f"{after_ref['file'] if after_ref else '?'}); the nearest is "
                         f"{nearest[0]} ({nearest[1]:g})")


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


def find_claim(conn: sqlite3.Connection, metric: str, value: float,
               filters: dict[str, str] | None = None) -> list[Match]:
    """Every publication on which a count metric had exactly this value."""
    if metric not in measures.METRICS and metric != "state_share":
        raise ClaimsError(f"find works on {', '.join(measures.METRICS)} and state_share")
    list_name = "pending" if metric == "pending_entries" else "participating"
    matches = []
    for pub in query.publications(conn, list_name):
        computed, ref = compute(conn, metric, pub.date, filters or {})
        if ref and ref["id"] == pub.id and computed == value:
            matches.append(Match(metric, value, ref))
    return matches
