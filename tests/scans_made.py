"""Scans and photos made in the test, as a window's scanner, high-speed camera or phone would make them, and
files made to deceive: real PDFs (reportlab) and images (Pillow), never downloaded."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw


def pdf_scan(pages: int = 1, title: str = "scan") -> bytes:
    """A scanned document of `pages` pages, each with a line of text and a box drawn on it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    for n in range(1, pages + 1):
        page.setFont("Helvetica", 14)
        page.drawString(72, 760, f"{title} page {n}")
        page.rect(72, 400, 300, 300)
        page.showPage()
    page.save()
    return out.getvalue()


def jpeg_photo(width: int = 800, height: int = 600, colour=(200, 210, 220)) -> bytes:
    """A phone's photo of a card: a filled picture with a darker frame."""
    image = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(image).rectangle((40, 40, width - 40, height - 40), outline=(20, 30, 40), width=8)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def png_scan(width: int = 600, height: int = 800) -> bytes:
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).line((50, 50, width - 50, height - 50), fill=0, width=5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pdf_with_javascript() -> bytes:
    """A PDF that runs a script when opened: what no reader of ours may ever be handed."""
    return (b"%PDF-1.4\n"
            b"1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
            b"4 0 obj<</S/JavaScript/JS(app.alert('x'))>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")
