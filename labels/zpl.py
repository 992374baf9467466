"""The mailing label as ZPL II for 203 dpi thermal printers, 100×150 mm: the PDF's zones.

UTF-8 text (`^CI28`) in a TrueType font stored on the printer (the font name is a setting:
printers ship with different Chinese fonts). Field data passes through `^FH` hex escapes, so a
caret or tilde in an address can never become a printer command.
"""
from __future__ import annotations

from labels.label import BRAND, SIGN_NAME, SIGN_NOTE, SIGN_TIME, ZONES, contents_rows, party_lines
from labels.specs import LabelSpec

DOTS_PER_MM = 8  # 203 dpi
WIDTH_MM, HEIGHT_MM = 100, 150
DEFAULT_FONT = "E:SIMSUN.TTF"


def _escape(value: str) -> str:
    return value.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


class _Zpl:
    def __init__(self, font: str):
        self.font, self.out = font, []

    def text(self, x: int, y: int, value: str, height: int, *, width: int = 0, lines: int = 1,
             reverse: bool = False, align: str = "L") -> None:
        block = f"^FB{width},{lines},4,{align},0" if width else ""
        self.out.append(f"^FO{x},{y}^A@N,{height},{height},{self.font}{block}{'^FR' if reverse else ''}"
                        f"^FH_^FD{_escape(value)}^FS")

    def box(self, x: int, y: int, w: int, h: int, thickness: int = 2) -> None:
        self.out.append(f"^FO{x},{y}^GB{w},{h},{thickness}^FS")


def label_zpl(spec: LabelSpec, font: str = DEFAULT_FONT) -> str:
    d = DOTS_PER_MM
    margin = round(2.5 * d)
    x0, w = margin, WIDTH_MM * d - 2 * margin
    inner = HEIGHT_MM * d - 2 * margin
    z = _Zpl(font)
    z.box(x0, margin, w, inner, 3)
    top = margin
    zones = {}
    for name, share in ZONES:
        zones[name] = (top, round(inner * share))
        top += zones[name][1]
        if name != "sign":
            z.box(x0, top, w, 0, 2)
    pad = 2 * d

    y, h = zones["header"]
    z.box(x0, y, round(w * 0.34), h, h)  # a filled box: white text on black
    z.text(x0, y + (h - 40) // 2, spec.service, 40, width=round(w * 0.34), align="C", reverse=True)
    z.text(x0 + round(w * 0.34) + pad, y + (h - 36) // 2, spec.kind_title, 36)
    z.text(x0, y + 12, spec.created.isoformat(), 20, width=w - pad, align="R")
    z.text(x0, y + h - 34, BRAND, 20, width=w - pad, align="R")

    y, h = zones["barcode"]
    z.out.append(f"^FO{x0 + 5 * d},{y + pad}^BY3,3,{h - 60}^BCN,{h - 60},N,N,N,A^FD{spec.tracking_no}^FS")
    z.text(x0, y + h - 44, spec.tracking_no, 38, width=w, align="C")

    y, h = zones["sort"]
    z.text(x0 + pad, y + pad, spec.sort_code, 90)
    z.box(x0 + round(w * 0.56), y + pad, round(w * 0.42), 80, 4)
    z.text(x0 + round(w * 0.56), y + pad + 18, spec.hub_code, 50, width=round(w * 0.42), align="C")
    z.text(x0 + pad, y + h - 44, spec.destination, 34, width=w - 2 * pad)

    tag = 8 * d
    for zone, mark, party, name_h, body_h in (("recipient", "收", spec.recipient, 34, 28),
                                              ("sender", "寄", spec.sender, 26, 22)):
        y, h = zones[zone]
        z.box(x0 + tag, y, 0, h, 2)
        z.text(x0, y + (h - 44) // 2, mark, 44, width=tag, align="C")
        first, address = party_lines(party)
        z.text(x0 + tag + pad, y + pad, first, name_h, width=w - tag - 2 * pad)
        z.text(x0 + tag + pad, y + pad + name_h + 10, address, body_h, width=w - tag - 2 * pad, lines=3)

    y, h = zones["contents"]
    for i, row in enumerate(contents_rows(spec)):
        z.text(x0 + pad, y + pad + i * 34, row, 26)
    z.out.append(f"^FO{x0 + w - 27 * d},{y + 8}^BQN,2,6^FH_^FDMA,{_escape(spec.track_url)}^FS")

    y, h = zones["sign"]
    z.text(x0 + pad, y + pad, SIGN_NAME, 26)
    z.box(x0 + pad + 110, y + pad + 28, round(w * 0.4), 0, 2)
    z.text(x0 + round(w * 0.58), y + pad, SIGN_TIME, 26)
    z.text(x0 + pad, y + h - 30, SIGN_NOTE, 20)
    body = "\n".join(z.out)
    return f"^XA\n^CI28\n^PW{WIDTH_MM * d}\n^LL{HEIGHT_MM * d}\n^LH0,0\n{body}\n^PQ1\n^XZ\n"
