"""The ``serve`` command: the web site and API over one history database."""

from __future__ import annotations

from typing import Annotated

import typer

from g287 import config
from g287.cli.common import DbOption, open_db


def register(app: typer.Typer) -> None:
    """Add the serve command to the app."""
    app.command()(serve)


def serve(db: DbOption = None, host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8287) -> None:
    """Serve the site and the API (read-only; stays fresh while `g287 ingest` adds publications)."""
    from g287.web import server

    with open_db(db, readonly=True):  # a missing or damaged database is one line, before serving
        pass
    server.serve(config.db_path(db), host, port)
