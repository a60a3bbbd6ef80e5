"""Text of every page of a PDF: the text layer when it is usable, Tesseract OCR when not.

pypdfium2 reads the text layer (fast, permissive license). A page whose layer holds
too few letters (an image-only scan, or a scan with a stamp of text on it) is rendered
and read by the ``tesseract`` program, one process per page and as many at once as
there are cores, so a batch of scanned documents uses the whole machine. Every document
is held to :mod:`g287.documents.limits` (bytes, decompressed size, pages, page and
render size, OCR time and memory per page, time per document).
"""

from __future__ import annotations

import io
import os
import re
import resource
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from g287.documents.limits import DEFAULT, MIB, Limits, OverLimit, scan
from g287.errors import BadInput, MissingData

# Bump when a change here would give different page text: `g287 moa extract` then redoes all.
EXTRACTOR_VERSION = "2"
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
# An OCR line (on a signature page read by position: each column's part of a line) read
# with less mean confidence than this is handwriting or a signature more often than
# print: it is stored as ILLEGIBLE rather than as invented words.
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
        if "password" in str(exc).lower():
            raise BadInput(f"{name}: encrypted with a password; only unprotected PDFs can be read") from exc
        raise BadInput(f"{name}: not a readable PDF ({exc})") from exc


def _layer_text(page: pdfium.PdfPage) -> str:
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
    finally:
        textpage.close()


# A page that holds the signature block: read by position (see :func:`positional_text`).
# (The 2025 forms, whose two columns are headed "For the LEA:" / "For ICE:"; the older unlabelled
# blocks read well in file order, their digital-signature stamps overlapping by position.)
_SIGNATURE_PAGE = re.compile(r"By\s+sign\s?ing\s+this\s+MOA", re.IGNORECASE)
_PARTY_HEADER = re.compile(r"For\s*(?:the\s*)?LEA|For\s*ICE\s*:", re.IGNORECASE)
_COLUMN_GAP = 2.5   # a gap wider than this many character heights separates two columns


@dataclass(slots=True)
class _Word:
    left: float
    bottom: float
    right: float
    top: float
    text: str
    confidence: float = 100.0   # Tesseract's, 0-100; a text layer's words are certain


def _words(page: pdfium.PdfPage) -> list[_Word]:
    """The text layer's words with their boxes (pdfium character boxes, joined)."""
    textpage = page.get_textpage()
    try:
        words: list[_Word] = []
        current: _Word | None = None
        for index in range(textpage.count_chars()):
            char = textpage.get_text_range(index, 1)
            if not char or char.isspace() or char in "\ufffe\x02":
                current = None
                continue
            left, bottom, right, top = textpage.get_charbox(index)
            height = max(top - bottom, 1.0)
            if (current is not None and bottom < current.top and top > current.bottom
                    and -0.5 * height < left - current.right < 0.35 * height):
                current.right, current.text = max(current.right, right), current.text + char
                current.bottom, current.top = min(current.bottom, bottom), max(current.top, top)
            else:
                current = _Word(left, bottom, right, top, char)
                words.append(current)
        return words
    finally:
        textpage.close()


def _lines(words: list[_Word]) -> list[list[_Word]]:
    """Words grouped into lines by vertical overlap, top to bottom, each left to right."""
    lines: list[tuple[float, float, list[_Word]]] = []
    for word in sorted(words, key=lambda w: -w.top):
        height = max(word.top - word.bottom, 1.0)
        for index, (bottom, top, members) in enumerate(lines):
            overlap = min(top, word.top) - max(bottom, word.bottom)
            if overlap > 0.4 * min(height, top - bottom) or (height < 0.5 * (top - bottom) and
                                                             bottom - 0.3 * (top - bottom) <= word.bottom <= top):
                members.append(word)
                lines[index] = (min(bottom, word.bottom) if height > 0.5 * (top - bottom) else bottom,
                                max(top, word.top) if height > 0.5 * (top - bottom) else top, members)
                break
        else:
            lines.append((word.bottom, word.top, [word]))
    lines.sort(key=lambda line: -line[1])
    return [sorted(members, key=lambda w: w.left) for _, _, members in lines]


def _cells(line: list[_Word]) -> list[list[_Word]]:
    cells: list[list[_Word]] = [[line[0]]]
    for previous, word in zip(line, line[1:], strict=False):
        height = max(word.top - word.bottom, previous.top - previous.bottom, 1.0)
        if word.left - previous.right > _COLUMN_GAP * height:
            cells.append([])
        cells[-1].append(word)
    return cells


