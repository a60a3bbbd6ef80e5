"""History commands: ingest, rebuild, status, publications, changes, agency, qa."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from g287 import query
from g287.cli import plain
from g287.cli.common import (
    AsOfOption,
    CsvOption,
    DbOption,
    JsonOption,
    as_date,
    console,
    date_option,
    emit,
    err_console,
    marked,
    open_db,
    shown,
    warn_dates,
)
from g287.history import EVENT_KINDS

if TYPE_CHECKING:
    from g287 import ingest as ingest_mod
    from g287 import qa as qa_mod


def register(app: typer.Typer) -> None:
    """Add the history commands to the app."""
    for command in (ingest, rebuild, status, publications, changes, agency, qa):
        app.command()(command)


def ingest(
    paths: Annotated[list[Path], typer.Argument(
        help="Sheet files, web-roster transcriptions (CSV) or folders (searched recursively).")],
    db: DbOption = None,
    aliases: Annotated[Path | None, typer.Option(
        help="Your alias and decisions CSV, applied over the shipped one (default: "
             "$G287_ALIASES, else <database>.decisions.csv when it exists).")] = None,
    as_json: JsonOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List each file added.")] = False,
) -> None:
    """Ingest ICE sheets (also as the Wayback Machine archived them), transcriptions of ICE's
    2021–2025 web table (xlsx) and of its 2010–2017 web roster (CSV): one transaction; files
    that read fine are stored even if others fail.

    Then checks the history's invariants (as ``g287 qa``) and exits non-zero if any fails."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from g287 import ingest as ingest_mod
    from g287 import qa as qa_mod

    files = ingest_mod.sheet_files(paths)
    bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                   console=err_console, disable=as_json or not files)
    done: set[str] = set()   # one file can hold several captures (an archive's manifest lists them)

    def advance(source: str) -> None:
        if source not in done:
            done.add(source)
            bar.advance(task)

    with open_db(db) as conn, bar:
        task = bar.add_task("reading sheets", total=len(files))
        report = ingest_mod.ingest_paths(conn, paths, aliases=aliases, progress=advance)
        checks = qa_mod.run_checks(conn, qa_mod.ingested_scope(report))
    for failure in report.failed:
        err_console.print(f"[red]failed:[/] {marked(failure.path)}: {marked(failure.message)}", highlight=False,
                          soft_wrap=True, markup=True)
    emit(report, as_json=as_json, render=lambda r: _render_ingest(r, verbose))
    broken = [c for c in checks if c.status == "fail"]
    if not as_json:
        warned = sum(c.status == "warn" for c in checks)
        console.print(f"qa: {len(checks) - len(broken) - warned} checks passed, {warned} warned, "
                      f"{len(broken)} failed (details: g287 qa --all)", highlight=False)
    for check in broken:
        err_console.print(f"[red]qa failed:[/] {marked(check.name)}: {marked(check.detail)}", highlight=False,
                          soft_wrap=True, markup=True)
    if report.failed or broken:
        raise typer.Exit(1)


