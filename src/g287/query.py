"""Questions asked of the history: as-of status, changes, agencies and their stories.

Every answer names the publication it rests on. ``as_of`` is a date meaning the
end of that day: the newest publication of each list dated on or before it.
The fold's names (event kinds, the gap rule) and name search are imported where they are
used: importing the fold (lineage, rapidfuzz) would cost ``g287 status`` more than its answer.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from g287 import answers
from g287.errors import BadInput
from g287.labels import LISTS
from g287.normalize import MODELS, STATES


class QueryError(BadInput):
    """A question the history cannot answer as asked (unknown state, kind, id)."""


@dataclass(frozen=True, slots=True)
class Publication:
    """One distinct sheet file of one list, as ICE published it."""

    id: str
    list: str
    file: str
    label: str            # ISO date of ICE's file-name label (or first capture)
    label_ampm: str | None
    dated_by: str         # 'label' | 'capture' | 'capture_label_implausible'
    sha256: str
    rows: int
    seq: int
    first_captured: str | None
    xlsx_modified: str | None
    captures: int
    source_kind: str = "ICE sheet"          # or 'web archive transcription'
    caption: str | None = None              # web roster: ICE's heading above the table
    caption_count: int | None = None        # web roster: the N the heading states
    transcription_file: str | None = None   # web roster: the transcription it was read from
    transcription_sha256: str | None = None
    flags: str = ""         # how its dating was settled: label_contradicted, bulk_folder, partial …
    why: str = ""           # what dates it and places it among its list's, in words
    partial: bool = False   # truncated (lost most rows, which came back): no departure read from it

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.label)


_PUBLICATION_SQL = (
    "SELECT p.id, p.list, p.file, p.date, p.label_ampm, p.dated_by, p.sha256, p.rows, p.seq,"
    " p.first_captured, p.xlsx_modified,"
    " (SELECT COUNT(*) FROM captures c WHERE c.publication_id = p.id) AS captures,"
    " COALESCE(s.source_kind, 'ICE sheet'), s.caption, s.caption_count, s.transcription_file,"
    " s.transcription_sha256, COALESCE(d.flags, ''), COALESCE(d.why, ''), COALESCE(d.partial, 0) = 1"
    " FROM publications p LEFT JOIN publication_sources s ON s.publication_id = p.id"
    " LEFT JOIN publication_dating d ON d.publication_id = p.id")


def _publication(row: sqlite3.Row) -> Publication:
    return Publication(*tuple(row))


def publications(conn: sqlite3.Connection, list_name: str | None = None) -> list[Publication]:
    """All publications, oldest first (participating and pending interleaved by date)."""
    where, params = ("", ()) if list_name is None else (" WHERE p.list = ?", (check_list(list_name),))
    rows = conn.execute(f"{_PUBLICATION_SQL}{where} ORDER BY p.date, p.list, p.seq", params)
    return [_publication(r) for r in rows]


def publication_as_of(conn: sqlite3.Connection, list_name: str,
                      as_of: dt.date | None = None) -> Publication | None:
    """The newest publication of a list dated on or before the end of ``as_of``."""
    where = "WHERE p.list = ?" + (" AND p.date <= ?" if as_of else "")
    params = (check_list(list_name),) + ((as_of.isoformat(),) if as_of else ())
    row = conn.execute(f"{_PUBLICATION_SQL} {where} ORDER BY p.seq DESC LIMIT 1", params).fetchone()
    return _publication(row) if row else None


def check_list(list_name: str) -> str:
    """Validate a list name."""
    if list_name not in LISTS:
        raise QueryError(f"unknown list {list_name!r}; use one of {', '.join(LISTS)}")
    return list_name


def check_state(state: str) -> str:
    """Validate a USPS state code (case-insensitive)."""
    code = state.strip().upper()
    if code not in STATES:
        raise QueryError(f"unknown state {state!r}; use a two-letter USPS code such as FL")
    return code


def check_model(model: str) -> str:
    """Validate a model code."""
    code = model.strip().upper()
    if code not in MODELS:
        raise QueryError(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
    return code


DATE_KINDS = ("in_archive", "before_archive", "after_archive", "in_gap")


@dataclass(frozen=True, slots=True)
class DateContext:
    """What the archive can say about one list at the end of one day.

    ``in_archive``: a publication answers and the archive kept watching (the next
    publication, or a later capture of this one, is at most ``history.GAP_MIN_DAYS`` away).
    ``before_archive``: no publication of the list is dated on or before the day.
    ``after_archive``: the day is after the last day the archive saw the list (the
    last publication's label date, or its last capture if later); the last publication
    is named, but it may no longer be what ICE printed that day.
    ``in_gap``: the day falls in a stretch the archive did not see (:func:`gap_context`: two
    sightings of the list more than ``history.GAP_MIN_DAYS`` apart, or a change of source
    kind, such as older web rosters and the current sheets).
    """

    as_of: str | None
    list: str
    kind: str
    first: dict[str, Any] | None
    last: dict[str, Any] | None
    answering: dict[str, Any] | None
    note: str
    last_seen: str | None = None    # the last day the archive saw the list (label or capture)

    @property
    def known(self) -> bool:
        """Whether a publication answers for that day (the figures are its figures)."""
        return self.kind == "in_archive"


def _last_seen(conn: sqlite3.Connection, pub: Publication) -> dt.date:
    row = conn.execute("SELECT MAX(captured_utc) FROM captures WHERE publication_id = ?",
                       (pub.id,)).fetchone()
    seen = dt.date.fromisoformat(row[0][:10]) if row and row[0] else pub.date
    return max(seen, pub.date)


def _label(pub: Publication) -> str:
    return f"{pub.file} (ICE label {pub.label}{' ' + pub.label_ampm if pub.label_ampm else ''})"


def date_context(conn: sqlite3.Connection, as_of: dt.date | None,
                 list_name: str = "participating") -> DateContext:
    """Where ``as_of`` lies against the archive of one list; the one answer every figure,
    claim, page and API response uses to say when a date is outside what it knows."""
    pubs = publications(conn, list_name)
    day = as_of.isoformat() if as_of else None
    if not pubs:
        return DateContext(day, list_name, "before_archive", None, None, None,
                           f"the archive holds no {list_name} publication yet")
    first, last = pubs[0], pubs[-1]
    seen = _last_seen(conn, last)
    refs: dict[str, Any] = dict(first=publication_ref(first), last=publication_ref(last),
                                last_seen=seen.isoformat())
    if as_of is None:
        return DateContext(day, list_name, "in_archive", **refs, answering=refs["last"], note="")
    if as_of < first.date:
        return DateContext(day, list_name, "before_archive", **refs, answering=None, note=(
            f"{as_of} is before the archive's first {list_name} sheet, {_label(first)}: unknown"))
    answering = publication_as_of(conn, list_name, as_of)
    assert answering is not None  # as_of is on or after the first sheet
    if as_of > seen:
        return DateContext(day, list_name, "after_archive", **refs, answering=publication_ref(last), note=(
            f"{as_of} is after the archive (last seen {seen}); the last {list_name} sheet, "
            f"{_label(last)}, is shown, not what ICE printed that day"))
    gap = gap_context(conn, list_name, as_of, answering)
    if gap:
        return DateContext(day, list_name, "in_gap", **refs, answering=publication_ref(answering),
                           note=str(gap["note"]))
    return DateContext(day, list_name, "in_archive", **refs, answering=publication_ref(answering), note="")


def first_published(pubs: list[Publication], first_seen: Publication) -> str | None:
    """The date the archive saw an item first appear, or ``None`` when it cannot know: the
    item was already on the list's first sheet, or on the first sheet after a gap of more
    than ``GAP_MIN_DAYS`` (it may have appeared any time before). ``pubs``: that list, in order."""
    from g287.history import GAP_MIN_DAYS  # where used: see the module's docstring
    earlier = [p for p in pubs if p.list == first_seen.list and p.seq < first_seen.seq]
    if not earlier or (first_seen.date - earlier[-1].date).days > GAP_MIN_DAYS:
        return None
    return first_seen.label


FIRST_PUBLISHED_UNKNOWN = "already listed when the archive began (or after a gap): first published earlier"


@dataclass(frozen=True, slots=True)
class ActiveAgreement:
    """An agreement as printed on one participating publication."""

    agreement_id: str
    agency_id: str
    agency_name: str
    state: str
    agency_type: str | None
    county: str | None
    model: str
    signed: dt.date | None
    moa_url: str | None
    addendum_url: str | None
    rows: int
    publication: Publication


@dataclass(frozen=True, slots=True)
class PendingRow:
    """An entry as printed on one pending publication."""

    pending_id: str
    agency_id: str
    agency_name: str
    state: str
    agency_type: str | None
    county: str | None
    model: str
    rows: int
    publication: Publication


def _rows_of(conn: sqlite3.Connection, pub: Publication, id_column: str) -> list[sqlite3.Row]:
    """One line per distinct item printed on a publication, read by version: the rows of
    one publication through its row numbers, each version's readings stored once. ICE's
    web roster printed no TYPE or COUNTY: its rows take those ICE later printed for the same
    agency on its sheets (agencies.agency_type/county), else stay unknown."""
    printed = "v" if pub.transcription_file is None else "a"
    return conn.execute(
        f"SELECT i.{id_column} AS item, i.agency_id, v.agency_name, v.state,"
        f" COALESCE(v.agency_type, {printed}.agency_type) AS agency_type,"
        f" COALESCE(v.county, {printed}.county) AS county,"
        " v.model, v.signed, v.moa_url, v.addendum_url, COUNT(*) AS n"
        " FROM publication_keys k JOIN publication_rows r ON r.pub = k.pub"
        " JOIN identities i ON i.identity_id = r.identity_id"
        " JOIN row_versions v ON v.version_id = r.version_id"
        " LEFT JOIN agencies a ON a.agency_id = i.agency_id"
        f" WHERE k.publication_id = ? AND i.{id_column} IS NOT NULL"
        f" GROUP BY i.{id_column} ORDER BY v.state, v.agency_name, v.model",
        (pub.id,)).fetchall()


def agreements_on(conn: sqlite3.Connection, pub: Publication) -> list[ActiveAgreement]:
    """The distinct agreements printed on one participating publication."""
    return [ActiveAgreement(r["item"], r["agency_id"], r["agency_name"], r["state"],
                            r["agency_type"], r["county"], r["model"],
                            dt.date.fromisoformat(r["signed"]) if r["signed"] else None,
                            r["moa_url"], r["addendum_url"], r["n"], pub)
            for r in _rows_of(conn, pub, "agreement_id")]


def pending_on(conn: sqlite3.Connection, pub: Publication) -> list[PendingRow]:
    """The distinct entries printed on one pending publication."""
    return [PendingRow(r["item"], r["agency_id"], r["agency_name"], r["state"], r["agency_type"],
                       r["county"], r["model"], r["n"], pub)
            for r in _rows_of(conn, pub, "pending_id")]


def active_agreements(conn: sqlite3.Connection, as_of: dt.date | None = None) -> list[ActiveAgreement]:
    """Agreements in force at the end of ``as_of`` (per the participating sheet then)."""
    pub = publication_as_of(conn, "participating", as_of)
    return agreements_on(conn, pub) if pub else []


def pending_as_of(conn: sqlite3.Connection, as_of: dt.date | None = None) -> list[PendingRow]:
    """Pending entries at the end of ``as_of`` (per the pending sheet then)."""
    pub = publication_as_of(conn, "pending", as_of)
    return pending_on(conn, pub) if pub else []


def publication_ref(pub: Publication) -> dict[str, Any]:
    """The citation block every figure carries; for a web roster it also names ICE's caption
    and the transcription it was read from (the keys are there, empty, for a sheet)."""
    return {"id": pub.id, "list": pub.list, "file": pub.file, "label": pub.label,
            "label_ampm": pub.label_ampm, "dated_by": pub.dated_by, "sha256": pub.sha256,
            "first_captured": pub.first_captured, "source_kind": pub.source_kind,
            "caption": pub.caption, "caption_count": pub.caption_count,
            "transcription_file": pub.transcription_file,
            "transcription_sha256": pub.transcription_sha256,
            "flags": pub.flags, "partial": pub.partial}


def capture_near(conn: sqlite3.Connection, pub: Publication,
                 as_of: dt.date | None = None) -> dict[str, Any] | None:
    """The capture of a publication that best stands for ``as_of``: the latest taken on or
    before the end of that day, else the first (a web roster's caption can date its list
    before the Wayback Machine captured it)."""
    rows = conn.execute("SELECT c.file, c.capture_folder, c.captured_utc, w.url FROM captures c"
                        " LEFT JOIN wayback_captures w USING (capture_folder)"
                        " WHERE c.publication_id = ? ORDER BY c.captured_utc, c.file", (pub.id,)).fetchall()
    if not rows:
        return None
    cut = (as_of + dt.timedelta(days=1)).isoformat() if as_of else None
    before = [r for r in rows if cut is None or (r["captured_utc"] or "") < cut]
    chosen = before[-1] if before else rows[0]
    capture = {"file": chosen["file"], "folder": chosen["capture_folder"],
               "captured_utc": chosen["captured_utc"], "captures": len(rows)}
    if chosen["capture_folder"].startswith("wayback_"):
        capture["wayback_timestamp"] = chosen["capture_folder"].removeprefix("wayback_")
        capture["wayback_url"] = chosen["url"]
    return capture


@dataclass(frozen=True, slots=True)
class UnseenStretch:
    """Days between two sightings of a list that nobody captured: between its last sighting
    (a publication's date or a capture of it) and the next, when they are more than
    ``min_days`` apart or the source changes kind (a web roster, then an ICE sheet)."""

    start: str                      # last day seen
    end: str                        # next day seen
    days: int
    before: dict[str, Any]       # the publication seen last
    after: dict[str, Any]        # the publication seen next
    sources_differ: bool


def unseen_stretches(conn: sqlite3.Connection, list_name: str = "participating",
                     min_days: int | None = None) -> list[UnseenStretch]:
    """Every stretch of a list the archive did not see, oldest first."""
    if min_days is None:
        from g287.history import GAP_MIN_DAYS  # where used: see the module's docstring
        min_days = GAP_MIN_DAYS
    pubs = {p.id: p for p in publications(conn, list_name)}
    sightings = sorted({(p.date, p.seq, p.id) for p in pubs.values()} | {
        (dt.date.fromisoformat(r[1][:10]), pubs[r[0]].seq, r[0]) for r in conn.execute(
            "SELECT c.publication_id, c.captured_utc FROM captures c JOIN publications p"
            " ON p.id = c.publication_id WHERE p.list = ? AND c.captured_utc IS NOT NULL",
            (list_name,))})
    stretches = []
    for (day, _, pub_id), (next_day, _, next_id) in pairwise(sightings):
        before, after = pubs[pub_id], pubs[next_id]
        differ = before.source_kind != after.source_kind
        days = (next_day - day).days
        if days > min_days or (differ and days > 0):
            stretches.append(UnseenStretch(day.isoformat(), next_day.isoformat(), days,
                                           publication_ref(before),
                                           publication_ref(after), differ))
    return stretches



def gap_context(conn: sqlite3.Connection, list_name: str, as_of: dt.date | None,
                pub: Publication | None) -> dict[str, Any] | None:
    """When ``as_of`` falls in a stretch the archive did not see (:func:`unseen_stretches`):
    the days on either side, the publications, and a sentence saying so; None when covered.
    ``pub`` is the publication that answers for ``as_of``."""
    if as_of is None or pub is None:
        return None
    stretch = next((s for s in unseen_stretches(conn, list_name)
                    if dt.date.fromisoformat(s.start) < as_of < dt.date.fromisoformat(s.end)), None)
    if stretch is None:
        return None
    seen, next_seen = stretch.start, stretch.end
    return {"kind": "in_gap", "between": [seen, next_seen], "gap_days": stretch.days,
            "before": stretch.before, "after": stretch.after,
            "note": f"{as_of.isoformat()} falls in a gap of the archive: nothing of the {list_name} list "
                    f"was captured between {seen} and {next_seen} ({stretch.days} days): "
                    f"the figures are those of the last publication before {as_of.isoformat()} "
                    f"(dated {pub.label}, last seen {seen}), not an observation of that day"}


def reconstruction_at(conn: sqlite3.Connection, as_of: dt.date,
                      after: Publication) -> dict[str, Any]:
    """Agreements on a later participating publication already signed by ``as_of``: a
    lower bound of those in force then (agreements that ended before it are not on it)."""
    agreements = agreements_on(conn, after)
    signed = [a for a in agreements if a.signed and a.signed <= as_of]
    return {"agreements": len(signed),
            "by_model": {code: sum(1 for a in signed if a.model == code) for code in MODELS},
            "undated": sum(1 for a in agreements if a.signed is None),
            "publication": publication_ref(after),
            "note": f"agreements on {after.file} signed on or before {as_of.isoformat()}; a lower "
                    "bound: agreements that ended before that publication are not on it, and "
                    "ICE prints the latest signing date of a renewed agreement"}


def _tally(items: list, attribute: str) -> dict[str, int]:
    counts = Counter(getattr(i, attribute) or "unknown" for i in items)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _printed(name: str) -> str:
    return " ".join(name.replace("\u2019", "'").lower().split())


def summarize(pub: Publication, items: list[ActiveAgreement] | list[PendingRow],
              count_name: str) -> dict[str, Any]:
    """Counts for one publication: rows as printed, distinct items, agencies, states."""
    by_model = {code: sum(1 for i in items if i.model == code) for code in MODELS}
    return {
        "publication": publication_ref(pub),
        "rows": pub.rows,
        count_name: len(items),
        "agencies": len({i.agency_id for i in items}),
        # Distinct names as printed (case, spacing and apostrophes folded): a cross-check
        # for counts made without identity resolution ("City of X PD" = "X PD").
        "printed_agency_names": len({(i.state, _printed(i.agency_name)) for i in items}),
        "states": len({i.state for i in items}),
        "by_model": by_model,
        "by_state": _tally(items, "state"),
        "by_agency_type": _tally(items, "agency_type"),
    }


def figures_of(conn: sqlite3.Connection, pub: Publication) -> dict[str, Any]:
    """The counts one publication prints (:func:`summarize` without the citation; MOA links
    for a participating sheet), as stored at ingest in ``publication_figures``."""
    items = agreements_on(conn, pub) if pub.list == "participating" else pending_on(conn, pub)
    summary = summarize(pub, items, "count")
    del summary["publication"]
    if pub.list == "participating":
        summary["moa"] = dict(Counter("linked" if a.moa_url else "not linked"  # type: ignore[union-attr]
                                      for a in items))
    return summary


def publication_figures(conn: sqlite3.Connection, ids: set[str] | None) -> dict[str, dict[str, object]]:
    """:func:`figures_of` for the publications ``ids`` (all when None), by id; what ingest
    stores (:data:`g287.answers.FIGURES`)."""
    return {pub.id: figures_of(conn, pub) for pub in publications(conn) if ids is None or pub.id in ids}


def status(conn: sqlite3.Connection, as_of: dt.date | None = None) -> dict[str, Any]:
    """The program at the end of ``as_of``: both lists, each with its publication. The
    latest status is computed at ingest (:mod:`g287.answers`) and read from there; any
    other day is made from the figures stored for its publications."""
    if as_of is None:
        return answers.read(conn, "status", lambda: latest_status(conn))
    return _status(conn, as_of)


def latest_status(conn: sqlite3.Connection) -> dict[str, Any]:
    """The program after the newest publication of each list."""
    return _status(conn, None)


def _status(conn: sqlite3.Connection, as_of: dt.date | None) -> dict[str, Any]:
    from g287.history import GAP_MIN_DAYS  # where used: see the module's docstring

    result: dict[str, Any] = {"as_of": as_of.isoformat() if as_of else None}
    result["unseen_stretches"] = {
        list_name: [{"from": s.start, "to": s.end, "days": s.days}
                    for s in unseen_stretches(conn, list_name) if s.days > GAP_MIN_DAYS]
        for list_name in LISTS}
    for list_name, count_name in (("participating", "agreements"), ("pending", "entries")):
        pub = publication_as_of(conn, list_name, as_of)
        result[list_name] = None
        if pub:
            figures = answers.stored_figure(conn, pub.id) or figures_of(conn, pub)
            result[list_name] = {"publication": publication_ref(pub), **{
                count_name if key == "count" else key: value for key, value in figures.items()}}
    part = publication_as_of(conn, "participating", as_of)
    if part:
        summary = result["participating"]
        summary["capture"] = capture_near(conn, part, as_of)
        gap = gap_context(conn, "participating", as_of, part)
        if gap:
            summary["gap"] = gap
            after = publication_as_of(conn, "participating", dt.date.fromisoformat(gap["between"][1]))
            if after and as_of:
                summary["reconstruction"] = reconstruction_at(conn, as_of, after)
    contexts = [date_context(conn, as_of, name) for name in LISTS]
    result["date_context"] = {c.list: asdict(c) for c in contexts}
    result["note"] = "; ".join(c.note for c in contexts if c.note)
    return result


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A lifecycle event with the names and publications a reader needs."""

    event_id: str
    kind: str
    list: str
    date: str
    state: str
    agency_id: str
    agency_name: str
    model: str | None
    agreement_id: str | None
    pending_id: str | None
    before: str | None        # file name of the publication before
    after: str                # file name of the publication where it shows
    after_id: str
    details: dict
    summary: str = ""         # one plain sentence (history.describe): what the event means
    # The date as it may be quoted: the day, or the unseen stretch the change fell in
    # ("between 2017-08-01 and 2025-05-16") when the publications around it are far apart.
    when: str = ""
    # Departures only (agreement_removed, pending_withdrawn): provisional | confirmed |
    # retracted (an omission by ICE); see g287.history.departure_status.
    status: str | None = None

    def __post_init__(self) -> None:
        if not self.when:
            span = self.details.get("between")
            object.__setattr__(self, "when", f"between {span[0]} and {span[1]}" if span else self.date)


def changes(conn: sqlite3.Connection, since: dt.date | None = None, until: dt.date | None = None,
            state: str | None = None, kind: str | None = None, agency_id: str | None = None,
            include_baseline: bool = False, limit: int | None = None,
            offset: int = 0, status: str | None = None) -> list[EventRecord]:
    """Events between publications, newest first. ``since``/``until`` are inclusive days.

    The first publication of each list has nothing before it; its contents are the
    baseline, left out unless ``include_baseline``. ``status`` keeps departures of that
    status (``provisional``, ``confirmed``, ``retracted`` or ``all``); asking for a
    departure kind without it gives the confirmed ones (and those of a history folded
    before departures had a status), never a provisional or retracted one.
    """
    from g287.history import DEPARTURE_KINDS, DEPARTURE_STATUSES, EVENT_KINDS, describe  # where used

    clauses, params = [], []
    if since:
        clauses.append("e.date >= ?")
        params.append(since.isoformat())
    if until:
        clauses.append("e.date <= ?")
        params.append(until.isoformat())
    if state:
        clauses.append("e.state = ?")
        params.append(check_state(state))
    if kind:
        if kind not in EVENT_KINDS:
            raise QueryError(f"unknown kind {kind!r}; use one of {', '.join(EVENT_KINDS)}")
        clauses.append("e.kind = ?")
        params.append(kind)
    if status is None and kind in DEPARTURE_KINDS:
        status = "confirmed"
    if status and status != "all":
        if status not in DEPARTURE_STATUSES:
            raise QueryError(f"unknown status {status!r}; use one of {', '.join(DEPARTURE_STATUSES)}, all")
        clauses.append("(e.status = ? OR e.status IS NULL AND ? = 'confirmed' AND e.kind IN"
                       " ('agreement_removed', 'pending_withdrawn'))")
        params += [status, status]
    if agency_id:  # its own events, and those of agreements ICE relabelled to or from it
        clauses.append("(e.agency_id = ? OR json_extract(e.details, '$.from_agency') = ?"
                       " OR e.agreement_id IN (SELECT agreement_id FROM agreements WHERE agency_id = ?))")
        params += [agency_id] * 3
    if not include_baseline:
        clauses.append("e.before_pub IS NOT NULL")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = conn.execute(
        "SELECT e.event_id, e.kind, e.list, e.date, e.state, e.agency_id, a.name, e.model,"
        " e.agreement_id, e.pending_id, b.file, p.file, e.after_pub, e.details, e.status"
        " FROM events e JOIN agencies a ON a.agency_id = e.agency_id"
        " JOIN publications p ON p.id = e.after_pub"
        " LEFT JOIN publications b ON b.id = e.before_pub"
        f" {where} ORDER BY e.date DESC, e.seq DESC{page}", params)
    return [EventRecord(*tuple(r)[:13], details := json.loads(r[13]), describe(r[1], details, r[14]),
                        status=r[14]) for r in rows]


@dataclass(frozen=True, slots=True)
class AgencySummary:
    """An agency found by search, with its current standing."""

    agency_id: str
    name: str
    state: str
    agency_type: str | None
    county: str | None
    active_models: list[str]
    pending_models: list[str]
    spellings: int


def search_agencies(conn: sqlite3.Connection, text: str = "", state: str | None = None,
                    model: str | None = None, agency_type: str | None = None,
                    status_filter: str | None = None, limit: int | None = None,
                    offset: int = 0) -> list[AgencySummary]:
    """Find agencies by name (see ``g287.search``: every printed spelling, county, state;
    typos tolerated), best match first; filters narrow the result. No text: every agency."""
    from g287 import search  # rapidfuzz and an index: only when a name is searched

    ranked = search.match(conn, text).agency_ids if text.strip() else None
    clauses = ["a.agency_id IN (SELECT value FROM json_each(?))" if ranked is not None else "1"]
    params: list[object] = [json.dumps(ranked)] if ranked is not None else []
    if state:
        clauses.append("a.state = ?")
        params.append(check_state(state))
    if agency_type:
        clauses.append("a.agency_type = ?")
        params.append(agency_type)
    rows = conn.execute(
        "WITH found AS (SELECT * FROM agencies a WHERE " + " AND ".join(clauses) + "),"
        " active AS (SELECT agency_id, group_concat(model) AS models FROM (SELECT DISTINCT agency_id, model"
        "   FROM agreements WHERE status = 'active' AND agency_id IN (SELECT agency_id FROM found)"
        "   ORDER BY model) GROUP BY agency_id),"
        " waiting AS (SELECT agency_id, group_concat(model) AS models FROM (SELECT DISTINCT agency_id, model"
        "   FROM pending_entries WHERE status = 'pending' AND agency_id IN (SELECT agency_id FROM found)"
        "   ORDER BY model) GROUP BY agency_id),"
        " names AS (SELECT agency_id, COUNT(*) AS n FROM agency_names"
        "   WHERE agency_id IN (SELECT agency_id FROM found) GROUP BY agency_id)"
        " SELECT f.agency_id, f.name, f.state, f.agency_type, f.county, active.models, waiting.models, names.n"
        " FROM found f LEFT JOIN active USING (agency_id) LEFT JOIN waiting USING (agency_id)"
        " LEFT JOIN names USING (agency_id) ORDER BY f.state, f.name", params)
    found = [AgencySummary(r[0], r[1], r[2], r[3], r[4], (r[5] or "").split(",") if r[5] else [],
                           (r[6] or "").split(",") if r[6] else [], r[7]) for r in rows]
    if model:
        code = check_model(model)
        found = [a for a in found if code in a.active_models or code in a.pending_models]
    if status_filter:
        found = [a for a in found if _standing(a) == status_filter]
    if ranked is not None:
        order = {agency_id: n for n, agency_id in enumerate(ranked)}
        found.sort(key=lambda a: order[a.agency_id])
    end = None if limit is None else offset + limit
    return found[offset:end]


def _standing(agency: AgencySummary) -> str:
    if agency.active_models:
        return "participating"
    return "pending" if agency.pending_models else "former"


def agency_story(conn: sqlite3.Connection, agency_id: str) -> dict[str, Any]:
    """Everything the history holds on one agency: spellings, agreements, pending
    entries and every event, each with its publication."""
    agency = conn.execute("SELECT * FROM agencies WHERE agency_id = ?", (agency_id,)).fetchone()
    if agency is None:
        raise QueryError(f"no agency {agency_id!r}")
    pubs = {p.id: p for p in publications(conn)}

    def cite(pub_id: str | None) -> dict[str, Any] | None:
        return publication_ref(pubs[pub_id]) if pub_id else None

    listed = dict(conn.execute(
        "SELECT i.agreement_id, SUM(l.publications) FROM identities i"
        " JOIN identity_listings l USING (identity_id)"
        " WHERE i.agency_id = ? AND i.agreement_id IS NOT NULL GROUP BY i.agreement_id",
        (agency_id,)).fetchall())
    ordered = list(pubs.values())

    def dates(first_seen: str) -> dict[str, Any]:
        # signed (ICE's own date) ≠ first seen in the archive ≠ first published (an appearance
        # the archive saw): never show the archive's start as the day an agreement began.
        published = first_published(ordered, pubs[first_seen])
        return {"first_seen_in_archive": pubs[first_seen].label, "first_published": published,
                "first_published_note": "" if published else FIRST_PUBLISHED_UNKNOWN}

    agreements = [
        {**dict(a), **dates(a["first_seen"]), "first_seen": cite(a["first_seen"]),
         "last_seen": cite(a["last_seen"]),
         "moa_first_linked": cite(a["moa_first_linked"]),
         "model_name": MODELS.get(a["model"]),
         "publications_listed": listed.get(a["agreement_id"], 0)}
        for a in conn.execute("SELECT * FROM agreements WHERE agency_id = ?"
                              " ORDER BY signed, model", (agency_id,))]
    pending = [{**dict(p), **dates(p["first_seen"]), "first_seen": cite(p["first_seen"]),
                "last_seen": cite(p["last_seen"])}
               for p in conn.execute("SELECT * FROM pending_entries WHERE agency_id = ?"
                                     " ORDER BY model", (agency_id,))]
    spellings = [dict(n) for n in conn.execute(
        "SELECT spelling, tier, reason, first_seen, last_seen, rows FROM agency_names"
        " WHERE agency_id = ? ORDER BY first_seen, spelling", (agency_id,))]
    events = [asdict(e) for e in reversed(changes(conn, agency_id=agency_id, include_baseline=True))]
    return {"agency": dict(agency), "spellings": spellings, "agreements": agreements,
            "pending": pending, "events": events}


@dataclass(frozen=True, slots=True)
class MoaLink:
    """A document URL printed for an agreement (SafeLinks already unwrapped)."""

    agreement_id: str
    agency_id: str
    kind: str     # 'moa' | 'addendum'
    url: str


def moa_links(conn: sqlite3.Connection) -> list[MoaLink]:
    """Every distinct MOA and addendum URL ever printed, with its agreement."""
    rows = conn.execute(
        "WITH printed AS (SELECT DISTINCT i.agreement_id, i.agency_id, r.version_id"
        "   FROM publication_rows r JOIN identities i ON i.identity_id = r.identity_id"
        "   WHERE i.agreement_id IS NOT NULL)"
        " SELECT DISTINCT p.agreement_id, p.agency_id, 'moa', v.moa_url FROM printed p"
        " JOIN row_versions v USING (version_id) WHERE v.moa_url IS NOT NULL"
        " UNION SELECT DISTINCT p.agreement_id, p.agency_id, 'addendum', v.addendum_url FROM printed p"
        " JOIN row_versions v USING (version_id) WHERE v.addendum_url IS NOT NULL ORDER BY 4, 1")
    return [MoaLink(*tuple(r)) for r in rows]
