"""MOA documents in the store: import, extract (incremental), link, show, search, check.

Raw PDFs stay in the archive as ``moa/<sha256>.pdf`` (downloads and ``g287 moa add``
alike); page texts, fields and the search index are derived from them and can be
rebuilt at any time (``extract(force=True)``). Each document's derived rows are
written in one transaction, so an interrupted run keeps every document it finished
and no half-written one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import posixpath
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from rapidfuzz import fuzz

from g287 import store
from g287.acquire.files import write_atomic
from g287.acquire.moa import is_pdf, moa_path
from g287.documents import diff as diff_mod
from g287.documents import fields as fields_mod
from g287.documents import limits as limits_mod
from g287.documents import text as text_mod
from g287.errors import BadInput, MissingData
from g287.normalize import name_key

VERSION = f"text {text_mod.EXTRACTOR_VERSION}, fields {fields_mod.FIELDS_VERSION}"


# -- import -----------------------------------------------------------------------------------

@dataclass(slots=True)
class AddReport:
    added: list[str] = field(default_factory=list)         # file names newly held
    already_held: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (path, why): not a PDF, unreadable


def _candidates(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.exists():
            yield path
        else:
            raise MissingData(f"{path}: no such file or folder")


def add_paths(conn: sqlite3.Connection, archive: Path, paths: Sequence[Path],
              limits: limits_mod.Limits = limits_mod.DEFAULT) -> AddReport:
    """Keep each local PDF (a file or every file under a folder) in the archive, by content.

    Anything that is not a PDF by its signature (a download log, ``.DS_Store``), not a
    regular file (``/dev/zero``, a FIFO) or over ``limits.file_bytes`` is skipped with
    one line saying why. The rows are written in one transaction.
    """
    report = AddReport()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows: list[tuple[str, str, str, int, str]] = []
    for path in list(_candidates(paths)):   # every path checked before anything is copied
        try:
            content = limits_mod.read_regular_file(path, limits)
        except BadInput as exc:
            report.skipped.append((str(path), str(exc).removeprefix(f"{path}: ")))
            continue
        if not is_pdf(content):
            kind = "empty file" if not content else "no %PDF- signature"
            report.skipped.append((str(path), f"not a PDF ({kind}, {len(content):,} bytes)"))
            continue
        sha256 = hashlib.sha256(content).hexdigest()
        target = moa_path(archive, sha256)
        if not target.exists():
            write_atomic(target, content)
        held = conn.execute("SELECT 1 FROM moa_local_files WHERE sha256 = ? AND file_name = ?",
                            (sha256, path.name)).fetchone()
        (report.already_held if held else report.added).append(path.name)
        rows.append((sha256, path.name, str(path.resolve()), len(content), now))
    with store.transaction(conn):
        conn.executemany("INSERT OR IGNORE INTO moa_local_files VALUES (?, ?, ?, ?, ?)", rows)
    return report


# -- the documents held -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Document:
    """One distinct PDF content and the names it is known by."""

    sha256: str
    urls: tuple[str, ...]          # ICE URLs it was downloaded from
    file_names: tuple[str, ...]    # local file names it was imported as

    @property
    def name(self) -> str:
        """A readable name: the URL's file name, else the local file name."""
        if self.urls:
            return urllib.parse.unquote(posixpath.basename(urllib.parse.urlparse(self.urls[0]).path))
        return self.file_names[0] if self.file_names else self.sha256[:12]


def documents(conn: sqlite3.Connection) -> list[Document]:
    """Every PDF held: downloaded (``moa_documents``) or imported (``moa_local_files``)."""
    urls: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    for sha256, url in conn.execute("SELECT sha256, url FROM moa_documents WHERE status = 'ok'"
                                    " AND sha256 IS NOT NULL ORDER BY url"):
        urls.setdefault(sha256, []).append(url)
    for sha256, name in conn.execute("SELECT sha256, file_name FROM moa_local_files ORDER BY file_name"):
        names.setdefault(sha256, []).append(name)
    return [Document(s, tuple(urls.get(s, ())), tuple(names.get(s, ()))) for s in sorted(set(urls) | set(names))]


