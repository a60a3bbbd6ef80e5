"""The history store: one SQLite database, WAL mode, schema in ``schema.sql``.

SQLite keeps the history in one file that Datasette and any SQL tool can open;
WAL lets readers (the web server) keep answering while an ingest writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from g287.errors import G287Error

SCHEMA_VERSION = "3"
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another before "database is locked"


class StoreError(G287Error):
    """The database cannot be used (wrong schema version, not a g287 history)."""


def schema_sql() -> str:
    """Return the full DDL (one ``schema.sql``, shipped as package data)."""
    return resources.files("g287").joinpath("schema.sql").read_text(encoding="utf-8")


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and if writable, create or migrate) the history database."""
    path = Path(path)
    if readonly:
        conn = _open_readonly(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        _check_readable_version(conn, path)
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(schema_sql())
        found = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if found is None:
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            conn.commit()
        elif found[0] == "1":
            _migrate_from_1(conn)
        elif found[0] == "2":
            with transaction(conn):
                _migrate_from_2(conn)
        elif found[0] != SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"schema version {found[0]}, this g287 needs {SCHEMA_VERSION}")
    return conn


def _check_readable_version(conn: sqlite3.Connection, path: Path) -> None:
    """A read-only connection cannot move an older history to this schema: say how to."""
    try:
        found = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError:
        return  # not (yet) a g287 history: the first query says what is wrong
    if found is not None and found[0] != SCHEMA_VERSION:
        conn.close()
        raise StoreError(f"written by another version of g287 (schema {found[0]}, this one reads "
                         f"{SCHEMA_VERSION}); run `g287 rebuild --db {path}` once to upgrade it")


def _migrate_from_1(conn: sqlite3.Connection) -> None:
    """Schema 1 stored every printed row whole; schema 2 stores each row version once
    (``g287.row_store``). One transaction: the old tables' values move, then they go."""
    from g287.row_store import migrate_from_per_row

    with transaction(conn):
        migrate_from_per_row(conn)
        for table in ("sheet_rows", "row_issues", "row_identities"):
            conn.execute(f"DROP TABLE {table}")
        _migrate_from_2(conn)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
    conn.executescript(schema_sql())


def _migrate_from_2(conn: sqlite3.Connection) -> None:
    """Schema 3 gives departures a status column (provisional | confirmed | retracted);
    it is filled when the history is next folded (the fold version changed with it)."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    if "status" not in columns:
        conn.execute("ALTER TABLE events ADD COLUMN status TEXT")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection, also where nothing may be written (a read-only file system
    or file): WAL readers need to create ``-shm``; when they cannot, the file is opened
    ``immutable`` (no writer can be at work on such a file anyway)."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False)
    return conn


def check_integrity(conn: sqlite3.Connection) -> None:
    """``PRAGMA quick_check``: a damaged database says so instead of answering wrongly."""
    problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise StoreError(f"the history database is damaged ({' '.join(problems[0].split())}); restore it from a copy "
                         "or rebuild it with `g287 ingest` from the archive")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run a block as one write transaction: all of it is stored, or none of it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
