"""Letters to the applicant, printed at the collecting window: 补正告知书 and 不予受理告知书."""
from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from labels.flow import Code128, build, para, style
from labels.fonts import register
from labels.specs import NoticeSpec


def notice_pdf(spec: NoticeSpec, *, font_path: str | None = None) -> bytes:
    register(font_path)
    body = style(12, leading=22, indent=24)
    plain = style(12, leading=22)
    number = Code128(spec.case_no, height=8 * mm, min_module=0.28 * mm)
    number.hAlign = "RIGHT"
    story = [number, Spacer(1, 6 * mm), para(spec.title, style(20, align=1, space_after=3 * mm)),
             para(spec.notice_no, style(11, align=1, space_after=8 * mm)),
             para(f"{spec.addressee}：", plain)]
    story += [para(p, body) for p in spec.paragraphs]
    if spec.items:
        story.append(Spacer(1, 2 * mm))
        story += [para(f"{i}. {item}", style(12, leading=22, indent=0)) for i, item in enumerate(spec.items, 1)]
        story.append(Spacer(1, 2 * mm))
    story += [para(p, body) for p in spec.closing]
    story += [Spacer(1, 14 * mm), para(spec.issuer, style(12, align=2)),
              para(spec.issued_on.strftime("%Y年%m月%d日") if spec.issued_on else "", style(12, align=2)),
              Spacer(1, 10 * mm)]
    if spec.issuer_contact:
        story.append(para(spec.issuer_contact, style(10)))
    if spec.track_url:
        story.append(para(f"查询办理进度：{spec.track_url}（凭收件回执上的查询密码）", style(10)))
    story += [Spacer(1, 10 * mm), para("申请人（签收）：____________　　　签收日期：______年____月____日", plain)]
    return build(story, "A4", f"{spec.title} {spec.case_no}", footer=f"办件编号 {spec.case_no}", font_path=font_path,
                 margins=22 * mm)