def _mean_confidence(words: list[_Word]) -> float:
    return sum(w.confidence for w in words) / len(words)


def _join(words: list[_Word], line: list[_Word] | None = None) -> str:
    """Words as text; ILLEGIBLE when neither they nor their whole line read confidently."""
    if _mean_confidence(words) < MIN_LINE_CONFIDENCE and (line is None or _mean_confidence(line) < MIN_LINE_CONFIDENCE):
        return ILLEGIBLE
    text = ""
    for word in words:
        glued = text and (word.text[0] in ",.;:)" or text.endswith(("(", "/")))
        text += word.text if not text or glued else " " + word.text
    return text


def positional_text(page: pdfium.PdfPage) -> str:
    """A signature page read as a person reads it: by position, not in file order.

    Scanner-made layers and form fields keep their text out of reading order and put
    both signature columns on one line. Here the words are laid out in lines by
    their boxes; from the line that opens the signature block ("By signing this
    MOA", else the "For the LEA:" header) the lines are split into columns where a
    wide gap falls, and the left column is written whole, then a blank line, then
    the right column. The boundary is the right-hand header's left edge ("For ICE:"),
    else the middle of the page.
    """
    return _column_reading(_words(page), page.get_size()[0])


def _column_reading(words: list[_Word], width: float) -> str:
    """:func:`positional_text` over word boxes in a y-up frame (text layer or Tesseract)."""
    if not words:
        return ""
    lines = _lines(words)
    texts = [_join(line) for line in lines]
    opening = next((i for i, t in enumerate(texts) if re.search(r"By\s+sign\s?ing", t, re.IGNORECASE)), None)
    header = next((i for i, t in enumerate(texts) if re.search(r"For\s*the\s*LEA|For\s*ICE", t, re.IGNORECASE)
                   and (opening is None or i > opening)), None)
    start = opening + 1 if opening is not None else header
    if start is None:
        return "\n".join(texts)
    while start < len(texts) and not texts[start - 1].rstrip().endswith(".") and opening is not None \
            and start - opening < 4:
        start += 1   # the rest of the signing sentence
    boundary = width / 2
    if header is not None:
        cells = _cells(lines[header])
        if len(cells) >= 2:
            boundary = cells[-1][0].left - 1
    left: list[str] = []
    right: list[str] = []
    for line in lines[start:]:
        line_left = [w for w in line if w.right <= boundary or w.left < boundary - 2 * (w.top - w.bottom)]
        line_right = [w for w in line if w not in line_left]
        if line_left:
            left.append(_join(line_left, line))
        if line_right:
            right.append(_join(line_right, line))
    return "\n".join([*texts[:start], *left, "", *right])


def _is_scan(page: pdfium.PdfPage) -> bool:
    """Whether an image covers most of the page (a scanned sheet)."""
    width, height = page.get_size()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        if (right - left) * (top - bottom) >= SCAN_AREA_SHARE * width * height:
            return True
    return False


def _render_size(width: float, height: float, limits: Limits) -> tuple[int, int]:
    """Pixels of a page rendered at :data:`OCR_DPI`, or less where that would pass ``render_pixels``."""
    scale = OCR_DPI / 72
    pixels = width * scale * height * scale
    if pixels > limits.render_pixels:
        scale *= (limits.render_pixels / pixels) ** 0.5
    return int(width * scale), int(height * scale)


def _render(page: pdfium.PdfPage, width: float, height: float, limits: Limits) -> bytes:
    """The page as a greyscale PNM image, a format Tesseract reads without decoding cost."""
    pixels_wide, _ = _render_size(width, height, limits)
    bitmap = page.render(scale=pixels_wide / width, grayscale=True)
    buffer = io.BytesIO()
    bitmap.to_pil().save(buffer, format="PPM")
    return buffer.getvalue()


def _limit_memory(limit: int) -> Callable[[], None]:
    def apply() -> None:   # runs in the child, before tesseract starts
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def ocr_image(image: bytes, tesseract: str, limits: Limits = DEFAULT, name: str = "page") -> tuple[str, float]:
    """Text of one page image and its mean word confidence (0-1), via ``tesseract … tsv``.

    Lines are rebuilt from the TSV's block/paragraph/line numbers, paragraphs separated
    by a blank line, so paragraph-level diffs work on OCR text as on a text layer.
    """
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}   # one core per page; pages run side by side
    try:
        done = subprocess.run([tesseract, "stdin", "stdout", "--psm", "3", "tsv"], input=image,
                              capture_output=True, env=env, timeout=limits.ocr_seconds, check=False,
                              preexec_fn=_limit_memory(limits.ocr_memory))
    except subprocess.TimeoutExpired as exc:
        raise OverLimit(f"{name}: OCR took longer than the limit of {limits.ocr_seconds:g} s a page") from exc
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise BadInput(f"{name}: tesseract failed (exit {done.returncode}; memory limit "
                       f"{limits.ocr_memory // MIB} MiB a page): {(why[-1] if why else '')[:160]}")
    return read_tsv(done.stdout.decode("utf-8", errors="replace"))


