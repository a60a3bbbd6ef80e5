"""Two MOAs compared clause by clause: paragraphs aligned, each kept, changed, added or removed.

Paragraphs are the blocks between blank lines (OCR text and text layers alike), with
page headers, footers and page numbers left out so they do not count as changes.
Alignment is difflib's on normalised paragraphs; a replaced run is paired paragraph by
paragraph when rapidfuzz finds them similar enough to be one clause reworded.
"""

from __future__ import annotations

import difflib
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


def paragraphs(pages: Sequence[PageText]) -> list[Paragraph]:
    """The document's paragraphs in reading order, white space tidied."""
    out: list[Paragraph] = []
    for page in pages:
        blocks = re.split(r"\n[^\S\n]*\n", page.text) if "\n\n" in page.text.replace(" \n", "\n") else \
            _layer_blocks(page.text)
        for block in blocks:
            text = re.sub(r"\s+", " ", block).strip()
            if len(text) >= _MIN_CHARS:
                out.append(Paragraph(page.page, text))
    return out


def _layer_blocks(text: str) -> list[str]:
    """Blocks of a text layer without blank lines: a new block after a line ending a sentence
    that is followed by a capitalised or numbered line."""
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
    """Align the paragraphs of two documents."""
    a, b = paragraphs(a_pages), paragraphs(b_pages)
    matcher = difflib.SequenceMatcher(None, [_key(p.text) for p in a], [_key(p.text) for p in b], autojunk=False)
    changes: list[Change] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            changes.extend(Change("same", a[i], b[j], 100) for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
            continue
        changes.extend(_pair(a[i1:i2], b[j1:j2]))
    return Comparison(a_name, b_name, changes)


def _pair(left: list[Paragraph], right: list[Paragraph]) -> list[Change]:
    """Pair a replaced run greedily in order: similar paragraphs become 'changed'."""
    out: list[Change] = []
    j = 0
    for para in left:
        best, best_score = None, 0.0
        for k in range(j, min(len(right), j + 6)):
            score = fuzz.ratio(_key(para.text), _key(right[k].text))
            if score > best_score:
                best, best_score = k, score
        if best is not None and best_score >= SAME_CLAUSE:
            out.extend(Change("added", None, right[k], 0) for k in range(j, best))
            kind = "same" if best_score >= 99 else "changed"
            out.append(Change(kind, para, right[best], round(best_score)))
            j = best + 1
        else:
            out.append(Change("removed", para, None, 0))
    out.extend(Change("added", None, right[k], 0) for k in range(j, len(right)))
    return out
