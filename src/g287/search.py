"""Name search: what a reader types, against every spelling ICE printed.

Each agency is one document: every printed spelling, its county, its type, its state's
code and names (English and Spanish). Text is folded the same way on both sides
(case, diacritics, curly and straight apostrophes, punctuation), so "Sheriff's" finds
"Sheriff’s" and "st lucie" finds "St. Lucie". Matching uses an SQLite FTS5 trigram
index (every word of the query must occur somewhere in the document, as a substring);
ranking and typo tolerance use rapidfuzz.

The index lives in memory, built lazily from the history's derived tables (≈ 0.13 s for
the shared archive) and cached per database file and state of those tables, so it is
never stale and needs no hook in ingest.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from g287.normalize import STATES

FUZZY_CUTOFF = 80
# Spanish names of states whose Spanish name differs (the rest are spelled alike).
STATE_NAMES_ES = {
    "DC": "Distrito de Columbia", "HI": "Hawái", "LA": "Luisiana", "MI": "Míchigan", "MS": "Misisipi",
    "MO": "Misuri", "NJ": "Nueva Jersey", "NM": "Nuevo México", "NY": "Nueva York",
    "NC": "Carolina del Norte", "SC": "Carolina del Sur", "ND": "Dakota del Norte", "SD": "Dakota del Sur",
    "OR": "Oregón", "PA": "Pensilvania", "WV": "Virginia Occidental", "VI": "Islas Vírgenes",
    "MP": "Islas Marianas del Norte", "AS": "Samoa Americana",
}
_APOSTROPHES = str.maketrans({"\u2019": "", "\u2018": "", "'": "", "`": "", "\u00b4": "", "\u02bc": ""})
_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case, no diacritics, no apostrophes, other punctuation as spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().translate(_APOSTROPHES)
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class Match:
    """Agencies matching a query, best first; ``fuzzy`` when found only by likeness
    (a typo), with ``suggestion`` the query as the history spells it."""

    agency_ids: list[str]
    fuzzy: bool
    suggestion: str | None


class _Index:
    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(agency_id UNINDEXED, body, tokenize='trigram')")
        bodies: dict[str, list[str]] = {}
        self.names: dict[str, list[str]] = {}
        for agency_id, kind, text in rows:
            folded = fold(text or "")
            if folded:
                bodies.setdefault(agency_id, []).append(folded)
                if kind == "name":
                    self.names.setdefault(agency_id, []).append(folded)
        self.bodies = {a: " | ".join(dict.fromkeys(parts)) for a, parts in bodies.items()}
        self.db.executemany("INSERT INTO docs VALUES (?, ?)", self.bodies.items())
        self.ids = list(self.bodies)
        self.words = sorted({w for body in self.bodies.values() for w in body.split() if len(w) > 2})
        self.lock = threading.Lock()

    def find(self, words: list[str]) -> list[str]:
        """Agencies whose document holds every word (FTS5 for words of 3+ letters)."""
        long = [w for w in words if len(w) >= 3]
        if long:
            expr = " AND ".join('"' + w.replace('"', '""') + '"' for w in long)
            with self.lock:
                ids = [r[0] for r in self.db.execute("SELECT agency_id FROM docs WHERE docs MATCH ?", (expr,))]
        else:
            ids = self.ids
        short = [w for w in words if len(w) < 3]
        return [a for a in ids if all(re.search(rf"\b{re.escape(w)}", self.bodies[a]) for w in short)]

    def rank(self, folded: str, ids: list[str]) -> list[str]:
        def score(agency_id: str) -> float:
            return max(fuzz.WRatio(folded, name, processor=None) for name in self.names.get(agency_id, [""]))
        return sorted(ids, key=lambda a: -score(a))

    def correct(self, words: list[str]) -> str | None:
        """Each word replaced by the closest word of the history's vocabulary."""
        fixed = []
        for word in words:
            best = process.extractOne(word, self.words, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            fixed.append(best[0] if best else word)
        return " ".join(fixed) if fixed != words else None


_cache: dict[tuple, _Index] = {}
_cache_lock = threading.Lock()


def _index(conn: sqlite3.Connection) -> _Index:
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    state = tuple(conn.execute(
        "SELECT (SELECT COUNT(*) FROM agencies), (SELECT COUNT(*) FROM agency_names),"
        " (SELECT MAX(last_seen) FROM agency_names), (SELECT value FROM meta WHERE key = 'fold')").fetchone())
    key = (path, state)
    with _cache_lock:
        index = _cache.get(key)
    if index is None or not path:
        index = _Index(_documents(conn))
        with _cache_lock:
            if len(_cache) > 8:
                _cache.clear()
            _cache[key] = index
    return index


def _documents(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for agency_id, state, name, agency_type, county in conn.execute(
            "SELECT agency_id, state, name, agency_type, county FROM agencies"):
        rows += [(agency_id, "name", name), (agency_id, "county", county or ""),
                 (agency_id, "type", agency_type or ""), (agency_id, "state", state),
                 (agency_id, "state", STATES[state][1] if state in STATES else ""),
                 (agency_id, "state", STATE_NAMES_ES.get(state, ""))]
        if county and not fold(county).endswith(("county", "parish", "borough")):
            rows.append((agency_id, "county", f"{county} county"))
    rows += [(r[0], "name", r[1]) for r in conn.execute("SELECT agency_id, spelling FROM agency_names")]
    return rows


def match(conn: sqlite3.Connection, text: str) -> Match:
    """Agencies for a query, best first. Every word must occur (as part of a word) in a
    spelling, county, type or state; failing that, names alike to the query (typos)."""
    folded = fold(text)
    index = _index(conn)
    if not folded:
        return Match([], False, None)
    words = folded.split()
    found = index.find(words)
    if found:
        return Match(index.rank(folded, found), False, None)
    suggestion = index.correct(words)
    if suggestion:
        corrected = index.find(suggestion.split())
        if corrected:
            return Match(index.rank(suggestion, corrected), True, suggestion)
    likes = process.extract(folded, {a: " ".join(n) for a, n in index.names.items()}, scorer=fuzz.WRatio,
                            processor=utils.default_process, score_cutoff=FUZZY_CUTOFF, limit=50)
    return Match([key for _, _, key in likes], True, suggestion)
