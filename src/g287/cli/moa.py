"""``g287 moa``: MOA documents — download (the default), add, extract, list, show, search, diff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from g287 import inputs
from g287.acquire import fetch as fetch_mod
from g287.cli import acquire
from g287.cli.common import DbOption, JsonOption, console, emit, err_console, fail, open_db, shown
from g287.documents import diff as diff_mod
from g287.documents import library
from g287.errors import G287Error

app = typer.Typer(
    name="moa", no_args_is_help=False, invoke_without_command=True,
    help="MOA documents. Without a subcommand: download every MOA and addendum PDF not yet held "
         "(same as `g287 moa download`). Then `add` local PDFs, `extract` their text and fields, "
         "`show`, `search`, `diff`.")


def register(root: typer.Typer) -> None:
    """Add ``g287 moa …`` to the app."""
    root.add_typer(app, name="moa")


@app.callback()
def default(ctx: typer.Context, archive: acquire.ArchiveOption = None,
            retry_failed: Annotated[bool, typer.Option(
                help="Try again the URLs that failed before, when due.")] = True,
            retry_now: Annotated[bool, typer.Option("--retry-now", help="Try the failed URLs again now.")] = False,
            recheck: Annotated[bool, typer.Option("--recheck", help="Ask again for documents held.")] = False,
            timeout: acquire.TimeoutOption = 30.0, retries: acquire.RetriesOption = 3,
            moa_budget: acquire.BudgetOption = acquire.moa_mod.BUDGET,
            allow_private_hosts: acquire.PrivateOption = False,
            db: DbOption = None, as_json: JsonOption = False) -> None:
    """Without a subcommand, download MOA PDFs: `g287 moa [--retry-now]` works as it did before
    `moa` had subcommands (the same as `g287 moa download`)."""
    if ctx.invoked_subcommand is None:
        acquire.moa(archive=archive, retry_failed=retry_failed, retry_now=retry_now, recheck=recheck,
                    timeout=timeout, retries=retries, moa_budget=moa_budget,
                    allow_private_hosts=allow_private_hosts, db=db, as_json=as_json)


app.command("download")(acquire.moa)


def _run(action):
    try:
        return action()
    except G287Error as exc:
        raise fail(str(exc), exc.exit_code) from exc


PDF_MAX_BYTES = 200 * inputs.MB  # ICE's MOAs are a few MB; a scanned one tens of MB


@app.command()
def add(paths: Annotated[list[Path], typer.Argument(help="PDF files or folders of them.")],
        archive: acquire.ArchiveOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Import local MOA PDFs into the archive (by content); non-PDF files are skipped with a line each."""
    for path in paths:  # a FIFO would wait forever, a device never end: one line, before anything
        if path.exists() and not path.is_dir():  # a missing one is the library's to name
            _run(lambda path=path: inputs.check_file(path, PDF_MAX_BYTES, "PDF"))
    folder = fetch_mod.archive_dir(archive)
    with open_db(db) as conn:
        report = _run(lambda: library.add_paths(conn, folder, paths))

    def render(r: library.AddReport) -> None:
        for path, why in r.skipped:
            err_console.print(f"skipped {shown(path)}: {shown(why)}", highlight=False, soft_wrap=True)
        console.print(f"MOA files added: {len(r.added)}, already held: {len(r.already_held)}, "
                      f"skipped: {len(r.skipped)} (run `g287 moa extract` to read them)", highlight=False)
    emit(report, as_json=as_json, render=render)


