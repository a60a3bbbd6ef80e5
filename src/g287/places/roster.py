"""Match an agency to the FBI police-employee roster (ORI), never by a silent guess.

The roster names sheriff's offices by county alone ("Anderson", type County) and
police departments by their city ("Tuscumbia", type City). Candidates must share the
state and the expected roster type, and the county where both sides know it, so a
sheriff never takes a same-named city's numbers (PEERS #243). A fuzzy match carries
its score; two close candidates make the match ambiguous, with no ORI chosen.

A match is exact only when the distinctive words agree. A name whose place words are
only its state's name ("Arizona Department of Corrections") is compared by what the
agency does ({corrections} ≠ {public safety}), never on the state name alone. State
police, state patrols and highway patrols are matched to the state's "State Police"
record of the same kind; university and college police to the university's record.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from rapidfuzz import fuzz, process

from g287.normalize import STATES, name_key
from g287.places import reference
from g287.places.counties import county_key

MIN_SCORE = 90.0
AMBIGUITY_MARGIN = 3.0
_AGENCY_WORDS = re.compile(
    r"\b(county|parish|sheriffs?|office|department|police|public safety|dept|jail|detention|"
    r"corrections?|correctional|center|facility|of|the|marshals?|board|trustees)\b")
# Words that say nothing of what a state agency does.
_FILLER = {"of", "the", "and", "department", "dept", "office", "division", "agency", "board", "trustees",
           "s", "state", "bureau"}
_PATROL = re.compile(r"\b(state police|state patrol|highway patrol)\b", re.IGNORECASE)
_STATEWIDE = {"NOT SPECIFIED", "UNMAPPED COUNTY"}
_CUSTODY = re.compile(r"\b(jail|detention|corrections?|correctional)\b")


@dataclass(frozen=True, slots=True)
class RosterMatch:
    ori: str | None
    name: str | None
    confidence: float          # 0-1; 1 for an exact name within the right type and county
    ambiguous: bool
    method: str                # override | exact | fuzzy | state_police | ambiguous | none
    candidates: tuple[str, ...] = field(default=())
    population: int | None = None
    officers: int | None = None
    civilians: int | None = None
    data_year: int | None = None
    counties: tuple[str, ...] = field(default=())   # the FBI record's county_name(s)


# pure, and asked again for every roster record of a state: folded once per text
@cache
def core_name(text: str) -> str:
    """A name without the words agencies share ("County Sheriff's Office" → "")."""
    return re.sub(r"\s+", " ", _AGENCY_WORDS.sub(" ", name_key(text))).strip()


def state_words(state: str) -> set[str]:
    """The words of a state's name ("new", "hampshire")."""
    return set(name_key(STATES[state][1]).split()) if state in STATES else set()


def duties(text: str, state: str) -> str:
    """What an agency does, from its name without the state's name and filler words
    ("Arizona Department of Corrections" → "correction")."""
    words = re.sub(r"[^a-z0-9 ]+", " ", name_key(text)).split()
    kept = {re.sub(r"ions$", "ion", w) for w in words if w not in _FILLER and w not in state_words(state)}
    return " ".join(sorted(kept))


def roster_types(agency_type: str | None, agency_name: str) -> tuple[str, ...]:
    """Roster types an agency can have, from ICE's TYPE and its name."""
    lowered = agency_name.lower()
    if "university" in lowered or "college" in lowered:
        return ("University or College",)
    if agency_type == "State Agency":
        return ("State Police", "Other State Agency", "Other")
    if "sheriff" not in lowered and "police" not in lowered and _CUSTODY.search(lowered):
        return ("Other",)  # the roster's County record is the sheriff's, another agency
    if "sheriff" in lowered or (agency_type == "County" and "police" not in lowered):
        return ("County", "Other")
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
                       agency.population, agency.officers, agency.civilians, agency.data_year,
                       agency.counties)


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
    if _PATROL.search(agency_name):
        return _patrol(state, agency_name)
    county = county_key(county_name) if county_name else ""
    wanted = core_name(agency_name)
    types = roster_types(agency_type, agency_name)
    if not wanted and county and types[0] == "County":
        wanted = county  # "County Sheriff's Office" printed without a place name
    by_duty = not set(wanted.split()) - state_words(state)
    if by_duty:  # only the state's name is left: compare what the agencies do
        wanted = duties(agency_name, state)
    if not wanted:
        return none
    for roster_type in types:
        scored = sorted(_candidates(state, roster_type, county, wanted, "sheriff" in agency_name.lower(),
                                    by_duty), key=lambda c: (-c[0], c[1].ori))
        if not scored:
            continue
        top_score, top = scored[0]
        rivals = tuple(a.ori for score, a in scored[1:] if score >= top_score - AMBIGUITY_MARGIN)
        if rivals:
            return RosterMatch(None, None, round(top_score / 100, 3), True, "ambiguous", (top.ori, *rivals))
        return _found(top, top_score / 100, "exact" if top_score >= 99.5 else "fuzzy")
    return none


def _patrol(state: str, agency_name: str) -> RosterMatch:
    """A state police or patrol: the state's "State Police" records of that kind; the one
    statewide record when there are several (troops listed by county)."""
    found = [a for a in _by_state().get(state, []) if a.agency_type == "State Police"
             and (_PATROL.search(a.name) or duties(a.name, state) in ("police", "patrol highway"))]
    statewide = [a for a in found if not a.counties or set(a.counties) <= _STATEWIDE]
    chosen = statewide if len(statewide) == 1 else found
    if len(chosen) == 1:
        return _found(chosen[0], 1.0, "state_police")
    if chosen:
        return RosterMatch(None, None, 0.0, True, "ambiguous", tuple(sorted(a.ori for a in chosen)))
    return RosterMatch(None, None, 0.0, False, "none")


@cache
def _of_type(state: str, roster_type: str) -> tuple[tuple[reference.RosterAgency, str, frozenset[str]], ...]:
    """A state's roster records of one type, each with its core name and folded counties
    (made once: every agency of the state is compared with all of them)."""
    return tuple((a, core_name(a.name), frozenset(county_key(c) for c in a.counties))
                 for a in _by_state().get(state, []) if a.agency_type == roster_type)


def _candidates(state: str, roster_type: str, county: str, wanted: str, sheriff: bool,
                by_duty: bool = False) -> list[tuple[float, reference.RosterAgency]]:
    by_county = county and roster_type not in ("State Police", "Other State Agency")
    pool = [(agency, core) for agency, core, counties in _of_type(state, roster_type)
            if not (by_county and counties and county not in counties)]
    names = [duties(agency.name, state) if by_duty else core for agency, core in pool]
    found = []
    # rapidfuzz scores the whole pool in one call (identical names score 100)
    for _, score, index in process.extract(wanted, names, scorer=fuzz.ratio, score_cutoff=MIN_SCORE, limit=None):
        agency = pool[index][0]
        if sheriff and "police" in agency.name.lower():
            score -= 5  # "Floyd County Police Department" is not Floyd County's sheriff
        if score >= MIN_SCORE:
            found.append((score, agency))
    return found
