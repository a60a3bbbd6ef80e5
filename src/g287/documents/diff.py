"""Two MOAs compared clause by clause: paragraphs aligned, each kept, changed, added or removed.

Paragraphs are the blocks between blank lines, split again where a line ends a sentence
and the next starts a heading or sentence (text layers rarely have blank lines); footers
and page numbers are left out so they do not count as changes.
Each paragraph is matched to its most similar counterpart (rapidfuzz), so clauses that a
later template moved still pair up.
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


def paragraphs(pages: Sequence[PageText]) -> list[Paragraph]:
    """The document's paragraphs in reading order, white space tidied, footers left out."""
    out: list[Paragraph] = []
    for page in pages:
        lines = [line for line in page.text.splitlines() if not _FOOTER.search(line)]
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


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def compare(a_pages: Sequence[PageText], b_pages: Sequence[PageText], a_name: str = "A",
            b_name: str = "B") -> Comparison:
    """Align the paragraphs of two documents, in B's order.

    Each paragraph of B is matched to the most similar unused paragraph of A (templates
    move clauses between sections, so order alone would miss them): identical → same,
    similar enough → changed, else added; A's unmatched paragraphs are removed, listed
    where they stood in A.
    """
    a, b = paragraphs(a_pages), paragraphs(b_pages)
    a_keys = [_key(p.text) for p in a]
    used: set[int] = set()
    matched: list[tuple[int, int | None, float]] = []
    for j, para in enumerate(b):
        key = _key(para.text)
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
