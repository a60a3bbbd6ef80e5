"""The review queue: lineage candidates the evidence did not settle, and their settlement.

A candidate (a vanished and an appeared agreement, or a pending agency and a new
participating spelling) is never merged by g287 on its own below the threshold of
:mod:`g287.lineage`. A person accepts or rejects it with a reason; the decision is a
line of the alias file (the shipped one, versioned with g287, or the user's own
``$G287_ALIASES`` / ``--aliases``), and the history is replayed with it.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from g287 import ingest
from g287.errors import BadInput

DECISION_COLUMNS = ("state", "spelling", "canonical_name", "note", "decision", "canonical_state")


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
    """A review decision written to the alias file and the history replayed with it."""

    decision_id: str
    decision: str             # same | distinct | alias
    aliases: str              # the alias file written
    line: str                 # the line added
    rebuild: ingest.RebuildReport


def settle(conn: sqlite3.Connection, decision_id: str, accept: bool, reason: str,
           aliases: Path | None = None) -> Settlement:
    """Accept (the same agreement / agency) or reject (two different ones) a candidate:
    append the decision with its reason to the alias file, then replay the history."""
    if not reason.strip():
        raise BadInput("a review decision needs a reason (--reason)")
    found = candidate(conn, decision_id)
    if found.status != "review":
        raise BadInput(f"{decision_id} was not waiting for review (status {found.status})")
    path = aliases or ingest.default_aliases_path()
    decision = "distinct" if not accept else ("alias" if found.kind == "pending_signed" else "same")
    line = _line([found.after["state"], found.after["name"], found.before["name"],
                  f"review {decision_id}: {reason.strip()}", decision, found.before["state"]])
    _append(path, line)
    return Settlement(decision_id, decision, str(path), line.strip(),
                      ingest.rebuild(conn, aliases=path))


def _line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _append(path: Path, line: str) -> None:
    """Add a line to the alias file, widening an older four-column header first."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the alias file ({exc.strerror or exc})") from exc
    lines = text.splitlines()
    header = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")),
                  None)
    if header is None:
        lines.append(",".join(DECISION_COLUMNS))
    elif "decision" not in lines[header]:
        lines[header] = ",".join(DECISION_COLUMNS)
    lines.append(line.rstrip("\n"))
    try:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot write the alias file ({exc.strerror or exc})") from exc
