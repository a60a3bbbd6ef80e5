"""Questions asked of the history: as-of status, changes, agencies and their stories.

Every answer names the publication it rests on. ``as_of`` is a date meaning the
end of that day: the newest publication of each list dated on or before it.
The fold's names (event kinds, the gap rule) and name search are imported where they are
used: importing the fold (lineage, rapidfuzz) would cost ``g287 status`` more than its answer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, TypedDict

from g287 import answers
from g287.errors import BadInput
from g287.labels import LISTS
from g287.normalize import AGENCY_TYPES, MODELS, STATES


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
    # The first day its content was seen: ICE's label for a sheet (the file is dated by ICE
    # itself), the first capture for a transcription of an archived page (a caption's
    # "as of" date is ICE's statement about a count, not a sighting of the list under it).
    seen_from: str | None = None

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.label)

    @property
    def seen(self) -> dt.date:
        """The first day the archive saw this content (see ``seen_from``)."""
        return dt.date.fromisoformat(self.seen_from or self.label)

    @property
    def transcribed(self) -> bool:
        """A transcription of an archived page rather than a file ICE published."""
        return self.source_kind not in LABEL_DATED_KINDS


# Kinds of source whose content is dated by its own label (ICE's file name); every other
# kind (transcriptions of archived web pages) is dated by the captures that saw it.
LABEL_DATED_KINDS = ("ICE sheet",)

_SEEN_FROM = (
    "CASE WHEN COALESCE(s.source_kind, 'ICE sheet') IN ({kinds}) THEN p.date ELSE COALESCE("
    "(SELECT MIN(substr(c.captured_utc, 1, 10)) FROM captures c WHERE c.publication_id = p.id),"
    " p.date) END").format(kinds=", ".join(f"'{k}'" for k in LABEL_DATED_KINDS))

_PUBLICATION_SQL = (
    "SELECT p.id, p.list, p.file, p.date, p.label_ampm, p.dated_by, p.sha256, p.rows, p.seq,"
    " p.first_captured, p.xlsx_modified,"
    " (SELECT COUNT(*) FROM captures c WHERE c.publication_id = p.id) AS captures,"
    " COALESCE(s.source_kind, 'ICE sheet'), s.caption, s.caption_count, s.transcription_file,"
    " s.transcription_sha256, COALESCE(d.flags, ''), COALESCE(d.why, ''), COALESCE(d.partial, 0) = 1,"
    f" {_SEEN_FROM} AS seen_from"
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
    """The newest publication of a list seen on or before the end of ``as_of`` (its
    ``seen_from``: a sheet's label, a transcription's first capture). Whether that answer
    is an observation of the day is :func:`date_context`'s to say."""
    where = "WHERE p.list = ?" + (" AND seen_from <= ?" if as_of else "")
    params = (check_list(list_name),) + ((as_of.isoformat(),) if as_of else ())
    row = conn.execute(f"{_PUBLICATION_SQL} {where} ORDER BY seen_from DESC, p.seq DESC LIMIT 1",
                       params).fetchone()
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


def agency_types(conn: sqlite3.Connection) -> list[str]:
    """Every agency TYPE ICE printed, as the history spells it."""
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT agency_type FROM agencies WHERE agency_type IS NOT NULL ORDER BY 1")]


def check_agency_type(conn: sqlite3.Connection, agency_type: str) -> str:
    """Validate an agency type against those ICE printed (case-insensitive): an unknown one
    is an error naming the valid ones, never a silent count of zero."""
    known = agency_types(conn)
    found = next((k for k in known if k.lower() == agency_type.strip().lower()), None)
    if found is None:
        raise QueryError(f"unknown agency type {agency_type!r}; ICE printed {', '.join(known)}")
    return found


