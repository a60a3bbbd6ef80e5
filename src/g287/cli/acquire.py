"""Acquisition commands: fetch, moa, watch, import-archive."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Annotated

import typer

from g287 import config
from g287.acquire import archive_import
from g287.acquire import fetch as fetch_mod
from g287.acquire import moa as moa_mod
from g287.acquire import watch as watch_mod
from g287.acquire.page import DEFAULT_SOURCE
from g287.cli.common import DbOption, JsonOption, console, emit, err_console, fail, open_db

ArchiveOption = Annotated[Path | None, typer.Option(
    "--archive", help=f"Archive folder (default: ${fetch_mod.ARCHIVE_ENV} or ./archive).")]


def register(app: typer.Typer) -> None:
    """Add the acquisition commands to the app."""
    app.command()(fetch)
    app.command()(moa)
    app.command()(watch)
    app.command("import-archive")(import_archive)


def _fetch(db: Path | None, archive: Path, source: str, with_moa: bool,
           stop: threading.Event | None = None) -> fetch_mod.FetchReport:
    with open_db(db) as conn:
        report = fetch_mod.fetch(conn, archive, source)
        if with_moa:
            moa_mod.download_moas(conn, archive, stop=stop.is_set if stop else None)
    return report


def _render_fetch(report: fetch_mod.FetchReport) -> None:
    for sheet in report.sheets:
        console.print(f"{sheet.list_name}: {sheet.file} {sheet.outcome.replace('_', ' ')}"
                      f"{' → ' + sheet.archived if sheet.archived else ''}", highlight=False)


def fetch(source: Annotated[str, typer.Option(help="ICE's 287(g) page.")] = DEFAULT_SOURCE,
          archive: ArchiveOption = None, no_moa: Annotated[bool, typer.Option(
              "--no-moa", help="Skip downloading MOA documents.")] = False,
          db: DbOption = None, as_json: JsonOption = False) -> None:
    """Fetch ICE's current sheets; archive and ingest what is new. Nothing is stored on failure."""
    try:
        report = _fetch(db, fetch_mod.archive_dir(archive), source, not no_moa)
    except fetch_mod.FetchError as exc:
        raise fail(str(exc)) from exc
    emit(report, as_json=as_json, render=_render_fetch)


def moa(archive: ArchiveOption = None, retry_failed: Annotated[bool, typer.Option(
            help="Try again the URLs that failed before.")] = True,
        db: DbOption = None, as_json: JsonOption = False) -> None:
    """Download every MOA and addendum PDF not yet held (content-addressed)."""
    with open_db(db) as conn:
        report = moa_mod.download_moas(conn, fetch_mod.archive_dir(archive), retry_failed=retry_failed)
    emit(report, as_json=as_json, render=lambda r: console.print(
        f"downloaded {len(r.downloaded)}, already held {r.already_held}, failed {len(r.failed)}"
        + "".join(f"\n  failed: {url}: {why}" for url, why in r.failed), highlight=False))


def watch(every: Annotated[str, typer.Option(help="Interval: 30m, 6h, 1d.")] = "6h",
          source: Annotated[str, typer.Option(help="ICE's 287(g) page.")] = DEFAULT_SOURCE,
          archive: ArchiveOption = None, no_moa: Annotated[bool, typer.Option(
              "--no-moa", help="Skip downloading MOA documents.")] = False,
          db: DbOption = None) -> None:
    """Fetch repeatedly; one watcher per archive; stops cleanly on SIGTERM or SIGINT."""
    try:
        seconds = watch_mod.parse_duration(every)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    folder = fetch_mod.archive_dir(archive)

    def log(message: str) -> None:
        err_console.print(f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ} {message}", highlight=False)

    def run_once(stop: threading.Event) -> None:
        report = _fetch(db, folder, source, not no_moa, stop)
        log("; ".join(f"{s.list_name} {s.file} {s.outcome}" for s in report.sheets))

    log(f"watching {source} every {every} (archive {folder}, database {config.db_path(db)})")
    try:
        watch_mod.watch(run_once, seconds, folder, log)
    except watch_mod.WatchLocked as exc:
        raise fail(str(exc)) from exc


def import_archive(
    source: Annotated[str, typer.Argument(help="Folder, zip, or GitHub owner/repo[:path].")],
    archive: ArchiveOption = None,
    token: Annotated[str | None, typer.Option(help="GitHub token (default: $GITHUB_TOKEN).")] = None,
    api: Annotated[str, typer.Option(help="GitHub API base URL.")] = archive_import.GITHUB_API,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Import an archive of ICE sheets (sheets_YYYYMMDD_HHMMSS/ layout) and ingest it."""
    with open_db(db) as conn:
        try:
            report = archive_import.import_archive(conn, source, fetch_mod.archive_dir(archive), api=api,
                                                   token=token or os.environ.get("GITHUB_TOKEN"))
        except (archive_import.ArchiveImportError, fetch_mod.http.DownloadError) as exc:
            raise fail(str(exc)) from exc
    emit(report, as_json=as_json, render=lambda r: console.print(
        f"publications added: {len(r.added)}, seen again: {len(r.seen_again)}, failed: {len(r.failed)}"))
