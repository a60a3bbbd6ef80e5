"""Counties, FBI roster, coverage, maps and GeoJSON on the real archive and reference files."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from g287.cli import app
from g287.places import coverage, geojson, geometry, maps, reference
from g287.places.counties import match_county
from g287.places.roster import match_roster


@pytest.mark.parametrize("state, name, kind, county, fips, method", [
    ("FL", "Miami-Dade Sheriff's Office", "County", "Miami-Dade County", "12086", "county_column"),
    ("LA", "Plaquemines Parish Sheriff's Office", "County", "Plaquemines Parish", "22075", "county_column"),
    ("LA", "Saint Landry Parish Sheriff's Office", "County", "Saint Landry County", "22097", "county_column"),
    ("VA", "Richmond City Sheriff's Office", "County", None, "51760", "agency_name"),
    ("VA", "Richmond County Sheriff's Office", "County", None, "51159", "agency_name"),
    ("MD", "Baltimore City Police Department", "Municipality", None, "24510", "agency_name"),
    ("TX", "Bexar County Sheriff's Office", "County", None, "48029", "agency_name"),  # COUNTY #N/A
    ("FL", "Lake County Sheriff's Office", "County", "Lake Conty", "12069", "county_column"),
    ("FL", "Flagler County Sheriff's Office", "County", "Flager County", "12035", "county_column_fuzzy"),
    ("CT", "Hartford Police Department", "Municipality", "Hartford County", "09003", "county_column"),
    ("MI", "Berrian County Sheriff's Office", "County", "Berrian County", "26021", "override"),
])
def test_known_county_matches(state, name, kind, county, fips, method):
    match = match_county(state, name, kind, county)
    assert (match.fips, match.method) == (fips, method)


def test_state_agency_maps_to_its_state():
    match = match_county("FL", "Florida Highway Patrol", "State Agency", None)
    assert (match.fips, match.level) == (None, "state")


def test_unmatched_municipal_agency_says_why():
    match = match_county("FL", "Sunny Isles Police Department", "Municipality", None)
    assert match.fips is None and "no county" in match.reason


def test_county_match_rate_on_last_publication(history_db):
    """Done-when: >= 98% of county-level agencies on the last shared publication have a FIPS."""
    report = coverage.match_report(history_db)
    assert report.publication["file"] == "participatingAgencies07072025pm.xlsx"
    assert report.county_level == 402 and report.county_rate >= 98
    assert all(u["reason"] for u in report.unmatched)


def test_rules_alone_reach_98_percent(history_db, monkeypatch):
    """Without the override file the rules still match >= 98% (overrides only finish the job)."""
    from g287.places import counties
    monkeypatch.setattr(counties, "overrides", lambda: {})
    coverage.clear_placements()  # placements are memoized per process
    try:
        report = coverage.match_report(history_db)
        assert not any(p.county.method == "override" for p in coverage.placed_agencies(history_db)[1])
    finally:
        coverage.clear_placements()
    assert report.county_matched / report.county_level >= 0.98


@pytest.mark.parametrize("state, name, kind, county, ori, officers", [
    # each row looked up by hand in reference/fbi_police_employees.csv
    ("FL", "Miami-Dade Sheriff's Office", "County", "Miami-Dade County", "FL0130000", 3081),
    ("AL", "Tuscumbia Police Department", "Municipality", "Colbert County", "AL0200200", 18),
    ("FL", "St. Johns County Sheriff's Office", "County", "St. Johns County", "FL0550000", 436),
    ("FL", "Miami Dade Corrections and Rehabilitation", "County", "Miami-Dade County", "FL0130000", 3081),
    ("GA", "Floyd County Sheriff's Office", "County", "Floyd County", "GA0570000", 85),
])
def test_hand_checked_roster_matches(state, name, kind, county, ori, officers):
    match = match_roster(state, name, kind, county)
    assert (match.ori, match.officers, match.ambiguous) == (ori, officers, False)


def test_a_county_jail_never_takes_the_sheriffs_record():
    """Oldham County (KY): the roster's County records are the sheriff ("Oldham") and the
    county police; its detention center is neither."""
    match = match_roster("KY", "Oldham County Detention Center", "County", "Oldham County")
    assert match.ori is None and "KY0930000" not in match.candidates


def test_population_zero_is_missing_not_zero():
    floyd = next(a for a in reference.roster() if a.ori == "GA0570000")
    assert floyd.population is None and floyd.officers == 85


def test_nebraska_fbi_code_read_as_ne():
    assert any(a.state == "NE" for a in reference.roster())
    assert not any(a.state == "NB" for a in reference.roster())


def test_coverage_counts_an_ori_once(history_db):
    result = coverage.coverage(history_db)
    assert result["publication"]["file"] == "participatingAgencies07072025pm.xlsx"
    _, placed = coverage.placed_agencies(history_db)
    miami = [p for p in placed if p.roster.ori == "FL0130000"]
    assert len(miami) == 2  # sheriff and corrections share the ORI (PEERS 30)
    by_ori = {p.roster.ori: p.roster.officers for p in placed if p.roster.ori and p.roster.officers is not None}
    assert result["officers"]["sworn"] == sum(by_ori.values())
    pop = result["population"]
    assert 0 < pop["covered"] < pop["us_total"] == 334_914_895
    assert pop["data_year"] == 2023 and "county-level agency" in pop["method"]


def test_coverage_before_the_archive_is_empty(history_db):
    assert coverage.coverage(history_db, dt.date(2024, 1, 1))["publication"] is None


def test_svg_has_one_shape_per_county_and_known_fills(history_db, tmp_path):
    data = maps.map_data(history_db, dt.date(2025, 7, 7))
    svg = maps.write_map(data, tmp_path / "map.svg").read_text()
    fips = re.findall(r'<path id="f(\d{5})" data-fips="\1" fill="([^"]+)"', svg)
    assert len(fips) == len(geometry.projected("county")) == 3142
    fills = dict(fips)
    assert fills["12086"] != maps.NONE_FILL  # Miami-Dade (FL) has county-level agreements
    assert fills["06037"] == maps.NONE_FILL  # Los Angeles County (CA) has none
    assert fills["48167"] != maps.NONE_FILL  # Galveston County (TX)
    assert "participatingAgencies07072025pm.xlsx" in svg and "Counties whose sheriff" in svg


def test_model_filter_and_state_level(history_db, tmp_path):
    svg = maps.render_svg(maps.map_data(history_db, None, "state", "TFM"))
    assert len(re.findall(r'data-fips="\d{2}"', svg)) == len(geometry.projected("state"))
    assert "TFM agreements by state" in svg


def test_png_renders(history_db, tmp_path):
    path = maps.write_map(maps.map_data(history_db), tmp_path / "map.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 50_000


def test_small_multiples_one_frame_per_month(history_db):
    svg = maps.small_multiples(history_db)
    assert [d.isoformat() for d in maps.month_ends(history_db)] == ["2025-05-31", "2025-06-30", "2025-07-07"]
    assert svg.count("participatingAgencies") == 3


def test_geojson_joins_agreements_to_counties(history_db):
    collection = geojson.agreements_geojson(history_db, dt.date(2025, 6, 6))
    assert collection["publication"]["file"] == "participatingAgencies06062025am.xlsx"
    miami = next(f for f in collection["features"] if f["id"] == "12086")
    assert miami["geometry"]["type"] == "MultiPolygon"
    lon, lat = miami["geometry"]["coordinates"][0][0][0]
    assert -81.5 < lon < -80 and 25 < lat < 26.5
    total = sum(f["properties"]["agreements"] for f in collection["features"]) + sum(
        len(u["agreements"]) for u in collection["unplaced"])
    assert total == 649


def test_cli_map_and_places(history_path, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["map", "--level", "state", "-o", str(tmp_path / "m.svg"), "--db",
                                 str(history_path)])
    assert result.exit_code == 0, result.output
    report = runner.invoke(app, ["places", "--json", "--db", str(history_path)])
    assert json.loads(report.stdout)["county_rate"] >= 98
    bad = runner.invoke(app, ["map", "-o", str(tmp_path / "m.gif"), "--db", str(history_path)])
    assert bad.exit_code == 2 and "use a .svg or .png" in bad.stderr
    assert Path(tmp_path / "m.svg").exists()


def test_real_county_agency_printed_with_na_county(history_db):
    """A real County-type row whose COUNTY cell is the Excel error #N/A gets its county from its name."""
    row = history_db.execute(
        "SELECT state, agency_name, agency_type FROM sheet_rows WHERE agency_type = 'County'"
        " AND json_extract(raw, '$.COUNTY') = '#N/A' AND agency_name LIKE '%County Sheriff%' LIMIT 1").fetchone()
    assert row is not None, "the archive has County rows printed with #N/A"
    match = match_county(row[0], row[1], row[2], None)
    assert match.fips and match.method == "agency_name", (row, match)


