"""Saving and restoring the history fold: the derived tables in and out of SQLite.

``g287.history`` is pure; this module is its storage. It reads stored rows as the
fold needs them, dates and orders the publications, restores a fold from the derived
tables so that a newer publication can go on from it, and writes what a fold derived.
Every read names its columns, so a column added to a table changes nothing here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from g287 import labels
from g287.history import (
    Agreement,
    Departure,
    Derived,
    Event,
    HistoryFold,
    IdentityRow,
    LineageRecord,
    PendingEntry,
    PubIn,
)
from g287.identity.lineage import Side
from g287.identity.resolve import AgencyRecord, AgencyResolver, Merge, NameRecord, parse_aliases
from g287.row_store import IdentityWriter, PrintedRows, clear_identities, load_rows, merged

# Bump when derivation rules change: stored histories are then rebuilt.
FOLD_VERSION = "7"  # 2: 96-bit ids; 3: lineage; 4: stale-caption gaps; 5: evidence points,
# departure status; 6: partial publications, dating by capture; 7: a date of their own relabels


def stored_resolver(conn: sqlite3.Connection) -> AgencyResolver:
    """A resolver with the alias lines the stored history was built with."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'aliases'").fetchone()
    return AgencyResolver.with_aliases(parse_aliases(row["value"], "stored alias file") if row else [])