def rebuild(
    db: DbOption = None,
    aliases: Annotated[Path | None, typer.Option(
        help="Your alias and decisions CSV, applied over the shipped one (default: "
             "$G287_ALIASES, else <database>.decisions.csv when it exists).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-read every stored sheet from its raw bytes and replay the history (one transaction).

    Use it after upgrading g287 (``g287 qa`` says when the stored rows were read by an
    older reader) or to audit that the stored rows are what ICE's files say."""
    from g287 import ingest as ingest_mod

    with open_db(db) as conn:
        report = ingest_mod.rebuild(conn, aliases=aliases)
    emit(report, as_json=as_json, render=_render_rebuild)


def _render_rebuild(report: ingest_mod.RebuildReport) -> None:
    console.print(f"re-read {report.publications} publications from their stored bytes "
                  f"(reader version {report.reader_version})")
    table = Table("table")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for name, count in report.after.items():
        table.add_row(name, f"{report.before[name]:,}", f"{count:,}")
    console.print(table)
    console.print(f"publications whose rows read differently now: {len(report.rows_changed)}")
    for file in report.rows_changed:
        console.print(f"  ~ {shown(file)}", highlight=False)


def _render_ingest(report: ingest_mod.IngestReport, verbose: bool) -> None:
    console.print(f"publications added: [bold]{len(report.added)}[/], seen again: "
                  f"{len(report.seen_again)}, failed: {len(report.failed)}", markup=True)
    for added in report.by_list:
        dates = added.first_date if added.first_date == added.last_date else (
            f"{added.first_date} to {added.last_date}")
        console.print(f"  {added.list_name}: {added.publications} publications ({dates}),"
                      f" {added.events} events", highlight=False)
    if verbose:
        for outcome in report.added:
            console.print(f"  + {shown(outcome.file)} ({outcome.list_name}, {outcome.rows} rows)",
                          highlight=False)


def status(as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """The program at the end of a day (default: latest), with the publications used."""
    day = as_date(as_of)
    result = plain.status_answer(db, day)
    warn_dates(result["note"])
    emit(result, as_json=as_json, render=lambda r: _render_status(r, day))


def _render_status(result: dict, as_of: object) -> None:
    for list_name, count_name in (("participating", "agreements"), ("pending", "entries")):
        block = result[list_name]
        if block is None and result.get(f"{list_name}_seen_before"):
            console.print(f"{list_name}: nothing seen on {as_of} (a stretch nobody captured); "
                          "the last list seen before it, not an answer for that day:", highlight=False)
            block = result[f"{list_name}_seen_before"]
        elif block is None:
            console.print(f"{list_name}: nothing seen on or before {as_of}")
            if list_name == "participating" and result.get("reconstruction"):
                rebuilt = result["reconstruction"]
                console.print(f"  reconstruction: {rebuilt['agreements']} — {rebuilt['note']}", highlight=False)
            continue
        pub = block["publication"]
        label = " ".join(p for p in (pub["label"], pub["label_ampm"]) if p)
        if pub.get("transcription_file"):
            _render_web_source(list_name, pub, block.get("capture"))
        else:
            dated = f"ICE label {label}" if pub["dated_by"] == "label" else \
                f"dated {pub['label']} by its capture: {pub['dated_by']}"
            console.print(f"[bold]{list_name.title()}[/]: {marked(pub['file'])} ({marked(dated)})",
                          highlight=False, markup=True)
        if block.get("gap"):
            console.print(f"  [yellow]gap:[/] {marked(block['gap']['note'])}", highlight=False, markup=True)
        if pub.get("partial"):
            console.print("  [yellow]truncated:[/] ICE printed most of this list again on its next "
                          "sheet; the figures below are what this sheet printed (g287 publications)",
                          highlight=False, markup=True)
        table = Table()
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key in ("rows", count_name, "agencies", "states"):
            table.add_row(key, f"{block[key]:,}")
        for model, n in block["by_model"].items():
            table.add_row(f"  {model}", f"{n:,}")
        top = ", ".join(f"{s} {n}" for s, n in list(block["by_state"].items())[:5])
        table.add_row("top states", top)
        console.print(table)
        console.print(f"  source: sha256 {pub['sha256'][:16]}…", style="dim")
        rebuilt = block.get("reconstruction")
        if rebuilt:
            console.print(f"  reconstruction: {rebuilt['agreements']} — {rebuilt['note']}",
                          highlight=False)
    for list_name, stretches in result.get("unseen_stretches", {}).items():
        if stretches:
            named = "; ".join(f"{s['from']} – {s['to']} ({s['days']} days)" for s in stretches[-3:])
            console.print(f"{len(stretches)} unseen stretch(es) of the {list_name} list, the latest: "
                          f"{named} (all of them: --json)", highlight=False)


def _render_web_source(list_name: str, pub: dict, capture: dict | None) -> None:
    """Name the Wayback capture, ICE's caption and what dated the list."""
    stamp = capture.get("wayback_timestamp") if capture else None
    dated = {"caption": "as of the date in ICE's caption",
             "capture": "dated by the capture (no caption date, or a stale one)"}.get(
        pub["dated_by"], pub["dated_by"])
    if pub.get("source_kind") == "web table transcription":
        console.print(f"[bold]{list_name.title()}[/]: a transcription of ICE's 287(g) web table as "
                      f"the Wayback Machine captured it ({marked(pub['file'])}), not an ICE file; "
                      f"list of {marked(pub['label'])}, dated by the capture", highlight=False, markup=True)
        return
    console.print(f"[bold]{list_name.title()}[/]: ICE's 287(g) web roster, Wayback capture "
                  f"{marked(stamp or '?')} ({marked(pub['file'])}), list of {marked(pub['label'])}, {marked(dated)}",
                  highlight=False, markup=True)
    console.print(f"  caption: {shown(pub['caption'] or '(none on this capture)')}"
                  + (f" · states {pub['caption_count']}" if pub.get("caption_count") else ""),
                  highlight=False)
    if capture and capture.get("wayback_url"):
        console.print(f"  capture: {shown(capture['wayback_url'])}", highlight=False, soft_wrap=True)
    console.print(f"  transcription: {shown(pub['transcription_file'])} (sha256 "
                  f"{pub['transcription_sha256'][:16]}…), {pub['source_kind']}", highlight=False)


def publications(db: DbOption = None, list_name: Annotated[str | None, typer.Option("--list")] = None,
                 as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Every publication: ICE file, its date and why (label, capture, flags), rows, captures, hash."""
    with open_db(db, readonly=True) as conn:
        result = query.publications(conn, list_name)
    emit(result, as_json=as_json, as_csv=as_csv, render=_render_publications)


def _render_publications(pubs: list[query.Publication]) -> None:
    table = Table("list", "date", "dated by", "file", "rows", "captures", "sha256", "why")
    for p in pubs:
        rows = f"{p.rows} (truncated)" if p.partial else str(p.rows)
        table.add_row(p.list, f"{p.label} {p.label_ampm or ''}", p.dated_by, shown(p.file), rows,
                      str(p.captures), p.sha256[:12], shown(p.why))
    console.print(table)


def changes(
    since: Annotated[dt.date | None, date_option("--since", help="From this day (YYYY-MM-DD), inclusive.")] = None,
    until: Annotated[dt.date | None, date_option("--until", help="To this day (YYYY-MM-DD), inclusive.")] = None,
    state: Annotated[str | None, typer.Option(help="Two-letter state code.")] = None,
    kind: Annotated[str | None, typer.Option(help=f"One of: {', '.join(EVENT_KINDS)}.")] = None,
    status: Annotated[str | None, typer.Option(
        help="Departures of this status: provisional, confirmed, retracted or all (default: all "
             "events; with --kind agreement_removed or pending_withdrawn, confirmed only).")] = None,
    db: DbOption = None, as_json: JsonOption = False, as_csv: CsvOption = False,
) -> None:
    """What changed between publications: added, removed, renewed, switched, signed."""
    result = plain.changes_answer(db, since, until, state, kind, status)
    emit(result, as_json=as_json, as_csv=as_csv, render=_render_changes)


def _render_changes(events: list[query.EventRecord]) -> None:
    table = Table("date", "kind", "status", "state", "agency", "model", "publication", "what it means")
    for e in events:
        table.add_row(e.when, e.kind, e.status or "", e.state, shown(e.agency_name), e.model or "",
                      shown(e.after), shown(e.summary))
    console.print(table)
    console.print(f"{len(events)} events", style="dim")


def agency(query_text: Annotated[str, typer.Argument(
               metavar="QUERY", help="Part of a name, a county, or an agency id.")],
           state: Annotated[str | None, typer.Option(help="Two-letter state code.")] = None,
           db: DbOption = None, as_json: JsonOption = False) -> None:
    """An agency's whole story: spellings, agreements, MOAs, pending entries, events. Says
    plainly when a place or agency has no agreement (never listed, or listed until a date);
    look-alikes found only by likeness are named as such, never shown as the agency."""
    stories, warning = plain.agency_answer(db, query_text, state)
    warn_dates(warning)
    emit(stories, as_json=as_json, render=_render_stories)


def _render_stories(stories: list[dict]) -> None:
    for story in stories:
        a = story["agency"]
        console.rule(f"{shown(a['name'])} ({a['state']}) · {a['agency_id']}")
        console.print(f"type: {a['agency_type'] or '—'} · county: {shown(a['county'] or '—')} · "
                      f"spellings: {', '.join(shown(s['spelling']) for s in story['spellings'])}",
                      highlight=False)
        standing = story.get("standing") or {}
        if standing.get("code") == "former":
            last, following = standing["last_listed"], standing["next_seen"]
            console.print(f"no agreement on ICE's newest list: last listed {last.get('seen_from')} "
                          f"({shown(last['file'])})" + (f"; not on the next list seen, {following.get('seen_from')}"
                                                         if following else ""), highlight=False)
        table = Table("model", "signed", "status", "first listed", "last listed", "MOA")
        for g in story["agreements"]:
            table.add_row(g["model"], g["signed"] or "?", g["status"], shown(g["first_seen"]["file"]),
                          shown(g["last_seen"]["file"]), shown(g["moa_url"] or (
                              "link pending" if g["last_seen"]["source_kind"] == "ICE sheet"
                              else "PDF named on the web roster, no URL kept")))
        console.print(table)
        for e in story["events"]:
            console.print(f"  {e['when']} {e['kind']}{' (' + e['status'] + ')' if e.get('status') else ''}"
                          f" {e['model'] or ''} — {shown(e['after'])}: "
                          f"{shown(e['summary'])}", highlight=False)


def qa(db: DbOption = None, as_json: JsonOption = False,
       check_all: Annotated[bool, typer.Option(
           "--all", help="Check every publication (default: the newest of each list).")] = False) -> None:
    """Check the history's invariants; exits non-zero if any fails."""
    from g287 import qa as qa_mod

    with open_db(db, readonly=True) as conn:
        results = qa_mod.run_checks(conn, qa_mod.ALL if check_all else qa_mod.newest_scope(conn))
    emit(results, as_json=as_json, render=_render_qa)
    if any(r.status == "fail" for r in results):
        raise typer.Exit(1)


def _render_qa(results: list[qa_mod.CheckResult]) -> None:
    table = Table("check", "status", "count", "detail")
    style = {"pass": "green", "warn": "yellow", "fail": "bold red"}
    for r in results:
        table.add_row(r.name, Text(r.status, style=style[r.status]), str(r.count), shown(r.detail))
    console.print(table)