@pytest.mark.parametrize("state, name, wrong_ori", [
    ("AZ", "Arizona Department of Corrections", "AZCCHPX00"),   # the FBI file's Arizona DPS
    ("OK", "Oklahoma Department of Public Safety", "OK055025C"),  # the FBI file's Oklahoma DOC
])
def test_state_name_alone_never_matches(state, name, wrong_ori):
    match = match_roster(state, name, "State Agency")
    assert match.ori != wrong_ori and wrong_ori not in match.candidates


@pytest.mark.parametrize("state, name, kind, ori, method", [
    # each record looked up by hand in reference/fbi_police_employees.csv
    ("OK", "Oklahoma Department of Corrections", "State Agency", "OK055025C", "exact"),
    ("TN", "Tennessee Department of Corrections", "State Agency", "TN019410X", "exact"),  # "Department of Correction,"
    ("LA", "Louisiana State Patrol", "State Agency", "LALSP0000", "state_police"),
    ("MO", "Missouri Highway Patrol", "State Agency", "MOMHP0000", "state_police"),
    ("VA", "Virginia Department of State Police", "State Agency", "VAVSP0000", "state_police"),
    ("FL", "University of Florida Police Department", "State Agency", "FL0010600", "exact"),
    ("FL", "University of West Florida Police Department", "State Agency", "FL0170400", "exact"),
])
def test_state_police_patrols_and_universities_find_their_record(state, name, kind, ori, method):
    match = match_roster(state, name, kind)
    assert (match.ori, match.method) == (ori, method)


