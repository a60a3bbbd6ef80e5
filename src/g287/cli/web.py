"""The ``serve`` and ``site build`` commands: the web site and API over one history database."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from g287 import config
from g287.cli.common import DbOption, fail
from g287.errors import G287Error

DB_ENV = "G287_SERVE_DB"
site_app = typer.Typer(help="The site as static files, for any static host or CDN.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the serve and site commands to the app."""
    app.command()(serve)
    app.add_typer(site_app, name="site")


def serve(db: DbOption = None, host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8287,
          workers: Annotated[int, typer.Option(help="Processes; 0 = 2 × CPU cores + 1.")] = 0) -> None:
    """Serve the site and the API (read-only; stays fresh while `g287 ingest` adds publications).

    By default 2 × cores + 1 worker processes (each with a pool of threads for uncached
    answers), so throughput grows with the number of readers instead of queueing behind
    one interpreter lock; bench/bench_load.py measures it."""
    path = config.db_path(db)
    if not path.exists():
        raise fail(f"{path}: no history database here; run `g287 ingest` first or pass --db")
    count = workers or 2 * (os.cpu_count() or 1) + 1
    os.environ[DB_ENV] = str(path.resolve())
    settings = uvicorn.Config("g287.cli.web:app_from_env", factory=True, host=host, port=port, workers=count,
                              log_level="info", timeout_keep_alive=5,
                              # a worker importing g287 on a busy machine can take longer than
                              # uvicorn's 5 s before it answers the supervisor's first ping
                              timeout_worker_healthcheck=120)
    if count == 1:
        uvicorn.Server(settings).run()
        return
    # uvicorn's own shared socket is made without IPPROTO_TCP, so asyncio leaves Nagle's
    # algorithm on for each connection and every keep-alive answer waits ~40 ms for an ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise fail(f"{host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    typer.echo(f"g287: serving http://{host}:{port} with {count} worker processes")
    Multiprocess(settings, sockets=[sock]).run()


def app_from_env():  # type: ignore[no-untyped-def]
    """The app for each worker process (uvicorn imports it by name)."""
    from g287.web.app import create_app

    return create_app(Path(os.environ[DB_ENV]))


@site_app.command("build")
def site_build(db: DbOption = None,
               output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write.")] = Path("public")
               ) -> None:
    """Write every page (English and Spanish), feed, map frame and the read-only API's JSON
    and CSV files as static files with the site's URLs (see g287.web.site)."""
    from g287.web import site

    path = config.db_path(db)
    if not path.exists():
        raise fail(f"{path}: no history database here; run `g287 ingest` first or pass --db")
    try:
        report = site.build(path, output)
    except G287Error as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{output}: {report.files} files, {report.bytes / 1e6:.1f} MB")
