"""Placeholder text in any cell is a missing value, flagged, never stored as a value."""

from __future__ import annotations

import datetime as dt

import pytest

from g287 import normalize as nz
from g287.read import read_sheet
from sheets import PARTICIPATING_HEADER, PENDING_HEADER, write_sheet


@pytest.mark.parametrize("text", ["#N/A", "#n/a", "N/A", "n / a", "#NA", "NA", "N.A.", "-", "--",
                                  "\u2014", "TBD", "tbd", "TBA", "link pending", "Link Pending ",
                                  "\u200b", "\xa0", " \u200b\xa0\ufeff ", "#REF!", "unknown", "?"])
def test_placeholder_spellings(text):
    assert nz.placeholder(text)


@pytest.mark.parametrize("text", ["Smith", "Nassau County", "Naples Police Department", "N",
                                  "Pennsylvania", "Task Force Model", "link"])
def test_values_are_not_placeholders(text):
    assert not nz.placeholder(text)


def test_placeholder_cells_read_as_missing_and_flagged(tmp_path):
    rows = [
        ["TEXAS", "Smith County Sheriff's Office", "County", "N/A", "Task Force Model", "TBD", "-"],
        ["TEXAS", "#n/a", "County", "\u200b", "Task Force Model", dt.date(2025, 5, 1), "link"],
        ["\xa0\u200b", "Jones Police Department", "TBD", "Jones County", "N/A",
         dt.date(2025, 5, 2), "link pending"],
    ]
    path = write_sheet(tmp_path / "participatingAgencies05202025am.xlsx", PARTICIPATING_HEADER, rows)
    sheet = read_sheet(path.read_bytes(), path.name)
    first, second, third = sheet.rows
    assert (first.county, first.signed, first.moa_status, first.moa_url) == (None, None, "none", None)
    assert {(i.column, i.code, i.raw) for i in first.issues} >= {
        ("COUNTY", "county_missing", "N/A"), ("SIGNED", "placeholder", "TBD"),
        ("MOA", "placeholder", "-")}
    assert not [i for i in first.issues if i.code == "signed_missing"]
    assert second.agency_name == "" and second.county is None
    assert ("AGENCY", "placeholder", "#n/a") in {(i.column, i.code, i.raw) for i in second.issues}
    assert (third.state, third.agency_type, third.model) == (None, None, None)
    codes = {(i.column, i.code) for i in third.issues}
    assert {("STATE", "placeholder"), ("TYPE", "placeholder"), ("SUPPORT", "placeholder")} <= codes
    assert third.moa_status == "pending"
    assert third.raw["STATE"] == "\xa0\u200b"  # the printed cell is kept as printed


def test_placeholder_never_becomes_a_county_or_agency(tmp_path):
    path = write_sheet(tmp_path / "pendingAgencies05202025am.xlsx", PENDING_HEADER,
                       [["FLORIDA", "Smith Police Department", "Municipality", "#N/A ",
                         "Task Force Model"],
                        ["FLORIDA", "TBD", "County", "-", "Task Force Model"]])
    sheet = read_sheet(path.read_bytes(), path.name)
    assert [r.county for r in sheet.rows] == [None, None]
    assert [r.name_key for r in sheet.rows] == ["smith police department", ""]
