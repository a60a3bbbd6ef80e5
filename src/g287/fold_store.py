"""Saving and restoring the history fold: the derived tables in and out of SQLite.

``g287.history`` is pure; this module is its storage. It reads stored rows as the
fold needs them, dates and orders the publications, restores a fold from the derived
tables so that a newer publication can go on from it, and writes what a fold derived.
Every read names its columns, so a column added to a table changes nothing here.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from g287 import labels
from g287.history import (
    Agreement,
    Departure,
    Derived,
    Event,
    HistoryFold,
    IdentityRow,
    PendingEntry,
    PubIn,
    RowIn,
    derive,
)
from g287.resolve import AgencyRecord, AgencyResolver, Merge, NameRecord, RowKey, parse_aliases

FOLD_VERSION = "1"  # bump when derivation rules change: stored histories are then rebuilt


def stored_resolver(conn: sqlite3.Connection) -> AgencyResolver:
    """A resolver with the alias lines the stored history was built with."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'aliases'").fetchone()
    return AgencyResolver.with_aliases(parse_aliases(row["value"], "stored alias file") if row else [])


def update_history(conn: sqlite3.Connection, resolver: AgencyResolver, fingerprint: str,
                   fresh: dict[str, list[RowIn]]) -> str:
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
    fingerprint = f"{FOLD_VERSION}:{fingerprint}"
    previous = conn.execute("SELECT value FROM meta WHERE key = 'fold'").fetchone()
    old = [p for p in publications if p.id not in new_ids]
    new = [p for p in publications if p.id in new_ids]
    unchanged_old = all(stored[p.id] == _first_captured(conn, p.id) for p in old)
    appendable = (previous is not None and previous["value"] == fingerprint and unchanged_old
                  and (not old or not new or min(p.order for p in new) > max(p.order for p in old)))
    if appendable and not new:
        return "unchanged"
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('fold', ?)", (fingerprint,))
    if appendable:
        fold = restore_fold(conn, resolver, {p.id: p for p in old})
        identities = [i for pub in new for i in fold.add(pub, fresh[pub.id])]
        write_derived(conn, fold.finish(), identities, replace_identities=False)
        return "append"
    rows = load_rows(conn, [p.id for p in old]) | fresh
    derived, identities = derive(publications, rows, resolver)
    write_derived(conn, derived, identities, replace_identities=True)
    return "full"


def _first_captured(conn: sqlite3.Connection, publication_id: str) -> str | None:
    row = conn.execute("SELECT first_captured FROM publications WHERE id = ?",
                       (publication_id,)).fetchone()
    return row["first_captured"] if row else None


