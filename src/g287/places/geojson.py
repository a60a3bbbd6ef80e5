"""GeoJSON of agreements joined to county geometry, as of a date."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from typing import Any

from g287 import query
from g287.places import geometry, reference
from g287.places.coverage import placed_agencies


def agreements_geojson(conn: sqlite3.Connection, as_of: dt.date | None = None) -> dict[str, Any]:
    """A FeatureCollection with one feature per county holding agreements (2017 county
    shapes, longitude/latitude); agencies without a county are listed, not drawn."""
    pub, placed = placed_agencies(conn, as_of)
    agreements = query.active_agreements(conn, as_of)
    by_agency: dict[str, list[query.ActiveAgreement]] = defaultdict(list)
    for a in agreements:
        by_agency[a.agency_id].append(a)
    per_county: dict[str, list] = defaultdict(list)
    unplaced = []
    for p in placed:
        fips = reference.map_fips(p.county.fips) if p.county.fips else None
        entry = {"agency_id": p.agency_id, "agency": p.name, "agency_type": p.agency_type,
                 "agreements": [{"agreement_id": a.agreement_id, "model": a.model,
                                 "signed": a.signed.isoformat() if a.signed else None, "moa_url": a.moa_url}
                                for a in by_agency[p.agency_id]]}
        if fips and fips in geometry.shapes("county"):
            per_county[fips].append(entry)
        else:
            unplaced.append({**entry, "state": p.state, "reason": p.county.reason or p.county.method})
    shapes = geometry.shapes("county")
    features = []
    for fips in sorted(per_county):
        name, polygons = shapes[fips]
        coordinates = [[[[round(x, 5), round(y, 5)] for x, y in ring] for ring in polygon] for polygon in polygons]
        agencies = per_county[fips]
        features.append({
            "type": "Feature", "id": fips,
            "geometry": {"type": "MultiPolygon", "coordinates": coordinates},
            "properties": {"fips": fips, "county": name, "state": reference.counties()[fips].state,
                           "models": sorted({g["model"] for a in agencies for g in a["agreements"]}),
                           "agreements": sum(len(a["agreements"]) for a in agencies),
                           "agencies": agencies}})
    return {"type": "FeatureCollection", "features": features,
            "publication": query.publication_ref(pub) if pub else None, "unplaced": unplaced}
