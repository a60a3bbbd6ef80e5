"""Places commands: map, geojson, coverage, places (match report), sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from g287 import outputs, query
from g287.cli.common import (
    AsOfOption,
    DbOption,
    JsonOption,
    as_date,
    console,
    emit,
    fail,
    marked,
    open_db,
    shown,
    warn_dates,
)
from g287.places import coverage as coverage_mod
from g287.places import geojson as geojson_mod
from g287.places import maps
from g287.places import reference as reference_mod


def register(app: typer.Typer) -> None:
    """Add the places commands to the app."""
    app.command("map")(map_command)
    app.command()(geojson)
    app.command()(coverage)
    app.command()(places)
    app.command()(sources)


def map_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.svg or FILE.png")],
    as_of: AsOfOption = None,
    level: Annotated[str, typer.Option(help="county | state")] = "county",
    model: Annotated[str | None, typer.Option(help="JEM, WSO or TFM only.")] = None,
    animate: Annotated[bool, typer.Option(
        "--animate", help="Growth over time: one small map per month of the archive (SVG).")] = False,
    db: DbOption = None,
) -> None:
    """Draw a choropleth of the program as of a date, or small multiples of its growth."""
    with open_db(db, readonly=True) as conn:
        if animate:
            if output.suffix.lower() != ".svg":
                raise fail("--animate writes an .svg file")
            outputs.check_file(output)
            outputs.write_bytes(output, maps.small_multiples(conn, level, model).encode("utf-8"))
        else:
            data = maps.map_data(conn, as_date(as_of), level, model)
            maps.write_map(data, output)
            warn_dates(data.note)
            console.print(data.source, style="dim", highlight=False)
    console.print(f"wrote {output}", highlight=False)


def geojson(output: Annotated[Path, typer.Option("-o", "--output")], as_of: AsOfOption = None,
            db: DbOption = None) -> None:
    """GeoJSON of agreements joined to county geometry, as of a date."""
    with open_db(db, readonly=True) as conn:
        collection = geojson_mod.agreements_geojson(conn, as_date(as_of))
        warn_dates(query.date_context(conn, as_date(as_of)).note)
    outputs.write_bytes(output, json.dumps(collection, ensure_ascii=False).encode("utf-8"))
    console.print(f"wrote {output}: {len(collection['features'])} counties, "
                  f"{len(collection['unplaced'])} agencies without a county", highlight=False)


def coverage(as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Counties, population and sworn officers covered, each with its method and data year."""
    with open_db(db, readonly=True) as conn:
        result = coverage_mod.coverage(conn, as_date(as_of))
    warn_dates(result["note"])
    emit(result, as_json=as_json, render=_render_coverage)


def _render_coverage(r: dict) -> None:
    if r["publication"] is None:
        console.print("no participating publication on or before that date")
        return
    pub, pop, off = r["publication"], r["population"], r["officers"]
    console.print(f"[bold]Coverage[/] · source: {marked(pub['file'])} (ICE label {marked(pub['label'])})",
                  highlight=False, markup=True)
    console.print(f"counties with a county-level agreement: {r['counties_with_agreement']:,} "
                  f"({', '.join(f'{m} {n}' for m, n in r['counties_by_model'].items())})")
    if r.get("agencies_type_unknown"):
        console.print(f"  [yellow]{r['agencies_type_unknown']} agencies have no TYPE (ICE's web roster "
                      "printed none and no later sheet lists them): placed by name only[/]",
                      highlight=False, markup=True)
    console.print(f"population of those counties: {pop['covered']:,} = {pop['us_share_percent']}% of the "
                  f"U.S. ({pop['data_year']} estimates)\n  [dim]{marked(pop['method'])}[/]", highlight=False,
                  markup=True)
    console.print(f"{marked(off['label'])}: {off['sworn']:,} "
                  f"({', '.join(f'{m} {n:,}' for m, n in off['by_model'].items())})"
                  f"\n  [dim]{marked(off['method'])}[/]", highlight=False, markup=True)


def places(as_of: AsOfOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """How agencies were tied to counties and to the FBI roster, per agency type; every miss
    with its reason, every ambiguous roster match and every COUNTY/name conflict."""
    with open_db(db, readonly=True) as conn:
        report = coverage_mod.match_report(conn, as_date(as_of))
    warn_dates(report.note)
    emit(report, as_json=as_json, render=_render_places)


def _render_places(r: coverage_mod.MatchReport) -> None:
    if r.publication:
        console.print(f"source: {r.publication['file']} (ICE label {r.publication['label']})", highlight=False)
    table = Table("agency type", "agencies", "in a county", "state-wide", "unplaced", "FBI record matched",
                  "ambiguous", "unmatched", title="Where agencies were placed, by ICE's TYPE")
    for kind, c in r.by_type.items():
        table.add_row(kind, *(str(c[k]) for k in ("agencies", "placed_in_county", "state_wide", "unplaced",
                                                  "fbi_matched", "fbi_ambiguous", "fbi_unmatched")))
    console.print(table)
    methods: dict[str, int] = {}
    for counts in r.by_type.values():
        for key, n in counts.items():
            if key.startswith("county_by_"):
                methods[key.removeprefix("county_by_")] = methods.get(key.removeprefix("county_by_"), 0) + n
    console.print("county methods: " + ", ".join(f"{m} {n}" for m, n in sorted(methods.items())), highlight=False)
    for c in r.conflicts:
        console.print(f"conflict: {c['agency']} ({c['state']}): {c['conflict']}", highlight=False)
    if r.ambiguous:
        console.print("ambiguous (no ORI chosen): " + "; ".join(
            f"{a['agency']} ({a['state']}): {', '.join(a['candidates'])}" for a in r.ambiguous), highlight=False)
    unmatched = Table("state", "agency", "type", "why no county")
    for u in r.unmatched:
        unmatched.add_row(u["state"], u["agency"], u["type"], u["reason"])
    console.print(unmatched)


def sources(as_json: JsonOption = False) -> None:
    """List the reference data g287 uses: source, date, license and where it is read from."""
    emit(reference_mod.sources(), as_json=as_json, render=_render_sources)


def _render_sources(rows: list[reference_mod.Source]) -> None:
    table = Table("file", "what", "source", "date", "license", "read from")
    for r in rows:
        table.add_row(*(shown(v) for v in (r.file, r.what, r.source, r.date, r.license, r.location)))
    console.print(table)
