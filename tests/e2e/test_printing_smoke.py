"""Smoke: every printed document comes out of the API as a PDF with its barcode."""
from __future__ import annotations

import io

import pypdfium2 as pdfium
import zxingcpp

from tests.e2e.steps import collect


def decode(pdf: bytes, page: int = 0) -> list[tuple[str, str]]:
    doc = pdfium.PdfDocument(io.BytesIO(pdf))
    img = doc[page].render(scale=203 / 72, grayscale=True).to_pil()
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(img)]


def test_smoke(staff):
    made = collect(staff)
    r = staff.get(made["label_url"], as_="clerk")
    assert r.status_code == 200, r.get_json()
    assert ("Code128", made["tracking_no"]) in decode(r.data)
    r = staff.get(made["receipt_url"] + "?size=A5", as_="clerk")
    assert r.status_code == 200, r.get_json()
    r = staff.get(f"/api/v1/packets/{made['tracking_no']}/label.zpl", as_="clerk")
    assert r.status_code == 200 and r.text.startswith("^XA"), r.data[:200]
    r = staff.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [made["tracking_no"]]}, as_="clerk")
    assert r.status_code == 201, r.get_json()
    m = r.json
    r = staff.get(m["pdf_url"], as_="clerk")
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.get_json()
    print(decode(r.data))
    r = staff.get(m["labels_url"], as_="courier")
    assert r.status_code == 200, r.get_json()
    r = staff.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [made["tracking_no"]]}, as_="clerk")
    assert r.status_code == 409, r.get_json()
    print(r.json)
