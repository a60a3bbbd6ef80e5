"""Time series of the program: per publication, daily, and reconstructed from signing dates."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Any

from g287 import answers, query
from g287.normalize import MODELS


@dataclass(frozen=True, slots=True)
class PublicationPoint:
    """The counts printed on one publication."""

    date: str
    list: str
    publication: dict[str, Any]
    rows: int
    count: int                 # agreements (participating) or entries (pending)
    agencies: int
    states: int
    by_model: dict[str, int]
    by_state: dict[str, int]
    by_agency_type: dict[str, int]


def publication_series(conn: sqlite3.Connection, list_name: str | None = None) -> list[PublicationPoint]:
    """Counts for every publication of one or both lists, oldest first (figures stored at
    ingest, see :mod:`g287.answers`; computed here for a publication that has none)."""
    points = []
    stored = answers.stored_figures(conn)
    for pub in query.publications(conn, list_name):
        s = stored.get(pub.id) or query.figures_of(conn, pub)
        points.append(PublicationPoint(pub.label, pub.list, query.publication_ref(pub), pub.rows, s["count"],
                                       s["agencies"], s["states"], s["by_model"], s["by_state"],
                                       s["by_agency_type"]))
    return points


@dataclass(frozen=True, slots=True)
class DailyPoint:
    """The program at the end of one day, each list carried forward from its last publication."""

    date: str
    agreements: int | None
    agencies: int | None
    states: int | None
    pending_entries: int | None
    by_model: dict[str, int]
    participating_file: str | None
    pending_file: str | None
    # The day lies in a stretch of the participating list nobody captured (see
    # ``query.unseen_stretches``): its participating figures are blank, never carried across.
    in_gap: bool = False


def _seen(point: PublicationPoint) -> str:
    """The first day a point's content was seen (a transcription's first capture)."""
    return str(point.publication.get("seen_from") or point.date)


def daily_series(conn: sqlite3.Connection, start: dt.date | None = None,
                 end: dt.date | None = None) -> list[DailyPoint]:
    """One point a day from ``start`` (default: first publication) to ``end`` (default: last)."""
    points = sorted(publication_series(conn), key=_seen)
    if not points:
        return []
    first = start or dt.date.fromisoformat(_seen(points[0]))
    last = end or dt.date.fromisoformat(_seen(points[-1]))
    unseen = [(dt.date.fromisoformat(s.start), dt.date.fromisoformat(s.end)) for s in query.unseen_stretches(conn)]
    latest: dict[str, PublicationPoint] = {}
    pending_iter = iter(points)
    upcoming = next(pending_iter, None)
    days = []
    day = first
    while day <= last:
        while upcoming is not None and _seen(upcoming) <= day.isoformat():
            latest[upcoming.list] = upcoming
            upcoming = next(pending_iter, None)
        gap = any(a < day < b for a, b in unseen)
        # Nothing is carried across a stretch nobody captured: those days are blank, flagged.
        part = None if gap else latest.get("participating")
        pend = latest.get("pending")
        days.append(DailyPoint(
            day.isoformat(), part.count if part else None, part.agencies if part else None,
            part.states if part else None, pend.count if pend else None,
            part.by_model if part else {m: 0 for m in MODELS},
            str(part.publication["file"]) if part else None,
            str(pend.publication["file"]) if pend else None, gap))
        day += dt.timedelta(days=1)
    return days


RECONSTRUCTION_CAVEAT = (
    "Reconstructed from the signing dates printed on {file}: an agreement counts from the day "
    "it was signed. It cannot see agreements that ended before that sheet (they are not on it), "
    "and it uses the signing date as printed (ICE re-dates some agreements).")


RECONSTRUCTED_NOTE = "reconstructed from signing dates, not observed on a sheet of that day"


@dataclass(frozen=True, slots=True)
class Reconstruction:
    """Agreements on one sheet counted back in time by their signing dates."""

    publication: dict[str, Any]
    caveat: str
    undated: int
    # {"date", "reconstructed_agreements", "reconstructed_by_model"}: named apart from the
    # observed series so a reconstruction is never read as what a sheet printed that day.
    points: list[dict[str, Any]]
    note: str = ""


def reconstructed_series(conn: sqlite3.Connection, as_of: dt.date | None = None,
                         start: dt.date | None = None) -> Reconstruction | None:
    """Agreements on the as-of participating sheet signed on or before each day."""
    pub = query.publication_as_of(conn, "participating", as_of)
    if pub is None:
        return None
    agreements = query.agreements_on(conn, pub)
    dated = sorted((a.signed, a.model) for a in agreements if a.signed)
    if not dated:
        return Reconstruction(query.publication_ref(pub), RECONSTRUCTION_CAVEAT.format(file=pub.file),
                              len(agreements), [], RECONSTRUCTED_NOTE)
    day, last = start or dated[0][0], pub.date
    counts = {m: 0 for m in MODELS}
    index, points = 0, []
    while day <= last:
        while index < len(dated) and dated[index][0] <= day:
            counts[dated[index][1]] += 1
            index += 1
        points.append({"date": day.isoformat(), "reconstructed_agreements": sum(counts.values()),
                       "reconstructed_by_model": dict(counts)})
        day += dt.timedelta(days=1)
    return Reconstruction(query.publication_ref(pub), RECONSTRUCTION_CAVEAT.format(file=pub.file),
                          len(agreements) - len(dated), points, RECONSTRUCTED_NOTE)


def runs(days: list[str], stretches: list[query.UnseenStretch]) -> list[list[int]]:
    """Indices of chart points (dated by when they were seen, oldest first) split wherever a
    stretch nobody captured lies between two neighbours: a chart draws one line per run and
    never across what no one saw."""
    out: list[list[int]] = []
    for index, day in enumerate(days):
        if out and not any(days[index - 1] <= s.start and s.end <= day for s in stretches):
            out[-1].append(index)
        else:
            out.append([index])
    return out


# Stretches drawn as gaps on the long-run chart: a change of source, or a year unseen.
LONG_GAP_DAYS = 366


@dataclass(frozen=True, slots=True)
class LongRun:
    """The participating list over all the archive holds: what was observed, the long
    stretches nobody saw, and the count reconstructed from the newest sheet's signing dates."""

    points: list[PublicationPoint]
    gaps: list[query.UnseenStretch]
    reconstruction: Reconstruction | None


