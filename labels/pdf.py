"""Drawing helpers every document shares: a canvas with the CJK font, fitted and wrapped text."""
from __future__ import annotations

import io
import re

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
    """The largest size up to `size` at which `s` fits `max_width`, but not below `min_size`."""
    at_one = width(s, 1)
    return max(min(min_size, size), min(size, max_width / at_one)) if at_one else size


_TOKENS = re.compile(r"\n|[ ]+|[!-~]+|.", re.S)


def wrap(s: str, max_width: float, size: float, max_lines: int = 99) -> list[str]:
    """Break Chinese text anywhere and Latin words at spaces (inside a word only when it is
    longer than a line); a text longer than `max_lines` ends in '…'. No line is wider than
    `max_width` and none holds a newline."""
    lines: list[str] = []
    line = ""

    def push(next_line: str = "") -> bool:
        nonlocal line
        lines.append(line.rstrip(" "))
        line = next_line
        return len(lines) < max_lines

    tokens = _TOKENS.findall(s)
    for i, token in enumerate(tokens):
        if token == "\n":
            if not push():
                return _with_ellipsis(lines, tokens[i + 1:], max_width, size)
            continue
        if token.startswith(" ") and not line:
            continue  # no line starts with a space
        if width(line + token, size) <= max_width:
            line += token
            continue
        if token.startswith(" "):
            if not push():
                return _with_ellipsis(lines, tokens[i + 1:], max_width, size)
            continue
        if line and width(token, size) <= max_width:  # the whole word (or character) on the next line
            if not push():
                return _with_ellipsis(lines, tokens[i:], max_width, size)
            line = token
            continue
        for j, ch in enumerate(token):  # a word longer than a line: split it
            if width(line + ch, size) > max_width and line:
                if not push():
                    return _with_ellipsis(lines, [token[j:], *tokens[i + 1:]], max_width, size)
            line += ch
    if line or not lines:
        lines.append(line.rstrip(" "))
    return lines


def _with_ellipsis(lines: list[str], rest: list[str], max_width: float, size: float) -> list[str]:
    """The last line, cut so that '…' still fits, marks that text was left out."""
    if not any(t.strip() for t in rest):
        return lines
    last = lines.pop()
    while last and width(last + "…", size) > max_width:
        last = last[:-1]
    return lines + [last + "…"]


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
    canvas.setFont(FONT, size)
    if bold:
        canvas.setLineWidth(size * 0.045)
        canvas.drawString(x, y, s, mode=2)  # fill and stroke; back to plain fill after
    else:
        canvas.drawString(x, y, s)
    if white:
        canvas.setFillGray(0)
        canvas.setStrokeGray(0)
