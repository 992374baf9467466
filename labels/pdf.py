"""Drawing helpers every document shares: a canvas with the CJK font, fitted and wrapped text."""
from __future__ import annotations

import io
import re

from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.pdfgen.canvas import Canvas

from labels.fonts import FONT, register

__all__ = ["mm", "new_canvas", "width", "fit", "wrap", "text", "PageText", "pdf_bytes"]


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


class _CharUnits(dict):
    """Advance of each character in thousandths of the size, read from the face once.

    The packaged face's widths are multiples of 1/2048 (any face's are, at 1,000 or a power of two
    units an em), so their sums are exact in floating point: `units(a) + units(b)` is
    `units(a + b)` to the last bit, and `u * 0.001 * size` is what reportlab's `stringWidth`
    returns (its own order of operations)."""

    def __missing__(self, ch: str) -> float:
        face = getFont(FONT).face
        value = self[ch] = face.charWidths.get(ord(ch), face.defaultWidth)
        return value


_CHAR_UNITS = _CharUnits()


def units(s: str) -> float:
    return sum(map(_CHAR_UNITS.__getitem__, s))


def wrap(s: str, max_width: float, size: float, max_lines: int = 99) -> list[str]:
    """Break Chinese text anywhere and Latin words at spaces (inside a word only when it is
    longer than a line); a text longer than `max_lines` ends in '…'. No line is wider than
    `max_width` and none holds a newline.

    The width of the line so far is carried along rather than measured again with each
    character: the same decisions as measuring `line + token`, in linear instead of quadratic time."""
    if "\n" not in s and units(s) * 0.001 * size <= max_width:
        return [s.strip(" ")]  # what the loop below makes of a line that fits, without the loop
    lines: list[str] = []
    line, line_units = "", 0.0

    def push() -> bool:
        nonlocal line, line_units
        lines.append(line.rstrip(" "))
        line, line_units = "", 0.0
        return len(lines) < max_lines

    tokens = _TOKENS.findall(s)
    for i, token in enumerate(tokens):
        if token == "\n":
            if not push():
                return _with_ellipsis(lines, tokens[i + 1:], max_width, size)
            continue
        if token.startswith(" ") and not line:
            continue  # no line starts with a space
        token_units = units(token)
        if (line_units + token_units) * 0.001 * size <= max_width:
            line += token
            line_units += token_units
            continue
        if token.startswith(" "):
            if not push():
                return _with_ellipsis(lines, tokens[i + 1:], max_width, size)
            continue
        if line and token_units * 0.001 * size <= max_width:  # the whole word (or character) on the next line
            if not push():
                return _with_ellipsis(lines, tokens[i:], max_width, size)
            line, line_units = token, token_units
            continue
        for j, ch in enumerate(token):  # a word longer than a line: split it
            ch_units = _CHAR_UNITS[ch]
            if (line_units + ch_units) * 0.001 * size > max_width and line:
                if not push():
                    return _with_ellipsis(lines, [token[j:], *tokens[i + 1:]], max_width, size)
            line += ch
            line_units += ch_units
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


class PageText:
    """Lines of text gathered for one page and written as a single PDF text object by `draw`.

    The same operators `text` makes (font subset and size, position, fill-and-stroke for bold,
    white on black), but `drawString` builds, formats and joins a text object for every line,
    which is most of the cost of a label; here a line costs its position and its glyphs.
    Wrapped in q/Q, so the line widths and colours it sets end with it.
    """

    def __init__(self, canvas: Canvas):
        font = getFont(FONT)
        self._canvas, self._doc = canvas, canvas._doc
        self._split, self._subset_name = font.splitString, font.getSubsetInternalName
        self._code = ["q BT 0 g 0 G"]
        self._subset = self._size = self._line_width = None
        self._mode, self._gray = 0, 0

    def text(self, x: float, y: float, s: str, size: float, *, bold: bool = False, align: str = "left",
             white: bool = False) -> None:
        if align == "center":
            x -= width(s, size) / 2
        elif align == "right":
            x -= width(s, size)
        code = self._code
        gray, mode = (1 if white else 0), (2 if bold else 0)
        if gray != self._gray:
            code.append(f"{gray} g {gray} G")
            self._gray = gray
        if mode != self._mode:
            code.append(f"{mode} Tr")
            self._mode = mode
        if bold and size * 0.045 != self._line_width:
            self._line_width = size * 0.045
            code.append(f"{fp_str(self._line_width)} w")
        code.append(f"1 0 0 1 {fp_str(x, y)} Tm")
        for subset, chunk in self._split(s, self._doc):
            if subset != self._subset or size != self._size:
                code.append(f"{self._subset_name(subset, self._doc)} {fp_str(size)} Tf")
                self._subset, self._size = subset, size
            code.append(f"({escapePDF(chunk)}) Tj")

    def getCode(self) -> str:  # what Canvas.drawText asks a text object for
        return " ".join(self._code) + " ET Q"

    def draw(self) -> None:
        self._canvas.drawText(self)
