"""Invariants of the history, checked by ``g287 qa`` and after every ``g287 ingest``.

Each check returns data (name, status, count, detail) rather than raising, so a
report can list every problem at once, as frictionless reports data errors.

A check looks at a :class:`Scope`: every publication (``g287 qa --all``), or only the
publications an ingest added and what they touch, so that checking after a new
publication costs what the publication changed, not what the history holds.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from g287.ingest import IngestReport, stored_reader_version
from g287.read import READER_VERSION


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one invariant: ``pass``, ``warn`` (a data quirk) or ``fail``."""

    name: str
    status: str
    count: int
    detail: str


@dataclass(frozen=True, slots=True)
class Scope:
    """What to check: these publications (and what they touch), or all when ``publications``
    is None."""

    publications: frozenset[str] | None = None

    def where(self, column: str) -> tuple[str, list[str]]:
        """An SQL condition on ``column`` (a publication id) and its parameters."""
        if self.publications is None:
            return "1", []
        return f"{column} IN ({','.join('?' * len(self.publications))})", sorted(self.publications)


ALL = Scope()


def newest_scope(conn: sqlite3.Connection) -> Scope:
    """The newest publication of each list."""
    return Scope(frozenset(r[0] for r in conn.execute(
        "SELECT id FROM publications p WHERE seq = (SELECT MAX(seq) FROM publications q"
        " WHERE q.list = p.list)")))


def ingested_scope(report: IngestReport) -> Scope:
    """What an ingest touched: the publications it added or captured again when the fold
    went on from the stored history; everything when it replayed the history from the start."""
    if report.derivation == "full":
        return ALL
    return Scope(frozenset(o.publication_id for o in report.added + report.seen_again
                           if o.publication_id))


def _check(name: str, bad: list, detail: str, *, warn_only: bool = False) -> CheckResult:
    status = "pass" if not bad else ("warn" if warn_only else "fail")
    shown = "; ".join(str(b) for b in bad[:5]) + (" …" if len(bad) > 5 else "")
    return CheckResult(name, status, len(bad), detail if not bad else f"{detail}: {shown}")