def read_tsv(tsv: str) -> tuple[str, float]:
    """Page text from Tesseract's TSV, legibility judged word by word (pure).

    A line read with less mean confidence than :data:`MIN_LINE_CONFIDENCE` becomes
    :data:`ILLEGIBLE`. A signature page of the 2025 form is read by position from the word
    boxes, as a text layer's is, and legibility is then judged per column: a typed ICE date
    is kept beside a handwritten agency date that Tesseract put on the same line.
    """
    lines: dict[tuple[int, int, int], list[str]] = {}
    line_confidences: dict[tuple[int, int, int], list[float]] = {}
    words: list[_Word] = []
    confidences: list[float] = []
    height = width = 0.0
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12:
            continue
        if cells[0] == "1":
            width, height = float(cells[8]), float(cells[9])
        if cells[0] != "5" or not cells[11].strip():
            continue
        confidence = max(float(cells[10]), 0.0)
        confidences.append(confidence)
        key = (int(cells[2]), int(cells[3]), int(cells[4]))
        lines.setdefault(key, []).append(cells[11])
        line_confidences.setdefault(key, []).append(confidence)
        left, top, wide, high = (float(c) for c in cells[6:10])
        words.append(_Word(left, height - top - high, left + wide, height - top, cells[11], confidence))
    out: list[str] = []
    previous: tuple[int, int] | None = None
    for block, par, line_number in sorted(lines):
        if previous is not None and previous != (block, par):
            out.append("")
        scores = line_confidences[(block, par, line_number)]
        legible = sum(scores) / len(scores) >= MIN_LINE_CONFIDENCE
        out.append(" ".join(lines[(block, par, line_number)]) if legible else ILLEGIBLE)
        previous = (block, par)
    quality = round(sum(confidences) / len(confidences) / 100, 3) if confidences else 0.0
    text = "\n".join(out)
    if _SIGNATURE_PAGE.search(text) and _PARTY_HEADER.search(text):
        text = _column_reading(words, width)
    return text, quality


@dataclass(frozen=True, slots=True)
class Job:
    """One document to read: its key (the SHA-256) and bytes."""

    key: str
    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """One document read: its pages, or the one-line reason it was refused; seconds per page."""

    key: str
    pages: list[PageText]
    error: str | None = None
    page_seconds: tuple[float, ...] = ()   # wall time of each page (OCR pages: Tesseract's run)


class _Doc:
    """A document being read: pages done or in Tesseract, its deadline, its error."""

    def __init__(self, job: Job, deadline: float) -> None:
        self.job = job
        self.deadline = deadline
        self.pages: list[PageText | Future[tuple[str, float, float]] | float] = []
        self.seconds: list[float] = []
        self.error: str | None = None

    def futures(self) -> list[Future[tuple[str, float, float]]]:
        return [p for p in self.pages if isinstance(p, Future)]


def extract_many(jobs: Iterable[Job], *, workers: int | None = None, limits: Limits = DEFAULT,
                 progress: Callable[[str, int, int], None] | None = None) -> Iterator[Outcome]:
    """Each document's pages, OCR'd pages read by ``workers`` Tesseract processes at once.

    Rendering (pdfium is not thread-safe) happens here, in order; Tesseract runs in
    subprocesses from a thread pool, so rendering the next page overlaps reading this one.
    At most ``2 × workers`` rendered pages wait for Tesseract at any time (memory stays
    flat however long the batch). A document over a limit, or one pdfium cannot read,
    yields an :class:`Outcome` with its one-line error, and the batch goes on.
    ``progress(name, page, pages)`` is called as each page is handed on. Yields in input order.
    """
    workers = workers or os.cpu_count() or 1
    queue_size = 2 * workers
    pending: deque[_Doc] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for job in jobs:
            doc = _Doc(job, time.monotonic() + limits.document_seconds)
            pending.append(doc)
            try:
                _read_pages(doc, pool, limits, queue_size, pending, progress)
            except BadInput as exc:
                doc.error = str(exc)
            except pdfium.PdfiumError as exc:
                doc.error = f"{job.name}: not a readable PDF ({exc})"
            while pending and (pending[0].error or all(f.done() for f in pending[0].futures())):
                yield _finish(pending.popleft(), limits)
        while pending:
            yield _finish(pending.popleft(), limits)


