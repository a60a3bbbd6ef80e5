"""Is a row that vanished from one publication the same agreement as one that appeared?

Pure scoring of the evidence, used by :mod:`g287.history` between consecutive
publications of a list. ICE renames agencies ("Georgia Department of Corrections" →
"Georgia DOC"), relabels the signatory of an agreement (a sheriff's office row becoming
the county's board of commissioners, same MOA), misprints the state for a while, and
deletes duplicate rows; none of these is an agency leaving the program.

Each candidate pair is scored on independent pieces of evidence, as points that add up
(:data:`POINTS`): the MOA/addendum link (only when no third agreement prints it), the
signing date (worth more when no other *current* candidate of the state and model shares
it), the county, the agency type, and the name. Names are compared as agencies are
written: form words (department, office, ``, ST``…) set aside, role words (sheriff,
police, constable…) compared apart and recognised through a typo, acronyms derived from
the other name ("Department of Public Safety" ↔ "DPS", "Police Department" ↔ "P.D."),
words in any order, ward or precinct numbers printed on one side only.

A publication's pairs are chosen as one assignment per block (state and model; across
states only by the same link or date): the best-scoring pairs first, each side used
once, and a pair with a rival close behind it is not merged but reviewed. A unique
shared link with the same date merges whatever the names; otherwise the names must be
close and the date or link agree. Conflicting strong evidence (another county, another
link, a date far apart) never merges. What falls short but is plausible (same state
and model) waits for review, never merged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from g287.identity.resolve import near_spelling
from g287.normalize import STATES, name_key, unwrap_url

# Points each piece of evidence adds (or takes away) for a pair.
POINTS: dict[str, float] = {
    "moa_shared": 3.0,        # the same MOA/addendum document, printed by no third agreement
    "moa_differs": -1.0,      # each side prints a document of its own
    "signed_unique": 2.5,     # the same signing date, shared by no other current candidate
    "signed_same": 1.5,       # the same signing date, shared with other candidates
    "signed_close": -0.5,     # a date moved by a few days (ICE re-dating when the MOA posts)
    "signed_differs": -2.0,
    "name_same": 3.0,         # names >= 0.95
    "name_close": 2.0,        # >= NAME_ACCEPT
    "name_near": 1.0,         # >= REVIEW_NAME
    "name_unlike": -2.0,      # < 0.7
    "county_same": 1.0,
    "county_differs": -3.0,
    "type_same": 0.5,
    "type_differs": -1.0,
    "roles_differ": -0.5,     # another signatory (a relabel)
}
ACCEPT = 5.0          # points at or above which a pair without a rival is merged
MARGIN = 1.0          # a rival this close to the best pair makes it a review item
NAME_ACCEPT = 0.9     # names at least this close (distinctive words) for a rename
REVIEW = 2.0          # points at or above which an unmerged pair of one state waits for review
REVIEW_NAME = 0.85    # ... with names at least this close (or the same MOA, or a date of their own)
DATE_NAME = 0.5       # a signing date no other candidate shares merges names this alike (or one county)
CLOSE_DAYS = 7        # a signing date moved by at most this many days is a correction
FAR_DAYS = 60         # ... by more than this, with another county and link: another agreement


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
# Words that only number a subdivision (a ward, a precinct): printed on one side only,
# they do not make another agency; printed differently on both, they do.
_QUALIFIER = re.compile(r"^(?:\d+(?:st|nd|rd|th)?|ward|precinct|pct|district|no|number)$")
_CONNECTORS = _words("of the and for")
_KNOWN = FORM_WORDS | ROLE_WORDS
_LONG_KNOWN = tuple(sorted(w for w in _KNOWN if len(w) >= 6))
_NUMBER = re.compile(r"^\d+(?:st|nd|rd|th)?$")


@lru_cache(maxsize=65536)
def _word(word: str) -> str:
    """A word as compared: a role or form word misspelt by one letter or a swap
    (``Constbales``; two for words of eight letters or more: ``Sherrifs``) read as that
    word. Only words of seven letters or more, and never a role word with letters added
    (``Marshall`` is a place)."""
    word = SAME_WORDS.get(word, word)
    if word in _KNOWN or len(word) < 7 or word[0].isdigit():
        return word
    if any(word.startswith(known) for known in _LONG_KNOWN):
        return word
    allowed = 1 if len(word) < 8 else 2
    for known in _LONG_KNOWN:
        if abs(len(known) - len(word)) <= allowed and \
                OSA.distance(word, known, score_cutoff=allowed) <= allowed:
            return known
    return word


def _truncated(word: str) -> str:
    """A last word cut short by a cell's width (``Offic``, ``Depart``) read as the role or
    form word it begins."""
    if len(word) < 3 or word in _KNOWN or word[0].isdigit():
        return word
    found = [k for k in _KNOWN if k.startswith(word) and len(k) - len(word) <= 3]
    return min(found, key=len) if len(found) == 1 or (found and len({f.rstrip("s") for f in found}) == 1) else word


@lru_cache(maxsize=65536)
def _name_words(key: str) -> tuple[str, ...]:
    """The words of a name key as compared: typos in role words read, letters of an
    initialism joined, a truncated last word completed."""
    words = _collapse_letters([_word(w) for w in key.split()])
    if words:
        words[-1] = _truncated(words[-1])
    return tuple(words)


def _initials(words: Sequence[str]) -> str:
    return "".join(w[0] for w in words)


def _collapse_letters(words: list[str]) -> list[str]:
    """``p d`` (from ``P.D.``) → ``pd``: runs of single letters are one acronym."""
    out: list[str] = []
    run = ""
    for w in words:
        if len(w) == 1 and w.isalpha():
            run += w
            continue
        if run:
            out.append(run)
            run = ""
        out.append(w)
    if run:
        out.append(run)
    return out


def _fold_acronyms(words: list[str], other: frozenset[str]) -> list[str]:
    """Replace in ``words`` each run of words whose initials (with or without ``of``,
    ``the``…) spell an acronym the other name prints (``department of corrections`` →
    ``doc`` when the other name says DOC)."""
    for token in sorted(t for t in other if 2 <= len(t) <= 6 and t.isalpha()
                        and t not in _KNOWN and t not in words):
        span = _acronym_span(words, token)
        if span:
            words = words[:span[0]] + [token] + words[span[1]:]
    return words


def _acronym_span(words: Sequence[str], token: str) -> tuple[int, int] | None:
    for start, first in enumerate(words):
        if first[0] != token[0] or first in _CONNECTORS:
            continue
        for stop in range(start + 2, len(words) + 1):
            run = words[start:stop]
            plain = [w for w in run if w not in _CONNECTORS]
            if token in (_initials(run), _initials(plain)):
                return start, stop
            if len(plain) > len(token):
                break
    return None


@dataclass(frozen=True, slots=True)
class NameParts:
    """An agency name split into its distinctive words and its role words."""

    core: tuple[str, ...]
    roles: frozenset[str]
    kinds: frozenset[str]


def _parts(words: Sequence[str], state: str | None) -> NameParts:
    words = list(words)
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


@lru_cache(maxsize=65536)
def name_parts(name_key: str, state: str | None = None) -> NameParts:
    """Split a canonical name key (see :func:`g287.normalize.name_key`); a trailing state
    code (``Smith Township Constable, PA``) is dropped. A state agency's only distinctive
    words are its state's name, printed or not: ``Mississippi Department of Public Safety``
    and ``Department of Public Safety`` (MS) both have the core ``mississippi``."""
    return _parts(_name_words(name_key), state)


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
    only_a, only_b = set(a.core) - set(b.core), set(b.core) - set(a.core)
    if only_a and only_b and any(_NUMBER.match(w) for w in only_a | only_b):
        return 0.5    # precinct 1 and precinct 2: two offices
    if near_spelling(" ".join(sorted(a.core)), " ".join(sorted(b.core))) is not None \
            or near_spelling(" ".join(a.core), " ".join(b.core)) is not None:
        return 0.95
    if (not only_a or not only_b) and all(_QUALIFIER.match(w) for w in only_a | only_b) \
            and set(a.core) & set(b.core):
        return 0.9    # a ward or precinct printed on one side only
    return fuzz.token_sort_ratio(" ".join(a.core), " ".join(b.core)) / 100


@lru_cache(maxsize=65536)
def names_alike(key_a: str, state_a: str, key_b: str, state_b: str) -> tuple[float, str]:
    """Name evidence between two name keys: similarity 0..1 (best of the names as printed,
    without a trailing annotation, and with acronyms spelt out from the other name) and how
    their roles relate: ``same``, ``one_side`` (printed on one side only) or ``different``."""
    wa, wb = _name_words(key_a), _name_words(key_b)
    pa, pb = name_parts(key_a, state_a), name_parts(key_b, state_b)
    roles = "same" if pa.roles == pb.roles else "one_side" if not (pa.roles and pb.roles) else "different"
    if not _may_be_alike(pa.core, pb.core, wa, wb):
        return 0.0, roles
    wa, wb = list(wa), list(wb)
    best = name_similarity(pa, pb)
    if best < 1.0:
        fa, fb = _fold_acronyms(wa, frozenset(wb)), _fold_acronyms(wb, frozenset(wa))
        if fa != wa or fb != wb:
            qa, qb = _parts(fa, state_a), _parts(fb, state_b)
            folded = name_similarity(qa, qb)
            if folded > best:
                best, pa, pb = folded, qa, qb
    roles = "same" if pa.roles == pb.roles else "one_side" if not (pa.roles and pb.roles) else "different"
    return best, roles


def _may_be_alike(core_a: tuple[str, ...], core_b: tuple[str, ...], words_a: Sequence[str],
                  words_b: Sequence[str]) -> bool:
    """A cheap test before the comparison: names that share no distinctive word, are not
    one typo apart and print no acronym cannot score as alike (most pairs of a block)."""
    only_a, only_b = set(core_a) - set(core_b), set(core_b) - set(core_a)
    if not core_a or not core_b or not only_a or not only_b:
        return True   # one name's words within the other's
    if len(only_a) == len(only_b) == 1 and OSA.distance(min(only_a), min(only_b), score_cutoff=2) <= 2:
        return True   # one word apart by a typo
    if "".join(w for w in core_a if w in only_a) == "".join(w for w in core_b if w in only_b):
        return True   # spaced differently (Mc Donald, McDonald)
    return _has_acronym(only_a, words_b) or _has_acronym(only_b, words_a)


def _has_acronym(tokens: set[str], words: Sequence[str]) -> bool:
    """Whether one of ``tokens`` spells the initials of a run of ``words``."""
    initials = {w[0] for w in words}
    return any(2 <= len(t) <= 6 and t.isalpha() and set(t) <= initials and t not in _KNOWN
               and _acronym_span(words, t) for t in tokens)


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
    gone: bool = False           # removed earlier, or last seen across an unseen stretch


@dataclass(frozen=True, slots=True)
class Evidence:
    """What two sides have in common; ``None`` where a side lacks the fact."""

    name: float
    same_roles: bool                    # roles equal, or printed on one side only
    same_state: bool
    same_model: bool
    same_signed: bool | None
    same_moa: bool | None
    same_place: bool | None             # county and type together (either printed)
    shared_link: str | None = None      # the folded link both print, when unique to them
    date_unique: bool = False           # no other current candidate shares state, model and date
    roles: str = "same"                 # same | one_side | different
    same_county: bool | None = None
    same_type: bool | None = None
    days_apart: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(before: Side, after: Side, counts: dict[str, int] | None = None,
            date_unique: bool = False) -> Evidence:
    """The evidence between two sides. ``counts`` says how many sides of the publication
    (candidates and agreements printed on both sheets) print each link: a link printed by
    a third is not evidence of sameness."""
    similarity, roles = names_alike(before.name_key, before.state, after.name_key, after.state)
    bare_a, bare_b = bare_key(before.name), bare_key(after.name)
    if similarity < 1.0 and (bare_a != before.name_key or bare_b != after.name_key):
        other = names_alike(bare_a, before.state, bare_b, after.state)
        if other[0] > similarity:
            similarity, roles = other
    shared = [k for k in before.links & after.links if counts is None or counts.get(k, 2) <= 2]
    moa: bool | None = True if shared else None
    if moa is None and _own(before.links, after.links, counts) and _own(after.links, before.links, counts):
        moa = False
    days = None if before.signed is None or after.signed is None else abs((after.signed - before.signed).days)
    county = None if not (before.county and after.county) else \
        same_county(before.state, before.county, after.state, after.county)
    kind = None if not (before.agency_type and after.agency_type) else \
        same_words(before.agency_type, after.agency_type)
    place = None if county is None and kind is None else county is not False and kind is not False
    return Evidence(similarity, roles != "different", before.state == after.state,
                    before.model == after.model, None if days is None else days == 0, moa, place,
                    min(shared) if shared else None, date_unique and days == 0, roles, county,
                    kind, days)


@lru_cache(maxsize=65536)
def same_county(state_a: str, a: str, state_b: str, b: str) -> bool | None:
    """Whether two printed counties are one: True when they fold alike; None when one is a
    misprint of the other (one of them names no county of the state: ``Somervill`` /
    ``Somervell County``; outside the gazetteer, a letter or two apart); False otherwise,
    also for two real counties one letter apart (Parker and Parmer County are neighbours)."""
    from g287.places.counties import county_key, known_county

    ka, kb = county_key(a), county_key(b)
    if ka == kb:
        return True
    known_a, known_b = known_county(state_a, a), known_county(state_b, b)
    if known_a and known_b:
        return False
    if known_a or known_b:   # one real county, one that names none (``Freedom`` / ``Freeborn``)
        return None
    return False if OSA.distance(ka, kb, score_cutoff=2) > 2 else None


def _own(links: frozenset[str], other: frozenset[str], counts: dict[str, int] | None) -> bool:
    """Whether a side prints a document of its own (no one else prints it)."""
    return any(k not in other and (counts is None or counts.get(k, 1) <= 1) for k in links)


def _place_key(text: str) -> tuple[str, ...]:
    """A county or type compared as its words (``Lafourche Parish`` = ``Lafourche County``)."""
    return tuple(SAME_WORDS.get(w, w) for w in name_key(text).split())


def same_words(a: str, b: str) -> bool:
    """Whether two agency types are the same once case and spelling fold, or with one word
    mistyped (``Muncipality``). Counties are compared by :func:`same_county`."""
    x, y = _place_key(a), _place_key(b)
    return x == y or near_spelling(" ".join(x), " ".join(y)) is not None


def breakdown(evidence: Evidence) -> list[tuple[str, float]]:
    """The points each piece of evidence gives a pair, in a fixed order."""
    out: list[tuple[str, float]] = []
    if evidence.same_moa is True:
        out.append(("moa_shared", POINTS["moa_shared"]))
    elif evidence.same_moa is False:
        out.append(("moa_differs", POINTS["moa_differs"]))
    days = evidence.days_apart
    if days == 0:
        key = "signed_unique" if evidence.date_unique else "signed_same"
        out.append((key, POINTS[key]))
    elif days is not None:
        key = "signed_close" if days <= CLOSE_DAYS else "signed_differs"
        out.append((key, POINTS[key]))
    name = evidence.name
    key = ("name_same" if name >= 0.95 else "name_close" if name >= NAME_ACCEPT else
           "name_near" if name >= REVIEW_NAME else "name_unlike" if name < 0.7 else "")
    if key:
        out.append((key, POINTS[key]))
    for fact, prefix in ((evidence.same_county, "county"), (evidence.same_type, "type")):
        if fact is not None:
            key = f"{prefix}_same" if fact else f"{prefix}_differs"
            out.append((key, POINTS[key]))
    if evidence.roles == "different":
        out.append(("roles_differ", POINTS["roles_differ"]))
    return out


def score(evidence: Evidence) -> float:
    """The points a pair's evidence adds up to (see :data:`POINTS`)."""
    return round(sum(p for _, p in breakdown(evidence)), 2)


