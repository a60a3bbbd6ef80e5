"""Bounds on every PDF g287 reads, checked before pdfium or Tesseract is given the document.

pdfium decompresses a whole stream into memory and decodes a whole image at render
time, and Tesseract's time grows with what it is shown; a hostile or damaged PDF (a
deflate bomb, an image declaring 10⁹ pixels, a page a mile wide, thousands of pages)
would otherwise take the machine's memory or a batch's time. Each limit below is
documented in docs/ARCHITECTURE.md ("MOA reading limits"); a document over one is
refused with one line naming it and the limit, and a batch goes on with the others.

:func:`scan` reads the raw bytes once: every stream's filters are applied in pieces
(zlib with ``max_length``; run-length counted) so the size a stream *would* decompress
to is known without ever holding it.
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from g287.errors import BadInput

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """What one document may cost. The defaults are 10-100× what ICE's MOAs need."""

    file_bytes: int = 64 * MIB             # bytes read from disk (ICE's largest MOA: ~6 MiB)
    stream_bytes: int = 256 * MIB          # one stream decompressed (a 600-dpi colour page: ~100 MiB)
    decompressed_bytes: int = 1024 * MIB   # all streams of the document decompressed, together
    image_pixels: int = 200_000_000        # one image as declared (/Width × /Height)
    pages: int = 500                       # an MOA has 10-30 pages
    page_points: float = 4320.0            # longest side of a page (60 in; a letter page is 792)
    render_pixels: int = 16_000_000        # one page rendered for OCR (letter at 200 dpi: 3.7 Mpx)
    ocr_seconds: float = 90.0              # Tesseract on one page (a dense scan: ~5 s)
    ocr_memory: int = 1024 * MIB           # Tesseract's address space on one page
    document_seconds: float = 900.0        # all pages of one document, OCR included


DEFAULT = Limits()


class OverLimit(BadInput):
    """A document exceeds one of the :class:`Limits`; the message names it and the limit."""


