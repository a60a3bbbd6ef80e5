"""TopoJSON decoding and the Albers USA projection (lower 48, Alaska and Hawaii insets).

Pure Python: the us-atlas file is decoded once per process; rings are kept both in
longitude/latitude (for GeoJSON) and projected to a 960 × 600 canvas (for maps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from g287.places import reference

Ring = list[tuple[float, float]]
WIDTH, HEIGHT = 960, 600
_SCALE = 1070.0


@dataclass(frozen=True, slots=True)
class _Conic:
    n: float
    c: float
    r0: float
    lon0: float
    center: tuple[float, float]

    @classmethod
    def make(cls, parallels: tuple[float, float], rotate: float, center: tuple[float, float]) -> _Conic:
        s0 = math.sin(math.radians(parallels[0]))
        n = (s0 + math.sin(math.radians(parallels[1]))) / 2
        c = 1 + s0 * (2 * n - s0)
        conic = cls(n, c, math.sqrt(c) / n, rotate, (0.0, 0.0))
        return cls(n, c, conic.r0, rotate, conic.raw(rotate + center[0], center[1]))

    def raw(self, lon: float, lat: float) -> tuple[float, float]:
        x = math.radians(((lon - self.lon0 + 180) % 360) - 180)
        r = math.sqrt(max(0.0, self.c - 2 * self.n * math.sin(math.radians(lat)))) / self.n
        return r * math.sin(x * self.n), self.r0 - r * math.cos(x * self.n)


# d3.geoAlbersUsa's parameters: (conic, scale factor, translate offset in units of scale).
_REGIONS = {
    "lower48": (_Conic.make((29.5, 45.5), -96, (-0.6, 38.7)), 1.0, (0.0, 0.0)),
    "AK": (_Conic.make((55, 65), -154, (-2, 58.5)), 0.35, (-0.307, 0.201)),
    "HI": (_Conic.make((8, 18), -157, (-3, 19.9)), 1.0, (-0.205, 0.212)),
}


def project(lon: float, lat: float, region: str) -> tuple[float, float]:
    """Project a point of a state's region onto the 960 × 600 canvas."""
    conic, factor, (dx, dy) = _REGIONS[region]
    x, y = conic.raw(lon, lat)
    k = _SCALE * factor
    return 480 + dx * _SCALE + (x - conic.center[0]) * k, 250 + dy * _SCALE - (y - conic.center[1]) * k


def region_of(fips: str) -> str | None:
    """Which inset a state or county FIPS is drawn in; None for territories (not drawn)."""
    state = fips[:2]
    if state == "02":
        return "AK"
    if state == "15":
        return "HI"
    return "lower48" if int(state) <= 56 else None


@cache
def _arcs(name: str) -> list[Ring]:
    topo = reference.topology(name)
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    decoded = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _ring(indexes: list[int], arcs: list[Ring]) -> Ring:
    points: Ring = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


@cache
def shapes(level: str = "county") -> dict[str, tuple[str, list[list[Ring]]]]:
    """FIPS -> (name, polygons as lists of lon/lat rings), for counties or states."""
    name = "counties-10m.json" if level == "county" else "states-10m.json"
    topo = reference.topology(name)
    arcs = _arcs(name)
    out = {}
    for geometry in topo["objects"]["counties" if level == "county" else "states"]["geometries"]:
        if geometry["type"] == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry["type"] == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        out[geometry["id"]] = (geometry["properties"]["name"],
                               [[_ring(ring, arcs) for ring in polygon] for polygon in polygons])
    return out


@cache
def projected(level: str = "county") -> dict[str, list[Ring]]:
    """FIPS -> projected rings on the canvas (territories left out)."""
    out = {}
    for fips, (_, polygons) in shapes(level).items():
        region = region_of(fips)
        if region is None:
            continue
        out[fips] = [[project(lon, lat, region) for lon, lat in ring] for polygon in polygons
                     for ring in polygon]
    return out


def svg_path(rings: list[Ring]) -> str:
    """An SVG path ``d`` attribute for projected rings."""
    return "".join("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in ring) + "Z" for ring in rings if ring)
