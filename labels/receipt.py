"""The applicant's receipt (收件回执): what was handed in, who decides, by when, how to follow it."""
from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from labels.flow import GRID, Code128, QRCode, build, para, style
from labels.fonts import register
from labels.specs import ReceiptSpec

SIZES = ("A4", "A5")


def receipt_pdf(spec: ReceiptSpec, size: str = "A4", *, font_path: str | None = None) -> bytes:
    register(font_path)
    small = size == "A5"
    k = 0.82 if small else 1.0
    width = (148 - 24 if small else 210 - 30) * mm
    body, head = style(9.5 * k), style(9.5 * k)
    story = [para("异地代收代办收件回执", style(18 * k, align=1, space_after=2 * mm)),
             para(f"办件编号 {spec.case_no}", style(13 * k, align=1)),
             Code128(spec.case_no, height=10 * mm * k, caption=False), Spacer(1, 3 * mm)]
    story[2].hAlign = "CENTER"
    due = spec.due_date.strftime("%Y年%m月%d日") + ("（暂按周一至周五计算，以官方节假日安排为准）" if spec.due_provisional else "")
    rows = [("申请人", spec.applicant_name, "证件号码", spec.id_masked),
            *([("代办人", spec.agent, "", "")] if spec.agent else []),
            ("申请事项", spec.matter, "", ""),
            ("收件机构", spec.collecting_office.name, "经办人", spec.clerk),
            ("收件时间", spec.received_at.strftime("%Y年%m月%d日 %H:%M"), "预计办结" if spec.due_estimated else "承诺办结",
             due),
            *([("办理时限", f"自受理之日起{spec.promised_days}个工作日（材料寄递时间不计入"
                        f"{'，各联办环节依次或同时办理' if spec.steps else ''}）；{spec.promise}。", "", "")]
              if spec.promise else []),
            ("办理机构", spec.owning_office, "", ""),
            ("结果领取", spec.result_delivery, "", "")]
    cols = [w * width for w in (0.16, 0.38, 0.14, 0.32)]
    table = Table([[para(a, head), para(b, body), para(c, head), para(d, body)] for a, b, c, d in rows],
                  colWidths=cols)
    table.setStyle(TableStyle(GRID + [("BACKGROUND", (0, 0), (0, -1), "#eeeeee")]
                              + [("SPAN", (1, r), (3, r)) if not row[2] else ("BACKGROUND", (2, r), (2, r), "#eeeeee")
                                 for r, row in enumerate(rows)]))
    story += [table, Spacer(1, 3 * mm), para("收取材料", style(11 * k, space_after=1.5 * mm))]
    lines = [[para(t, head) for t in ("序号", "材料名称", "原件/复印件", "份数")]]
    lines += [[para(str(i), body), para(m.name + (f"（核验人：{m.certified_by}）" if m.certified_by else ""), body),
               para(("原件" if m.original else "复印件（已核验原件）" if m.certified_by else "复印件")
                    + ("" if m.by_post else "，扫描件上传"), body),
               para(str(m.copies), body)] for i, m in enumerate(spec.materials, 1)]
    materials = Table(lines, colWidths=[w * width for w in (0.1, 0.6, 0.18, 0.12)], repeatRows=1)
    materials.setStyle(TableStyle(GRID + [("BACKGROUND", (0, 0), (-1, 0), "#eeeeee")]))
    story += [materials, Spacer(1, 4 * mm)]
    if spec.steps:  # 多地联办: the applicant sees every office that will handle the case, and goes to none
        story.append(para("联办环节（您无需再到其他地方办理）", style(11 * k, space_after=1.5 * mm)))
        lines = [[para(t, head) for t in ("序号", "办理地", "环节", "办理单位", "时限")]]
        lines += [[para(str(i), body), para(s.place, body), para(s.name, body), para(s.office, body),
                   para(f"{s.days}个工作日", body)] for i, s in enumerate(spec.steps, 1)]
        joint = Table(lines, colWidths=[w * width for w in (0.08, 0.14, 0.24, 0.38, 0.16)], repeatRows=1)
        joint.setStyle(TableStyle(GRID + [("BACKGROUND", (0, 0), (-1, 0), "#eeeeee")]))
        story += [joint, Spacer(1, 4 * mm)]
    qr = 30 * mm * k
    how = [para("查询办理进度", style(11 * k, space_after=1.5 * mm)),
           para("扫描右侧二维码，或在浏览器中访问下列网址，输入查询密码：", body),
           para(spec.track_url, body),
           para("查询密码", style(9.5 * k, leading=14 * k)),
           para(spec.check_code, style(26 * k, leading=30 * k)),
           para("查询密码仅印在本回执上，请妥善保管，勿告知他人。", style(8.5 * k))]
    track = Table([[how, QRCode(spec.track_url, qr)]], colWidths=[width - qr - 6 * mm, qr + 6 * mm])
    track.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.2, "black"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 4 * mm)]))
    story += [track, Spacer(1, 4 * mm),
              para(("说明：本回执证明收件窗口已收到上列材料并寄往办理机构；" if any(m.by_post for m in spec.materials)
                    else "说明：本回执证明收件窗口已收到上列材料，其扫描件上传办理机构在线审查，纸质材料不寄送；")
                   + "是否受理由办理机构依法决定，"
                   "结果将按您选择的方式送达。如需补正材料，将一次性告知。", style(8.5 * k)),
              Spacer(1, 8 * mm),
              para("申请人（签字）：____________　　　窗口经办人（签字）：____________", style(10 * k))]
    return build(story, size, f"收件回执 {spec.case_no}", footer=f"办件编号 {spec.case_no}", font_path=font_path,
                 margins=(12 if small else 15) * mm)
