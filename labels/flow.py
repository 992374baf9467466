"""Documents of a page or more (receipt, manifest, notices): reportlab's platypus with CJK styles.

Text wraps anywhere between Chinese characters (`wordWrap="CJK"`); barcodes and QR codes are
flowables that draw with `labels.barcodes`; every page is numbered "第 n 页 共 m 页".
"""
from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate
from reportlab.pdfgen.canvas import Canvas

from labels.barcodes import code128_width_modules, draw_code128, draw_qr
from labels.fonts import FONT, register
from labels.pdf import mm, text

# a ruled table in the CJK font
GRID = [("FONTNAME", (0, 0), (-1, -1), FONT), ("GRID", (0, 0), (-1, -1), 0.6, "black"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
PAGE_SIZES = {"A4": (210 * mm, 297 * mm), "A5": (148 * mm, 210 * mm), "A4-landscape": (297 * mm, 210 * mm)}


def style(size: float = 10.5, *, leading: float | None = None, align: int = 0, space_after: float = 0,
          indent: float = 0) -> ParagraphStyle:
    """align: 0 left, 1 centre, 2 right, 4 justified."""
    return ParagraphStyle(f"s{size}-{align}", fontName=FONT, fontSize=size, leading=leading or size * 1.5,
                          alignment=align, wordWrap="CJK", spaceAfter=space_after, firstLineIndent=indent)


def para(value: str, st: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: what people typed is never markup)."""
    return Paragraph(escape(value).replace("\n", "<br/>"), st)


class Code128(Flowable):
    """A Code 128 with its text under it; modules at least `min_module` wide."""

    def __init__(self, data: str, height: float = 12 * mm, min_module: float = 0.33 * mm, caption: bool = True):
        super().__init__()
        self.data, self.bar_height, self.caption = data, height, caption
        self.width = code128_width_modules(data) * min_module
        self.height = height + (4.5 * mm if caption else 0)

    def draw(self) -> None:
        c = self.canv
        base = 4.5 * mm if self.caption else 0
        draw_code128(c, 0, base, self.width, self.bar_height, self.data)
        if self.caption:
            text(c, self.width / 2, 0.8 * mm, self.data, 9, align="center")


class QRCode(Flowable):
    def __init__(self, data: str, size: float = 28 * mm):
        super().__init__()
        self.data, self.width, self.height = data, size, size

    def draw(self) -> None:
        draw_qr(self.canv, 0, 0, self.width, self.data)


class _NumberedCanvas(Canvas):
    """Holds pages back until the end, so that each can say how many there are."""
    footer = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for n, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            w, _ = self._pagesize
            text(self, w / 2, 8 * mm, f"{self.footer}第 {n} 页 共 {total} 页", 8, align="center")
            super().showPage()
        super().save()


def build(story: list, page: str, title: str, *, footer: str = "", font_path: str | None = None,
          margins: float = 15 * mm) -> bytes:
    register(font_path)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=PAGE_SIZES[page], title=title, author="通办寄递",
                            creator="Tongban Relay", leftMargin=margins, rightMargin=margins,
                            topMargin=margins, bottomMargin=margins + 4 * mm)
    canvas_class = type("Numbered", (_NumberedCanvas,), {"footer": f"{footer}  " if footer else ""})
    doc.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()