def load_rows(conn: sqlite3.Connection, publication_ids: list[str] | None) -> dict[str, list[RowIn]]:
    """The stored rows of some publications (all when None), as the fold reads them."""
    where, params = "", ()
    if publication_ids is not None:
        where = f" WHERE publication_id IN ({','.join('?' * len(publication_ids))})"
        params = tuple(publication_ids)
    rows: dict[str, list[RowIn]] = defaultdict(list)
    for r in conn.execute(
            "SELECT publication_id, row_number, state, agency_name, name_key, agency_type,"
            " county, model, signed, moa_url, addendum_url FROM sheet_rows"
            f"{where} ORDER BY publication_id, row_number", params):
        key = RowKey(r["state"], r["agency_name"], r["name_key"], r["agency_type"], r["county"],
                     r["model"], _date(r["signed"]))
        rows[r["publication_id"]].append(
            RowIn(r["publication_id"], r["row_number"], key, r["moa_url"], r["addendum_url"]))
    return rows


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def restore_fold(conn: sqlite3.Connection, resolver: AgencyResolver,
                 pubs: dict[str, PubIn]) -> HistoryFold:
    """Rebuild the fold's state from the derived tables, to go on with newer publications."""
    for r in conn.execute("SELECT agency_id, state, name_key, name, agency_type, county,"
                          " first_seen, last_seen FROM agencies ORDER BY rowid"):
        resolver.agencies[r["agency_id"]] = AgencyRecord(
            r["agency_id"], r["state"], r["name_key"], r["name"], r["agency_type"], r["county"],
            r["first_seen"], r["last_seen"])
        resolver.by_key[(r["state"], r["name_key"])] = r["agency_id"]
    for r in conn.execute("SELECT agency_id, spelling, name_key, tier, reason, first_seen,"
                          " last_seen, rows FROM agency_names ORDER BY rowid"):
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
    for r in conn.execute("SELECT agreement_id, agency_id, model, signed, signed_first, first_seen,"
                          " last_seen, status, moa_url, addendum_url, moa_first_linked, succeeded_by"
                          " FROM agreements ORDER BY rowid"):
        fold.agreements[r["agreement_id"]] = Agreement(
            r["agreement_id"], r["agency_id"], r["model"], _date(r["signed"]),
            _date(r["signed_first"]), r["first_seen"], r["last_seen"], r["status"], r["moa_url"],
            r["addendum_url"], r["moa_first_linked"], r["succeeded_by"])
    for r in conn.execute("SELECT pending_id, agency_id, model, first_seen, last_seen, status,"
                          " agreement_id, days_pending FROM pending_entries ORDER BY rowid"):
        status = "pending" if r["status"] == "withdrawn" else r["status"]
        fold.pending[r["pending_id"]] = PendingEntry(
            r["pending_id"], r["agency_id"], r["model"], r["first_seen"], r["last_seen"],
            pubs[r["first_seen"]].label_date, status, r["agreement_id"], r["days_pending"])
    fold.events = [
        Event(r["kind"], r["list"], _date(r["date"]), r["agency_id"], r["state"], r["before_pub"],
              r["after_pub"], r["agreement_id"], r["pending_id"], r["model"], json.loads(r["details"]))
        for r in conn.execute(
            "SELECT kind, list, date, agency_id, state, before_pub, after_pub, agreement_id,"
            " pending_id, model, details FROM events WHERE kind != 'pending_withdrawn' ORDER BY seq")]
    fold.departures = [
        Departure(r["pending_id"], r["publication_id"], r["before_pub"], _date(r["date"]))
        for r in conn.execute("SELECT pending_id, publication_id, before_pub, date"
                              " FROM pending_departures ORDER BY rowid")]
    for list_name in ("participating", "pending"):
        latest = max((p for p in pubs.values() if p.list_name == list_name),
                     key=lambda p: p.order, default=None)
        fold.prev[list_name] = latest
        if latest is None:
            continue
        printed: dict[str, set] = defaultdict(set)
        for r in conn.execute(
                "SELECT i.agency_id, r.model, r.signed, i.agreement_id, i.pending_id"
                " FROM row_identities i JOIN sheet_rows r USING (publication_id, row_number)"
                " WHERE i.publication_id = ? AND i.agency_id IS NOT NULL", (latest.id,)):
            printed[r["agency_id"]].add((r["model"], _date(r["signed"])))
            if r["agreement_id"]:
                fold.active[r["agreement_id"]] = fold.agreements[r["agreement_id"]]
            if r["pending_id"]:
                fold.on_pending.add(r["pending_id"])
        fold.prev_printed[list_name] = dict(printed)
    return fold


_LIST_RANK = {"pending": 0, "participating": 1}


@dataclass(frozen=True, slots=True)
class _Dated:
    pub: PubIn
    label: labels.FileLabel
    captured: str


def dated_publications(conn: sqlite3.Connection) -> list[PubIn]:
    """Every stored publication in history order, dated by the ICE label of its earliest
    capture (else that capture's date). Read-only: exports replay the fold from it."""
    return [d.pub for d in _dated(conn)]


def _dated(conn: sqlite3.Connection) -> list[_Dated]:
    earliest: dict[str, tuple[str, str]] = {}
    for r in conn.execute("SELECT publication_id, file, captured_utc FROM captures"
                          " ORDER BY captured_utc, file"):
        earliest.setdefault(r["publication_id"], (r["file"], r["captured_utc"]))
    dated = []
    for r in conn.execute("SELECT id, list FROM publications"):
        pub_id, list_name = r["id"], r["list"]
        file, captured = earliest[pub_id]
        label = labels.parse_file_name(file)
        day = label.date or dt.date.fromisoformat(captured[:10])
        # Ties (one label, one capture) put pending before participating, so that a
        # participating sheet arriving after its companion pending sheet still appends.
        order = (label.order if label.date else (day.toordinal(), 1, "")) + (
            captured, _LIST_RANK[list_name], pub_id)
        dated.append(_Dated(PubIn(pub_id, list_name, file, day, order), label, captured))
    return sorted(dated, key=lambda d: d.pub.order)


