"""The ``g287`` command: one Typer app assembled from a module per stage."""

from __future__ import annotations

import typer

from g287.cli import acquire, analytics, export, history, moa, places, web

app = typer.Typer(
    name="g287",
    help="A citable history of ICE's 287(g) agreements, rebuilt from every sheet ICE published.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# The order is the order of `g287 --help`.
for _module in (history, analytics, places, acquire, moa, web, export):
    _module.register(app)


def main() -> None:
    """Run the command line."""
    app()
