"""The review queue: lineage candidates the evidence did not settle, and their settlement.

A candidate (a vanished and an appeared agreement, or a pending agency and a new
participating spelling) is never merged by g287 on its own below the threshold of
:mod:`g287.identity.lineage`. A person accepts or rejects it with a reason; the decision is a
line of the user's decisions file (``--aliases``, ``$G287_ALIASES`` or
``<database>.decisions.csv``; never the alias file shipped with g287), and the history
is replayed with it.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from g287 import ingest, outputs
from g287.errors import BadInput
from g287.identity import decisions
from g287.identity.resolve import parse_aliases

DECISION_COLUMNS = decisions.COLUMNS


@dataclass(frozen=True, slots=True)
class Candidate:
    """A lineage candidate with everything a reviewer needs to judge it."""

    decision_id: str
    kind: str                 # renamed | relabelled | state_corrected | pending_signed
    status: str               # review | merged
    list: str
    before_file: str | None   # the publication where the 'before' side was last printed
    after_file: str           # the publication where the 'after' side first appears
    date: str                 # ICE label date of the publication after
    before: dict              # name, state, model, signed, links, agency id
    after: dict
    score: float
    evidence: dict
    reason: str


_CANDIDATE_SQL = (
    "SELECT l.decision_id, l.kind, l.status, l.list, b.file, p.file, p.date, l.before, l.after,"
    " l.score, l.evidence, l.reason FROM lineage l JOIN publications p ON p.id = l.after_pub"
    " LEFT JOIN publications b ON b.id = l.before_pub")


def _candidate(row: sqlite3.Row) -> Candidate:
    return Candidate(*tuple(row)[:7], json.loads(row[7]), json.loads(row[8]), row[9],
                     json.loads(row[10]), row[11])


def candidates(conn: sqlite3.Connection, status: str = "review") -> list[Candidate]:
    """Lineage decisions with the given status (``review``: awaiting a person; ``merged``)."""
    rows = conn.execute(f"{_CANDIDATE_SQL} WHERE l.status = ? ORDER BY l.seq", (status,))
    return [_candidate(r) for r in rows]


def candidate(conn: sqlite3.Connection, decision_id: str) -> Candidate:
    """One candidate by id; BadInput when there is none."""
    row = conn.execute(f"{_CANDIDATE_SQL} WHERE l.decision_id = ?", (decision_id,)).fetchone()
    if row is None:
        raise BadInput(f"no lineage candidate {decision_id!r}; `g287 review` lists them")
    return _candidate(row)


@dataclass(frozen=True, slots=True)
class Settlement:
    """A review decision written to the user's decisions file and the history replayed with it."""

    decision_id: str
    decision: str             # same | distinct | alias
    aliases: str              # the decisions file written
    line: str                 # the line added
    rebuild: ingest.RebuildReport


MAX_REASON = 500


def check_reason(reason: str) -> str:
    """The reason, stripped, when it is one line of printable text of at most
    ``MAX_REASON`` characters; BadInput otherwise (checked before anything is written)."""
    text = reason.strip()
    if not text:
        raise BadInput("a review decision needs a reason (--reason)")
    if len(text) > MAX_REASON:
        raise BadInput(f"the reason has {len(text):,} characters; keep it to {MAX_REASON} (one line)")
    bad = next((c for c in text if not c.isprintable()), None)
    if bad is not None:
        raise BadInput(f"the reason must be one line of printable text; it holds U+{ord(bad):04X} "
                       f"at character {text.index(bad) + 1}")
    return text


def settle(conn: sqlite3.Connection, decision_id: str, accept: bool, reason: str,
           aliases: Path | None = None) -> Settlement:
    """Accept (the same agreement / agency) or reject (two different ones) a candidate:
    add the decision with its reason to the user's decisions file (:mod:`g287.identity.decisions`),
    then replay the history. The file is replaced whole after reading the new text back;
    if the replay fails, its previous text is put back: a failed command leaves nothing."""
    reason = check_reason(reason)
    path = decisions.user_path(conn, aliases)
    if path is None:
        raise BadInput("an in-memory history has no decisions file; pass --aliases")
    if decisions.is_shipped(path):
        raise BadInput(f"{path}: the alias file shipped with g287 is read-only; decisions go to "
                       f"your own file (--aliases, ${decisions.ALIASES_ENV} or <database>{decisions.SUFFIX})")
    found = candidate(conn, decision_id)
    if found.status != "review":
        raise BadInput(f"{decision_id} was not waiting for review (status {found.status})")
    decision = "distinct" if not accept else ("alias" if found.kind == "pending_signed" else "same")
    values = [found.after["state"], found.after["name"], found.before["name"],
              f"review {decision_id}: {reason}", decision, found.before["state"]]
    old = decisions.read(path)[0] if path.exists() else None
    text = _with_line(old, values, path)
    try:
        if text != old:
            outputs.write_bytes(path, text.encode("utf-8"), owned=False, verify=lambda t: _verify(t, path, text))
        replayed = ingest.rebuild(conn, aliases=path)
    except BaseException:
        if text != old:
            if old is None:
                path.unlink(missing_ok=True)
            else:
                outputs.write_bytes(path, old.encode("utf-8"), owned=False)
        raise
    return Settlement(decision_id, decision, str(path), _line(values).strip(), replayed)


def _line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _with_line(old: str | None, values: list[str], path: Path) -> str:
    """The decisions file's text with the decision added (once: a retry adds nothing),
    widening an older four-column header first; BadInput when the line would not read
    back as exactly this decision (a name no CSV line can carry)."""
    lines = (old or "").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")),
                  None)
    if header is None:
        lines.append(",".join(DECISION_COLUMNS))
    elif "decision" not in lines[header]:
        lines[header] = ",".join(DECISION_COLUMNS)
    before = parse_aliases("\n".join(lines), str(path))
    wanted = parse_aliases(",".join(DECISION_COLUMNS) + "\n" + _line(values), str(path))
    if len(wanted) != 1:
        raise BadInput(f"{path}: this decision cannot be written as one line of the decisions file")
    if wanted[0] in before:
        return old or ""
    text = "\n".join([*lines, _line(values).rstrip("\n")]) + "\n"
    if parse_aliases(text, str(path)) != [*before, wanted[0]]:
        raise BadInput(f"{path}: this decision would not read back as written (a name holds a "
                       "line break); settle it by editing the file")
    return text


def _verify(written: Path, path: Path, text: str) -> None:
    """Read the new decisions file back before it replaces the old one."""
    if written.read_bytes().decode("utf-8") != text:
        raise BadInput(f"{path}: the decisions file did not read back as written")
    decisions.read(written)