def find_document(conn: sqlite3.Connection, ref: str) -> Document:
    """A document by SHA-256 prefix (≥ 6), URL, or file name (exact, else a unique substring)."""
    held = documents(conn)
    lowered = ref.lower()
    exact = [d for d in held if (len(ref) >= 6 and d.sha256.startswith(lowered)) or ref in d.urls
             or ref in d.file_names or ref == d.name]
    found = exact or [d for d in held if lowered in d.name.lower()
                      or any(lowered in n.lower() for n in d.file_names)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise MissingData(f"{ref}: no MOA document held matches (try `g287 moa list`)")
    raise BadInput(f"{ref}: matches {len(found)} documents ({', '.join(d.name for d in found[:4])}…); "
                   "give more of the name or the SHA-256")


# -- extraction ------------------------------------------------------------------------------------

@dataclass(slots=True)
class ExtractReport:
    documents: int = 0
    extracted: list[str] = field(default_factory=list)     # names read now
    refielded: int = 0                                      # fields re-derived from stored text
    up_to_date: int = 0
    missing: list[str] = field(default_factory=list)        # held in the store, PDF not in the archive
    failed: list[tuple[str, str]] = field(default_factory=list)
    pages: int = 0
    ocr_pages: int = 0
    seconds: float = 0.0
    page_seconds: list[float] = field(default_factory=list)   # each page read now: render + OCR, or layer


def extract(conn: sqlite3.Connection, archive: Path, *, force: bool = False, workers: int | None = None,
            progress: Callable[[int, int, str], None] | None = None,
            limits: limits_mod.Limits = limits_mod.DEFAULT) -> ExtractReport:
    """Read the text and fields of every document not yet read by this version.

    Only new documents are opened (``force`` re-reads all); when only the field rules
    changed, fields are re-derived from the stored text without OCR. Links to
    agreements are refreshed for all documents at the end (cheap, and the history may
    have grown). A document over one of ``limits``, or damaged, is reported in
    ``failed`` with its one-line reason and the others are read.
    """
    started = time.perf_counter()
    report = ExtractReport()
    held = documents(conn)
    report.documents = len(held)
    done = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT sha256, extractor, fields_version FROM moa_texts")}
    to_read: list[Document] = []
    for doc in held:
        versions = done.get(doc.sha256)
        if force or versions is None or versions[0] != text_mod.EXTRACTOR_VERSION:
            to_read.append(doc)
        elif versions[1] != fields_mod.FIELDS_VERSION:
            _store_fields(conn, doc.sha256, stored_pages(conn, doc.sha256))
            report.refielded += 1
        else:
            report.up_to_date += 1
    by_key = {d.sha256: d for d in to_read}
    present: list[Document] = []
    for doc in to_read:
        path = moa_path(archive, doc.sha256)
        if path.exists():
            present.append(doc)
        else:
            report.missing.append(f"{doc.name}: {path} not in the archive")
    total = len(present)
    refused: list[tuple[str, str]] = []

    def jobs() -> Iterator[text_mod.Job]:
        """Documents read from disk one at a time, as the reader reaches them (memory stays flat)."""
        for doc in present:
            try:
                data = limits_mod.read_regular_file(moa_path(archive, doc.sha256), limits)
            except BadInput as exc:
                refused.append((doc.name, str(exc)))
                continue
            yield text_mod.Job(doc.sha256, doc.name, data)

    def page_progress(name: str, page: int, pages: int) -> None:
        if progress is not None:
            progress(len(report.extracted) + len(report.failed), total, f"{name} p. {page}/{pages}")

    for outcome in text_mod.extract_many(jobs(), workers=workers, limits=limits, progress=page_progress):
        name = by_key[outcome.key].name
        report.failed.extend(refused)
        refused.clear()
        if outcome.error is not None:
            report.failed.append((name, outcome.error))
        else:
            _store_text(conn, outcome.key, outcome.pages, time.perf_counter() - started)
            report.extracted.append(name)
            report.pages += len(outcome.pages)
            report.ocr_pages += sum(1 for p in outcome.pages if p.method != "text")
            report.page_seconds.extend(outcome.page_seconds)
        if progress is not None:
            progress(len(report.extracted) + len(report.failed), total, name)
    report.failed.extend(refused)
    relink(conn)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _store_text(conn: sqlite3.Connection, sha256: str, pages: list[text_mod.PageText], seconds: float) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with store.transaction(conn):
        conn.execute("DELETE FROM moa_pages WHERE sha256 = ?", (sha256,))
        conn.execute("DELETE FROM moa_pages_fts WHERE sha256 = ?", (sha256,))
        conn.executemany("INSERT INTO moa_pages VALUES (?, ?, ?, ?, ?)",
                         [(sha256, p.page, p.method, p.quality, p.text) for p in pages])
        conn.executemany("INSERT INTO moa_pages_fts (sha256, page, text) VALUES (?, ?, ?)",
                         [(sha256, p.page, p.text) for p in pages])
        conn.execute("INSERT OR REPLACE INTO moa_texts VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (sha256, len(pages), sum(1 for p in pages if p.method != "text"),
                      text_mod.EXTRACTOR_VERSION, fields_mod.FIELDS_VERSION, now, round(seconds, 3)))
        _write_fields(conn, sha256, fields_mod.extract_fields(pages))