def explain(evidence: Evidence) -> str:
    """The points in words, as a reviewer reads them: ``name 1.00 +3, signed same +1.5``."""
    words = ", ".join(f"{k.replace('_', ' ')} {p:+g}" for k, p in breakdown(evidence))
    return f"name {evidence.name:.2f}; {words or 'no evidence'} = {score(evidence):g} points"


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
    # Another signatory, or a body whose name has nothing in common: a relabel.
    return "renamed" if evidence.same_roles and evidence.name >= NAME_ACCEPT else "relabelled"


def conflicting(evidence: Evidence) -> bool:
    """Strong evidence against: another county, another document and a date far apart."""
    return (evidence.same_county is False and evidence.same_moa is False
            and evidence.days_apart is not None and evidence.days_apart > FAR_DAYS)


def acceptable(evidence: Evidence, points: float, dated: bool = True, gone: bool = False) -> bool:
    """Whether a pair, if it has no rival, is the same agreement (or pending entry)."""
    e = evidence
    if not e.same_model or conflicting(e):
        return False
    if not dated:   # pending lists print no date or link: the name must carry it
        return e.same_state and e.same_roles and e.name >= NAME_ACCEPT and e.same_place is not False
    if not e.same_state:   # the same agency printed under another state
        return e.name >= 0.95 and e.same_roles and e.same_signed is True and e.same_moa is not False
    if e.same_moa is True and e.same_signed is True:
        return True        # two strong pieces agree: whatever the name
    if gone and e.same_signed is False:   # signed again after leaving: the same agency?
        return e.name >= 1.0 and e.same_roles and e.same_place is not False and e.same_moa is not True
    if (e.same_signed is True and e.date_unique and e.same_county is not False and e.same_type is not False
            and (e.same_county is True or e.name >= DATE_NAME)):
        return True        # one signing date no other candidate has, one place: relabelled
    if e.name < NAME_ACCEPT or e.same_county is False:
        return False
    if not e.same_roles:
        return e.same_moa is True or (e.same_signed is True and e.date_unique)
    return (e.same_signed is True or e.same_moa is True) and points >= ACCEPT


