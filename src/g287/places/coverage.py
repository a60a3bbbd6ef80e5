"""Agencies placed on the map and in the FBI roster, and what the program covers.

Every figure states its method and data year, and the publication it rests on.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from g287 import query
from g287.normalize import MODELS
from g287.places import reference
from g287.places.counties import CountyMatch, match_county
from g287.places.roster import RosterMatch, match_roster


@dataclass(frozen=True, slots=True)
class PlacedAgency:
    """An agency on a participating sheet, with its county and roster entry."""

    agency_id: str
    name: str
    state: str
    agency_type: str | None
    models: tuple[str, ...]
    county: CountyMatch
    roster: RosterMatch


def place(state: str, name: str, agency_type: str | None, county: str | None) -> tuple[CountyMatch, RosterMatch]:
    """County and roster matches for one agency, the county narrowing the roster search."""
    county_match = match_county(state, name, agency_type, county)
    return county_match, match_roster(state, name, agency_type, county_match.county_name)


def placed_agencies(conn: sqlite3.Connection,
                    as_of: dt.date | None = None) -> tuple[query.Publication | None, list[PlacedAgency]]:
    """Every agency on the participating sheet in force at the end of ``as_of``."""
    agreements = query.active_agreements(conn, as_of)
    if not agreements:
        return None, []
    models: dict[str, set[str]] = defaultdict(set)
    first: dict[str, query.ActiveAgreement] = {}
    for a in agreements:
        models[a.agency_id].add(a.model)
        first.setdefault(a.agency_id, a)
    placed = []
    for agency_id, a in sorted(first.items()):
        county_match, roster_match = place(a.state, a.agency_name, a.agency_type, a.county)
        placed.append(PlacedAgency(agency_id, a.agency_name, a.state, a.agency_type,
                                   tuple(m for m in MODELS if m in models[agency_id]), county_match,
                                   roster_match))
    return agreements[0].publication, placed


@dataclass(frozen=True, slots=True)
class MatchReport:
    publication: dict[str, object] | None
    county_level: int
    county_matched: int
    county_rate: float | None
    unmatched: list[dict[str, str]]
    roster_by_type: dict[str, dict[str, int]]
    ambiguous: list[dict[str, object]] = field(default_factory=list)


def match_report(conn: sqlite3.Connection, as_of: dt.date | None = None) -> MatchReport:
    """County match rate of county-level agencies (TYPE County), every unmatched agency with
    its reason, and the FBI roster match rate by agency type, with ambiguous cases listed."""
    pub, placed = placed_agencies(conn, as_of)
    county_level = [p for p in placed if p.agency_type == "County"]
    matched = [p for p in county_level if p.county.fips]
    unmatched = [{"state": p.state, "agency": p.name, "type": p.agency_type or "", "reason": p.county.reason}
                 for p in placed if not p.county.fips and p.county.level != "state"]
    by_type: dict[str, Counter] = defaultdict(Counter)
    for p in placed:
        by_type[p.agency_type or "unknown"][p.roster.method] += 1
    roster = {t: {"agencies": sum(c.values()), "matched": c["exact"] + c["fuzzy"] + c["override"],
                  "ambiguous": c["ambiguous"], "unmatched": c["none"]} for t, c in sorted(by_type.items())}
    ambiguous = [{"state": p.state, "agency": p.name, "candidates": list(p.roster.candidates)}
                 for p in placed if p.roster.ambiguous]
    rate = round(100 * len(matched) / len(county_level), 1) if county_level else None
    return MatchReport(query.publication_ref(pub) if pub else None, len(county_level), len(matched), rate,
                       unmatched, roster, ambiguous)


POPULATION_METHOD = ("Census 2023 resident population (Vintage 2023 estimates) of counties whose "
                     "county-level agency (TYPE County: sheriff, county jail or corrections) has an "
                     "agreement; a county counts once whatever its number of agreements.")
OFFICER_METHOD = ("Sworn officers from the FBI Law Enforcement Employees roster (latest year per "
                  "agency, 2018-2025) for participating agencies matched to an ORI; an ORI counts "
                  "once (agencies sharing one, such as Miami-Dade's sheriff and corrections, are "
                  "not double counted); unmatched and ambiguous agencies add nothing.")


def coverage(conn: sqlite3.Connection, as_of: dt.date | None = None) -> dict[str, object]:
    """Counties, population and sworn officers covered at the end of ``as_of``."""
    pub, placed = placed_agencies(conn, as_of)
    counties = reference.counties()
    county_models: dict[str, set[str]] = defaultdict(set)
    for p in placed:
        if p.county.fips and p.county.level == "county":
            county_models[p.county.fips].update(p.models)
    us_total = sum(c.population or 0 for c in counties.values() if c.population)
    state_totals: Counter = Counter()
    for c in counties.values():
        state_totals[c.state] += c.population or 0
    covered: Counter = Counter()
    for fips in county_models:
        covered[counties[fips].state] += counties[fips].population or 0
    officers_by_ori: dict[str, tuple[int, set[str]]] = {}
    for p in placed:
        if p.roster.ori and p.roster.officers is not None:
            _, models = officers_by_ori.setdefault(p.roster.ori, (p.roster.officers, set()))
            models.update(p.models)
    return {
        "publication": query.publication_ref(pub) if pub else None,
        "counties_with_agreement": len(county_models),
        # Agencies whose TYPE ICE never printed (only on the pre-2018 web roster): placed by
        # name alone, so county figures may leave some out.
        "agencies_type_unknown": sum(1 for p in placed if p.agency_type is None),
        "counties_by_model": {m: sum(m in ms for ms in county_models.values()) for m in MODELS},
        "population": {
            "covered": sum(covered.values()), "us_total": us_total,
            "us_share_percent": round(100 * sum(covered.values()) / us_total, 2) if us_total else None,
            "by_state": {s: {"covered": n, "state_total": state_totals[s],
                             "share_percent": round(100 * n / state_totals[s], 1) if state_totals[s] else None}
                         for s, n in sorted(covered.items())},
            "method": POPULATION_METHOD, "data_year": 2023,
            "missing": sorted(f for f in county_models if counties[f].population is None),
        },
        "officers": {
            "sworn": sum(n for n, _ in officers_by_ori.values()),
            "by_model": {m: sum(n for n, ms in officers_by_ori.values() if m in ms) for m in MODELS},
            "agencies_counted": len(officers_by_ori),
            "data_years": sorted({p.roster.data_year for p in placed if p.roster.data_year}),
            "method": OFFICER_METHOD,
        },
    }