def _store_fields(conn: sqlite3.Connection, sha256: str, pages: list[text_mod.PageText]) -> None:
    with store.transaction(conn):
        _write_fields(conn, sha256, fields_mod.extract_fields(pages))
        conn.execute("UPDATE moa_texts SET fields_version = ? WHERE sha256 = ?", (fields_mod.FIELDS_VERSION, sha256))


def _write_fields(conn: sqlite3.Connection, sha256: str, found: dict[str, fields_mod.Field]) -> None:
    conn.execute("DELETE FROM moa_fields WHERE sha256 = ?", (sha256,))
    conn.executemany("INSERT INTO moa_fields VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [(sha256, f.name, f.value, f.parsed, f.page, f.start, f.end, f.reason) for f in found.values()])


def stored_pages(conn: sqlite3.Connection, sha256: str) -> list[text_mod.PageText]:
    """The page texts stored for a document, in page order."""
    return [text_mod.PageText(r[0], r[1], r[2], r[3]) for r in conn.execute(
        "SELECT page, method, quality, text FROM moa_pages WHERE sha256 = ? ORDER BY page", (sha256,))]


def stored_fields(conn: sqlite3.Connection, sha256: str) -> dict[str, fields_mod.Field]:
    """The fields stored for a document, in :data:`~g287.documents.fields.FIELD_NAMES` order,
    each with its ``status`` and ``confidence`` (:func:`verify`)."""
    rows = {r[0]: fields_mod.Field(*r) for r in conn.execute(
        "SELECT field, value, parsed, page, start, end_, reason FROM moa_fields WHERE sha256 = ?", (sha256,))}
    return verify(conn, sha256, {n: rows[n] for n in fields_mod.FIELD_NAMES if n in rows})


# Fields that are readings of the layout or of headings, not quotations of a name or date.
_STRUCTURAL = {"model", "template", *(f"section_{s}" for s in fields_mod.SECTIONS)}


def verify(conn: sqlite3.Connection, sha256: str, found: dict[str, fields_mod.Field]) -> dict[str, fields_mod.Field]:
    """Each value's status: 'read' from a text layer, else an OCR reading that is 'verified'
    by what is known or stays 'unverified' (with the page's OCR confidence).

    What is known: ICE's signers recur across documents (the same name read as ICE's
    signer in another document, or printed in a text layer); the agency's name and
    signers against the linked agreements' sheet names and the document's own other
    pages (a contact page naming the same person); a date against the sheet's signing
    date. Computed when read, so a later document can confirm an earlier reading.
    """
    pages = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT page, method, quality FROM moa_pages WHERE sha256 = ?", (sha256,))}
    out: dict[str, fields_mod.Field] = {}
    signed = sorted({r[0] for r in conn.execute(
        "SELECT a.signed FROM moa_agreement_links l JOIN agreements a USING (agreement_id)"
        " WHERE l.sha256 = ? AND l.status = 'linked' AND a.signed IS NOT NULL", (sha256,))})
    for name, f in found.items():
        if f.value is None and name.endswith("_signed_date") and signed:
            # The fallback a reader wants, labelled as such: never stored as the document's date.
            out[name] = dataclasses.replace(f, reason=f"{f.reason}; the sheet's signing date is "
                                                      f"{', '.join(signed)} (from the sheet, not this document)")
            continue
        if f.value is None:
            out[name] = f
            continue
        method, quality = pages.get(f.page or 0, ("text", None))
        if method == "text" or name in _STRUCTURAL:
            out[name] = dataclasses.replace(f, status="read")
        elif _confirmed(conn, sha256, name, f):
            out[name] = dataclasses.replace(f, status="verified", confidence=quality)
        else:
            out[name] = dataclasses.replace(f, status="unverified", confidence=quality)
    return out


def _confirmed(conn: sqlite3.Connection, sha256: str, name: str, f: fields_mod.Field) -> bool:
    value = f.value or ""
    key = name_key(value)
    if name == "ice_signer_name":
        others = conn.execute("SELECT value FROM moa_fields WHERE field = 'ice_signer_name' AND sha256 != ?"
                              " AND value IS NOT NULL", (sha256,)).fetchall()
        if any(name_key(o[0]) == key for o in others):
            return True
    if name == "agency_name":
        sheets = conn.execute("SELECT g.name FROM moa_agreement_links l JOIN agreements a USING (agreement_id)"
                              " JOIN agencies g USING (agency_id) WHERE l.sha256 = ? AND l.status = 'linked'",
                              (sha256,)).fetchall()
        return any(fuzz.token_set_ratio(key, name_key(s[0])) >= AGENCY_AGREES for s in sheets)
    if name.endswith("_date") and f.parsed:
        signed = conn.execute("SELECT a.signed FROM moa_agreement_links l JOIN agreements a USING (agreement_id)"
                              " WHERE l.sha256 = ? AND l.status = 'linked'", (sha256,)).fetchall()
        return any(s[0] == f.parsed for s in signed)
    # A name or title printed again on another page of the document (its contact pages), or in
    # any text layer held (an ICE official's name in another MOA), is no misreading.
    words = value.strip()
    if name.endswith("_title") or len(words) < 5:
        return False   # titles ("Director") are printed everywhere: their recurrence confirms nothing
    hits = conn.execute("SELECT sha256, page FROM moa_pages_fts WHERE moa_pages_fts MATCH ? LIMIT 20",
                        ("text : " + fts_phrase(words),)).fetchall()
    return any((s, p) != (sha256, f.page) for s, p in hits)


# -- links to agreements -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Link:
    """A document tied to an agreement, with the evidence; ``status`` 'linked' or 'candidate'."""

    sha256: str
    agreement_id: str
    evidence: str      # url | file name | agency
    status: str
    detail: str


def _url_name(url: str) -> str:
    return urllib.parse.unquote(posixpath.basename(urllib.parse.urlparse(url).path)).lower()


def _local_name_variants(file_name: str) -> set[str]:
    """The file name and, for archives that prefix ``STATE__Agency__``, the part after the last ``__``."""
    names = {file_name, file_name.rsplit("__", 1)[-1]}
    return {urllib.parse.unquote(n).lower() for n in names}


def find_links(conn: sqlite3.Connection) -> list[Link]:
    """Tie each document to agreements: by the URL it came from, by its file name being the
    last part of an MOA URL the sheets printed, else (as a candidate for review) by the
    agency name written in it matching exactly one agency's name."""
    links: dict[tuple[str, str], Link] = {}
    for sha256, agreement_id, url in conn.execute(
            "SELECT d.sha256, l.agreement_id, d.url FROM moa_documents d JOIN moa_document_links l USING (url)"
            " WHERE d.status = 'ok' AND d.sha256 IS NOT NULL"):
        links[(sha256, agreement_id)] = Link(sha256, agreement_id, "url", "linked", f"downloaded from {url}")
    printed: dict[str, set[tuple[str, str]]] = {}
    for agreement_id, url in conn.execute(
            "SELECT agreement_id, moa_url FROM agreements WHERE moa_url IS NOT NULL UNION "
            "SELECT agreement_id, addendum_url FROM agreements WHERE addendum_url IS NOT NULL UNION "
            "SELECT DISTINCT i.agreement_id, r.moa_url FROM sheet_rows r JOIN row_identities i "
            "USING (publication_id, row_number) WHERE r.moa_url IS NOT NULL AND i.agreement_id IS NOT NULL"):
        printed.setdefault(_url_name(url), set()).add((agreement_id, url))
    for sha256, file_name in conn.execute("SELECT sha256, file_name FROM moa_local_files"):
        for variant in _local_name_variants(file_name):
            for agreement_id, url in printed.get(variant, ()):
                links.setdefault((sha256, agreement_id), Link(
                    sha256, agreement_id, "file name", "linked", f"{file_name} is the file of {url}"))
    linked_docs = {s for s, _ in links}
    by_key: dict[str, list[tuple[str, str]]] = {}
    for agency_id, key in conn.execute("SELECT agency_id, name_key FROM agencies"):
        by_key.setdefault(key, []).append((agency_id, key))
    for sha256, value in conn.execute("SELECT sha256, value FROM moa_fields WHERE field = 'agency_name'"
                                      " AND value IS NOT NULL"):
        if sha256 in linked_docs:
            continue
        agencies = by_key.get(name_key(value), [])
        if len(agencies) != 1:
            continue
        for (agreement_id,) in conn.execute("SELECT agreement_id FROM agreements WHERE agency_id = ?",
                                            (agencies[0][0],)):
            links[(sha256, agreement_id)] = Link(
                sha256, agreement_id, "agency", "candidate",
                f"the MOA names {value!r}, the name of one agency (in any state); needs review")
    return sorted(links.values(), key=lambda k: (k.sha256, k.agreement_id))


def relink(conn: sqlite3.Connection) -> list[Link]:
    """Recompute and store every document's links (one transaction)."""
    found = find_links(conn)
    with store.transaction(conn):
        conn.execute("DELETE FROM moa_agreement_links")
        conn.executemany("INSERT INTO moa_agreement_links VALUES (?, ?, ?, ?, ?)",
                         [(k.sha256, k.agreement_id, k.evidence, k.status, k.detail) for k in found])
    return found


# -- reading back ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PageInfo:
    page: int
    method: str
    quality: float
    characters: int


@dataclass(frozen=True, slots=True)
class SheetCheck:
    """One comparison of an MOA field with what the sheets print for the linked agreement."""

    agreement_id: str
    field: str          # signed | model | agency
    sheet: str | None
    document: str | None
    status: str         # agrees | differs | unknown (the MOA does not tell)
    detail: str


@dataclass(frozen=True, slots=True)
class MoaRecord:
    """Everything known of one document: names, pages, fields, links and sheet checks."""

    sha256: str
    name: str
    urls: list[str]
    file_names: list[str]
    extracted: bool
    pages: list[PageInfo]
    fields: dict[str, fields_mod.Field]
    links: list[Link]
    checks: list[SheetCheck]


def show(conn: sqlite3.Connection, ref: str) -> MoaRecord:
    """One document's record (see :func:`find_document` for ``ref``)."""
    return record(conn, find_document(conn, ref))


def record(conn: sqlite3.Connection, doc: Document) -> MoaRecord:
    pages = [PageInfo(r[0], r[1], r[2], r[3]) for r in conn.execute(
        "SELECT page, method, quality, length(text) FROM moa_pages WHERE sha256 = ? ORDER BY page", (doc.sha256,))]
    links = [Link(*r) for r in conn.execute(
        "SELECT sha256, agreement_id, evidence, status, detail FROM moa_agreement_links WHERE sha256 = ?"
        " ORDER BY agreement_id", (doc.sha256,))]
    found = stored_fields(conn, doc.sha256)
    return MoaRecord(doc.sha256, doc.name, list(doc.urls), list(doc.file_names), bool(pages), pages, found, links,
                     sheet_checks(conn, doc.sha256, found, links))


def records(conn: sqlite3.Connection) -> list[MoaRecord]:
    """Every document's record, by name."""
    return sorted((record(conn, d) for d in documents(conn)), key=lambda r: r.name.lower())


def for_agreement(conn: sqlite3.Connection, agreement_id: str) -> list[MoaRecord]:
    """The records of the documents linked to one agreement (for its page and API record)."""
    shas = [r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM moa_agreement_links WHERE agreement_id = ?",
                                       (agreement_id,))]
    held = {d.sha256: d for d in documents(conn)}
    return [record(conn, held[s]) for s in shas if s in held]


