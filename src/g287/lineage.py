"""Is a row that vanished from one publication the same agreement as one that appeared?

Pure scoring of the evidence, used by :mod:`g287.history` between consecutive
publications of a list. ICE renames agencies ("X State Police" → "X State Police
Department"), relabels the signatory of an agreement (a sheriff's office row becoming
the county's board of commissioners, same MOA), misprints the state for a while, and
deletes duplicate rows; none of these is an agency leaving the program.

Evidence and its weight (a score is the weight found, over the weight that could be
judged: a link missing on either side is neither for nor against):

* ``name`` (0.45): similarity of the distinctive words of the two names, once words that
  say what kind of office it is (department, office, services, township, ``, ST``…)
  and words naming the signatory's role (sheriff, police, constable, board, trustees,
  corrections…) are set aside. Same words in any order score 1, a one-word typo 0.95,
  otherwise rapidfuzz's token-sort ratio.
* ``moa`` (0.25): the same MOA or addendum document (SafeLinks unwrapped, scheme,
  host and case folded). A link shared with a third agreement is not evidence: ICE has
  printed one agency's link on another agency's row.
* ``signed`` (0.20): the same signing date.
* ``place`` (0.10): the same agency type and county, where printed.

Model and state must agree (a state may differ only for a ``state_corrected`` match of
the same name). A pair is merged only when its score reaches :data:`ACCEPT`, its names
are close (:data:`NAME_ACCEPT`), and it is the only candidate for both sides; a changed
role (a relabel) needs the same MOA, or the same signing date shared by no other
candidate. Other plausible pairs become review candidates: never merged, listed by
``g287 review`` with their evidence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from rapidfuzz import fuzz

from g287.normalize import STATES, name_key, unwrap_url
from g287.resolve import near_spelling

WEIGHTS: dict[str, float] = {"name": 0.45, "moa": 0.25, "signed": 0.20, "place": 0.10}
ACCEPT = 0.85        # score at or above which a unique candidate is merged
NAME_ACCEPT = 0.9    # names at least this close (distinctive words) for a rename
REVIEW = 0.5         # score at or above which an unmerged pair waits for review
REVIEW_NAME = 0.85   # ... and its names at least this close (or the same MOA); across states 0.95

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say what kind of office an agency is, not which one: ignored.
FORM_WORDS = _words("""
department departments dept office offices services service of the and for town city village
borough township twp division bureau agency unit law enforcement s inc
""")
# Words naming the signatory's role: ignored for the name, compared to tell a rename (same
# role) from a relabel (another signatory of the same agreement).
ROLE_WORDS = _words("""
sheriff sheriffs police constable constables marshal marshals corrections correction
correctional detention jail board commissioners commissioner commission trustees regents
patrol public safety
""")
# Form words that name a kind of municipality: two names whose kinds differ (Smith Township,
# Smith Borough) are two places, however alike the rest.
PLACE_KINDS = _words("township twp borough city town village")
# Words that mean the same unit of government in different states.
SAME_WORDS = {"parish": "county"}


@dataclass(frozen=True, slots=True)
class NameParts:
    """An agency name split into its distinctive words and its role words."""

    core: tuple[str, ...]
    roles: frozenset[str]
    kinds: frozenset[str]


@lru_cache(maxsize=65536)
def name_parts(name_key: str, state: str | None = None) -> NameParts:
    """Split a canonical name key (see :func:`g287.normalize.name_key`); a trailing state
    code (``Smith Township Constable, PA``) is dropped. A state agency's only distinctive
    words are its state's name, printed or not: ``Mississippi Department of Public Safety``
    and ``Department of Public Safety`` (MS) both have the core ``mississippi``."""
    words = [SAME_WORDS.get(w, w) for w in name_key.split()]
    if state and len(words) > 1 and words[-1] == state.lower():
        words.pop()
    prefix = STATES[state][1].lower().split() if state in STATES else []
    if prefix and len(words) > len(prefix) and words[:len(prefix)] == prefix:
        del words[:len(prefix)]
    core = tuple(dict.fromkeys(w for w in words if w not in FORM_WORDS and w not in ROLE_WORDS)) \
        or tuple(prefix)
    roles = frozenset(w.rstrip("s") for w in words if w in ROLE_WORDS)
    kinds = frozenset("township" if w == "twp" else w for w in words if w in PLACE_KINDS)
    return NameParts(core, roles, kinds)


_ANNOTATION = re.compile(r"\s*(?:/[^/]*|\([^()]*\)|\[[^\[\]]*\])\s*$")


@lru_cache(maxsize=65536)
def bare_key(name: str) -> str:
    """The name key without a trailing annotation (``… Security / THP``, ``… (TFM)``)."""
    return name_key(_ANNOTATION.sub("", name)) or name_key(name)


def name_similarity(a: NameParts, b: NameParts) -> float:
    """How alike two names' distinctive words are, 0..1 (order does not matter)."""
    if not a.core or not b.core:
        return 0.0
    if a.kinds and b.kinds and a.kinds != b.kinds:
        return min(0.8, _similarity(a, b))
    return _similarity(a, b)


