"""The ``serve`` and ``site build`` commands: the web site and API over one history database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from g287 import config
from g287.cli.common import DbOption, console, open_db

site_app = typer.Typer(help="The site as static files, for any static host or CDN.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the serve and site commands to the app."""
    app.command()(serve)
    app.add_typer(site_app, name="site")


def serve(db: DbOption = None, host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8287,
          workers: Annotated[int, typer.Option(help="Processes; 0 = 2 × CPU cores + 1. Each keeps at most "
                                               "$G287_CACHE_MB (default 64) MB of cached answers.")] = 0) -> None:
    """Serve the site and the API (read-only; stays fresh while `g287 ingest` adds publications).

    By default 2 × cores + 1 worker processes, so throughput grows with the number of
    readers instead of queueing behind one interpreter lock; bench/bench_load.py measures it."""
    from g287.web import server

    _upgrade_if_writable(db)
    with open_db(db, readonly=True):  # a missing or damaged database is one line, before serving
        pass
    server.serve(config.db_path(db), host, port, workers)


def _upgrade_if_writable(db: Path | None) -> None:
    """Serve reads only; a history written by an older g287 is moved to this schema first,
    when the file may be written (else the read-only check says how to upgrade it)."""
    path = config.db_path(db)
    if path.is_file() and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        with open_db(db):
            pass


@site_app.command("build")
def site_build(db: DbOption = None,
               output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write.")] = Path("public"),
               base_url: Annotated[str | None, typer.Option(
                   "--base-url", help="Where the site will be published, e.g. https://org.github.io/g287/ "
                                      "(links, feeds and sitemap use it; default: a domain root).")] = None,
               ) -> None:
    """Write every page (English and Spanish), feed, map frame and the read-only API's JSON
    and CSV files as static files for any host (see g287.web.site). A rebuild rewrites only
    the files whose content changed."""
    from g287.web import site

    _upgrade_if_writable(db)
    with open_db(db, readonly=True):
        pass
    report = site.build(config.db_path(db), output, base_url)
    console.print(f"{output}: {report.files} files, {report.bytes / 1e6:.1f} MB; {report.written} written, "
                  f"{report.reused} unchanged; {report.seconds:.1f} s"
                  + ("" if report.rendered else " (no input changed: nothing rendered)"), highlight=False,
                  soft_wrap=True)
