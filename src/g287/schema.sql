-- g287 history database. SQLite, WAL. Raw tables hold what ICE published and when it
-- was seen; derived tables are rebuilt from them on every ingest (one transaction).
-- Dates are ISO-8601 text; times are UTC ISO-8601 text ending in Z.

-- Raw bytes of every distinct sheet file ever ingested, addressed by SHA-256.
CREATE TABLE IF NOT EXISTS raw_files (
    sha256      TEXT PRIMARY KEY,            -- hex digest of content
    size        INTEGER NOT NULL,            -- bytes
    content     BLOB NOT NULL                -- the file exactly as downloaded
);

-- One publication per distinct file content of one list.
CREATE TABLE IF NOT EXISTS publications (
    id              TEXT PRIMARY KEY,        -- first 12 hex digits of sha256
    sha256          TEXT NOT NULL UNIQUE REFERENCES raw_files(sha256),
    list            TEXT NOT NULL CHECK (list IN ('participating', 'pending')),
    file            TEXT NOT NULL,           -- ICE file name when first captured
    label_date      TEXT,                    -- date in ICE's file name (MMDDYYYY)
    label_ampm      TEXT,                    -- 'am' | 'pm' | 'mid' | NULL
    label_suffix    TEXT NOT NULL DEFAULT '',-- e.g. 'b' for pendingAgencies07112025am_b.xlsx
    date            TEXT NOT NULL,           -- the label date, else the first capture date
    dated_by        TEXT NOT NULL,           -- 'label' | 'capture' | 'capture_label_implausible' | 'caption' (web roster)
    first_captured  TEXT,                    -- earliest capture time seen (UTC)
    xlsx_modified   TEXT,                    -- dcterms:modified inside the workbook
    header          TEXT NOT NULL,           -- JSON list of header cells as printed
    rows            INTEGER NOT NULL,        -- data rows as printed (blank rows skipped)
    seq             INTEGER                  -- order within its list (1 = oldest); derived
);

-- Every time a publication was captured (seen), under whichever file name.
CREATE TABLE IF NOT EXISTS captures (
    publication_id  TEXT NOT NULL REFERENCES publications(id),
    file            TEXT NOT NULL,           -- file name of this capture
    capture_folder  TEXT NOT NULL DEFAULT '',-- sheets_YYYYMMDD_HHMMSS, or '' if none
    captured_utc    TEXT,                    -- from the folder name, else file mtime
    source_path     TEXT,                    -- where it was read from
    PRIMARY KEY (publication_id, capture_folder, file)
);

-- Where a publication comes from when it is not an ICE sheet file: a transcription of
-- ICE's archived web roster (Wayback captures of the fact sheet, 2010-2017). Captures are
-- in `captures` (capture_folder 'wayback_<snapshot ts>'); the publication's raw bytes are
-- the transcription's lines for its first capture; the whole transcription is in raw_files.
CREATE TABLE IF NOT EXISTS publication_sources (
    publication_id  TEXT PRIMARY KEY REFERENCES publications(id),
    source_kind     TEXT NOT NULL,           -- 'web archive transcription'
    content_key     TEXT NOT NULL UNIQUE,    -- sha256 of caption + rows (capture fields left out)
    caption         TEXT,                    -- heading above ICE's table, as printed
    caption_count   INTEGER,                 -- the N of "Mutually Signed Agreements (N)"
    printed_as_of   TEXT,                    -- the date in the caption
    as_of           TEXT NOT NULL,           -- the date the list describes = publications.date
    dated_by        TEXT NOT NULL,           -- 'caption' | 'capture' (caption absent or stale)
    basis           TEXT,                    -- the transcription's own as-of rule, as written
    transcription_file   TEXT NOT NULL,      -- file name of the transcription
    transcription_sha256 TEXT NOT NULL REFERENCES raw_files(sha256)
);

-- Each capture file of a transcribed web table (source_kind 'web table transcription'): its
-- bytes (in raw_files) and the publication its rows are; captures of an unchanged table differ
-- in bytes, not in rows.
CREATE TABLE IF NOT EXISTS transcribed_captures (
    sha256          TEXT PRIMARY KEY REFERENCES raw_files(sha256),
    publication_id  TEXT NOT NULL REFERENCES publications(id)
);