def update_history(conn: sqlite3.Connection, resolver: AgencyResolver, fingerprint: str,
                   fresh: PrintedRows) -> str:
    """Bring the derived tables up to date; return 'full', 'append' or 'unchanged'.

    When every new publication is newer than all stored ones (the usual case: ICE
    published an update) and the rules are unchanged, the fold goes on from the stored
    derived tables; otherwise it is replayed from the first publication. Both give the
    same tables (a test ingests in shuffled order to prove it). ``fresh`` holds the rows
    of the publications this ingest stored, so that they need not be read back.
    """
    new_ids = set(fresh)
    stored = {r["id"]: r["first_captured"] for r in conn.execute(
        "SELECT id, first_captured FROM publications")}
    # Flags (bulk folder, partial …) change sightings and what the fold reads; a partial
    # publication's reason names its neighbours, so a new neighbour replays the fold.
    dating = "SELECT publication_id, flags || ':' || why FROM publication_dating"
    was_dated = dict(conn.execute(dating))
    publications = _date_publications(conn)
    now_dated = dict(conn.execute(dating))
    captured = {r["id"]: r["first_captured"] for r in conn.execute(
        "SELECT id, first_captured FROM publications")}
    fingerprint = f"{FOLD_VERSION}:{fingerprint}"
    previous = conn.execute("SELECT value FROM meta WHERE key = 'fold'").fetchone()
    old = [p for p in publications if p.id not in new_ids]
    new = [p for p in publications if p.id in new_ids]
    unchanged_old = all(stored[p.id] == captured[p.id] and was_dated.get(p.id) == now_dated[p.id]
                        for p in old)
    appendable = (previous is not None and previous["value"] == fingerprint and unchanged_old
                  and (not old or not new or min(p.order for p in new) > max(p.order for p in old)))
    if appendable and not new:
        return "unchanged"
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('fold', ?)", (fingerprint,))
    if appendable:
        stored_entities: dict[str, dict[tuple, tuple]] = {}
        fold = restore_fold(conn, resolver, {p.id: p for p in old}, stored_entities)
        merges, departures = len(resolver.merges), len(fold.departures)
        identities = [i for pub in new for i in fold.add(pub, fresh[pub.id])]
        write_changes(conn, fold.finish(), identities, stored_entities, merges=merges,
                      departures=departures)
        return "append"
    rows = merged(load_rows(conn, [p.id for p in old]), fresh)
    clear_identities(conn)
    fold, identities = HistoryFold(resolver), IdentityWriter(conn)
    for pub in publications:   # in history order; each publication's rows made when folded
        identities.write(fold.add(pub, rows.get(pub.id, [])))
    write_derived(conn, fold.finish())
    return "full"


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def restore_fold(conn: sqlite3.Connection, resolver: AgencyResolver, pubs: dict[str, PubIn],
                 stored: dict[str, dict[tuple, tuple]] | None = None) -> HistoryFold:
    """Rebuild the fold's state from the derived tables, to go on with newer publications.
    Its ``events`` start empty: the stored events stay as they are (see :func:`write_changes`).
    ``stored`` is given each entity table's rows as read, by key."""
    stored = {} if stored is None else stored

    def entities(table: str) -> list[sqlite3.Row]:
        keys, columns = _ENTITY_TABLES[table]
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
        stored[table] = {tuple(r)[:len(keys)]: tuple(r) for r in rows}
        return rows

    for r in entities("agencies"):
        resolver.agencies[r["agency_id"]] = AgencyRecord(
            r["agency_id"], r["state"], r["name_key"], r["name"], r["agency_type"], r["county"],
            r["first_seen"], r["last_seen"])
        resolver.by_key[(r["state"], r["name_key"])] = r["agency_id"]
    for r in entities("agency_names"):
        resolver.names[(r["agency_id"], r["spelling"])] = NameRecord(
            r["agency_id"], r["spelling"], r["name_key"], r["tier"], r["reason"], r["first_seen"],
            r["last_seen"], r["rows"])
        resolver.keys_seen.setdefault(r["agency_id"], set()).add(r["name_key"])
        resolver.by_key[(resolver.agencies[r["agency_id"]].state, r["name_key"])] = r["agency_id"]
    resolver.merges.extend(
        Merge(r["agency_id"], r["name_key"], r["merged_into_key"], r["tier"], r["reason"],
              r["publication_id"])
        for r in conn.execute("SELECT agency_id, name_key, merged_into_key, tier, reason,"
                              " publication_id FROM identity_merges ORDER BY rowid"))
    fold = HistoryFold(resolver)
    for r in entities("agreements"):
        fold.agreements[r["agreement_id"]] = Agreement(
            r["agreement_id"], r["agency_id"], r["model"], _date(r["signed"]),
            _date(r["signed_first"]), r["first_seen"], r["last_seen"], r["status"], r["moa_url"],
            r["addendum_url"], r["moa_first_linked"], r["succeeded_by"])
    for r in entities("pending_entries"):
        status = "pending" if r["status"] == "withdrawn" else r["status"]
        fold.pending[r["pending_id"]] = PendingEntry(
            r["pending_id"], r["agency_id"], r["model"], r["first_seen"], r["last_seen"],
            pubs[r["first_seen"]].label_date, status, r["agreement_id"], r["days_pending"])
    fold.departures = [
        Departure(r["pending_id"], r["publication_id"], r["before_pub"], _date(r["date"]))
        for r in conn.execute("SELECT pending_id, publication_id, before_pub, date"
                              " FROM pending_departures ORDER BY rowid")]
    fold.lineage = [
        LineageRecord(r["kind"], r["status"], r["list"], r["before_pub"], r["after_pub"],
                      side_from_json(json.loads(r["before"])), side_from_json(json.loads(r["after"])),
                      r["score"], json.loads(r["evidence"]), r["reason"])
        for r in conn.execute("SELECT kind, status, list, before_pub, after_pub, before, after, score,"
                              " evidence, reason FROM lineage ORDER BY seq")]
    for pub in sorted(pubs.values(), key=lambda p: p.order):
        if not pub.partial:
            fold.sequence[pub.list_name].append(pub)
    for r in conn.execute("SELECT event_id, kind, agreement_id, pending_id, after_pub, details FROM events"
                          " WHERE kind IN ('agreement_removed', 'agreement_reinstated', 'pending_added')"
                          " ORDER BY seq"):
        if r["kind"] == "agreement_removed":
            fold.removals.append((r["event_id"], r["agreement_id"], r["after_pub"]))
        elif r["kind"] == "agreement_reinstated" or json.loads(r["details"]).get("relisted"):
            fold.returns.setdefault(r["agreement_id"] or r["pending_id"], []).append(r["after_pub"])
    for list_name in ("participating", "pending"):
        latest = max((p for p in pubs.values() if p.list_name == list_name),
                     key=lambda p: p.order, default=None)
        fold.prev[list_name] = latest
        if latest is None:
            continue
        for r in conn.execute(
                "SELECT i.agency_id, v.model, v.signed, i.agreement_id, i.pending_id, v.state, v.county"
                " FROM publication_keys k JOIN publication_rows p ON p.pub = k.pub"
                " JOIN identities i ON i.identity_id = p.identity_id"
                " JOIN row_versions v ON v.version_id = p.version_id"
                " WHERE k.publication_id = ? AND i.agency_id IS NOT NULL", (latest.id,)):
            if r["agreement_id"]:
                fold.active[r["agreement_id"]] = fold.agreements[r["agreement_id"]]
                fold.printed_rows[r["agreement_id"]] = fold.printed_rows.get(r["agreement_id"], 0) + 1
            if list_name == "participating" and r["state"]:
                fold.printed_state.setdefault(r["agency_id"], r["state"])
            if list_name == "participating" and r["county"]:
                fold.printed_county.setdefault(r["agency_id"], r["county"])
            if r["pending_id"]:
                fold.on_pending.add(r["pending_id"])
    return fold


