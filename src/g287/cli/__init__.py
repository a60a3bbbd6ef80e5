"""The ``g287`` command: one Typer app assembled from a module per stage."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="g287",
    help="A citable history of ICE's 287(g) agreements, rebuilt from every sheet ICE published.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module exposes ``register(app)``; the order is the order of `g287 --help`.
_COMMAND_MODULES = ("history", "analytics", "places", "acquire", "web", "export")

for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"g287.cli.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"g287.cli.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    """Run the command line."""
    app()
