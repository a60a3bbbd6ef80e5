"""The Typer app of the ``g287`` command, assembled from the modules of the stages asked for."""

from __future__ import annotations

from importlib import import_module
from typing import Annotated

import typer

from g287.cli import MODULES
from g287.cli.common import DEBUG_KEY, ErrorMappingGroup


def build(modules: tuple[str, ...] = MODULES) -> typer.Typer:
    """The app with the commands of the given modules."""
    built = typer.Typer(
        name="g287",
        help="A citable history of ICE's 287(g) agreements, rebuilt from every sheet ICE published.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        cls=ErrorMappingGroup,
    )
    # A group even when the modules hold one command, so that `g287 serve` keeps its name.
    built.callback()(_group)
    for name in modules:
        import_module(f"g287.cli.{name}").register(built)
    return built


def _group(ctx: typer.Context, debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of an internal error (a bug).")] = False) -> None:
    """A citable history of ICE's 287(g) agreements, rebuilt from every sheet ICE published."""
    ctx.meta[DEBUG_KEY] = debug
