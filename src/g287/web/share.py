"""Share images (1200 × 630 PNG, what social sites show for a link) of agency and state pages:
the name, the figures the page leads with and the ICE sheet they come from, in the page's
language. Drawn with Pillow and the DejaVu fonts matplotlib ships, so nothing is fetched."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

from g287.places import maps

WIDTH, HEIGHT = 1200, 630
INK, MUTED, ACCENT = "#1a1a1a", "#555555", "#0b5394"


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return ImageFont.truetype(str(folder / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int, lines: int) -> list[str]:
    """Words to lines no wider than ``width`` (the last line ends with … when cut)."""
    out: list[str] = []
    for word in text.split():
        if out and draw.textlength(f"{out[-1]} {word}", font=font) <= width:
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1].rstrip(".,;") + " …"
    return out


def card(title: str, subtitle: str, figures: Sequence[tuple[str, str, str | None]], source: str) -> bytes:
    """A PNG: title, subtitle, up to four figures (number, label, swatch colour) and the source."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "#ffffff")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 14), fill=ACCENT)
    y = 50
    for line in _wrap(draw, title, _font(56, True), WIDTH - 260, 3):
        draw.text((60, y), line, font=_font(56, True), fill=INK)
        y += 68
    draw.text((60, y + 6), subtitle, font=_font(32), fill=MUTED)
    y += 80
    x = 60
    for number, label, colour in figures[:4]:
        if colour:
            draw.rectangle((x, y + 14, x + 26, y + 40), fill=colour)
        draw.text((x + (38 if colour else 0), y), number, font=_font(52, True), fill=INK)
        for n, line in enumerate(_wrap(draw, label, _font(24), 240, 2)):
            draw.text((x, y + 66 + 30 * n), line, font=_font(24), fill=MUTED)
        x += 270
    for n, line in enumerate(_wrap(draw, source, _font(22), WIDTH - 120, 2)):
        draw.text((60, HEIGHT - 90 + 30 * n), line, font=_font(22), fill=MUTED)
    draw.text((WIDTH - 60, 40), "g287", font=_font(30, True), fill=ACCENT, anchor="ra")
    out = io.BytesIO()
    # A few dozen flat colours: an adaptive palette keeps the file small (≈ 15 KB).
    image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(out, "PNG", optimize=True)
    return out.getvalue()


def model_colour(model: str) -> str:
    return maps.MODEL_FILLS.get(model, maps.MODEL_FILLS["several"])
