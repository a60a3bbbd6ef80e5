"""Agencies placed on the map and in the FBI roster, and what the program covers.

Every figure states its method and data year, and the publication it rests on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from typing import Any

from g287 import __version__, answers, query
from g287.config import reference_location
from g287.normalize import MODELS
from g287.places import reference
from g287.places.counties import CountyMatch, from_roster, match_county
from g287.places.roster import RosterMatch, core_name, match_roster


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


# Where each printed (state, name, type, county) is placed: a pure function of the key and
# the reference files, kept for the process and stored at ingest (answer "places").
_placed: dict[tuple[str, str, str | None, str | None], tuple[CountyMatch, RosterMatch]] = {}
PLACES_VERSION = "1"   # bump when the placing rules change: stored placements are then redone


def place(state: str, name: str, agency_type: str | None, county: str | None) -> tuple[CountyMatch, RosterMatch]:
    """County and roster matches for one agency, the county narrowing the roster search;
    an agency left without a county takes the one its matched FBI record names."""
    key = (state, name, agency_type, county)
    found = _placed.get(key)
    if found is None:
        found = _placed[key] = _place(*key)
    return found


def _place(state: str, name: str, agency_type: str | None, county: str | None) -> tuple[CountyMatch, RosterMatch]:
    county_match = match_county(state, name, agency_type, county)
    roster_match = match_roster(state, name, agency_type, county_match.county_name)
    if county_match.fips is None and county_match.level == "municipal" and roster_match.ori \
            and not roster_match.ambiguous:
        county_match = from_roster(state, county_match.level, roster_match.ori,
                                   roster_match.counties) or county_match
    return county_match, roster_match


def clear_placements() -> None:
    """Forget the placements this process holds (after the rules or their files changed)."""
    _placed.clear()


def _reference_fingerprint() -> str:
    """What placements depend on besides the key: g287's version and rules, the override
    files, and the reference files in use (a newer file dropped in
    ``$G287_DATA_DIR/reference`` redoes them)."""
    parts = [__version__, PLACES_VERSION]
    for name in ("county_overrides.csv", "roster_overrides.csv"):
        data = resources.files("g287").joinpath("data", name).read_bytes()
        parts.append(hashlib.sha256(data).hexdigest())
    for packaged in sorted(resources.files("g287").joinpath("data", "reference").iterdir(), key=str):
        location = reference_location(packaged.name.removesuffix(".gz"))
        if location != "package":
            info = os.stat(location)
            parts.append(f"{location}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def load_placements(conn: sqlite3.Connection) -> int:
    """Take the placements stored at ingest (when made with the reference files in use), so
    that a fresh process places the latest sheet's agencies without matching; how many."""
    stored = answers.stored(conn, "places")
    if not stored or stored.get("reference") != _reference_fingerprint():
        return 0
    for state, name, agency_type, county, county_values, roster_values in stored["places"]:
        roster_match = RosterMatch(*roster_values)
        _placed.setdefault((state, name, agency_type, county), (CountyMatch(*county_values), replace(
            roster_match, candidates=tuple(roster_match.candidates), counties=tuple(roster_match.counties))))
    return len(stored["places"])


def latest_placements(conn: sqlite3.Connection) -> dict[str, object]:
    """The placements of every agency printed on the newest participating sheet (answer
    "places"; those stored before are reused rather than matched again)."""
    load_placements(conn)
    agreements = query.active_agreements(conn)
    keys = sorted({(a.state, a.agency_name, a.agency_type, a.county) for a in agreements},
                  key=lambda k: tuple(v or "" for v in k))
    return {"reference": _reference_fingerprint(), "places": [
        [*key, *([getattr(m, f.name) for f in fields(m)] for m in place(*key))] for key in keys]}


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
    return agreements[0].publication, _one_agency_per_record(placed)


def agency_place(conn: sqlite3.Connection, agency_id: str,
                 as_of: dt.date | None = None) -> PlacedAgency | None:
    """One agency's county and FBI record exactly as the figures see them (a record
    contested by two agencies is ambiguous for both); None when not on the as-of sheet."""
    _, placed = placed_agencies(conn, as_of)
    return next((p for p in placed if p.agency_id == agency_id), None)


def _kind(name: str) -> tuple[str, str]:
    lowered = name.lower()
    role = next((w for w in ("sheriff", "police", "jail", "detention", "correction") if w in lowered), "")
    return core_name(name), role


def _one_agency_per_record(placed: list[PlacedAgency]) -> list[PlacedAgency]:
    """An FBI record is one agency's: when agencies of different kinds (a county's police
    and its sheriff) both matched one record by rule, none of them gets it; each is left
    ambiguous for review. Two spellings of one agency may share it; overrides are kept."""
    holders: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for p in placed:
        if p.roster.ori and p.roster.method != "override":
            holders[p.roster.ori].add(_kind(p.name))
    contested = {ori for ori, kinds in holders.items() if len(kinds) > 1}
    return [replace(p, roster=RosterMatch(None, None, p.roster.confidence, True, "ambiguous",
                                          (p.roster.ori,)))
            if p.roster.ori in contested and p.roster.method != "override" else p for p in placed]