def plausible(evidence: Evidence, points: float) -> bool:
    """Whether an unmerged pair is worth a reviewer's time: one state and model, and the
    same MOA or close names with enough evidence; never across conflicting strong evidence."""
    e = evidence
    if not (e.same_state and e.same_model) or (conflicting(e) and e.name < 0.95):
        return False
    return (e.same_moa is True or (e.name >= REVIEW_NAME and points >= REVIEW)
            or (e.same_signed is True and e.date_unique and e.same_county is not False))


def pair(vanished: Sequence[Side], arrived: Sequence[Side],
         decisions: dict[tuple[str, str, str, str], str] | None = None,
         others: Iterable[frozenset[str]] = (), dated: bool = True) -> list[Decision]:
    """Choose the pairs of what vanished and what appeared on a publication; return the
    merges and the review candidates.

    Candidates are blocked by state and model (across states only by a shared link or
    signing date). The pairing is one assignment: acceptable pairs are taken best first,
    each side once; a pair with a rival within :data:`MARGIN` is reviewed, not merged.
    ``dated`` is False for pending lists (no signing date, no link). ``decisions`` holds
    reviewed pairs, (state before, name key before, state after, name key after) →
    ``same`` | ``distinct``; ``others`` are the links of the agreements printed on both
    sheets, whose links are not evidence for a pair.
    """
    decisions = decisions or {}
    counts: dict[str, int] = defaultdict(int)
    for links in (*(s.links for s in vanished), *(s.links for s in arrived), *others):
        for link in links:
            counts[link] += 1
    dates: dict[tuple, int] = defaultdict(int)
    for side in (*vanished, *arrived):
        if not side.gone and side.signed:
            dates[(side.state, side.model, side.signed)] += 1
    block: dict[tuple[str, str], list[Side]] = defaultdict(list)
    by_date: dict[tuple[str, dt.date], list[Side]] = defaultdict(list)
    by_link: dict[str, list[Side]] = defaultdict(list)
    for after in arrived:
        block[(after.state, after.model)].append(after)
        if dated and after.signed:
            by_date[(after.model, after.signed)].append(after)
        for link in after.links:
            by_link[link].append(after)
    judged: list[tuple[float, Side, Side, Evidence, str | None]] = []
    for before in vanished:
        candidates = list(block.get((before.state, before.model), ()))
        if dated:   # across states: only what shares a date or a link
            across = [a for a in by_date.get((before.model, before.signed), ()) if a.state != before.state]
            for link in before.links:
                across += [a for a in by_link.get(link, ()) if a.state != before.state]
            candidates += list(dict.fromkeys(across))
        for after in candidates:
            if after.model != before.model:
                continue
            reviewed = decisions.get((before.state, before.name_key, after.state, after.name_key))
            if reviewed == "distinct":
                continue
            unique = (before.signed is not None and before.signed == after.signed
                      and dates[(before.state, before.model, before.signed)] == 1 + (before.state == after.state)
                      and dates[(after.state, after.model, after.signed)] == 1 + (before.state == after.state))
            evidence = compare(before, after, counts, unique)
            judged.append((score(evidence), before, after, evidence, reviewed))
    return _assign(judged, dated)