def test_highway_patrol_with_troops_by_county_is_ambiguous_not_guessed():
    match = match_roster("FL", "Florida Department of Highway Safety and Motor Vehicles, Division of Highway "
                               "Patrol", "State Agency")
    assert match.ori is None and match.ambiguous and len(match.candidates) > 1


def test_agency_name_beats_a_contradicting_county_cell():
    """ICE printed COUNTY "Macon County" for Madison County (TN) Sheriff's Office."""
    match = match_county("TN", "Madison County Sheriff's Office", "County", "Macon County")
    assert (match.fips, match.method) == ("47113", "agency_name")
    assert "Macon" in match.conflict and "Madison" in match.conflict
    agreeing = match_county("TN", "Macon County Sheriff's Office", "County", "Macon County")
    assert agreeing.fips == "47111" and not agreeing.conflict


def test_police_department_takes_its_county_from_the_fbi_record():
    county, roster = coverage.place("AL", "Tuscumbia Police Department", "Municipality", None)
    assert roster.ori == "AL0200200" and roster.counties == ("COLBERT",)
    assert (county.fips, county.method) == ("01033", "fbi_roster_county") and "AL0200200" in county.reason


def test_places_headline_is_per_agency_type_and_no_ori_is_taken_twice(history_db):
    report = coverage.match_report(history_db)
    for kind, c in report.by_type.items():
        assert c["placed_in_county"] + c["state_wide"] + c["unplaced"] == c["agencies"], kind
        assert c["fbi_matched"] + c["fbi_ambiguous"] + c["fbi_unmatched"] == c["agencies"], kind
    assert report.by_type["Municipality"]["county_by_fbi_roster_county"] > 100
    assert any(c["agency"] == "Madison County Sheriff's Office" for c in report.conflicts)
    _, placed = coverage.placed_agencies(history_db)
    holders: dict[str, set[tuple[str, str]]] = {}
    for p in placed:
        if p.roster.ori and p.roster.method != "override":
            holders.setdefault(p.roster.ori, set()).add(coverage._kind(p.name))
    assert {ori: kinds for ori, kinds in holders.items() if len(kinds) > 1} == {}
    nassau = [p for p in placed if p.state == "NY" and p.name.startswith("Nassau County")]
    assert len(nassau) == 2 and all(p.roster.ambiguous and p.roster.ori is None for p in nassau)


def test_agency_page_place_is_the_figures_place(history_db):
    _, placed = coverage.placed_agencies(history_db)
    sheriff = next(p for p in placed if p.state == "NY" and p.name == "Nassau County Sheriff's Office")
    assert coverage.agency_place(history_db, sheriff.agency_id).roster.ambiguous


def test_officer_counts_are_labelled_as_employed_not_deputized(history_db):
    officers = coverage.coverage(history_db)["officers"]
    assert officers["label"].startswith("sworn officers employed by participating agencies (FBI, ")
    assert "not the officers ICE trained or deputized" in officers["method"]
