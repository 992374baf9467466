"""What applicants see without an account: the timeline, and the evaluation at the end."""
from __future__ import annotations

from sqlmodel import Session, select

from config import clock
from mailing.states import EXCEPTION_REASONS, PacketKind, PacketStatus
from mailing.tables import Packet, PacketEvent
from routing.calendars import work_calendar
from routing.reference import directory as load_directory, matter as cached_matter
from tracking.model.context import Env
from tracking.model.deadlines import packet_late, promise_words
from tracking.model.identity import mask_name
from tracking.model.links import link_expiry, make_token
from tracking.model.lookups import checked_case
from tracking.model.states import (BEFORE_DECISION, EVALUABLE, FINISHED, RATED_STAGES, SCORE_TITLES, STATUS_TEXT,
                                   VISIT_METHODS, CaseStatus, is_overdue)
from tracking.model.tables import Case, CaseEvent, Evaluation, ResultFile
from tracking.reads.steps import steps_view

CASE_TEXT = {
    "collected": "窗口已收件，材料待寄出",
    "in_transit": "申请材料已寄出",
    "received": "办理部门已签收材料",
    "accepted": "办理部门已受理",
    "supplement_requested": "需要补正材料，请按补正告知书到收件窗口提交",
    "supplement_collected": "窗口已收到补正材料",
    "supplement_in_transit": "补正材料已寄出",
    "rejected": "不予受理，原件将退回",
    "withdrawn": "申请已撤回",
    "deemed_withdrawn": "补正期限已过，未收到补正材料，视为撤回申请，原件将退回",
    "extended": "经本机关负责人批准，办理期限依法延长",
    "decided": "已办结",
    "result_in_transit": "办理结果已寄出",
    "ready_for_pickup": "办理结果已到达收件窗口，请携带身份证件领取",
    "delivered": "办理结果已送达",
    "closed": "已归档",
    "contents_checked": "办理部门已核对材料",
    "evaluated": "申请人已评价",
    "followed_up": "已就您的评价回访并整改",
    "replacement_created": "丢失的材料已由寄出机构补寄",
    "files_uploaded": "收件窗口已上传材料扫描件",
    "result_returned_to_window": "办理结果未能投递，已退回收件窗口",
    "result_link_reissued": "收件窗口已重新发送电子结果下载链接",
    "result_revoked": "电子结果已被办理部门撤销",
}
FILES_RECEIVED_TEXT = "材料扫描件已全部上传，办理部门在线审查"
# 多地联办: each step's moments, said with its place and office ("迁出地 忻州市公安局忻府分局：已开具户口迁移证")
STEP_TEXT = {"step_started": "{name}环节开始办理", "step_accepted": "已受理{name}", "step_done": "{text}",
             "step_refused": "{words}，原因：{reason}。原件将退回",
             "step_supplement_requested": "需要补正材料，请按补正告知到收件窗口提交",
             "step_supplement_received": "已收到补正材料，继续办理"}  # issue 16: received from the files, not the paper
OUTCOME_TEXT = {"approved": "准予", "refused": "不予"}  # the decision, once the case has one
DEEMED_TEXT = "收到材料后5个工作日内未告知补正，依法自收到材料之日起视为受理"
RESULT_METHOD_TEXT = {"mail": "邮寄送达", "pickup": "到收件窗口领取", "electronic": "网上下载电子结果"}
PACKET_TEXT = {
    "dispatched": "{kind}已交寄",
    "arrived_hub": "{kind}到达{place}",
    "departed_hub": "{kind}离开{place}",
    "out_for_delivery": "{kind}派送中",
    "delivered": "{kind}已妥投",
    "received": "{kind}已签收",
}






# A scan that moves the case too is one step for the applicant, not two: the case's own words stay
# ("申请材料已寄出"), the packet's echo of the same moment ("申请材料已交寄") goes.
_ECHOES = {"packet_dispatched": {"in_transit", "supplement_in_transit", "result_in_transit"},
           "packet_received": {"received", "ready_for_pickup"},
           "packet_delivered": {"delivered"}}


