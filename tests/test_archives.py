"""The 2021–2026 archives: the lineage crash they exposed, the new source families, dating
by capture, truncated publications. Synthetic sheets unless a test says it reads the shared data."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections import Counter
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


PLACES = ["Anderson", "Bexar", "Collin", "Dallas", "Ellis", "Fannin", "Gregg", "Harris",
          "Irion", "Jack", "Kerr", "Lamar", "Medina", "Nolan", "Oldham", "Parker", "Reagan",
          "Scurry", "Travis", "Upton", "Victoria", "Waller", "Young", "Zapata", "Bowie",
          "Cass", "Denton", "Erath", "Frio", "Gaines", "Hood", "Jones", "Karnes", "Llano",
          "Mason", "Nueces", "Potter", "Rusk", "Starr", "Tyler", "Uvalde", "Wise", "Zavala",
          "Brazos", "Coke"]


def rows_of(n: int, state: str = "TEXAS", start: int = 0) -> list[tuple]:
    """Rows of distinct agencies (names that no lineage rule could take for one another)."""
    return [(state, f"{PLACES[i]} County Sheriff's Office", "County", TFM, D(2025, 6, 1), None)
            for i in range(start, start + n)]


def saved_sheet(folder: Path, capture: str, name: str, rows: list[tuple], saved: dt.datetime) -> Path:
    cells = [[s, n, k, "#N/A", m, d, "link pending"] for s, n, k, m, d, _ in rows]
    return write_sheet(folder / f"sheets_{capture}" / name, PARTICIPATING_HEADER, cells, saved=saved)


def dating(conn) -> list[tuple[str, str, str, str]]:
    return [(p.file, p.label, p.dated_by, p.flags) for p in query.publications(conn, "participating")]


def test_labels_that_cannot_be_right_are_dated_by_capture_and_flagged(tmp_path):
    """A label a year early (the workbook was saved a year after it), a label that is no date,
    ``mid`` and no am/pm, and a folder holding several labels (added in bulk)."""
    at = dt.datetime
    base = rows_of(3)
    late = ("TEXAS", "Juniper County Sheriff's Office", "County", TFM, D(2025, 12, 20), None)
    files = [
        saved_sheet(tmp_path, "20260105_150000", "participatingAgencies01052026am.xlsx", base,
                    at(2026, 1, 5, 12)),
        saved_sheet(tmp_path, "20260106_093000", "participatingAgencies01052025pm.xlsx", base + [late],
                    at(2026, 1, 5, 20)),
        saved_sheet(tmp_path, "20260107_200000", "participatingAgencies01062025pm.xlsx",
                    base + [late] + rows_of(1, start=10), at(2026, 1, 6, 20)),
        saved_sheet(tmp_path, "20260107_200000", "participatingAgencies01072026am.xlsx",
                    base + [late] + rows_of(2, start=10), at(2026, 1, 7, 19)),
        saved_sheet(tmp_path, "20260108_150000", "participatingAgencies010082026am.xlsx",
                    base + [late] + rows_of(3, start=10), at(2026, 1, 8, 12)),
        saved_sheet(tmp_path, "20260109_220000", "participatingAgencies01092026mid.xlsx",
                    base + [late] + rows_of(4, start=10), at(2026, 1, 9, 17)),
        saved_sheet(tmp_path, "20260112_220000", "participatingAgencies01122026.xlsx",
                    base + [late] + rows_of(5, start=10), at(2026, 1, 12, 17)),
    ]
    conn = build(tmp_path, *files)
    assert dating(conn) == [
        ("participatingAgencies01052026am.xlsx", "2026-01-05", "label", ""),
        ("participatingAgencies01052025pm.xlsx", "2026-01-06", "capture_label_implausible",
         "label_contradicted"),
        ("participatingAgencies01062025pm.xlsx", "2026-01-07", "capture_label_implausible",
         "label_contradicted,bulk_folder"),
        ("participatingAgencies01072026am.xlsx", "2026-01-07", "label", "bulk_folder"),
        ("participatingAgencies010082026am.xlsx", "2026-01-08", "capture_label_implausible",
         "label_unreadable"),
        ("participatingAgencies01092026mid.xlsx", "2026-01-09", "label", "part_of_day_mid"),
        ("participatingAgencies01122026.xlsx", "2026-01-12", "label", "part_of_day_unmarked")]
    # A label a year early does not discard the year's signing dates.
    assert conn.execute("SELECT signed FROM agreements a JOIN agencies g USING (agency_id)"
                        " WHERE g.name = ?", (late[1],)).fetchone()[0] == "2025-12-20"
    # Placed by its save time before the sheet labelled the day it was captured: nothing
    # leaves and comes back, every change is one addition.
    kinds = [e.kind for e in query.changes(conn)]
    assert kinds == ["agreement_added"] * 6
    (pub,) = [p for p in query.publications(conn) if p.file == "participatingAgencies01062025pm.xlsx"]
    assert "cannot be right" in pub.why and "upper bound" in pub.why


def test_truncated_sheet_is_partial_and_produces_no_departures(tmp_path):
    """A participating sheet that briefly printed 3 of 30 rows, and a pending one 2 of 20;
    the next sheets print them all again (and one more)."""
    full, extra = rows_of(30), rows_of(1, start=30)
    waiting = [("OHIO", f"Town {i} Police Department", "Municipality", TFM) for i in range(20)]
    files = [participating(tmp_path, "20250901_150000", "09012025am", full),
             pending(tmp_path, "20250901_150000", "09012025am", waiting),
             participating(tmp_path, "20250902_150000", "09022025am", full[:3] + extra),
             pending(tmp_path, "20250902_150000", "09022025am", waiting[:2]),
             participating(tmp_path, "20250903_150000", "09032025am", full + extra),
             pending(tmp_path, "20250903_150000", "09032025am", waiting)]
    conn = build(tmp_path, *files)
    partial = {p.file: p for p in query.publications(conn) if p.partial}
    assert set(partial) == {"participatingAgencies09022025am.xlsx", "pendingAgencies09022025am.xlsx"}
    assert "truncated: 4 rows against 30" in partial["participatingAgencies09022025am.xlsx"].why
    # No departure, no return: only the one real addition, on the day it was printed.
    assert [(e.kind, str(e.date), e.agency_name) for e in query.changes(conn)] == [
        ("agreement_added", "2025-09-02", f"{PLACES[30]} County Sheriff's Office")]
    # The counts ICE printed stay citable as printed.
    status = query.status(conn, D(2025, 9, 2))
    assert status["participating"]["rows"] == 4 and status["participating"]["publication"]["partial"]
    assert [c.name for c in qa.run_checks(conn) if c.status == "fail"] == []
    # Ingested as it happened (the truncated sheet is the newest until the next one arrives,
    # and only then partial): the same history.
    step = store.connect(tmp_path / "step.sqlite")
    assert ingest.ingest_paths(step, files[:4]).ok
    newest = query.publication_as_of(step, "participating")
    assert newest.partial and "provisionally truncated" in newest.why   # no next sheet yet
    assert [e.kind for e in query.changes(step)] == ["agreement_added"]   # no mass departure
    assert ingest.ingest_paths(step, files[4:]).derivation == "full"
    assert [(e.kind, str(e.date), e.agency_name) for e in query.changes(step)] == [
        ("agreement_added", "2025-09-02", f"{PLACES[30]} County Sheriff's Office")]


def test_a_real_mass_departure_is_reported_on_the_sheet_after(tmp_path):
    """The newest sheet that lost most rows is partial provisionally; when the next sheet lacks
    them too it is not partial any more, and they are reported gone on the sheet that first
    lacked them."""
    full = rows_of(30)
    files = [participating(tmp_path, "20250901_150000", "09012025am", full),
             participating(tmp_path, "20250902_150000", "09022025am", full[:3])]
    conn = build(tmp_path, *files)
    assert [e.kind for e in query.changes(conn)] == []
    assert ingest.ingest_paths(conn, [participating(tmp_path, "20250903_150000", "09032025am",
                                                    full[:3] + rows_of(1, start=40))]).ok
    removed = [e for e in query.changes(conn) if e.kind == "agreement_removed"]
    assert len(removed) == 27 and {str(e.date) for e in removed} == {"2025-09-02"}
    assert not [p for p in query.publications(conn) if p.partial]


def archive_window(shared_data: Path, tmp_path: Path, files: list[str]):
    """A history of a few real sheets of ``sheets-2025-2026/`` (fast: no whole archive)."""
    folder = shared_data / "sheets-2025-2026"
    paths = [folder / f for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    assert not missing, f"missing from the shared data: {missing}"
    return build(tmp_path, *paths)


def test_real_drops_of_the_pending_list_are_signings_not_truncations(shared_data, tmp_path):
    """Needs ``sheets-2025-2026/`` alone. Other trackers call the pending list's drops of late
    October 2025 (72 → 14 rows) and early January 2026 (37 → 2) truncations; the rows do not
    come back: they are listed as participating the same day. No publication is partial, no
    entry is withdrawn, no agreement removed."""
    october = ["sheets_20251017_150014/participatingAgencies10172025am.xlsx",
               "sheets_20251017_150014/pendingAgencies10172025am.xlsx",
               "sheets_20251017_220014/participatingAgencies10172025mid.xlsx",
               "sheets_20251017_220014/pendingAgencies10172025mid.xlsx",
               "sheets_20251020_143015/participatingAgencies10202025am.xlsx",
               "sheets_20251020_143015/pendingAgencies10202025am.xlsx"]
    january = ["sheets_20251230_200016/participatingAgencies12302025am.xlsx",
               "sheets_20251231_193013/pendingAgencies12312025am.xlsx",
               "sheets_20260106_093013/participatingAgencies01052025pm.xlsx",
               "sheets_20260106_093013/pendingAgencies01052025pm.xlsx",
               "sheets_20260107_200020/participatingAgencies01062025pm.xlsx",
               "sheets_20260107_200020/pendingAgencies01062025pm.xlsx",
               "sheets_20260107_200020/participatingAgencies01072026am.xlsx",
               "sheets_20260107_200020/pendingAgencies01072026am.xlsx",
               "sheets_20260108_230019/participatingAgencies01082026am.xlsx",
               "sheets_20260108_230019/pendingAgencies01082026am.xlsx"]
    for name, files, signed in (("october", october, 63), ("january", january, 39)):
        conn = archive_window(shared_data, tmp_path / name, files)
        assert not [p.file for p in query.publications(conn) if p.partial]
        kinds = Counter(e.kind for e in query.changes(conn))
        assert kinds["pending_signed"] == signed, name
        assert kinds["pending_withdrawn"] == kinds["agreement_removed"] == 0, name
    # The year-early labels of January are dated by capture, in order.
    assert [p.file for p in query.publications(conn, "participating")] == [
        Path(f).name for f in january if "participating" in f]


def test_sheets_swapped_by_name_are_read_by_their_columns(shared_data, tmp_path):
    """Needs ``sheets-2025-2026/`` alone. On 2025-09-22 pm ICE served its pending list under the
    participating file's name (42 rows, no SIGNED or MOA column): read as participating it
    would have removed 958 agreements and added 42. It is a pending sheet, flagged."""
    conn = archive_window(shared_data, tmp_path, [
        "sheets_20250918_223013/participatingAgencies09182025pm.xlsx",
        "sheets_20250918_223013/pendingAgencies09182025pm.xlsx",
        "sheets_20250922_123014/pendingAgencies09222025am.xlsx",
        "sheets_20250923_140014/participatingAgencies09222025pm.xlsx",
        "sheets_20250923_140014/pendingAgencies09232025am.xlsx",
        "sheets_20250924_133016/participatingAgencies09242025am.xlsx"])
    (swapped,) = [p for p in query.publications(conn) if p.file == "participatingAgencies09222025pm.xlsx"]
    assert (swapped.list, swapped.rows) == ("pending", 42)
    assert conn.execute("SELECT COUNT(*) FROM row_issues WHERE code = 'list_headers_disagree'").fetchone()[0] == 1
    kinds = Counter(e.kind for e in query.changes(conn, kind="agreement_removed"))
    assert kinds["agreement_removed"] <= 3  # Hopewell County (JEM, WSO), Fletcher PD: real, not 958


GOLDEN_MONTH = Path(__file__).parent / "golden" / "events_2025_12.csv"


def test_events_of_december_2025_equal_the_golden_list(shared_data, tmp_path):
    """Needs ``sheets-2025-2026/`` alone: the sheets of 2025-11-26 am (the baseline) and every
    sheet of December 2025. Every event of ``golden/events_2025_12.csv`` was confirmed from
    the two sheets it names by ``golden/verify_month.py`` (openpyxl only), which also finds no
    change of consecutive sheets that no event explains; the removals, the reinstatement of
    Stowe Township PD (removed 12-04, pending 12-10, listed again 12-12 with a new date) and
    the signing of Mississippi DPS (pending as "Department of Public Safety", county "Hinds
    Couny") were read by hand; the seven renames are ICE retyping a name (Dimmit Couny, Lyon's
    County, Somerville with county "Somervill"): no departure."""
    from test_golden_events import KEY, derived

    folder = shared_data / "sheets-2025-2026"
    captures = sorted(p for p in folder.glob("sheets_2025*") if p.name >= "sheets_20251128_153013")
    assert captures, f"{folder} is missing"
    conn = build(tmp_path, *captures)
    with GOLDEN_MONTH.open(encoding="utf-8") as handle:
        golden = list(csv.DictReader(handle))
    assert {r["verdict"] for r in golden} == {"confirmed"}
    expected = Counter(tuple(r[k] for k in KEY) for r in golden)
    found = Counter(derived(conn))
    assert found - expected == Counter(), "events g287 derives that the golden list lacks"
    assert expected - found == Counter(), "golden events g287 no longer derives"
    kinds = Counter(r["kind"] for r in golden)
    assert kinds["agreement_removed"] == 9 and kinds["pending_withdrawn"] == 0


# A sample of each family: ICE's sheets (2025 archive, 2025-2026 archive: a year-early
# label, the swapped sheet, a 'mid' label), ICE's sheets as archived by the Wayback Machine,
# transcriptions of the web table (two captures of one table, and others).
SAMPLE = {
    "ice-sheets": ["sheets_20250519_024330/participatingAgencies05162025am.xlsx",
                   "sheets_20250708_151823/pendingAgencies07072025pm.xlsx"],
    "sheets-2025-2026": ["sheets_20260106_093013/participatingAgencies01052025pm.xlsx",
                         "sheets_20250923_140014/participatingAgencies09222025pm.xlsx",
                         "sheets_20251017_220014/pendingAgencies10172025mid.xlsx",
                         "sheets_20260130_193020/participatingAgencies01302026am.xlsx"],
    "wayback-2021-2025": ["participatingAgencies-20250221214937.xlsx",
                          "participatingAgencies-20250301180751.xlsx",
                          "pendingAgencies-20250411231031.xlsx",
                          "ParticipatingEntities-20210113002027.xlsx",
                          "ParticipatingEntities-20210116022328.xlsx",
                          "ParticipatingEntities-20210116033709.xlsx",
                          "ParticipatingEntities-20230617142237.xlsx",
                          "ParticipatingEntities-20250219163339.xlsx"],
}


def test_counts_equal_an_independent_reading_of_each_family(shared_data, tmp_path):
    """Needs the three archives (a sample of files, not whole builds). Each file's data rows,
    counted by ``golden/count_rows.py`` (openpyxl, no g287 code), are the rows of the
    publication g287 filed it under; two captures of one unchanged web table are one
    publication."""
    sys.path.insert(0, str(Path(__file__).parent / "golden"))
    from count_rows import data_rows

    paths = [shared_data / family / f for family, files in SAMPLE.items() for f in files]
    conn = build(tmp_path, *paths)
    for path in paths:
        row = conn.execute("SELECT p.rows FROM captures c JOIN publications p ON p.id = c.publication_id"
                           " WHERE c.file = ?", (path.name,)).fetchone()
        assert row is not None and row[0] == data_rows(path), path.name
    tables = conn.execute("SELECT COUNT(*) FROM publication_sources WHERE source_kind = ?",
                          ("web table transcription",)).fetchone()[0]
    assert tables == 4   # 20210116022328 and 20210116033709 print the same table
    kinds = {r[0]: r[1] for r in conn.execute(
        "SELECT p.file, COALESCE(s.source_kind, 'ICE sheet') FROM publications p"
        " LEFT JOIN publication_sources s ON s.publication_id = p.id")}
    assert kinds["participatingAgencies-20250221214937.xlsx"] == "ICE sheet"
    assert kinds["ParticipatingEntities-20210113002027.xlsx"] == "web table transcription"


def test_wayback_captures_are_dated_by_their_timestamp_with_the_manifests_captures(shared_data, tmp_path):
    """Needs ``wayback-2021-2025/`` (two files). ICE's sheet archived at 2025-02-21 21:49:37 is
    dated by that capture, and the manifest's other Wayback paths of the same bytes are
    further captures; a table transcription is dated by its capture and says what it is."""
    folder = shared_data / "wayback-2021-2025"
    conn = build(tmp_path, folder / "participatingAgencies-20250221214937.xlsx",
                 folder / "ParticipatingEntities-20210113002027.xlsx")
    sheet, table = sorted(query.publications(conn, "participating"), key=lambda p: p.file)[::-1]
    assert (sheet.label, sheet.dated_by, sheet.captures) == ("2025-02-21", "capture", 5)
    assert sheet.first_captured == "2025-02-21T21:49:37Z" and "Wayback" in sheet.why
    assert (table.label, table.source_kind, table.captures) == ("2021-01-13", "web table transcription", 1)
    assert "not an ICE file" in table.why
    moa = conn.execute("SELECT raw, moa_url FROM sheet_rows WHERE publication_id = ? AND row_number = 2",
                       (table.id,)).fetchone()
    assert moa["moa_url"] == "https://www.ice.gov/doclib/287gMOA/287gJEM_EtowahCoAl2016-06-18.pdf"
    assert "web.archive.org/web/20210113002027/" in moa["raw"]   # kept as evidence
    assert conn.execute("SELECT signed FROM sheet_rows WHERE publication_id = ? AND row_number = 2",
                        (table.id,)).fetchone()[0] == "2016-06-08"


def test_status_answers_from_2021_and_names_the_unseen_stretch(shared_data, tmp_path):
    """Needs ``wayback-2021-2025/`` and ``historical/`` whole (≈ 18 s of CPU: the only test here
    that builds whole archives). Every date from 2021 on is answered from a publication seen
    within a month; the one unseen stretch left after 2017 is 2017-08-01 – 2021-01-13."""
    from typer.testing import CliRunner

    from g287.cli import app

    for name in ("wayback-2021-2025", "historical"):
        assert (shared_data / name).is_dir(), f"{shared_data / name} is missing"
    conn = build(tmp_path, shared_data / "wayback-2021-2025", shared_data / "historical")
    stretches = [(s.start, s.end) for s in query.unseen_stretches(conn) if s.days > 31]
    assert stretches[-1] == ("2017-08-01", "2021-01-13")
    for day in (D(2021, 3, 1), D(2022, 6, 1), D(2023, 12, 31), D(2024, 12, 31), D(2025, 3, 10)):
        pub = query.publication_as_of(conn, "participating", day)
        assert pub is not None and query.gap_context(conn, "participating", day, pub) is None, day
    conn.close()
    result = CliRunner().invoke(app, ["status", "--as-of", "2019-06-01", "--json",
                                      "--db", str(tmp_path / "h.sqlite")])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert {"from": "2017-08-01", "to": "2021-01-13", "days": 1261} in shown["unseen_stretches"]["participating"]
    context = shown["date_context"]["participating"]   # a day nobody saw: no list answers it
    assert context["kind"] == "in_gap" and shown["participating"] is None
    assert (context["before"]["seen"], context["after"]["seen"]) == ("2017-08-01", "2021-01-13")