def _read_pages(doc: _Doc, pool: ThreadPoolExecutor, limits: Limits, queue_size: int,
                pending: deque[_Doc], progress: Callable[[str, int, int], None] | None) -> None:
    job = doc.job
    scan(job.data, job.name, limits)
    pdf = open_pdf(job.data, job.name)
    try:
        count = len(pdf)
        if count == 0:
            raise BadInput(f"{job.name}: the PDF has no pages")
        if count > limits.pages:
            raise OverLimit(f"{job.name}: {count:,} pages, over the limit of {limits.pages:,} pages")
        tesseract: str | None = None
        for index in range(count):
            if time.monotonic() > doc.deadline:
                raise OverLimit(f"{job.name}: not read within the limit of {limits.document_seconds:g} s "
                                f"a document (stopped at page {index + 1})")
            started = time.perf_counter()
            try:
                page = pdf[index]
            except pdfium.PdfiumError as exc:
                raise BadInput(f"{job.name}: page {index + 1} cannot be read ({exc})") from exc
            try:
                width, height = page.get_size()
                if max(width, height) > limits.page_points:
                    raise OverLimit(f"{job.name}: page {index + 1} is {width:.0f}×{height:.0f} points, over "
                                    f"the limit of {limits.page_points:g} points a side")
                layer = _layer_text(page)
                quality = layer_quality(layer)
                letters = _letters(layer)
                overlay = letters < SCAN_OVERLAY_LETTERS and _is_scan(page)
                if letters >= MIN_LAYER_LETTERS and quality >= MIN_LAYER_QUALITY and not overlay:
                    if _SIGNATURE_PAGE.search(layer) and _PARTY_HEADER.search(layer):
                        layer = positional_text(page)
                    doc.pages.append(PageText(index + 1, "text", quality, layer))
                    doc.seconds.append(time.perf_counter() - started)
                else:
                    tesseract = tesseract or tesseract_path()
                    _wait_for_room(pending, queue_size)
                    image = _render(page, width, height, limits)
                    doc.pages.append(pool.submit(_timed_ocr, image, tesseract, limits, job.name, index + 1))
                    doc.seconds.append(time.perf_counter() - started)   # rendering; Tesseract's time is added
            finally:
                page.close()
            if progress is not None:
                progress(job.name, index + 1, count)
    finally:
        pdf.close()


def _wait_for_room(pending: deque[_Doc], queue_size: int) -> None:
    """Block until fewer than ``queue_size`` rendered pages wait for Tesseract."""
    while True:
        waiting = [f for doc in pending for f in doc.futures() if not f.done()]
        if len(waiting) < queue_size:
            return
        wait(waiting, return_when=FIRST_COMPLETED)


def _timed_ocr(image: bytes, tesseract: str, limits: Limits, name: str, page: int) -> tuple[str, float, float]:
    started = time.perf_counter()
    text, quality = ocr_image(image, tesseract, limits, f"{name}: page {page}")
    return text, quality, time.perf_counter() - started


def _finish(doc: _Doc, limits: Limits) -> Outcome:
    if doc.error is None:
        for future in doc.futures():
            try:
                future.result(timeout=max(doc.deadline - time.monotonic(), 0.0) + limits.ocr_seconds)
            except TimeoutError:
                doc.error = (f"{doc.job.name}: not read within the limit of {limits.document_seconds:g} s a document")
                break
            except BadInput as exc:
                doc.error = str(exc)
                break
    if doc.error is not None:
        for future in doc.futures():
            future.cancel()
        return Outcome(doc.job.key, [], doc.error)
    result: list[PageText] = []
    seconds = list(doc.seconds)
    for number, item in enumerate(doc.pages, start=1):
        if isinstance(item, Future):
            text, quality, took = item.result()
            seconds[number - 1] += took
            result.append(PageText(number, "ocr" if text.strip() else "none", quality, text))
        elif isinstance(item, PageText):
            result.append(item)
    return Outcome(doc.job.key, result, None, tuple(round(s, 3) for s in seconds))


def extract(data: bytes, name: str = "document", limits: Limits = DEFAULT) -> list[PageText]:
    """Pages of one PDF (see :func:`extract_many`); a refusal raises its one-line :class:`BadInput`."""
    outcome = next(extract_many([Job(name, name, data)], limits=limits))
    if outcome.error is not None:
        raise BadInput(outcome.error)
    return outcome.pages
