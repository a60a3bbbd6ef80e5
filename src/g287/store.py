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

from g287.errors import G287Error

SCHEMA_VERSION = "1"


class StoreError(G287Error):
    """The database cannot be used (wrong schema version, not a g287 history)."""


def schema_sql() -> str:
    """Return the full DDL (one ``schema.sql``, shipped as package data)."""
    return resources.files("g287").joinpath("schema.sql").read_text(encoding="utf-8")


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (and if writable, create or migrate) the history database."""
    path = Path(path)
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(schema_sql())
        found = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if found is None:
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            conn.commit()
        elif found[0] != SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"schema version {found[0]}, this g287 needs {SCHEMA_VERSION}")
    return conn


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