def _without_echoes(events: list[dict]) -> list[dict]:
    case_steps = {(ev["at"], ev["type"]): ev for ev in events if not ev["type"].startswith("packet_")}
    kept = []
    for ev in events:
        echoed = [case_steps.get((ev["at"], t)) for t in _ECHOES.get(ev["type"], ())]
        echoed = [c for c in echoed if c is not None]
        if echoed:
            echoed[0]["place"] = echoed[0]["place"] or ev["place"]
            echoed[0]["tracking_no"] = ev["tracking_no"]
            continue
        kept.append(ev)
    return kept


def track(session: Session, env: Env, number: str, check: str | None) -> dict:
    case = checked_case(session, env, number, check)
    directory = load_directory(session)

    def place(code):
        post = directory.post(code)
        return post.name if post else None

    events = []
    for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)):
        if e.type in CASE_TEXT:
            text = DEEMED_TEXT if e.type == "accepted" and e.data.get("deemed") else CASE_TEXT[e.type]
            if e.type == "received" and e.data.get("how") == "files":
                text = FILES_RECEIVED_TEXT
            if e.type == "extended" and e.data.get("days"):
                text = f"{text}{e.data['days']}个工作日"
            if e.type == "decided" and e.data.get("outcome") in OUTCOME_TEXT:
                text = f"{text}：{OUTCOME_TEXT[e.data['outcome']]}"
            if e.type == "decided" and e.data.get("originals_returned"):
                names = "、".join(m["name"] for m in e.data["originals_returned"])
                text += f"。原件（{names}）退还申请人" + \
                    ("，另行寄回" if case.result_method == "electronic" else "，随办理结果一并送达")
            if e.type == "decided" and e.data.get("step"):  # the last step of a joint case decides it
                text = f"{e.data.get('place', '')} {place(e.office_code)}：{e.data['name']}，{text}"
            if e.type == "delivered" and signed_by(e.data):
                text = f"{text}，{signed_by(e.data)}"
            events.append({"at": e.at, "seq": e.recorded_at, "type": e.type, "text": text,
                           "place": place(e.office_code)})
        elif e.type in STEP_TEXT:
            data = e.data
            said = STEP_TEXT[e.type].format(name=data.get("name", ""), text=data.get("text", ""),
                                            words=data.get("words", "不予办理"), reason=data.get("reason", ""))
            events.append({"at": e.at, "seq": e.recorded_at, "type": e.type, "step": data.get("step"),
                           "text": f"{data.get('place', '')} {place(data.get('office'))}：{said}",
                           "place": place(data.get("office"))})
        elif e.type.startswith("packet_"):
            reason = e.type.removeprefix("packet_")
            events.append({"at": e.at, "seq": e.recorded_at, "type": "exception",
                           "text": f"邮件异常：{EXCEPTION_REASONS.get(reason, reason)}",
                           "place": place(e.office_code)})
    # the packets and their events in one statement (a packet without events yet comes with None)
    found = session.exec(select(Packet, PacketEvent).outerjoin(PacketEvent, PacketEvent.packet_id == Packet.id)
                         .where(Packet.case_id == case.id).order_by(PacketEvent.id, Packet.id)).all()
    packets = dict(sorted({p.id: p for p, _ in found}.items()))
    for _, e in found:
        if e is not None and e.type in PACKET_TEXT:
            packet = packets[e.packet_id]
            kind = PacketKind(packet.kind).title
            events.append({"at": e.at, "seq": e.recorded_at, "type": f"packet_{e.type}",
                           "tracking_no": packet.tracking_no,
                           "text": PACKET_TEXT[e.type].format(kind=kind, place=place(e.office_code) or "处理中心"),
                           "place": place(e.office_code)})
    events = _without_echoes(events)
    events.sort(key=lambda ev: (ev["at"], ev["seq"]))  # same second: the order they were recorded
    for ev in events:
        ev["at"] = clock.iso(ev["at"])
        del ev["seq"]
    matter = cached_matter(session, case.matter_code)
    status = CaseStatus(case.status)
    # only a finished case can have been rated: the others need not ask
    evaluation = session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first() \
        if status in FINISHED else None
    evaluable = status in EVALUABLE and evaluation is None
    return {"case_no": case.case_no, "status": status.value, "status_text": status.title, "matter": matter.name,
            "owning_office": place(case.owning_office), "collecting_office": place(case.collecting_office),
            "due_date": case.due_date.isoformat(), "due_date_provisional": case.due_date_provisional,
            "due_date_estimated": case.due_date_estimated,
            "expected_result_date": case.expected_result_date.isoformat() if case.expected_result_date else None,
            "promise_text": promise_words(case),
            "overdue": is_overdue(status, case.due_date, clock.beijing_date()),
            "outcome": case.outcome, "outcome_text": OUTCOME_TEXT.get(case.outcome),
            "packets": [{"tracking_no": p.tracking_no, "kind": p.kind, "status": p.status,
                         "status_text": PacketStatus(p.status).title,
                         "expected_arrival": p.expected_arrival.isoformat() if p.expected_arrival else None,
                         "late": packet_late(p, clock.beijing_date())} for p in packets.values()],
            "evaluable": evaluable,
            "events": events,
            # what comes next, with the dates the applicant can expect (never personal data)
            "result_method": case.result_method, "result_method_text": RESULT_METHOD_TEXT.get(case.result_method),
            "supplement": {"materials": [m["name"] for m in case.supplement_materials or []],
                           "due": case.supplement_due.isoformat() if case.supplement_due else None}
            if case.supplement_requested_at else None,
            "next": upcoming(session, env, case, list(packets.values()), place(case.collecting_office))
            + ([{"text": "评价本次服务（好差评）", "expected": None, "yours": True}] if evaluable else []),
            "electronic_result": electronic_result(session, env, case),
            "steps": steps_view(session, directory, case, public=True),
            "refusal": _refusal(session, case),
            "evaluation": {"score": evaluation.score, "score_text": SCORE_TITLES[evaluation.score],
                           "at": clock.iso(evaluation.at), "stage_text": RATED_STAGES[evaluation.stage],
                           "follow_up": public_follow_up(evaluation)} if evaluation else None}


