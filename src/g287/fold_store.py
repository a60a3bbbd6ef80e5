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
from g287.lineage import Side
from g287.resolve import AgencyRecord, AgencyResolver, Merge, NameRecord, parse_aliases
from g287.row_store import IdentityWriter, PrintedRows, clear_identities, load_rows, merged

# Bump when derivation rules change: stored histories are then rebuilt.
FOLD_VERSION = "5"  # 2: 96-bit ids; 3: lineage; 4: stale-caption gaps; 5: evidence points, departure status


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
    publications = _date_publications(conn)
    captured = {r["id"]: r["first_captured"] for r in conn.execute(
        "SELECT id, first_captured FROM publications")}
    fingerprint = f"{FOLD_VERSION}:{fingerprint}"
    previous = conn.execute("SELECT value FROM meta WHERE key = 'fold'").fetchone()
    old = [p for p in publications if p.id not in new_ids]
    new = [p for p in publications if p.id in new_ids]
    unchanged_old = all(stored[p.id] == captured[p.id] for p in old)
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


IMPLAUSIBLE = "label_implausible"  # the suffix an implausible label is stored with


def dated_publications(conn: sqlite3.Connection) -> list[PubIn]:
    """Every stored publication in history order, dated by the ICE label of its earliest
    capture (else that capture's date). Read-only: exports replay the fold from it."""
    return [d.pub for d in _dated(conn)]


def _dated(conn: sqlite3.Connection) -> list[_Dated]:
    earliest: dict[str, tuple[str, str]] = {}
    latest: dict[str, str] = {}
    for r in conn.execute("SELECT publication_id, file, captured_utc FROM captures"
                          " ORDER BY captured_utc, file"):
        earliest.setdefault(r["publication_id"], (r["file"], r["captured_utc"]))
        latest[r["publication_id"]] = r["captured_utc"]
    # Web rosters are dated by the as-of date their caption printed (else their capture).
    sources = {r["publication_id"]: dt.date.fromisoformat(r["as_of"]) for r in conn.execute(
        "SELECT publication_id, as_of FROM publication_sources")}
    dated = []
    for r in conn.execute("SELECT id, list FROM publications"):
        pub_id, list_name = r["id"], r["list"]
        file, captured = earliest[pub_id]
        label = labels.parse_file_name(file)
        if not labels.plausible(label, captured):  # dated by its capture instead, and flagged
            label = dataclasses.replace(label, date=None, suffix=IMPLAUSIBLE)
        day = label.date or sources.get(pub_id) or dt.date.fromisoformat(captured[:10])
        # Ties (one label, one capture) put pending before participating, so that a
        # participating sheet arriving after its companion pending sheet still appends.
        order = (label.order if label.date else (day.toordinal(), 1, "")) + (
            captured, _LIST_RANK[list_name], pub_id)
        source = "web" if pub_id in sources else "sheet"
        dated.append(_Dated(PubIn(pub_id, list_name, file, day, order, source, _day(captured),
                                  _day(latest[pub_id])), label, captured))
    return sorted(dated, key=lambda d: d.pub.order)


def _day(moment: str | None) -> dt.date | None:
    return dt.date.fromisoformat(moment[:10]) if moment else None


def _date_publications(conn: sqlite3.Connection) -> list[PubIn]:
    """Store each publication's date, label and order number within its list."""
    seq: dict[str, int] = defaultdict(int)
    dated = _dated(conn)
    dated_by = {r["publication_id"]: r["dated_by"] for r in conn.execute(
        "SELECT publication_id, dated_by FROM publication_sources")}
    columns = "file, label_date, label_ampm, label_suffix, date, dated_by, first_captured, seq"
    stored = {r["id"]: tuple(r)[1:] for r in conn.execute(f"SELECT id, {columns} FROM publications")}
    for d in dated:
        seq[d.pub.list_name] += 1
        values = (d.pub.file, _iso(d.label.date), d.label.ampm, d.label.suffix,
                  d.pub.label_date.isoformat(),
                  "label" if d.label.date else "capture_label_implausible" if d.label.suffix == IMPLAUSIBLE
                  else dated_by.get(d.pub.id, "capture"), d.captured, seq[d.pub.list_name])
        if stored[d.pub.id] != values:
            conn.execute(
                "UPDATE publications SET file = ?, label_date = ?, label_ampm = ?, label_suffix = ?,"
                " date = ?, dated_by = ?, first_captured = ?, seq = ? WHERE id = ?", (*values, d.pub.id))
    return [d.pub for d in dated]


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
