"""The command line's pieces that need neither Typer nor Rich, and the fast path they allow.

``g287 status``, ``changes`` and ``agency`` are what scripts and newsrooms call most, and
asked for ``--json`` they need only the library and the standard library: :func:`fast`
answers them without importing Typer (which imports pydantic), Rich or the fold, so the
whole process takes a fraction of the full command line's start. It calls the same library
functions and prints the same JSON, warnings and error lines with the same exit codes; any
other form (tables, CSV, help, an option it does not know, a value it cannot read) returns
None and the full command line answers, with its own messages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from g287 import config, store
from g287.dates import parse_date
from g287.errors import BadInput, G287Error, MissingData, from_environment
from g287.text import safe_json, safe_text

BUG_EXIT = 70  # EX_SOFTWARE: not a failure g287 expected


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, dates and paths into plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    """Print a value as indented JSON on stdout."""
    sys.stdout.write(safe_json(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)) + "\n")


@contextmanager
def open_db(db: Path | None, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    """Open the history database for one command (checked with ``PRAGMA quick_check``);
    a missing, locked, read-only or damaged database is one line naming it."""
    path = config.db_path(db)
    if readonly and not path.exists():
        raise MissingData(f"{path}: no history database here; run `g287 ingest` first or pass --db")
    conn = None
    try:
        conn = store.connect(path, readonly=readonly)
        store.check_integrity(conn)
    except (sqlite3.Error, store.StoreError) as exc:
        if conn is not None:
            conn.close()
        mapped = from_environment(exc) or G287Error(str(exc))
        raise type(mapped)(f"{path}: {mapped}") from exc
    try:
        yield conn
    finally:
        conn.close()


# The commands the fast path answers, with the options (each taking a value) each accepts.
FAST_OPTIONS = {"status": ("--as-of",), "changes": ("--since", "--until", "--state", "--kind", "--status"),
                "agency": ("--state",)}
_DATES = ("--as-of", "--since", "--until")


def fast(argv: list[str]) -> int | None:
    """Answer ``argv`` (without the program name) when it is ``status``, ``changes`` or
    ``agency`` asked for ``--json`` in a form this path reads; its exit code, else None."""
    if not argv or argv[0] not in FAST_OPTIONS or "--json" not in argv:
        return None
    command, known = argv[0], (*FAST_OPTIONS[argv[0]], "--db")
    options: dict[str, str] = {}
    positional: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        name, equals, value = arg.partition("=")
        if arg == "--json":
            continue
        if name in known and name not in options:
            value = value if equals else next(args, None)
            if value is None:
                return None
            options[name] = value
        elif arg.startswith("-") or command != "agency" or positional:
            return None
        else:
            positional.append(arg)
    if command == "agency" and not positional:
        return None
    try:
        dates = {name: parse_date(options[name]) for name in _DATES if name in options}
    except BadInput:  # the full command line says so, as a usage error
        return None
    db = Path(options["--db"]) if "--db" in options else None
    try:
        result = _answer(command, options, dates, positional, db)
    except Exception as exc:  # the full command line's mapping (cli.common.ErrorMappingGroup)
        mapped = from_environment(exc)
        if mapped is None:
            _line(f"error: internal error (a bug in g287; please report it): {type(exc).__name__}: {exc} "
                  "(rerun with --debug for the traceback)")
            return BUG_EXIT
        _line(f"error: {mapped.message}")
        return mapped.exit_code
    print_json(result)
    return 0


def status_answer(db: Path | None, day: dt.date | None) -> dict[str, Any]:
    """``g287 status``: the library's status (its ``note`` is the warning to print)."""
    from g287 import query

    with open_db(db, readonly=True) as conn:
        return query.status(conn, day)


def changes_answer(db: Path | None, since: dt.date | None, until: dt.date | None, state: str | None,
                   kind: str | None, status: str | None) -> list[Any]:
    """``g287 changes``."""
    from g287 import query

    with open_db(db, readonly=True) as conn:
        return query.changes(conn, since, until, state, kind, status=status)


def agency_answer(db: Path | None, text: str, state: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """``g287 agency``: the stories found, and a warning to print (an absent or placed-only
    answer), or ``MissingData`` saying plainly that nothing matches."""
    from g287 import query

    with open_db(db, readonly=True) as conn:
        if text.startswith("ag_"):
            stories = [query.agency_story(conn, text)]
            answer = None
        else:
            answer = query.lookup(conn, text)
            found = [a for a in answer.matches if state is None or a.state == query.check_state(state)]
            stories = [query.agency_story(conn, a.agency_id) for a in found[:20]]
    if not stories:
        alike = "; ".join(f"{a.name} ({a.state})" for a in answer.lookalikes[:5]) if answer else ""
        raise MissingData(f"no agency matches {text!r}" + (f": {answer.answer}" if answer else "")
                          + (f" Look-alikes, not what was typed: {alike}" if alike else ""))
    warning = answer.answer if answer is not None and (answer.absent or answer.places) else None
    return stories, warning


def _answer(command: str, options: dict[str, str], dates: dict[str, dt.date], positional: list[str],
            db: Path | None) -> Any:
    if command == "status":
        result = status_answer(db, dates.get("--as-of"))
        warning = result["note"]
    elif command == "changes":
        result, warning = changes_answer(db, dates.get("--since"), dates.get("--until"), options.get("--state"),
                                         options.get("--kind"), options.get("--status")), None
    else:
        result, warning = agency_answer(db, positional[0], options.get("--state"))
    if warning:
        _line(f"warning: {warning}")
    return result


def _line(text: str) -> None:
    sys.stderr.write(safe_text(text) + "\n")