def read_regular_file(path: Path, limits: Limits = DEFAULT) -> bytes:
    """A regular file's bytes, at most ``limits.file_bytes``; devices, FIFOs and sockets refused.

    The file is opened without blocking (a FIFO would wait for a writer forever) and
    checked on the open handle, so a swap between the check and the read is no way in.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise BadInput(f"{path}: unreadable: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{path}: not a regular file (a device, FIFO or socket); only PDF files are read")
        if info.st_size > limits.file_bytes:
            raise OverLimit(f"{path}: {info.st_size:,} bytes, over the limit of {limits.file_bytes:,} bytes")
        data = handle.read(limits.file_bytes + 1)
    if len(data) > limits.file_bytes:
        raise OverLimit(f"{path}: over the limit of {limits.file_bytes:,} bytes (it grew while read)")
    return data


_STREAM = re.compile(rb"stream(?:\r\n|\n|\r)")
_ENDSTREAM = re.compile(rb"endstream")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]{0,400}\]|/[A-Za-z0-9]+)")
_DICT_TAIL = 4096   # how far back from "stream" its dictionary is looked for
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Scan:
    """What the raw bytes declare: streams, their decompressed total, the largest image."""

    streams: int
    decompressed: int
    largest_image: int


def scan(data: bytes, name: str, limits: Limits = DEFAULT) -> Scan:
    """Check every stream of raw PDF bytes against ``limits`` before the PDF is opened.

    Raises :class:`OverLimit` (one line naming ``name`` and the limit) for a stream
    that would decompress past ``stream_bytes``, a document past ``decompressed_bytes``
    or an image declaring more than ``image_pixels``. Linear in the file: each stream
    is read once, in pieces.
    """
    if len(data) > limits.file_bytes:
        raise OverLimit(f"{name}: {len(data):,} bytes, over the limit of {limits.file_bytes:,} bytes")
    total = streams = largest = 0
    position = 0
    while True:
        found = _STREAM.search(data, position)
        if found is None:
            break
        end = _ENDSTREAM.search(data, found.end())
        stop = end.start() if end else len(data)
        head = data[max(0, found.start() - _DICT_TAIL):found.start()]
        head = head[head.rfind(b"obj") + 3:] if b"obj" in head else head
        streams += 1
        pixels = _image_pixels(head)
        largest = max(largest, pixels)
        if pixels > limits.image_pixels:
            raise OverLimit(f"{name}: an image declares {pixels:,} pixels, over the limit of "
                            f"{limits.image_pixels:,}")
        size = _decoded_size(data, found.end(), stop, _filters(head), min(limits.stream_bytes,
                                                                         limits.decompressed_bytes - total))
        if size is None:
            limit = min(limits.stream_bytes, limits.decompressed_bytes - total)
            which = "one stream" if limit == limits.stream_bytes else "its streams together"
            raise OverLimit(f"{name}: {which} would decompress to more than {limit:,} bytes "
                            f"(limit {limits.stream_bytes:,} a stream, {limits.decompressed_bytes:,} a document)")
        total += size
        position = end.end() if end else len(data)
    return Scan(streams, total, largest)


def _filters(head: bytes) -> list[bytes]:
    found = _FILTER.search(head)
    if not found:
        return []
    return re.findall(rb"/([A-Za-z0-9]+)", found.group(1))


def _image_pixels(head: bytes) -> int:
    if not re.search(rb"/Subtype\s*/Image", head):
        return 0
    width = re.search(rb"/Width\s+(\d{1,12})(?!\s+\d+\s+R)", head)
    height = re.search(rb"/Height\s+(\d{1,12})(?!\s+\d+\s+R)", head)
    return int(width.group(1)) * int(height.group(1)) if width and height else 0


def _decoded_size(data: bytes, start: int, stop: int, filters: list[bytes], limit: int) -> int | None:
    """How many bytes the stream's filter chain gives, or None past ``limit`` (never held whole)."""
    pieces: Iterator[bytes] = (data[i:min(i + _CHUNK, stop)] for i in range(start, stop, _CHUNK))
    for name in filters:
        if name in (b"FlateDecode", b"Fl"):
            pieces = _inflate(pieces, limit)
        elif name in (b"RunLengthDecode", b"RL"):
            pieces = _run_length(pieces, limit)
        else:
            break   # images (DCT, JPX, JBIG2, CCITT) are bounded by their declared pixels
    size = 0
    try:
        for piece in pieces:
            size += len(piece)
            if size > limit:
                return None
    except _TooBig:
        return None
    return size


class _TooBig(Exception):
    pass


def _inflate(pieces: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """zlib output in pieces of at most ``_CHUNK`` bytes; damaged data ends the stream (as pdfium does)."""
    inflater = zlib.decompressobj()
    produced = 0
    try:
        for piece in pieces:
            buffered = piece
            while buffered and not inflater.eof:
                out = inflater.decompress(buffered, _CHUNK)
                produced += len(out)
                if produced > limit:
                    raise _TooBig
                yield out
                if not out and inflater.unconsumed_tail == buffered:
                    return   # no progress: damaged data, which pdfium also stops at
                buffered = inflater.unconsumed_tail
            if inflater.eof:
                return
    except zlib.error:
        return


def _run_length(pieces: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """RunLengthDecode output, one input piece at a time (at most 128× its size)."""
    produced = 0
    pending = b""
    for piece in pieces:
        buffered = pending + piece
        out = bytearray()
        index = 0
        while index < len(buffered):
            length = buffered[index]
            if length == 128:
                yield bytes(out)
                return
            if length < 128:
                if index + length + 2 > len(buffered):
                    break
                out += buffered[index + 1:index + length + 2]
                index += length + 2
            else:
                if index + 2 > len(buffered):
                    break
                out += buffered[index + 1:index + 2] * (257 - length)
                index += 2
        pending = buffered[index:]
        produced += len(out)
        if produced > limit:
            raise _TooBig
        yield bytes(out)