_LIST_RANK = {"pending": 0, "participating": 1}


@dataclass(frozen=True, slots=True)
class _Dated:
    pub: PubIn
    label: labels.FileLabel
    captured: str
    dated_by: str
    flags: tuple[str, ...]
    why: str


IMPLAUSIBLE = "label_implausible"  # the suffix an implausible label is stored with


def dated_publications(conn: sqlite3.Connection) -> list[PubIn]:
    """Every stored publication in history order, dated by the ICE label of its earliest
    capture (else that capture's date). Read-only: exports replay the fold from it."""
    return [d.pub for d in _dated(conn)]


def bulk_folders(captures: list[tuple[str, str, str]]) -> set[str]:
    """Capture folders whose time is not a capture time: a folder holding several labels of
    one list was filled in bulk (an archive adding files it had missed), so its time is only
    an upper bound on when each was published. ``captures``: (folder, list, file)."""
    found: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for folder, list_name, file in captures:
        if folder.startswith("sheets_"):
            found[(folder, list_name)].add(labels.parse_file_name(file).text or file)
    return {folder for (folder, _), seen in found.items() if len(seen) > 1}


def _dated(conn: sqlite3.Connection) -> list[_Dated]:
    """Date every publication and place it in its list, with the reason in words.

    A plausible ICE label dates a sheet. A label that cannot be right (after its capture,
    before the day the workbook was last saved, or not a date at all) is flagged and the
    sheet dated by its first capture, placed among that day's labelled sheets by the time
    ICE saved it. A label without am/pm, or with ``mid``, keeps its date and sits between
    that day's am and pm. Web pages (rosters, table transcriptions) carry their own as-of
    date. A capture folder filled in bulk gives only an upper bound: it is not counted as
    a day the sheet was seen."""
    rows = conn.execute("SELECT c.publication_id, c.file, c.capture_folder, c.captured_utc, p.list"
                        " FROM captures c JOIN publications p ON p.id = c.publication_id"
                        " ORDER BY c.captured_utc, c.file").fetchall()
    bulk = bulk_folders([(r["capture_folder"], r["list"], r["file"]) for r in rows])
    earliest: dict[str, tuple[str, str, str]] = {}
    seen: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        earliest.setdefault(r["publication_id"], (r["file"], r["captured_utc"], r["capture_folder"]))
        if r["capture_folder"] not in bulk:
            seen[r["publication_id"]].append(r["captured_utc"])
    sources = {r["publication_id"]: r for r in conn.execute(
        "SELECT publication_id, as_of, dated_by, source_kind, caption FROM publication_sources")}
    pubs = conn.execute("SELECT id, list, xlsx_modified FROM publications").fetchall()
    facts = {}
    for r in pubs:
        pub_id = r["id"]
        file, captured, folder = earliest[pub_id]
        label = labels.parse_file_name(file)
        flags: list[str] = []
        if label.date and not labels.plausible(label, captured):
            flags.append("label_after_capture")
        elif labels.contradicted(label, r["xlsx_modified"], captured):
            flags.append("label_contradicted")
        elif label.date is None and pub_id not in sources and not labels.wayback_time(file):
            flags.append("label_unreadable")
        if flags and label.date:
            label = dataclasses.replace(label, date=None, suffix=IMPLAUSIBLE)
        elif label.date and label.ampm in (None, "mid"):
            flags.append("part_of_day_mid" if label.ampm else "part_of_day_unmarked")
        if folder in bulk:
            flags.append("bulk_folder")
        facts[pub_id] = (label, captured, folder, tuple(flags))
    # Where a sheet dated by its capture sits among that day's labelled sheets of its list.
    labelled: dict[tuple[str, dt.date], list[tuple[tuple, str]]] = defaultdict(list)
    for r in pubs:
        label = facts[r["id"]][0]
        if label.date:
            labelled[(r["list"], label.date)].append((label.order[1], r["xlsx_modified"] or ""))
    dated = []
    for r in pubs:
        pub_id, list_name, modified = r["id"], r["list"], r["xlsx_modified"]
        label, captured, folder, flags = facts[pub_id]
        source = sources.get(pub_id)
        day = label.date or (dt.date.fromisoformat(source["as_of"]) if source else None) \
            or dt.date.fromisoformat(captured[:10])
        if label.date:
            order: tuple = label.order
            dated_by = "label"
        elif source is not None:
            order, dated_by = (day.toordinal(), 1, ""), source["dated_by"]
        else:
            later = sorted(rank for rank, saved in labelled[(list_name, day)] if saved >= (modified or ""))
            rank = (later[0] - 0.5) if later else 2.5
            order = (day.toordinal(), rank, modified or captured)
            dated_by = "capture_label_implausible" if flags and flags[0] != "bulk_folder" else "capture"
        # Ties (one label, one capture) put pending before participating, so that a
        # participating sheet arriving after its companion pending sheet still appends.
        order = order + (captured, _LIST_RANK[list_name], pub_id)
        times = seen.get(pub_id, [])
        pub = PubIn(pub_id, list_name, earliest[pub_id][0], day, order, "web" if source else "sheet",
                    _day(times[0]) if times else None, _day(times[-1]) if times else None)
        why = _why(label, earliest[pub_id][0], captured, folder, modified, flags, source)
        dated.append(_Dated(pub, label, captured, dated_by, flags, why))
    return sorted(dated, key=lambda d: d.pub.order)


