"""Benchmark the history engine against the floor: the two-month archive and a ten-year history.

    python bench/bench_history.py [--quick] [--runs N] [--no-profile] [--site]

For each case, in one run (every figure beside the floor and the baseline of the same run,
each a fresh process, so its peak memory is its own):

1. the floor: python-calamine reading every sheet of every file (nothing else);
2. the baseline: pandas + openpyxl reading every file once;
3. the full build: ``g287 ingest FOLDER`` into a new database, its peak memory, and the
   database's size against the raw xlsx bytes it holds;
4. one new publication: ``g287 ingest FILE`` into a history holding every earlier one, and
   the same for a sheet of the same size after a 20-publication history (the cost must not
   grow with the history's length);
5. ``g287 status --json`` on the built history;
6. a fresh server (``g287 serve``, default workers): seconds until its port answers, then
   the first answer of every page and API route, and the same request again (warm);
7. (``--site``) ``g287 site build`` of the history: time and size.

The ten-year case's history for (4), a full build of every capture but the newest, is built
under cProfile; the profile and its top 30 functions are saved under ``bench/results/``
beside the figures (``figures-<case>.txt``),
so every claim about where time goes can be checked (``python -m pstats FILE``).
The ten-year history comes from ``bench/synthetic.py`` (generated once per parameters into
the temp folder); ``--quick`` uses a 60-publication history instead.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import synthetic  # noqa: E402  (beside this script)

from g287 import config  # noqa: E402

G287 = [sys.executable, "-m", "g287"]
RESULTS = Path(__file__).parent / "results"
PANDAS = """
import sys
import pandas as pd
for path in sys.argv[1:]:
    pd.read_excel(path, engine="openpyxl")
"""
CALAMINE = """
import sys
from python_calamine import CalamineWorkbook
for path in sys.argv[1:]:
    book = CalamineWorkbook.from_path(path)
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
"""


@dataclass(frozen=True, slots=True)
class Measure:
    seconds: float
    peak_mib: float
    cpu: float = 0.0    # user + system seconds: on a shared machine, steadier than wall time


def run(command: list[str], **env: str) -> Measure:
    """Run a command to its end; its wall time and peak resident memory."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=os.environ | env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    return Measure(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


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


