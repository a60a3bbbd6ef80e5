"""g287's change events on the shared archive equal the golden list, verified against the
sheets by tests/golden/verify_events.py (openpyxl only) and, for every removal,
withdrawal, rename, relabel, state correction and duplicate, by hand."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden" / "events.csv"
KEY = ("kind", "date", "state", "agency", "model", "before_file", "after_file")
FIRST_PRINTED = (
    "SELECT r.agency_name FROM sheet_rows r JOIN row_identities i USING (publication_id, row_number)"
    " WHERE i.publication_id = ? AND i.agency_id = ? AND (r.model = ? OR ? IS NULL)"
    " ORDER BY r.row_number LIMIT 1")


def golden() -> list[dict]:
    with GOLDEN.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def printed(conn, pub: str | None, agency_id: str, model: str | None) -> str | None:
    row = conn.execute(FIRST_PRINTED, (pub, agency_id, model, model)).fetchone() if pub else None
    return row[0] if row else None


def derived(conn) -> list[tuple]:
    """Each change event as the golden list keys it: the agency as printed on the sheet after
    (on the sheet before when its row is gone)."""
    out = []
    for e in conn.execute(
            "SELECT e.kind, e.date, e.state, e.agency_id, e.model, e.before_pub, e.after_pub,"
            " b.file, a.file FROM events e JOIN publications a ON a.id = e.after_pub"
            " JOIN publications b ON b.id = e.before_pub ORDER BY e.seq"):
        name = printed(conn, e[6], e[3], e[4]) or printed(conn, e[5], e[3], e[4])
        out.append((e[0], e[1], e[2], " ".join((name or "?").split()), e[4] or "", e[7], e[8]))
    return out


def test_every_golden_event_was_confirmed_from_the_sheets():
    verdicts = Counter(r["verdict"] for r in golden())
    assert set(verdicts) == {"confirmed"}, verdicts


def test_events_equal_the_golden_list(history_db):
    expected = Counter(tuple(r[k] for k in KEY) for r in golden())
    found = Counter(derived(history_db))
    assert found - expected == Counter(), "events g287 derives that the golden list lacks (precision)"
    assert expected - found == Counter(), "golden events g287 no longer derives (recall)"


def test_no_false_departures_on_the_archive(history_db):
    kinds = Counter(r["kind"] for r in golden())
    assert kinds["agreement_removed"] == 2 and kinds["pending_withdrawn"] == 6
    assert kinds["agreement_renamed"] == 4 and kinds["agreement_relabelled"] == 2
    assert kinds["pending_renamed"] == 1 and kinds["duplicate_row_removed"] == 1


DEPARTURES = Path(__file__).parent / "golden" / "departures.csv"


def test_departure_statuses_equal_the_golden_list(history_db):
    """Each departure's status (issue 20), read by hand from the sheets: how many later
    publications of its list lack it, over how many days, and the signing window."""
    with DEPARTURES.open(encoding="utf-8") as handle:
        expected = {(r["kind"], r["date"], r["state"], r["agency"], r["model"], r["after_file"]): r["status"]
                    for r in csv.DictReader(handle)}
    found = {(e[0], e[1], e[2], e[3], e[4], e[6]): status for e, status in zip(
        derived(history_db), (r[0] for r in history_db.execute("SELECT status FROM events e"
                              " JOIN publications a ON a.id = e.after_pub JOIN publications b"
                              " ON b.id = e.before_pub ORDER BY e.seq")), strict=True)
        if e[0] in ("agreement_removed", "pending_withdrawn")}
    assert found == expected