def _why(label: labels.FileLabel, file: str, captured: str, folder: str, modified: str | None,
         flags: tuple[str, ...], source: sqlite3.Row | None) -> str:
    """One sentence on what dates a publication and what places it among its list's."""
    first = f"first captured {captured[:16].replace('T', ' ')} UTC"
    saved = f"workbook saved {modified[:16].replace('T', ' ')} UTC" if modified else "no save time"
    if source is not None and source["source_kind"] == "web table transcription":
        text = (f"a transcription of ICE's web table as the Wayback Machine captured it ({first}), "
                "not an ICE file; dated by that capture: the table printed no date")
    elif source is not None:
        text = (f"ICE's web roster under the caption {source['caption']!r}, dated by "
                f"{'its caption' if source['dated_by'] == 'caption' else 'its capture'} ({first})")
    elif label.date:
        text = f"ICE's label {label.text} in the file name ({saved}; {first})"
        if "part_of_day_mid" in flags:
            text += "; 'mid' is neither am nor pm: placed between that day's am and pm sheets"
        elif "part_of_day_unmarked" in flags:
            text += "; no am/pm: placed between that day's am and pm sheets"
    elif labels.wayback_time(file):
        text = f"no label in the name: dated by its Wayback Machine capture ({first}; {saved})"
    else:
        reason = ("is after the file was captured" if "label_after_capture" in flags else
                  f"is before the workbook was last saved ({saved})" if "label_contradicted" in flags
                  else "is not a date")
        text = (f"the label in {file!r} {reason}: it cannot be right, so the sheet is dated by its "
                f"capture ({first}) and placed among that day's sheets by its save time")
    if "bulk_folder" in flags:
        text += (f"; its folder {folder} holds several labels of this list (files added in bulk), "
                 "so that time is only an upper bound and not a day the sheet was seen")
    return text