def _similarity(a: NameParts, b: NameParts) -> float:
    if sorted(a.core) == sorted(b.core):
        return 1.0
    if near_spelling(" ".join(sorted(a.core)), " ".join(sorted(b.core))) is not None \
            or near_spelling(" ".join(a.core), " ".join(b.core)) is not None:
        return 0.95
    return fuzz.token_sort_ratio(" ".join(a.core), " ".join(b.core)) / 100


_LINK_SCHEME = re.compile(r"^[a-z]+://(www\.)?")


@lru_cache(maxsize=65536)
def link_key(url: str | None) -> str | None:
    """A document URL folded for comparison: SafeLinks unwrapped, percent-escapes decoded,
    scheme, ``www.``, case and a trailing slash ignored."""
    if not url:
        return None
    target = unquote(unwrap_url(url)).strip().lower()
    parts = urlsplit(target)
    folded = _LINK_SCHEME.sub("", f"{parts.scheme}://{parts.netloc}{parts.path}")
    return folded.rstrip("/") or None


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a candidate pair: an agreement (or pending entry) as last printed."""

    ref: str                     # agreement or pending id, or the (agency, model) arriving
    agency_id: str
    state: str
    name: str
    name_key: str
    agency_type: str | None
    county: str | None
    model: str
    signed: dt.date | None
    links: frozenset[str]        # link_key of each MOA/addendum printed for it


@dataclass(frozen=True, slots=True)
class Evidence:
    """What two sides have in common; ``None`` where a side lacks the fact."""

    name: float
    same_roles: bool
    same_state: bool
    same_model: bool
    same_signed: bool | None
    same_moa: bool | None
    same_place: bool | None
    shared_link: str | None = None      # the folded link both print, when unique to them
    date_unique: bool = False           # no other candidate shares state, model and date

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def compare(before: Side, after: Side, shared: frozenset[str] = frozenset()) -> Evidence:
    """The evidence between two sides; ``shared`` holds links that a third agreement also
    prints (not evidence of sameness)."""
    a, b = name_parts(before.name_key, before.state), name_parts(after.name_key, after.state)
    similarity = max(name_similarity(a, b), name_similarity(
        name_parts(bare_key(before.name), before.state), name_parts(bare_key(after.name), after.state)))
    common = (before.links & after.links) - shared
    moa = None if not (before.links - shared) or not (after.links - shared) else bool(common)
    signed = None if before.signed is None or after.signed is None else before.signed == after.signed
    facts = [(x, y) for x, y in ((before.agency_type, after.agency_type),
                                 (before.county, after.county)) if x and y]
    place = None if not facts else all(_place_key(x) == _place_key(y) for x, y in facts)
    return Evidence(similarity, a.roles == b.roles, before.state == after.state,
                    before.model == after.model, signed, moa, place,
                    min(common) if common else None)


def _place_key(text: str) -> tuple[str, ...]:
    """A county or type compared as its words (``Lafourche Parish`` = ``Lafourche County``)."""
    return tuple(SAME_WORDS.get(w, w) for w in name_key(text).split())


def score(evidence: Evidence) -> float:
    """The weighted share of the judgeable evidence that agrees, 0..1."""
    found = WEIGHTS["name"] * evidence.name
    possible = WEIGHTS["name"]
    for key, value in (("moa", evidence.same_moa), ("signed", evidence.same_signed),
                       ("place", evidence.same_place)):
        if value is not None:
            possible += WEIGHTS[key]
            found += WEIGHTS[key] * value
    return round(found / possible, 3)


@dataclass(frozen=True, slots=True)
class Decision:
    """A judged pair: merged (``accepted``) or waiting for review, with its evidence."""

    before: Side
    after: Side
    kind: str            # renamed | relabelled | state_corrected
    score: float
    evidence: Evidence
    accepted: bool
    reason: str


def _kind(evidence: Evidence) -> str:
    if not evidence.same_state:
        return "state_corrected"
    return "renamed" if evidence.same_roles else "relabelled"


def _acceptable(evidence: Evidence, value: float, dated: bool) -> bool:
    if not evidence.same_model or value < ACCEPT:
        return False
    if not dated:   # pending lists print no date or link: the name must carry it
        return (evidence.same_state and evidence.same_roles and evidence.name >= 0.95
                and evidence.same_place is not False)
    if not evidence.same_state:   # the same agency printed under another state
        return (evidence.name >= 0.95 and evidence.same_roles and evidence.same_signed is True
                and evidence.same_moa is not False)
    if evidence.same_roles:
        return evidence.name >= NAME_ACCEPT and (evidence.same_signed or evidence.same_moa) is True
    return evidence.name >= NAME_ACCEPT and (
        evidence.same_moa is True or (evidence.same_signed is True and evidence.date_unique))


def _plausible(evidence: Evidence, value: float) -> bool:
    close = REVIEW_NAME if evidence.same_state else 0.95
    return evidence.same_model and (evidence.same_moa is True or (
        value >= REVIEW and evidence.name >= close))


def pair(vanished: Sequence[Side], arrived: Sequence[Side],
         decisions: dict[tuple[str, str, str, str], str] | None = None,
         others: Iterable[frozenset[str]] = (), dated: bool = True) -> list[Decision]:
    """Judge every vanished × arrived pair; return the merges and the review candidates.

    ``dated`` is False for pending lists (no signing date, no link).
    ``decisions`` holds reviewed pairs, (state before, name key before, state after,
    name key after) → ``same`` | ``distinct``; ``others`` are the links of the agreements printed on
    both sheets, whose links are not evidence for a pair.
    """
    decisions = decisions or {}
    counts = Counter(link for links in (*(s.links for s in (*vanished, *arrived)), *others)
                     for link in links)
    dates = Counter((s.state, s.model, s.signed) for s in (*vanished, *arrived))
    judged: list[tuple[Side, Side, Evidence, float, str | None]] = []
    for before in vanished:
        for after in arrived:
            if before.model != after.model or (not dated and before.state != after.state):
                continue
            common = before.links & after.links
            excluded = frozenset(link for link, n in counts.items() if n > (2 if link in common else 1))
            evidence = compare(before, after, excluded)
            unique = dates[(before.state, before.model, before.signed)] == 2 and \
                dates[(after.state, after.model, after.signed)] == 2 and evidence.same_signed is True
            evidence = Evidence(**{**evidence.as_dict(), "date_unique": unique})
            reviewed = decisions.get((before.state, before.name_key, after.state, after.name_key))
            if reviewed == "distinct":
                continue
            judged.append((before, after, evidence, score(evidence), reviewed))
    good = [(b, a) for b, a, e, s, r in judged if r == "same" or _acceptable(e, s, dated)]
    per_before = Counter(b.ref for b, _ in good)
    per_after = Counter(a.ref for _, a in good)
    result = []
    for before, after, evidence, value, reviewed in judged:
        if (before, after) in good and per_before[before.ref] == 1 and per_after[after.ref] == 1:
            reason = ("accepted in review" if reviewed == "same" else
                      f"score {value:.2f} ≥ {ACCEPT}, the only candidate on both sides")
            result.append(Decision(before, after, _kind(evidence), value, evidence, True, reason))
        elif (before, after) in good:
            result.append(Decision(before, after, _kind(evidence), value, evidence, False,
                                   "several candidates meet the threshold: kept apart"))
        elif _plausible(evidence, value):
            result.append(Decision(before, after, _kind(evidence), value, evidence, False,
                                   f"score {value:.2f} below {ACCEPT} or evidence not decisive"
                                   " for this kind: kept apart"))
    return result


def same_listing(dropped: Side, kept: Side) -> Evidence | None:
    """The evidence that a vanished row was a second copy of an agreement still printed
    (ICE deleting a duplicate row), or None. Names must match as a rename would (a shared
    MOA link alone is not proof: ICE has printed one agency's link on another's row)."""
    evidence = compare(dropped, kept)
    if (evidence.same_model and evidence.same_state and evidence.same_roles
            and evidence.name >= 0.95 and evidence.same_signed is not False
            and evidence.same_moa is not False):
        return evidence
    return None


def same_agency(a: Side, b: Side) -> float | None:
    """Name similarity when two printings name the same agency (same state and role,
    distinctive words equal, reordered or with one typo), else None. Used across the
    two lists, where no date or link can help."""
    if a.state != b.state:
        return None
    pa, pb = name_parts(a.name_key, a.state), name_parts(b.name_key, b.state)
    similarity = name_similarity(pa, pb)
    if pa.roles != pb.roles or similarity < 0.95:
        return None
    return similarity
