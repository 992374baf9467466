"""What applicants see without an account: the timeline, and the evaluation at the end."""
from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from sqlmodel import Session, select

from config import clock
from mailing.states import EXCEPTION_REASONS, PacketKind, PacketStatus
from mailing.tables import Packet, PacketEvent
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.context import Actor, Env
from tracking.deadlines import packet_late
from tracking.errors import Refused, bad_request, conflict, not_found
from tracking.records import case_event, notify, transition
from tracking.states import EVALUABLE, CaseAction, CaseStatus, is_overdue
from tracking.tables import Case, CaseEvent, Evaluation, TrackLock

LOCK_AFTER = 10
LOCK_WINDOW = timedelta(hours=1)
NOT_FOUND = "未找到该办件，请核对编号和查询密码。"

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
    "decided": "已办结",
    "result_in_transit": "办理结果已寄出",
    "ready_for_pickup": "办理结果已到达收件窗口，请携带身份证件领取",
    "delivered": "办理结果已送达",
    "closed": "已归档",
    "contents_checked": "办理部门已核对材料",
    "evaluated": "申请人已评价",
    "replacement_created": "丢失的材料已由寄出机构补寄",
    "result_returned_to_window": "办理结果未能投递，已退回收件窗口",
}
DEEMED_TEXT = "收到材料后5个工作日内未告知补正，依法自收到材料之日起视为受理"
PACKET_TEXT = {
    "dispatched": "{kind}已交寄",
    "arrived_hub": "{kind}到达{place}",
    "departed_hub": "{kind}离开{place}",
    "out_for_delivery": "{kind}派送中",
    "delivered": "{kind}已妥投",
    "received": "{kind}已签收",
}


def _find_case(session: Session, number: str) -> Case | None:
    number = number.strip().upper()
    case = session.exec(select(Case).where(Case.case_no == number)).first()
    if case is None:
        packet = session.exec(select(Packet).where(Packet.tracking_no == number)).first()
        case = session.get(Case, packet.case_id) if packet else None
    return case


def _checked(session: Session, env: Env, number: str, check: str | None) -> Case:
    """The case for number and check code; the same 404 for unknown and wrong; a lock after 10 wrong."""
    number = (number or "").strip().upper()[:40]
    now = clock.now()
    lock = session.get(TrackLock, number)
    if lock and lock.locked_until and clock.beijing(lock.locked_until) > now:
        raise Refused(429, "too_many_attempts", "查询密码错误次数过多，请一小时后再试。")
    case = _find_case(session, number)
    good = case is not None and isinstance(check, str) and \
        hmac.compare_digest(check.strip().encode(), env.sealer.open(case.check_code_sealed).encode())
    if good:
        return case
    lock = lock or TrackLock(number=number, failures=[])
    recent = [t for t in lock.failures if clock.beijing(datetime.fromisoformat(t)) > now - LOCK_WINDOW] + [now.isoformat()]
    lock.failures = recent[-LOCK_AFTER:]
    if len(recent) >= LOCK_AFTER:
        lock.locked_until = now + LOCK_WINDOW
    session.add(lock)
    session.commit()
    raise not_found(NOT_FOUND)


def track(session: Session, env: Env, number: str, check: str | None) -> dict:
    case = _checked(session, env, number, check)
    directory = load_directory(session)

    def place(code):
        post = directory.post(code)
        return post.name if post else None

    events = []
    for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)):
        if e.type in CASE_TEXT:
            text = DEEMED_TEXT if e.type == "accepted" and e.data.get("deemed") else CASE_TEXT[e.type]
            events.append({"at": e.at, "seq": e.recorded_at, "type": e.type, "text": text,
                           "place": place(e.office_code)})
        elif e.type.startswith("packet_"):
            reason = e.type.removeprefix("packet_")
            events.append({"at": e.at, "seq": e.recorded_at, "type": "exception",
                           "text": f"邮件异常：{EXCEPTION_REASONS.get(reason, reason)}",
                           "place": place(e.office_code)})
    packets = {p.id: p for p in session.exec(select(Packet).where(Packet.case_id == case.id))}
    if packets:
        for e in session.exec(select(PacketEvent).where(PacketEvent.packet_id.in_(list(packets)))):
            if e.type in PACKET_TEXT:
                packet = packets[e.packet_id]
                kind = PacketKind(packet.kind).title
                events.append({"at": e.at, "seq": e.recorded_at, "type": f"packet_{e.type}",
                               "tracking_no": packet.tracking_no,
                               "text": PACKET_TEXT[e.type].format(kind=kind, place=place(e.office_code) or "处理中心"),
                               "place": place(e.office_code)})
    events.sort(key=lambda ev: (ev["at"], ev["seq"]))  # same second: the order they were recorded
    for ev in events:
        ev["at"] = clock.iso(ev["at"])
        del ev["seq"]
    matter = session.get(Matter, case.matter_code)
    status = CaseStatus(case.status)
    return {"case_no": case.case_no, "status": status.value, "status_text": status.title, "matter": matter.name,
            "owning_office": place(case.owning_office), "collecting_office": place(case.collecting_office),
            "due_date": case.due_date.isoformat(), "due_date_provisional": case.due_date_provisional,
            "overdue": is_overdue(status, case.due_date, clock.beijing_date()),
            "packets": [{"tracking_no": p.tracking_no, "kind": p.kind, "status": p.status,
                         "status_text": PacketStatus(p.status).title,
                         "expected_arrival": p.expected_arrival.isoformat() if p.expected_arrival else None,
                         "late": packet_late(p, clock.beijing_date())} for p in packets.values()],
            "evaluable": status in EVALUABLE and session.exec(
                select(Evaluation.id).where(Evaluation.case_id == case.id)).first() is None,
            "events": events}


def evaluate(session: Session, env: Env, case_no: str, body: dict) -> tuple[Evaluation, Case]:
    if not isinstance(body, dict):
        raise bad_request("请求内容应为对象。")
    case = _checked(session, env, case_no, body.get("check"))
    score = body.get("score")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise bad_request("评价等级应为1至5的整数。", "score")
    comment = body.get("comment") or ""
    if not isinstance(comment, str):
        raise bad_request("评价内容应为文本。", "comment")
    if session.exec(select(Evaluation.id).where(Evaluation.case_id == case.id)).first():
        raise conflict("already_evaluated", "该办件已评价过，每个办件只能评价一次。")
    if CaseStatus(case.status) not in EVALUABLE:
        raise conflict(message="办件尚未办结送达，暂不能评价。", status=case.status)
    evaluation = Evaluation(case_id=case.id, score=score, comment=comment.strip()[:500], at=clock.now())
    if score <= 2:
        evaluation.follow_up_office, evaluation.follow_up_status = case.owning_office, "open"
        notify(session, case, f"办件{case.case_no}收到差评（{score}分），请及时整改回访。",
               office_code=case.owning_office)
    session.add(evaluation)
    applicant = Actor("applicant", "public")
    if case.status == CaseStatus.DELIVERED.value:
        case.closed_at = clock.now()
        transition(session, case, CaseAction.CLOSE, applicant, event="evaluated", data={"score": score})
    else:
        case_event(session, case, "evaluated", applicant, data={"score": score})
    session.flush()
    return evaluation, case
