"""The ``g287`` command: one Typer app assembled from a module per stage.

Each stage's module imports the libraries its commands need (charts, HTTP, Parquet, the
web stack), so :func:`main` loads only the module holding the command asked for:
``g287 status`` starts without matplotlib, httpx, pyarrow or uvicorn. ``app`` (every
command, for ``--help``, the reference and tests) is assembled on first use.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Annotated

import typer

from g287.cli.common import DEBUG_KEY, ErrorMappingGroup

# The order is the order of `g287 --help`.
MODULES = ("history", "review", "analytics", "places", "acquire", "moa", "web", "export")
# Which module registers each command (a test checks this against the modules themselves).
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("ingest", "rebuild", "status", "publications", "changes", "agency", "qa"),
                    "history"),
    **dict.fromkeys(("series", "growth", "share", "pending", "report", "models", "timeline",
                     "claims"), "analytics"),
    **dict.fromkeys(("map", "geojson", "coverage", "places", "sources"), "places"),
    **dict.fromkeys(("fetch", "watch", "import-archive"), "acquire"),
    "moa": "moa",
    "review": "review",
    **dict.fromkeys(("serve", "site"), "web"),
    **dict.fromkeys(("export", "release"), "export"),
}


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


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        built = globals()["app"] = build()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the command line, loading only the module of the command asked for."""
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    module = COMMANDS.get(command or "")
    build((module,) if module else MODULES)()