def active_on_newest(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """Every active agreement is on the newest participating sheet, and vice versa."""
    newest = conn.execute("SELECT id FROM publications WHERE list = 'participating'"
                          " ORDER BY seq DESC LIMIT 1").fetchone()
    on_sheet = {r[0] for r in conn.execute(
        "SELECT DISTINCT i.agreement_id FROM publication_keys k"
        " JOIN publication_rows r ON r.pub = k.pub JOIN identities i ON i.identity_id = r.identity_id"
        " WHERE k.publication_id = ? AND i.agreement_id IS NOT NULL", (newest[0] if newest else "",))}
    active = {r[0] for r in conn.execute("SELECT agreement_id FROM agreements WHERE status = 'active'")}
    return _check("active agreements = newest participating sheet",
                  sorted(on_sheet ^ active), "agreements marked active vs listed")


def one_state_per_identity(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """No agency identity spans two states: every row of an agency is printed in the agency's
    state, unless lineage found ICE printing it under another state for a while (a
    ``state_corrected`` event says so). Checking the rows in scope is enough, as earlier ones
    were checked when ingested."""
    where, params = scope.where("k.publication_id")
    bad = [r[0] for r in conn.execute(
        "WITH printed AS (SELECT DISTINCT r.identity_id, r.version_id FROM publication_keys k"
        f"   JOIN publication_rows r ON r.pub = k.pub WHERE {where})"
        " SELECT DISTINCT i.agency_id FROM printed p JOIN identities i USING (identity_id)"
        " JOIN row_versions v USING (version_id) JOIN agencies a ON a.agency_id = i.agency_id"
        " WHERE v.state IS NOT a.state"
        "   AND i.agency_id NOT IN (SELECT agency_id FROM events WHERE kind = 'state_corrected')"
        " ORDER BY i.agency_id", params)]
    return _check("no identity spans two states", bad, "agencies printed in one state each")


def lineage_reviewed(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """Lineage candidates the evidence did not settle: kept apart until ``g287 review``
    (the whole queue, whatever the scope: it is small and always worth a look)."""
    bad = [f"{r[0]}: {r[1]} → {r[2]}" for r in conn.execute(
        "SELECT decision_id, json_extract(before, '$.name'), json_extract(after, '$.name')"
        " FROM lineage WHERE status = 'review' ORDER BY seq")]
    return _check("no lineage candidate awaits review", bad,
                  "candidates awaiting review (g287 review)", warn_only=True)


def rows_accounted(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """Each publication's rows: as declared = stored = resolved to an identity."""
    where, params = scope.where("p.id")
    bad = [f"{r[0]} ({r[1]} declared, {r[2]} stored, {r[3]} resolved)" for r in conn.execute(
        "SELECT p.file, p.rows, COUNT(r.row_number), COUNT(r.identity_id)"
        " FROM publications p LEFT JOIN publication_keys k ON k.publication_id = p.id"
        f" LEFT JOIN publication_rows r ON r.pub = k.pub WHERE {where} GROUP BY p.id", params)
        if not r[1] == r[2] == r[3]]
    return _check("every row of every publication accounted for", bad, "rows declared/stored/resolved")


def rows_with_identity(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """Rows that could not form an agreement or pending entry (no state, name or model)."""
    where, params = scope.where("k.publication_id")
    bad = [f"{r[0]} row {r[1]}" for r in conn.execute(
        "SELECT p.file, r.row_number FROM publication_keys k JOIN publications p ON p.id = k.publication_id"
        " JOIN publication_rows r ON r.pub = k.pub JOIN identities i ON i.identity_id = r.identity_id"
        f" WHERE {where} AND i.agreement_id IS NULL AND i.pending_id IS NULL", params)]
    return _check("every row identifies an agreement or pending entry", bad,
                  "rows without an identity", warn_only=True)


def raw_bytes_intact(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """Every publication's raw bytes are stored and hash to its sha256."""
    where, params = scope.where("p.id")
    bad = [r[1] for r in conn.execute(
        "SELECT p.sha256, p.file, f.content FROM publications p LEFT JOIN raw_files f USING (sha256)"
        f" WHERE {where}", params)
        if r[2] is None or hashlib.sha256(r[2]).hexdigest() != r[0]]
    return _check("raw bytes stored and intact", bad, "publications with raw bytes verified")


def duplicate_rows(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """Agreements printed on more than one row of the same sheet (a quirk, kept as printed)."""
    where, params = scope.where("k.publication_id")
    bad = [f"{r[0]}: {r[1]} ×{r[2]}" for r in conn.execute(
        "SELECT p.file, a.name, COUNT(*) FROM publication_keys k"
        " JOIN publications p ON p.id = k.publication_id JOIN publication_rows r ON r.pub = k.pub"
        " JOIN identities i ON i.identity_id = r.identity_id JOIN agencies a USING (agency_id)"
        f" WHERE {where} AND i.agreement_id IS NOT NULL GROUP BY r.pub, i.agreement_id"
        " HAVING COUNT(*) > 1", params)]
    return _check("no agreement printed twice on one sheet", bad, "duplicate rows", warn_only=True)


def events_reference_publications(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """Events name publications that exist, and the one before precedes the one after."""
    where, params = scope.where("e.after_pub")
    bad = [r[0] for r in conn.execute(
        "SELECT e.event_id FROM events e LEFT JOIN publications a ON a.id = e.after_pub"
        " LEFT JOIN publications b ON b.id = e.before_pub"
        f" WHERE {where} AND (a.id IS NULL OR (e.before_pub IS NOT NULL AND (b.id IS NULL OR b.seq >= a.seq)))",
        params)]
    return _check("events link consecutive publications", bad, "events checked")


def no_reverted_content(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """A publication captured again after a newer publication of its list: ICE went back
    to older content, which the content-addressed history records only as a capture."""
    where, params = scope.where("c.publication_id")
    bad = [f"{r[0]} captured {r[1]} after {r[2]}" for r in conn.execute(
        "SELECT c.file, c.captured_utc, n.file FROM captures c"
        " JOIN publications p ON p.id = c.publication_id"
        " JOIN publications n ON n.list = p.list AND n.seq > p.seq AND n.first_captured < c.captured_utc"
        f" WHERE {where} GROUP BY c.publication_id, c.captured_utc", params)]
    return _check("no sheet content returns after a newer one", bad, "captures checked",
                  warn_only=True)


def rows_read_by_this_reader(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """The stored rows were read by this version of g287's reader; after an upgrade that
    reads sheets differently, ``g287 rebuild`` re-reads them from the stored bytes."""
    stored = stored_reader_version(conn)
    bad = [f"stored rows read by reader {stored}, this g287 reads with {READER_VERSION}:"
           " run g287 rebuild"] if stored not in (None, READER_VERSION) else []
    return _check("rows read by the current reader", bad, f"reader version {READER_VERSION}",
                  warn_only=True)


def caption_counts(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """A web roster's caption states how many agreements the table holds; where the rows
    present differ, both are kept as published and the difference is reported here."""
    where, params = scope.where("p.id")
    bad = [f"{r[0]}: caption {r[1]!r} states {r[2]}, {r[3]} rows" for r in conn.execute(
        "SELECT p.file, s.caption, s.caption_count, p.rows FROM publication_sources s"
        " JOIN publications p ON p.id = s.publication_id"
        f" WHERE s.caption_count IS NOT NULL AND s.caption_count != p.rows AND {where}"
        " ORDER BY p.seq", params)]
    return _check("web roster captions state the rows present", bad,
                  "captions checked against their tables", warn_only=True)


def moa_documents_agree(conn: sqlite3.Connection, scope: Scope = ALL) -> CheckResult:
    """Each MOA read agrees with its agreement's sheet record (signing date, model, agency);
    a disagreement is a warning for a reader to look at (the MOA or the sheet may be wrong).
    Documents are not publications, so every scope checks them all."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'moa_texts'").fetchone() is None:
        return _check("MOA documents agree with the sheets", [], "no MOA documents read", warn_only=True)
    from g287.documents import library  # (and the HTTP stack): only when documents were read
    bad = [f"{record.name} vs {check.agreement_id}: {check.field} {check.detail}"
           for record, check in library.disagreements(conn)]
    return _check("MOA documents agree with the sheets", bad, "signing date, model and agency of each MOA read "
                  "vs its agreement's sheet record", warn_only=True)


# Each check takes the connection and a Scope.
CHECKS: tuple[Callable[[sqlite3.Connection, Scope], CheckResult], ...] = (
    raw_bytes_intact, rows_accounted, active_on_newest, one_state_per_identity,
    events_reference_publications, rows_with_identity, duplicate_rows, no_reverted_content,
    rows_read_by_this_reader, lineage_reviewed, caption_counts, moa_documents_agree,
)


def run_checks(conn: sqlite3.Connection, scope: Scope = ALL) -> list[CheckResult]:
    """Run every invariant over a scope (all by default); the history is sound when none has
    status ``fail``."""
    return [check(conn, scope) for check in CHECKS]
