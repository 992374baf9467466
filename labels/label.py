"""The mailing label (快递电子运单 after GB/T 41833-2022), in three roll sizes.

Zones from the top: service and kind; the Code 128 of the tracking number with its readable
line; the sort code (destination division and hub) and destination, large, for sorting by eye;
recipient (收); sender (寄); contents, case number and a QR code to the public tracking page;
the signature zone (签收). Sizes scale every zone, so one layout serves every roll.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import chain, islice

from reportlab.pdfgen.canvas import Canvas

from labels.barcodes import draw_code128, draw_qr
from labels.pdf import PageText, fit, mm, new_canvas, pdf_bytes, text, wrap
from labels.specs import LabelSpec, Party

SIZES = {"100x150": (100, 150), "100x180": (100, 180), "76x130": (76, 130)}
DEFAULT_SIZE = "100x150"
# share of the inner height per zone, top to bottom
ZONES = (("header", 0.075), ("barcode", 0.20), ("sort", 0.15), ("recipient", 0.17),
         ("sender", 0.12), ("contents", 0.18), ("sign", 0.105))
MARGIN = 2.5 * mm
HEADER_BOX = 0.34  # the black service box's share of the width
BRAND = "通办寄递"
SIGN_NAME, SIGN_TIME = "签收人：", "时间：   月   日"
SIGN_NOTE = "请当面核对内件后签收；内件如有缺损请在此注明。"


def contents_rows(spec: LabelSpec) -> tuple[str, ...]:
    """What is inside, never which matter: a matter's name can reveal private facts."""
    carried = f"承运：{spec.carrier}" + (f" 运单号 {spec.waybill_no}" if spec.waybill_no else "") if spec.carrier else ""
    return (f"内件：{spec.contents_name} {spec.pieces} 件", f"办件编号：{spec.case_no}",
            carried or f"服务：{spec.service}  请勿折叠", "扫码查询寄递进度")


def party_lines(party: Party) -> tuple[str, str]:
    return f"{party.name}  {party.phone}".strip(), party.address + (f"（邮编 {party.postcode}）" if party.postcode else "")


def label_texts(spec: LabelSpec) -> list[str]:
    """Every string the label prints (the benchmark's bare canvas draws the same)."""
    return [spec.service, spec.kind_title, spec.created.isoformat(), BRAND, spec.tracking_no, spec.sort_code,
            spec.hub_code, spec.destination, "收", *party_lines(spec.recipient), "寄", *party_lines(spec.sender),
            *contents_rows(spec), SIGN_NAME, SIGN_TIME, SIGN_NOTE]


def page_size(size: str) -> tuple[float, float]:
    w, h = SIZES[size]
    return w * mm, h * mm


@lru_cache(maxsize=16)
def zones(page_w: float, page_h: float) -> tuple[tuple[str, float, float, float, float, float], ...]:
    """(name, x, y, width, height, text scale) of each zone, top to bottom; the same for every label of a size."""
    x0, w = MARGIN, page_w - 2 * MARGIN
    inner = page_h - 2 * MARGIN
    scale = min(w / (95 * mm), 1.0)  # text shrinks on the narrow roll
    out, top = [], page_h - MARGIN
    for name, share in ZONES:
        h = inner * share
        out.append((name, x0, top - h, w, h, scale))
        top -= h
    return tuple(out)


def _tag_width(s: float) -> float:
    return 8 * mm * max(s, 0.8)


def draw_frame(c: Canvas, page_w: float, page_h: float) -> None:
    """What every label of a size shares: border, zone lines, the 收 and 寄 marks, the signature zone.
    A batch draws it once as a form and places it on every page."""
    c.setLineWidth(1)
    c.rect(MARGIN, MARGIN, page_w - 2 * MARGIN, page_h - 2 * MARGIN)
    for name, x, y, w, h, s in zones(page_w, page_h):
        if name != "sign":
            c.line(x, y, x + w, y)
        if name == "header":
            c.rect(x, y, w * HEADER_BOX, h, stroke=0, fill=1)
            text(c, x + w - 1.5 * mm, y + h * 0.18, BRAND, 7.5 * s, align="right")
        elif name in ("recipient", "sender"):
            tag_w = _tag_width(s)
            c.line(x + tag_w, y, x + tag_w, y + h)
            text(c, x + tag_w / 2, y + h / 2 - 5 * s, "收" if name == "recipient" else "寄", 14 * s, bold=True,
                 align="center")
        elif name == "sign":
            size = 9 * s
            text(c, x + 2 * mm, y + h - size - 1.8 * mm, SIGN_NAME, size, bold=True)
            c.line(x + 2 * mm + size * 4, y + h - size - 2.2 * mm, x + w * 0.55, y + h - size - 2.2 * mm)
            text(c, x + w * 0.58, y + h - size - 1.8 * mm, SIGN_TIME, size)
            text(c, x + 2 * mm, y + 1.8 * mm, SIGN_NOTE, fit(SIGN_NOTE, w - 4 * mm, 7 * s))


def draw_label(c: Canvas, spec: LabelSpec, page_w: float, page_h: float, frame: str | None = None) -> None:
    """One label on the current page; `frame` names a form holding `draw_frame`, where the caller made one."""
    if frame:
        c.doForm(frame)
    else:
        draw_frame(c, page_w, page_h)
    t = PageText(c)  # every line of the zones, written as one text object after their marks
    for name, x, y, w, h, s in zones(page_w, page_h):
        drawer = _ZONE_DRAWERS.get(name)
        if drawer:
            drawer(c, t, spec, x, y, w, h, s)
    t.draw()


