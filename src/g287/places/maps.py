"""Choropleth maps of the program, as SVG (one shape per county or state) or PNG.

Colours follow categories that a legend names; a title and a source line naming the
publication are part of the picture, so a map can travel alone.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import sqlite3
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from g287 import answers, outputs, query
from g287.errors import BadInput
from g287.normalize import MODELS, STATES
from g287.places import geometry, reference
from g287.places.coverage import placed_agencies

# Okabe–Ito colours (told apart with any colour vision), each at least 3:1 against "none";
# the models are also told apart by a pattern (the web map and its legend draw one per class).
NONE_FILL = "#f0f0f0"
MODEL_FILLS = {"JEM": "#0072b2", "WSO": "#d55e00", "TFM": "#008a64", "several": "#882255"}
# Three classes, so any two of them differ by at least 3:1 in contrast; the exact count of each
# state is in its label.
STATE_BINS = ((0, NONE_FILL), (1, "#4f8ac0"), (10, "#08306b"))


class MapError(BadInput):
    """A map asked for something the history cannot draw."""


@dataclass(frozen=True, slots=True)
class MapData:
    """What a map shows: a fill and a label per FIPS, the legend, and its source."""

    level: str
    fills: dict[str, str]
    labels: dict[str, str]
    legend: list[tuple[str, str]]
    title: str
    source: str
    publication: dict[str, Any] | None
    note: str = ""      # query.date_context's note when the date is outside the archive


def latest_county_map(conn: sqlite3.Connection) -> dict[str, object] | None:
    """The county map after the newest participating sheet (answer "map.county"; None
    before the first)."""
    return _latest(conn, "county")


def latest_state_map(conn: sqlite3.Connection) -> dict[str, object] | None:
    """The state map after the newest participating sheet (answer "map.state")."""
    return _latest(conn, "state")


def _latest(conn: sqlite3.Connection, level: str) -> dict[str, object] | None:
    try:
        return asdict(_map_data(conn, None, level, None))
    except MapError:
        return None


def map_data(conn: sqlite3.Connection, as_of: dt.date | None = None, level: str = "county",
             model: str | None = None) -> MapData:
    """Fills for a county map (which models the county-level agencies hold) or a state map
    (number of agreements), at the end of ``as_of``. The latest maps of all models are
    stored at ingest."""
    if level not in ("county", "state"):
        raise MapError("level must be county or state")
    if as_of is None and model is None:
        data = answers.read(conn, f"map.{level}", lambda: None)
        if data is not None:
            return MapData(**{**data, "legend": [tuple(item) for item in data["legend"]]})
    return _map_data(conn, as_of, level, model)


def _map_data(conn: sqlite3.Connection, as_of: dt.date | None, level: str, model: str | None) -> MapData:
    code = query.check_model(model) if model else None
    pub, placed = placed_agencies(conn, as_of)
    if pub is None:
        raise MapError(f"no participating publication on or before {as_of}")
    day = pub.label
    note = query.date_context(conn, as_of).note
    source = f"Source: ICE 287(g) participating agencies, {pub.file} (label {day}); g287." + (
        f" Note: {note}." if note else "")
    if level == "state":
        counts = Counter(a.state for a in query.agreements_on(conn, pub) if code is None or a.model == code)
        fills = {STATES[s][0]: _bin(n) for s, n in counts.items() if s in STATES}
        labels = {STATES[s][0]: f"{STATES[s][1]}: {n} agreement{'s' * (n != 1)}" for s, n in counts.items()
                  if s in STATES}
        legend = [(fill, "none" if not low else f"{low}+" if i == len(STATE_BINS) - 1 else
                   f"{low}–{STATE_BINS[i + 1][0] - 1}") for i, (low, fill) in enumerate(STATE_BINS)]
        what = f"{code} agreements" if code else "287(g) agreements"
        return MapData("state", fills, labels, legend, f"{what} by state, {day}", source, query.publication_ref(pub),
                       note)
    models: dict[str, set[str]] = defaultdict(set)
    names: dict[str, list[str]] = defaultdict(list)
    for p in placed:
        if p.county.fips and p.county.level == "county":
            fips = reference.map_fips(p.county.fips)
            if fips:
                models[fips].update(m for m in p.models if code is None or m == code)
                names[fips].append(p.name)
    fills, labels = {}, {}
    for fips, held in models.items():
        if not held:
            continue
        fills[fips] = MODEL_FILLS["several" if len(held) > 1 else next(iter(held))]
        labels[fips] = f"{reference.counties()[fips].name}, {STATES[reference.counties()[fips].state][1]}: " \
                       f"{', '.join(m for m in MODELS if m in held)} ({'; '.join(sorted(names[fips]))})"
    legend = ([(MODEL_FILLS[code], f"{MODELS[code]}")] if code else
              [(MODEL_FILLS[m], f"{m} only") for m in MODELS] + [(MODEL_FILLS["several"], "several models")])
    legend.append((NONE_FILL, "no county-level agreement"))
    what = f"Counties whose sheriff or county jail has a {code} agreement" if code else \
        "Counties whose sheriff or county jail has a 287(g) agreement"
    return MapData("county", fills, labels, legend, f"{what}, {day}", source, query.publication_ref(pub), note)


def _bin(count: int) -> str:
    fill = NONE_FILL
    for low, colour in STATE_BINS:
        if count >= low:
            fill = colour
    return fill


def render_svg(data: MapData) -> str:
    """The map as a standalone SVG: one ``<path>`` per county (or state), with its FIPS."""
    shapes = geometry.projected(data.level)
    names = geometry.shapes(data.level)
    esc = html.escape
    paths = []
    for fips in sorted(shapes):
        fill = data.fills.get(fips, NONE_FILL)
        label = data.labels.get(fips, names[fips][0])
        paths.append(f'<path id="f{fips}" data-fips="{fips}" fill="{fill}" d="{geometry.svg_path(shapes[fips])}">'
                     f"<title>{esc(label)}</title></path>")
    borders = "" if data.level == "state" else "".join(
        f'<path d="{geometry.svg_path(rings)}"/>' for rings in geometry.projected("state").values())
    legend = "".join(
        f'<rect x="{20 + i * 150}" y="560" width="14" height="14" fill="{fill}" stroke="#888" stroke-width="0.5"/>'
        f'<text x="{38 + i * 150}" y="572">{esc(text)}</text>' for i, (fill, text) in enumerate(data.legend))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 960 640" width="960" height="640" '
            f'role="img" aria-labelledby="map-title" font-family="system-ui, sans-serif" font-size="12">'
            f'<title id="map-title">{esc(data.title)}</title>'
            f'<rect width="960" height="640" fill="#ffffff"/>'
            f'<text x="20" y="28" font-size="18" font-weight="600">{esc(data.title)}</text>'
            f'<g transform="translate(0,30)" stroke="#ffffff" stroke-width="0.3">{"".join(paths)}</g>'
            f'<g transform="translate(0,30)" fill="none" stroke="#555555" stroke-width="0.7">{borders}</g>'
            f'<g class="legend">{legend}</g>'
            f'<text x="20" y="620" font-size="10" fill="#555555">{esc(data.source)} Puerto Rico and '
            f'other territories not drawn.</text></svg>')


def render_png(data: MapData, path: Path | io.BytesIO, dpi: int = 110) -> None:
    """The same map as a PNG, drawn with matplotlib from the same projected shapes."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    from g287.analytics.charts import plt

    shapes = geometry.projected(data.level)
    figure, axes = plt.subplots(figsize=(9.6, 6.4))
    polygons = [ring for fips in sorted(shapes) for ring in shapes[fips]]
    colours = [data.fills.get(fips, NONE_FILL) for fips in sorted(shapes) for _ in shapes[fips]]
    axes.add_collection(PolyCollection(polygons, facecolors=colours, edgecolors="#ffffff", linewidths=0.2))
    borders = [ring for rings in geometry.projected("state").values() for ring in rings]
    axes.add_collection(PolyCollection(borders, facecolors="none", edgecolors="#555555", linewidths=0.4))
    axes.set_xlim(0, 960)
    axes.set_ylim(515, 0)
    axes.set_aspect("equal")
    axes.axis("off")
    axes.set_title(data.title, loc="left", fontsize=11)
    axes.legend(handles=[Patch(facecolor=f, edgecolor="#888888", label=t) for f, t in data.legend],
                loc="lower right", fontsize=7, frameon=False)
    figure.text(0.02, 0.02, data.source, fontsize=7, color="#555555")
    figure.savefig(path, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)


