"""Answers computed at ingest: what pages, the API and ``g287 status`` need first, stored
with the history so that a fresh process (a restarted server's every worker, a CLI call)
answers at once instead of reading every row.

Two kinds, both written in the ingest's transaction:

* per-publication figures (``publication_figures``): the counts one publication prints.
  They never change once the publication is stored, so an ingest computes them for the
  publications it added (for all of them when the fold was replayed from the start);
* named answers (``answers``): registered in :data:`ANSWERS` as ``name -> "module:function"``
  (a function of the connection returning JSON-able data), recomputed by every ingest in
  the registry's order. Readers call :func:`read`, which returns the stored value while the
  history is in the state it was computed for, else computes it (a read-only reader never
  writes).

This module stores and reads; it imports none of the modules that compute (they import it),
so the registry names them and :func:`refresh` imports them when an ingest asks.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from importlib import import_module
from typing import Any

# name -> "module:function" computing it from a connection, in the order they are computed
# (placements first: the maps and coverage use them); other stages add their own.
ANSWERS: dict[str, str] = {
    "places": "g287.places.coverage:latest_placements",
    "status": "g287.query:latest_status",
    "coverage": "g287.places.coverage:latest_coverage",
    "map.county": "g287.places.maps:latest_county_map",
    "map.state": "g287.places.maps:latest_state_map",
}
# (conn, publication ids or None for all) -> {publication id: figures}
FIGURES = "g287.query:publication_figures"


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


def stored(conn: sqlite3.Connection, name: str) -> Any | None:
    """A stored answer whatever the history's state (for answers that stay true across
    ingests, such as where an agency is on the map), or None."""
    row = conn.execute("SELECT value FROM answers WHERE name = ?", (name,)).fetchone()
    return json.loads(row["value"]) if row else None


def _function(target: str) -> Callable[..., Any]:
    module, function = target.split(":")
    return getattr(import_module(module), function)


def refresh(conn: sqlite3.Connection, added: list[str], *, everything: bool) -> None:
    """Store the figures of the publications ``added`` (of all when ``everything``) and
    every registered answer, for the history as it now is."""
    if everything:
        conn.execute("DELETE FROM publication_figures")
    figures = _function(FIGURES)(conn, None if everything else set(added))
    conn.executemany("INSERT OR REPLACE INTO publication_figures (publication_id, figures) VALUES (?, ?)",
                     [(pub_id, json.dumps(value)) for pub_id, value in figures.items()])
    now = state(conn)
    for name, target in ANSWERS.items():
        value = _function(target)(conn)
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