def _day(moment: str | None) -> dt.date | None:
    return dt.date.fromisoformat(moment[:10]) if moment else None


def _date_publications(conn: sqlite3.Connection) -> list[PubIn]:
    """Store each publication's date, label, order number within its list, and how it was
    dated (``publication_dating``: flags and reason); mark truncated publications partial."""
    seq: dict[str, int] = defaultdict(int)
    dated = _dated(conn)
    partial = truncated(conn, [d.pub for d in dated])
    columns = "file, label_date, label_ampm, label_suffix, date, dated_by, first_captured, seq"
    stored = {r["id"]: tuple(r)[1:] for r in conn.execute(f"SELECT id, {columns} FROM publications")}
    notes = {r["publication_id"]: tuple(r)[1:] for r in conn.execute(
        "SELECT publication_id, flags, why, partial FROM publication_dating")}
    result = []
    for d in dated:
        seq[d.pub.list_name] += 1
        values = (d.pub.file, _iso(d.label.date), d.label.ampm, d.label.suffix,
                  d.pub.label_date.isoformat(), d.dated_by, d.captured, seq[d.pub.list_name])
        if stored[d.pub.id] != values:
            conn.execute(
                "UPDATE publications SET file = ?, label_date = ?, label_ampm = ?, label_suffix = ?,"
                " date = ?, dated_by = ?, first_captured = ?, seq = ? WHERE id = ?", (*values, d.pub.id))
        cut = partial.get(d.pub.id)
        flags, why = d.flags + (("partial",) if cut else ()), d.why + (f"; {cut}" if cut else "")
        note = (",".join(flags), why, int(bool(cut)))
        if notes.get(d.pub.id) != note:
            conn.execute("INSERT OR REPLACE INTO publication_dating VALUES (?, ?, ?, ?)", (d.pub.id, *note))
        result.append(dataclasses.replace(d.pub, partial=True) if cut else d.pub)
    return result


# A publication is truncated (partial) when it prints at most this share of the rows of
# both its neighbours in its list, lacks at least ``MIN_LACKING`` rows of the one before,
# and at least ``RETURNING`` of them are printed again by the next one: ICE's list briefly
# lost most rows and got them back. (A list of three agencies losing one is not that.)
TRUNCATED_SHARE = 0.5
MIN_LACKING = 10
RETURNING = 0.9


def truncated(conn: sqlite3.Connection, pubs: list[PubIn]) -> dict[str, str]:
    """The partial publications among ``pubs`` (in history order), each with the reason. The
    newest of a list, when it lost most rows, is partial provisionally: a live archive must not
    report a mass departure that the next sheet may undo. If that sheet lacks the rows too, the
    newest is no longer partial (the history is replayed) and they are reported gone on it."""
    rows = dict(conn.execute("SELECT id, rows FROM publications"))
    found: dict[str, str] = {}
    for list_name in ("participating", "pending"):
        mine = [p for p in pubs if p.list_name == list_name]
        for index in range(1, len(mine)):
            before, pub = mine[index - 1], mine[index]
            # What came next: the next publication, or the one before printed again (ICE put
            # the same file back) after this one was first seen.
            if before.seen_last and pub.seen_first and before.seen_last > pub.seen_first:
                after = before
            elif index + 1 < len(mine):
                after = mine[index + 1]
            else:   # the newest: whether its rows return is not known yet
                if rows[pub.id] <= TRUNCATED_SHARE * rows[before.id] and \
                        len(_row_keys(conn, before.id) - _row_keys(conn, pub.id)) >= MIN_LACKING:
                    found[pub.id] = (f"provisionally truncated: {rows[pub.id]} rows against "
                                     f"{rows[before.id]} on {before.file}, and no later sheet yet; "
                                     "what it lacks is reported as gone once the next sheet "
                                     "lacks it too")
                continue
            if rows[pub.id] > TRUNCATED_SHARE * min(rows[before.id], rows[after.id]):
                continue
            keys = {p.id: _row_keys(conn, p.id) for p in (before, pub, after)}
            lacking = keys[before.id] - keys[pub.id]
            back = lacking & keys[after.id]
            if len(lacking) >= MIN_LACKING and len(back) >= RETURNING * len(lacking):
                again = " printed again" if after is before else ""
                found[pub.id] = (f"truncated: {rows[pub.id]} rows against {rows[before.id]} on "
                                 f"{before.file} and {rows[after.id]} on {after.file}{again}, and "
                                 f"{len(back)} of the {len(lacking)} rows it lacks are printed "
                                 "again next; its counts stay as ICE printed them, no departure "
                                 "is read from it")
    return found


