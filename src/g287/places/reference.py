"""Loaders for the Census and FBI reference files.

Files are read from ``$G287_DATA_DIR/reference`` when a copy is there, else from the
compressed copies shipped in the package (``g287 sources`` lists them), and cached per
process. Two geographies meet here: the county list and population are Census 2023
(Connecticut's planning regions, Alaska's 02063/02066), the map is the 2017 cartographic
boundary file (Connecticut's old counties, Alaska's 02261).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from g287.config import reference_location, reference_text
from g287.normalize import STATES

FIPS_TO_STATE = {fips: code for code, (fips, _) in STATES.items()}
# FBI state codes that differ from USPS.
FBI_STATE = {"NB": "NE"}


@dataclass(frozen=True, slots=True)
class County:
    fips: str
    state: str          # USPS
    name: str           # "Miami-Dade County", "St. Louis city", "Capitol Planning Region"
    population: int | None
    year: int | None


@cache
def counties() -> dict[str, County]:
    """Counties of the 50 states and DC (Census 2023 list) plus Puerto Rico (gazetteer)."""
    out: dict[str, County] = {}
    for row in csv.DictReader(io.StringIO(reference_text("county_population.csv"))):
        out[row["fips"]] = County(row["fips"], FIPS_TO_STATE[row["state_fips"]], row["county"],
                                  int(row["population"]), int(row["year"]))
    for row in csv.DictReader(io.StringIO(reference_text("county_gazetteer_2024.csv"))):
        if row["GEOID"] not in out:
            out[row["GEOID"]] = County(row["GEOID"], row["USPS"], row["NAME"], None, None)
    # Units only the 2017 map has: Connecticut's former counties (ICE still prints them)
    # and Alaska's Valdez-Cordova. No 2023 population exists for them. The map is read
    # here without being kept (8 MiB): an ingest needs the counties, not the shapes.
    for geometry in json.loads(reference_text("counties-10m.json"))["objects"]["counties"]["geometries"]:
        fips = geometry["id"]
        if fips not in out and fips[:2] in FIPS_TO_STATE:
            suffix = "" if fips == "02261" else " County"
            out[fips] = County(fips, FIPS_TO_STATE[fips[:2]], geometry["properties"]["name"] + suffix,
                               None, None)
    return out


@dataclass(frozen=True, slots=True)
class RosterAgency:
    ori: str
    data_year: int
    name: str
    state: str           # USPS (FBI's NB read as NE)
    counties: tuple[str, ...]   # upper-case county names as the FBI lists them
    agency_type: str     # City, County, Other, University or College, Other State Agency, ...
    population: int | None      # None where the FBI gives 0 (no jurisdiction population)
    officers: int | None
    civilians: int | None


def _int(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


@cache
def roster() -> list[RosterAgency]:
    """The FBI Law Enforcement Employees roster (latest record per ORI since 2018)."""
    return [RosterAgency(
        row["ori"], int(row["data_year"]), row["pub_agency_name"].strip(),
        FBI_STATE.get(row["state_abbr"], row["state_abbr"]),
        tuple(c.strip() for c in row["county_name"].split(",") if c.strip()),
        row["agency_type_name"], _int(row["population"]) or None,
        _int(row["officer_ct"]), _int(row["civilian_ct"]))
        for row in csv.DictReader(io.StringIO(reference_text("fbi_police_employees.csv")))]


@cache
def topology(name: str = "counties-10m.json") -> dict:
    """The us-atlas TopoJSON (2017 Census cartographic boundaries)."""
    return json.loads(reference_text(name))


@dataclass(frozen=True, slots=True)
class Source:
    file: str
    what: str
    source: str
    date: str
    license: str
    location: str       # "package" or the override path in $G287_DATA_DIR


def sources() -> list[Source]:
    """The reference files g287 uses: what, where from, of when, under which license."""
    import yaml  # only here: maps and coverage start without it
    text = resources.files("g287").joinpath("data", "reference", "SOURCES.yaml").read_text(encoding="utf-8")
    return [Source(**entry, location=str(reference_location(entry["file"]))) for entry in yaml.safe_load(text)]


# Census 2023 FIPS with no shape of their own in the 2017 map, and the map unit holding them.
MAP_FIPS = {"02063": "02261", "02066": "02261"}


def map_fips(fips: str) -> str | None:
    """The 2017 map's id for a Census 2023 county; Connecticut's planning regions have none
    (they do not nest in the old counties), so they are not drawn."""
    if fips.startswith("09") and fips[2:] >= "110":
        return None
    return MAP_FIPS.get(fips, fips)
