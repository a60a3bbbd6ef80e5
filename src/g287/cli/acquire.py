"""Acquisition commands: fetch, moa, watch, import-archive."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from g287 import config
from g287.acquire import archive_import, http, run
from g287.acquire import fetch as fetch_mod
from g287.acquire import moa as moa_mod
from g287.acquire import watch as watch_mod
from g287.acquire.page import DEFAULT_SOURCE
from g287.cli.common import (
    DbOption,
    JsonOption,
    console,
    emit,
    err_console,
    marked,
    open_db,
    shown,
    to_jsonable,
)
from g287.text import safe_json

ArchiveOption = Annotated[Path | None, typer.Option(
    "--archive", help=f"Archive folder (default: ${fetch_mod.ARCHIVE_ENV} or ./archive).")]
SourceOption = Annotated[str, typer.Option("--source", help="ICE's 287(g) page.")]
NoMoaOption = Annotated[bool, typer.Option("--no-moa", help="Skip downloading MOA documents.")]
TimeoutOption = Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait on the network.")]
RetriesOption = Annotated[int, typer.Option("--retries", min=0, help="Retries after network errors and 5xx.")]
PrivateOption = Annotated[bool, typer.Option(
    "--allow-private-hosts", envvar="G287_ALLOW_PRIVATE_HOSTS",
    help="Also fetch from loopback, private and link-local addresses (a local mirror, tests).")]
BudgetOption = Annotated[float, typer.Option(
    "--moa-budget", min=1.0, help="Seconds the MOA downloads of one run may take; the rest wait for the next run.")]


def register(app: typer.Typer) -> None:
    """Add the acquisition commands to the app."""
    app.command()(fetch)
    app.command()(watch)
    app.command("import-archive")(import_archive)


def _policy(timeout: float, retries: int, allow_private: bool) -> http.Policy:
    return http.Policy(timeout=timeout, retries=retries, allow_private=allow_private)


def _progress(message: str) -> None:
    """Stage progress for a person watching (a terminal); scripts read --json instead."""
    if err_console.is_terminal:
        err_console.print(f"[dim]{marked(message)}[/]", highlight=False, soft_wrap=True, markup=True)


def _render_run(report: run.RunReport) -> None:
    for sheet in report.fetch.sheets:
        console.print(f"{sheet.list_name}: {sheet.file} {sheet.outcome.replace('_', ' ')}"
                      f"{' → ' + sheet.archived if sheet.archived else ''}", highlight=False)
    if report.moa is not None:
        _render_moa(report.moa)


def _render_moa(report: moa_mod.MoaReport) -> None:
    console.print(f"MOA documents: downloaded {len(report.downloaded)}, already held {report.already_held}, "
                  f"unchanged {report.unchanged}, failed {len(report.failed)}, "
                  f"waiting {report.not_due} (failed before; next try later)", highlight=False)
    for _url, why in report.failed:
        console.print(f"  failed: {shown(why)}", highlight=False, soft_wrap=True)
    reasons = Counter(d.reason for d in report.deferred)
    for reason, count in sorted(reasons.items()):
        console.print(f"  left for the next run: {count} ({shown(reason)})", highlight=False,
                      soft_wrap=True)


def fetch(source: SourceOption = DEFAULT_SOURCE, archive: ArchiveOption = None, no_moa: NoMoaOption = False,
          timeout: TimeoutOption = 30.0, retries: RetriesOption = 3, moa_budget: BudgetOption = moa_mod.BUDGET,
          allow_private_hosts: PrivateOption = False, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Fetch ICE's current sheets; archive and ingest what is new, then the MOA documents within
    a time budget. Sheets are stored first; nothing is stored when they fail."""
    with open_db(db) as conn:
        report = run.run_once(conn, fetch_mod.archive_dir(archive), source, with_moa=not no_moa,
                              policy=_policy(timeout, retries, allow_private_hosts), moa_budget=moa_budget,
                              progress=_progress)
    emit(report, as_json=as_json, render=_render_run)


