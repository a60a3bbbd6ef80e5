"""PDFs written object by object, for tests that need a document of a given shape (hostile or not).

Each builder returns the bytes of a PDF a viewer opens (a cross-reference table with real
offsets), so what a test exercises is g287's reading, not a parser's repair of a sloppy file.
"""

from __future__ import annotations

import zlib


def pdf(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """A PDF of ``objects`` (object i+1 is ``objects[i]``), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, trailer_extra, xref)
    return bytes(out)


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(content), extra) + content + b"\nendstream"


def _escape(line: str) -> bytes:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1", "replace")


def text_pdf(pages: list[str]) -> bytes:
    """A born-digital PDF: each page's lines in Helvetica, 12 pt, top to bottom."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 "
                            b"/BaseFont /Helvetica >>"]
    kids = []
    for page in pages:
        lines = page.splitlines() or [""]
        ops = b"BT /F1 11 Tf 14 TL 54 740 Td " + b" ".join(b"(%s) Tj T*" % _escape(line) for line in lines) + b" ET"
        objects.append(_stream(ops))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % len(objects))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    return pdf(objects)


def blank_pages(count: int) -> bytes:
    """``count`` pages sharing one empty content stream (a 3,000-page PDF is ~350 KB)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", _stream(b"")]
    kids = []
    for _ in range(count):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>")
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), count)
    return pdf(objects)


def deflate_bomb(decompressed: int) -> bytes:
    """One page whose content stream inflates to ``decompressed`` bytes of spaces (~1000:1)."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    body = bytearray()
    for _ in range(decompressed // len(chunk)):
        body += packer.compress(chunk)
    body += packer.flush()
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                _stream(bytes(body), b"/Filter /FlateDecode ")])


def looping_page_tree() -> bytes:
    """A page tree whose only kid is a Pages node pointing back at its parent."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"])


def zero_pages() -> bytes:
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def encrypted() -> bytes:
    """A standard-security-handler PDF whose user password is not empty (and not known)."""
    body = pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
                b"<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32
                + b"> >>"], trailer_extra=b"/Encrypt 4 0 R /ID [<0123456789abcdef0123456789abcdef>"
                                          b"<0123456789abcdef0123456789abcdef>] ")
    return body


def image_page(width: int, height: int, pixels: bytes | None = None, *, declared: tuple[int, int] | None = None,
               page: tuple[int, int] = (612, 792)) -> bytes:
    """One page covered by a greyscale image (raw pixels, Flate-compressed); ``declared`` may lie."""
    data = pixels if pixels is not None else bytes(width * height)
    w, h = declared or (width, height)
    image = zlib.compress(data)
    content = b"q %d 0 0 %d 0 0 cm /Im1 Do Q" % page
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R "
                b"/Resources << /XObject << /Im1 5 0 R >> >> >>" % page,
                _stream(content),
                _stream(image, b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                               b"/BitsPerComponent 8 /Filter /FlateDecode " % (w, h))])