def _header(c, t: PageText, spec: LabelSpec, x, y, w, h, s):
    box_w = w * HEADER_BOX
    size = fit(spec.service, box_w - 3 * mm, 15 * s)
    t.text(x + box_w / 2, y + (h - size * 0.8) / 2, spec.service, size, bold=True, align="center", white=True)
    size = fit(spec.kind_title, w * 0.33, 13 * s)
    t.text(x + box_w + 2 * mm, y + (h - size * 0.8) / 2, spec.kind_title, size, bold=True)
    t.text(x + w - 1.5 * mm, y + h * 0.56, spec.created.isoformat(), 7.5 * s, align="right")


def _barcode(c, t: PageText, spec: LabelSpec, x, y, w, h, s):
    number_size = min(14 * s, h * 0.2)
    bars_h = h - number_size - 4 * mm
    draw_code128(c, x + 1 * mm, y + number_size + 2.5 * mm, w - 2 * mm, bars_h, spec.tracking_no)
    t.text(x + w / 2, y + 1.5 * mm, spec.tracking_no, number_size, bold=True, align="center")


def _sort(c, t: PageText, spec: LabelSpec, x, y, w, h, s):
    code_size = fit(spec.sort_code, w * 0.5, h * 0.5)
    t.text(x + 2 * mm, y + h - code_size * 0.85 - 1.5 * mm, spec.sort_code, code_size, bold=True)
    hub_w = w * 0.42
    hub_h = h * 0.42
    hub_x, hub_y = x + w - hub_w - 2 * mm, y + h - hub_h - 1.8 * mm
    c.setLineWidth(1.6)
    c.rect(hub_x, hub_y, hub_w, hub_h)
    c.setLineWidth(1)
    size = fit(spec.hub_code, hub_w - 3 * mm, hub_h * 0.62)
    t.text(hub_x + hub_w / 2, hub_y + (hub_h - size * 0.75) / 2, spec.hub_code, size, bold=True, align="center")
    size = fit(spec.destination, w - 4 * mm, 13 * s, 8 * s)
    lines = wrap(spec.destination, w - 4 * mm, size, 2)
    for i, line in enumerate(lines):
        t.text(x + 2 * mm, y + 1.8 * mm + (len(lines) - 1 - i) * size * 1.15, line, size, bold=True)


def _party(t: PageText, party: Party, x, y, w, h, s, *, name_size: float, body_size: float):
    tag_w = _tag_width(s)
    left, room = x + tag_w + 2 * mm, w - tag_w - 4 * mm
    first, address = party_lines(party)
    size = fit(first, room, name_size, body_size)
    lines = wrap(first, room, size, 2)
    yy = y + h - size - 1.5 * mm
    for line in lines:
        t.text(left, yy, line, size, bold=True)
        yy -= size * 1.2
    max_lines = max(1, int((yy - y - 1 * mm) // (body_size * 1.2)) + 1)
    for line in wrap(address, room, body_size, max_lines):
        t.text(left, yy, line, body_size)
        yy -= body_size * 1.2


def _recipient(c, t: PageText, spec: LabelSpec, x, y, w, h, s):
    _party(t, spec.recipient, x, y, w, h, s, name_size=12.5 * s, body_size=10 * s)


def _sender(c, t: PageText, spec: LabelSpec, x, y, w, h, s):
    _party(t, spec.sender, x, y, w, h, s, name_size=9.5 * s, body_size=8 * s)


def _contents(c, t: PageText, spec: LabelSpec, x, y, w, h, s):
    qr = min(h - 1.5 * mm, w * 0.34)
    draw_qr(c, x + w - qr - 0.5 * mm, y + (h - qr) / 2, qr, spec.track_url)
    room = w - qr - 4 * mm
    rows = contents_rows(spec)
    size = min(9.5 * s, (h - 3 * mm) / (len(rows) * 1.25))
    yy = y + h - size - 1.8 * mm
    for i, row in enumerate(rows):
        t.text(x + 2 * mm, yy, row, fit(row, room, size), bold=i < 2)
        yy -= size * 1.3


# what changes from label to label, zone by zone (the signature zone is all frame)
_ZONE_DRAWERS: dict[str, Callable] = {"header": _header, "barcode": _barcode, "sort": _sort,
                                      "recipient": _recipient, "sender": _sender, "contents": _contents}


def label_pdf(spec: LabelSpec, size: str = DEFAULT_SIZE, *, font_path: str | None = None) -> bytes:
    return labels_pdf([spec], size, font_path=font_path, title=f"邮件面单 {spec.tracking_no}")


def labels_pdf(specs: Iterable[LabelSpec], size: str = DEFAULT_SIZE, *, font_path: str | None = None,
               title: str = "邮件面单", progress: Callable[[int], None] | None = None) -> bytes:
    """One page per label, in the order given; `progress(n)` after each page."""
    page_w, page_h = page_size(size)
    buffer = io.BytesIO()
    c = new_canvas(buffer, (page_w, page_h), title, font_path)
    specs = iter(specs)
    head = list(islice(specs, 2))
    frame = None
    if len(head) > 1:  # a form pays from the second page on; a single label draws its frame directly
        c.beginForm("frame", 0, 0, page_w, page_h)
        draw_frame(c, page_w, page_h)
        c.endForm()
        frame = "frame"
    for i, spec in enumerate(chain(head, specs), 1):
        draw_label(c, spec, page_w, page_h, frame=frame)
        c.showPage()
        if progress:
            progress(i)
    return pdf_bytes(c, buffer)