def _row_keys(conn: sqlite3.Connection, pub_id: str) -> set[tuple]:
    return {tuple(r) for r in conn.execute(
        "SELECT state, name_key, model FROM sheet_rows WHERE publication_id = ?", (pub_id,))}


# Each entity table: its key columns and the columns written, in order.
_ENTITY_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "agencies": (("agency_id",), ("agency_id", "state", "name", "name_key", "agency_type", "county",
                                  "first_seen", "last_seen")),
    "agency_names": (("agency_id", "spelling"), ("agency_id", "spelling", "name_key", "tier", "reason",
                                                 "first_seen", "last_seen", "rows")),
    "agreements": (("agreement_id",), ("agreement_id", "agency_id", "model", "signed", "signed_first",
                                       "first_seen", "last_seen", "status", "moa_url", "addendum_url",
                                       "moa_first_linked", "succeeded_by")),
    "pending_entries": (("pending_id",), ("pending_id", "agency_id", "model", "first_seen", "last_seen",
                                          "status", "agreement_id", "days_pending")),
}
_EVENT_COLUMNS = ("event_id", "seq", "kind", "list", "date", "state", "agency_id", "agreement_id",
                  "pending_id", "model", "before_pub", "after_pub", "details", "status")


def _entity_rows(derived: Derived) -> dict[str, list[tuple]]:
    resolver = derived.resolver
    return {
        "agencies": [(a.agency_id, a.state, a.name, a.name_key, a.agency_type, a.county, a.first_seen,
                      a.last_seen) for a in resolver.agencies.values()],
        "agency_names": [(n.agency_id, n.spelling, n.name_key, n.tier, n.reason, n.first_seen,
                          n.last_seen, n.rows) for n in resolver.names.values()],
        "agreements": [(a.agreement_id, a.agency_id, a.model, _iso(a.signed), _iso(a.signed_first),
                        a.first_seen, a.last_seen, a.status, a.moa_url, a.addendum_url,
                        a.moa_first_linked, a.succeeded_by) for a in derived.agreements.values()],
        "pending_entries": [(p.pending_id, p.agency_id, p.model, p.first_seen, p.last_seen, p.status,
                             p.agreement_id, p.days_pending) for p in derived.pending.values()],
    }


def _insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)})"
                     f" VALUES ({', '.join('?' * len(columns))})", rows)


def _event_rows(events: list[Event], first_seq: int) -> list[tuple]:
    return [(e.event_id, seq, e.kind, e.list_name, _iso(e.date), e.state, e.agency_id,
             e.agreement_id, e.pending_id, e.model, e.before_pub, e.after_pub,
             json.dumps(e.details, sort_keys=True), e.status) for seq, e in enumerate(events, first_seq)]


def _merge_rows(merges: list[Merge]) -> list[tuple]:
    return [(m.agency_id, m.name_key, m.merged_into_key, m.tier, m.reason, m.publication_id)
            for m in merges]