def sheet_checks(conn: sqlite3.Connection, sha256: str, found: dict[str, fields_mod.Field],
                 links: Sequence[Link]) -> list[SheetCheck]:
    """Signing date, model and agency of the MOA against each linked agreement's sheet record."""
    out: list[SheetCheck] = []
    found = {n: f for n, f in found.items() if f.status != "unverified"}   # only facts are compared
    dates = {f.parsed for n, f in found.items() if n.endswith("signed_date") and f.parsed}
    model = found.get("model")
    agency = found.get("agency_name")
    for link in links:
        if link.status != "linked":
            continue
        row = conn.execute("SELECT a.signed, a.model, g.name FROM agreements a JOIN agencies g"
                           " USING (agency_id) WHERE a.agreement_id = ?", (link.agreement_id,)).fetchone()
        if row is None:
            continue
        signed, sheet_model, sheet_name = row
        both_read = all(found.get(n) is not None and found[n].parsed
                        for n in ("ice_signed_date", "agency_signed_date"))
        if not dates:
            out.append(SheetCheck(link.agreement_id, "signed", signed, None, "unknown",
                                  "no signing date readable in the MOA"))
        elif signed in dates:
            out.append(SheetCheck(link.agreement_id, "signed", signed, signed, "agrees",
                                  "the sheet's date is one of the MOA's signature dates"))
        elif not both_read:
            out.append(SheetCheck(link.agreement_id, "signed", signed, ", ".join(sorted(dates)), "unknown",
                                  f"the sheet says {signed or 'nothing'}; the one signature date read is "
                                  f"{', '.join(sorted(dates))}, the other signature's date was not readable"))
        else:
            out.append(SheetCheck(link.agreement_id, "signed", signed, ", ".join(sorted(dates)), "differs",
                                  f"the sheet says {signed or 'nothing'}; the MOA's signatures are dated "
                                  f"{', '.join(sorted(dates))}"))
        if model is None or model.parsed is None:
            out.append(SheetCheck(link.agreement_id, "model", sheet_model, None, "unknown", "no model in the MOA"))
        else:
            codes = set(model.parsed.split("+"))
            agrees = sheet_model in codes
            out.append(SheetCheck(link.agreement_id, "model", sheet_model, model.parsed,
                                  "agrees" if agrees else "differs",
                                  f"MOA page {model.page}: {model.value!r}"))
        if agency is None or agency.value is None:
            out.append(SheetCheck(link.agreement_id, "agency", sheet_name, None, "unknown",
                                  agency.reason if agency else "no agency name in the MOA"))
        else:
            score = fuzz.token_set_ratio(name_key(agency.value), name_key(sheet_name))
            agrees = name_key(agency.value) == name_key(sheet_name) or score >= AGENCY_AGREES
            out.append(SheetCheck(link.agreement_id, "agency", sheet_name, agency.value,
                                  "agrees" if agrees else "differs",
                                  f"name similarity {score:.0f}/100 (MOA page {agency.page})"))
    return out