def _refusal(session: Session, case: Case) -> dict | None:
    """多地联办: a step's refusal, with the remedies the applicant has against it."""
    if case.status != CaseStatus.REJECTED.value or not case.step_offices:
        return None
    event = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "step_refused")
                         .order_by(CaseEvent.id.desc())).first()
    if event is None:
        return None
    return {"step": event.data.get("name"), "place": event.data.get("place"), "words": event.data.get("words"),
            "reason": event.data.get("reason"), "remedies": event.data.get("remedies")}


def signed_by(data: dict, *, masked: bool = True) -> str | None:
    """Who took a paper result: "已由本人签收", or "已由王*代收" (the name masked on the public page), from a
    window pick-up's collector or a home delivery's signer. None where the event does not say."""
    who = data.get("collector") or data.get("signer")
    if not isinstance(who, dict) or who.get("relation") not in ("self", "agent", "proxy"):
        return None
    if who["relation"] == "self":
        return "已由本人签收"
    name = who.get("name") or ""
    return f"已由{mask_name(name) if masked else name}代收"


def public_follow_up(evaluation: Evaluation) -> dict | None:
    """A bad rating's follow-up as the applicant sees it: by when, and once done, the office's answer and
    the return visit's day and way (not who, and not what the applicant said back)."""
    if not evaluation.follow_up_status:
        return None
    return {"status": evaluation.follow_up_status, "status_text": STATUS_TEXT[evaluation.follow_up_status],
            "due": evaluation.follow_up_due.isoformat() if evaluation.follow_up_due else None,
            "at": clock.iso(evaluation.followed_up_at), "note": evaluation.follow_up_note,
            "visit_at": clock.iso(evaluation.visited_at),
            "visit_method_text": VISIT_METHODS.get(evaluation.visit_method or "")}


