"""Benchmark the history engine: the shared two-month archive and a ten-year synthetic history.

    python bench/bench_history.py [--quick] [--runs N]

For each case, every figure is printed beside the baseline measured in the same run:
pandas + openpyxl only *reading* the same files (which drops the MOA hyperlinks).

1. full build: ``g287 ingest FOLDER`` into a new database (the whole process);
2. the baseline: pandas + openpyxl reading every file once;
3. one new publication: ``g287 ingest FILE`` into a history holding every earlier
   publication; and the same for a sheet of the same size after a 20-publication history
   (cost must not grow with history length);
4. ``g287 status --json`` on the built history;
5. database size against the raw xlsx bytes it holds.
Each measurement is a fresh process, so its peak memory (max RSS) is its own. The
ten-year history comes from ``bench/synthetic.py`` and is generated once per
parameters into the temp folder; ``--quick`` uses a 60-publication history instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import synthetic  # noqa: E402  (beside this script)

from g287 import config  # noqa: E402

G287 = [sys.executable, "-m", "g287"]
PANDAS = """
import sys
import pandas as pd
for path in sys.argv[1:]:
    pd.read_excel(path, engine="openpyxl")
"""


@dataclass(frozen=True, slots=True)
class Measure:
    seconds: float
    peak_mib: float


def run(command: list[str], **env: str) -> Measure:
    """Run a command to its end; its wall time and peak resident memory."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=os.environ | env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    return Measure(seconds, usage.ru_maxrss / 1024)


def best(measures: list[Measure]) -> Measure:
    return min(measures, key=lambda m: m.seconds)


def sheets_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.xlsx"))


def distinct_bytes(files: list[Path]) -> int:
    seen = {}
    for path in files:
        content = path.read_bytes()
        seen[hash(content)] = len(content)
    return sum(seen.values())


def history_without(files: list[Path], newest: Path, target: Path) -> Path:
    """A capture folder with the files before ``newest``."""
    folders = sorted({p.parent for p in files if p.parent < newest.parent})
    for folder in folders:
        shutil.copytree(folder, target / folder.name)
    return target


def case(name: str, folder: Path, runs: int, tmp: Path) -> None:
    files = sheets_in(folder)
    raw = distinct_bytes(files)
    print(f"\n== {name}: {folder} ({len(files)} files, {raw / 1e6:.1f} MB of distinct xlsx);"
          f" best of {runs}, each a fresh process")
    full = best([run([*G287, "ingest", str(folder), "--db", str(tmp / f"{name}{i}.sqlite")])
                 for i in range(runs)])
    pandas = best([run([sys.executable, "-c", PANDAS, *map(str, files)]) for _ in range(runs)])
    db = tmp / f"{name}0.sqlite"
    size = db.stat().st_size
    status = best([run([*G287, "status", "--json", "--db", str(db)]) for _ in range(max(runs, 3))])
    print(f"baseline, pandas + openpyxl reading the files: {pandas.seconds:7.2f} s, peak {pandas.peak_mib:4.0f} MiB")
    print(f"full build (g287 ingest, whole process):       {full.seconds:7.2f} s, peak {full.peak_mib:4.0f} MiB"
          f"  = {pandas.seconds / full.seconds:.1f}x faster than the baseline (target >= 10x, peak <= 150 MiB)")
    print(f"g287 status --json:                            {status.seconds:7.3f} s, peak {status.peak_mib:4.0f} MiB"
          f"  = {status.seconds / pandas.seconds:.4f} of the baseline (target <= 0.2 s)")
    print(f"database: {size / 1e6:.1f} MB = {size / raw:.2f}x the raw xlsx bytes it holds (target <= 2x)")
    one = one_new(name, files, runs, tmp)
    print(f"one new publication after {one[0]} captures (g287 ingest FILE, whole process): {one[1].seconds:.3f} s,"
          f" peak {one[1].peak_mib:.0f} MiB = {one[1].seconds / pandas.seconds:.4f} of the baseline"
          " (target <= 0.3 s, the same whatever the history's length)")


def one_new(name: str, files: list[Path], runs: int, tmp: Path) -> tuple[int, Measure]:
    """The newest participating sheet ingested into a history holding every capture before it."""
    newest = max((p for p in files if p.name.startswith("participating")), key=lambda p: p.parent)
    base = tmp / f"{name}-base"
    history_without(files, newest, base / "sheets")
    subprocess.run([*G287, "ingest", str(base / "sheets"), "--db", str(base / "h.sqlite")],
                   check=True, capture_output=True)
    measured = []
    for i in range(runs):
        copy = base / f"h{i}.sqlite"
        shutil.copy(base / "h.sqlite", copy)
        measured.append(run([*G287, "ingest", str(newest), "--db", str(copy)]))
    return len(list((base / "sheets").iterdir())), best(measured)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 60-publication synthetic history")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    params = synthetic.Params(publications=60, end_rows=600) if args.quick else synthetic.Params()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        case("two-month archive", config.shared_path("ice-sheets"), args.runs, Path(tmp))
        long = synthetic.cached(params)
        case(f"synthetic {params.publications} publications", long, 1 if not args.quick else args.runs,
             Path(tmp))
        # The same final sheet size after a short history: cost must not grow with length.
        short = synthetic.Params(publications=21, start_rows=params.end_rows * 3 // 4,
                                 end_rows=params.end_rows)
        count, measured = one_new("short", sheets_in(synthetic.cached(short)), args.runs, Path(tmp))
        print(f"\n== the same size of sheet ({params.end_rows} rows) after a short history:"
              f" one new publication after {count} captures: {measured.seconds:.3f} s,"
              f" peak {measured.peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