# Names that share all their words but a state suffix or an apostrophe score ≥ 90.
AGENCY_AGREES = 90


def disagreements(conn: sqlite3.Connection) -> list[tuple[MoaRecord, SheetCheck]]:
    """Every MOA-vs-sheet check that differs, for ``g287 qa`` and the documents-vs-sheets page."""
    return [(r, c) for r in records(conn) for c in r.checks if c.status == "differs"]


# -- search ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SearchHit:
    """A page that contains the phrase, with a snippet and where to read it."""

    sha256: str
    name: str
    page: int
    method: str            # text | ocr: how the page's text was obtained
    snippet: str           # plain text, the match between [ and ]
    snippet_html: str      # escaped HTML, the match in <mark>
    pdf_url: str | None    # ICE's URL with #page=N, when the document was downloaded
    agreements: list[str]
    states: list[str]
    models: list[str]


_OPEN, _CLOSE = "\x02", "\x03"


def fts_phrase(text: str) -> str:
    """The user's words as one FTS5 phrase (quotes doubled, NULs, which end FTS5's string,
    as spaces), so no input is an FTS syntax error."""
    words = text.replace("\x00", " ").strip()
    if not words:
        raise BadInput("search: give a word or a phrase")
    return '"' + words.replace('"', '""') + '"'


