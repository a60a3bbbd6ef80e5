"""Export commands: export tables in one format, build a dated release."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from g287.cli.common import AsOfOption, DbOption, JsonOption, as_date, console, emit, open_db
from g287.export import release as release_mod
from g287.export.dictionary import TABLES


def register(app: typer.Typer) -> None:
    """Add the export commands to the app."""
    app.command()(export)
    app.command()(release)


def export(
    fmt: Annotated[str, typer.Option("--format", help=" | ".join(release_mod.FORMATS))],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder (csv, parquet) or file.")],
    table: Annotated[list[str] | None, typer.Option(help=f"Table(s): {', '.join(TABLES)}.")] = None,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Export the history's tables (as known at the end of --as-of) in one format."""
    with open_db(db, readonly=True) as conn:
        written = release_mod.export(conn, fmt, output, as_date(as_of), table)
    emit([str(p) for p in written], as_json=as_json,
         render=lambda paths: console.print("\n".join(f"wrote {p}" for p in paths), highlight=False))


def release(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder that holds releases.")],
    previous: Annotated[Path | None, typer.Option(help="Release to compare with (default: "
                                                  "the newest earlier one in --output).")] = None,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Build a dated release: CSV, Parquet, XLSX, SQLite, datapackage.json, CHANGES.md, SHA256SUMS."""
    with open_db(db, readonly=True) as conn:
        result = release_mod.build_release(conn, output, previous)
    emit(result, as_json=as_json, render=_render_release)


def _render_release(result: release_mod.Release) -> None:
    compared = f"; compared with {result.previous.name}" if result.previous else ""
    console.print(f"release {result.folder} ({len(result.files)} files, "
                  f"{sum(f.bytes for f in result.files):,} bytes{compared})", highlight=False)
    console.print(", ".join(f"{n} {c:,}" for n, c in result.rows.items()), highlight=False)
