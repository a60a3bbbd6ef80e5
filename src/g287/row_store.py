"""Rows stored by change: each distinct row version once, each printed row as integers.

ICE reprints almost every row unchanged from one publication to the next (a ten-year
history prints ~350,000 rows of ~11,000 distinct versions), so a row's raw cells and
readings are stored once, in ``row_versions``, and a publication records only which
version each worksheet row prints (``publication_rows``: publication, row number,
version, identity). The views ``sheet_rows``, ``row_issues`` and ``row_identities``
give the per-row tables back for any SQL reader.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from g287.history import IdentityRow, RowIn
from g287.identity.resolve import RowKey
from g287.read import SheetRead, SheetRow

_CHUNK = 500   # SQLite's bound-parameter limit is far above; keeps statements small


@dataclass(frozen=True, slots=True)
class StoredRows:
    """A publication's rows and issues in the shape of the ``sheet_rows`` and ``row_issues``
    views, to compare a re-read with what was stored."""

    rows: list[tuple]
    issues: list[tuple]


@dataclass(slots=True)
class RowWriter:
    """Stores rows by version within one transaction, remembering the versions it has met
    (a full build meets each distinct row hundreds of times)."""

    conn: sqlite3.Connection
    versions: dict[tuple, int] = field(default_factory=dict)
    printed: PrintedRows = field(init=False)

    def __post_init__(self) -> None:
        self.printed = PrintedRows()

    def store(self, pub_id: str, sheet: SheetRead) -> StoredRows:
        """Store one publication's rows and sheet-level issues; the fold will find them in
        :attr:`printed`."""
        pub = publication_key(self.conn, pub_id)
        values = [_version_values(r) for r in sheet.rows]
        self._ensure(values)
        version_ids = [self.versions[v] for v in values]
        for row, version_id in zip(sheet.rows, version_ids, strict=True):
            if version_id not in self.printed.versions:
                self.printed.versions[version_id] = (
                    RowKey(row.state, row.agency_name, row.name_key, row.agency_type, row.county,
                           row.model, row.signed), row.moa_url, row.addendum_url)
        numbers = array("l", (r.row_number for r in sheet.rows))
        self.printed.rows[pub_id] = (numbers, array("l", version_ids))
        self.conn.executemany(
            "INSERT INTO publication_rows (pub, row_number, version_id) VALUES (?, ?, ?)",
            [(pub, number, version_id) for number, version_id in zip(numbers, version_ids, strict=True)])
        sheet_issues = [(pub_id, i.column, i.code, i.raw) for i in sheet.issues]
        self.conn.executemany("INSERT INTO sheet_issues (publication_id, column_name, code, raw)"
                              " VALUES (?, ?, ?, ?)", sheet_issues)
        rows = [(pub_id, r.row_number, *v[:12]) for r, v in zip(sheet.rows, values, strict=True)]
        issues = [(pub_id, None, *i[1:]) for i in sheet_issues]
        issues += [(pub_id, r.row_number, i.column, i.code, i.raw) for r in sheet.rows for i in r.issues]
        return StoredRows(rows, issues)

    def _ensure(self, values: list[tuple]) -> None:
        """Give every version a version_id: known here, found stored, or inserted."""
        missing = {v: _digest(v) for v in values if v not in self.versions}
        if not missing:
            return
        by_digest = {d: v for v, d in missing.items()}
        digests = list(by_digest)
        for start in range(0, len(digests), _CHUNK):
            chunk = digests[start:start + _CHUNK]
            for r in self.conn.execute(
                    f"SELECT digest, version_id FROM row_versions WHERE digest IN ({','.join('?' * len(chunk))})",
                    chunk):
                self.versions[by_digest.pop(r["digest"])] = r["version_id"]
        for digest, value in by_digest.items():
            version_id = self.conn.execute(
                "INSERT INTO row_versions (digest, raw, state, agency_name, name_key, agency_type,"
                " county, model, signed, moa_status, moa_url, addendum_status, addendum_url)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (digest, *value[:12])).lastrowid
            self.conn.executemany(
                "INSERT INTO version_issues (version_id, column_name, code, raw) VALUES (?, ?, ?, ?)",
                [(version_id, *issue) for issue in value[12]])
            self.versions[value] = version_id


_FoldVersion = tuple[RowKey, str | None, str | None]   # a version as the fold reads it


@dataclass(slots=True)
class PrintedRows(Mapping[str, list[RowIn]]):
    """Publications' rows as the fold reads them, kept as (row number, version) arrays and
    made into :class:`RowIn` lists only when asked for: a long history's rows never sit in
    memory all at once."""

    rows: dict[str, tuple[array, array]] = field(default_factory=dict)
    versions: dict[int, _FoldVersion] = field(default_factory=dict)

    def __getitem__(self, pub_id: str) -> list[RowIn]:
        numbers, version_ids = self.rows[pub_id]
        return [RowIn(pub_id, number, *self.versions[v]) for number, v in zip(numbers, version_ids, strict=True)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _version_values(row: SheetRow) -> tuple:
    return (row.raw_json, row.state, row.agency_name, row.name_key, row.agency_type, row.county,
            row.model, row.signed.isoformat() if row.signed else None, row.moa_status, row.moa_url,
            row.addendum_status, row.addendum_url,
            tuple((i.column, i.code, i.raw) for i in row.issues))


def _digest(value: tuple) -> bytes:
    return hashlib.blake2b(repr(value).encode("utf-8"), digest_size=16).digest()


def publication_key(conn: sqlite3.Connection, pub_id: str) -> int:
    """The small number of a publication, given on first use."""
    conn.execute("INSERT OR IGNORE INTO publication_keys (publication_id) VALUES (?)", (pub_id,))
    return conn.execute("SELECT pub FROM publication_keys WHERE publication_id = ?",
                        (pub_id,)).fetchone()["pub"]


def clear_rows(conn: sqlite3.Connection) -> None:
    """Forget every stored row, version and issue (a rebuild stores them again)."""
    for table in ("publication_rows", "version_issues", "row_versions", "sheet_issues",
                  "identity_listings", "identities"):
        conn.execute(f"DELETE FROM {table}")


def load_rows(conn: sqlite3.Connection, publication_ids: Iterable[str] | None) -> PrintedRows:
    """The stored rows of some publications (all when None), in row order, as the fold reads
    them; each version is read once."""
    keys = {r["publication_id"]: r["pub"] for r in conn.execute(
        "SELECT pub, publication_id FROM publication_keys")}
    wanted = sorted(keys) if publication_ids is None else [p for p in publication_ids if p in keys]
    printed = PrintedRows()
    for pub_id in wanted:
        numbers, version_ids = array("l"), array("l")
        for r in conn.execute("SELECT row_number, version_id FROM publication_rows WHERE pub = ?"
                              " ORDER BY row_number", (keys[pub_id],)):
            numbers.append(r["row_number"])
            version_ids.append(r["version_id"])
        printed.rows[pub_id] = (numbers, version_ids)
    needed = {v for _, version_ids in printed.rows.values() for v in version_ids}
    for v in conn.execute("SELECT version_id, state, agency_name, name_key, agency_type, county, model,"
                          " signed, moa_url, addendum_url FROM row_versions"):
        if v["version_id"] in needed:
            printed.versions[v["version_id"]] = (
                RowKey(v["state"], v["agency_name"], v["name_key"], v["agency_type"], v["county"],
                       v["model"], dt.date.fromisoformat(v["signed"]) if v["signed"] else None),
                v["moa_url"], v["addendum_url"])
    return printed


def merged(*parts: PrintedRows) -> PrintedRows:
    """One view of several sets of printed rows (later parts win)."""
    together = PrintedRows()
    for part in parts:
        together.rows |= part.rows
        together.versions |= part.versions
    return together


@dataclass(slots=True)
class IdentityWriter:
    """Records which agency, agreement and pending entry each printed row belongs to, and
    counts the publications each identity is printed on (``identity_listings``: rows by
    identity without an index over every printed row). Each publication is written once;
    the known identities are read once per writer, not once per publication."""

    conn: sqlite3.Connection
    known: dict[tuple, int] = field(init=False)
    keys: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.known = {(r["agency_id"], r["agreement_id"], r["pending_id"]): r["identity_id"]
                      for r in self.conn.execute(
                          "SELECT identity_id, agency_id, agreement_id, pending_id FROM identities")}
        self.keys = {r["publication_id"]: r["pub"] for r in self.conn.execute(
            "SELECT pub, publication_id FROM publication_keys")}

    def write(self, identities: list[IdentityRow]) -> None:
        updates = []
        listed: set[tuple[int, int]] = set()
        for pub_id, row_number, *identity in identities:
            triple = tuple(identity)
            identity_id = self.known.get(triple)
            if identity_id is None:
                identity_id = self.known[triple] = self.conn.execute(
                    "INSERT INTO identities (agency_id, agreement_id, pending_id) VALUES (?, ?, ?)",
                    triple).lastrowid
            pub = self.keys[pub_id]
            updates.append((identity_id, pub, row_number))
            listed.add((identity_id, pub))
        self.conn.executemany(
            "UPDATE publication_rows SET identity_id = ? WHERE pub = ? AND row_number = ?", updates)
        counts: dict[int, int] = {}
        for identity_id, _ in listed:
            counts[identity_id] = counts.get(identity_id, 0) + 1
        self.conn.executemany(
            "INSERT INTO identity_listings (identity_id, publications) VALUES (?, ?)"
            " ON CONFLICT (identity_id) DO UPDATE SET"
            " publications = publications + excluded.publications", counts.items())


def clear_identities(conn: sqlite3.Connection) -> None:
    """Forget every row's identity (a replay of the fold gives them anew)."""
    conn.execute("UPDATE publication_rows SET identity_id = NULL")
    conn.execute("DELETE FROM identity_listings")
    conn.execute("DELETE FROM identities")


