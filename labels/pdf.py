"""Drawing helpers every document shares: a canvas with the CJK font, fitted and wrapped text."""
from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from labels.fonts import FONT, register

__all__ = ["mm", "new_canvas", "width", "fit", "wrap", "text", "pdf_bytes"]


def new_canvas(buffer: io.BytesIO, pagesize: tuple[float, float], title: str, font_path: str | None = None) -> Canvas:
    register(font_path)
    canvas = Canvas(buffer, pagesize=pagesize, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("通办寄递")
    canvas.setCreator("Tongban Relay")
    return canvas


def pdf_bytes(canvas: Canvas, buffer: io.BytesIO) -> bytes:
    canvas.save()
    return buffer.getvalue()


def width(s: str, size: float) -> float:
    return stringWidth(s, FONT, size)


def fit(s: str, max_width: float, size: float, min_size: float = 5) -> float:
    """The largest size up to `size` at which `s` fits `max_width` (never below `min_size`)."""
    at_one = width(s, 1)
    return max(min_size, min(size, max_width / at_one)) if at_one else size


def wrap(s: str, max_width: float, size: float, max_lines: int = 99) -> list[str]:
    """Break Chinese text anywhere (Latin words stay whole where they can); an overflow ends in '…'.

    Widths add up glyph by glyph (the face has no kerning), so each character is measured once.
    """
    lines: list[str] = []
    line, used = "", 0.0
    for i, ch in enumerate(s):
        w = width(ch, size)
        if ch == "\n" or used + w > max_width:
            if len(lines) == max_lines - 1:
                return lines + [_ellipsis(line + s[i:], max_width, size)]
            cut = line.rfind(" ") if ch not in "\n " and line[-1:] not in (" ", "") else -1
            if 0 < cut and line[cut + 1:].isascii():
                lines.append(line[:cut])
                line = line[cut + 1:]
                used = width(line, size)
            else:
                lines.append(line.rstrip())
                line, used = "", 0.0
            if ch in "\n ":
                continue
        line += ch
        used += w
    if line or not lines:
        lines.append(line)
    return lines


def _ellipsis(rest: str, max_width: float, size: float) -> str:
    line = ""
    for ch in rest:
        if width(line + ch + "…", size) > max_width:
            break
        line += ch
    return line + "…"


def text(canvas: Canvas, x: float, y: float, s: str, size: float, *, bold: bool = False,
         align: str = "left", white: bool = False) -> None:
    """One line of text; `bold` strokes the outline too (the face has no bold weight)."""
    if align == "center":
        x -= width(s, size) / 2
    elif align == "right":
        x -= width(s, size)
    if white:
        canvas.setFillGray(1)
        canvas.setStrokeGray(1)
    if bold:
        canvas.setLineWidth(size * 0.045)
        t = canvas.beginText(x, y)
        t.setFont(FONT, size)
        t.setTextRenderMode(2)
        t.textOut(s)
        t.setTextRenderMode(0)  # the mode outlives the text object: later text must not be bold
        canvas.drawText(t)
    else:
        canvas.setFont(FONT, size)
        canvas.drawString(x, y, s)
    if white:
        canvas.setFillGray(0)
        canvas.setStrokeGray(0)
