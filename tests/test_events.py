"""Lifecycle events on small synthetic histories, one rule per test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from g287 import ingest, qa, query, store
from sheets import PARTICIPATING_HEADER, PENDING_HEADER, write_sheet

D = dt.date


def participating(folder: Path, label: str, rows: list[tuple]) -> Path:
    return write_sheet(folder / f"sheets_{label[4:8]}{label[:4]}_150000" /
                       f"participatingAgencies{label}am.xlsx", PARTICIPATING_HEADER,
                       [[state, name, "County", f"{name.split()[0]} County", model, signed, "link pending"]
                        for state, name, model, signed in rows])


def pending(folder: Path, label: str, rows: list[tuple]) -> Path:
    return write_sheet(folder / f"sheets_{label[4:8]}{label[:4]}_150000" /
                       f"pendingAgencies{label}am.xlsx", PENDING_HEADER,
                       [[state, name, "County", f"{name.split()[0]} County", model]
                        for state, name, model in rows])


def build(tmp_path: Path, *files: Path):
    conn = store.connect(tmp_path / "h.sqlite")
    report = ingest.ingest_paths(conn, list(files))
    assert not report.failed, report.failed
    return conn


def kinds(conn) -> list[tuple[str, str, str | None]]:
    return sorted((e.kind, e.agency_name, e.model) for e in query.changes(conn))


A, B = "Alpha County Sheriff's Office", "Beta County Sheriff's Office"
TFM, WSO, JEM = "Task Force Model", "Warrant Service Officer", "Jail Enforcement Model"


def test_renewal_versus_date_correction(tmp_path):
    conn = build(tmp_path,
                 participating(tmp_path, "01052026", [("OHIO", A, WSO, D(2020, 6, 1)),
                                                      ("OHIO", B, TFM, D(2025, 12, 1))]),
                 participating(tmp_path, "01122026", [("OHIO", A, WSO, D(2026, 1, 8)),
                                                      ("OHIO", B, TFM, D(2025, 12, 2))]))
    assert kinds(conn) == [("renewed", A, "WSO"), ("signing_date_corrected", B, "TFM")]
    statuses = dict(conn.execute("SELECT signed, status FROM agreements").fetchall())
    assert statuses == {"2020-06-01": "superseded", "2026-01-08": "active", "2025-12-02": "active"}


def test_model_switch_model_added_and_removal(tmp_path):
    conn = build(tmp_path,
                 participating(tmp_path, "01052026", [("OHIO", A, WSO, D(2025, 3, 1)),
                                                      ("OHIO", B, TFM, D(2025, 3, 1))]),
                 participating(tmp_path, "01122026", [("OHIO", A, TFM, D(2026, 1, 9)),
                                                      ("OHIO", B, TFM, D(2025, 3, 1)),
                                                      ("OHIO", B, JEM, D(2026, 1, 9))]),
                 participating(tmp_path, "01192026", [("OHIO", A, TFM, D(2026, 1, 9))]))
    assert kinds(conn) == [("agreement_removed", B, "JEM"), ("agreement_removed", B, "TFM"),
                           ("model_added", B, "JEM"), ("model_switched", A, "TFM")]
    switched = next(e for e in query.changes(conn, kind="model_switched"))
    assert switched.details["from_model"] == "WSO"
    assert switched.before == "participatingAgencies01052026am.xlsx"
    assert switched.after == "participatingAgencies01122026am.xlsx"


def test_absent_then_back_is_removed_then_reinstated(tmp_path):
    row, other = ("OHIO", A, WSO, D(2025, 3, 1)), ("OHIO", B, TFM, D(2025, 3, 1))
    conn = build(tmp_path, participating(tmp_path, "01052026", [row, other]),
                 participating(tmp_path, "01122026", [other]),
                 participating(tmp_path, "01192026", [other, row]))
    assert kinds(conn) == [("agreement_reinstated", A, "WSO"), ("agreement_removed", A, "WSO")]
    assert conn.execute("SELECT COUNT(*) FROM agreements").fetchone()[0] == 2


def test_content_seen_again_after_a_newer_sheet_is_flagged(tmp_path):
    """Identical bytes are one publication; if they come back after a different sheet of
    the same list, the reversion is not an event, so `g287 qa` warns about it."""
    row, other = ("OHIO", A, WSO, D(2025, 3, 1)), ("OHIO", B, TFM, D(2025, 3, 1))
    first = participating(tmp_path, "01052026", [row, other])
    second = participating(tmp_path, "01122026", [other])
    again = tmp_path / "sheets_20260119_150000" / "participatingAgencies01192026am.xlsx"
    again.parent.mkdir()
    again.write_bytes(first.read_bytes())
    conn = build(tmp_path, first, second, again)
    check = next(r for r in qa.run_checks(conn) if r.name.startswith("no sheet content"))
    assert check.status == "warn" and "participatingAgencies01192026am.xlsx" in check.detail


def test_pending_signed_with_days_and_withdrawn(tmp_path):
    conn = build(tmp_path,
                 pending(tmp_path, "01052026", [("OHIO", A, TFM), ("OHIO", B, JEM)]),
                 participating(tmp_path, "01052026", [("OHIO", "Gamma Police Department", TFM,
                                                       D(2025, 3, 1))]),
                 pending(tmp_path, "01122026", []),
                 participating(tmp_path, "01152026", [("OHIO", "Gamma Police Department", TFM,
                                                       D(2025, 3, 1)),
                                                      ("OHIO", A, TFM, D(2026, 1, 9))]))
    events = {(e.kind, e.agency_name): e for e in query.changes(conn)}
    assert set(events) == {("pending_signed", A), ("pending_withdrawn", B), ("agreement_added", A)}
    assert events[("pending_signed", A)].details["days_pending"] == 10
    statuses = dict(conn.execute(
        "SELECT a.name, p.status FROM pending_entries p JOIN agencies a USING (agency_id)").fetchall())
    assert statuses == {A: "signed", B: "withdrawn"}


def test_moa_published_on_a_later_sheet(tmp_path):
    first = participating(tmp_path, "01052026", [("OHIO", A, WSO, D(2025, 3, 1))])
    second = write_sheet(tmp_path / "sheets_20260112_150000" / "participatingAgencies01122026am.xlsx",
                         PARTICIPATING_HEADER,
                         [["OHIO", A, "County", "Alpha County", WSO, D(2025, 3, 1), "link"]],
                         links={(0, 6): "https://gcc02.safelinks.protection.outlook.com/?url="
                                        "https%3A%2F%2Fwww.ice.gov%2Fdoclib%2F287gMOA%2FAlpha.pdf&data=1"})
    conn = build(tmp_path, first, second)
    (event,) = query.changes(conn, kind="moa_published")
    assert event.details["url"] == "https://www.ice.gov/doclib/287gMOA/Alpha.pdf"
