"""The ``g287`` command: one Typer app assembled from a module per stage.

Each stage's module imports the libraries its commands need (charts, HTTP, Parquet, the
web stack), so :func:`main` loads only the module holding the command asked for:
``g287 status`` starts without matplotlib, httpx, pyarrow or uvicorn. ``app`` (every
command, for ``--help``, the reference and tests) is assembled on first use.
"""

from __future__ import annotations

import sys
from typing import Any

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


def __getattr__(name: str) -> Any:
    if name == "build":
        from g287.cli.assemble import build
        return build
    if name == "app":
        from g287.cli.assemble import build
        built = globals()["app"] = build()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the command line, loading only the module of the command asked for (and for
    ``status``, ``changes`` and ``agency`` in JSON, not even Typer: :func:`g287.cli.plain.fast`)."""
    from g287.cli.plain import fast

    code = fast(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    from g287.cli.assemble import build

    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    module = COMMANDS.get(command or "")
    build((module,) if module else MODULES)()
