"""Time series of the program: per publication, daily, and reconstructed from signing dates."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from g287 import answers, query
from g287.normalize import MODELS


@dataclass(frozen=True, slots=True)
class PublicationPoint:
    """The counts printed on one publication."""

    date: str
    list: str
    publication: dict[str, object]
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


def daily_series(conn: sqlite3.Connection, start: dt.date | None = None,
                 end: dt.date | None = None) -> list[DailyPoint]:
    """One point a day from ``start`` (default: first publication) to ``end`` (default: last)."""
    points = publication_series(conn)
    if not points:
        return []
    first = start or dt.date.fromisoformat(points[0].date)
    last = end or dt.date.fromisoformat(points[-1].date)
    latest: dict[str, PublicationPoint] = {}
    pending_iter = iter(points)
    upcoming = next(pending_iter, None)
    days = []
    day = first
    while day <= last:
        while upcoming is not None and upcoming.date <= day.isoformat():
            latest[upcoming.list] = upcoming
            upcoming = next(pending_iter, None)
        part, pend = latest.get("participating"), latest.get("pending")
        days.append(DailyPoint(
            day.isoformat(), part.count if part else None, part.agencies if part else None,
            part.states if part else None, pend.count if pend else None,
            part.by_model if part else {m: 0 for m in MODELS},
            str(part.publication["file"]) if part else None,
            str(pend.publication["file"]) if pend else None))
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

    publication: dict[str, object]
    caveat: str
    undated: int
    # {"date", "reconstructed_agreements", "reconstructed_by_model"}: named apart from the
    # observed series so a reconstruction is never read as what a sheet printed that day.
    points: list[dict[str, object]]
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

