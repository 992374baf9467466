"""What people are told at each milestone: one Chinese template per milestone, filled in when it is queued.

A template names its fields ({case_no}, {promise} …); `tell` fills them, queues the text through
records.notify and keeps the milestone and its fields on the row, so that an SMS API that sends only
registered templates (a cloud SMS service's TemplateCode with TemplateParam) gets the same fields.

The check code is never filled in here: the first message to the applicant (`collected`) carries
records.CHECK_CODE, which becomes the code only in the transport's hands, as DELIVERY_LINK becomes a link.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

from sqlmodel import Session

from tracking.model.records import CHECK_CODE, DELIVERY_LINK, notify
from tracking.model.tables import Case


@dataclass(frozen=True)
class Milestone:
    title: str      # what the milestone is, for lists and the docs
    audience: str   # applicant | office
    text: str       # str.format template; {case_no} is always given


MILESTONES: dict[str, Milestone] = {
    # -- to the applicant --------------------------------------------------------------------------------
    "collected": Milestone("收件", "applicant",
                           "您的办件{case_no}已在{hall}收件，查询密码" + CHECK_CODE + "，请妥善保管。"
                           "材料将寄往{owner}，{promise}。办理时限自受理之日起计算，受理后以受理通知为准。"),
    "accepted": Milestone("受理", "applicant", "您的办件{case_no}已受理，{promise}。"),
    "deemed_accepted": Milestone("视为受理", "applicant",
                                 "您的办件{case_no}自收到材料之日（{since}）起视为受理。"),
    "supplement_requested": Milestone("补正告知", "applicant",
                                      "您的办件{case_no}需补正材料：{materials}，请于{due}前到收件窗口提交。"),
    "deemed_withdrawn": Milestone("逾期未补正", "applicant",
                                  "您的办件{case_no}补正期限（{due}）已过，未收到补正材料，视为撤回申请。{returned}"),
    "rejected": Milestone("不予受理", "applicant", "您的办件{case_no}不予受理，原因：{reason}"),
    "extended": Milestone("延长办理期限", "applicant",
                          "您的办件{case_no}经办理机关负责人批准，办理期限延长{days}个工作日，"
                          "承诺办结日期顺延至{due}。延期理由：{reason}"),
    "decided_mail": Milestone("办结（结果寄出）", "applicant",
                              "您的办件{case_no}已办结，结果将寄出（邮件号{tracking_no}），预计{expected}送达。{originals}"),
    "decided_electronic": Milestone("办结（网络送达）", "applicant",
                                    "您的办件{case_no}已办结，电子结果下载链接：" + DELIVERY_LINK + "（{days}天内有效），"
                                    "电子结果验证码{verification}。"),
    "result_link_reissued": Milestone("重新发送下载链接", "applicant",
                                      "您的办件{case_no}的电子结果下载链接已重新发送：" + DELIVERY_LINK +
                                      "（{until}前有效），此前收到的链接不再可用。电子结果验证码{verification}。"),
    "result_revoked": Milestone("电子结果撤销", "applicant",
                                "您的办件{case_no}的电子结果（验证码{verification}）已由{office}撤销，原因：{reason}"
                                "。如有疑问请联系办理部门。"),
    "decided_originals_back": Milestone("办结（原件退回）", "applicant",
                                        "您的办件{case_no}已办结，您提交的原件（{originals}）将通过邮件{tracking_no}"
                                        "退回{to}。"),
    "step_done": Milestone("联办环节完成", "applicant", "您的办件{case_no}：{place}{office}{done}。"),
    "step_supplement_requested": Milestone("联办环节补正告知", "applicant",
                                           "您的办件{case_no}在{place}（{office}）环节需补正材料：{materials}，"
                                           "请于{due}前到收件窗口提交。"),
    "step_refused": Milestone("联办环节不予办理", "applicant",
                              "您的办件{case_no}在{place}（{office}）环节{words}，原因：{reason}。原件将退回，"
                              "救济途径见查询页面。"),
    "result_at_window": Milestone("结果到达窗口", "applicant",
                                  "您的办件{case_no}的办理结果已到达收件窗口，请携带身份证件领取。"),
    "originals_at_window": Milestone("原件退回窗口", "applicant",
                                     "您的办件{case_no}的原件已退回收件窗口，请携带身份证件领取。"),
    "undeliverable": Milestone("结果未能投递", "applicant",
                               "您的办件{case_no}的办理结果未能投递（{why}），已退回{hall}，到达后将通知您携带身份证件领取。"),
    # -- to an office ----------------------------------------------------------------------------------
    "files_received": Milestone("扫描件已齐", "office",
                                "办件{case_no}的{what}扫描件已全部上传，请在线审查。"),
    "incoming_packet": Milestone("来件提醒", "office",
                                 "{kind}{tracking_no}（办件{case_no}）已从{origin}寄出，预计{expected}到达，请留意签收。"),
    "stage_overdue": Milestone("环节超期", "office",
                               "办件{case_no}“{stage}”已超期（应于{due}前完成），请尽快处理。"),
    "packet_exception": Milestone("邮件异常", "office", "邮件{tracking_no}异常：{what}。{next_step}"),
    "contents_problem": Milestone("签收核对发现问题", "office",
                                  "{tracking_no}签收核对发现：{listing}。请在5个工作日内一次性告知补正，或不予受理。"),
    "contents_problem_window": Milestone("材料缺失或破损", "office",
                                         "{tracking_no}签收时发现材料缺失或破损：{listing}，请核对。"),
    "result_coming_back": Milestone("结果件退回窗口", "office",
                                    "结果件{tracking_no}未能投递（{why}），退回本窗口待申请人领取。"),
    "replacement_sent": Milestone("丢失邮件已补寄", "office",
                                  "丢失邮件{lost}已补寄，补寄件邮件号{tracking_no}。"),
    "withdrawn": Milestone("申请人撤回", "office", "您的办件{case_no}已撤回。"),
    "step_started": Milestone("联办环节待办", "office", "联办办件{case_no}的“{step}”环节已转至本单位，请于{due}前办理。"),
    "deemed_accepted_office": Milestone("视为受理", "office",
                                        "办件{case_no}收到材料后{days}个工作日内未告知补正，"
                                        "依法自收到材料之日起视为受理，请在办理时限内作出决定。"),
    "deemed_withdrawn_office": Milestone("逾期未补正", "office", "办件{case_no}逾期未补正，已视为撤回申请。{returned}"),
    "bad_rating": Milestone("差评整改", "office",
                            "办件{case_no}收到差评（{score}分，{stage}），请于{due}前回访申请人并整改。"),
    "follow_up_overdue": Milestone("差评整改超期", "office",
                                   "办件{case_no}的差评整改已超期（应于{due}前回访申请人并整改），请尽快处理。"),
    "handed_over": Milestone("跨省移交来件", "office", "收到跨省移交的办件{case_no}（节点 {node}），材料寄递中。"),
    "carrier_failed": Milestone("承运方下单失败", "office", "{what}向承运方{action}失败（{error}），请联系承运方处理。"),
}


def fields_of(milestone: str) -> set[str]:
    """The fields a milestone's template asks for (case_no included)."""
    return {name for _, name, _, _ in string.Formatter().parse(MILESTONES[milestone].text) if name}


def render(milestone: str, **params: str) -> str:
    """The milestone's text with its fields; a field left out is a programming error (KeyError)."""
    return MILESTONES[milestone].text.format(**params)


def tell(session: Session, case: Case, milestone: str, *, office_code: str | None = None,
         result_file_id: int | None = None, **params) -> None:
    """Queues the milestone's message to the applicant or, with `office_code`, to that office."""
    fields = {"case_no": case.case_no, **{key: str(value) for key, value in params.items()}}
    notify(session, case, render(milestone, **fields), office_code=office_code, result_file_id=result_file_id,
           milestone=milestone, params=fields)
