"""Analytics commands: series, growth, share, pending, claims, report, models, timeline."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from g287 import query
from g287.analytics import claims as claims_mod
from g287.analytics import measures, reference, series
from g287.analytics import report as report_mod
from g287.cli.common import (
    AsOfOption,
    CsvOption,
    DbOption,
    JsonOption,
    as_date,
    console,
    date_option,
    emit,
    fail,
    marked,
    open_db,
    warn_dates,
)
from g287.labels import LISTS
from g287.text import safe_text

claims_app = typer.Typer(help="Check published statements against the history.", no_args_is_help=True)
DateArg = Annotated[dt.date, date_option("--since", help="From this day (YYYY-MM-DD).")]


def register(app: typer.Typer) -> None:
    """Add the analytics commands to the app."""
    for command in (series_command, growth, share, pending, report, models, timeline):
        app.command(name=command.__name__.removesuffix("_command"))(command)
    app.add_typer(claims_app, name="claims")


def _cite(pub: dict | None) -> str:
    if not pub:
        return "no publication"
    return f"{pub['file']} (ICE label {pub['label']}{' ' + pub['label_ampm'] if pub['label_ampm'] else ''})"


def series_command(
    kind: Annotated[str, typer.Option(
        "--kind", help="publications | daily | reconstructed")] = "publications",
    list_name: Annotated[str | None, typer.Option("--list")] = None,
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False, as_csv: CsvOption = False,
) -> None:
    """Counts over time: per publication, daily (carried forward), or reconstructed from signing dates."""
    with open_db(db, readonly=True) as conn:
        if kind == "publications":
            result: Any = series.publication_series(conn, list_name)
            rows = [{"date": p.date, "list": p.list, "file": p.publication["file"], "rows": p.rows,
                     "count": p.count, "agencies": p.agencies, "states": p.states, **p.by_model}
                    for p in result]
        elif kind == "daily":
            result = series.daily_series(conn)
            rows = [{k: v for k, v in asdict(p).items() if k != "by_model"} | p.by_model for p in result]
        elif kind == "reconstructed":
            warn_dates(query.date_context(conn, as_date(as_of)).note)
            result = series.reconstructed_series(conn, as_date(as_of))
            rows = [{"date": p["date"], "reconstructed_agreements": p["reconstructed_agreements"],
                     **{f"reconstructed_{m}": n for m, n in p["reconstructed_by_model"].items()}}
                    for p in (result.points if result else [])]
            if result:
                rows.append({"date": "caveat", "reconstructed_agreements": result.caveat})
        else:
            raise fail("--kind must be publications, daily or reconstructed")
    emit(result, as_json=as_json, as_csv=as_csv, csv_rows=lambda _: rows,
         render=lambda _: _render_rows(rows, kind, result))


def _render_rows(rows: list[dict], kind: str, result: object) -> None:
    if not rows:
        console.print("no data")
        return
    table = Table(*rows[0].keys())
    shown = rows if len(rows) <= 60 else rows[:5] + rows[-55:]
    for row in shown:
        table.add_row(*(str(v) if v is not None else "" for v in row.values()))
    console.print(table)
    if kind == "reconstructed":
        console.print(getattr(result, "caveat", ""), style="dim")


def growth(
    since: DateArg, until: Annotated[dt.date | None, date_option("--until", help="To this day (YYYY-MM-DD).")] = None,
    metric: Annotated[str, typer.Option(help=", ".join(measures.METRICS))] = "agreements",
    state: Annotated[str | None, typer.Option()] = None, model: Annotated[str | None, typer.Option()] = None,
    db: DbOption = None, as_json: JsonOption = False, as_csv: CsvOption = False,
) -> None:
    """Growth between two dates: absolute, percent and multiple, with both publications."""
    with open_db(db, readonly=True) as conn:
        result = measures.growth(conn, since, until, metric, state, model)
    warn_dates(result.start.note, result.end.note)
    row = {"metric": metric, "since": result.start.date, "start": result.start.value,
           "start_file": (result.start.publication or {}).get("file"), "until": result.end.date,
           "end": result.end.value, "end_file": (result.end.publication or {}).get("file"),
           "absolute": result.absolute, "percent": result.percent, "multiple": result.multiple,
           "note": result.note}
    emit(result, as_json=as_json, as_csv=as_csv, csv_rows=lambda _: [row], render=lambda _: console.print(
        f"{metric}: {_dated(result.start)} → {_dated(result.end)}: "
        f"{result.absolute:+} ({result.percent}%, ×{result.multiple})" if result.absolute is not None
        else f"{metric}: unknown ({result.note or 'no publication on or before ' + result.start.date})",
        highlight=False))


def _dated(value: measures.Value) -> str:
    """A figure with its date; a date the archive cannot answer shows the sheet's own date."""
    if not value.note:
        return f"{value.value} on {value.date} ({_cite(value.publication)})"
    return (f"{value.value} on {(value.publication or {}).get('label')} ({_cite(value.publication)}; "
            f"{value.date} is outside the archive)")


