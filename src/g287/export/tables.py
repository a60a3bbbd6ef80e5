"""Build the exported tables from the history, as known at the end of a day.

With ``as_of``, the fold is replayed over the publications dated on or before that
day only (``g287.history.derive``), so statuses and events are what the archive
showed then, not what later sheets revealed.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator

from g287 import ingest, query
from g287.analytics import series
from g287.export.dictionary import TABLES
from g287.history import Derived, derive

Row = dict[str, object]


def derived_as_of(conn: sqlite3.Connection, as_of: dt.date | None) -> tuple[Derived, list[query.Publication]]:
    """Replay the fold over the publications dated on or before ``as_of`` (all if None)."""
    fold_input = [p for p in ingest.dated_publications(conn) if as_of is None or p.label_date <= as_of]
    ids = {p.id for p in fold_input}
    derived, _ = derive(fold_input, ingest.load_rows(conn, sorted(ids)), ingest.stored_resolver(conn))
    return derived, [p for p in query.publications(conn) if p.id in ids]


def build_tables(conn: sqlite3.Connection, as_of: dt.date | None = None,
                 names: list[str] | None = None) -> dict[str, list[Row]]:
    """Every requested table as rows, in a stable order (by key)."""
    unknown = set(names or []) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(sorted(unknown))}; use {', '.join(TABLES)}")
    derived, pubs = derived_as_of(conn, as_of)
    by_id = {p.id: p for p in pubs}
    builders = {
        "publications": lambda: _publications(pubs),
        "agencies": lambda: _agencies(derived, by_id),
        "agreements": lambda: _agreements(derived, by_id),
        "pending_entries": lambda: _pending(derived, by_id),
        "events": lambda: _events(derived, by_id),
        "daily_series": lambda: _daily(conn, as_of),
        "publication_rows": lambda: list(_publication_rows(conn, by_id)),
    }
    tables = {}
    for name in names or list(TABLES):
        table = TABLES[name]
        rows = builders[name]()
        rows.sort(key=lambda r: tuple(str(r[k]) if not isinstance(r[k], int) else f"{r[k]:012d}"
                                      for k in table.key))
        tables[name] = [{c: row.get(c) for c in table.column_names} for row in rows]
    return tables


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _publications(pubs: list[query.Publication]) -> list[Row]:
    return [{"publication_id": p.id, "list": p.list, "file": p.file,
             "label_date": p.label if p.dated_by == "label" else None, "label_ampm": p.label_ampm,
             "date": p.label, "sequence": p.seq, "rows": p.rows, "captures": p.captures,
             "first_captured_utc": p.first_captured, "sha256": p.sha256} for p in pubs]


def _agencies(derived: Derived, pubs: dict[str, query.Publication]) -> list[Row]:
    spellings: dict[str, list[str]] = defaultdict(list)
    for name in derived.resolver.names.values():
        spellings[name.agency_id].append(name.spelling)
    active = {a.agency_id for a in derived.agreements.values() if a.status == "active"}
    pending = {p.agency_id for p in derived.pending.values() if p.status == "pending"}
    return [{"agency_id": a.agency_id, "state": a.state, "name": a.name, "agency_type": a.agency_type,
             "county": a.county, "spellings": " | ".join(sorted(spellings[a.agency_id])),
             "standing": "participating" if a.agency_id in active else
             ("pending" if a.agency_id in pending else "former"),
             "first_date": pubs[a.first_seen].label, "last_date": pubs[a.last_seen].label}
            for a in derived.resolver.agencies.values()]


def _agreements(derived: Derived, pubs: dict[str, query.Publication]) -> list[Row]:
    agencies = derived.resolver.agencies
    event_counts = Counter(e.agreement_id for e in derived.events if e.agreement_id)
    return [{"agreement_id": a.agreement_id, "agency_id": a.agency_id,
             "agency_name": agencies[a.agency_id].name, "state": agencies[a.agency_id].state,
             "model": a.model, "signed": _iso(a.signed), "signed_first": _iso(a.signed_first),
             "status": a.status, "first_publication": pubs[a.first_seen].file,
             "first_date": pubs[a.first_seen].label, "last_publication": pubs[a.last_seen].file,
             "last_date": pubs[a.last_seen].label, "moa_url": a.moa_url, "addendum_url": a.addendum_url,
             "moa_first_linked_date": pubs[a.moa_first_linked].label if a.moa_first_linked else None,
             "succeeded_by": a.succeeded_by, "events": event_counts[a.agreement_id]}
            for a in derived.agreements.values()]


def _pending(derived: Derived, pubs: dict[str, query.Publication]) -> list[Row]:
    agencies = derived.resolver.agencies
    return [{"pending_id": p.pending_id, "agency_id": p.agency_id,
             "agency_name": agencies[p.agency_id].name, "state": agencies[p.agency_id].state,
             "model": p.model, "status": p.status, "first_date": pubs[p.first_seen].label,
             "last_date": pubs[p.last_seen].label, "agreement_id": p.agreement_id,
             "days_pending": p.days_pending} for p in derived.pending.values()]


def _events(derived: Derived, pubs: dict[str, query.Publication]) -> list[Row]:
    agencies = derived.resolver.agencies
    return [{"event_id": e.event_id, "sequence": seq, "date": _iso(e.date), "kind": e.kind,
             "list": e.list_name, "state": e.state, "agency_id": e.agency_id,
             "agency_name": agencies[e.agency_id].name, "model": e.model,
             "agreement_id": e.agreement_id, "pending_id": e.pending_id,
             "before_publication": pubs[e.before_pub].file if e.before_pub else None,
             "after_publication": pubs[e.after_pub].file,
             "details": json.dumps(e.details, sort_keys=True, ensure_ascii=False)}
            for seq, e in enumerate(derived.events, 1)]


def _daily(conn: sqlite3.Connection, as_of: dt.date | None) -> list[Row]:
    return [{"date": p.date, "agreements": p.agreements, "agencies": p.agencies, "states": p.states,
             "pending_entries": p.pending_entries, "jem": p.by_model.get("JEM"),
             "wso": p.by_model.get("WSO"), "tfm": p.by_model.get("TFM"),
             "participating_file": p.participating_file, "pending_file": p.pending_file}
            for p in series.daily_series(conn, end=as_of)]


def _publication_rows(conn: sqlite3.Connection, pubs: dict[str, query.Publication]) -> Iterator[Row]:
    for r in conn.execute(
            "SELECT r.publication_id, r.row_number, r.raw, r.state, r.model, r.signed, r.moa_url,"
            " i.agency_id, i.agreement_id, i.pending_id FROM sheet_rows r"
            " LEFT JOIN row_identities i USING (publication_id, row_number)"):
        if r[0] not in pubs:
            continue
        raw = json.loads(r[2])
        yield {"publication_id": r[0], "file": pubs[r[0]].file, "row_number": r[1],
               "state_printed": raw.get("STATE"), "agency_printed": raw.get("AGENCY"),
               "type_printed": raw.get("TYPE"), "county_printed": raw.get("COUNTY"),
               "support_printed": raw.get("SUPPORT"), "signed_printed": raw.get("SIGNED"),
               "moa_printed": raw.get("MOA"), "state": r[3], "model": r[4], "signed": r[5],
               "moa_url": r[6], "agency_id": r[7], "agreement_id": r[8], "pending_id": r[9]}
