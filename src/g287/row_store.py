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
from collections.abc import Iterable
from dataclasses import dataclass, field

from g287.history import IdentityRow, RowIn
from g287.read import SheetRead, SheetRow
from g287.resolve import RowKey

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

    def store(self, pub_id: str, sheet: SheetRead) -> StoredRows:
        """Store one publication's rows and sheet-level issues."""
        pub = publication_key(self.conn, pub_id)
        values = [_version_values(r) for r in sheet.rows]
        self._ensure(values)
        self.conn.executemany(
            "INSERT INTO publication_rows (pub, row_number, version_id) VALUES (?, ?, ?)",
            [(pub, r.row_number, self.versions[v]) for r, v in zip(sheet.rows, values, strict=True)])
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
    for table in ("publication_rows", "version_issues", "row_versions", "sheet_issues", "identities"):
        conn.execute(f"DELETE FROM {table}")


def load_rows(conn: sqlite3.Connection, publication_ids: Iterable[str] | None) -> dict[str, list[RowIn]]:
    """The stored rows of some publications (all when None), in row order, as the fold reads
    them; each version is read once."""
    keys = {r["pub"]: r["publication_id"] for r in conn.execute(
        "SELECT pub, publication_id FROM publication_keys")}
    wanted = set(keys.values()) if publication_ids is None else set(publication_ids)
    versions: dict[int, tuple[RowKey, str | None, str | None]] = {}
    rows: dict[str, list[RowIn]] = {p: [] for p in sorted(wanted) if p in keys.values()}
    for r in conn.execute("SELECT pub, row_number, version_id FROM publication_rows ORDER BY pub, row_number"):
        pub_id = keys[r["pub"]]
        if pub_id not in wanted:
            continue
        version = versions.get(r["version_id"])
        if version is None:
            version = versions[r["version_id"]] = _version(conn, r["version_id"])
        rows[pub_id].append(RowIn(pub_id, r["row_number"], *version))
    return rows


def _version(conn: sqlite3.Connection, version_id: int) -> tuple[RowKey, str | None, str | None]:
    v = conn.execute("SELECT state, agency_name, name_key, agency_type, county, model, signed,"
                     " moa_url, addendum_url FROM row_versions WHERE version_id = ?",
                     (version_id,)).fetchone()
    key = RowKey(v["state"], v["agency_name"], v["name_key"], v["agency_type"], v["county"], v["model"],
                 dt.date.fromisoformat(v["signed"]) if v["signed"] else None)
    return key, v["moa_url"], v["addendum_url"]


def write_identities(conn: sqlite3.Connection, identities: list[IdentityRow], *, replace: bool) -> None:
    """Record which agency, agreement and pending entry each printed row belongs to; with
    ``replace``, every row's identity is given anew."""
    if replace:
        conn.execute("UPDATE publication_rows SET identity_id = NULL")
        conn.execute("DELETE FROM identities")
    known = {(r["agency_id"], r["agreement_id"], r["pending_id"]): r["identity_id"] for r in conn.execute(
        "SELECT identity_id, agency_id, agreement_id, pending_id FROM identities")}
    keys = {r["publication_id"]: r["pub"] for r in conn.execute(
        "SELECT pub, publication_id FROM publication_keys")}
    updates = []
    for pub_id, row_number, *identity in identities:
        triple = tuple(identity)
        identity_id = known.get(triple)
        if identity_id is None:
            identity_id = known[triple] = conn.execute(
                "INSERT INTO identities (agency_id, agreement_id, pending_id) VALUES (?, ?, ?)",
                triple).lastrowid
        updates.append((identity_id, keys[pub_id], row_number))
    conn.executemany("UPDATE publication_rows SET identity_id = ? WHERE pub = ? AND row_number = ?",
                     updates)
