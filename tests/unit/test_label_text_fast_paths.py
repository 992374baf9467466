"""The label's cheaper ways of measuring, wrapping and writing text give what the plain ways give:
`wrap` decides as if it measured every candidate line with reportlab's `stringWidth`, and a page
written through `PageText` reads back like one written line by line with `text`."""
from __future__ import annotations

import io
import random
import re

import pypdfium2 as pdfium
import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from labels.fonts import FONT, register
from labels.pdf import PageText, _with_ellipsis, mm, new_canvas, pdf_bytes, text, units, width, wrap

ALPHABET = list("北京市朝阳区政务服务中心路号院楼（）邮编 abcdefgWiXYZ0123456789-.,  \n…")
_TOKENS = re.compile(r"\n|[ ]+|[!-~]+|.", re.S)


@pytest.fixture(scope="module", autouse=True)
def font():
    return register()


def measured_wrap(s: str, max_width: float, size: float, max_lines: int = 99) -> list[str]:
    """The rule `wrap` follows, measuring each candidate line in full (quadratic, plainly correct)."""
    lines: list[str] = []
    line = ""

    def push() -> bool:
        nonlocal line
        lines.append(line.rstrip(" "))
        line = ""
        return len(lines) < max_lines

    tokens = _TOKENS.findall(s)
    for i, token in enumerate(tokens):
        if token == "\n":
            if not push():
                return _with_ellipsis(lines, tokens[i + 1:], max_width, size)
            continue
        if token.startswith(" ") and not line:
            continue
        if width(line + token, size) <= max_width:
            line += token
            continue
        if token.startswith(" "):
            if not push():
                return _with_ellipsis(lines, tokens[i + 1:], max_width, size)
            continue
        if line and width(token, size) <= max_width:
            if not push():
                return _with_ellipsis(lines, tokens[i:], max_width, size)
            line = token
            continue
        for j, ch in enumerate(token):
            if width(line + ch, size) > max_width and line:
                if not push():
                    return _with_ellipsis(lines, [token[j:], *tokens[i + 1:]], max_width, size)
            line += ch
    if line or not lines:
        lines.append(line.rstrip(" "))
    return lines


def test_units_scaled_by_the_size_are_reportlabs_width_to_the_last_bit():
    rng = random.Random(1)
    for _ in range(3000):
        s = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        size = rng.choice([5, 7.5, 9.5, 12.5, rng.uniform(1, 40)])
        assert units(s) * 0.001 * size == stringWidth(s, FONT, size), (s, size)


def test_wrap_breaks_where_measuring_every_candidate_line_would():
    rng = random.Random(5)
    for _ in range(4000):
        s = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60)))
        size = rng.choice([5, 8, 9.5, 12.5, rng.uniform(4, 20)])
        # widths taken from the text itself put many lines exactly at the limit
        max_width = rng.choice([width(s[:rng.randint(0, len(s))], size), rng.uniform(1, 300)])
        max_lines = rng.choice([1, 2, 3, 99])
        assert wrap(s, max_width, size, max_lines) == measured_wrap(s, max_width, size, max_lines), \
            (s, max_width, size, max_lines)


LINES = [(10 * mm, 120 * mm, "政务专递", 15, True, "center", True), (40 * mm, 120 * mm, "申请材料", 13, True, "left", False),
         (90 * mm, 125 * mm, "2026-11-29", 7.5, False, "right", False),
         (5 * mm, 80 * mm, "北京市朝阳区政务服务中心  010-65090001", 12.5, True, "left", False),
         (5 * mm, 70 * mm, "北京市朝阳区朝阳路1号（邮编 100020）", 10, False, "left", False),
         (50 * mm, 20 * mm, "EA123456785CN", 14, True, "center", False)]


def _page(draw) -> tuple[list[tuple[str, tuple[float, ...]]], bytes]:
    """(each character read back with its box, the page rasterised at 300 dpi)."""
    buffer = io.BytesIO()
    c = new_canvas(buffer, (100 * mm, 150 * mm), "t")
    c.rect(5 * mm, 115 * mm, 30 * mm, 12 * mm, stroke=0, fill=1)  # the black box the white line sits on
    draw(c)
    c.line(5 * mm, 60 * mm, 95 * mm, 60 * mm)  # drawn after the text: its width is the canvas's again
    c.showPage()
    page = pdfium.PdfDocument(io.BytesIO(pdf_bytes(c, buffer)))[0]
    tp = page.get_textpage()
    chars = [(tp.get_text_range(i, 1), tuple(round(v, 1) for v in tp.get_charbox(i))) for i in range(tp.count_chars())]
    return chars, page.render(scale=300 / 72, grayscale=True).to_pil().tobytes()


def test_a_page_written_through_page_text_reads_back_like_one_written_line_by_line():
    def one_by_one(c):
        for x, y, s, size, bold, align, white in LINES:
            text(c, x, y, s, size, bold=bold, align=align, white=white)
        c.setLineWidth(1)  # what `text` leaves behind after a bold line; PageText restores it itself

    def gathered(c):
        t = PageText(c)
        for x, y, s, size, bold, align, white in LINES:
            t.text(x, y, s, size, bold=bold, align=align, white=white)
        t.draw()

    chars, pixels = _page(one_by_one)
    assert len(chars) > 60
    assert _page(gathered) == (chars, pixels), "the same glyphs, boxes and pixels (bold, white on black)"
