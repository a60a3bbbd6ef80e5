-- Acquisition tables (g287.acquire), created beside the core schema by g287.store.connect.
-- They record what was downloaded and how; the raw sheets themselves live in the core's
-- raw_files and in the archive folder, MOA PDFs in archive/moa/<sha256>.pdf.

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
