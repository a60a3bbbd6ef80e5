"""Where a user's review decisions live, and the alias rules every replay applies.

The alias file shipped inside the package is g287's own and read-only to g287: an
installed wheel must not write into site-packages, nor an editable install into the
source tree. A user's lines (their review decisions and their own aliases) live in the
user's decisions file: ``--aliases``, else ``$G287_ALIASES``, else
``<database>.decisions.csv`` beside the history database. Every ingest and rebuild
applies the shipped lines first and the user's over them (a user's line for the same
spelling wins).
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from importlib import resources
from pathlib import Path

from g287 import inputs
from g287.errors import MissingData
from g287.identity.resolve import Alias, parse_aliases

ALIASES_ENV = "G287_ALIASES"
SUFFIX = ".decisions.csv"
COLUMNS = ("state", "spelling", "canonical_name", "note", "decision", "canonical_state")
MAX_BYTES = 16 * inputs.MB   # thousands of decisions are a few hundred KB


def shipped_path() -> Path:
    """The alias file shipped with g287 (read, never written)."""
    return Path(str(resources.files("g287").joinpath("data", "aliases.csv")))


def database_path(conn: sqlite3.Connection) -> Path | None:
    """The file of the open history database (None in memory)."""
    return next((Path(r[2]) for r in conn.execute("PRAGMA database_list") if r[1] == "main" and r[2]), None)


def user_path(conn: sqlite3.Connection, aliases: Path | None = None) -> Path | None:
    """The user's decisions file: ``aliases``, ``$G287_ALIASES`` or beside the database."""
    if aliases is not None:
        return aliases
    if configured := os.environ.get(ALIASES_ENV):
        return Path(configured)
    db = database_path(conn)
    return db.with_name(db.name + SUFFIX) if db is not None else None


def is_shipped(path: Path) -> bool:
    """Whether ``path`` is the shipped alias file (which g287 never writes)."""
    shipped = shipped_path()
    return path.exists() and shipped.exists() and os.path.samefile(path, shipped)


def lines(text: str) -> list[str]:
    """The CSV lines of an alias file: blank lines and ``#`` comments left out (split on
    newlines only, so a separator character inside a name stays in its field)."""
    return [line for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")]


def read(path: Path) -> tuple[str, list[Alias]]:
    """An alias file's text and its lines (checked first: a regular file, UTF-8, valid)."""
    text = inputs.read_text(path, MAX_BYTES, "alias CSV file")
    return text, parse_aliases("\n".join(lines(text)), str(path))


def _records(text: str) -> list[list[str]]:
    return [[(record.get(c) or "") for c in COLUMNS] for record in csv.DictReader(lines(text))]


def rules(conn: sqlite3.Connection, aliases: Path | None = None) -> tuple[str, list[Alias]]:
    """The alias rules a replay applies: the shipped lines, then the user's over them, as
    one CSV text (stored with the history, and its fingerprint) and parsed lines. An
    ``aliases`` file passed explicitly must exist; the default user file may not yet."""
    texts = [read(shipped_path())[0]]
    user = user_path(conn, aliases)
    named = aliases is not None or bool(os.environ.get(ALIASES_ENV))
    if user is not None and not is_shipped(user) and (user.exists() or named):
        if not user.exists():
            raise MissingData(f"{user}: no alias file there")
        texts.append(read(user)[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for text in texts:
        writer.writerows(_records(text))
    combined = buffer.getvalue()
    return combined, parse_aliases(combined, "the alias files")
