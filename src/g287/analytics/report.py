"""A self-contained summary (HTML or Markdown) for a newsletter or a newsroom brief."""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from g287 import outputs, query
from g287.analytics import charts, measures, series
from g287.errors import BadInput
from g287.normalize import MODELS, STATES


class ReportError(BadInput):
    """The report cannot be written as asked."""


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a report shows, computed once for both formats."""

    status: dict
    since: dt.date | None
    changes: list[query.EventRecord]
    top_states: list[tuple[str, int]]
    growth: measures.Growth | None
    growth_svg: str
    states_svg: str


def gather(conn: sqlite3.Connection, as_of: dt.date | None, since: dt.date | None) -> ReportData:
    """Compute the report's figures and charts."""
    status = query.status(conn, as_of)
    part = status["participating"]
    if part is None:
        raise ReportError(f"no participating publication on or before {as_of}")
    pub = part["publication"]
    source = f"Source: ICE 287(g) participating agencies, {pub['file']} (label {pub['label']}); g287."
    end = dt.date.fromisoformat(str(pub["label"]))
    points = [p for p in series.publication_series(conn, "participating") if p.date <= end.isoformat()]
    # One line per run of publications: NaN breaks the line across a stretch nobody captured.
    dates: list[dt.date] = []
    totals: list[float] = []
    by_model: dict[str, list[float]] = {m: [] for m in MODELS}
    for run in series.runs([p.date for p in points], query.unseen_stretches(conn)):
        if dates:
            dates.append(dt.date.fromisoformat(points[run[0]].date))
            totals.append(math.nan)
            for m in MODELS:
                by_model[m].append(math.nan)
        for i in run:
            dates.append(dt.date.fromisoformat(points[i].date))
            totals.append(points[i].count)
            for m in MODELS:
                by_model[m].append(points[i].by_model[m])
    growth_svg = charts.growth_chart(dates, totals, by_model, "287(g) agreements on each ICE publication", source)
    top = measures.top(conn, "state", as_of, 10)
    states_svg = charts.bar_chart([STATES[s][1] if s in STATES else s for s, _ in top],
                                  [n for _, n in top], "States with the most agreements", source)
    changes = query.changes(conn, since=since, until=end) if since else []
    growth = measures.growth(conn, since, end) if since else None
    return ReportData(status, since, changes, top, growth, growth_svg, states_svg)


def write_report(conn: sqlite3.Connection, path: Path, as_of: dt.date | None = None,
                 since: dt.date | None = None) -> Path:
    """Write an .html (self-contained) or .md report (charts inlined as data URIs)."""
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".md"):
        raise ReportError(f"{path}: use a .html or .md file name")
    outputs.check_file(path)
    data = gather(conn, as_of, since)
    text = render_markdown(data) if suffix == ".md" else render_html(data)
    outputs.write_bytes(path, text.encode("utf-8"))
    return path


def _headlines(data: ReportData) -> list[tuple[str, str]]:
    part, pend = data.status["participating"], data.status["pending"]
    lines = [("Agreements", f"{part['agreements']:,}"), ("Agencies", f"{part['agencies']:,}"),
             ("States", f"{part['states']:,}")]
    lines += [(MODELS[m], f"{n:,}") for m, n in part["by_model"].items()]
    if pend:
        lines.append(("Pending entries", f"{pend['entries']:,}"))
    if data.growth and data.growth.percent is not None:
        lines.append((f"Growth since {data.since}",
                      f"{data.growth.absolute:+,} ({data.growth.percent:+.1f}%, "
                      f"×{data.growth.multiple})"))
    return lines


def _sources(data: ReportData) -> list[str]:
    out = [f"note: {note}" for note in (data.status.get("note"), data.growth.note if data.growth else "")
           if note]
    for key in ("participating", "pending"):
        block = data.status[key]
        if block:
            pub = block["publication"]
            out.append(f"{key}: {pub['file']} (ICE label {pub['label']} {pub['label_ampm'] or ''}"
                       f", sha256 {pub['sha256'][:16]}…)")
    if data.growth and data.growth.start.publication:
        out.append(f"baseline for growth: {data.growth.start.publication['file']}")
    return out


def _change_lines(data: ReportData) -> list[str]:
    return [f"{e.date} · {e.kind.replace('_', ' ')} · {e.agency_name} ({e.state})"
            f"{' · ' + e.model if e.model else ''} · {e.after} · {e.summary}"
            for e in data.changes[:60]]


def render_html(data: ReportData) -> str:
    """The report as one HTML file with inline SVG charts and no external assets."""
    esc = html.escape
    part = data.status["participating"]
    rows = "".join(f"<tr><th scope='row'>{esc(k)}</th><td>{esc(v)}</td></tr>"
                   for k, v in _headlines(data))
    states = "".join(f"<tr><td>{esc(s)}</td><td>{n:,}</td></tr>" for s, n in data.top_states)
    changes = "".join(f"<li>{esc(line)}</li>" for line in _change_lines(data))
    sources = "".join(f"<li>{esc(s)}</li>" for s in _sources(data))
    changes_block = (f"<h2>Changes since {data.since}</h2><p>{len(data.changes)} events.</p>"
                     f"<ul>{changes}</ul>") if data.since else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>287(g) program as of {esc(str(part['publication']['label']))}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a}}table{{border-collapse:collapse}}th,td{{padding:.25rem .75rem;text-align:left;
border-bottom:1px solid #ddd}}td{{font-variant-numeric:tabular-nums}}svg{{max-width:100%;height:auto}}
.source{{color:#555;font-size:.85rem}}</style></head><body>
<h1>The 287(g) program as of {esc(str(part['publication']['label']))}</h1>
<p class="source">Figures from ICE's published sheets, as kept by g287.</p>
<h2>Headline figures</h2><table id="headlines">{rows}</table>
<h2>Growth</h2>{data.growth_svg}
<h2>Top states</h2><table id="top-states"><tr><th>State</th><th>Agreements</th></tr>{states}</table>
{data.states_svg}
{changes_block}
<h2>Sources</h2><ul class="source">{sources}</ul>
</body></html>
"""


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def render_markdown(data: ReportData) -> str:
    """The report as Markdown with the charts inlined as data URIs."""
    part = data.status["participating"]
    lines = [f"# The 287(g) program as of {part['publication']['label']}", "",
             "| Figure | Value |", "| --- | ---: |"]
    lines += [f"| {k} | {v} |" for k, v in _headlines(data)]
    lines += ["", "## Growth", "", f"![Agreements over time]({_data_uri(data.growth_svg)})", "",
              "## Top states", "", "| State | Agreements |", "| --- | ---: |"]
    lines += [f"| {s} | {n:,} |" for s, n in data.top_states]
    lines += ["", f"![Top states]({_data_uri(data.states_svg)})", ""]
    if data.since:
        lines += [f"## Changes since {data.since}", "", f"{len(data.changes)} events.", ""]
        lines += [f"- {line}" for line in _change_lines(data)]
        lines.append("")
    lines += ["## Sources", ""] + [f"- {s}" for s in _sources(data)]
    return "\n".join(lines) + "\n"
