"""Shared pieces of the command line: options, output and error mapping.

Commands stay thin: they parse options, call one library function and hand the
result to :func:`emit`, which prints JSON (``--json``), CSV (``--csv``) or a Rich
rendering. Library exceptions become one clean line and a non-zero exit.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from g287 import config, store

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help=f"History database (default: ${config.DB_ENV} or ./{config.DEFAULT_DB})."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV.")]
AsOfOption = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="End of this day (YYYY-MM-DD); default: latest."),
]


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
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n")


def print_csv(rows: Iterable[Mapping[str, Any]]) -> None:
    """Print dict rows as CSV on stdout (columns from the first row)."""
    rows = [to_jsonable(r) for r in rows]
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in row.items()})


def emit(value: Any, *, as_json: bool, render: Callable[[Any], None],
         as_csv: bool = False, csv_rows: Callable[[Any], Iterable[Mapping[str, Any]]] | None = None) -> None:
    """Print a library result as JSON, CSV or with the command's Rich renderer."""
    if as_json:
        print_json(value)
    elif as_csv:
        print_csv(csv_rows(value) if csv_rows else value)
    else:
        render(value)


def warn_dates(*notes: str | None) -> None:
    """One stderr line per date the archive cannot fully answer (``query.date_context`` notes)."""
    for note in dict.fromkeys(n for n in notes if n):
        err_console.print(f"[bold yellow]warning:[/] {note}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def open_db(db: Path | None, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    """Open the history database for one command, mapping failures to one clean line."""
    path = config.db_path(db)
    if readonly and not path.exists():
        raise fail(f"{path}: no history database here; run `g287 ingest` first or pass --db")
    try:
        conn = store.connect(path, readonly=readonly)
    except (sqlite3.Error, store.StoreError) as exc:
        raise fail(f"{path}: {exc}") from exc
    try:
        yield conn
    finally:
        conn.close()


def as_date(value: dt.datetime | None) -> dt.date | None:
    """Turn Typer's parsed datetime option into the date the library expects."""
    return value.date() if value else None
