"""Reading ICE's sheets: every quirk in shared/data/README.md, on the real file it occurs in,
plus synthetic files for formats the archive lacks."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from conftest import sheet
from g287.read import SheetError, read_sheet
from g287.xlsx import WorkbookError
from sheets import PARTICIPATING_HEADER, PENDING_HEADER, write_sheet

FIRST = ("sheets_20250519_024330", "participatingAgencies05162025am.xlsx")
LAST = ("sheets_20250708_151823", "participatingAgencies07072025pm.xlsx")


def read(path: Path):
    return read_sheet(path.read_bytes(), path.name)


def test_blank_trailing_rows_are_skipped(ice_sheets):
    """Quirk 8: the first file declares 586 rows for 571 records."""
    result = read(sheet(ice_sheets, *FIRST))
    assert len(result.rows) == 571
    assert result.list_name == "participating"
    assert result.header == PARTICIPATING_HEADER


def test_county_na_is_an_error_cell_kept_raw(ice_sheets):
    """Quirk 7: COUNTY #N/A is an Excel error cell; read as missing, raw value kept."""
    rows = read(sheet(ice_sheets, *LAST)).rows
    missing = [r for r in rows if r.county is None]
    assert Counter(r.raw["COUNTY"] for r in missing) == {"#N/A": 223, "N/A": 1}
    assert all(any(i.code == "county_missing" for i in r.issues) for r in missing)


def test_moa_hyperlinks_and_safelinks_unwrapped(ice_sheets):
    """Quirk 6: URLs are cell hyperlinks; 203 of the 640 links on 07-07 pm are SafeLinks."""
    rows = read(sheet(ice_sheets, *LAST)).rows
    links = [r.raw[k] for r in rows for k in ("MOA_HYPERLINK", "ADDENDUM_HYPERLINK") if k in r.raw]
    assert len(links) == 640
    assert sum("safelinks.protection.outlook.com" in link for link in links) == 203
    urls = [u for r in rows for u in (r.moa_url, r.addendum_url) if u]
    assert len(urls) == 640
    assert all(u.startswith(("https://www.ice.gov/", "http://www.ice.gov/")) for u in urls)


def test_moa_link_pending_variants_and_url_as_text(ice_sheets):
    """Quirk 6: `link pending` has no hyperlink; University of Florida PD's cell holds the URL."""
    rows = read(sheet(ice_sheets, *FIRST)).rows
    assert Counter(r.moa_status for r in rows) == {"linked": 416, "pending": 152, "unlinked": 3}
    uf = next(r for r in rows if r.agency_name == "University of Florida Police Department")
    assert uf.moa_url == "https://www.ice.gov/doclib/287gMOA/UnivFLPDFL_TFM_MOA_041525.pdf"


def test_link_addendum_text_without_hyperlink(ice_sheets):
    """Quirk 5: before ADDENDUM existed, three Texas rows printed `link | addendum`, unlinked."""
    rows = read(sheet(ice_sheets, *FIRST)).rows
    unlinked = sorted(r.agency_name for r in rows if r.moa_status == "unlinked")
    assert unlinked == ["Aransas County Sheriff's Office",
                        "Montgomery County Sheriff’s Office", "Nueces County Sheriff's Office"]


def test_addendum_column_appears(ice_sheets):
    """Quirk 5: ADDENDUM appears from 07-01 pm, with hyperlinks of its own."""
    result = read(sheet(ice_sheets, "sheets_20250702_151826", "participatingAgencies07012025pm.xlsx"))
    assert result.header[-1] == "ADDENDUM"
    with_addendum = [r for r in result.rows if r.addendum_url]
    assert with_addendum and all("ice.gov" in r.addendum_url for r in with_addendum)


def test_state_typos_repaired_and_flagged(ice_sheets):
    """Quirk 9: UTAHJ (Weber County SO) and AlABAMA (pending 06-06 am)."""
    rows = read(sheet(ice_sheets, *LAST)).rows
    weber = next(r for r in rows if r.raw["STATE"] == "UTAHJ")
    assert weber.state == "UT" and weber.agency_name == "Weber County Sheriff's Office"
    assert any(i.code == "state_typo" for i in weber.issues)
    pending = read(sheet(ice_sheets, "sheets_20250606_151618", "pendingAgencies06062025am.xlsx"))
    assert pending.list_name == "pending"
    alabama = next(r for r in pending.rows if r.raw["STATE"] == "AlABAMA")
    assert alabama.state == "AL" and any(i.code == "state_case" for i in alabama.issues)


def test_signed_text_missing_slash(ice_sheets):
    """Quirk 9: Campbell County SO (VA) SIGNED is the text 05/082025 in every file."""
    rows = read(sheet(ice_sheets, *FIRST)).rows
    campbell = next(r for r in rows if r.state == "VA" and r.agency_name.startswith("Campbell"))
    assert campbell.raw["SIGNED"] == "05/082025"
    assert campbell.signed == dt.date(2025, 5, 8)
    assert any(i.code == "signed_text_repaired" for i in campbell.issues)


