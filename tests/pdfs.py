"""Reading printed documents the way a printer and a scanner would: rasterise, decode, extract text."""
from __future__ import annotations

import io
import re

import pypdfium2 as pdfium
import zxingcpp

MM = 72 / 25.4  # points per millimetre


def pages(pdf: bytes) -> int:
    return len(pdfium.PdfDocument(io.BytesIO(pdf)))


def page_size_mm(pdf: bytes, page: int = 0) -> tuple[float, float]:
    w, h = pdfium.PdfDocument(io.BytesIO(pdf))[page].get_size()
    return w / MM, h / MM


def text(pdf: bytes, page: int | None = None) -> str:
    """The text a PDF reader extracts, of one page or all pages."""
    doc = pdfium.PdfDocument(io.BytesIO(pdf))
    chosen = range(len(doc)) if page is None else [page]
    return "\n".join(doc[i].get_textpage().get_text_range() for i in chosen)


def barcodes(pdf: bytes, page: int = 0, dpi: int = 203) -> list[tuple[str, str]]:
    """(format, text) of every barcode and QR code a scanner finds on the page rendered at `dpi`."""
    doc = pdfium.PdfDocument(io.BytesIO(pdf))
    image = doc[page].render(scale=dpi / 72, grayscale=True).to_pil()
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)]


def code128(pdf: bytes, page: int = 0, dpi: int = 203) -> list[str]:
    return [t for f, t in barcodes(pdf, page, dpi) if f == "Code128"]


def qr(pdf: bytes, page: int = 0, dpi: int = 203) -> list[str]:
    return [t for f, t in barcodes(pdf, page, dpi) if f == "QRCode"]


def embedded_fonts(pdf: bytes) -> int:
    """TrueType font programs embedded in the file (a `FontFile2` stream each)."""
    return len(re.findall(rb"/FontFile2\b", pdf))


def uses_unembedded_fonts(pdf: bytes) -> bool:
    """A font dictionary without an embedded program (e.g. STSong-Light, a CID font left to the reader)."""
    return b"STSong" in pdf or b"/FontFile " in pdf or b"/FontFile3" in pdf