def search(conn: sqlite3.Connection, phrase: str, *, state: str | None = None, model: str | None = None,
           limit: int = 50) -> list[SearchHit]:
    """Pages containing ``phrase`` (FTS5, stemmed), best first; filtered by the linked agreements'
    state and by the model (the MOA's own, or a linked agreement's)."""
    rows = conn.execute(
        "SELECT sha256, page, snippet(moa_pages_fts, 2, ?, ?, '…', 16) FROM moa_pages_fts"
        " WHERE moa_pages_fts MATCH ? ORDER BY rank", (_OPEN, _CLOSE, "text : " + fts_phrase(phrase))).fetchall()
    held = {d.sha256: d for d in documents(conn)}
    context: dict[str, tuple[list[str], list[str], list[str]]] = {}
    hits: list[SearchHit] = []
    for sha256, page, snippet in rows:
        if sha256 not in context:
            context[sha256] = _context(conn, sha256)
        agreements, states, models = context[sha256]
        if state and state.upper() not in states:
            continue
        if model and model.upper() not in models:
            continue
        doc = held.get(sha256)
        method = conn.execute("SELECT method FROM moa_pages WHERE sha256 = ? AND page = ?", (sha256, page)).fetchone()
        plain = re.sub(r"\s+", " ", snippet)
        hits.append(SearchHit(
            sha256, doc.name if doc else sha256[:12], page, method[0] if method else "text",
            plain.replace(_OPEN, "[").replace(_CLOSE, "]"),
            escape(plain).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>"),
            f"{doc.urls[0]}#page={page}" if doc and doc.urls else _printed_url(conn, agreements, doc, page),
            agreements, states, models))
        if len(hits) >= limit:
            break
    return hits