def share(
    state: Annotated[str | None, typer.Option()] = None, model: Annotated[str | None, typer.Option()] = None,
    signed_year: Annotated[int | None, typer.Option(help="Only agreements signed in this year.")] = None,
    of: Annotated[str, typer.Option(help="all | model (a state's share of a model) | state "
                                    "(a model's share of a state)")] = "all",
    as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False, as_csv: CsvOption = False,
) -> None:
    """Shares: a state's share of all agreements or of a model, a model's share of a state."""
    with open_db(db, readonly=True) as conn:
        result = measures.share(conn, as_date(as_of), state, model, signed_year, of)
    warn_dates(result.note)
    emit(result, as_json=as_json, as_csv=as_csv, csv_rows=lambda r: [asdict(r) | {"publication": _cite(
        r.publication)}], render=_render_share)


def _render_share(r: measures.Share) -> None:
    if r.part is None:
        console.print(f"{r.description}: unknown · {r.note}", highlight=False)
        return
    percent = "undefined (no agreements in the denominator)" if r.percent is None else f"{r.percent}%"
    console.print(f"{r.numerator}: {r.part:,} of {r.whole:,} {r.denominator} = {percent} · "
                  f"source: {_cite(r.publication)}", highlight=False)


def pending(as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False,
            as_csv: CsvOption = False) -> None:
    """The pending pipeline: entries, outcomes, median days from pending to signed."""
    with open_db(db, readonly=True) as conn:
        result = measures.pending_pipeline(conn, as_date(as_of))
        warn_dates(query.date_context(conn, as_date(as_of), "pending").note)
    emit(result, as_json=as_json, as_csv=as_csv,
         csv_rows=lambda r: [{k: v for k, v in asdict(r).items() if k not in ("by_model", "publication")}
                             | r.by_model | {"publication": _cite(r.publication)}],
         render=_render_pending)


def _render_pending(r: measures.Pipeline) -> None:
    if r.entries is None:
        console.print(f"pending entries: unknown · {r.note}", highlight=False)
        return
    console.print(
        f"pending entries: {r.entries} ({', '.join(f'{m} {n}' for m, n in r.by_model.items())}) "
        f"· source: {_cite(r.publication)}\nentries first listed by then, as known then: {r.signed} "
        f"signed, {r.withdrawn} left the list unsigned, {r.still_pending} still pending; median days "
        f"pending → signed: {r.median_days_to_signed}", highlight=False)
    if r.note:
        console.print(r.note, style="dim", highlight=False)


