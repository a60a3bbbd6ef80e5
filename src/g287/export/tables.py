"""Build the exported tables from the history, as known at the end of a day.

An export never reads the stored derived tables: it replays the history fold
(``g287.history.derive``) over the publications in its cut, so that with ``as_of``
statuses, withdrawals, identities and events are what the archive showed then, not
what later sheets revealed. The cut keeps the publications dated (ICE's label,
else the first capture) on or before ``as_of``; without it, every publication.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from g287 import fold_store, query
from g287.analytics import series
from g287.export.dictionary import TABLES, ExportError, Table, check_tables
from g287.history import Derived, IdentityRow, derive

Row = dict[str, Any]

# Raw keys g287's reader gives the columns it knows (g287.read); any other header is kept
# in ``other_printed`` so that no printed cell is lost.
_KNOWN_RAW = ("STATE", "AGENCY", "TYPE", "COUNTY", "SUPPORT", "SIGNED", "MOA", "MOA_HYPERLINK",
              "ADDENDUM", "ADDENDUM_HYPERLINK")


@dataclass(frozen=True, slots=True)
class Cut:
    """What an export shows: the publications in the cut and the history derived from them."""

    as_of: dt.date | None
    publications: dict[str, query.Publication]
    derived: Derived
    identities: dict[tuple[str, int], IdentityRow]


def cut(conn: sqlite3.Connection, as_of: dt.date | None = None) -> Cut:
    """Replay the fold over the publications dated on or before ``as_of`` (all if None)."""
    fold_input = [p for p in fold_store.dated_publications(conn)
                  if as_of is None or (p.label_date is not None and p.label_date <= as_of)]
    if not fold_input:
        raise ExportError("the history holds no publication" + (
            f" dated on or before {as_of.isoformat()}" if as_of else " yet; run `g287 ingest`"))
    ids = {p.id for p in fold_input}
    derived, identities = derive(fold_input, fold_store.load_rows(conn, sorted(ids)),
                                 fold_store.stored_resolver(conn))
    pubs = {p.id: p for p in query.publications(conn) if p.id in ids}
    return Cut(as_of, pubs, derived, {(i[0], i[1]): i for i in identities})


def build_tables(conn: sqlite3.Connection, as_of: dt.date | None = None,
                 names: list[str] | None = None) -> dict[str, list[Row]]:
    """Every requested table (all by default) as rows in the dictionary's order."""
    wanted = check_tables(names)
    shown = cut(conn, as_of)
    builders: dict[str, Callable[[], list[Row]]] = {
        "publications": lambda: _publications(shown),
        "agencies": lambda: _agencies(shown),
        "agreements": lambda: _agreements(shown),
        "pending_entries": lambda: _pending(shown),
        "events": lambda: _events(shown),
        "daily_series": lambda: _daily(conn, as_of),
        "publication_rows": lambda: _publication_rows(conn, shown),
    }
    return {name: ordered(TABLES[name], builders[name]()) for name in wanted}


def ordered(table: Table, rows: list[Row]) -> list[Row]:
    """Rows with exactly the table's columns, sorted by its order (empty values last)."""
    def key(row: Row) -> tuple:
        return tuple((row[c] is None, row[c] if row[c] is not None else "") for c in table.order)
    return [{c: row.get(c) for c in table.column_names} for row in sorted(rows, key=key)]


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _publications(shown: Cut) -> list[Row]:
    items: dict[str, set[str]] = defaultdict(set)
    for pub_id, _, _, agreement_id, pending_id in shown.identities.values():
        item = agreement_id or pending_id
        if item:
            items[pub_id].add(item)
    return [{"publication_id": p.id, "list": p.list, "file": p.file,
             "label_date": p.label if p.dated_by == "label" else None, "label_ampm": p.label_ampm,
             "date": p.label, "dated_by": p.dated_by, "sequence": p.seq, "rows": p.rows,
             "items": len(items[p.id]), "captures": p.captures,
             "first_captured_utc": p.first_captured, "xlsx_modified_utc": p.xlsx_modified,
             "sha256": p.sha256, "source_kind": p.source_kind, "caption": p.caption,
             "caption_count": p.caption_count, "transcription_file": p.transcription_file,
             "transcription_sha256": p.transcription_sha256} for p in shown.publications.values()]


def _agencies(shown: Cut) -> list[Row]:
    derived, pubs = shown.derived, shown.publications
    spellings: dict[str, set[str]] = defaultdict(set)
    for name in derived.resolver.names.values():
        spellings[name.agency_id].add(name.spelling)
    active = {a.agency_id for a in derived.agreements.values() if a.status == "active"}
    pending = {p.agency_id for p in derived.pending.values() if p.status == "pending"}
    return [{"agency_id": a.agency_id, "state": a.state, "name": a.name, "agency_type": a.agency_type,
             "county": a.county, "spellings": " | ".join(sorted(spellings[a.agency_id])),
             "standing": "participating" if a.agency_id in active else
             ("pending" if a.agency_id in pending else "former"),
             "first_date": pubs[a.first_seen].label, "last_date": pubs[a.last_seen].label}
            for a in derived.resolver.agencies.values()]


def _span(pubs: dict[str, query.Publication], first: str, last: str) -> Row:
    return {f"{end}_{field}": value
            for end, pub in (("first", pubs[first]), ("last", pubs[last]))
            for field, value in (("publication_id", pub.id), ("file", pub.file),
                                 ("date", pub.label), ("ampm", pub.label_ampm))}


def _agency(shown: Cut, agency_id: str) -> Row:
    agency = shown.derived.resolver.agencies[agency_id]
    return {"agency_id": agency_id, "agency_name": agency.name, "state": agency.state}


