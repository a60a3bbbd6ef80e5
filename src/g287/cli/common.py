"""Shared pieces of the command line: options, output and error mapping.

Commands stay thin: they parse options, call one library function and hand the
result to :func:`emit`, which prints JSON (``--json``), CSV (``--csv``) or a Rich
rendering. Errors are mapped once, in :class:`ErrorMappingGroup`: a ``G287Error``
becomes one line and its exit code; anything else is a bug and says so.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
import typer.exceptions
from rich.console import Console
from rich.markup import escape
from rich.segment import Segment

from g287 import config, csvfile
from g287.cli.plain import BUG_EXIT, open_db, print_json, to_jsonable
from g287.dates import parse_date
from g287.errors import from_environment
from g287.text import safe_text

__all__ = ["BUG_EXIT", "open_db", "print_json", "to_jsonable"]  # typer-free, in cli.plain
DEBUG_ENV = "G287_DEBUG"
DEBUG_KEY = "g287.debug"  # in click's Context.meta, set by `g287 --debug`

# Markup off: text from data or a user ("Closing [/] tag") is printed as it is, never
# read as Rich markup; the few lines that style their own words ask with markup=True
# and pass data through marked().
class SafeConsole(Console):
    """A console that never passes a control character from printed text to the terminal:
    text segments (table cells, rules, anything a command prints) are shown with ``\\xNN``
    escapes; Rich's own styles and cursor controls are untouched."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(safe_text(segment.text), segment.style, segment.control)
            for segment in buffer)


console = SafeConsole(markup=False)
err_console = SafeConsole(stderr=True, markup=False)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help=f"History database (default: ${config.DB_ENV} or ./{config.DEFAULT_DB})."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV.")]
AsOfOption = Annotated[
    dt.date | None,
    typer.Option("--as-of", parser=parse_date, metavar="YYYY-MM-DD",
                 help="End of this day (YYYY-MM-DD); default: latest."),
]


def date_option(*names: str, help: str) -> Any:  # noqa: A002 - Typer's own keyword
    """A date option parsed by the one date parser (:func:`g287.dates.parse_date`)."""
    return typer.Option(*names, parser=parse_date, metavar="YYYY-MM-DD", help=help)


class ErrorMappingGroup(typer.core.TyperGroup):
    """The one place where the command line turns exceptions into messages and exit codes.

    ``G287Error`` (and the machine's own failures: files, locked or damaged databases)
    print one line and exit with the error's code (2 for bad input, 1 otherwise).
    Anything else is a bug: one line saying so, the traceback only under ``--debug``.
    """

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):  # usage errors, --help
            raise
        except Exception as exc:
            mapped = from_environment(exc)
            if mapped is not None:
                raise fail(mapped.message, mapped.exit_code) from exc
            if ctx.meta.get(DEBUG_KEY) or os.environ.get(DEBUG_ENV):
                raise
            raise fail(f"internal error (a bug in g287; please report it): {type(exc).__name__}: {exc} "
                       "(rerun with --debug for the traceback)", BUG_EXIT) from exc


def print_csv(rows: Iterable[Mapping[str, Any]]) -> None:
    """Print dict rows as formula-safe CSV on stdout (columns from the first row), control
    characters from the data shown as ``\\xNN`` (files written with ``-o`` keep their bytes)."""
    rows = [to_jsonable(r) for r in rows]
    if not rows:
        return
    header = list(rows[0].keys())
    for line in csvfile.iter_csv(header, ([row.get(k) for k in header] for row in rows)):
        sys.stdout.write(safe_text(line))


def emit(value: Any, *, as_json: bool, render: Callable[[Any], None],
         as_csv: bool = False, csv_rows: Callable[[Any], Iterable[Mapping[str, Any]]] | None = None) -> None:
    """Print a library result as JSON, CSV or with the command's Rich renderer."""
    if as_json:
        print_json(value)
    elif as_csv:
        print_csv(csv_rows(value) if csv_rows else value)
    else:
        render(value)


def shown(value: object) -> str:
    """Data (an agency name, a path, a message) made safe to print: control characters
    and terminal escapes shown as ``\\xNN`` (the consoles never read markup)."""
    return safe_text("" if value is None else value)


def marked(value: object) -> str:
    """Data made safe to print inside a line printed with ``markup=True``: as :func:`shown`,
    with Rich markup such as ``[/]`` escaped."""
    return escape(shown(value))


def warn_dates(*notes: str | None) -> None:
    """One stderr line per date the archive cannot fully answer (``query.date_context`` notes)."""
    for note in dict.fromkeys(n for n in notes if n):
        err_console.print(f"[bold yellow]warning:[/] {marked(note)}", highlight=False, soft_wrap=True, markup=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line (a message that spans lines is joined) and return the Exit to raise."""
    line = " ".join(message.split("\n"))
    err_console.print(f"[bold red]error:[/] {marked(line)}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code)


def as_date(value: dt.date | None) -> dt.date | None:
    """The date the library expects from a date option (a datetime is cut to its day)."""
    return value.date() if isinstance(value, dt.datetime) else value