def _printed_url(conn: sqlite3.Connection, agreements: list[str], doc: Document | None, page: int) -> str | None:
    """ICE's URL for a locally imported file whose name is the last part of a printed MOA URL."""
    if doc is None:
        return None
    variants = set().union(*(_local_name_variants(n) for n in doc.file_names)) if doc.file_names else set()
    for agreement_id in agreements:
        for (url,) in conn.execute("SELECT moa_url FROM agreements WHERE agreement_id = ? AND moa_url IS NOT NULL"
                                   " UNION SELECT addendum_url FROM agreements WHERE agreement_id = ?"
                                   " AND addendum_url IS NOT NULL", (agreement_id, agreement_id)):
            if _url_name(url) in variants:
                return f"{url}#page={page}"
    return None


def _context(conn: sqlite3.Connection, sha256: str) -> tuple[list[str], list[str], list[str]]:
    rows = conn.execute("SELECT l.agreement_id, g.state, a.model FROM moa_agreement_links l"
                        " JOIN agreements a USING (agreement_id) JOIN agencies g USING (agency_id)"
                        " WHERE l.sha256 = ? AND l.status = 'linked'", (sha256,)).fetchall()
    own = conn.execute("SELECT parsed FROM moa_fields WHERE sha256 = ? AND field = 'model'", (sha256,)).fetchone()
    models = {m for r in rows for m in [r[2]]} | set((own[0] or "").split("+") if own and own[0] else [])
    return sorted({r[0] for r in rows}), sorted({r[1] for r in rows}), sorted(models)


def compare(conn: sqlite3.Connection, a: str, b: str) -> diff_mod.Comparison:
    """The paragraph alignment of two held, extracted documents."""
    first, second = find_document(conn, a), find_document(conn, b)
    pages = []
    for doc in (first, second):
        found = stored_pages(conn, doc.sha256)
        if not found:
            raise MissingData(f"{doc.name}: not read yet; run `g287 moa extract`")
        pages.append(found)
    agencies = [stored_fields(conn, d.sha256).get("agency_name") for d in (first, second)]
    return diff_mod.compare(pages[0], pages[1], first.name, second.name,
                            *(f.value if f is not None else None for f in agencies))