def _agreements(shown: Cut) -> list[Row]:
    pubs = shown.publications
    event_counts = Counter(e.agreement_id for e in shown.derived.events if e.agreement_id)
    listed: dict[str, set[str]] = defaultdict(set)
    for pub_id, _, _, agreement_id, _ in shown.identities.values():
        if agreement_id:
            listed[agreement_id].add(pub_id)
    return [{"agreement_id": a.agreement_id, **_agency(shown, a.agency_id), "model": a.model,
             "signed": _iso(a.signed), "signed_first": _iso(a.signed_first), "status": a.status,
             **_span(pubs, a.first_seen, a.last_seen),
             "first_published_date": _first_published(pubs, a.first_seen),
             "publications_listed": len(listed[a.agreement_id]),
             "moa_url": a.moa_url, "addendum_url": a.addendum_url,
             "moa_first_linked_date": pubs[a.moa_first_linked].label if a.moa_first_linked else None,
             "succeeded_by": a.succeeded_by, "events": event_counts[a.agreement_id]}
            for a in shown.derived.agreements.values()]


def _first_published(pubs: dict[str, query.Publication], first_seen: str) -> str | None:
    ordered = sorted(pubs.values(), key=lambda p: (p.list, p.seq))
    return query.first_published(ordered, pubs[first_seen])


def _pending(shown: Cut) -> list[Row]:
    return [{"pending_id": p.pending_id, **_agency(shown, p.agency_id), "model": p.model,
             "status": p.status, **_span(shown.publications, p.first_seen, p.last_seen),
             "agreement_id": p.agreement_id, "days_pending": p.days_pending}
            for p in shown.derived.pending.values()]


def _events(shown: Cut) -> list[Row]:
    pubs = shown.publications
    return [{"event_id": e.event_id, "sequence": seq, "date": _iso(e.date),
             "date_from": (e.details.get("between") or [None])[0], "kind": e.kind,
             "list": e.list_name, **_agency(shown, e.agency_id), "model": e.model,
             "agreement_id": e.agreement_id, "pending_id": e.pending_id,
             "before_publication_id": e.before_pub,
             "before_file": pubs[e.before_pub].file if e.before_pub else None,
             "after_publication_id": e.after_pub, "after_file": pubs[e.after_pub].file,
             "status": e.status,
             "details": json.dumps(e.details, sort_keys=True, ensure_ascii=False)}
            for seq, e in enumerate(shown.derived.events, 1)]


def _daily(conn: sqlite3.Connection, as_of: dt.date | None) -> list[Row]:
    """The daily series of ``g287.analytics.series`` (one computation for every client),
    cut at ``as_of``. Its counts rest on the stored row identities, which equal the cut's:
    the fold is sequential, so a later sheet never changes an earlier row's identity."""
    rows: list[Row] = []
    for p in series.daily_series(conn, end=as_of):
        listed = p.agreements is not None
        rows.append({"date": p.date, "agreements": p.agreements, "agencies": p.agencies,
                     "states": p.states, "pending_entries": p.pending_entries,
                     **{m.lower(): p.by_model.get(m, 0) if listed else None for m in ("JEM", "WSO", "TFM")},
                     "participating_file": p.participating_file, "pending_file": p.pending_file,
                     "in_gap": p.in_gap})
    return rows


def _printed(value: object) -> str | None:
    """A raw cell as text; an empty cell is no value."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _row_issues(conn: sqlite3.Connection) -> dict[tuple[str, int], str]:
    codes: dict[tuple[str, int], set[str]] = defaultdict(set)
    for pub_id, number, code in conn.execute(
            "SELECT publication_id, row_number, code FROM row_issues WHERE row_number IS NOT NULL"):
        codes[(pub_id, number)].add(code)
    return {k: " | ".join(sorted(v)) for k, v in codes.items()}


def _publication_rows(conn: sqlite3.Connection, shown: Cut) -> list[Row]:
    issues = _row_issues(conn)
    rows: list[Row] = []
    for r in conn.execute(
            "SELECT publication_id, row_number, raw, state, agency_name, agency_type, county, model,"
            " signed, moa_status, moa_url, addendum_url FROM sheet_rows"):
        pub = shown.publications.get(r[0])
        if pub is None:
            continue
        raw = json.loads(r[2])
        other = {k: _printed(v) for k, v in sorted(raw.items()) if k not in _KNOWN_RAW and _printed(v)}
        _, _, agency_id, agreement_id, pending_id = shown.identities.get((r[0], r[1]), (None,) * 5)
        rows.append({
            "publication_id": pub.id, "list": pub.list, "file": pub.file, "date": pub.label,
            "row_number": r[1], "state_printed": _printed(raw.get("STATE")),
            "agency_printed": _printed(raw.get("AGENCY")), "type_printed": _printed(raw.get("TYPE")),
            "county_printed": _printed(raw.get("COUNTY")),
            "support_printed": _printed(raw.get("SUPPORT")),
            "signed_printed": _printed(raw.get("SIGNED")), "moa_printed": _printed(raw.get("MOA")),
            "moa_hyperlink": _printed(raw.get("MOA_HYPERLINK")),
            "addendum_printed": _printed(raw.get("ADDENDUM")),
            "addendum_hyperlink": _printed(raw.get("ADDENDUM_HYPERLINK")),
            "other_printed": json.dumps(other, ensure_ascii=False) if other else None,
            "state": r[3], "agency_name": r[4], "agency_type": r[5], "county": r[6], "model": r[7],
            "signed": r[8], "moa_status": r[9], "moa_url": r[10], "addendum_url": r[11],
            "issues": issues.get((r[0], r[1])), "agency_id": agency_id,
            "agreement_id": agreement_id, "pending_id": pending_id})
    return rows
