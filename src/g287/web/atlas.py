"""The interactive map's pieces: projected, simplified TopoJSON sent once, and maps in the
reader's language.

The geometry is us-atlas's counties topology (counties and states share arcs, so a border
is sent once), projected here with the same Albers USA as the server-drawn maps and
quantized to half a pixel of the 960 × 600 canvas, which drops most points. The client
draws it, then only asks for each date's fills.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sqlite3
from dataclasses import replace
from functools import cache
from typing import Any

from g287 import query
from g287.normalize import STATES
from g287.places import geometry, maps, reference
from g287.places.counties import county_key
from g287.places.coverage import placed_agencies
from g287.web.i18n import Translator

QUANTUM = 0.5
TOLERANCE = 1.2  # quanta: 0.6 px of the 960-px canvas
_TERRITORIES_NOTE = " Puerto Rico and other territories not drawn."
_FIPS_STATE = {fips: code for code, (fips, _) in STATES.items()}


def _simplify(points: list[tuple[int, int]], tolerance: float = TOLERANCE) -> list[tuple[int, int]]:
    """Douglas–Peucker: keep the points that move the line by more than ``tolerance``
    (in quanta); an arc's two ends are always kept, so shared borders still meet."""
    unique = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if len(unique) < 3:
        return unique if len(unique) == 2 else unique * 2
    keep = [False] * len(unique)
    keep[0] = keep[-1] = True
    stack = [(0, len(unique) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = unique[first], unique[last]
        length = math.hypot(bx - ax, by - ay)
        worst, where = 0.0, -1
        for i in range(first + 1, last):
            px, py = unique[i]
            d = (abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length if length
                 else math.hypot(px - ax, py - ay))
            if d > worst:
                worst, where = d, i
        if worst > tolerance:
            keep[where] = True
            stack += [(first, where), (where, last)]
    return [p for p, k in zip(unique, keep, strict=True) if k]


@cache
def topology() -> dict[str, Any]:
    """Projected, quantized TopoJSON of counties and states (territories left out)."""
    topo = reference.topology("counties-10m.json")
    arcs = geometry._arcs("counties-10m.json")
    region_of_arc: dict[int, str] = {}
    objects: dict[str, Any] = {}
    for name in ("counties", "states"):
        kept = []
        for g in topo["objects"][name]["geometries"]:
            region = geometry.region_of(g["id"]) if g.get("id") else None
            if region is None or g["type"] not in ("Polygon", "MultiPolygon"):
                continue
            polygons = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"]
            for polygon in polygons:
                for ring in polygon:
                    for index in ring:
                        region_of_arc.setdefault(index if index >= 0 else ~index, region)
            kept.append({"type": g["type"], "id": g["id"], "arcs": g["arcs"],
                         "properties": {"name": g["properties"]["name"]}})
        objects[name] = {"type": "GeometryCollection", "geometries": kept}
    encoded = []
    for index, arc in enumerate(arcs):
        region = region_of_arc.get(index)
        if region is None:
            encoded.append([[0, 0], [0, 0]])
            continue
        points = [(round(x / QUANTUM), round(y / QUANTUM))
                  for x, y in (geometry.project(lon, lat, region) for lon, lat in arc)]
        points = _simplify(points)
        deltas, last = [], (0, 0)
        for x, y in points:
            deltas.append([x - last[0], y - last[1]])
            last = (x, y)
        encoded.append(deltas)
    return {"type": "Topology", "bbox": [0, 0, geometry.WIDTH, geometry.HEIGHT],
            "transform": {"scale": [QUANTUM, QUANTUM], "translate": [0, 0]},
            "objects": objects, "arcs": encoded}


def localize(data: maps.MapData, t: Translator) -> maps.MapData:
    """A map's title, legend, labels and source in the reader's language."""
    pub = data.publication or {}
    day = t.date(str(pub.get("label", ""))) if pub else ""
    source = t("map.source", file=pub.get("file", ""), date=day)
    if data.level == "state":
        labels = {}
        for fips, label in data.labels.items():
            found = re.search(r": (\d+) agreements?$", label)
            count = int(found.group(1)) if found else 0
            labels[fips] = f"{t.state(_FIPS_STATE.get(fips, fips))}: {t.plural('map.agreements_in', count)}"
        for code, (fips, _) in STATES.items():
            labels.setdefault(fips, t.state(code))
        legend = [(fill, t("map.none") if text == "none" else text) for fill, text in data.legend]
        title = t("map.title_state", date=day)
    else:
        labels = {}
        for fips, label in data.labels.items():
            county = reference.counties().get(fips)
            if county and county.state in STATES:
                english = f", {STATES[county.state][1]}: "
                label = label.replace(english, f", {t.state(county.state)}: ", 1)
            labels[fips] = label
        legend = []
        for fill, text in data.legend:
            if text.endswith(" only"):
                text = t("map.only", model=text[:-5])
            elif text == "several models":
                text = t("map.several")
            elif text == "no county-level agreement":
                text = t("map.no_county")
            legend.append((fill, text))
        title = t("map.title_county", date=day)
    return replace(data, labels=labels, legend=legend, title=title, source=source)


def render_svg(data: maps.MapData, t: Translator) -> str:
    """The server-drawn map (for readers without JavaScript) in the reader's language."""
    svg = maps.render_svg(localize(data, t))
    return svg.replace(_TERRITORIES_NOTE, " " + t("map.territories"))


def frame(conn: sqlite3.Connection, day: dt.date | None, level: str, t: Translator) -> dict[str, Any]:
    """What the interactive map shows on one date: fills, labels, legend, title, source,
    and city agreements as points where their county is known."""
    data = localize(maps.map_data(conn, day, level), t)
    _, placed = placed_agencies(conn, day)
    points = []
    for p in placed:
        if p.county.level != "municipal":
            continue
        fips = p.county.fips or _roster_county(p.state, p.roster.ori)
        where = _centre(reference.map_fips(fips) or fips) if fips else None
        if where:
            points.append({"x": where[0], "y": where[1], "name": p.name, "models": list(p.models),
                           "agency_id": p.agency_id})
    part = query.status(conn, day)["participating"] or {}
    figures = t("map.figures", agreements=t.number(part.get("agreements", 0)), states=t.number(part.get("states", 0)))
    return {"level": data.level, "date": (data.publication or {}).get("label"), "fills": data.fills,
            "labels": data.labels, "legend": data.legend, "title": data.title, "source": data.source,
            "figures": figures, "publication": data.publication, "points": points}


@cache
def _county_names() -> dict[tuple[str, str], str]:
    """(state, folded county name) -> FIPS, for names that fold to one county only."""
    seen: dict[tuple[str, str], list[str]] = {}
    for county in reference.counties().values():
        seen.setdefault((county.state, county_key(county.name)), []).append(county.fips)
    return {key: found[0] for key, found in seen.items() if len(found) == 1}


@cache
def _roster_counties() -> dict[str, tuple[str, ...]]:
    return {r.ori: r.counties for r in reference.roster()}


def _roster_county(state: str, ori: str | None) -> str | None:
    """The county of a city agency, from the FBI roster entry it was matched to: only when
    the FBI lists exactly one county and its name is unambiguous (a city point is drawn at
    its county's centre; the archive has no city coordinates)."""
    listed = _roster_counties().get(ori or "", ())
    return _county_names().get((state, county_key(listed[0]))) if len(listed) == 1 else None


@cache
def _centres() -> dict[str, tuple[float, float]]:
    out = {}
    for fips, rings in geometry.projected("county").items():
        ring = max(rings, key=len)
        xs, ys = [x for x, _ in ring], [y for _, y in ring]
        out[fips] = (round((min(xs) + max(xs)) / 2, 1), round((min(ys) + max(ys)) / 2, 1))
    return out


def _centre(fips: str) -> tuple[float, float] | None:
    return _centres().get(fips)
