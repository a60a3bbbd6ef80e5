"""Match an agency to the FBI police-employee roster (ORI), never by a silent guess.

The roster names sheriff's offices by county alone ("Anderson", type County) and
police departments by their city ("Tuscumbia", type City). Candidates must share the
state and the expected roster type, and the county where both sides know it, so a
sheriff never takes a same-named city's numbers (PEERS #243). A fuzzy match carries
its score; two close candidates make the match ambiguous, with no ORI chosen.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from rapidfuzz import fuzz

from g287.normalize import name_key
from g287.places import reference
from g287.places.counties import county_key

MIN_SCORE = 90.0
AMBIGUITY_MARGIN = 3.0
_AGENCY_WORDS = re.compile(
    r"\b(county|parish|sheriffs?|office|department|police|public safety|dept|jail|detention|"
    r"corrections?|correctional|center|facility|of|the|marshals?)\b")


@dataclass(frozen=True, slots=True)
class RosterMatch:
    ori: str | None
    name: str | None
    confidence: float          # 0-1; 1 for an exact name within the right type and county
    ambiguous: bool
    method: str                # override | exact | fuzzy | none
    candidates: tuple[str, ...] = field(default=())
    population: int | None = None
    officers: int | None = None
    civilians: int | None = None
    data_year: int | None = None


def core_name(text: str) -> str:
    """A name without the words agencies share ("County Sheriff's Office" → "")."""
    return re.sub(r"\s+", " ", _AGENCY_WORDS.sub(" ", name_key(text))).strip()


def roster_types(agency_type: str | None, agency_name: str) -> tuple[str, ...]:
    """Roster types an agency can have, from ICE's TYPE and its name."""
    lowered = agency_name.lower()
    if agency_type == "State Agency":
        return ("State Police", "Other State Agency", "Other")
    if "sheriff" in lowered or (agency_type == "County" and "police" not in lowered):
        return ("County", "Other")
    if "university" in lowered or "college" in lowered:
        return ("University or College",)
    return ("City", "County", "Other")


@cache
def _by_state() -> dict[str, list[reference.RosterAgency]]:
    index: dict[str, list[reference.RosterAgency]] = {}
    for agency in reference.roster():
        index.setdefault(agency.state, []).append(agency)
    return index


@cache
def _by_ori() -> dict[str, reference.RosterAgency]:
    return {a.ori: a for a in reference.roster()}


@cache
def overrides() -> dict[tuple[str, str], tuple[str, str]]:
    """(state, agency name key) -> (ORI or '', note) from the committed override file."""
    text = resources.files("g287").joinpath("data", "roster_overrides.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {(r["state"], name_key(r["agency_name"])): (r["ori"], r["note"]) for r in csv.DictReader(lines)}


def _found(agency: reference.RosterAgency, confidence: float, method: str,
           candidates: tuple[str, ...] = ()) -> RosterMatch:
    return RosterMatch(agency.ori, agency.name, round(confidence, 3), False, method, candidates,
                       agency.population, agency.officers, agency.civilians, agency.data_year)


def match_roster(state: str | None, agency_name: str, agency_type: str | None,
                 county_name: str | None = None) -> RosterMatch:
    """The FBI roster entry for an agency. ``county_name`` (from county matching) narrows
    candidates whose roster county is known. Roster types are tried in the order the
    agency's kind expects (a city police department looks among cities first)."""
    none = RosterMatch(None, None, 0.0, False, "none")
    if not state:
        return none
    override = overrides().get((state, name_key(agency_name)))
    if override:
        ori, _note = override
        return _found(_by_ori()[ori], 1.0, "override") if ori else none
    county = county_key(county_name) if county_name else ""
    wanted = core_name(agency_name)
    types = roster_types(agency_type, agency_name)
    if not wanted and county and types[0] == "County":
        wanted = county  # "County Sheriff's Office" printed without a place name
    if not wanted:
        return none
    for roster_type in types:
        scored = sorted(_candidates(state, roster_type, county, wanted, "sheriff" in agency_name.lower()),
                        key=lambda c: (-c[0], c[1].ori))
        if not scored:
            continue
        top_score, top = scored[0]
        rivals = tuple(a.ori for score, a in scored[1:] if score >= top_score - AMBIGUITY_MARGIN)
        if rivals:
            return RosterMatch(None, None, round(top_score / 100, 3), True, "ambiguous", (top.ori, *rivals))
        return _found(top, top_score / 100, "exact" if top_score >= 99.5 else "fuzzy")
    return none


def _candidates(state: str, roster_type: str, county: str, wanted: str,
                sheriff: bool) -> list[tuple[float, reference.RosterAgency]]:
    found = []
    for agency in _by_state().get(state, []):
        if agency.agency_type != roster_type:
            continue
        if county and roster_type not in ("State Police", "Other State Agency") and agency.counties \
                and county not in {county_key(c) for c in agency.counties}:
            continue
        candidate = core_name(agency.name)
        score = 100.0 if candidate == wanted else fuzz.ratio(candidate, wanted)
        if sheriff and "police" in agency.name.lower():
            score -= 5  # "Floyd County Police Department" is not Floyd County's sheriff
        if score >= MIN_SCORE:
            found.append((score, agency))
    return found