def electronic_result(session: Session, env: Env, case: Case) -> dict | None:
    """An electronic result's download: the same signed link the decision sent the applicant (the token
    is made from the file and the expiry the decision set), while it is valid."""
    if case.result_method != "electronic":
        return None
    stored = session.exec(select(ResultFile.id, ResultFile.created_at, ResultFile.downloaded_at,  # not the bytes
                                 ResultFile.link_expires_at, ResultFile.revoked_at)
                          .where(ResultFile.case_id == case.id).order_by(ResultFile.id.desc())).first()
    if stored is None:
        return None
    file_id, created_at, downloaded_at, expires_at, revoked_at = stored
    expires = clock.beijing(link_expiry(created_at, expires_at, env.settings.delivery_link_days))
    valid = clock.now() < expires and revoked_at is None
    return {"token": make_token(env.settings.secret_key, file_id, expires) if valid else None,
            "expires": clock.iso(expires), "expired": clock.now() >= expires, "downloaded": downloaded_at is not None,
            "revoked": revoked_at is not None}


def upcoming(session: Session, env: Env, case: Case, packets: list[Packet], hall: str | None) -> list[dict]:
    """The steps still ahead of a case, in order, each with the date it is expected by (or None)."""
    status = CaseStatus(case.status)
    settings, S = env.settings, CaseStatus
    cal = work_calendar(session)
    hall = hall or "收件窗口"
    steps: list[dict] = []

    def step(text: str, by=None, yours: bool = False) -> None:
        # `yours`: a step the applicant takes (its date is a deadline, not an expectation)
        steps.append({"text": text, "expected": by.isoformat() if by else None, "yours": yours})

    def latest(*kinds: str) -> Packet | None:
        found = [p for p in packets if p.kind in kinds and p.status not in ("cancelled", "lost")]
        return max(found, key=lambda p: p.id) if found else None

    def arrival(*kinds: str):
        packet = latest(*kinds)
        return packet.expected_arrival if packet else None

    by_post = latest("outbound") is not None  # none: every material travels as a file (issue 16)
    if status == S.COLLECTED:
        step("收件窗口寄出申请材料" if by_post else "收件窗口上传申请材料扫描件，办理部门即可在线审查",
             cal.add_working_days(case.intake_date, settings.dispatch_days)[0])
    if status in (S.COLLECTED, S.IN_TRANSIT) and by_post:
        step("申请材料送达办理部门", arrival("outbound", "replacement"))
    if status in (S.COLLECTED, S.IN_TRANSIT, S.RECEIVED):
        if case.supplement_requested_at:
            step("办理部门审查补正材料并受理")
        else:
            notice_by = cal.add_working_days(clock.beijing_date(case.received_at), settings.supplement_notice_days)[0] \
                if case.received_at else None
            step("办理部门审查受理（材料不全的，一次性告知需要补正的材料）", notice_by)
    if status == S.SUPPLEMENT_REQUESTED:
        names = "、".join(m["name"] for m in case.supplement_materials or [])
        step(f"请携带补正材料（{names}）到{hall}提交", case.supplement_due, yours=True)
    if status == S.SUPPLEMENT_IN_TRANSIT:
        step("补正材料送达办理部门", arrival("supplement"))
    if status in BEFORE_DECISION:
        step("办理部门作出决定（预计办结日期，以受理日起算为准）" if case.due_date_estimated
             else "办理部门作出决定（承诺办结日期）", case.due_date)
    if status in BEFORE_DECISION or status in (S.DECIDED, S.RESULT_IN_TRANSIT):
        if case.result_method == "electronic":
            step("在本页面下载电子办理结果")
        else:
            if status == S.DECIDED:
                step("办理部门寄出办理结果", cal.add_working_days(clock.beijing_date(case.decided_at),
                                                            settings.result_dispatch_days)[0])
            by = case.expected_result_date
            if case.result_method == "mail":
                step("办理结果邮寄送达", by)
            else:
                step(f"办理结果送达{hall}，届时请携带身份证件领取", by)
    if status == S.READY_FOR_PICKUP:
        step(f"请携带身份证件到{hall}领取办理结果", yours=True)
    back = latest("return")  # after a rejection or withdrawal; after an electronic result, its originals
    if back is not None and back.status not in ("delivered", "received"):
        what = "退还的原件" if case.decided_at else "退回的材料"
        to_applicant = case.result_method == "mail" and case.result_address_sealed
        step(f"{what}邮寄送达" if to_applicant else f"{what}送达{hall}，届时请携带身份证件领取",
             back.expected_arrival)
    return steps