def long_run(conn: sqlite3.Connection) -> LongRun:
    """The long-run series of agreements, with its gaps marked (for charts)."""
    points = publication_series(conn, "participating")
    gaps = [s for s in query.unseen_stretches(conn) if s.sources_differ or s.days >= LONG_GAP_DAYS]
    start = dt.date.fromisoformat(points[0].date) if points else None
    return LongRun(points, gaps, reconstructed_series(conn, start=start))


@dataclass(frozen=True, slots=True)
class ModelChange:
    """A model appearing on, or disappearing from, the participating list, read from the
    publications themselves: the last one listing it (or not) and the first one after."""

    model: str
    change: str                         # 'listed' | 'absent' | 'listed again'
    date: str                           # date of the first publication showing the change
    when: str                           # that date, or "between A and B" across a gap
    agreements_before: int              # agreements under the model on the publication before
    agreements_after: int
    before: dict[str, Any] | None    # the publication before (None: the first one)
    after: dict[str, Any]


def model_timeline(conn: sqlite3.Connection) -> list[ModelChange]:
    """When each model first appears on the participating list, leaves it, and returns,
    as the archive shows it (e.g. the task force model absent after 2012 until 2025)."""
    points = publication_series(conn, "participating")
    stretches = {(s.before["id"], s.after["id"]): s for s in query.unseen_stretches(conn)}
    changes: list[ModelChange] = []
    previous: PublicationPoint | None = None
    seen: set[str] = set()
    for point in points:
        for code in MODELS:
            now = point.by_model.get(code, 0)
            before = previous.by_model.get(code, 0) if previous else 0
            if (now > 0) == (before > 0):
                continue
            gap = stretches.get((previous.publication["id"], point.publication["id"])) if previous else None
            when = f"between {previous.date} and {point.date}" if gap and previous else point.date
            change = ("listed again" if code in seen else "listed") if now else "absent"
            seen.add(code)
            changes.append(ModelChange(code, change, point.date, when, before, now,
                                       previous.publication if previous else None, point.publication))
        previous = point
    return changes
