"""邮资结算清单: an office's postage for a month, one line per packet, for its finance department."""
from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from labels.flow import GRID, build, para, style
from labels.fonts import register
from labels.specs import PostageStatementSpec

HEADER = ("序号", "交寄日期", "邮件号", "办件编号", "事项 / 类型", "寄出 → 寄达", "重量（克）", "邮资（元）", "计费")
WIDTHS = (0.04, 0.08, 0.11, 0.14, 0.18, 0.23, 0.065, 0.065, 0.09)


def statement_pdf(spec: PostageStatementSpec, *, font_path: str | None = None) -> bytes:
    register(font_path)  # before the first paragraph: the configured font, not the default
    width = 267 * mm  # landscape: a line per packet, the case number and the route unbroken
    body, small, right = style(8.5), style(7.5), style(7.5, align=2)
    facts = [("结算单位", f"{spec.office.name}（{spec.office_code}）", "结算月份", spec.month),
             ("单位地址", spec.office.address, "期间", spec.period),
             ("联系电话", spec.office.phone, "制表时间", spec.made_at.strftime("%Y-%m-%d %H:%M"))]
    info = Table([[para(a, body), para(b, body), para(c, body), para(d, body)] for a, b, c, d in facts],
                 colWidths=[w * width for w in (0.10, 0.50, 0.10, 0.30)])
    info.setStyle(TableStyle(GRID + [("BACKGROUND", (0, 0), (0, -1), "#eeeeee"),
                                     ("BACKGROUND", (2, 0), (2, -1), "#eeeeee")]))
    rows = [[para(t, small) for t in HEADER]]
    for i, line in enumerate(spec.lines, 1):
        rows.append([para(str(i), small), para(line.day, small), para(line.tracking_no, small),
                     para(line.case_no, small), para(f"{line.matter} / {line.kind_title}", small),
                     para(line.route, small), para(line.grams, right), para(line.postage, right),
                     para(line.source, small)])
    if not spec.lines:
        rows.append([para("本月没有由本单位支付邮资的已交寄邮件。", small)] + [""] * (len(HEADER) - 1))
    rows.append([para(f"合计：邮件 {len(spec.lines)} 件，重量 {spec.total_grams} 克，邮资 {spec.total} 元", body)]
                + [""] * (len(HEADER) - 1))
    table = Table(rows, colWidths=[w * width for w in WIDTHS], repeatRows=1)
    spans = [("SPAN", (0, -1), (-1, -1))] + ([("SPAN", (0, 1), (-1, 1))] if not spec.lines else [])
    table.setStyle(TableStyle(GRID + spans + [("BACKGROUND", (0, 0), (-1, 0), "#eeeeee")]))
    summary = [[para(t, body) for t in ("分项", "邮件数", "邮资（元）")]]
    summary += [[para(f"{group}：{name}", body), para(str(n), right), para(amount, right)]
                for group, items in (("邮件类型", spec.by_kind), ("计费方式", spec.by_source)) for name, n, amount in items]
    totals = Table(summary, colWidths=[w * width for w in (0.3, 0.12, 0.12)], hAlign="LEFT")
    totals.setStyle(TableStyle(GRID + [("BACKGROUND", (0, 0), (-1, 0), "#eeeeee")]))
    sign = Table([[para("制表人：", body), "", para("审核人（财务）：", body), ""]],
                 colWidths=[w * width for w in (0.12, 0.38, 0.18, 0.32)], rowHeights=[12 * mm])
    sign.setStyle(TableStyle([("LINEBELOW", (1, 0), (1, 0), 0.6, "black"), ("LINEBELOW", (3, 0), (3, 0), 0.6, "black"),
                              ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story = [para("邮资结算清单", style(18, align=1, space_after=4 * mm)), info, Spacer(1, 4 * mm), table,
             Spacer(1, 4 * mm), totals, Spacer(1, 3 * mm), para(spec.basis, small), Spacer(1, 6 * mm), sign]
    return build(story, "A4-landscape", f"邮资结算清单 {spec.office_code} {spec.month}",
                 footer=f"邮资结算清单 {spec.office_code} {spec.month}", font_path=font_path)