def _departure_rows(departures: list[Departure]) -> list[tuple]:
    return [(d.pending_id, d.publication_id, d.before_pub, _iso(d.date)) for d in departures]


_MERGE_COLUMNS = ("agency_id", "name_key", "merged_into_key", "tier", "reason", "publication_id")
_DEPARTURE_COLUMNS = ("pending_id", "publication_id", "before_pub", "date")
_DERIVED_TABLES = ("lineage", "events", "pending_departures", "pending_entries", "agreements", "agency_names",
                   "identity_merges", "agencies")  # children before parents


def write_derived(conn: sqlite3.Connection, derived: Derived) -> None:
    """Replace the derived tables with what a fold derived (its rows' identities are written
    as it folds, by :class:`g287.row_store.IdentityWriter`)."""
    for table in _DERIVED_TABLES:
        conn.execute(f"DELETE FROM {table}")
    for table, rows in _entity_rows(derived).items():
        _insert(conn, table, _ENTITY_TABLES[table][1], rows)
    _insert(conn, "identity_merges", _MERGE_COLUMNS, _merge_rows(derived.resolver.merges))
    _insert(conn, "pending_departures", _DEPARTURE_COLUMNS, _departure_rows(derived.departures))
    _insert(conn, "events", _EVENT_COLUMNS, _event_rows(derived.events, 1))
    _write_lineage(conn, derived)


def write_changes(conn: sqlite3.Connection, derived: Derived, identities: list[IdentityRow],
                  stored: dict[str, dict[tuple, tuple]], *, merges: int, departures: int) -> None:
    """Write what a fold restored by :func:`restore_fold` (which filled ``stored``) changed:
    new and changed entities,
    the merges and departures after the first ``merges`` and ``departures``, the new events,
    and the pending withdrawals judged anew. The tables end as :func:`write_derived` would
    leave them (same rows, same order)."""
    for table, rows in _entity_rows(derived).items():
        keys, columns = _ENTITY_TABLES[table]
        changed = [row for row in rows if stored[table].get(row[:len(keys)]) != row]
        if changed:
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}", changed)
    _insert(conn, "identity_merges", _MERGE_COLUMNS, _merge_rows(derived.resolver.merges[merges:]))
    _insert(conn, "pending_departures", _DEPARTURE_COLUMNS, _departure_rows(derived.departures[departures:]))
    IdentityWriter(conn).write(identities)
    conn.execute("DELETE FROM events WHERE kind = 'pending_withdrawn'")
    last = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    _insert(conn, "events", _EVENT_COLUMNS, _event_rows(derived.events, last + 1))
    conn.executemany("UPDATE events SET status = ? WHERE event_id = ? AND status IS NOT ?",
                     [(status, event_id, status) for event_id, status in derived.statuses.items()])
    conn.execute("DELETE FROM lineage")
    _write_lineage(conn, derived)


def _write_lineage(conn: sqlite3.Connection, derived: Derived) -> None:
    """Every lineage decision with its evidence (few: rewritten whole, also when appending)."""
    conn.executemany(
        "INSERT OR REPLACE INTO lineage (decision_id, seq, kind, status, list, before_pub, after_pub,"
        " state, before, after, score, evidence, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", [
            (d.decision_id, seq, d.kind, d.status, d.list_name, d.before_pub, d.after_pub,
             d.after.state, json.dumps(side_json(d.before), sort_keys=True),
             json.dumps(side_json(d.after), sort_keys=True), d.score,
             json.dumps(d.evidence, sort_keys=True, default=str), d.reason)
            for seq, d in enumerate(derived.lineage, 1)])


def side_json(side: Side) -> dict[str, Any]:
    """A lineage side as stored (dates ISO, links sorted)."""
    return {**asdict(side), "signed": _iso(side.signed), "links": sorted(side.links)}


def side_from_json(data: dict[str, Any]) -> Side:
    return Side(**{**data, "signed": _date(data["signed"]), "links": frozenset(data["links"])})


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
