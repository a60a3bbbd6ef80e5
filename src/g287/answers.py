"""Answers computed at ingest: what pages, the API and ``g287 status`` need first, stored
with the history so that a fresh process answers at once instead of reading every row.

Two kinds, both written in the ingest's transaction:

* per-publication figures (``publication_figures``): the counts one publication prints.
  They never change once the publication is stored, so an ingest computes them for the
  publications it added (for all of them when the fold was replayed from the start);
* named answers (``answers``): registered in :data:`ANSWERS` as ``name -> "module:function"``
  (a function of the connection returning JSON-able data), recomputed by every ingest.
  Readers call :func:`read`, which returns the stored value while the history is in the
  state it was computed for, else computes it (a read-only reader never writes).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from importlib import import_module
from typing import Any

# name -> "module:function" computing it from a connection; other stages add their own.
ANSWERS: dict[str, str] = {
    "status": "g287.query:latest_status",
}


def state(conn: sqlite3.Connection) -> str:
    """A key that changes whenever the history does (publications, captures, derivation)."""
    row = conn.execute(
        "SELECT COUNT(*), MAX(first_captured), MAX(seq), (SELECT COUNT(*) FROM captures),"
        " (SELECT value FROM meta WHERE key = 'fold'), (SELECT value FROM meta WHERE key = 'reader'),"
        " (SELECT COUNT(*) FROM events) FROM publications").fetchone()
    return hashlib.sha256("|".join(str(v) for v in row).encode()).hexdigest()[:20]


def read(conn: sqlite3.Connection, name: str, compute: Callable[[], Any]) -> Any:
    """The stored answer while it is current, else ``compute()``."""
    row = conn.execute("SELECT state, value FROM answers WHERE name = ?", (name,)).fetchone()
    if row is not None and row["state"] == state(conn):
        return json.loads(row["value"])
    return compute()


def refresh(conn: sqlite3.Connection, added: list[str], *, everything: bool) -> None:
    """Store the figures of the publications ``added`` (of all when ``everything``) and
    every registered answer, for the history as it now is."""
    from g287 import query

    if everything:
        conn.execute("DELETE FROM publication_figures")
        wanted = None
    else:
        wanted = set(added)
    conn.executemany(
        "INSERT OR REPLACE INTO publication_figures (publication_id, figures) VALUES (?, ?)",
        [(pub.id, json.dumps(query.figures_of(conn, pub))) for pub in query.publications(conn)
         if wanted is None or pub.id in wanted])
    now = state(conn)
    for name, target in ANSWERS.items():
        module, function = target.split(":")
        value = getattr(import_module(module), function)(conn)
        conn.execute("INSERT OR REPLACE INTO answers (name, state, value) VALUES (?, ?, ?)",
                     (name, now, json.dumps(value, default=str)))


def stored_figure(conn: sqlite3.Connection, publication_id: str) -> dict[str, Any] | None:
    """The stored figures of one publication, if any."""
    row = conn.execute("SELECT figures FROM publication_figures WHERE publication_id = ?",
                       (publication_id,)).fetchone()
    return json.loads(row["figures"]) if row else None


def stored_figures(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """The stored figures of every publication, by publication id."""
    return {r["publication_id"]: json.loads(r["figures"]) for r in conn.execute(
        "SELECT publication_id, figures FROM publication_figures")}