def moa(archive: ArchiveOption = None,  # registered as `g287 moa` / `g287 moa download` by g287.cli.moa
        retry_failed: Annotated[bool, typer.Option(
            help="Try again the URLs that failed before, when due (1 h after the first failure, "
                 "doubling, at most a day).")] = True,
        retry_now: Annotated[bool, typer.Option(
            "--retry-now", help="Try the failed URLs again now, whenever they last failed.")] = False,
        recheck: Annotated[bool, typer.Option(
            "--recheck", help="Ask again for documents held (conditional requests).")] = False,
        timeout: TimeoutOption = 30.0, retries: RetriesOption = 3, moa_budget: BudgetOption = moa_mod.BUDGET,
        allow_private_hosts: PrivateOption = False, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Download every MOA and addendum PDF not yet held (content-addressed), within a time budget."""
    folder = fetch_mod.archive_dir(archive)
    with open_db(db) as conn:
        report = moa_mod.download_moas(conn, folder, retry_failed=retry_failed, retry_now=retry_now,
                                       recheck=recheck, policy=_policy(timeout, retries, allow_private_hosts),
                                       budget=moa_budget, progress=_progress)
    emit(report, as_json=as_json, render=_render_moa)


def watch(every: Annotated[str, typer.Option(help="Interval: 30m, 6h, 1d.")] = "6h",
          source: SourceOption = DEFAULT_SOURCE, archive: ArchiveOption = None, no_moa: NoMoaOption = False,
          timeout: TimeoutOption = 30.0, retries: RetriesOption = 3, moa_budget: BudgetOption = moa_mod.BUDGET,
          allow_private_hosts: PrivateOption = False,
          db: DbOption = None, as_json: Annotated[bool, typer.Option(
              "--json", help="Print one JSON line per run on stdout.")] = False) -> None:
    """Fetch repeatedly; one watcher per archive; stops cleanly on SIGTERM or SIGINT."""
    seconds = watch_mod.parse_duration(every)
    folder = fetch_mod.archive_dir(archive)
    policy = _policy(timeout, retries, allow_private_hosts)

    def log(message: str) -> None:
        err_console.print(f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ} {message}", highlight=False,
                          soft_wrap=True)

    def run_once(stop: threading.Event) -> None:
        with open_db(db) as conn:
            report = run.run_once(conn, folder, source, with_moa=not no_moa, policy=policy, stop=stop.is_set,
                                  moa_budget=moa_budget)
        log("; ".join(f"{s.list_name} {s.file} {s.outcome}" for s in report.fetch.sheets)
            + (f"; MOA downloaded {len(report.moa.downloaded)}, failed {len(report.moa.failed)}"
               if report.moa else ""))
        if as_json:
            sys.stdout.write(safe_json(json.dumps(to_jsonable(report), ensure_ascii=False)) + "\n")
            sys.stdout.flush()

    watch_mod.watch(run_once, seconds, folder, log, started=f"watching {source} every {every} "
                    f"(archive {folder}, database {config.db_path(db)})")


def import_archive(
    source: Annotated[str, typer.Argument(help="Folder, zip, GitHub owner/repo[:path] or github.com URL.")],
    archive: ArchiveOption = None,
    token: Annotated[str | None, typer.Option(help=f"GitHub token (default: ${archive_import.TOKEN_ENV}).")] = None,
    api: Annotated[str, typer.Option(help="GitHub API base URL.")] = archive_import.GITHUB_API,
    raw: Annotated[str, typer.Option(help="GitHub raw-content base URL.")] = archive_import.GITHUB_RAW,
    timeout: TimeoutOption = 30.0, retries: RetriesOption = 3, allow_private_hosts: PrivateOption = False,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Import an archive of ICE sheets (sheets_YYYYMMDD_HHMMSS/ layout) and ingest it."""
    with open_db(db) as conn:
        report = archive_import.import_archive(
            conn, source, fetch_mod.archive_dir(archive), api=api, raw=raw,
            policy=_policy(timeout, retries, allow_private_hosts),
            token=token or os.environ.get(archive_import.TOKEN_ENV))
    emit(report, as_json=as_json, render=lambda r: console.print(
        f"publications added: {len(r.added)}, seen again: {len(r.seen_again)}, failed: {len(r.failed)}"
        + "".join(f"\n  failed: {shown(f.path)}: {shown(f.message)}" for f in r.failed), highlight=False,
        soft_wrap=True))
    if report.failed:
        raise typer.Exit(1)