@app.command()
def extract(force: Annotated[bool, typer.Option("--force", help="Read every document again.")] = False,
            workers: Annotated[int | None, typer.Option(min=1, help="OCR processes at once (default: cores).")] = None,
            archive: acquire.ArchiveOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Read the text (text layer, else Tesseract OCR) and the fields of every document not yet read."""
    folder = fetch_mod.archive_dir(archive)
    with open_db(db) as conn, Progress(TextColumn("reading MOAs"), BarColumn(), MofNCompleteColumn(),
                                       TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                                       console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name[:50])
        report = _run(lambda: library.extract(conn, folder, force=force, workers=workers, progress=progress))

    def render(r: library.ExtractReport) -> None:
        console.print(f"MOA documents: {r.documents}; read now {len(r.extracted)} ({r.pages} pages, "
                      f"{r.ocr_pages} by OCR); fields re-read {r.refielded}; up to date {r.up_to_date}; "
                      f"failed {len(r.failed)}; in {r.seconds:.2f} s", highlight=False)
        for line in r.missing:
            console.print(f"  missing: {line}", highlight=False, soft_wrap=True)
        for name, why in r.failed:   # each reason names its document
            console.print(f"  failed: {why if why.startswith(name) else f'{name}: {why}'}", highlight=False,
                          soft_wrap=True)
    emit(report, as_json=as_json, render=render)
    if report.failed:
        raise typer.Exit(1)


@app.command("list")
def list_(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every MOA document held, with its model, agency and links."""
    with open_db(db) as conn:
        items = library.records(conn)

    def render(rs: list[library.MoaRecord]) -> None:
        for r in rs:
            model = r.fields.get("model")
            agency = r.fields.get("agency_name")
            console.print(f"{r.sha256[:12]}  {r.name}  {model.parsed if model and model.parsed else '?'}  "
                          f"{agency.value if agency and agency.value else '?'}  "
                          f"{'; '.join(f'{k.agreement_id} ({k.evidence}, {k.status})' for k in r.links) or 'unlinked'}",
                          highlight=False, soft_wrap=True)
    emit(items, as_json=as_json, render=render)


@app.command()
def show(ref: Annotated[str, typer.Argument(help="SHA-256 prefix, URL or (part of) the file name.")],
         db: DbOption = None, as_json: JsonOption = False) -> None:
    """One document's fields, each with its page (or why it is missing), links and sheet checks."""
    with open_db(db) as conn:
        item = _run(lambda: library.show(conn, ref))

    def render(r: library.MoaRecord) -> None:
        console.print(f"{r.name} (sha256 {r.sha256})", highlight=False)
        for url in r.urls:
            console.print(f"  from {url}", highlight=False, soft_wrap=True)
        if not r.extracted:
            console.print("  not read yet: run `g287 moa extract`", highlight=False)
        ocr = sum(1 for p in r.pages if p.method != "text")
        console.print(f"  {len(r.pages)} pages, {ocr} by OCR", highlight=False)
        for f in r.fields.values():
            where = f"p. {f.page}" if f.page else ""
            shown = f"{f.value}" + (f" [{f.parsed}]" if f.parsed and f.parsed != f.value else "")
            if f.status in ("verified", "unverified"):
                shown += f" ({f.status} OCR reading, confidence {f.confidence or 0:.2f})"
            console.print(f"  {f.name:30} {shown if f.value else '— ' + (f.reason or '')}  {where}",
                          highlight=False, soft_wrap=True, markup=False)
        for k in r.links:
            console.print(f"  agreement {k.agreement_id}: {k.status} by {k.evidence} ({k.detail})", highlight=False,
                          soft_wrap=True)
        for c in r.checks:
            console.print(f"  check {c.field}: {c.status} — sheet {c.sheet!r}, MOA {c.document!r}; {c.detail}",
                          highlight=False, soft_wrap=True)
    emit(item, as_json=as_json, render=render)


@app.command()
def search(phrase: Annotated[str, typer.Argument(help="Words to find, as a phrase (stemmed).")],
           state: Annotated[str | None, typer.Option(help="Two-letter state of the linked agreement.")] = None,
           model: Annotated[str | None, typer.Option(help="JEM, WSO or TFM.")] = None,
           limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
           db: DbOption = None, as_json: JsonOption = False) -> None:
    """Full-text search over every MOA page (OCR'd pages included); each hit names its page."""
    with open_db(db) as conn:
        hits = _run(lambda: library.search(conn, phrase, state=state, model=model, limit=limit))

    def render(hs: list[library.SearchHit]) -> None:
        for h in hs:
            console.print(f"{h.name} p. {h.page} ({h.method}) {'/'.join(h.states)} {'/'.join(h.models)}\n"
                          f"  {h.snippet}\n  {h.pdf_url or 'sha256 ' + h.sha256}",
                          highlight=False, soft_wrap=True, markup=False)
        console.print(f"{len(hs)} page(s)", highlight=False)
    emit(hits, as_json=as_json, render=render)


@app.command()
def diff(a: Annotated[str, typer.Argument(help="First MOA (SHA-256 prefix, URL or file name).")],
         b: Annotated[str, typer.Argument(help="Second MOA.")],
         all_: Annotated[bool, typer.Option("--all", help="Also list unchanged paragraphs.")] = False,
         db: DbOption = None, as_json: JsonOption = False) -> None:
    """Which clauses differ between two MOAs (paragraph-level alignment)."""
    with open_db(db) as conn:
        result = _run(lambda: library.compare(conn, a, b))

    def render(c: diff_mod.Comparison) -> None:
        console.print(f"A = {c.a_name}\nB = {c.b_name}\n{c.counts}", highlight=False)
        marks = {"same": " ", "changed": "~", "removed": "-", "added": "+"}
        for ch in c.changes:
            if ch.kind == "same" and not all_:
                continue
            para = ch.a if ch.kind == "removed" else ch.b
            where = f"A p.{ch.a.page}" if ch.a else ""
            where += f"{' ' if where else ''}B p.{ch.b.page}" if ch.b else ""
            console.print(f"{marks[ch.kind]} [{where}] {para.text if para else ''}", highlight=False, soft_wrap=True,
                          markup=False)
    emit(result, as_json=as_json, render=render)
