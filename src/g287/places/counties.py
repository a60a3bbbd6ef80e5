"""Match an agency to the county (5-digit FIPS) it serves.

Tried in order: the committed override file; state agencies map to their state;
ICE's COUNTY column (typos, missing suffixes, parishes, independent cities); the
agency's own name ("Colbert County Sheriff's Office"), which wins, flagged as a
conflict, when it names another county than the COUNTY cell. A fuzzy match is accepted
only when one county in the state is that close. Every failure carries a reason.
Agencies still without a county take it from their matched FBI record
(``from_roster``), with that method stated.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from rapidfuzz import fuzz, process

from g287.normalize import name_key
from g287.places import reference

_SUFFIX = re.compile(
    r"\s+(county|conty|couny|couty|countey|cnty|co|parish|borough|census area|city and borough|"
    r"municipality|planning region)$")
_CITY = re.compile(r"\s+city$")
_NAME_COUNTY = re.compile(r"^(?:the\s+)?(.+?)\s+(county|parish|borough)\b", re.IGNORECASE)
_NAME_CITY = re.compile(r"^(?:city of\s+(.+?)\s+(?:sheriff|police|jail|department)|(.+?)\s+city\b)", re.IGNORECASE)
FUZZY_MIN = 88


@dataclass(frozen=True, slots=True)
class CountyMatch:
    fips: str | None
    county_name: str | None
    level: str        # county | municipal | state
    method: str       # override | state_agency | county_column | county_column_fuzzy | agency_name |
    #                   fbi_roster_county | none
    reason: str = ""
    conflict: str = ""   # ICE's COUNTY named another county than the agency's own name


# pure, and asked again for every roster record of a state: folded once per text
@cache
def county_key(text: str) -> str:
    """Fold a county name: case, accents, punctuation, Saint/St., and the suffix."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[’'`.]", "", text)
    text = re.sub(r"\bsaint\b|\bste\b", "st", text)
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    return _SUFFIX.sub("", text).strip()


@cache
def _index() -> dict[str, dict[str, list[str]]]:
    """state -> folded name -> FIPS (a bare name can be both a county and a city)."""
    index: dict[str, dict[str, list[str]]] = {}
    for county in reference.counties().values():
        folded = county_key(county.name)
        by_name = index.setdefault(county.state, {})
        by_name.setdefault(folded, []).append(county.fips)
        if _CITY.search(folded):
            by_name.setdefault(_CITY.sub("", folded) + " city", []).append(county.fips)
    return index


@cache
def overrides() -> dict[tuple[str, str], tuple[str, str]]:
    """(state, agency name key) -> (FIPS or '', note), from the committed override file."""
    text = resources.files("g287").joinpath("data", "county_overrides.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {(r["state"], name_key(r["agency_name"])): (r["fips"], r["note"]) for r in csv.DictReader(lines)}


def known_county(state: str, text: str) -> bool:
    """Whether a printed county names a county (or county-equivalent) of the state exactly."""
    return county_key(text) in _index().get(state, {})


def _lookup(state: str, text: str, prefer_city: bool) -> tuple[str | None, str]:
    names = _index().get(state, {})
    folded = county_key(text)
    if prefer_city and folded + " city" in names:
        return names[folded + " city"][0], "exact"
    found = names.get(folded)
    if found:
        counties = [f for f in found if not reference.counties()[f].name.endswith("city")]
        return (counties or found)[0], "exact"
    best = process.extract(folded, list(names), scorer=fuzz.ratio, limit=2)
    if best and best[0][1] >= FUZZY_MIN and (len(best) == 1 or best[1][1] < best[0][1] - 5):
        return names[best[0][0]][0], "fuzzy"
    return None, ""


def _result(fips: str, method: str, level: str = "county") -> CountyMatch:
    return CountyMatch(fips, reference.counties()[fips].name, level, method)


def match_county(state: str | None, agency_name: str, agency_type: str | None,
                 county_text: str | None) -> CountyMatch:
    """The county an agency serves, or None with the reason it could not be found."""
    if not state:
        return CountyMatch(None, None, "county", "none", "no state")
    override = overrides().get((state, name_key(agency_name)))
    if override:
        fips, note = override
        if fips:
            return CountyMatch(fips, reference.counties()[fips].name, "county", "override", note)
        return CountyMatch(None, None, "state" if agency_type == "State Agency" else "municipal",
                           "override", note)
    if agency_type == "State Agency":
        return CountyMatch(None, None, "state", "state_agency", "state agency: serves the whole state")
    level = "county" if agency_type == "County" else "municipal"
    city_agency = bool(re.search(r"\bcity\b", agency_name, re.IGNORECASE))
    named = _NAME_COUNTY.match(agency_name.strip())
    by_name = _lookup(state, named.group(1), prefer_city=False) if named else (None, "")
    if county_text:
        fips, how = _lookup(state, county_text, prefer_city=city_agency or "city" in county_text.lower())
        if fips and by_name[0] and by_name[1] == "exact" and by_name[0] != fips:
            # The agency's own name is the better witness than a COUNTY cell that may be a typo.
            name_fips = by_name[0]
            return CountyMatch(name_fips, reference.counties()[name_fips].name, level, "agency_name",
                               conflict=f"ICE's COUNTY {county_text!r} is "
                                        f"{reference.counties()[fips].name}; the agency's name says "
                                        f"{reference.counties()[name_fips].name}, which wins")
        if fips:
            return _result(fips, "county_column" if how == "exact" else "county_column_fuzzy", level)
    if by_name[0] and by_name[1] == "exact":
        return _result(by_name[0], "agency_name", level)
    city = _NAME_CITY.match(agency_name.strip())
    if city:  # an independent city (Virginia, Baltimore, St. Louis) is its own county
        fips = _index().get(state, {}).get(county_key(city.group(1) or city.group(2)) + " city", [None])[0]
        if fips:
            return _result(fips, "agency_name", level)
    reason = (f"COUNTY {county_text!r} not found in {state}" if county_text
              else "ICE printed no county and the name names none")
    return CountyMatch(None, None, level, "none", reason)


def from_roster(state: str, level: str, ori: str, roster_counties: tuple[str, ...]) -> CountyMatch | None:
    """The county named by an agency's matched FBI record, when it names exactly one that
    exists in the state (city police departments: ICE prints no county for most)."""
    found = {_lookup(state, name, prefer_city=False) for name in roster_counties}
    exact = {fips for fips, how in found if fips and how == "exact"}
    if len(roster_counties) != 1 or len(exact) != 1:
        return None
    fips = exact.pop()
    return CountyMatch(fips, reference.counties()[fips].name, level, "fbi_roster_county",
                       f"county_name of FBI record {ori}")
