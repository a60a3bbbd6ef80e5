"""Text of every page of a PDF: the text layer when it is usable, Tesseract OCR when not.

pypdfium2 reads the text layer (fast, permissive license). A page whose layer holds
too few letters (an image-only scan, or a scan with a stamp of text on it) is rendered
and read by the ``tesseract`` program, one process per page and as many at once as
there are cores, so a batch of scanned documents uses the whole machine.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from g287.errors import BadInput, MissingData

# Bump when a change here would give different page text: `g287 moa extract` then redoes all.
EXTRACTOR_VERSION = "1"
# A page whose text layer has fewer letters than this is read by OCR instead (a full
# MOA page holds 2,000-4,000; a signature page typed over a scan still holds ~200).
MIN_LAYER_LETTERS = 60
# ... or whose tokens mostly do not read as words (a layer with a broken font encoding
# reads as "YY 4(^6U6(r9q"; clean pages score 0.75-0.95).
MIN_LAYER_QUALITY = 0.5
# ... or which is a scanned image with only a stamp or a typed overlay as text (a full
# typed signature page holds more; an overlay of a date and a name far fewer).
SCAN_OVERLAY_LETTERS = 300
SCAN_AREA_SHARE = 0.5
OCR_DPI = 200   # measured: same word confidence as 300 dpi on ICE's scans, less rendering
TESSERACT_TIMEOUT = 120
# An OCR line read with less mean confidence than this is handwriting or a signature
# more often than print: it is stored as ILLEGIBLE rather than as invented words.
MIN_LINE_CONFIDENCE = 55
ILLEGIBLE = "[illegible]"


@dataclass(frozen=True, slots=True)
class PageText:
    """One page's text, how it was obtained, and how trustworthy it looks (0-1)."""

    page: int          # 1-based, as a PDF viewer counts (the #page=N of a link)
    method: str        # 'text' (the PDF's text layer) | 'ocr' (Tesseract) | 'none'
    quality: float     # text layer: share of clean word tokens; OCR: mean word confidence / 100
    text: str


class OcrUnavailable(MissingData):
    """Tesseract is not installed; scanned pages cannot be read."""


def tesseract_path() -> str:
    """The ``tesseract`` program, or a one-line error saying how to install it."""
    found = shutil.which("tesseract")
    if found is None:
        raise OcrUnavailable("tesseract not found: install it (Debian: apt-get install tesseract-ocr, "
                             "or `make test`, which installs it)")
    return found


_TOKEN = re.compile(r"\S+")
_CLEAN = re.compile(r"^[(\"'“‘]?(?:[A-Za-z][a-z]*|[A-Z]+)(?:[-'’][A-Za-z]+)*[.,;:)\"'”’]*$|^[\d$][\d.,/%:-]*[.,;:)]*$")


