"""Answers computed at ingest equal the answers computed from the rows, and are never stale."""

from __future__ import annotations

import sqlite3

from g287 import answers, ingest, query, store
from g287.analytics import series


def live_series(conn: sqlite3.Connection) -> list[series.PublicationPoint]:
    conn.execute("DELETE FROM publication_figures")
    return series.publication_series(conn)


def test_stored_figures_and_status_equal_the_live_ones(history_path, tmp_path):
    conn = store.connect(history_path, readonly=True)
    stored_series, stored_status = series.publication_series(conn), query.status(conn)
    assert len(answers.stored_figures(conn)) == len(stored_series) == 46
    assert conn.execute("SELECT state FROM answers WHERE name = 'status'").fetchone()[0] == answers.state(conn)
    assert stored_status == query.latest_status(conn)
    copy = store.connect(tmp_path / "copy.sqlite")
    conn.backup(copy)
    assert live_series(copy) == stored_series


def test_answers_follow_each_ingest(ice_sheets, tmp_path):
    """Step by step (the fold going on from the stored history), the stored answers stay
    those of the history as it is, and a changed history never reads a stale answer."""
    conn = store.connect(tmp_path / "steps.sqlite")
    folders = sorted(p for p in ice_sheets.iterdir() if p.is_dir())[-6:]
    for folder in folders:
        ingest.ingest_paths(conn, [folder])
        assert query.status(conn) == query.latest_status(conn)
    stored = series.publication_series(conn)
    assert live_series(conn) == stored
    conn.execute("UPDATE answers SET value = '{}'")
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('fold', 'changed elsewhere')")
    assert query.status(conn) == query.latest_status(conn) != {}
    # An agreement ICE renamed or relabelled is printed under more than one identity.
    listed = dict(conn.execute("SELECT i.agreement_id, SUM(l.publications) FROM identity_listings l"
                               " JOIN identities i USING (identity_id) WHERE i.agreement_id IS NOT NULL"
                               " GROUP BY i.agreement_id"))
    counted = dict(conn.execute("SELECT agreement_id, COUNT(DISTINCT publication_id) FROM row_identities"
                                " WHERE agreement_id IS NOT NULL GROUP BY agreement_id"))
    assert listed == counted and len(counted) > 500


def test_answers_pages_need_first_are_stored_and_equal_the_live_ones(history_path):
    """Coverage, both latest maps and the latest sheet's placements are stored at ingest;
    what a fresh process reads equals what it would compute."""
    from g287.places import coverage, maps

    conn = store.connect(history_path, readonly=True)
    current = answers.state(conn)
    stored = {r["name"]: r["state"] for r in conn.execute("SELECT name, state FROM answers")}
    assert {"places", "status", "coverage", "map.county", "map.state"} <= set(stored)
    assert all(stored[name] == current for name in answers.ANSWERS)
    assert coverage.coverage(conn) == coverage._coverage(conn, None)
    for level in ("county", "state"):
        assert maps.map_data(conn, None, level) == maps._map_data(conn, None, level, None)
    coverage.clear_placements()
    try:
        assert coverage.load_placements(conn) == len(coverage._placed) > 600
        loaded = dict(coverage._placed)
        assert all(coverage._place(*key) == found for key, found in loaded.items())
    finally:
        coverage.clear_placements()


def test_stored_placements_are_redone_when_the_reference_changes(history_path, tmp_path, monkeypatch):
    from g287.places import coverage

    conn = store.connect(history_path, readonly=True)
    monkeypatch.setattr(coverage, "PLACES_VERSION", "changed")
    coverage.clear_placements()
    assert coverage.load_placements(conn) == 0 and not coverage._placed


def test_answers_imports_no_module_that_computes():
    """The circle is broken: answers stores and reads; query, places and the rest import it."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(answers))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("g287")}
