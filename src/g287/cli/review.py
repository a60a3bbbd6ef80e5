"""The ``review`` commands: lineage candidates awaiting a person, and their settlement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from g287.cli.common import DbOption, JsonOption, console, emit, fail, open_db
from g287.errors import G287Error
from g287.identity import review as review_mod

review_app = typer.Typer(help="Lineage candidates the evidence did not settle: list, accept, reject.",
                         no_args_is_help=False, invoke_without_command=True)

AliasesOption = Annotated[Path | None, typer.Option(
    help="Your decisions CSV to write the decision to (default: $G287_ALIASES, else "
         "<database>.decisions.csv beside the history; the shipped alias file is never written).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the alias file).")]


def register(app: typer.Typer) -> None:
    """Add the review commands to the app."""
    app.add_typer(review_app, name="review")


@review_app.callback()
def review(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the candidates awaiting review, each with its evidence (names, state, model,
    dates, MOA links, publications, score). Nothing listed here was merged."""
    if ctx.invoked_subcommand:
        return
    with open_db(db, readonly=True) as conn:
        found = review_mod.candidates(conn)
    emit(found, as_json=as_json, render=_render)


_SIDE_FIELDS = ("name", "state", "county", "agency_type", "model", "signed", "links")


def _render(found: list[review_mod.Candidate]) -> None:
    if not found:
        console.print("no lineage candidate awaits review")
        return
    for c in found:
        console.rule(f"{c.decision_id} · {c.kind}? · {c.score:g} points · {c.date}")
        sides = Table("", "before", "after")   # the two printings side by side
        for key in _SIDE_FIELDS:
            sides.add_row(key, *(", ".join(v) if isinstance(v := side.get(key), list) else str(v or "—")
                                 for side in (c.before, c.after)))
        sides.add_row("publication", c.before_file or "—", c.after_file)
        console.print(sides)
        table = Table("evidence", "value")
        for key, value in c.evidence.items():
            table.add_row(key, str(value))
        console.print(table)
        console.print(f"  {c.reason}", highlight=False)
    console.print(f"{len(found)} candidates await review: g287 review accept|reject ID --reason …",
                  style="dim")


def _settle(decision_id: str, accept: bool, reason: str, db: Path | None, aliases: Path | None,
            as_json: bool) -> None:
    with open_db(db) as conn:
        try:
            result = review_mod.settle(conn, decision_id, accept, reason, aliases)
        except (G287Error, ValueError, OSError) as exc:
            raise fail(str(exc)) from exc
    emit(result, as_json=as_json, render=lambda r: console.print(
        f"{r.decision_id}: wrote '{r.line}' to {r.aliases}; history replayed "
        f"({r.rebuild.publications} publications, {r.rebuild.after['events']} events)",
        highlight=False))


@review_app.command()
def accept(decision_id: Annotated[str, typer.Argument(metavar="ID")], reason: ReasonOption,
           db: DbOption = None, aliases: AliasesOption = None, as_json: JsonOption = False) -> None:
    """Accept a candidate: the two sides are one agreement (or agency); replays the history."""
    _settle(decision_id, True, reason, db, aliases, as_json)


@review_app.command()
def reject(decision_id: Annotated[str, typer.Argument(metavar="ID")], reason: ReasonOption,
           db: DbOption = None, aliases: AliasesOption = None, as_json: JsonOption = False) -> None:
    """Reject a candidate: two different agreements (or agencies); never proposed again."""
    _settle(decision_id, False, reason, db, aliases, as_json)
