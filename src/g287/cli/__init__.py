"""The ``g287`` command: one Typer app assembled from a module per stage."""

from __future__ import annotations

from typing import Annotated

import typer

from g287.cli import acquire, analytics, export, history, places, web
from g287.cli.common import DEBUG_KEY, ErrorMappingGroup

app = typer.Typer(
    name="g287",
    help="A citable history of ICE's 287(g) agreements, rebuilt from every sheet ICE published.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=ErrorMappingGroup,
)


@app.callback()
def _options(ctx: typer.Context, debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of an internal error (a bug).")] = False) -> None:
    ctx.meta[DEBUG_KEY] = debug

# The order is the order of `g287 --help`.
for _module in (history, analytics, places, acquire, web, export):
    _module.register(app)


def main() -> None:
    """Run the command line."""
    app()