def migrate_from_per_row(conn: sqlite3.Connection) -> None:
    """Turn a schema-1 history (every row of every publication stored whole, in the tables
    ``sheet_rows``, ``row_issues`` and ``row_identities``) into rows stored by version,
    keeping every value; the caller drops the old tables and creates the views."""
    issues: dict[tuple[str, int | None], list[tuple]] = {}
    for r in conn.execute("SELECT publication_id, row_number, column_name, code, raw FROM row_issues"
                          " ORDER BY rowid"):
        issues.setdefault((r["publication_id"], r["row_number"]), []).append(
            (r["column_name"], r["code"], r["raw"]))
    writer = RowWriter(conn)
    for (pub_id, row_number), found in issues.items():
        if row_number is None:
            conn.executemany("INSERT INTO sheet_issues (publication_id, column_name, code, raw)"
                             " VALUES (?, ?, ?, ?)", [(pub_id, *i) for i in found])
    identities: list[IdentityRow] = [tuple(r) for r in conn.execute(
        "SELECT publication_id, row_number, agency_id, agreement_id, pending_id FROM row_identities")]
    by_pub: dict[str, list[tuple[int, tuple]]] = {}
    for r in conn.execute(
            "SELECT publication_id, row_number, raw, state, agency_name, name_key, agency_type, county,"
            " model, signed, moa_status, moa_url, addendum_status, addendum_url FROM sheet_rows"
            " ORDER BY publication_id, row_number"):
        values = (*tuple(r)[2:], tuple(issues.get((r["publication_id"], r["row_number"]), ())))
        by_pub.setdefault(r["publication_id"], []).append((r["row_number"], values))
    for pub_id, printed in by_pub.items():
        pub = publication_key(conn, pub_id)
        writer._ensure([values for _, values in printed])
        conn.executemany("INSERT INTO publication_rows (pub, row_number, version_id) VALUES (?, ?, ?)",
                         [(pub, number, writer.versions[values]) for number, values in printed])
    IdentityWriter(conn).write(identities)
