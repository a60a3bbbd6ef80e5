"""Two MOAs compared clause by clause: paragraphs aligned, each kept, changed, added or removed.

Paragraphs are the blocks between blank lines, split again where a line ends a sentence
and the next starts a heading or sentence (text layers rarely have blank lines); footers
and page numbers are left out so they do not count as changes.
Each paragraph is matched to its most similar counterpart (rapidfuzz), so clauses that a
later template moved still pair up.

Paragraphs are compared normalized, so that two documents of one template show only their
agency-specific clauses: bullet glyphs dropped, words hyphenated across a line break joined,
a paragraph one document splits in two matched to the other's whole one, and each
document's own agency name, its short forms and initials masked ("the Suwannee County
Sheriff's Office (SCSO)" and "the Knox County Sheriff's Office (KCSO)" compare equal).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from g287.documents.text import PageText

# Paragraphs at least this similar (0-100) are one clause, changed; below it, one removed and one added.
SAME_CLAUSE = 60
_MIN_CHARS = 40   # shorter blocks are headers, footers, page numbers, signature lines


@dataclass(frozen=True, slots=True)
class Paragraph:
    page: int
    text: str


@dataclass(frozen=True, slots=True)
class Change:
    """One aligned step: ``kind`` same | changed | removed (only in A) | added (only in B)."""

    kind: str
    a: Paragraph | None
    b: Paragraph | None
    similarity: int


@dataclass(frozen=True, slots=True)
class Comparison:
    a_name: str
    b_name: str
    changes: list[Change]

    @property
    def counts(self) -> dict[str, int]:
        out = {"same": 0, "changed": 0, "removed": 0, "added": 0}
        for change in self.changes:
            out[change.kind] += 1
        return out


_FOOTER = re.compile(r"Rev(?:ised|\.)?\s*\d{1,2}\s?/\s?\d{1,2}\s?/\s?\d{2,4}|^\s*\d{1,3}\s*$")


_BULLET = re.compile(r"(?m)^[^\S\n]*[•●▪■◦○·\uf0b7\uf0a7\uf076*-](?=\s)")
_HYPHENATED = re.compile(r"(?<=[a-z])-[^\S\n]*\n[^\S\n]*(?=[a-z])")


def paragraphs(pages: Sequence[PageText]) -> list[Paragraph]:
    """The document's paragraphs in reading order, white space tidied, footers and bullet
    glyphs left out, words hyphenated across lines joined."""
    out: list[Paragraph] = []
    for page in pages:
        text = _HYPHENATED.sub("", _BULLET.sub("", page.text.replace("\r\n", "\n").replace("\r", "\n")))
        lines = [line for line in text.splitlines() if not _FOOTER.search(line)]
        for chunk in re.split(r"\n[^\S\n]*\n", "\n".join(lines)):
            for block in _blocks(chunk):
                text = re.sub(r"\s+", " ", block).strip()
                if len(text) >= _MIN_CHARS:
                    out.append(Paragraph(page.page, text))
    return out


def _blocks(text: str) -> list[str]:
    """Blocks of text without blank lines (text layers rarely have them): a new block after
    a line ending a sentence when the next line starts a heading, item or sentence."""
    blocks: list[list[str]] = [[]]
    lines = text.splitlines()
    for i, line in enumerate(lines):
        blocks[-1].append(line)
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if re.search(r"[.:;]\s*$", line) and re.match(r"^(?:[A-Z(•]|[IVX]+\.|\d)", following):
            blocks.append([])
    return ["\n".join(b) for b in blocks if b]


def _key(text: str, masks: Sequence[str] = ()) -> str:
    key = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "
    for mask in masks:
        key = key.replace(f" {mask} ", " agency ")
    return re.sub(r"(?: agency)+ ", " agency ", key).strip()


_ORG_TAIL = re.compile(r"\s+(?:sheriff\W?s?\s+office|sheriff\W?s?\s+department|police\s+department|department"
                       r"\s+of\s+corrections|office|department)$", re.IGNORECASE)


def agency_masks(agency: str | None) -> list[str]:
    """The forms of an agency's name a document writes into its clauses: the name, the name
    without its office words ("Knox County"), and its initials ("KCSO"), as comparison keys."""
    if not agency:
        return []
    name = re.sub(r",\s*[A-Z]{2}$", "", agency.strip())
    forms = {name, _ORG_TAIL.sub("", name)}
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z][\w'’]*", name) if w[0].isupper())
    if len(initials) >= 2:
        forms.add(initials)
    keys = {_key(f) for f in forms}
    return sorted((k for k in keys if len(k) >= 2 and k not in {"the", "county", "city"}), key=len, reverse=True)


def compare(a_pages: Sequence[PageText], b_pages: Sequence[PageText], a_name: str = "A",
            b_name: str = "B", a_agency: str | None = None, b_agency: str | None = None) -> Comparison:
    """Align the paragraphs of two documents, in B's order.

    Each paragraph of B is matched to the most similar unused paragraph of A (templates
    move clauses between sections, so order alone would miss them): identical → same,
    similar enough → changed, else added; A's unmatched paragraphs are removed, listed
    where they stood in A.
    """
    a, b = paragraphs(a_pages), paragraphs(b_pages)
    a_masks, b_masks = agency_masks(a_agency), agency_masks(b_agency)
    a_keys = [_key(p.text, a_masks) for p in a]
    used: set[int] = set()
    matched: list[tuple[int, int | None, float]] = []
    b_keys = [_key(p.text, b_masks) for p in b]
    for j, key in enumerate(b_keys):
        if key not in a_keys and len(key) >= _MIN_CHARS:
            whole = next((i for i, k in enumerate(a_keys) if key in k), None)
            if whole is None:   # or A splits in two what B keeps whole
                whole = next((i for i in range(len(a_keys) - 1) if f"{a_keys[i]} {a_keys[i + 1]}" == key), None)
            if whole is not None:   # one part of a paragraph A keeps whole: the same text, split
                used.add(whole)
                matched.append((j, whole, 100.0))
                continue
        best: tuple[int, float] | None = None
        for i in _candidates(key, a_keys, used):
            score = fuzz.ratio(key, a_keys[i])
            if best is None or score > best[1]:
                best = (i, score)
        if best is not None and best[1] >= SAME_CLAUSE:
            used.add(best[0])
            matched.append((j, best[0], best[1]))
        else:
            matched.append((j, None, 0.0))
    _fold_splits(matched, a_keys, b_keys, used)
    changes: list[Change] = []
    removed = [i for i in range(len(a)) if i not in used]
    for j, i, score in matched:
        while removed and i is not None and removed[0] < i:
            changes.append(Change("removed", a[removed.pop(0)], None, 0))
        if i is None:
            changes.append(Change("added", None, b[j], 0))
        else:
            changes.append(Change("same" if score >= 99 else "changed", a[i], b[j], round(score)))
    changes.extend(Change("removed", a[i], None, 0) for i in removed)
    return Comparison(a_name, b_name, changes)


def _candidates(key: str, a_keys: list[str], used: set[int]) -> list[int]:
    """A's unused paragraphs, the exact twin first (most clauses are unchanged)."""
    exact = [i for i, k in enumerate(a_keys) if k == key and i not in used]
    return exact[:1] or [i for i in range(len(a_keys)) if i not in used]


def _fold_splits(matched: list[tuple[int, int | None, float]], a_keys: list[str], b_keys: list[str],
                 used: set[int]) -> None:
    """A paragraph one document splits where the other does not is no change: A's part of a
    paragraph that B keeps whole is marked used (not listed as removed)."""
    for index, key in enumerate(a_keys):
        if index not in used and len(key) >= _MIN_CHARS and any(key in b for b in b_keys):
            used.add(index)
