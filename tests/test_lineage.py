"""Lineage across ICE's renames, relabels, state misprints and duplicate rows: one synthetic
history per class of error, none of which may read as an agency leaving the program."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from g287 import ingest, qa, query, store
from g287.history import CORRECTION_KINDS
from g287.identity import lineage
from g287.normalize import name_key
from g287.web.app import create_app
from g287.web.i18n import catalog
from sheets import PARTICIPATING_HEADER, PENDING_HEADER, write_sheet

D = dt.date
TFM, WSO = "Task Force Model", "Warrant Service Officer"
STATE_NAMES = {"OH": "OHIO", "IN": "INDIANA", "PA": "PENNSYLVANIA", "FL": "FLORIDA", "LA": "LOUISIANA"}
MOA = "https://www.ice.gov/doclib/287gMOA/{}.pdf"
DEPARTURES = {"agreement_removed", "agreement_added", "pending_withdrawn"}


def participating(folder: Path, label: str, rows: list[tuple], suffix: str = "am") -> Path:
    """rows: (state, name, type, model, signed, moa file or None)."""
    cells, links = [], {}
    for index, (state, name, kind, model, signed, moa) in enumerate(rows):
        cells.append([STATE_NAMES[state], name, kind, "#N/A", model, signed,
                      "link" if moa else "link pending"])
        if moa:
            links[(index, 6)] = MOA.format(moa)
    return write_sheet(folder / f"sheets_{label[4:8]}{label[:4]}_15{len(suffix)}000" /
                       f"participatingAgencies{label}{suffix}.xlsx", PARTICIPATING_HEADER, cells, links)


def pending(folder: Path, label: str, rows: list[tuple]) -> Path:
    """rows: (state, name, type, model)."""
    return write_sheet(folder / f"sheets_{label[4:8]}{label[:4]}_150000" /
                       f"pendingAgencies{label}am.xlsx", PENDING_HEADER,
                       [[STATE_NAMES[s], name, kind, "#N/A", model] for s, name, kind, model in rows])


def build(tmp_path: Path, *files: Path):
    conn = store.connect(tmp_path / "h.sqlite")
    report = ingest.ingest_paths(conn, list(files))
    assert not report.failed, report.failed
    return conn


def events(conn) -> list[tuple[str, str, str | None]]:
    return sorted((e.kind, e.agency_name, e.model) for e in query.changes(conn))


def no_departures(conn) -> None:
    assert not [e for e in query.changes(conn) if e.kind in DEPARTURES]


def qa_failures(conn) -> list[str]:
    return [c.name for c in qa.run_checks(conn) if c.status == "fail"]


OTHER = ("OH", "Zeta County Sheriff's Office", "County", WSO, D(2025, 1, 2), "zeta")
ETA = ("OH", "Eta County Sheriff's Office", "County", "Jail Enforcement Model", D(2026, 1, 15), None)


@pytest.mark.parametrize("before, after", [
    ("Ohio State Police", "Ohio State Police Department"),
    ("Dover Police Department", "Dover Police Services Department"),
    ("Town of Dover Police Department", "Dover Police Department"),
    ("Ohio Department of Safety / OSP", "Ohio Department of Safety"),
])
def test_rename_is_one_agreement_with_one_story(tmp_path, before, after):
    kind = "State Agency" if "Ohio" in before else "Municipality"
    conn = build(tmp_path,
                 participating(tmp_path, "01052026", [("OH", before, kind, TFM, D(2025, 6, 1), None), OTHER]),
                 participating(tmp_path, "01122026", [("OH", after, kind, TFM, D(2025, 6, 1), None), OTHER]),
                 participating(tmp_path, "01192026", [("OH", after, kind, TFM, D(2025, 6, 1), None), OTHER,
                                                      ETA]))
    assert events(conn) == [("agreement_added", ETA[1], "JEM"), ("agreement_renamed", after, "TFM")]
    (event,) = query.changes(conn, kind="agreement_renamed")
    assert (event.details["from_name"], event.details["to_name"]) == (before, after)
    assert conn.execute("SELECT COUNT(*) FROM agreements").fetchone()[0] == 3
    agency_id = event.agency_id
    story = query.agency_story(conn, agency_id)
    assert {s["spelling"] for s in story["spellings"]} == {before, after}
    assert [a["status"] for a in story["agreements"]] == ["active"]
    assert [a["publications_listed"] for a in story["agreements"]] == [3]
    assert qa_failures(conn) == []


def test_relabel_same_moa_names_both_signatories(tmp_path):
    old = ("FL", "Okee County Sheriff's Office", "County", WSO, D(2025, 2, 26), "okeeCoCommishBoard_WSO")
    new = ("FL", "Okee County Board of County Commissioners", "County", WSO, D(2025, 2, 26),
           "okeeCoCommishBoard_WSO")
    keep = ("FL", "Okee County Sheriff's Office", "County", TFM, D(2025, 2, 26), "okeeCoSO_TFM")
    conn = build(tmp_path, participating(tmp_path, "01052026", [old, keep]),
                 participating(tmp_path, "01122026", [new, keep]))
    assert events(conn) == [("agreement_relabelled", new[1], "WSO")]
    (event,) = query.changes(conn)
    assert event.details["from_name"] == old[1] and event.details["to_name"] == new[1]
    assert event.details["evidence"]["same_moa"] is True
    # The sheriff's office keeps its TFM agreement; the WSO agreement goes on under the board.
    assert conn.execute("SELECT COUNT(*) FROM agreements WHERE status = 'active'").fetchone()[0] == 2


def test_relabel_without_decisive_evidence_waits_for_review(tmp_path):
    """Names alike, roles different, no shared MOA and the date shared by other arrivals."""
    day = D(2025, 4, 24)
    first = [("FL", "Ocoee Board of Trustees", "Municipality", TFM, day, None)]
    second = [("FL", "Ocoee Police Department", "Municipality", TFM, day, None),
              ("FL", "Gulf Breeze Police Department", "Municipality", TFM, day, None)]
    conn = build(tmp_path, participating(tmp_path, "01052026", first + [OTHER]),
                 participating(tmp_path, "01122026", second + [OTHER]))
    kinds = {e.kind for e in query.changes(conn)}
    assert "agreement_removed" in kinds and "agreement_relabelled" not in kinds
    (candidate,) = conn.execute("SELECT kind, status, before, after FROM lineage").fetchall()
    assert (candidate["kind"], candidate["status"]) == ("relabelled", "review")


def test_relabel_to_another_body_with_the_same_moa_and_date_is_one_visible_agreement(tmp_path):
    """A unique shared MOA link, the same date and model: two strong pieces agree, so the
    agreement goes on whatever the name, and the relabel is an event with its evidence."""
    link = "FloridaDeptEnvironProtect_TFM"
    first = [("FL", "Florida Fish and Wildlife Conservation Commission", "State Agency", TFM,
              D(2025, 2, 14), link)]
    second = [("FL", "Florida Department of Environmental Protection", "State Agency", TFM,
               D(2025, 2, 14), link)]
    conn = build(tmp_path, participating(tmp_path, "01052026", first + [OTHER]),
                 participating(tmp_path, "01122026", second + [OTHER]))
    (event,) = query.changes(conn)
    assert event.kind == "agreement_relabelled"
    assert event.details["evidence"]["same_moa"] is True and event.details["evidence"]["same_signed"]
    assert [r[0] for r in conn.execute("SELECT status FROM lineage")] == ["merged"]


def test_shared_moa_link_printed_by_a_third_row_is_no_evidence(tmp_path):
    """A link a third agreement also prints is not proof: the pair is not merged on it."""
    link = "FloridaDeptEnvironProtect_TFM"
    third = ("FL", "Florida Highway Patrol", "State Agency", TFM, D(2025, 1, 3), link)
    first = [("FL", "Florida Fish and Wildlife Conservation Commission", "State Agency", TFM,
              D(2025, 2, 14), link), third]
    second = [("FL", "Florida Department of Environmental Protection", "State Agency", TFM,
               D(2025, 2, 14), link), third]
    conn = build(tmp_path, participating(tmp_path, "01052026", first + [OTHER]),
                 participating(tmp_path, "01122026", second + [OTHER]))
    assert {e.kind for e in query.changes(conn)} == {"agreement_removed", "agreement_added"}


def test_state_misprinted_for_a_while(tmp_path):
    row = ("OH", "Hamilton County Sheriff's Office", "County", WSO, D(2025, 3, 1), "hamiltonCoOH_WSO")
    moved = ("IN",) + row[1:]
    conn = build(tmp_path, participating(tmp_path, "01052026", [row, OTHER]),
                 participating(tmp_path, "01122026", [moved, OTHER]),
                 participating(tmp_path, "01142026", [moved, OTHER, ETA]),
                 participating(tmp_path, "01192026", [row, OTHER, ETA]))
    found = sorted((e.kind, e.details["from_state"], e.details["to_state"])
                   for e in query.changes(conn, kind="state_corrected"))
    assert found == [("state_corrected", "IN", "OH"), ("state_corrected", "OH", "IN")]
    assert conn.execute("SELECT COUNT(*) FROM agencies").fetchone()[0] == 3  # Hamilton, Zeta, Eta
    assert conn.execute("SELECT COUNT(*) FROM agreements").fetchone()[0] == 3
    assert qa_failures(conn) == []
    # Counts per publication stay as ICE printed them.
    assert query.status(conn, D(2026, 1, 12))["participating"]["by_state"] == {"IN": 1, "OH": 1}


def test_same_name_in_two_states_is_not_a_state_correction_without_the_date(tmp_path):
    first = [("OH", "Madison County Sheriff's Office", "County", WSO, D(2025, 3, 1), None), OTHER]
    second = [("IN", "Madison County Sheriff's Office", "County", WSO, D(2025, 7, 2), None), OTHER]
    conn = build(tmp_path, participating(tmp_path, "01052026", first),
                 participating(tmp_path, "01122026", second))
    assert {e.kind for e in query.changes(conn)} == {"agreement_removed", "agreement_added"}


@pytest.mark.parametrize("copies", [
    [("FL", "City of Zephyr Police Department", "Municipality", TFM, D(2025, 4, 14), None),
     ("FL", "Zephyr Police Department", "Municipality", TFM, D(2025, 4, 14), "zephyr_TFM")],
    [("FL", "Cloud Police Dept.", "Municipality", TFM, D(2025, 4, 14), None),
     ("FL", "Cloud Police Services Department", "Municipality", TFM, D(2025, 4, 14), "cloud_TFM")],
    [("FL", "Cloud Police Department", "Municipality", TFM, D(2025, 4, 15), None),
     ("FL", "Cloud Police Department", "Municipality", TFM, D(2025, 4, 14), "cloud_TFM")],
])
def test_duplicate_row_deleted(tmp_path, copies):
    conn = build(tmp_path, participating(tmp_path, "01052026", copies + [OTHER]),
                 participating(tmp_path, "01122026", copies[1:] + [OTHER]))
    assert [e.kind for e in query.changes(conn)] == ["duplicate_row_removed"]
    no_departures(conn)
    assert qa_failures(conn) == []


def test_pending_signed_under_another_spelling(tmp_path):
    conn = build(tmp_path,
                 pending(tmp_path, "01052026", [("PA", "Smith Township Constable, PA", "Municipality", TFM),
                                                ("PA", "Jones Borough Police", "Municipality", TFM)]),
                 participating(tmp_path, "01052026", [OTHER]),
                 pending(tmp_path, "01122026", [("PA", "Jones Borough Police", "Municipality", TFM)]),
                 participating(tmp_path, "01152026", [OTHER, ("PA", "Constable Smith Township",
                                                              "Municipality", TFM, D(2026, 1, 9), None)]))
    signed = [e for e in query.changes(conn) if e.kind == "pending_signed"]
    assert [(e.agency_name, e.details["days_pending"]) for e in signed] == [
        ("Constable Smith Township", 10)]
    assert "model_changed" not in signed[0].details
    assert {e.kind for e in query.changes(conn)} == {"pending_signed", "agreement_added"}
    story = query.agency_story(conn, signed[0].agency_id)
    assert {s["spelling"] for s in story["spellings"]} == {"Smith Township Constable, PA",
                                                          "Constable Smith Township"}


def test_pending_signed_with_a_typo_and_another_model_is_flagged(tmp_path):
    conn = build(tmp_path,
                 pending(tmp_path, "01052026", [("OH", "Berrian County Sheriff's Office", "County", TFM)]),
                 participating(tmp_path, "01052026", [OTHER]),
                 pending(tmp_path, "01122026", []),
                 participating(tmp_path, "01262026", [OTHER, ("OH", "Berrien County Sheriff's Office",
                                                              "County", WSO, D(2026, 1, 20), None)]))
    (signed,) = [e for e in query.changes(conn) if e.kind == "pending_signed"]
    assert signed.details["model_changed"] == {"pending": "TFM", "signed": "WSO"}
    assert signed.details["days_pending"] == 21
    assert not [e for e in query.changes(conn) if e.kind == "pending_withdrawn"]


def test_withdrawal_is_provisional_while_the_window_is_open(tmp_path):
    gone = ("OH", "Alpha County Sheriff's Office", "County", TFM)
    files = [pending(tmp_path, "01052026", [gone]), participating(tmp_path, "01052026", [OTHER]),
             pending(tmp_path, "01122026", [])]
    conn = build(tmp_path, *files, participating(tmp_path, "01152026", [OTHER]))
    (event,) = [e for e in query.changes(conn) if e.kind == "pending_withdrawn"]
    assert event.details["provisional"] is True
    assert event.details["window_ends"] == "2026-02-11"
    ingest.ingest_paths(conn, [participating(tmp_path, "02202026", [OTHER, ETA])])
    (event,) = [e for e in query.changes(conn) if e.kind == "pending_withdrawn"]
    assert "provisional" not in event.details


def test_pending_rename_is_not_a_withdrawal(tmp_path):
    conn = build(tmp_path,
                 pending(tmp_path, "01052026", [("LA", "Lafitte County Sheriff's Office", "County", WSO)]),
                 pending(tmp_path, "01122026", [("LA", "Lafitte Parish Sheriff's Office", "County", WSO)]),
                 participating(tmp_path, "01122026", [OTHER]),
                 pending(tmp_path, "01192026", []),
                 participating(tmp_path, "01202026", [OTHER, ("LA", "Lafitte Parish Sheriff's Office",
                                                              "County", WSO, D(2026, 1, 16), None)]))
    found = events(conn)
    assert ("pending_renamed", "Lafitte Parish Sheriff's Office", "WSO") in found
    (signed,) = [e for e in query.changes(conn) if e.kind == "pending_signed"]
    assert signed.details["days_pending"] == 15  # from the first listing, under the old name
    assert not [e for e in query.changes(conn) if e.kind == "pending_withdrawn"]


def test_resigned_after_a_gap_links_to_the_old_agreement(tmp_path):
    row = ("OH", "Alpha County Sheriff's Office", "County", WSO, D(2025, 3, 1), None)
    again = row[:4] + (D(2026, 1, 20), None)
    conn = build(tmp_path, participating(tmp_path, "01052026", [row, OTHER]),
                 participating(tmp_path, "01122026", [OTHER]),
                 participating(tmp_path, "01192026", [OTHER]),
                 participating(tmp_path, "01262026", [OTHER, again]))
    (renewed,) = [e for e in query.changes(conn) if e.kind == "renewed"]
    old = conn.execute("SELECT agreement_id, status, succeeded_by FROM agreements"
                       " WHERE signed = '2025-03-01'").fetchone()
    assert renewed.details["previous_agreement"] == old["agreement_id"]
    assert (old["status"], old["succeeded_by"]) == ("removed", renewed.agreement_id)
    assert "agreement_added" not in {e.kind for e in query.changes(conn)}


def test_relisted_after_a_gap_with_a_corrected_date_is_reinstated(tmp_path):
    row = ("OH", "Alpha County Sheriff's Office", "County", WSO, D(2025, 3, 1), None)
    conn = build(tmp_path, participating(tmp_path, "01052026", [row, OTHER]),
                 participating(tmp_path, "01122026", [OTHER]),
                 participating(tmp_path, "01192026", [OTHER]),
                 participating(tmp_path, "01262026", [OTHER, row[:4] + (D(2025, 3, 2), None)]))
    assert [e[0] for e in events(conn)] == ["agreement_reinstated", "agreement_removed",
                                           "signing_date_corrected"]
    assert conn.execute("SELECT COUNT(*) FROM agreements").fetchone()[0] == 2


def test_removed_then_relisted_under_a_new_name_after_a_gap_is_reinstated(tmp_path):
    row = ("OH", "Dover Police Department", "Municipality", TFM, D(2025, 3, 1), None)
    renamed = ("OH", "Dover Police Services Department") + row[2:]
    conn = build(tmp_path, participating(tmp_path, "01052026", [row, OTHER]),
                 participating(tmp_path, "01122026", [OTHER]),
                 participating(tmp_path, "01192026", [OTHER, ETA]),
                 participating(tmp_path, "01262026", [OTHER, ETA, renamed]))
    kinds = [e[0] for e in events(conn)]
    assert sorted(kinds) == ["agreement_added", "agreement_reinstated", "agreement_removed"]  # + ETA
    (back,) = query.changes(conn, kind="agreement_reinstated")
    assert query.changes(conn, kind="agreement_removed") == []   # not confirmed: back within 7 days
    (gone,) = query.changes(conn, kind="agreement_removed", status="all")
    assert gone.status == "retracted" and "omission by ICE" in gone.summary
    assert back.agreement_id == gone.agreement_id
    assert (back.details["from_name"], back.details["to_name"]) == (row[1], renamed[1])
    assert conn.execute("SELECT COUNT(*) FROM agreements").fetchone()[0] == 3


def test_two_candidates_are_kept_apart(tmp_path):
    day = D(2025, 6, 1)
    first = [("OH", "Dover Police Department", "Municipality", TFM, day, None), OTHER]
    second = [("OH", "Dover Police Services Department", "Municipality", TFM, day, None),
              ("OH", "Dover Township Police Department", "Municipality", TFM, day, None), OTHER]
    conn = build(tmp_path, participating(tmp_path, "01052026", first),
                 participating(tmp_path, "01122026", second))
    assert "agreement_renamed" not in {e.kind for e in query.changes(conn)}
    assert [tuple(r) for r in conn.execute("SELECT status, reason FROM lineage")] == [
        ("review", "several candidates meet the threshold: kept apart")] * 2
    check = next(c for c in qa.run_checks(conn) if c.name.startswith("no lineage candidate"))
    assert (check.status, check.count) == ("warn", 2)


def test_append_gives_the_same_lineage_as_a_full_replay(tmp_path):
    files = [participating(tmp_path, "01052026", [("OH", "Ohio State Police", "State Agency", TFM,
                                                    D(2025, 6, 1), None), OTHER]),
             participating(tmp_path, "01122026", [("IN", "Ohio State Police Department", "State Agency",
                                                    TFM, D(2025, 6, 1), None), OTHER]),
             participating(tmp_path, "01192026", [("OH", "Ohio State Police Department", "State Agency",
                                                    TFM, D(2025, 6, 1), None), OTHER])]
    full = build(tmp_path / "full", *files)
    stepwise = store.connect(tmp_path / "step.sqlite")
    for file in files:
        ingest.ingest_paths(stepwise, [file])
    assert events(full) == events(stepwise)
    assert [tuple(r) for r in full.execute("SELECT * FROM lineage ORDER BY seq")] == \
        [tuple(r) for r in stepwise.execute("SELECT * FROM lineage ORDER BY seq")]


@pytest.mark.parametrize("a, b, expected", [
    ("Smith Township Constable, PA", "Constable Smith Township", 1.0),
    ("Berrian County Sheriff's Office", "Berrien County Sheriff's Office", 0.95),
    ("Lafourche County Sheriff's Office", "Lafourche Parish Sheriff's Office", 1.0),
])
def test_name_similarity(a, b, expected):
    sa, sb = lineage.name_parts(name_key(a), "PA"), lineage.name_parts(name_key(b), "PA")
    assert lineage.name_similarity(sa, sb) == expected


@pytest.mark.parametrize("a, b", [
    ("Palm Beach Police Department", "North Palm Beach Police Department"),
    ("Pima County Sheriff's Office", "Pinal County Sheriff's Office"),
    ("Hopewell County Sheriff's Office", "Tazewell County Sheriff's Office"),
    ("Smith Township Police Department", "Smith Borough Police Department"),
])
def test_different_places_are_not_near(a, b):
    sa, sb = lineage.name_parts(name_key(a), "PA"), lineage.name_parts(name_key(b), "PA")
    assert lineage.name_similarity(sa, sb) < lineage.NAME_ACCEPT


def test_link_key_folds_safelinks_scheme_host_and_case():
    wrapped = ("https://gcc02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.ice.gov%2F"
               "doclib%2F287gMOA%2FAlpha_TFM.pdf&data=1")
    assert lineage.link_key(wrapped) == lineage.link_key("http://ICE.gov/doclib/287gmoa/alpha_tfm.pdf")


def test_corrections_say_nothing_left_the_program_everywhere(tmp_path):
    """CLI/API (EventRecord.summary), the site and feeds (locale labels) in both languages."""
    for kind in CORRECTION_KINDS:
        assert "still" in catalog("en")[f"kind.{kind}"] and "sigue" in catalog("es")[f"kind.{kind}"]
        assert catalog("en")[f"kinddesc.{kind}"] and catalog("es")[f"kinddesc.{kind}"]
    conn = build(tmp_path,
                 participating(tmp_path, "01052026", [("OH", "Ohio State Police", "State Agency", TFM,
                                                       D(2025, 6, 1), None), OTHER]),
                 participating(tmp_path, "01122026", [("OH", "Ohio State Police Department",
                                                       "State Agency", TFM, D(2025, 6, 1), None), OTHER]))
    (event,) = query.changes(conn)
    assert "nothing left the program" in event.summary
    conn.close()
    with TestClient(create_app(tmp_path / "h.sqlite")) as client:
        body = client.get("/api/v1/changes").json()
        items = body["items"] if isinstance(body, dict) else body
        assert "nothing left the program" in items[0]["summary"]
        page = client.get(f"/agency/{event.agency_id}").text
        assert "Renamed by ICE (still in the program)" in page
        assert "Renamed by ICE (still in the program)" in client.get("/feeds/changes.atom").text


def test_departures_are_provisional_then_confirmed_or_retracted(tmp_path):
    """Absent from one sheet and back: a recorded omission (retracted). Absent from the sheet
    that dropped it and two more over 14 days: confirmed. Less so far: provisional. A reader
    asking for removals sees only the confirmed one by default."""
    kept = ("OH", "Alpha County Sheriff's Office", "County", WSO, D(2025, 3, 1), "alpha")
    omitted = ("OH", "Beta County Sheriff's Office", "County", WSO, D(2025, 4, 1), "beta")
    left = ("OH", "Gamma County Sheriff's Office", "County", WSO, D(2025, 5, 1), "gamma")
    late = ("OH", "Delta County Sheriff's Office", "County", WSO, D(2025, 6, 1), "delta")
    fresh = ("OH", "Epsilon County Sheriff's Office", "County", WSO, D(2026, 2, 1), "epsilon")
    conn = build(tmp_path,
                 participating(tmp_path, "01052026", [kept, omitted, left, late, OTHER]),
                 participating(tmp_path, "01062026", [kept, left, late, OTHER]),
                 participating(tmp_path, "01072026", [kept, omitted, late, OTHER]),
                 participating(tmp_path, "01142026", [kept, omitted, late, OTHER, ETA]),
                 participating(tmp_path, "01262026", [kept, omitted, OTHER, ETA]))
    found = {e.agency_name: e.status for e in query.changes(conn, kind="agreement_removed", status="all")}
    assert found == {omitted[1]: "retracted", left[1]: "confirmed", late[1]: "provisional"}
    assert [e.agency_name for e in query.changes(conn, kind="agreement_removed")] == [left[1]]
    assert [e.agency_name for e in query.changes(conn, status="provisional")] == [late[1]]
    # Going on from the stored history judges the stored departures again.
    ingest.ingest_paths(conn, [participating(tmp_path, "02022026", [kept, omitted, OTHER, ETA, fresh]),
                               participating(tmp_path, "02162026", [kept, omitted, OTHER, fresh])])
    found = {e.agency_name: e.status for e in query.changes(conn, kind="agreement_removed", status="all")}
    assert found == {omitted[1]: "retracted", left[1]: "confirmed", late[1]: "confirmed",  # 21 days
                     ETA[1]: "provisional"}
    assert qa_failures(conn) == []


@pytest.mark.parametrize("pending_name, signed_name", [
    ("Smith Township, PA", "Smith Township Constables Office"),          # role word on one side
    ("Jones Constable Office, PA", "Office of Constable Jones 6th Ward"),  # word order and a ward
    ("Smith Township Constbales, PA", "Smith Township Constables"),       # typo in the role word
    ("Pennsylvania Department of Corrections", "Pennsylvania DOC"),       # an initialism
])
def test_pending_signed_under_spellings_of_the_held_back_sheets(tmp_path, pending_name, signed_name):
    conn = build(tmp_path,
                 pending(tmp_path, "01052026", [("PA", pending_name, "Municipality", TFM)]),
                 participating(tmp_path, "01052026", [OTHER]),
                 pending(tmp_path, "01122026", []),
                 participating(tmp_path, "01152026", [OTHER, ("PA", signed_name, "Municipality", TFM,
                                                              D(2026, 1, 9), None)]))
    kinds = {e.kind for e in query.changes(conn, status="all")}
    assert kinds == {"pending_signed", "agreement_added"}, kinds


def test_state_misprint_fixed_later_signs_the_pending_entry_in_hindsight(tmp_path):
    name = "Hamilton County Sheriff's Office"
    conn = build(tmp_path,
                 pending(tmp_path, "01052026", [("OH", name, "County", WSO)]),
                 participating(tmp_path, "01052026", [OTHER]),
                 pending(tmp_path, "01122026", []),
                 participating(tmp_path, "01122026", [OTHER, ("IN", name, "County", WSO, D(2026, 1, 9), "ham")]),
                 participating(tmp_path, "01192026", [OTHER, ETA, ("IN", name, "County", WSO, D(2026, 1, 9), "ham")]),
                 participating(tmp_path, "02262026", [OTHER, ETA, ("OH", name, "County", WSO, D(2026, 1, 9), "ham")]))
    found = {e.kind: e for e in query.changes(conn, status="all")}
    assert "pending_withdrawn" not in found
    assert found["pending_signed"].details["days_pending"] == 7   # listed (misprinted) on 01-12
    assert found["state_corrected"].details["to_state"] == "OH"


def test_renewal_across_a_gap_under_another_eras_spelling_is_one_agency(tmp_path):
    old = ("OH", "Walker County Sheriff's Office", "County", "Jail Enforcement Model", D(2017, 7, 20), None)
    new = ("OH", "Walker County Sheriff's Department", "County", "Jail Enforcement Model", D(2025, 2, 24), "w")
    conn = build(tmp_path, participating(tmp_path, "01052026", [old, OTHER]),
                 participating(tmp_path, "01122026", [OTHER]),
                 participating(tmp_path, "01262026", [OTHER, ETA]),
                 participating(tmp_path, "02092026", [OTHER, ETA, new]))
    kinds = [e.kind for e in query.changes(conn, status="all")]
    assert "agreement_added" not in [e.kind for e in query.changes(conn, state="OH")
                                     if e.agency_name.startswith("Walker")], kinds
    (renewed,) = query.changes(conn, kind="renewed")
    assert (renewed.details["from_name"], renewed.details["to_name"]) == (old[1], new[1])
    assert conn.execute("SELECT COUNT(*) FROM agencies WHERE name LIKE 'Walker%'").fetchone()[0] == 1


def test_addendum_row_belongs_to_the_agreement_it_amends(tmp_path):
    main = ("OH", "Bern County Sheriff's Office", "County", "Jail Enforcement Model", D(2008, 1, 17), None)
    addendum = ("OH", "Bern County Sheriff's Office Addendum", "County", "Jail Enforcement Model",
                D(2013, 10, 11), "bern-addendum")
    conn = build(tmp_path, participating(tmp_path, "01052026", [main, OTHER]),
                 participating(tmp_path, "01122026", [addendum, OTHER]))
    # The addendum's document is published on the agreement; nothing left, nothing joined.
    assert [e.kind for e in query.changes(conn, status="all")] == ["moa_published"]
    assert conn.execute("SELECT COUNT(*) FROM agencies").fetchone()[0] == 2
    assert conn.execute("SELECT COUNT(*) FROM agreements").fetchone()[0] == 2


def test_renewal_across_an_unseen_stretch_under_another_spelling_is_one_agency(tmp_path):
    """The last sheet before a long gap lists the old spelling, the first after it the new one
    with a later date (the 2017 → 2025 web roster → ICE sheet stretch): a renewal."""
    old = ("OH", "Walker County Sheriff's Office", "County", "Jail Enforcement Model", D(2017, 7, 20), None)
    new = ("OH", "Walker County Sheriff's Department", "County", "Jail Enforcement Model", D(2025, 2, 24), "w")
    conn = build(tmp_path, participating(tmp_path, "01052026", [old, OTHER]),
                 participating(tmp_path, "03162026", [new, OTHER]))
    kinds = sorted(e.kind for e in query.changes(conn, status="all"))
    assert kinds == ["agreement_renamed", "renewed"], kinds
    assert conn.execute("SELECT COUNT(*) FROM agencies WHERE name LIKE 'Walker%'").fetchone()[0] == 1


def test_a_signing_date_of_their_own_relabels_or_waits_for_review(tmp_path):
    """No link: a row vanishes and one appears with the same signing date, which no other
    arriving or leaving agreement has. Names alike (one place): the same agreement,
    relabelled. Names with nothing in common: a review item, and the removal stays
    provisional however long it lasts, until a reviewer says it is another agency."""
    day, other_day = D(2025, 7, 31), D(2025, 8, 28)
    sheriff = ("PA", "Cambria County Sheriff's Office", "County", WSO, day, None)
    prison = ("PA", "Cambria County Prison", "County", WSO, day, None)
    lucas = ("OH", "Lucas County Sheriff's Office", "County", TFM, other_day, None)
    licking = ("OH", "Licking County Sheriff's Office", "County", TFM, other_day, None)
    conn = build(tmp_path, participating(tmp_path, "01052026", [sheriff, lucas, OTHER]),
                 participating(tmp_path, "01122026", [prison, licking, OTHER]),
                 participating(tmp_path, "01192026", [prison, licking, OTHER]),
                 participating(tmp_path, "01262026", [prison, licking, OTHER]))
    changes = query.changes(conn, status="all")
    assert [e.model for e in changes if e.kind == "agreement_relabelled"] == ["WSO"]
    removed = {e.agency_name: e.status for e in changes if e.kind == "agreement_removed"}
    assert removed == {lucas[1]: "provisional"}
    assert [e.agency_name for e in query.changes(conn, kind="agreement_removed")] == []
    assert conn.execute("SELECT COUNT(*) FROM lineage WHERE status = 'review'").fetchone()[0] == 1


@pytest.mark.parametrize(("state", "a", "b", "same"), [
    ("TX", "Parker County", "Parmer County", False),       # two real counties a letter apart
    ("MN", "Freedom County", "Freeborn County", None),     # a misprint: no such county in MN
    ("TX", "Somervill", "Somervell County", None),
    ("TX", "Dallas County", "Dallas", True)])
def test_counties_are_compared_as_places(state, a, b, same):
    assert lineage.same_county(state, a, state, b) is same