-- How each publication is dated and placed among its list's, in words (derived at ingest).
CREATE TABLE IF NOT EXISTS publication_dating (
    publication_id  TEXT PRIMARY KEY REFERENCES publications(id),
    flags           TEXT NOT NULL DEFAULT '',-- comma-separated: label_contradicted, label_unreadable,
                                             -- part_of_day_unmarked, part_of_day_mid, bulk_folder, partial
    why             TEXT NOT NULL,           -- one sentence: what dates it, what orders it
    partial         INTEGER NOT NULL DEFAULT 0 -- 1: a truncated publication (lost most rows, they came back)
);

-- The Wayback address of a web-roster capture, when a companion file (the transcription
-- project's manifest) lists it.
CREATE TABLE IF NOT EXISTS wayback_captures (
    capture_folder  TEXT PRIMARY KEY,        -- 'wayback_<snapshot ts>', as in captures
    url             TEXT NOT NULL,           -- the address as listed
    listed_in       TEXT NOT NULL            -- the file that listed it
);

-- Rows are stored by change, as git-history stores item versions: each distinct row
-- version (raw cells, normalized readings, issues) once, and for each publication only
-- which version each worksheet row prints (four integers). The views ``sheet_rows``,
-- ``row_issues`` and ``row_identities`` below give one row per printed row, as before.

-- A small number for each publication, so that its printed rows stay four integers.
CREATE TABLE IF NOT EXISTS publication_keys (
    pub             INTEGER PRIMARY KEY,
    publication_id  TEXT NOT NULL UNIQUE REFERENCES publications(id)
);

-- Each distinct row version: raw cells and their normalized readings, stored once.
CREATE TABLE IF NOT EXISTS row_versions (
    version_id      INTEGER PRIMARY KEY,
    digest          BLOB NOT NULL UNIQUE,    -- 16-byte BLAKE2b of every column below and the issues
    raw             TEXT NOT NULL,           -- JSON: column -> value as printed (+ hyperlinks)
    state           TEXT,                    -- USPS code
    agency_name     TEXT NOT NULL,           -- as printed, white space tidied
    name_key        TEXT NOT NULL,           -- canonical key (case, apostrophes, spacing)
    agency_type     TEXT,                    -- County | Municipality | State Agency
    county          TEXT,                    -- COUNTY as printed, NULL for #N/A or blank
    model           TEXT,                    -- JEM | WSO | TFM
    signed          TEXT,                    -- signing date, NULL if missing or unreadable
    moa_status      TEXT,                    -- linked | pending | unlinked | none | named (PDF
                                             -- known by file name only: web rosters)
    moa_url         TEXT,                    -- real URL (SafeLinks unwrapped)
    addendum_status TEXT,
    addendum_url    TEXT
);

-- Data problems of a row version, as data: a repaired or unreadable cell.
CREATE TABLE IF NOT EXISTS version_issues (
    version_id      INTEGER NOT NULL REFERENCES row_versions(version_id),
    column_name     TEXT,
    code            TEXT NOT NULL,           -- e.g. state_typo, signed_text_repaired
    raw             TEXT                     -- the value as printed
);
CREATE INDEX IF NOT EXISTS version_issues_version ON version_issues(version_id);

-- Problems of a whole sheet: a missing or extra column, a list told from the headers.
CREATE TABLE IF NOT EXISTS sheet_issues (
    publication_id  TEXT NOT NULL REFERENCES publications(id),
    column_name     TEXT,
    code            TEXT NOT NULL,
    raw             TEXT
);
CREATE INDEX IF NOT EXISTS sheet_issues_pub ON sheet_issues(publication_id);

-- Derived: each distinct (agency, agreement, pending entry) a row was resolved to.
CREATE TABLE IF NOT EXISTS identities (
    identity_id     INTEGER PRIMARY KEY,
    agency_id       TEXT,
    agreement_id    TEXT,
    pending_id      TEXT
);
CREATE INDEX IF NOT EXISTS identities_agreement ON identities(agreement_id);
CREATE INDEX IF NOT EXISTS identities_agency ON identities(agency_id);
CREATE INDEX IF NOT EXISTS identities_pending ON identities(pending_id);

-- Derived: how many publications print each identity (rows by identity, without an index
-- over every printed row).
CREATE TABLE IF NOT EXISTS identity_listings (
    identity_id     INTEGER PRIMARY KEY REFERENCES identities(identity_id),
    publications    INTEGER NOT NULL
);

-- Every printed row of every publication: its version and (derived) its identity.
CREATE TABLE IF NOT EXISTS publication_rows (
    pub             INTEGER NOT NULL,        -- publication_keys.pub
    row_number      INTEGER NOT NULL,        -- worksheet row (header is usually row 1)
    version_id      INTEGER NOT NULL,        -- row_versions.version_id
    identity_id     INTEGER,                 -- identities.identity_id; derived
    PRIMARY KEY (pub, row_number)
) WITHOUT ROWID;

-- Every data row of every publication: raw cells and their normalized readings.
CREATE VIEW IF NOT EXISTS sheet_rows AS
    SELECT k.publication_id, r.row_number, v.raw, v.state, v.agency_name, v.name_key,
           v.agency_type, v.county, v.model, v.signed, v.moa_status, v.moa_url,
           v.addendum_status, v.addendum_url
    FROM publication_rows r JOIN publication_keys k ON k.pub = r.pub
    JOIN row_versions v ON v.version_id = r.version_id;

-- Data problems, as data: sheet-level ones (row_number NULL) and those of each printed row.
CREATE VIEW IF NOT EXISTS row_issues AS
    SELECT publication_id, NULL AS row_number, column_name, code, raw FROM sheet_issues
    UNION ALL
    SELECT k.publication_id, r.row_number, i.column_name, i.code, i.raw
    FROM publication_rows r JOIN publication_keys k ON k.pub = r.pub
    JOIN version_issues i ON i.version_id = r.version_id;

-- Derived: which agency / agreement / pending entry each row belongs to.
CREATE VIEW IF NOT EXISTS row_identities AS
    SELECT k.publication_id, r.row_number, i.agency_id, i.agreement_id, i.pending_id
    FROM publication_rows r JOIN publication_keys k ON k.pub = r.pub
    JOIN identities i ON i.identity_id = r.identity_id;

-- Derived: agencies with stable ids (hash of state + canonical name at first sight).
CREATE TABLE IF NOT EXISTS agencies (
    agency_id       TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    name            TEXT NOT NULL,           -- latest printed spelling
    name_key        TEXT NOT NULL,
    agency_type     TEXT,                    -- latest printed TYPE
    county          TEXT,                    -- latest printed COUNTY
    first_seen      TEXT NOT NULL,           -- publication id
    last_seen       TEXT NOT NULL
);

-- Derived: every spelling printed for an agency, and how it was resolved.
CREATE TABLE IF NOT EXISTS agency_names (
    agency_id       TEXT NOT NULL REFERENCES agencies(agency_id),
    spelling        TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    tier            TEXT NOT NULL,           -- first | exact | normalized | near | alias
    reason          TEXT NOT NULL,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    rows            INTEGER NOT NULL,
    PRIMARY KEY (agency_id, spelling)
);

-- Derived: agreements (agency + model + signing date) with their life span.
CREATE TABLE IF NOT EXISTS agreements (
    agreement_id    TEXT PRIMARY KEY,
    agency_id       TEXT NOT NULL REFERENCES agencies(agency_id),
    model           TEXT NOT NULL,
    signed          TEXT,                    -- latest printed signing date
    signed_first    TEXT,                    -- signing date when first listed
    first_seen      TEXT NOT NULL,           -- publication id
    last_seen       TEXT NOT NULL,
    status          TEXT NOT NULL,           -- active | removed | superseded | switched
    moa_url         TEXT,
    addendum_url    TEXT,
    moa_first_linked TEXT,                   -- publication id where a URL first appeared
    succeeded_by    TEXT
);

-- Derived: pending entries (agency + model).
CREATE TABLE IF NOT EXISTS pending_entries (
    pending_id      TEXT PRIMARY KEY,
    agency_id       TEXT NOT NULL REFERENCES agencies(agency_id),
    model           TEXT NOT NULL,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    status          TEXT NOT NULL,           -- pending | signed | withdrawn
    agreement_id    TEXT,                    -- the agreement it became, if signed
    days_pending    INTEGER                  -- first pending label -> first listed as signed
);

-- Derived: lifecycle events between consecutive publications of a list.
CREATE TABLE IF NOT EXISTS events (
    event_id        TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL,        -- global order
    kind            TEXT NOT NULL,           -- see g287.history.EVENT_KINDS
    list            TEXT NOT NULL,
    date            TEXT NOT NULL,           -- label date of the publication after
    state           TEXT NOT NULL,
    agency_id       TEXT NOT NULL,
    agreement_id    TEXT,
    pending_id      TEXT,
    model           TEXT,
    before_pub      TEXT,                    -- publication id before (NULL for the first)
    after_pub       TEXT NOT NULL,           -- publication id where the change shows
    details         TEXT NOT NULL,           -- JSON
    status          TEXT                     -- departures: provisional | confirmed | retracted
);
CREATE INDEX IF NOT EXISTS events_date ON events(date);
CREATE INDEX IF NOT EXISTS events_agency ON events(agency_id);

-- Derived: each time an entry left the pending list (judged withdrawn or signed at the end).
CREATE TABLE IF NOT EXISTS pending_departures (
    pending_id      TEXT NOT NULL,
    publication_id  TEXT NOT NULL,           -- first pending publication without it
    before_pub      TEXT,
    date            TEXT
);

-- Derived: merges of spellings into one agency, with the reason.
CREATE TABLE IF NOT EXISTS identity_merges (
    agency_id       TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    merged_into_key TEXT NOT NULL,
    tier            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    publication_id  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Derived at ingest: the counts each publication prints (see g287.answers).
CREATE TABLE IF NOT EXISTS publication_figures (
    publication_id  TEXT PRIMARY KEY,
    figures         TEXT NOT NULL            -- JSON: count, agencies, states, by_model, ...
);

-- Derived at ingest: registered answers, with the state of the history they were computed for.
CREATE TABLE IF NOT EXISTS answers (
    name    TEXT PRIMARY KEY,
    state   TEXT NOT NULL,
    value   TEXT NOT NULL                    -- JSON
);

-- Acquisition tables (g287.acquire): what was downloaded and how; the raw sheets themselves live
-- in raw_files and in the archive folder, MOA PDFs in archive/moa/<sha256>.pdf.

-- HTTP validators per URL (sheets and MOA documents), so the next request can be
-- conditional (If-None-Match / If-Modified-Since) and a 304 maps back to held bytes.
CREATE TABLE IF NOT EXISTS http_validators (
    url             TEXT PRIMARY KEY,
    etag            TEXT,
    last_modified   TEXT,
    sha256          TEXT,                    -- content last received from this URL
    checked_utc     TEXT NOT NULL
);

-- MOA and addendum documents: one row per URL with the hash of its content once
-- downloaded (the file is archive/moa/<sha256>.pdf), or the last failure, which later
-- runs retry. A URL with status 'ok' is never downloaded again.
CREATE TABLE IF NOT EXISTS moa_documents (
    url             TEXT PRIMARY KEY,        -- real URL (SafeLinks unwrapped)
    sha256          TEXT,                    -- NULL until a PDF was received
    size            INTEGER,
    status          TEXT NOT NULL,           -- ok | failed
    http_status     INTEGER,
    error           TEXT,                    -- last failure, one line
    attempts        INTEGER NOT NULL,
    first_attempt_utc TEXT NOT NULL,
    last_attempt_utc  TEXT NOT NULL
);

-- Which agreement printed which MOA/addendum URL, kept when the documents are
-- fetched so url -> sha256 -> agreement survives rebuilds of the derived tables.
CREATE TABLE IF NOT EXISTS moa_document_links (
    url             TEXT NOT NULL,           -- moa_documents.url
    agreement_id    TEXT NOT NULL,
    agency_id       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('moa', 'addendum')),
    PRIMARY KEY (url, agreement_id, kind)
);

-- One line per fetch that stored something or found nothing new; failed fetches
-- store nothing, by design, and report their cause to the caller instead.
CREATE TABLE IF NOT EXISTS fetch_log (
    started_utc     TEXT NOT NULL,
    source          TEXT NOT NULL,           -- ICE's page URL
    outcome         TEXT NOT NULL,           -- new | unchanged
    detail          TEXT NOT NULL            -- "<file> <outcome>, ..." per sheet
);

-- Derived: lineage decisions between consecutive publications of a list (g287.lineage):
-- a vanished agreement or pending entry followed to the one that appeared (merged), or a
-- candidate pair left apart until `g287 review` settles it (review).
CREATE TABLE IF NOT EXISTS lineage (
    decision_id     TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL,           -- renamed | relabelled | state_corrected | duplicate | pending_signed
    status          TEXT NOT NULL,           -- merged | review
    list            TEXT NOT NULL,
    before_pub      TEXT,
    after_pub       TEXT NOT NULL,
    state           TEXT NOT NULL,           -- state printed after
    before          TEXT NOT NULL,           -- JSON: the side that vanished (names, model, dates, links)
    after           TEXT NOT NULL,           -- JSON: the side that appeared
    score           REAL NOT NULL,
    evidence        TEXT NOT NULL,           -- JSON: each kind of evidence
    reason          TEXT NOT NULL
);

-- MOA documents as data (g287.documents). The PDFs themselves stay in the archive as
-- moa/<sha256>.pdf; every table below is derived from them and rebuilt by
-- `g287 moa extract --force`, except moa_local_files, which records imports.
-- PDFs imported from local files (`g287 moa add`), by content and file name.
CREATE TABLE IF NOT EXISTS moa_local_files (
    sha256          TEXT NOT NULL,           -- archive/moa/<sha256>.pdf
    file_name       TEXT NOT NULL,           -- name as imported
    source_path     TEXT NOT NULL,
    size            INTEGER NOT NULL,
    added_utc       TEXT NOT NULL,
    PRIMARY KEY (sha256, file_name)
);
-- One row per document read, with the versions of the rules that read it.
CREATE TABLE IF NOT EXISTS moa_texts (
    sha256          TEXT PRIMARY KEY,
    pages           INTEGER NOT NULL,
    ocr_pages       INTEGER NOT NULL,        -- pages read by Tesseract
    extractor       TEXT NOT NULL,           -- g287.documents.text.EXTRACTOR_VERSION
    fields_version  TEXT NOT NULL,           -- g287.documents.fields.FIELDS_VERSION
    extracted_utc   TEXT NOT NULL,
    seconds         REAL NOT NULL            -- time into the run when this document was done
);
-- The text of each page, how it was obtained, and a quality score (0-1).
CREATE TABLE IF NOT EXISTS moa_pages (
    sha256          TEXT NOT NULL,
    page            INTEGER NOT NULL,        -- 1-based, as in #page=N
    method          TEXT NOT NULL,           -- text | ocr | none
    quality         REAL NOT NULL,           -- text: share of clean word tokens; ocr: mean confidence
    text            TEXT NOT NULL,
    PRIMARY KEY (sha256, page)
);
CREATE VIRTUAL TABLE IF NOT EXISTS moa_pages_fts USING fts5(
    sha256 UNINDEXED, page UNINDEXED, text, tokenize = 'porter unicode61');
-- Fields read from each document, each with the page and character span it came from.
CREATE TABLE IF NOT EXISTS moa_fields (
    sha256          TEXT NOT NULL,
    field           TEXT NOT NULL,           -- g287.documents.fields.FIELD_NAMES
    value           TEXT,                    -- as written; NULL when missing or unreadable
    parsed          TEXT,                    -- ISO date, model code(s)
    page            INTEGER,
    start           INTEGER,                 -- span in moa_pages.text
    end_            INTEGER,
    reason          TEXT,                    -- why value is NULL
    PRIMARY KEY (sha256, field)
);
-- Which agreements a document belongs to, with the evidence; 'candidate' links wait for review.
CREATE TABLE IF NOT EXISTS moa_agreement_links (
    sha256          TEXT NOT NULL,
    agreement_id    TEXT NOT NULL,
    evidence        TEXT NOT NULL,           -- url | file name | agency
    status          TEXT NOT NULL CHECK (status IN ('linked', 'candidate')),
    detail          TEXT NOT NULL,
    PRIMARY KEY (sha256, agreement_id)
);
