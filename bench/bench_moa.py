"""Benchmark reading the shared MOA samples: text layer + Tesseract OCR, then a re-run.

    python bench/bench_moa.py [--workers N]

1. ``g287 moa add`` + ``g287 moa extract`` of the 13 samples into a fresh history
   (3 image-only scans and scattered scanned pages read by OCR, both cores);
2. the same command again (incremental: nothing to read);
3. the baseline, measured in the same run: pypdfium2's text layer alone for every page
   (what extraction costs without OCR).
It also prints the time per page (mean, p95, max) and the peak memory of the process,
which stays flat as the batch grows (issue 23: at most 2 × workers rendered pages wait).
Targets (issue 16): extraction ≤ 60 s on the 2-core machine, re-run ≤ 1 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium

from g287 import config, ingest, store
from g287.documents import library

TARGET_EXTRACT, TARGET_RERUN = 60.0, 1.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=None)
    workers = parser.parse_args().workers
    samples = config.shared_path("moa-samples")
    pdfs = sorted(samples.glob("*.pdf"))
    with tempfile.TemporaryDirectory() as tmp:
        conn = store.connect(Path(tmp) / "h.sqlite")
        ingest.ingest_paths(conn, [config.shared_path("ice-sheets")])   # so the re-run also re-links
        archive = Path(tmp) / "archive"
        library.add_paths(conn, archive, [samples])
        load = os.getloadavg()[0]
        start = time.perf_counter()
        first = library.extract(conn, archive, workers=workers)
        extract_s = time.perf_counter() - start
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        ocr_cpu = children.ru_utime + children.ru_stime
        start = time.perf_counter()
        again = library.extract(conn, archive, workers=workers)
        rerun_s = time.perf_counter() - start
    start = time.perf_counter()
    for path in pdfs:
        pdf = pdfium.PdfDocument(path)
        for page in pdf:
            page.get_textpage().get_text_range()
        pdf.close()
    layer_s = time.perf_counter() - start
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start")
    print(f"extract {len(first.extracted)} MOAs ({first.pages} pages, {first.ocr_pages} by OCR): {extract_s:.1f} s "
          f"(target {TARGET_EXTRACT:.0f} s: {extract_s / TARGET_EXTRACT:.2f}× the target)")
    print(f"Tesseract CPU time: {ocr_cpu:.1f} s ({ocr_cpu / max(first.ocr_pages, 1):.2f} s a page); on "
          f"{os.cpu_count()} idle cores the OCR alone needs ≥ {ocr_cpu / (os.cpu_count() or 1):.1f} s")
    per_page = sorted(first.page_seconds)
    if per_page:
        p95 = per_page[min(len(per_page) - 1, int(0.95 * len(per_page)))]
        print(f"time per page (render + OCR, or text layer): mean {sum(per_page) / len(per_page):.2f} s, "
              f"p95 {p95:.2f} s, max {per_page[-1]:.2f} s over {len(per_page)} pages")
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"(rendered pages waiting for Tesseract are bounded: 2 × workers)")
    print(f"re-run (nothing new, {again.up_to_date} up to date): {rerun_s:.3f} s (target {TARGET_RERUN:.0f} s)")
    print(f"baseline, text layer only (pypdfium2, no OCR): {layer_s:.2f} s; "
          f"extraction = {extract_s / layer_s:.0f}× the baseline")


if __name__ == "__main__":
    main()
