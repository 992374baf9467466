"""Scans from handheld scanners and offices: custody events, the packet machine, effects on the case."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from config import clock
from mailing import s10
from mailing.chain import seal
from mailing.states import EXCEPTION_REASONS, InvalidTransition, PacketKind, PacketStatus, ScanType, replay
from mailing.tables import Packet, PacketEvent
from routing.reference import directory as load_directory
from tracking import states
from tracking.actions import recompute_due_date
from tracking.context import Actor, Env
from tracking.errors import Refused, bad_request, conflict, rule
from tracking.handovers import close_on_dispatch
from tracking.records import case_event, notify, transition
from tracking.states import CaseAction, CaseStatus
from tracking.tables import Case

SCANNING_ROLES = {"clerk", "officer", "courier"}
CONTENT_STATES = {"ok", "missing", "damaged"}


def parse_time(value, field: str) -> datetime:
    if not isinstance(value, str):
        raise bad_request("时间应为 ISO 8601 格式，例如 2026-03-02T09:30:00+08:00。", field)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request("时间应为 ISO 8601 格式，例如 2026-03-02T09:30:00+08:00。", field) from None
    return at if at.tzinfo else at.replace(tzinfo=clock.BEIJING)


def _wrong_office(message: str) -> Refused:
    return rule("wrong_office", message, "office_code")


def _validated(scan, actor: Actor, directory) -> dict:
    """The scan's fields, checked; a malformed scan is refused on its own, never the batch."""
    if not isinstance(scan, dict):
        raise bad_request("每条扫描记录应为对象。")
    event_id = scan.get("event_id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64:
        raise bad_request("缺少扫描记录编号 event_id。", "event_id")
    try:
        kind = ScanType(scan.get("type"))
    except ValueError:
        raise bad_request("扫描类型无效。", "type") from None
    tracking_no = scan.get("tracking_no")
    if not isinstance(tracking_no, str):
        raise bad_request("缺少邮件号 tracking_no。", "tracking_no")
    office_code = scan.get("office_code")
    if office_code is not None and directory.post(office_code) is None:
        raise bad_request("扫描地点机构代码不存在。", "office_code")
    if actor.role in ("clerk", "officer"):
        if office_code and office_code != actor.office_code:
            raise _wrong_office("只能以本机构名义扫描。")
        office_code = actor.office_code
    reason = scan.get("reason")
    if kind is ScanType.EXCEPTION and reason not in EXCEPTION_REASONS:
        raise bad_request("异常扫描须注明原因：damaged、lost、misrouted、refused 或 address_unknown。", "reason")
    contents = scan.get("contents")
    if contents is not None:
        if kind is not ScanType.RECEIVED or not isinstance(contents, list) or not all(
                isinstance(c, dict) and isinstance(c.get("code"), str) and c.get("status") in CONTENT_STATES
                for c in contents):
            raise bad_request("内件核对应为 [{code, status: ok|missing|damaged}]，仅用于签收扫描。", "contents")
    note = scan.get("note") or ""
    return {"event_id": event_id, "type": kind, "tracking_no": tracking_no.strip().upper(),
            "at": parse_time(scan.get("at"), "at"), "office_code": office_code,
            "note": note[:500] if isinstance(note, str) else "", "reason": reason if kind is ScanType.EXCEPTION else None,
            "contents": contents}


def _check_office(scan: dict, packet: Packet, actor: Actor) -> None:
    if scan["type"] is ScanType.RECEIVED:
        if packet.to_office is None or actor.role not in ("clerk", "officer") or actor.office_code != packet.to_office:
            raise _wrong_office("该邮件不是寄给本机构的，不能签收。")
    if scan["type"] is ScanType.DISPATCHED and actor.role in ("clerk", "officer") \
            and actor.office_code != packet.from_office:
        raise _wrong_office("该邮件不是从本机构寄出的。")


def _effect(packet: Packet, scan: dict) -> CaseAction | None:
    kind, type_ = PacketKind(packet.kind), scan["type"]
    materials = kind in (PacketKind.OUTBOUND, PacketKind.SUPPLEMENT, PacketKind.REPLACEMENT)
    if type_ is ScanType.DISPATCHED:
        return {PacketKind.OUTBOUND: CaseAction.DISPATCH, PacketKind.REPLACEMENT: CaseAction.DISPATCH,
                PacketKind.SUPPLEMENT: CaseAction.DISPATCH_SUPPLEMENT,
                PacketKind.RESULT: CaseAction.DISPATCH_RESULT}.get(kind)
    if type_ is ScanType.RECEIVED:
        if materials:
            return CaseAction.RECEIVE
        if kind is PacketKind.RESULT:
            return CaseAction.RESULT_AT_WINDOW
    if type_ is ScanType.DELIVERED and kind is PacketKind.RESULT and packet.to_office is None:
        return CaseAction.DELIVER
    return None


def _apply_to_case(session: Session, actor: Actor, packet: Packet, scan: dict) -> None:
    case = session.exec(select(Case).where(Case.id == packet.case_id).with_for_update()).one()
    action = _effect(packet, scan)
    data = {"tracking_no": packet.tracking_no, "packet_kind": packet.kind}
    if scan["contents"]:
        problems = [c for c in scan["contents"] if c["status"] != "ok"]
        case_event(session, case, "contents_checked", actor, at=scan["at"], office_code=scan["office_code"],
                   data={**data, "contents": scan["contents"], "problems": problems})
        if problems:
            notify(session, case, f"{packet.tracking_no}签收时发现材料缺失或破损，请核对。",
                   office_code=case.collecting_office)
    if scan["type"] is ScanType.EXCEPTION:
        case_event(session, case, f"packet_{scan['reason']}", actor, at=scan["at"], office_code=scan["office_code"],
                   data={**data, "reason": scan["reason"], "note": scan["note"]})
        for office in {packet.from_office, case.collecting_office}:
            notify(session, case, f"邮件{packet.tracking_no}异常：{EXCEPTION_REASONS[scan['reason']]}。",
                   office_code=office)
        return
    if action is None or not states.can(CaseStatus(case.status), action):
        return  # e.g. materials still travelling to an office after a withdrawal
    if action is CaseAction.RECEIVE:
        if case.received_at is None:
            case.received_at = scan["at"]
        if packet.kind == PacketKind.SUPPLEMENT.value:
            case.supplement_received_at = scan["at"]
            recompute_due_date(session, case)
    if action is CaseAction.DELIVER:
        case.delivered_at = scan["at"]
    transition(session, case, action, actor, at=scan["at"], data=data, client_txn=scan["event_id"],
               office_code=scan["office_code"])
    if action is CaseAction.RESULT_AT_WINDOW:
        notify(session, case, f"您的办件{case.case_no}的办理结果已到达收件窗口，请携带身份证件领取。")


def _record_one(session: Session, actor: Actor, scan: dict) -> dict:
    if session.exec(select(PacketEvent.id).where(PacketEvent.event_id == scan["event_id"])).first():
        return {"status": "duplicate"}
    if not s10.is_valid_tracking_no(scan["tracking_no"]):
        raise rule("invalid_tracking_no", "邮件号格式或校验位有误，请重新扫描。", "tracking_no")
    packet = session.exec(select(Packet).where(Packet.tracking_no == scan["tracking_no"]).with_for_update()).first()
    if packet is None:
        raise rule("unknown_packet", "系统中没有这个邮件号。", "tracking_no")
    _check_office(scan, packet, actor)
    if packet.status == PacketStatus.CANCELLED.value:
        raise conflict(message="该邮件已作废（办件撤回时尚未寄出），不能再扫描。")
    history = session.exec(select(PacketEvent).where(PacketEvent.packet_id == packet.id)
                           .order_by(PacketEvent.id)).all()
    # the new scan takes its place by time; the whole history must still make sense
    ordered = sorted([(clock.beijing(e.at), e.id, e.type, e.reason) for e in history] +
                     [(scan["at"], float("inf"), scan["type"].value, scan["reason"])], key=lambda t: t[:2])
    latest = ordered[-1][1] == float("inf")
    try:
        status = replay([(ScanType(t), r) for _, _, t, r in ordered], to_office=packet.to_office is not None)
    except InvalidTransition as e:
        raise conflict(message=f"扫描顺序不符：邮件状态为“{PacketStatus(e.current).title}”时不能记录“{e.action}”。"
                       if latest else "该扫描时间早于已有记录，放入历史后顺序不符，请核对扫描时间。") from None
    event = PacketEvent(event_id=scan["event_id"], packet_id=packet.id, type=scan["type"].value,
                        status_after=status.value, at=scan["at"], recorded_at=clock.now(), actor=actor.username,
                        role=actor.role, office_code=scan["office_code"], note=scan["note"], reason=scan["reason"],
                        contents=scan["contents"], client_txn=scan["event_id"])
    digest = seal(event, packet.last_hash)
    session.add(event)
    packet.status, packet.last_hash = status.value, digest
    if latest:
        packet.last_event_at = scan["at"]
    session.add(packet)
    session.flush()
    if scan["type"] is ScanType.DISPATCHED:
        close_on_dispatch(session, packet, scan["at"])
    _apply_to_case(session, actor, packet, scan)
    return {"status": "recorded", "tracking_no": packet.tracking_no, "packet_status": status.value}


def record_scans(session: Session, env: Env, actor: Actor, scans) -> list[dict]:
    """Applies a scanner's batch in the order of `at`; one result per scan, in the order given.
    Each scan commits on its own, so a bad one never undoes the good ones."""
    if actor.role not in SCANNING_ROLES:
        raise Refused(403, "forbidden", "只有窗口、办理和寄递人员可以扫描。")
    if not isinstance(scans, list) or not scans:
        raise bad_request("“scans”应为非空的扫描记录列表。", "scans")
    if len(scans) > 1000:
        raise bad_request("每批最多1000条扫描记录。", "scans")
    directory = load_directory(session)
    results: list[dict | None] = [None] * len(scans)
    valid = []
    for i, raw in enumerate(scans):
        event_id = raw.get("event_id") if isinstance(raw, dict) else None
        try:
            valid.append((i, _validated(raw, actor, directory)))
        except Refused as e:
            results[i] = {"event_id": event_id, "status": "rejected", "error": e.body()["error"]}
    seen: set[str] = set()
    for i, scan in sorted(valid, key=lambda v: (v[1]["at"], v[0])):
        if scan["event_id"] in seen:
            results[i] = {"event_id": scan["event_id"], "status": "duplicate"}
            continue
        seen.add(scan["event_id"])
        try:
            outcome = _record_one(session, actor, scan)
            session.commit()
        except Refused as e:
            session.rollback()
            outcome = {"status": "rejected", "error": e.body()["error"]}
        except IntegrityError:  # the same event_id recorded by a concurrent request
            session.rollback()
            outcome = {"status": "duplicate"}
        results[i] = {"event_id": scan["event_id"], **outcome}
    return results
