"""The one error seam: every failure g287 expects to meet is a ``G287Error``.

Each carries a one-line message for the reader and an exit code; the CLI and the
web map these once. Anything that is not a ``G287Error`` is a bug and is reported
as one (a traceback under ``--debug``), never dressed up as bad input.
"""

from __future__ import annotations


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
