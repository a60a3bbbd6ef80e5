"""The one error seam: every failure g287 expects to meet is a ``G287Error``.

Each carries a one-line message for the reader and an exit code; the CLI and the
web map these once. Anything that is not a ``G287Error`` is a bug and is reported
as one (a traceback under ``--debug``), never dressed up as bad input.
"""

from __future__ import annotations

import sqlite3


class G287Error(Exception):
    """A failure with a one-line, reader-facing message."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(G287Error):
    """A file, option or request g287 cannot use as given (usage errors exit 2)."""

    exit_code = 2
    http_status = 400


class MissingData(G287Error):
    """Something g287 needs is not there: a file, reference data, a publication, an id."""

    exit_code = 1
    http_status = 404


class NetworkError(G287Error):
    """A host could not be reached or answered wrongly."""

    exit_code = 1
    http_status = 502


class Conflict(G287Error):
    """The operation would clash with state held elsewhere (a lock, the history file itself)."""

    exit_code = 1
    http_status = 409


def from_environment(exc: BaseException) -> G287Error | None:
    """The ``G287Error`` for a failure of the machine rather than of g287 (a file that
    cannot be opened or written, a locked, read-only, full or corrupt database), or None
    when ``exc`` is something else, that is, a bug."""
    if isinstance(exc, G287Error):
        return exc
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        kind = MissingData if isinstance(exc, FileNotFoundError) else G287Error
        return kind(f"{where}{exc.strerror or exc}")
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        text = str(exc)
        if "locked" in text or "busy" in text:
            return Conflict(f"the history database is locked by another process ({text})")
        if "readonly" in text or "read-only" in text:
            return G287Error(f"the history database cannot be written here ({text})")
        if "disk" in text or "full" in text:
            return G287Error(f"the history database could not be written ({text})")
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return G287Error(f"the history database is damaged ({text}); restore it from a copy "
                             "or rebuild it with `g287 ingest` from the archive")
        if "unable to open" in text:
            return MissingData(f"the history database cannot be opened ({text})")
    return None
