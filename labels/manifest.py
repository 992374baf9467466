"""The handover sheet (交接清单): every packet handed over at once, signed by both parties."""
from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from labels.flow import GRID, Code128, build, para, style
from labels.fonts import register
from labels.specs import ManifestSpec


def manifest_pdf(spec: ManifestSpec, *, font_path: str | None = None) -> bytes:
    register(font_path)  # before the first paragraph: the configured font, not the default
    width = 180 * mm
    body, small = style(9), style(8)
    number = Code128(spec.manifest_no, height=11 * mm)
    number.hAlign = "RIGHT"
    head = Table([[para("交接清单", style(20)), number]], colWidths=[width * 0.45, width * 0.55])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    facts = [("清单编号", spec.manifest_no, "制单时间", spec.created_at.strftime("%Y-%m-%d %H:%M")),
             ("交出方", f"{spec.from_office.name}（{spec.from_office.phone}）", "制单人", spec.created_by),
             ("接收方", spec.to_party, "", "")]
    info = Table([[para(a, body), para(b, body), para(c, body), para(d, body)] for a, b, c, d in facts],
                 colWidths=[w * width for w in (0.13, 0.47, 0.13, 0.27)])
    info.setStyle(TableStyle(GRID + [("SPAN", (1, 2), (3, 2)), ("BACKGROUND", (0, 0), (0, -1), "#eeeeee"),
                                      ("BACKGROUND", (2, 0), (2, 1), "#eeeeee")]))
    rows = [[para(t, body) for t in ("序号", "邮件号", "类型", "寄达", "件数", "办件编号", "核对")]]
    for i, line in enumerate(spec.lines, 1):
        bars = Code128(line.tracking_no, height=7 * mm, min_module=0.25 * mm)
        rows.append([para(str(i), body), bars, para(line.kind_title, small), para(line.destination, small),
                     para(str(line.pieces), body), para(line.case_no, small), ""])
    pieces = sum(line.pieces for line in spec.lines)
    rows.append([para(f"合计：邮件 {len(spec.lines)} 个，材料 {pieces} 件", body), "", "", "", "", "", ""])
    cols = [w * width for w in (0.05, 0.30, 0.09, 0.21, 0.06, 0.21, 0.08)]
    table = Table(rows, colWidths=cols, repeatRows=1)
    table.setStyle(TableStyle(GRID + [("BACKGROUND", (0, 0), (-1, 0), "#eeeeee"), ("SPAN", (0, -1), (-1, -1)),
                                       ("ALIGN", (1, 1), (1, -2), "CENTER")]))
    sign = Table([[para("交出方（签字）：", body), "", para("接收方（签字）：", body), ""],
                  [para("交出时间：", body), "", para("接收时间：", body), ""]],
                 colWidths=[w * width for w in (0.17, 0.33, 0.17, 0.33)], rowHeights=[12 * mm, 10 * mm])
    sign.setStyle(TableStyle([("LINEBELOW", (1, 0), (1, -1), 0.6, "black"), ("LINEBELOW", (3, 0), (3, -1), 0.6, "black"),
                              ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story = [head, Spacer(1, 3 * mm), info, Spacer(1, 4 * mm), table, Spacer(1, 4 * mm),
             para("请逐件扫描核对，邮件号、件数与清单一致后签字交接；如有不符，请在“核对”栏注明并当场报告。", small),
             Spacer(1, 4 * mm), sign]
    return build(story, "A4", f"交接清单 {spec.manifest_no}", footer=f"交接清单 {spec.manifest_no}",
                 font_path=font_path)