def _assign(judged: list[tuple[float, Side, Side, Evidence, str | None]], dated: bool) -> list[Decision]:
    good = [j for j in judged if j[4] == "same" or acceptable(j[3], j[0], dated, j[1].gone)]
    good.sort(key=lambda j: (j[4] != "same", -j[0], -j[3].name, j[1].ref, j[2].ref))
    taken: set[str] = set()
    result: list[Decision] = []
    for value, before, after, evidence, reviewed in good:
        if before.ref in taken or after.ref in taken:
            continue
        rivals = [j for j in good if (j[1] is before) != (j[2] is after) and j[1].ref not in taken
                  and j[2].ref not in taken and (j[1] is before or j[2] is after)
                  and j[0] >= value - MARGIN and reviewed != "same"]
        if rivals:
            for r in [(value, before, after, evidence, reviewed), *rivals]:
                taken.update((r[1].ref, r[2].ref))
                result.append(Decision(r[1], r[2], _kind(r[3]), r[0], r[3], False,
                                       "several candidates meet the threshold: kept apart"))
            continue
        taken.update((before.ref, after.ref))
        reason = ("accepted in review" if reviewed == "same" else
                  f"{explain(evidence)}; the best candidate on both sides, no rival within {MARGIN:g}")
        result.append(Decision(before, after, _kind(evidence), value, evidence, True, reason))
    for value, before, after, evidence, reviewed in judged:
        if before.ref in taken or after.ref in taken or reviewed == "same":
            continue
        if plausible(evidence, value):
            result.append(Decision(before, after, _kind(evidence), value, evidence, False,
                                   f"{explain(evidence)}: not enough for a {_kind(evidence)} "
                                   "merge; kept apart"))
    return result


