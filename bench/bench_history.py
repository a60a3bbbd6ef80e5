"""Benchmark the history engine on the shared archive; prints wall time and peak memory.

    python bench/bench_history.py

1. full rebuild: ingest all 80 files into a new database (g287: calamine + XML);
2. only *reading* the same 80 files: pandas + openpyxl (which drops the MOA
   hyperlinks), openpyxl in the mode that keeps them, and g287's own reader;
3. one new publication: ingest the newest participating sheet into a history that
   holds everything else;
4. ``g287 rebuild``: re-read every stored publication of an existing history from its
   raw bytes and replay the history (what an upgrade of the reader needs).
Each measurement runs in a fresh subprocess so peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from g287 import config

RUNS = 5

FULL = """
import sys
from g287 import ingest, store
conn = store.connect(sys.argv[1])
report = ingest.ingest_paths(conn, [sys.argv[2]])
assert not report.failed
"""

PANDAS = """
import sys, glob
import pandas as pd
for path in sorted(glob.glob(sys.argv[2] + "/*/*.xlsx")):
    pd.read_excel(path, engine="openpyxl")
"""

G287_READ = """
import sys, glob
from g287.read import read_sheet
for path in sorted(glob.glob(sys.argv[2] + "/*/*.xlsx")):
    read_sheet(open(path, "rb").read(), path)
"""

OPENPYXL_LINKS = """
import sys, glob
import openpyxl
for path in sorted(glob.glob(sys.argv[2] + "/*/*.xlsx")):
    sheet = openpyxl.load_workbook(path).worksheets[0]
    for row in sheet.iter_rows():
        [(cell.value, cell.hyperlink.target if cell.hyperlink else None) for cell in row]
"""

REBUILD = """
import sys
from g287 import ingest, store
conn = store.connect(sys.argv[1])
report = ingest.rebuild(conn)
assert report.publications == 46 and not report.rows_changed
"""

ONE_NEW = """
import sys, time
from g287 import ingest, store
conn = store.connect(sys.argv[1])
began = time.perf_counter()
report = ingest.ingest_paths(conn, [sys.argv[2]])
ingest_seconds = time.perf_counter() - began
assert len(report.added) == 1, report
"""


def timed(code: str, *args: str) -> dict[str, float]:
    """Run code in a fresh interpreter; return its own wall time and peak RSS."""
    wrapper = textwrap.dedent("""
        import json, resource, sys, time
        start = time.perf_counter()
        exec(compile(open(sys.argv[-1]).read(), "bench", "exec"))
        print(json.dumps({"seconds": time.perf_counter() - start,
                          "ingest_seconds": globals().get("ingest_seconds"),
                          "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "measured.py"
        script.write_text(code)
        command = [sys.executable, "-c", wrapper, *args, str(script)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def best(results: list[dict[str, float]]) -> dict[str, float]:
    return min(results, key=lambda r: r["seconds"])


def main() -> None:
    sheets = config.shared_path("ice-sheets")
    newest = sorted(sheets.rglob("participatingAgencies*.xlsx"))[-1]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        full = best([timed(FULL, str(tmp_path / f"full{i}.sqlite"), str(sheets))
                     for i in range(RUNS)])
        baseline = best([timed(PANDAS, "-", str(sheets)) for _ in range(RUNS)])
        with_links = timed(OPENPYXL_LINKS, "-", str(sheets))
        reader = best([timed(G287_READ, "-", str(sheets)) for _ in range(RUNS)])
        rebuilt = best([timed(REBUILD, str(tmp_path / f"full{i}.sqlite")) for i in range(RUNS)])
        rest = tmp_path / "rest"
        for path in sheets.rglob("*.xlsx"):
            if path.name != newest.name:
                target = rest / path.parent.name / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
        one = []
        for i in range(RUNS):
            db = tmp_path / f"one{i}.sqlite"
            subprocess.run([sys.executable, "-c", FULL, str(db), str(rest)], check=True)
            one.append(timed(ONE_NEW, str(db), str(newest)))
        one_new = best(one)
    print(f"archive: {sheets} (80 files); best of {RUNS} runs, each in a fresh process")
    print(f"full rebuild (g287 ingest, read+store+derive): {full['seconds']:.2f} s, "
          f"peak {full['peak_mib']:.0f} MiB")
    print(f"reading only, pandas + openpyxl:               {baseline['seconds']:.2f} s, "
          f"peak {baseline['peak_mib']:.0f} MiB")
    print(f"reading only, openpyxl keeping hyperlinks:     {with_links['seconds']:.2f} s, "
          f"peak {with_links['peak_mib']:.0f} MiB")
    print(f"reading only, g287's reader (calamine + XML):  {reader['seconds']:.2f} s, "
          f"peak {reader['peak_mib']:.0f} MiB ({baseline['seconds'] / reader['seconds']:.1f}x faster than "
          f"pandas + openpyxl, {with_links['seconds'] / reader['seconds']:.1f}x than openpyxl with hyperlinks)")
    print(f"speed-up over pandas + openpyxl: {baseline['seconds'] / full['seconds']:.1f}x "
          f"(target >= 10x); over openpyxl with hyperlinks: "
          f"{with_links['seconds'] / full['seconds']:.1f}x")
    print(f"g287 rebuild of that history from its stored bytes: {rebuilt['seconds']:.2f} s, "
          f"peak {rebuilt['peak_mib']:.0f} MiB")
    print(f"one new publication ({newest.name}): ingest call {one_new['ingest_seconds']:.3f} s "
          f"(target < 0.3 s); whole process with imports {one_new['seconds']:.3f} s; "
          f"peak {one_new['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