def layer_quality(text: str) -> float:
    """Share of tokens that read as words or numbers: low for garbled text layers."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return 0.0
    return round(sum(1 for t in tokens if _CLEAN.match(t)) / len(tokens), 3)


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


def open_pdf(data: bytes, name: str) -> pdfium.PdfDocument:
    """Open PDF bytes, or a one-line :class:`BadInput` naming the file."""
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise BadInput(f"{name}: not a readable PDF ({exc})") from exc


def _layer_text(page: pdfium.PdfPage) -> str:
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
    finally:
        textpage.close()


def _is_scan(page: pdfium.PdfPage) -> bool:
    """Whether an image covers most of the page (a scanned sheet)."""
    width, height = page.get_size()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        if (right - left) * (top - bottom) >= SCAN_AREA_SHARE * width * height:
            return True
    return False


def _render(page: pdfium.PdfPage, dpi: int) -> bytes:
    """The page as a greyscale PNM image, a format Tesseract reads without decoding cost."""
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    buffer = io.BytesIO()
    bitmap.to_pil().save(buffer, format="PPM")
    return buffer.getvalue()


def ocr_image(image: bytes, tesseract: str) -> tuple[str, float]:
    """Text of one page image and its mean word confidence (0-1), via ``tesseract … tsv``.

    Lines are rebuilt from the TSV's block/paragraph/line numbers, paragraphs separated
    by a blank line, so paragraph-level diffs work on OCR text as on a text layer.
    """
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}   # one core per page; pages run side by side
    done = subprocess.run([tesseract, "stdin", "stdout", "--psm", "3", "tsv"], input=image,
                          capture_output=True, env=env, timeout=TESSERACT_TIMEOUT, check=False)
    if done.returncode != 0:
        raise BadInput(f"tesseract failed: {done.stderr.decode(errors='replace').strip()[:200]}")
    lines: dict[tuple[int, int, int], list[str]] = {}
    line_confidences: dict[tuple[int, int, int], list[float]] = {}
    confidences: list[float] = []
    for row in done.stdout.decode("utf-8", errors="replace").splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        key = (int(cells[2]), int(cells[3]), int(cells[4]))
        lines.setdefault(key, []).append(cells[11])
        line_confidences.setdefault(key, []).append(max(float(cells[10]), 0.0))
        confidences.append(max(float(cells[10]), 0.0))
    out: list[str] = []
    previous: tuple[int, int] | None = None
    for block, par, line in sorted(lines):
        if previous is not None and previous != (block, par):
            out.append("")
        scores = line_confidences[(block, par, line)]
        legible = sum(scores) / len(scores) >= MIN_LINE_CONFIDENCE
        out.append(" ".join(lines[(block, par, line)]) if legible else ILLEGIBLE)
        previous = (block, par)
    quality = round(sum(confidences) / len(confidences) / 100, 3) if confidences else 0.0
    return "\n".join(out), quality


@dataclass(frozen=True, slots=True)
class Job:
    """One document to read: its key (the SHA-256) and bytes."""

    key: str
    name: str
    data: bytes


def extract_many(jobs: Iterable[Job], *, workers: int | None = None,
                 on_done: Callable[[str, list[PageText]], None] | None = None
                 ) -> Iterator[tuple[str, list[PageText]]]:
    """Pages of each document, OCR'd pages read by ``workers`` Tesseract processes at once.

    Rendering (pdfium is not thread-safe) happens here, in order; Tesseract runs in
    subprocesses from a thread pool, so rendering the next page overlaps reading this one.
    Yields (key, pages) as each document completes, in input order.
    """
    workers = workers or os.cpu_count() or 1
    tesseract: str | None = None
    pending: list[tuple[str, list[PageText | Future[tuple[str, float]]]]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for job in jobs:
            pdf = open_pdf(job.data, job.name)
            try:
                pages: list[PageText | Future[tuple[str, float]]] = []
                for index in range(len(pdf)):
                    page = pdf[index]
                    layer = _layer_text(page)
                    quality = layer_quality(layer)
                    letters = _letters(layer)
                    overlay = letters < SCAN_OVERLAY_LETTERS and _is_scan(page)
                    if letters >= MIN_LAYER_LETTERS and quality >= MIN_LAYER_QUALITY and not overlay:
                        pages.append(PageText(index + 1, "text", quality, layer))
                    else:
                        tesseract = tesseract or tesseract_path()
                        pages.append(pool.submit(ocr_image, _render(page, OCR_DPI), tesseract))
                    page.close()
            finally:
                pdf.close()
            pending.append((job.key, pages))
            while pending and all(not isinstance(p, Future) or p.done() for p in pending[0][1]):
                yield _finish(*pending.pop(0), on_done)
        while pending:
            yield _finish(*pending.pop(0), on_done)


def _finish(key: str, pages: list[PageText | Future[tuple[str, float]]],
            on_done: Callable[[str, list[PageText]], None] | None) -> tuple[str, list[PageText]]:
    result: list[PageText] = []
    for number, item in enumerate(pages, start=1):
        if isinstance(item, Future):
            text, quality = item.result()
            result.append(PageText(number, "ocr" if text.strip() else "none", quality, text))
        else:
            result.append(item)
    if on_done is not None:
        on_done(key, result)
    return key, result


def extract(data: bytes, name: str = "document") -> list[PageText]:
    """Pages of one PDF (see :func:`extract_many`)."""
    return next(extract_many([Job(name, name, data)]))[1]
