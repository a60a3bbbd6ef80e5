"""Invariants of the history, checked by ``g287 qa`` and after every ``g287 ingest``.

Each check returns data (name, status, count, detail) rather than raising, so a
report can list every problem at once, as frictionless reports data errors.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from g287.ingest import stored_reader_version
from g287.read import READER_VERSION


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one invariant: ``pass``, ``warn`` (a data quirk) or ``fail``."""

    name: str
    status: str
    count: int
    detail: str


def _check(name: str, bad: list, detail: str, *, warn_only: bool = False) -> CheckResult:
    status = "pass" if not bad else ("warn" if warn_only else "fail")
    shown = "; ".join(str(b) for b in bad[:5]) + (" …" if len(bad) > 5 else "")
    return CheckResult(name, status, len(bad), detail if not bad else f"{detail}: {shown}")


def active_on_newest(conn: sqlite3.Connection) -> CheckResult:
    """Every active agreement is on the newest participating sheet, and vice versa."""
    newest = conn.execute("SELECT id FROM publications WHERE list = 'participating'"
                          " ORDER BY seq DESC LIMIT 1").fetchone()
    on_sheet = {r[0] for r in conn.execute(
        "SELECT DISTINCT agreement_id FROM row_identities WHERE publication_id = ?"
        " AND agreement_id IS NOT NULL", (newest[0] if newest else "",))}
    active = {r[0] for r in conn.execute("SELECT agreement_id FROM agreements WHERE status = 'active'")}
    return _check("active agreements = newest participating sheet",
                  sorted(on_sheet ^ active), "agreements marked active vs listed")


def one_state_per_identity(conn: sqlite3.Connection) -> CheckResult:
    """No agency identity spans two states."""
    bad = [r[0] for r in conn.execute(
        "SELECT i.agency_id FROM row_identities i JOIN sheet_rows r USING (publication_id, row_number)"
        " WHERE i.agency_id IS NOT NULL GROUP BY i.agency_id HAVING COUNT(DISTINCT r.state) > 1")]
    return _check("no identity spans two states", bad, "agencies printed in one state each")


def rows_accounted(conn: sqlite3.Connection) -> CheckResult:
    """Each publication's rows: as declared = stored = resolved to an identity."""
    bad = [f"{r[0]} ({r[1]} declared, {r[2]} stored, {r[3]} resolved)" for r in conn.execute(
        "SELECT p.file, p.rows,"
        " (SELECT COUNT(*) FROM sheet_rows s WHERE s.publication_id = p.id),"
        " (SELECT COUNT(*) FROM row_identities i WHERE i.publication_id = p.id)"
        " FROM publications p")
        if not r[1] == r[2] == r[3]]
    return _check("every row of every publication accounted for", bad, "rows declared/stored/resolved")


def rows_with_identity(conn: sqlite3.Connection) -> CheckResult:
    """Rows that could not form an agreement or pending entry (no state, name or model)."""
    bad = [f"{r[0]} row {r[1]}" for r in conn.execute(
        "SELECT p.file, i.row_number FROM row_identities i JOIN publications p ON p.id = i.publication_id"
        " WHERE i.agreement_id IS NULL AND i.pending_id IS NULL")]
    return _check("every row identifies an agreement or pending entry", bad,
                  "rows without an identity", warn_only=True)


def raw_bytes_intact(conn: sqlite3.Connection) -> CheckResult:
    """Every publication's raw bytes are stored and hash to its sha256."""
    bad = [r[1] for r in conn.execute(
        "SELECT p.sha256, p.file, f.content FROM publications p LEFT JOIN raw_files f USING (sha256)")
        if r[2] is None or hashlib.sha256(r[2]).hexdigest() != r[0]]
    return _check("raw bytes stored and intact", bad, "publications with raw bytes verified")


def duplicate_rows(conn: sqlite3.Connection) -> CheckResult:
    """Agreements printed on more than one row of the same sheet (a quirk, kept as printed)."""
    bad = [f"{r[0]}: {r[1]} ×{r[2]}" for r in conn.execute(
        "SELECT p.file, a.name, COUNT(*) FROM row_identities i"
        " JOIN publications p ON p.id = i.publication_id JOIN agencies a USING (agency_id)"
        " WHERE i.agreement_id IS NOT NULL GROUP BY i.publication_id, i.agreement_id"
        " HAVING COUNT(*) > 1")]
    return _check("no agreement printed twice on one sheet", bad, "duplicate rows", warn_only=True)


def events_reference_publications(conn: sqlite3.Connection) -> CheckResult:
    """Events name publications that exist, and the one before precedes the one after."""
    bad = [r[0] for r in conn.execute(
        "SELECT e.event_id FROM events e LEFT JOIN publications a ON a.id = e.after_pub"
        " LEFT JOIN publications b ON b.id = e.before_pub"
        " WHERE a.id IS NULL OR (e.before_pub IS NOT NULL AND (b.id IS NULL OR b.seq >= a.seq))")]
    return _check("events link consecutive publications", bad, "events checked")


def no_reverted_content(conn: sqlite3.Connection) -> CheckResult:
    """A publication captured again after a newer publication of its list: ICE went back
    to older content, which the content-addressed history records only as a capture."""
    bad = [f"{r[0]} captured {r[1]} after {r[2]}" for r in conn.execute(
        "SELECT c.file, c.captured_utc, n.file FROM captures c"
        " JOIN publications p ON p.id = c.publication_id"
        " JOIN publications n ON n.list = p.list AND n.seq > p.seq AND n.first_captured < c.captured_utc"
        " GROUP BY c.publication_id, c.captured_utc")]
    return _check("no sheet content returns after a newer one", bad, "captures checked",
                  warn_only=True)


def rows_read_by_this_reader(conn: sqlite3.Connection) -> CheckResult:
    """The stored rows were read by this version of g287's reader; after an upgrade that
    reads sheets differently, ``g287 rebuild`` re-reads them from the stored bytes."""
    stored = stored_reader_version(conn)
    bad = [f"stored rows read by reader {stored}, this g287 reads with {READER_VERSION}:"
           " run g287 rebuild"] if stored not in (None, READER_VERSION) else []
    return _check("rows read by the current reader", bad, f"reader version {READER_VERSION}",
                  warn_only=True)


def moa_documents_agree(conn: sqlite3.Connection) -> CheckResult:
    """Each MOA read agrees with its agreement's sheet record (signing date, model, agency);
    a disagreement is a warning for a reader to look at (the MOA or the sheet may be wrong)."""
    from g287.documents import library

    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'moa_texts'").fetchone() is None:
        return _check("MOA documents agree with the sheets", [], "no MOA documents read", warn_only=True)
    bad = [f"{record.name} vs {check.agreement_id}: {check.field} {check.detail}"
           for record, check in library.disagreements(conn)]
    return _check("MOA documents agree with the sheets", bad, "signing date, model and agency of each MOA read "
                  "vs its agreement's sheet record", warn_only=True)


CHECKS: tuple[Callable[[sqlite3.Connection], CheckResult], ...] = (
    raw_bytes_intact, rows_accounted, active_on_newest, one_state_per_identity,
    events_reference_publications, rows_with_identity, duplicate_rows, no_reverted_content,
    rows_read_by_this_reader, moa_documents_agree,
)


def run_checks(conn: sqlite3.Connection) -> list[CheckResult]:
    """Run every invariant; the history is sound when none has status ``fail``."""
    return [check(conn) for check in CHECKS]