def same_listing(dropped: Side, kept: Side) -> Evidence | None:
    """The evidence that a vanished row was a second copy of an agreement still printed
    (ICE deleting a duplicate row), or None. Names must match as a rename would (a shared
    MOA link alone is not proof: ICE has printed one agency's link on another's row)."""
    evidence = compare(dropped, kept)
    if (evidence.same_model and evidence.same_state and evidence.roles == "same"
            and evidence.name >= 0.95 and evidence.same_signed is not False
            and evidence.same_moa is not False and evidence.same_place is not False):
        return evidence
    return None


def same_agency(a: Side, b: Side, at_least: float = NAME_ACCEPT) -> float | None:
    """Name similarity when two printings name the same agency (same state, roles equal
    or printed on one side only, distinctive words equal in any order, with a typo, an
    acronym or a ward printed on one side only; county and type not contradicting), else
    None. Used across the two lists, where no date or link can help."""
    if a.state != b.state:
        return None
    similarity, roles = names_alike(a.name_key, a.state, b.name_key, b.state)
    if roles == "different" or similarity < at_least:
        return None
    if a.county and b.county and same_county(a.state, a.county, b.state, b.county) is False:
        return None
    if a.agency_type and b.agency_type and _place_key(a.agency_type) != _place_key(b.agency_type):
        return None
    return similarity