@claims_app.command("check")
def claims_check(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                 db: DbOption = None, as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Check a YAML claims file: exact, close, differs, before/after the archive, outside its
    range, or unanswerable, each with a one-line note (see g287.analytics.claims)."""
    claims = claims_mod.load_claims(path)
    with open_db(db, readonly=True) as conn:
        try:
            results = claims_mod.check_claims(conn, claims)
        except claims_mod.ClaimsError as exc:  # a claim the file states wrongly: name the file
            raise claims_mod.ClaimsError(f"{path}: {exc}") from exc
    emit(results, as_json=as_json, as_csv=as_csv,
         csv_rows=lambda rs: [asdict(r) | {"publication": _cite(r.publication),
                                           "baseline": _cite(r.baseline) if r.baseline else ""}
                              for r in rs],
         render=_render_checks)


VERDICT_STYLE = {"exact": "green", "close": "yellow", "differs": "bold red", "outside_range": "magenta",
                 "before_archive": "magenta", "after_archive": "magenta", "unanswerable": "dim"}


def _render_checks(results: list[claims_mod.MetricCheck]) -> None:
    """One block per claim, one line per metric, the note wrapped beneath: reads at 80 columns
    (a wide table cut file names to "part…" and ran to thousands of lines)."""
    previous = None
    for r in results:
        if (r.claim, r.date) != previous:
            previous = (r.claim, r.date)
            console.print(Text(f"{r.date}  {safe_text(r.claim) or '(no text)'}", style="bold"))
        metric = " ".join(p for p in (r.metric, r.qualifier) if p) + "".join(
            f" {k}={v}" for k, v in r.filters.items())
        claimed = f"{r.claimed:g}" if isinstance(r.claimed, float) else str(r.claimed)
        figure = (f"{r.computed:g}" if r.computed is not None else
                  f"≥{r.reconstructed:g} reconstructed" if r.reconstructed is not None else "—")
        line = Text("  ")
        line.append(f"{r.verdict:<14}", style=VERDICT_STYLE.get(r.verdict, "bold"))
        line.append(f" {safe_text(metric)}: claimed {safe_text(claimed)}, found {figure}")
        if r.publication:
            line.append(f" ({safe_text(r.publication.get('file', ''))})", style="dim")
        console.print(line)
        if r.note:
            console.print(Padding(Text(safe_text(r.note), style="dim"), (0, 0, 0, 4)))
    tally = Counter(r.verdict for r in results)
    console.print(", ".join(f"{n} {v}" for v, n in sorted(tally.items(), key=lambda kv: -kv[1])))


@claims_app.command("find")
def claims_find(expression: Annotated[str, typer.Argument(metavar="METRIC=VALUE")],
                state: Annotated[str | None, typer.Option()] = None,
                model: Annotated[str | None, typer.Option()] = None,
                db: DbOption = None, as_json: JsonOption = False) -> None:
    """List every publication, replaced ones included, on which a figure had a value
    (e.g. agreements=649)."""
    metric, _, value = expression.partition("=")
    try:
        number = float(value)
    except ValueError as exc:
        raise fail(f"{expression!r}: write METRIC=VALUE, e.g. agreements=649", 2) from exc
    filters = {k: v for k, v in (("state", state), ("model", model)) if v}
    with open_db(db, readonly=True) as conn:
        matches = claims_mod.find_claim(conn, metric.strip(), number, filters)
    emit(matches, as_json=as_json, render=lambda ms: console.print(
        "\n".join((f"near miss, {m.metric}={m.value:g} ({m.near}): " if m.near else "")
                  + f"{_cite(m.publication)} sha256 {str(m.publication['sha256'])[:12]}, first captured "
                  f"{m.publication['first_captured']}" + (" (replaced the same day)" if m.replaced else "")
                  for m in ms)
        or f"no publication had {expression}, nor a near miss (±1, agreements vs agencies)", highlight=False))


def report(output: Annotated[Path, typer.Option("-o", "--output", help="FILE.html or FILE.md")],
           as_of: AsOfOption = None,
           since: Annotated[dt.date | None, date_option("--since", help="From this day (YYYY-MM-DD).")] = None,
           db: DbOption = None) -> None:
    """Write a self-contained summary: headline figures, changes, top states, charts."""
    with open_db(db, readonly=True) as conn:
        path = report_mod.write_report(conn, output, as_date(as_of), as_date(since))
        warn_dates(*(query.date_context(conn, as_date(as_of), name).note for name in LISTS))
    console.print(f"wrote {path}")


def models(as_json: JsonOption = False) -> None:
    """The three 287(g) models: what each authorizes, training, officer eligibility."""
    def render(items: list[reference.Model]) -> None:
        for m in items:
            console.rule(f"{m.code} · {m.name}")
            console.print(f"{marked(m.authorizes)}\n[bold]Training:[/] {marked(m.training)}\n[bold]Officers:[/] "
                          f"{marked(m.eligibility)}\n[dim]Source: {marked(m.source)}[/]", highlight=False, markup=True)
    emit(reference.models(), as_json=as_json, render=render)


def timeline(as_json: JsonOption = False,
             from_history: Annotated[bool, typer.Option(
                 "--from-history", help="Add when each model appears on and leaves ICE's lists, "
                                        "read from the history's publications.")] = False,
             db: DbOption = None) -> None:
    """Milestones of the 287(g) program, each with its public source."""
    def render(items: list[reference.TimelineEntry]) -> None:
        for e in items:
            console.print(f"[bold]{marked(e.date)}[/] {marked(e.event)}\n  [dim]{marked(e.source)}[/]", highlight=False,
                          markup=True)
    if not from_history:
        emit(reference.timeline(), as_json=as_json, render=render)
        return
    with open_db(db, readonly=True) as conn:
        changes = series.model_timeline(conn)

    def render_both(result: dict) -> None:
        render(result["milestones"])
        console.rule("models on ICE's lists, from the history")
        for c in result["models"]:
            verb = {"listed": "first listed", "absent": "no longer listed"}.get(c.change, c.change)
            console.print(f"[bold]{c.when}[/] {marked(c.model)} {verb} ({c.agreements_before} → "
                          f"{c.agreements_after} agreements)\n  [dim]{marked(c.after['file'])}[/]", highlight=False,
                          markup=True)
    emit({"milestones": reference.timeline(), "models": changes}, as_json=as_json, render=render_both)