def check_model(model: str) -> str:
    """Validate a model code."""
    code = model.strip().upper()
    if code not in MODELS:
        raise QueryError(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
    return code


DATE_KINDS = ("in_archive", "before_archive", "after_archive", "in_gap", "caption")


@dataclass(frozen=True, slots=True)
class DateContext:
    """What the archive saw of one list at the end of one day: the one model every figure,
    claim, page, chart, map and feed uses.

    ``in_archive``: observed: a publication seen that day or carried from one seen at most
    ``history.GAP_MIN_DAYS`` earlier, with a sighting after (``answering``).
    ``in_gap``: inside a stretch nobody captured (:func:`unseen_stretches`): ``before`` and
    ``after`` name the captures on both sides with their figures; nothing answers for the day.
    ``before_archive`` / ``after_archive``: before the first sighting of the list / after the
    last one (``after_archive`` names the last publication, which ICE may since have changed).
    ``caption``: ICE stated a count for that very day in the caption above a list the
    archive only saw later (``caption``); the content under it does not answer for the day.

    A content is dated by when it was seen (:attr:`Publication.seen`). Where nothing was seen,
    :func:`reconstruction` gives the agreements already signed on the next publication seen
    (a lower bound).
    """

    as_of: str | None
    list: str
    kind: str
    first: dict[str, Any] | None
    last: dict[str, Any] | None
    answering: dict[str, Any] | None
    note: str
    last_seen: str | None = None    # the last day the archive saw the list (label or capture)
    before: dict[str, Any] | None = None   # the sighting before the day: publication, day, figures
    after: dict[str, Any] | None = None    # the sighting after it
    caption: dict[str, Any] | None = None  # ICE's caption stating a count for the day

    @property
    def known(self) -> bool:
        """Whether a publication answers for that day (the figures are its figures)."""
        return self.kind == "in_archive"


def _label(pub: Publication) -> str:
    return f"{pub.file} (ICE label {pub.label}{' ' + pub.label_ampm if pub.label_ampm else ''})"


def _sightings(conn: sqlite3.Connection, pubs: dict[str, Publication]) -> list[tuple[dt.date, int, str]]:
    """Every day a content of the list was seen, (day, seq, publication id), oldest first:
    each publication's first sighting and every capture of it, but those in a folder filled
    in bulk (``fold_store.bulk_folders``: its time is only an upper bound)."""
    from g287.fold_store import bulk_folders  # where used: see the module's docstring
    ids = list(pubs)
    rows = conn.execute(
        "SELECT publication_id, captured_utc, capture_folder, file FROM captures WHERE captured_utc IS NOT NULL"
        " AND publication_id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)).fetchall()
    # A folder filled in bulk (several labels of one list) gives an upper bound, not a sighting.
    bulk = bulk_folders([(r[2], pubs[r[0]].list, r[3]) for r in rows])
    return sorted({(p.seen, p.seq, p.id) for p in pubs.values()}
                  | {(dt.date.fromisoformat(r[1][:10]), pubs[r[0]].seq, r[0]) for r in rows if r[2] not in bulk})


def _side(conn: sqlite3.Connection, pub: Publication, day: dt.date) -> dict[str, Any]:
    figures = answers.stored_figure(conn, pub.id) or figures_of(conn, pub)
    return {"publication": publication_ref(pub), "seen": day.isoformat(), "count": figures["count"],
            "agencies": figures["agencies"], "states": figures["states"]}


def _side_text(side: dict[str, Any], list_name: str) -> str:
    ref = side["publication"]
    noun = "agreements" if list_name == "participating" else "entries"
    return f"{side['count']} {noun} on {ref['file']} (seen {side['seen']})"


def caption_for(pubs: list[Publication], as_of: dt.date) -> dict[str, Any] | None:
    """ICE's caption stating a count "as of" exactly ``as_of`` above a list first seen
    later: the earliest-seen content printing that date (a later content under the same
    date is a stale caption, not ICE's statement about that day)."""
    printing = sorted((p for p in pubs if p.caption_count is not None and p.transcribed
                       and p.dated_by == "caption" and p.date == as_of), key=lambda p: (p.seen, p.seq))
    if not printing or printing[0].seen <= as_of:
        return None
    pub = printing[0]
    return {"text": pub.caption, "count": pub.caption_count, "as_of": pub.label,
            "publication": publication_ref(pub), "content_seen": pub.seen.isoformat()}


class _ListRefs(TypedDict):
    """The citations every :class:`DateContext` of a held list carries."""

    first: dict[str, Any]
    last: dict[str, Any]
    last_seen: str


def date_context(conn: sqlite3.Connection, as_of: dt.date | None,
                 list_name: str = "participating") -> DateContext:
    """What the archive saw of a list at the end of ``as_of``; the one answer every figure,
    claim, page, chart, map and feed uses to say what a date rests on."""
    ordered = publications(conn, list_name)
    day = as_of.isoformat() if as_of else None
    if not ordered:
        return DateContext(day, list_name, "before_archive", None, None, None,
                           f"the archive holds no {list_name} publication yet")
    pubs = {p.id: p for p in ordered}
    sightings = _sightings(conn, pubs)
    first, newest = pubs[sightings[0][2]], publication_as_of(conn, list_name)
    if newest is None:  # only if the list was emptied since `ordered` was read
        raise QueryError(f"the archive holds no {list_name} publication")
    seen = sightings[-1][0]
    refs: _ListRefs = {"first": publication_ref(first), "last": publication_ref(newest),
                       "last_seen": seen.isoformat()}
    if as_of is None:
        return DateContext(day, list_name, "in_archive", **refs, answering=refs["last"], note="")
    caption = caption_for(ordered, as_of)
    said = (f"ICE's caption \"{caption['text']}\" states {caption['count']} for {day}; the list under "
            f"it was first captured {caption['content_seen']}, so no list of that day was seen"
            ) if caption else ""
    if as_of < sightings[0][0]:
        after = _side(conn, first, sightings[0][0])
        note = said or (f"{day} is before the archive: nothing of the {list_name} list was seen that "
                        f"early, unknown (first seen: {_side_text(after, list_name)})")
        return DateContext(day, list_name, "caption" if caption else "before_archive", **refs,
                           answering=None, note=note, after=after, caption=caption)
    if as_of > seen:
        before = _side(conn, newest, seen)
        return DateContext(day, list_name, "after_archive", **refs, answering=publication_ref(newest), note=(
            f"{day} is after the archive (last seen {seen}); the last {list_name} publication, "
            f"{_label(newest)}, is shown, not what ICE printed that day"), before=before)
    from g287.history import GAP_MIN_DAYS  # where used: see the module's docstring
    stretch = next((g for g in _stretches(pubs, sightings, GAP_MIN_DAYS)
                    if dt.date.fromisoformat(g.start) < as_of < dt.date.fromisoformat(g.end)), None)
    if stretch:
        before = _side(conn, pubs[stretch.before["id"]], dt.date.fromisoformat(stretch.start))
        after = _side(conn, pubs[stretch.after["id"]], dt.date.fromisoformat(stretch.end))
        note = (f"{day} falls in a gap of the archive, a stretch nobody captured: nothing of the "
                f"{list_name} list was seen between {stretch.start} ({_side_text(before, list_name)}) "
                f"and {stretch.end} ({_side_text(after, list_name)}), {stretch.days} days")
        return DateContext(day, list_name, "caption" if caption else "in_gap", **refs, answering=None,
                           note="; ".join(n for n in (said, note) if n), before=before, after=after,
                           caption=caption)
    answering = publication_as_of(conn, list_name, as_of)
    if answering is None:
        # labels.plausible lets a sheet's label be a day after its first capture: that capture is
        # a sighting, yet no publication is dated on or before the day, so none answers for it.
        after = _side(conn, first, sightings[0][0])
        return DateContext(day, list_name, "caption" if caption else "before_archive", **refs,
                           answering=None, note=said or (
                               f"{day}: no {list_name} publication is dated that early, unknown "
                               f"(first seen: {_side_text(after, list_name)})"), after=after, caption=caption)
    return DateContext(day, list_name, "in_archive", **refs, answering=publication_ref(answering), note="")


def reconstruction(conn: sqlite3.Connection, context: DateContext, state: str | None = None,
                   model: str | None = None, agency_type: str | None = None) -> dict[str, Any] | None:
    """Agreements already signed at the end of the day on the next participating publication
    seen after it: a lower bound offered wherever nothing was seen that day (before the
    archive, in an unseen stretch, under a caption), whatever else is ingested. None when
    the day was observed, or for the pending list (no signing dates)."""
    if context.list != "participating" or context.after is None or context.as_of is None \
            or context.kind in ("in_archive", "after_archive"):
        return None
    after = next(p for p in publications(conn, "participating") if p.id == context.after["publication"]["id"])
    return reconstruction_at(conn, dt.date.fromisoformat(context.as_of), after, state, model, agency_type)


# ICE has changed its lists several times a week since 2025: a page not checked for this
# many days may be out of date, and every page says so.
STALE_CHECK_DAYS = 7


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old the newest publication is and when ICE's page was last looked at."""

    newest: dict[str, object] | None     # the newest publication of either list
    newest_seen: str | None              # the last day the archive saw any list (label or capture)
    age_days: int | None                 # days from newest_seen to today
    last_checked: str | None             # when `g287 fetch` last looked at ICE's page (UTC)
    checked_days: int | None
    stale: bool                          # not checked (or nothing seen) for STALE_CHECK_DAYS


def freshness(conn: sqlite3.Connection, today: dt.date | None = None) -> Freshness:
    """The data's age, for every page's footer and its warning."""
    today = today or dt.datetime.now(dt.UTC).date()
    pubs = publications(conn)
    if not pubs:
        return Freshness(None, None, None, None, None, True)
    newest = max(pubs, key=lambda p: (p.seen, p.seq))
    contexts = [date_context(conn, None, name) for name in LISTS if any(p.list == name for p in pubs)]
    seen = max(dt.date.fromisoformat(c.last_seen) for c in contexts if c.last_seen)
    try:
        checked = conn.execute("SELECT MAX(started_utc) FROM fetch_log").fetchone()[0]
    except sqlite3.OperationalError:
        checked = None
    checked_days = (today - dt.date.fromisoformat(checked[:10])).days if checked else None
    basis = checked_days if checked_days is not None else (today - seen).days
    return Freshness(publication_ref(newest), seen.isoformat(), (today - seen).days, checked, checked_days,
                     basis > STALE_CHECK_DAYS)


def first_published(pubs: list[Publication], first_seen: Publication) -> str | None:
    """The date the archive saw an item first appear, or ``None`` when it cannot know: the
    item was already on the list's first sheet, or on the first sheet after a gap of more
    than ``GAP_MIN_DAYS`` (it may have appeared any time before). ``pubs``: that list, in order."""
    from g287.history import GAP_MIN_DAYS  # where used: see the module's docstring
    earlier = [p for p in pubs if p.list == first_seen.list and p.seq < first_seen.seq]
    if not earlier or (first_seen.seen - earlier[-1].seen).days > GAP_MIN_DAYS \
            or earlier[-1].source_kind != first_seen.source_kind:
        return None
    return first_seen.seen.isoformat()


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
    and the transcription it was read from (the keys are there, empty, for a sheet), and
    ``seen_from``, the first day its content was seen (:attr:`Publication.seen`)."""
    return {"id": pub.id, "list": pub.list, "file": pub.file, "label": pub.label,
            "label_ampm": pub.label_ampm, "dated_by": pub.dated_by, "sha256": pub.sha256,
            "first_captured": pub.first_captured, "source_kind": pub.source_kind,
            "caption": pub.caption, "caption_count": pub.caption_count,
            "transcription_file": pub.transcription_file,
            "transcription_sha256": pub.transcription_sha256,
            "flags": pub.flags, "partial": pub.partial, "seen_from": pub.seen.isoformat()}


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
    (a publication's first sighting or a capture of it) and the next, when they are more
    than ``min_days`` apart (``sources_differ``: a web roster on one side, an ICE sheet on
    the other)."""

    start: str                      # last day seen
    end: str                        # next day seen
    days: int
    before: dict[str, Any]       # the publication seen last
    after: dict[str, Any]        # the publication seen next
    sources_differ: bool


def unseen_stretches(conn: sqlite3.Connection, list_name: str = "participating",
                     min_days: int | None = None) -> list[UnseenStretch]:
    """Every stretch of a list the archive did not see, oldest first: between consecutive
    sightings (a content's first sighting or a capture, :func:`_sightings`) more than
    ``min_days`` (default ``history.GAP_MIN_DAYS``) apart. Two kinds of source seen days
    apart (a transcription of ICE's web table and ICE's sheet) leave no stretch: the list was
    seen; ``sources_differ`` says so."""
    if min_days is None:
        from g287.history import GAP_MIN_DAYS  # where used: see the module's docstring
        min_days = GAP_MIN_DAYS
    pubs = {p.id: p for p in publications(conn, list_name)}
    return _stretches(pubs, _sightings(conn, pubs), min_days)


def _stretches(pubs: dict[str, Publication], sightings: list[tuple[dt.date, int, str]],
               min_days: int) -> list[UnseenStretch]:
    stretches = []
    for (day, _, pub_id), (next_day, _, next_id) in pairwise(sightings):
        before, after = pubs[pub_id], pubs[next_id]
        days = (next_day - day).days
        if days > min_days:
            stretches.append(UnseenStretch(day.isoformat(), next_day.isoformat(), days,
                                           publication_ref(before), publication_ref(after),
                                           before.source_kind != after.source_kind))
    return stretches


def _stretch_of(conn: sqlite3.Connection, list_name: str, as_of: dt.date) -> UnseenStretch | None:
    return next((s for s in unseen_stretches(conn, list_name)
                 if dt.date.fromisoformat(s.start) < as_of < dt.date.fromisoformat(s.end)), None)


def gap_context(conn: sqlite3.Connection, list_name: str, as_of: dt.date | None,
                pub: Publication | None) -> dict[str, Any] | None:
    """When ``as_of`` falls in a stretch the archive did not see (:func:`unseen_stretches`):
    the days on either side, the publications, and a sentence saying so; None when covered.
    ``pub`` is the last publication seen before ``as_of``, shown labelled, never as the answer."""
    if as_of is None or pub is None:
        return None
    stretch = _stretch_of(conn, list_name, as_of)
    if stretch is None:
        return None
    seen, next_seen = stretch.start, stretch.end
    return {"kind": "in_gap", "between": [seen, next_seen], "gap_days": stretch.days,
            "before": stretch.before, "after": stretch.after,
            "note": f"{as_of.isoformat()} falls in a stretch nobody captured: nothing of the {list_name} "
                    f"list was seen between {seen} and {next_seen} ({stretch.days} days): the figures "
                    f"shown are those of the last publication seen before {as_of.isoformat()} "
                    f"({pub.file}, last seen {seen}), not an observation of that day"}


def reconstruction_at(conn: sqlite3.Connection, as_of: dt.date, after: Publication,
                      state: str | None = None, model: str | None = None,
                      agency_type: str | None = None) -> dict[str, Any]:
    """Agreements on a later participating publication already signed by ``as_of`` (of one
    state and/or model): a lower bound of those in force then (agreements that ended before
    it are not on it)."""
    agreements = [a for a in agreements_on(conn, after)
                  if (state is None or a.state == state) and (model is None or a.model == model)
                  and (agency_type is None or (a.agency_type or "").lower() == agency_type.lower())]
    signed = [a for a in agreements if a.signed and a.signed <= as_of]
    return {"as_of": as_of.isoformat(), "agreements": len(signed),
            "agencies": len({a.agency_id for a in signed}), "states": len({a.state for a in signed}),
            "by_model": {code: sum(1 for a in signed if a.model == code) for code in MODELS},
            "undated": sum(1 for a in agreements if a.signed is None),
            "publication": publication_ref(after), "lower_bound": True,
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
    other day is made from the figures stored for its publications. A day nobody saw (in an
    unseen stretch) has no list: ``<list>_seen_before`` shows the last one seen, labelled
    (``gap``), and ``reconstruction`` the lower bound from the next one's signing dates."""
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
    contexts = [date_context(conn, as_of, name) for name in LISTS]
    part = publication_as_of(conn, "participating", as_of)
    if part:
        summary = result["participating"]
        summary["capture"] = capture_near(conn, part, as_of)
    rebuilt = reconstruction(conn, contexts[LISTS.index("participating")])
    if rebuilt:
        result["reconstruction"] = rebuilt
    stated = contexts[LISTS.index("participating")].caption
    if stated:
        result["caption"] = stated   # ICE's own statement for that day, not a list seen
    for context in contexts:
        if context.kind in ("in_gap", "caption") and result[context.list]:
            # Nothing answers for a day nobody saw: the list seen before it is shown apart,
            # labelled, never as the answer.
            before = result[context.list]
            gap = gap_context(conn, context.list, as_of, publication_as_of(conn, context.list, as_of))
            result[context.list] = None
            result[f"{context.list}_seen_before"] = {**before, "gap": gap, "reconstruction": rebuilt
                                                     if context.list == "participating" else None}
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
        if agency_type not in AGENCY_TYPES:   # an unknown type is not an empty answer
            raise QueryError(f"unknown agency type {agency_type!r}; use one of {', '.join(AGENCY_TYPES)}")
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


@dataclass(frozen=True, slots=True)
class PlaceAnswer:
    """A county a search names, and the agencies of it ICE ever listed (none: never listed)."""

    fips: str
    name: str
    state: str
    agencies: list[AgencySummary]
    standing: str               # 'participating' | 'pending' | 'former' | 'never_listed'
    last_listed: str | None     # for 'former': the last day a list the archive saw showed one


@dataclass(frozen=True, slots=True)
class Lookup:
    """A search answered as a reader needs it: first whether the place or agency typed has an
    agreement (or never was listed, or was until a date), then what matches the words typed,
    then look-alikes found only by likeness, labelled as such."""

    text: str
    answer: str                      # one plain sentence, absence included
    absent: bool                     # nothing typed has an agreement or a pending request now
    places: list[PlaceAnswer]
    matches: list[AgencySummary]     # every word typed occurs in the agency's record
    lookalikes: list[AgencySummary]  # found only by likeness (a typo?), not what was typed
    suggestion: str | None
    facts: list[dict[str, Any]]   # the answer's sentences as data (code + values)


_PLACE_WORDS = re.compile(r"\b(county|parish|borough|census area|municipality)\b", re.IGNORECASE)


def _last_listed(conn: sqlite3.Connection, agency_ids: list[str]) -> str | None:
    row = conn.execute(
        "SELECT MAX(p.date) FROM (SELECT last_seen FROM agreements WHERE agency_id IN (SELECT value FROM"
        " json_each(?)) UNION ALL SELECT last_seen FROM pending_entries WHERE agency_id IN"
        " (SELECT value FROM json_each(?))) x JOIN publications p ON p.id = x.last_seen",
        (json.dumps(agency_ids), json.dumps(agency_ids))).fetchone()
    return row[0] if row else None


def _named_state(text: str) -> tuple[str, str | None]:
    """The text without a trailing state (", TX", " Texas"), and that state's code."""
    words = text.replace(",", " ").split()
    for size in (3, 2, 1):
        tail = " ".join(words[-size:]).lower() if len(words) > size else ""
        code = next((c for c, (_, name) in STATES.items() if tail in (c.lower(), name.lower())), None)
        if tail and code:
            return " ".join(words[:-size]), code
    return text, None


def _places(conn: sqlite3.Connection, text: str) -> list[PlaceAnswer]:
    """Counties the text names ("Travis County", "Orleans Parish, LA") with the agencies of
    each ICE ever listed, placed by the same rules as the maps."""
    from g287.places import counties, reference
    if not _PLACE_WORDS.search(text):
        return []
    name, state = _named_state(text)
    key = counties.county_key(name)
    found = [c for c in reference.counties().values()
             if counties.county_key(c.name) == key and (state is None or c.state == state)]
    answers = []
    for county in sorted(found, key=lambda c: (c.state, c.name))[:10]:
        listed = [a for a in search_agencies(conn, "", state=county.state)
                  if counties.match_county(a.state, a.name, a.agency_type, a.county).fips == county.fips]
        standing = ("participating" if any(a.active_models for a in listed) else
                    "pending" if any(a.pending_models for a in listed) else
                    "former" if listed else "never_listed")
        answers.append(PlaceAnswer(county.fips, county.name, county.state, listed, standing,
                                   _last_listed(conn, [a.agency_id for a in listed]) if listed else None))
    return answers


def _span(conn: sqlite3.Connection) -> dict[str, object]:
    pubs = publications(conn)
    return {"publications": len(pubs), "first": min(p.seen for p in pubs).isoformat() if pubs else None,
            "last": max(p.seen for p in pubs).isoformat() if pubs else None}


LOOKUP_SENTENCES = {
    "place_never": "No agency in {place} has a 287(g) agreement, and none was ever listed (in any of the "
                   "{publications} publications the archive holds, {first} to {last})",
    "place_former": "No agency in {place} has a 287(g) agreement now; one was listed until {date}",
    "place_listed": "{place}: {count} agency(ies) listed, with an agreement or pending",
    "none": "No agency named \"{q}\" was ever listed by ICE (in any of the {publications} publications "
            "the archive holds, {first} to {last})",
    "former": "No agency matching \"{q}\" has a 287(g) agreement now; the last was listed until {date}",
    "lookalikes": "{count} agencies elsewhere look alike (found by likeness, not by the words typed)",
}


def lookup(conn: sqlite3.Connection, text: str) -> Lookup:
    """Search for a place or an agency and say plainly whether it has an agreement: the one
    call the CLI, the API and the search page use. ``facts`` are the answer's sentences as
    data (``LOOKUP_SENTENCES`` keys and values), for pages to word in their language."""
    from g287 import search  # rapidfuzz and an index: only when a name is searched
    q = text.strip()
    found = search.match(conn, q) if q else search.Match([], False, None)
    agencies = search_agencies(conn, q) if q else []
    matches, lookalikes = ([], agencies) if found.fuzzy else (agencies, [])
    places = _places(conn, q) if q else []
    span = _span(conn)
    facts: list[dict[str, Any]] = []
    for place in places:
        where = f"{place.name}, {place.state}"
        if place.standing == "never_listed":
            facts.append({"code": "place_never", "place": where, **span})
        elif place.standing == "former":
            facts.append({"code": "place_former", "place": where, "date": place.last_listed})
        else:
            facts.append({"code": "place_listed", "place": where, "count": len(place.agencies)})
    current = [a for a in matches if a.active_models or a.pending_models]
    if q and not places and not matches:
        facts.append({"code": "none", "q": q, **span})
    elif q and not places and not current:
        facts.append({"code": "former", "q": q, "date": _last_listed(conn, [a.agency_id for a in matches])})
    if lookalikes:
        facts.append({"code": "lookalikes", "count": len(lookalikes)})
    answer = "; ".join(LOOKUP_SENTENCES[f["code"]].format(**f) for f in facts)
    absent = bool(q) and not current and not any(p.standing in ("participating", "pending") for p in places)
    return Lookup(text, answer + ("." if answer else ""), absent, places, matches, lookalikes,
                  found.suggestion, facts)


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
            "pending": pending, "events": events, "standing": _standing_of(conn, agreements, pending)}


def _standing_of(conn: sqlite3.Connection, agreements: list[dict], pending: list[dict]) -> dict[str, object]:
    """Whether the agency has an agreement on the newest list, and if not, the last list that
    showed it and the next list seen without it (it left between the two, never on a day)."""
    if any(a["status"] == "active" for a in agreements):
        return {"code": "participating", "last_listed": None, "next_seen": None}
    if any(p["status"] == "pending" for p in pending):
        return {"code": "pending", "last_listed": None, "next_seen": None}
    listed = [g["last_seen"] for g in agreements + pending if g["last_seen"]]
    if not listed:
        return {"code": "never_listed", "last_listed": None, "next_seen": None}
    last = max(listed, key=lambda ref: str(ref.get("seen_from") or ref["label"]))
    later = [p for p in publications(conn, last["list"]) if p.seen.isoformat() > str(last.get("seen_from"))]
    return {"code": "former", "last_listed": last, "next_seen": publication_ref(later[0]) if later else None}


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