@dataclass(frozen=True, slots=True)
class MatchReport:
    publication: dict[str, Any] | None
    county_level: int
    county_matched: int
    county_rate: float | None
    unmatched: list[dict[str, str]]
    roster_by_type: dict[str, dict[str, int]]
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    # per ICE agency type: agencies; placed in a county / state-wide / unplaced; each
    # county method used; FBI record matched / ambiguous / unmatched. The headline.
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    conflicts: list[dict[str, str]] = field(default_factory=list)
    note: str = ""


def match_report(conn: sqlite3.Connection, as_of: dt.date | None = None) -> MatchReport:
    """How every agency on the as-of sheet was placed, by agency type: in a county (and by
    which method), state-wide, or not at all, and whether its FBI record was found; every
    unmatched agency with its reason, ambiguous roster cases and COUNTY/name conflicts."""
    pub, placed = placed_agencies(conn, as_of)
    county_level = [p for p in placed if p.agency_type == "County"]
    matched = [p for p in county_level if p.county.fips]
    unmatched = [{"state": p.state, "agency": p.name, "type": p.agency_type or "", "reason": p.county.reason}
                 for p in placed if not p.county.fips and p.county.level != "state"]
    by_type: dict[str, Counter] = defaultdict(Counter)
    headline: dict[str, Counter] = defaultdict(Counter)
    for p in placed:
        kind = p.agency_type or "unknown"
        by_type[kind][p.roster.method] += 1
        where = "placed_in_county" if p.county.fips else ("state_wide" if p.county.level == "state" else "unplaced")
        headline[kind].update({"agencies": 1, where: 1, f"county_by_{p.county.method}": 1 if p.county.fips else 0,
                               "fbi_matched": bool(p.roster.ori), "fbi_ambiguous": p.roster.ambiguous,
                               "fbi_unmatched": not p.roster.ori and not p.roster.ambiguous})
    roster = {t: {"agencies": sum(c.values()), "matched": sum(c[m] for m in ("exact", "fuzzy", "override",
                                                                           "state_police")),
                  "ambiguous": c["ambiguous"], "unmatched": c["none"]} for t, c in sorted(by_type.items())}
    ambiguous = [{"state": p.state, "agency": p.name, "candidates": list(p.roster.candidates)}
                 for p in placed if p.roster.ambiguous]
    conflicts = [{"state": p.state, "agency": p.name, "fips": p.county.fips or "", "conflict": p.county.conflict}
                 for p in placed if p.county.conflict]
    rate = round(100 * len(matched) / len(county_level), 1) if county_level else None
    keys = ("agencies", "placed_in_county", "state_wide", "unplaced", "fbi_matched", "fbi_ambiguous",
            "fbi_unmatched")
    table = {t: {k: int(c[k]) for k in keys} | {k: int(v) for k, v in sorted(c.items())
                                                  if k.startswith("county_by_") and v}
             for t, c in sorted(headline.items())}
    return MatchReport(query.publication_ref(pub) if pub else None, len(county_level), len(matched), rate,
                       unmatched, roster, ambiguous, table, conflicts, query.date_context(conn, as_of).note)


POPULATION_METHOD = ("Census 2023 resident population (Vintage 2023 estimates) of counties whose "
                     "county-level agency (TYPE County: sheriff, county jail or corrections) has an "
                     "agreement; a county counts once whatever its number of agreements.")
OFFICER_LABEL = "sworn officers employed by participating agencies (FBI, {years})"
OFFICER_METHOD = ("Sworn officers employed by participating agencies, from the FBI Law Enforcement "
                  "Employees roster (latest year per "
                  "agency, 2018-2025) for participating agencies matched to an ORI; an ORI counts "
                  "once (agencies sharing one, such as Miami-Dade's sheriff and corrections, are "
                  "not double counted); unmatched and ambiguous agencies add nothing. These are all "
                  "of an agency's sworn officers, not the officers ICE trained or deputized.")


def latest_coverage(conn: sqlite3.Connection) -> dict[str, Any]:
    """The coverage after the newest participating sheet (answer "coverage")."""
    return _coverage(conn, None)


def coverage(conn: sqlite3.Connection, as_of: dt.date | None = None) -> dict[str, Any]:
    """Counties, population and sworn officers covered at the end of ``as_of``; on a day
    nothing was seen (before the archive, in an unseen stretch) every figure is ``None``
    (unknown), never zero and never carried across. The latest is stored at ingest."""
    if as_of is None:
        return answers.read(conn, "coverage", lambda: _coverage(conn, None))
    return _coverage(conn, as_of)


def _coverage(conn: sqlite3.Connection, as_of: dt.date | None) -> dict[str, object]:
    context = query.date_context(conn, as_of)
    if not context.known and context.kind != "after_archive":  # nothing seen that day
        return {"publication": None, "note": context.note, "date_context": asdict(context),
                "counties_with_agreement": None, "counties_by_model": None, "population": None,
                "officers": None}
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
        "note": context.note,
        "date_context": asdict(context),
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
            "label": OFFICER_LABEL.format(years=", ".join(map(str, sorted(
                {p.roster.data_year for p in placed if p.roster.data_year})))),
        },
    }