class Report:
    """Figures printed as they come and kept for ``bench/results/figures-<case>.txt``."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)


def case(name: str, folder: Path, runs: int, tmp: Path, out: Report, *, profile: bool,
         site: bool) -> Path:
    files = sheets_in(folder)
    raw = distinct_bytes(files)
    out(f"\n== {name}: {folder} ({len(files)} files, {raw / 1e6:.1f} MB of distinct xlsx);"
        f" best of {runs}, each a fresh process; load average {os.getloadavg()[0]:.1f}")
    floor = best([run([sys.executable, "-c", CALAMINE, *map(str, files)]) for _ in range(runs)])
    pandas = best([run([sys.executable, "-c", PANDAS, *map(str, files)]) for _ in range(runs)])
    full = best([run([*G287, "ingest", str(folder), "--db", str(tmp / f"{name}{i}.sqlite")])
                 for i in range(runs)])
    db = tmp / f"{name}0.sqlite"
    size = db.stat().st_size
    status = best([run([*G287, "status", "--json", "--db", str(db)]) for _ in range(max(runs, 3))])
    out(f"floor, calamine reading every sheet:           {floor.seconds:7.2f} s (cpu {floor.cpu:6.2f} s),"
        f" peak {floor.peak_mib:4.0f} MiB")
    out(f"baseline, pandas + openpyxl reading the files: {pandas.seconds:7.2f} s (cpu {pandas.cpu:6.2f} s),"
        f" peak {pandas.peak_mib:4.0f} MiB  = {pandas.seconds / floor.seconds:.1f}x the floor")
    out(f"full build (g287 ingest, whole process):       {full.seconds:7.2f} s (cpu {full.cpu:6.2f} s),"
        f" peak {full.peak_mib:4.0f} MiB  = {full.seconds / floor.seconds:.1f}x the floor"
        f" (cpu {full.cpu / floor.cpu:.1f}x; target <= 3x, peak <= 150 MiB);"
        f" {pandas.seconds / full.seconds:.2f}x faster than the baseline")
    out(f"g287 status --json (whole process):            {status.seconds:7.3f} s (cpu {status.cpu:6.3f} s),"
        f" peak {status.peak_mib:4.0f} MiB  (target <= 0.2 s)")
    out(f"database: {size / 1e6:.1f} MB = {size / raw:.2f}x the raw xlsx bytes it holds (target <= 2x)")
    count, one = one_new(name, files, runs, tmp, profile=name if profile else None)
    out(f"one new publication after {count} captures (g287 ingest FILE, whole process): {one.seconds:.3f} s"
        f" (cpu {one.cpu:.3f} s), peak {one.peak_mib:.0f} MiB (target <= 0.3 s, the same whatever the"
        " history's length)")
    server(db, out)
    if site:
        built = tmp / f"{name}-site"
        measured = run([*G287, "site", "build", "-o", str(built), "--db", str(db)])
        files_written = [p for p in built.rglob("*") if p.is_file()]
        out(f"g287 site build: {measured.seconds:.1f} s, peak {measured.peak_mib:.0f} MiB,"
            f" {len(files_written):,} files, {sum(p.stat().st_size for p in files_written) / 1e6:.1f} MB")
    if profile:
        prof = RESULTS / f"full-build-{name.replace(' ', '-')}.prof"
        out(f"profile of the full build of the {count} captures before the newest: {prof}"
            f" (top 30: {prof.with_suffix('.txt')})")
    return db


def one_new(name: str, files: list[Path], runs: int, tmp: Path,
            profile: str | None = None) -> tuple[int, Measure]:
    """The newest participating sheet ingested into a history holding every capture before it.
    With ``profile``, that history is built under cProfile (a full build of all but the newest
    sheet, so the profile costs no build of its own) and the profile saved under bench/results."""
    newest = max((p for p in files if p.name.startswith("participating")), key=lambda p: p.parent)
    base = tmp / f"{name}-base"
    history_without(files, newest, base / "sheets")
    build = ["-m", "g287", "ingest", str(base / "sheets"), "--db", str(base / "h.sqlite")]
    if profile:
        RESULTS.mkdir(exist_ok=True)
        prof = RESULTS / f"full-build-{profile.replace(' ', '-')}.prof"
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), *build], check=True, capture_output=True)
        text = io.StringIO()
        stats = pstats.Stats(str(prof), stream=text)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(30)
        prof.with_suffix(".txt").write_text(text.getvalue())
    else:
        subprocess.run([sys.executable, *build], check=True, capture_output=True)
    measured = []
    for i in range(runs):
        copy = base / f"h{i}.sqlite"
        shutil.copy(base / "h.sqlite", copy)
        measured.append(run([*G287, "ingest", str(newest), "--db", str(copy)]))
    return len(list((base / "sheets").iterdir())), best(measured)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def routes(db: Path) -> list[str]:
    """Every page and API route, each once, with ids taken from the history."""
    conn = sqlite3.connect(db)
    agency, state = conn.execute("SELECT agency_id, state FROM agencies a WHERE EXISTS (SELECT 1 FROM"
                                 " agreements g WHERE g.agency_id = a.agency_id AND g.status = 'active')"
                                 " ORDER BY agency_id LIMIT 1").fetchone()
    agreement = conn.execute("SELECT agreement_id FROM agreements ORDER BY agreement_id LIMIT 1").fetchone()[0]
    pub = conn.execute("SELECT id FROM publications ORDER BY date DESC LIMIT 1").fetchone()[0]
    conn.close()
    pages = ["/", "/map", "/states", f"/state/{state}", f"/agency/{agency}", "/changes", "/search?q=county",
             "/methodology", "/about", "/downloads", "/moas", "/moas/checks", f"/moas/agreement/{agreement}",
             "/map/county/latest.json", "/map/state/latest.json", "/map/county/latest.svg",
             "/feeds/changes.atom", f"/feeds/state/{state}.atom", f"/feeds/agency/{agency}.atom",
             "/sitemap.xml", f"/publications/{pub}/file"]
    api = ["/api/v1/status", "/api/v1/series", "/api/v1/series?kind=daily", "/api/v1/publications",
           "/api/v1/agencies?q=county", f"/api/v1/agencies/{agency}", "/api/v1/agreements",
           "/api/v1/changes", "/api/v1/map", "/api/v1/map?level=state", "/api/v1/coverage",
           "/api/v1/reference", "/api/v1/geometry.json", "/api/v1/moas"]
    return pages + ["/es" + p for p in ("/", "/map", f"/state/{state}", "/map/county/latest.json")] + api


def get(url: str) -> float:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            response.read()
    except urllib.error.HTTPError as exc:  # a route answering an error still answered
        exc.read()
    return time.perf_counter() - start


def server(db: Path, out: Report) -> None:
    """A fresh ``g287 serve`` (default workers): time until its port answers, then each
    route's first answer and a warm one."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    process = subprocess.Popen([*G287, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.perf_counter() - start > 300:
                    raise SystemExit("g287 serve did not start") from None
                time.sleep(0.05)
        opened = time.perf_counter() - start
        first = {path: get(base + path) for path in routes(db)}
        warm = {path: min(get(base + path) for _ in range(3)) for path in first}
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)
    out(f"fresh server (g287 serve, default workers): port answering after {opened:.2f} s;"
        " first answer of each route, then warm (best of 3), in ms (target: first <= 200 ms"
        " and <= 2x warm):")
    for path, seconds in first.items():
        out(f"  {path:44} first {seconds * 1000:7.1f}  warm {warm[path] * 1000:7.1f}"
            f"  = {seconds / max(warm[path], 1e-6):5.1f}x")
    worst = max(first, key=first.get)
    out(f"  slowest first answer: {worst} {first[worst] * 1000:.0f} ms;"
        f" routes over 200 ms: {sum(s > 0.2 for s in first.values())} of {len(first)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 60-publication synthetic history")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled full build")
    parser.add_argument("--site", action="store_true", help="also time g287 site build")
    parser.add_argument("--only-long", action="store_true", help="skip the two-month archive")
    args = parser.parse_args()
    params = synthetic.Params(publications=60, end_rows=600) if args.quick else synthetic.Params()
    out = Report()
    out(f"machine: {os.cpu_count()} cores; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.only_long:
            case("two-month archive", config.shared_path("ice-sheets"), args.runs, Path(tmp), out,
                 profile=False, site=False)
        long = synthetic.cached(params)
        name = f"synthetic {params.publications} publications"
        case(name, long, 1 if not args.quick else args.runs, Path(tmp), out, profile=not args.no_profile,
             site=args.site)
        # The same final sheet size after a short history: cost must not grow with length.
        short = synthetic.Params(publications=21, start_rows=params.end_rows * 3 // 4,
                                 end_rows=params.end_rows)
        count, measured = one_new("short", sheets_in(synthetic.cached(short)), args.runs, Path(tmp))
        out(f"\n== the same size of sheet ({params.end_rows} rows) after a short history:"
            f" one new publication after {count} captures: {measured.seconds:.3f} s"
            f" (cpu {measured.cpu:.3f} s), peak {measured.peak_mib:.0f} MiB")
        out(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"figures-{'quick' if args.quick else 'ten-year'}.txt").write_text("\n".join(out.lines) + "\n")
    print(json.dumps({"saved": str(RESULTS)}))


if __name__ == "__main__":
    main()