def write_map(data: MapData, output: Path) -> Path:
    """Write an .svg or .png file."""
    suffix = output.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise MapError(f"{output}: use a .svg or .png file name")
    with outputs.staged_files([output]) as temps:
        temp = next(iter(temps.values()))
        if suffix == ".svg":
            temp.write_text(render_svg(data), encoding="utf-8")
        else:
            render_png(data, temp)
    return output


def month_ends(conn: sqlite3.Connection) -> list[dt.date]:
    """The last day of each month of the archive (the last month ends at its last publication)."""
    dates = sorted({p.date for p in query.publications(conn, "participating")})
    if not dates:
        return []
    ends, month = [], (dates[0].year, dates[0].month)
    while month <= (dates[-1].year, dates[-1].month):
        following = dt.date(month[0] + month[1] // 12, month[1] % 12 + 1, 1)
        ends.append(min(following - dt.timedelta(days=1), dates[-1]))
        month = (following.year, following.month)
    return ends


def small_multiples(conn: sqlite3.Connection, level: str = "state", model: str | None = None,
                    columns: int = 3) -> str:
    """Growth over time: one small map per month of the archive, in one SVG."""
    frames = [map_data(conn, day, level, model) for day in month_ends(conn)]
    if not frames:
        raise MapError("the history holds no participating publication")
    width, height, scale = 320, 230, 1 / 3
    rows = (len(frames) + columns - 1) // columns
    cells = []
    for i, frame in enumerate(frames):
        x, y = (i % columns) * width, (i // columns) * height + 40
        inner = render_svg(frame)
        body = inner[inner.index("<g transform"):inner.index('<g class="legend">')]
        cells.append(f'<g transform="translate({x},{y})"><text x="10" y="14" font-size="12">'
                     f'{html.escape(str(frame.publication["label"]))} · {html.escape(str(frame.publication["file"]))}'
                     f'</text><g transform="translate(0,10) scale({scale})">{body}</g></g>')
    title = f"287(g) agreements at each month's end ({level} level{', ' + model if model else ''})"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {columns * width} {rows * height + 60}" '
            f'font-family="system-ui, sans-serif"><rect width="100%" height="100%" fill="#fff"/>'
            f'<text x="10" y="24" font-size="16" font-weight="600">{html.escape(title)}</text>'
            f'{"".join(cells)}<text x="10" y="{rows * height + 52}" font-size="9" fill="#555">'
            f'Source: ICE 287(g) participating agencies sheets, as archived; g287.</text></svg>')
