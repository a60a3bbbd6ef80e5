"""Every file a user hands to g287 is checked before it is read.

A path on the command line can name anything: a FIFO (reading it waits forever), a
device (``/dev/zero`` never ends), a folder, or a file far larger than its kind ever is.
:func:`read_file` reads only regular files within a size limit, and says in one line
naming the path what else it found; :func:`check_file` is the same check for readers
that open the file themselves (a PDF library, a zip reader).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from g287.errors import BadInput, MissingData

MB = 1024 * 1024


def _a(what: str) -> str:
    return f"an {what}" if what[:1].lower() in "aeiou" else f"a {what}"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


NO_FILE = "no such file"


def problem(path: Path, limit: int) -> str | None:
    """Why ``path`` cannot be read as a file of at most ``limit`` bytes, or None when it can."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return NO_FILE
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode):
        kind = _kind(info.st_mode)
        return f"is {kind}, not a file" if kind != "not a regular file" else "is not a regular file"
    if info.st_size > limit:
        return f"{info.st_size:,} bytes, more than the {limit:,} such a file may have"
    return None


def check_file(path: Path, limit: int, what: str = "file") -> Path:
    """``path`` when it is a regular file of at most ``limit`` bytes; else BadInput naming
    it (``what`` says what was expected: "sheet", "claims file")."""
    found = problem(path, limit)
    if found == NO_FILE:
        raise MissingData(f"{path}: {NO_FILE}; expected {_a(what)}")
    if found is not None:
        raise BadInput(f"{path}: {found}; expected {_a(what)}")
    return path


def read_file(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a checked file (never more than ``limit``, even if it grows meanwhile)."""
    check_file(path, limit, what)
    with open(path, "rb") as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise BadInput(f"{path}: grew past {limit:,} bytes while being read; expected {_a(what)}")
    return content


def read_text(path: Path, limit: int, what: str = "file") -> str:
    """A checked file as UTF-8 text; bytes that are not UTF-8 are one line naming it."""
    content = read_file(path, limit, what)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start:,}); expected {_a(what)}") from exc
