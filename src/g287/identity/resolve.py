"""Agency identity resolution across publications, in tiers.

1. alias: a user-editable file maps a spelling to the agency it belongs to;
2. exact / normalized: the canonical name key (case, apostrophes, spacing,
   abbreviations) within one state.

Any other spelling (a typo, a truncation, a rename) starts a new identity here; whether
it is an older agency under a new spelling is judged by :mod:`g287.identity.lineage` on all the
evidence (link, date, county, type, name), and a merge it makes is a visible event, never
a silent fold of the resolver (Parker and Parmer County are one letter apart).

Every decision is recorded with its tier and reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz.distance import OSA

from g287 import normalize as nz
from g287.errors import BadInput, Conflict

NEAR_MAX_EDITS = 2


def near_spelling(a: str, b: str) -> int | None:
    """Return the edit distance when two name keys differ by a typo, else None.

    A typo touches one word, by at most a quarter of its letters (``Berrian`` /
    ``Berrien``, ``Offic`` / ``Office``); two different words of similar shape
    (``Hopewell`` / ``Tazewell``, ``Pima`` / ``Pinal``) are different names.
    """
    words_a, words_b = a.split(), b.split()
    if len(words_a) != len(words_b):
        return None
    differing = [(x, y) for x, y in zip(words_a, words_b, strict=True) if x != y]
    if len(differing) != 1:
        return None
    x, y = differing[0]
    edits = OSA.distance(x, y, score_cutoff=NEAR_MAX_EDITS)   # two letters swapped: one edit
    if edits > NEAR_MAX_EDITS or edits > max(1, min(len(x), len(y)) // 4):
        return None
    return edits


ID_HEX_DIGITS = 24  # 96 bits of SHA-256: no collision in any number of rows ICE could print


class IdCollision(Conflict):
    """Two different identities hashed to one id: refused, never merged."""


def stable_id(prefix: str, *parts: object) -> str:
    """Derive a stable id from identity columns (like git-history's item ids). Long enough
    that a collision is not a concern; callers that mint ids still check (:class:`IdCollision`)."""
    text = "|".join("" if p is None else str(p) for p in parts)
    return f"{prefix}_{hashlib.sha256(text.encode('utf-8')).hexdigest()[:ID_HEX_DIGITS]}"


@dataclass(frozen=True, slots=True)
class Alias:
    """One line of the alias file: a spelling that belongs to another agency, or (with a
    ``decision``) a reviewed lineage pair: ``same`` agreement or ``distinct`` agencies."""

    state: str
    spelling_key: str
    target_key: str
    note: str
    decision: str = "alias"      # alias | same | distinct
    target_state: str = ""       # the canonical name's state, when a reviewed pair spans two


DECISIONS = ("alias", "same", "distinct")


def load_aliases(path: Path) -> list[Alias]:
    """Read an alias CSV file (state, spelling, canonical_name, note[, decision, canonical_state])."""
    return parse_aliases(path.read_text(encoding="utf-8"), str(path))


def parse_aliases(text: str, source: str) -> list[Alias]:
    """Parse alias CSV text; blank lines and lines starting with # are ignored."""
    aliases: list[Alias] = []
    lines = (line for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#"))
    for number, record in enumerate(csv.DictReader(lines), start=2):
        state = nz.state_code(record.get("state")).value
        spelling, target = record.get("spelling"), record.get("canonical_name")
        decision = (record.get("decision") or "alias").strip().lower()
        if not state or not spelling or not target:
            raise BadInput(f"{source}: line {number}: needs state, spelling and canonical_name")
        if decision not in DECISIONS:
            raise BadInput(f"{source}: line {number}: decision must be one of {', '.join(DECISIONS)}")
        target_state = nz.state_code(record.get("canonical_state")).value or state
        aliases.append(Alias(str(state), nz.name_key(spelling), nz.name_key(target),
                             (record.get("note") or "").strip(), decision, str(target_state)))
    return aliases


@dataclass(slots=True)
class AgencyRecord:
    """What the resolver knows of one agency."""

    agency_id: str
    state: str
    name_key: str
    name: str
    agency_type: str | None
    county: str | None
    first_seen: str
    last_seen: str


@dataclass(slots=True)
class NameRecord:
    """One printed spelling of an agency and how it was resolved."""

    agency_id: str
    spelling: str
    name_key: str
    tier: str
    reason: str
    first_seen: str
    last_seen: str
    rows: int = 0


@dataclass(frozen=True, slots=True)
class Merge:
    """A spelling folded into an existing agency, or a near-match left unmerged."""

    agency_id: str
    name_key: str
    merged_into_key: str
    tier: str
    reason: str
    publication_id: str


@dataclass(frozen=True, slots=True)
class RowKey:
    """The parts of a row the resolver reads."""

    state: str | None
    agency_name: str
    name_key: str
    agency_type: str | None
    county: str | None
    model: str | None
    signed: dt.date | None


@dataclass(slots=True)
class AgencyResolver:
    """Resolves the rows of publications, taken in order, to stable agency ids."""

    aliases: dict[tuple[str, str], Alias] = field(default_factory=dict)
    agencies: dict[str, AgencyRecord] = field(default_factory=dict)
    names: dict[tuple[str, str], NameRecord] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    keys_seen: dict[str, set[str]] = field(default_factory=dict)  # agency id -> name keys

    # Reviewed lineage pairs: (state before, name key before, state after, name key after)
    # -> 'same' | 'distinct' (see g287.identity.lineage.pair).
    decisions: dict[tuple[str, str, str, str], str] = field(default_factory=dict)

    @classmethod
    def with_aliases(cls, aliases: Iterable[Alias]) -> AgencyResolver:
        """Create a resolver that applies the given alias lines first."""
        aliases = list(aliases)
        return cls(aliases={(a.state, a.spelling_key): a for a in aliases if a.decision == "alias"},
                   decisions={(a.target_state, a.target_key, a.state, a.spelling_key): a.decision
                              for a in aliases if a.decision != "alias"})

    def merge(self, agency_id: str, into: str, tier: str, reason: str, publication_id: str) -> None:
        """Fold an agency first printed in this publication into an older one (a rename, a
        state corrected, a pending agency listed as signed under another spelling): its
        spellings become the older agency's, with the tier and reason."""
        gone, record = self.agencies.pop(agency_id), self.agencies[into]
        for key, found in list(self.by_key.items()):
            if found == agency_id:
                self.by_key[key] = into
        for key, name in list(self.names.items()):
            if name.agency_id == agency_id:
                del self.names[key]
                name.agency_id, name.tier, name.reason = into, tier, reason
                self.names[(into, name.spelling)] = name
        self.keys_seen.setdefault(into, set()).update(self.keys_seen.pop(agency_id, set()))
        record.name, record.state, record.last_seen = gone.name, gone.state, publication_id
        record.agency_type = gone.agency_type or record.agency_type
        record.county = gone.county or record.county
        self.merges.append(Merge(into, gone.name_key, record.name_key, tier, reason, publication_id))

    def resolve(self, publication_id: str, rows: Sequence[RowKey]) -> list[str | None]:
        """Return an agency id per row (None where state or name is unusable)."""
        ids: list[str | None] = [None] * len(rows)
        for index, row in enumerate(rows):
            if not row.state or not row.name_key:
                continue
            key = self._aliased(row.state, row.name_key, publication_id)
            agency_id = self.by_key.get((row.state, key))
            if agency_id is None:
                agency_id = stable_id("ag", row.state, key)
                clash = self.agencies.get(agency_id)
                if clash is not None and (clash.state, clash.name_key) != (row.state, key):
                    raise IdCollision(f"agency id {agency_id} would name both {clash.name!r} ({clash.state}) and "
                                      f"{row.agency_name!r} ({row.state}); refusing to merge them")
                if clash is None:
                    self.agencies[agency_id] = AgencyRecord(
                        agency_id, row.state, key, row.agency_name, None, None,
                        publication_id, publication_id)
                self.by_key[(row.state, key)] = agency_id
            ids[index] = agency_id
        for row, agency_id in zip(rows, ids, strict=True):
            if agency_id:
                self._note(agency_id, row, publication_id)
        return ids

    def _aliased(self, state: str, key: str, publication_id: str) -> str:
        """Apply the alias file, recording the first use of each alias line."""
        alias = self.aliases.get((state, key))
        if alias is None:
            return key
        if (state, key) not in self.by_key:
            self.by_key[(state, key)] = stable_id("ag", state, alias.target_key)
            self.merges.append(Merge(self.by_key[(state, key)], key, alias.target_key, "alias",
                                     alias.note or "alias file", publication_id))
        return alias.target_key

    def _note(self, agency_id: str, row: RowKey, publication_id: str) -> None:
        record = self.agencies[agency_id]
        record.last_seen = publication_id
        record.name = row.agency_name
        record.agency_type = row.agency_type or record.agency_type
        record.county = row.county or record.county
        name = self.names.get((agency_id, row.agency_name))
        if name is None:
            tier, reason = self._tier(agency_id, row)
            name = NameRecord(agency_id, row.agency_name, row.name_key, tier, reason,
                              publication_id, publication_id)
            self.names[(agency_id, row.agency_name)] = name
            self.keys_seen.setdefault(agency_id, set()).add(row.name_key)
        name.last_seen = publication_id
        name.rows += 1

    def _tier(self, agency_id: str, row: RowKey) -> tuple[str, str]:
        seen = self.keys_seen.get(agency_id)
        if not seen:
            return "first", "first spelling seen"
        if row.name_key == self.agencies[agency_id].name_key or row.name_key in seen:
            return "normalized", "same canonical name key, different spelling"
        for merge in reversed(self.merges):
            if merge.agency_id == agency_id and merge.name_key == row.name_key:
                return merge.tier, merge.reason
        return "normalized", "same canonical name key"
