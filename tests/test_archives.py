"""The 2021–2026 archives: the lineage crash they exposed, the new source families, dating
by capture, truncated publications. Synthetic sheets unless a test says it reads the shared data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from g287 import ingest, qa, query, store
from sheets import PARTICIPATING_HEADER, PENDING_HEADER, write_sheet

D = dt.date
TFM, JEM = "Task Force Model", "Jail Enforcement Model"
MOA = "https://www.ice.gov/doclib/287gMOA/{}.pdf"


def participating(folder: Path, capture: str, label: str, rows: list[tuple]) -> Path:
    """rows: (STATE, name, type, model, signed, moa file or None)."""
    cells, links = [], {}
    for index, (state, name, kind, model, signed, moa) in enumerate(rows):
        cells.append([state, name, kind, "#N/A", model, signed, "link" if moa else "link pending"])
        if moa:
            links[(index, 6)] = MOA.format(moa)
    return write_sheet(folder / f"sheets_{capture}" / f"participatingAgencies{label}.xlsx",
                       PARTICIPATING_HEADER, cells, links)


def pending(folder: Path, capture: str, label: str, rows: list[tuple]) -> Path:
    """rows: (STATE, name, type, model)."""
    return write_sheet(folder / f"sheets_{capture}" / f"pendingAgencies{label}.xlsx", PENDING_HEADER,
                       [[s, name, kind, "#N/A", model] for s, name, kind, model in rows])


def build(tmp_path: Path, *files: Path):
    conn = store.connect(tmp_path / "h.sqlite")
    report = ingest.ingest_paths(conn, list(files))
    assert not report.failed, report.failed
    return conn


def test_renamed_agreement_of_an_agency_then_listed_as_signed_keeps_its_agency(tmp_path):
    """Regression (issue 26, found in the 2025 sheets: Wyoming State Highway Patrol): one sheet
    renames an agency's agreement (lineage moves it to the new spelling's agency) and lists the
    new spelling for the model it was pending for (the new spelling is then merged into the
    pending agency). The moved agreement must follow the merge, or the next sheet fails with
    ``KeyError: 'ag_…'``."""
    old, new = "Wyoming State Highway Patrol", "Wyoming Highway State Patrol"
    tfm = ("WYOMING", old, "State Agency", TFM, D(2025, 3, 4), "wyoSHP_TFM")
    other = ("WYOMING", "Laramie County Sheriff's Office", "County", TFM, D(2025, 6, 11), "laramie")
    renamed = ("WYOMING", new) + tfm[2:]
    jem = ("WYOMING", new, "State Agency", JEM, D(2025, 7, 20), None)
    later = ("WYOMING", "Park County Sheriff's Office", "County", JEM, D(2025, 7, 25), None)
    conn = build(tmp_path,
                 participating(tmp_path, "20250716_150000", "07162025am", [tfm, other]),
                 pending(tmp_path, "20250716_150000", "07162025am",
                         [("WYOMING", old, "State Agency", JEM)]),
                 participating(tmp_path, "20250723_150000", "07232025am", [renamed, jem, other]),
                 participating(tmp_path, "20250730_150000", "07302025am", [renamed, jem, other, later]),
                 participating(tmp_path, "20250806_150000", "08062025am", [jem, other, later]))
    agencies = {r["agency_id"] for r in conn.execute("SELECT agency_id FROM agencies")}
    owners = {r["agency_id"] for r in conn.execute("SELECT agency_id FROM agreements")}
    assert owners <= agencies
    wyoming = {e.agency_id for e in query.changes(conn) if e.state == "WY" and "Patrol" in e.agency_name}
    assert len(wyoming) == 1 and wyoming <= agencies
    kinds = sorted(e.kind for e in query.changes(conn) if e.agency_id in wyoming)
    assert kinds == ["agreement_removed", "agreement_renamed", "model_added", "pending_signed"]
    assert [c.name for c in qa.run_checks(conn) if c.status == "fail"] == []
