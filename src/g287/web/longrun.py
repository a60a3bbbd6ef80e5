"""The home page's long-run chart: every observed publication as a point, the stretches
nobody captured as shaded gaps (no line drawn across them), and the count reconstructed
from the newest sheet's signing dates as a dashed line, each named in a legend."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

from markupsafe import Markup

from g287.analytics import series
from g287.web.i18n import Translator

_WIDTH, _HEIGHT, _PAD, _LEGEND = 720, 260, 44, 58


def long_run_svg(run: series.LongRun, t: Translator) -> Markup:
    """An SVG of the participating list from its first publication to its last."""
    points = run.points
    if not points:
        return Markup("")
    rebuilt = run.reconstruction.points[::7] if run.reconstruction else []
    first, last = dt.date.fromisoformat(points[0].date), dt.date.fromisoformat(points[-1].date)
    top = max([p.count for p in points] + [int(r["reconstructed_agreements"]) for r in rebuilt]) * 1.1 or 1
    span = (last - first).days or 1
    bottom = _HEIGHT - _PAD - _LEGEND

    def x(day: str) -> float:
        return _PAD + (_WIDTH - 2 * _PAD) * (dt.date.fromisoformat(day) - first).days / span

    def y(value: float) -> float:
        return bottom - (bottom - _PAD / 2) * value / top

    esc = Markup.escape
    parts = [f'<line x1="{_PAD}" y1="{bottom}" x2="{_WIDTH - _PAD}" y2="{bottom}" stroke="#999"/>']
    for gap in run.gaps:
        left, right = x(gap.start), x(gap.end)
        label = t("chart.gap", start=t.date(gap.start), end=t.date(gap.end))
        parts.append(f'<rect class="gap" x="{left:.1f}" y="{_PAD / 2}" width="{right - left:.1f}" '
                     f'height="{bottom - _PAD / 2:.1f}" fill="#eee" stroke="#bbb" stroke-dasharray="2 3">'
                     f'<title>{esc(label)}</title></rect>'
                     f'<text x="{(left + right) / 2:.1f}" y="{_PAD / 2 + 16}" font-size="12" '
                     f'text-anchor="middle" fill="#555">{esc(t("chart.gap_short"))}</text>')
    if rebuilt:
        shown = [r for r in rebuilt if r["date"] >= points[0].date]
        line = " ".join(f"{x(str(r['date'])):.1f},{y(float(r['reconstructed_agreements'])):.1f}" for r in shown)
        parts.append(f'<polyline class="reconstructed" fill="none" stroke="#b35806" stroke-width="2" '
                     f'stroke-dasharray="6 4" points="{line}"/>')
    segment: list[str] = []
    gap_ends = {(g.before["id"], g.after["id"]) for g in run.gaps}
    segment.append(f"{x(points[0].date):.1f},{y(points[0].count):.1f}")
    for previous, point in pairwise(points):
        if (previous.publication["id"], point.publication["id"]) in gap_ends:
            parts.append(_polyline(segment))
            segment = []
        segment.append(f"{x(point.date):.1f},{y(point.count):.1f}")
    parts.append(_polyline(segment))
    labelled = {points[0].publication["id"], points[-1].publication["id"]} | {
        g.before["id"] for g in run.gaps} | {g.after["id"] for g in run.gaps}
    for point in points:
        if point.publication["id"] in labelled:
            anchor = "end" if point is points[-1] else "start"
            parts.append(f'<text x="{x(point.date) + (-6 if anchor == "end" else 4):.1f}" '
                         f'y="{y(point.count) - 8:.1f}" font-size="12" text-anchor="{anchor}">'
                         f'{esc(t.number(point.count))}</text>')
        title = t("chart.observed_point", count=t.number(point.count), date=t.date(point.date),
                  file=point.publication["file"])
        parts.append(f'<circle class="observed" cx="{x(point.date):.1f}" cy="{y(point.count):.1f}" r="3" '
                     f'fill="#1b6ca8"><title>{esc(title)}</title></circle>')
    parts.append(f'<text x="{_PAD}" y="{bottom + 16}" font-size="12">{esc(t.date(points[0].date, "medium"))}</text>'
                 f'<text x="{_WIDTH - _PAD}" y="{bottom + 16}" font-size="12" text-anchor="end">'
                 f'{esc(t.date(points[-1].date, "medium"))}</text>')
    legend_y = bottom + 34
    legend = [("observed", '<circle cx="6" cy="-4" r="4" fill="#1b6ca8"/>', t("chart.observed")),
              ("gap", '<rect x="0" y="-10" width="12" height="12" fill="#eee" stroke="#bbb"/>',
               t("chart.gap_legend"))]
    if run.reconstruction:
        legend.append(("reconstructed", '<line x1="0" y1="-4" x2="14" y2="-4" stroke="#b35806" '
                       'stroke-width="2" stroke-dasharray="6 4"/>',
                       t("chart.reconstructed", file=run.reconstruction.publication["file"])))
    for index, (name, mark, text) in enumerate(legend):
        parts.append(f'<g class="legend-{name}" transform="translate({_PAD},{legend_y + 15 * index})">'
                     f'{mark}<text x="20" y="0" font-size="12">{esc(text)}</text></g>')
    title = t("chart.long_run_title", start=t.date(points[0].date), end=t.date(points[-1].date))
    height = legend_y + 15 * len(legend)
    return Markup(f'<svg class="chart long-run" viewBox="0 0 {_WIDTH} {height}" role="img" '
                  f'aria-label="{esc(title)}"><title>{esc(title)}</title>{"".join(parts)}</svg>')


def _polyline(segment: list[str]) -> str:
    if len(segment) < 2:
        return ""
    return (f'<polyline class="observed-line" fill="none" stroke="#1b6ca8" stroke-width="2" '
            f'points="{" ".join(segment)}"/>')
