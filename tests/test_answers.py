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