def test_trailing_spaces_and_curly_apostrophes(ice_sheets):
    """Quirk 9: trailing spaces are tidied (raw kept); ’ and ' meet in one name key."""
    rows = read(sheet(ice_sheets, *FIRST)).rows
    spaced = [r for r in rows if str(r.raw["AGENCY"]) != r.agency_name]
    assert spaced and all(r.agency_name == str(r.raw["AGENCY"]).strip() for r in spaced)
    keys = {r.name_key for r in rows if r.agency_name.startswith("Galveston County Sheriff")}
    assert keys == {"galveston county sheriffs office"}


def test_duplicate_row_is_kept_as_printed(ice_sheets):
    """Quirk 10: St. Cloud PD (FL, TFM) twice in the 07-03 pm file captured on 07-03."""
    rows = read(sheet(ice_sheets, "sheets_20250703_151805", "participatingAgencies07032025pm.xlsx")).rows
    assert len(rows) == 753
    st_cloud = [r for r in rows if "St. Cloud" in r.agency_name and r.model == "TFM"]
    assert len(st_cloud) == 2


def test_other_column_order_extra_column_and_header_variants(tmp_path):
    header = ["Agency Name", "State", "Support  Type", "Date Signed", "Notes", "County", "Type", "MOA"]
    path = write_sheet(tmp_path / "participatingAgencies01022026am.xlsx", header, [
        ["Example Police Dept", "TEXAS", "Task Force Model ", dt.date(2025, 3, 1), "x",
         "#N/A", "Municipal", "link"],
    ], links={(0, 7): "https://www.ice.gov/doclib/287gMOA/Example.pdf"})
    result = read(path)
    row = result.rows[0]
    assert (row.state, row.model, row.signed, row.agency_type) == (
        "TX", "TFM", dt.date(2025, 3, 1), "Municipality")
    assert row.county is None and row.raw["COUNTY"] == "#N/A"
    assert row.moa_url == "https://www.ice.gov/doclib/287gMOA/Example.pdf"
    assert row.raw["Notes"] == "x"
    assert any(i.code == "column_extra" and i.column == "Notes" for i in result.issues)


def test_missing_signed_column_and_text_dates(tmp_path):
    header = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "MOA"]
    path = write_sheet(tmp_path / "participatingAgencies01032026pm_b.xlsx", header,
                       [["FLORIDA", "A Sheriff's Office", "County", "A County", "Warrant Service Officer",
                         "link pending"]])
    result = read(path)
    assert result.label.suffix == "b"
    assert any(i.code == "column_missing" and i.column == "SIGNED" for i in result.issues)
    assert result.rows[0].signed is None


@pytest.mark.parametrize("text, expected, flag", [
    ("05/082025", dt.date(2025, 5, 8), "signed_text_repaired"),
    ("7/72025", dt.date(2025, 7, 7), "signed_text_repaired"),
    ("June 5", None, "signed_unreadable"),
    ("#VALUE!", None, "placeholder"),
])
def test_text_where_a_date_should_be(tmp_path, text, expected, flag):
    path = write_sheet(tmp_path / "participatingAgencies01042026am.xlsx", PARTICIPATING_HEADER,
                       [["OHIO", "B Police Department", "Municipality", "#N/A", "Task Force Model",
                         text, "link pending"]])
    row = read(path).rows[0]
    assert row.signed == expected
    assert any(i.code == flag for i in row.issues)


def test_missing_required_column_is_a_clear_error(tmp_path):
    path = write_sheet(tmp_path / "pendingAgencies01052026am.xlsx",
                       ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE"], [["OHIO", "C PD", "Municipality"]])
    with pytest.raises(SheetError, match="SUPPORT"):
        read(path)


def test_empty_sheet(tmp_path):
    path = write_sheet(tmp_path / "pendingAgencies01062026am.xlsx", [], [])
    with pytest.raises(SheetError, match="no header row"):
        read(path)


def test_pending_list_detected_from_headers_when_name_is_unknown(tmp_path):
    path = write_sheet(tmp_path / "agencies-download.xlsx", PENDING_HEADER,
                       [["IOWA", "D County Sheriff's Office", "County", "D County",
                         "Jail Enforcement Model"]])
    result = read(path)
    assert result.list_name == "pending"
    assert any(i.code == "list_from_headers" for i in result.issues)


def test_non_xlsx_named_xlsx(tmp_path):
    path = tmp_path / "participatingAgencies01072026am.xlsx"
    path.write_text("<html><body>Access denied</body></html>")
    with pytest.raises(WorkbookError, match="not a zip"):
        read(path)


def test_truncated_zip(ice_sheets, tmp_path):
    content = sheet(ice_sheets, *FIRST).read_bytes()
    path = tmp_path / "participatingAgencies01082026am.xlsx"
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(WorkbookError, match="truncated or corrupt"):
        read(path)
    assert not zipfile.is_zipfile(path)