def _date_publications(conn: sqlite3.Connection) -> list[PubIn]:
    """Store each publication's date, label and order number within its list."""
    seq: dict[str, int] = defaultdict(int)
    dated = _dated(conn)
    for d in dated:
        seq[d.pub.list_name] += 1
        conn.execute(
            "UPDATE publications SET file = ?, label_date = ?, label_ampm = ?, label_suffix = ?,"
            " date = ?, dated_by = ?, first_captured = ?, seq = ? WHERE id = ?",
            (d.pub.file, _iso(d.label.date), d.label.ampm, d.label.suffix, d.pub.label_date.isoformat(),
             "label" if d.label.date else "capture", d.captured, seq[d.pub.list_name], d.pub.id))
    return [d.pub for d in dated]


_DERIVED_TABLES = ("events", "pending_departures", "pending_entries", "agreements", "agency_names",
                   "identity_merges", "agencies")  # children before parents


def write_derived(conn: sqlite3.Connection, derived: Derived, identities: list[IdentityRow], *,
                  replace_identities: bool) -> None:
    """Replace the derived tables with what a fold derived."""
    for table in _DERIVED_TABLES:
        conn.execute(f"DELETE FROM {table}")
    if replace_identities:
        conn.execute("DELETE FROM row_identities")
    resolver = derived.resolver
    conn.executemany(
        "INSERT INTO agencies (agency_id, state, name, name_key, agency_type, county, first_seen,"
        " last_seen) VALUES (?,?,?,?,?,?,?,?)", [
            (a.agency_id, a.state, a.name, a.name_key, a.agency_type, a.county, a.first_seen,
             a.last_seen) for a in resolver.agencies.values()])
    conn.executemany(
        "INSERT INTO agency_names (agency_id, spelling, name_key, tier, reason, first_seen,"
        " last_seen, rows) VALUES (?,?,?,?,?,?,?,?)", [
            (n.agency_id, n.spelling, n.name_key, n.tier, n.reason, n.first_seen, n.last_seen,
             n.rows) for n in resolver.names.values()])
    conn.executemany(
        "INSERT INTO identity_merges (agency_id, name_key, merged_into_key, tier, reason,"
        " publication_id) VALUES (?,?,?,?,?,?)", [
            (m.agency_id, m.name_key, m.merged_into_key, m.tier, m.reason, m.publication_id)
            for m in resolver.merges])
    conn.executemany(
        "INSERT INTO agreements (agreement_id, agency_id, model, signed, signed_first, first_seen,"
        " last_seen, status, moa_url, addendum_url, moa_first_linked, succeeded_by)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [
            (a.agreement_id, a.agency_id, a.model, _iso(a.signed), _iso(a.signed_first),
             a.first_seen, a.last_seen, a.status, a.moa_url, a.addendum_url, a.moa_first_linked,
             a.succeeded_by) for a in derived.agreements.values()])
    conn.executemany(
        "INSERT INTO pending_entries (pending_id, agency_id, model, first_seen, last_seen, status,"
        " agreement_id, days_pending) VALUES (?,?,?,?,?,?,?,?)", [
            (p.pending_id, p.agency_id, p.model, p.first_seen, p.last_seen, p.status,
             p.agreement_id, p.days_pending) for p in derived.pending.values()])
    conn.executemany(
        "INSERT INTO pending_departures (pending_id, publication_id, before_pub, date)"
        " VALUES (?,?,?,?)", [
            (d.pending_id, d.publication_id, d.before_pub, _iso(d.date)) for d in derived.departures])
    conn.executemany(
        "INSERT INTO row_identities (publication_id, row_number, agency_id, agreement_id,"
        " pending_id) VALUES (?,?,?,?,?)", identities)
    conn.executemany(
        "INSERT INTO events (event_id, seq, kind, list, date, state, agency_id, agreement_id,"
        " pending_id, model, before_pub, after_pub, details) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", [
            (e.event_id, seq, e.kind, e.list_name, _iso(e.date), e.state, e.agency_id,
             e.agreement_id, e.pending_id, e.model, e.before_pub, e.after_pub,
             json.dumps(e.details, sort_keys=True)) for seq, e in enumerate(derived.events, 1)])


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
