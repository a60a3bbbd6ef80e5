-- Acquisition tables (g287.acquire), created beside the core schema.

-- HTTP validators per URL, for conditional requests (ETag / Last-Modified).
CREATE TABLE IF NOT EXISTS http_validators (
    url             TEXT PRIMARY KEY,
    etag            TEXT,
    last_modified   TEXT,
    sha256          TEXT,                    -- content last received from this URL
    checked_utc     TEXT NOT NULL
);

-- MOA and addendum documents: one row per URL, its content hash once downloaded,
-- or the last failure (retried on later runs).
CREATE TABLE IF NOT EXISTS moa_documents (
    url             TEXT PRIMARY KEY,        -- real URL (SafeLinks unwrapped)
    sha256          TEXT,                    -- stored as moa/<sha256>.pdf in the archive
    size            INTEGER,
    status          TEXT NOT NULL,           -- ok | failed
    http_status     INTEGER,
    error           TEXT,
    attempts        INTEGER NOT NULL,
    first_attempt_utc TEXT NOT NULL,
    last_attempt_utc  TEXT NOT NULL
);

-- One line per fetch run that stored something or found nothing new (failures store nothing).
CREATE TABLE IF NOT EXISTS fetch_log (
    started_utc     TEXT NOT NULL,
    source          TEXT NOT NULL,
    outcome         TEXT NOT NULL,           -- new | unchanged
    detail          TEXT NOT NULL
);
