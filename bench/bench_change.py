"""Benchmark the cost of one large change: a publication that changes N rows at once.

    python bench/bench_change.py [--rows 2500 5000 10000] [--kinds linked added renamed]

For each size N and kind of change, a history of one participating sheet of N agreements
(made by ``bench/synthetic.py``'s world) is built, then a second sheet where every row
changed is ingested into it, as ``g287 ingest FILE`` (a fresh process: wall time and peak
memory). Kinds: ``linked`` (every agreement's MOA link posted: N edited rows, identities
unchanged), ``added`` (N new agreements beside the N printed), ``renamed`` (every agency
renamed: N rows vanish and N appear, what lineage must pair). Target: 10,000 changed rows
in <= 10 s with memory that stays flat as N grows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import synthetic  # noqa: E402  (beside this script)
from bench_history import G287, run  # noqa: E402

KINDS = ("linked", "added", "renamed")


def world(rows: int, seed: int = 287) -> synthetic._World:
    """N agreements, none linked yet."""
    params = synthetic.Params(start_rows=rows, end_rows=rows, seed=seed)
    made = synthetic._World(random.Random(seed), params)
    day = dt.date.fromisoformat(params.first_label)
    while len(made.active) < rows:
        made.sign(made.new_agency(), made.rng.choice(synthetic.MODELS), day)
    return made


def sheet(path: Path, agreements: list[synthetic._Agreement], day: dt.date) -> Path:
    rows = sorted(((a.agency.state, a.agency.name, a.agency.kind, a.agency.county, a.model, a.signed, a.moa)
                   for a in agreements), key=lambda r: (r[0], r[1], r[4]))
    synthetic._write(path, synthetic.HEADER, rows, dt.datetime.combine(day, dt.time(15, 17, 10)))
    return path


def changed(made: synthetic._World, kind: str) -> list[synthetic._Agreement]:
    """The world's agreements after every row changed in one way."""
    if kind == "linked":
        for a in made.active:
            a.moa = synthetic._moa_url(a)
        return made.active
    if kind == "renamed":
        for a in made.active:
            a.agency.name = a.agency.name.replace("Sheriff's Office", "Sheriffs Office").replace(
                "Police Department", "Police Dept.")
        return made.active
    before = list(made.active)
    day = dt.date.fromisoformat(made.params.first_label) + dt.timedelta(days=10)
    while len(made.active) < 2 * len(before):
        made.sign(made.new_agency(), made.rng.choice(synthetic.MODELS), day)
    return made.active


def measure(rows: int, kind: str, tmp: Path) -> str:
    made = world(rows)
    first = dt.date.fromisoformat(made.params.first_label)
    old = sheet(tmp / f"{kind}{rows}" / "sheets_20150105_151710" / "participatingAgencies01052015am.xlsx",
                made.active, first)
    db = tmp / f"{kind}{rows}.sqlite"
    subprocess.run([*G287, "ingest", str(old), "--db", str(db)], check=True, capture_output=True)
    day = first + dt.timedelta(days=10)
    new = sheet(tmp / f"{kind}{rows}" / "sheets_20150115_151710" / "participatingAgencies01152015am.xlsx",
                changed(made, kind), day)
    measured = run([*G287, "ingest", str(new), "--db", str(db)])
    return (f"{kind:8} {rows:6,} rows changed: {measured.seconds:7.2f} s (cpu {measured.cpu:6.2f} s),"
            f" peak {measured.peak_mib:5.0f} MiB"
            f"  (target: <= 10 s for 10,000, memory flat)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[2500, 5000, 10000])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            for rows in args.rows:
                print(measure(rows, kind, Path(tmp)), flush=True)
    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
