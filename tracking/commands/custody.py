"""Scans from handheld scanners and offices: custody events, the packet machine, routes, effects on the case."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from config import clock
from mailing import s10
from mailing.chain import seal
from mailing.packets import reroute, reschedule, served_kind
from mailing.states import (EXCEPTION_REASONS, NEXT_STEPS, SCANNER_REASONS, InvalidTransition, PacketKind,
                            PacketStatus, ScanType, replay)
from mailing.tables import ManifestEvent, Packet, PacketEvent
from routing.reference import directory as load_directory
from tracking.commands import custody, manifests
from tracking.model import lookups, states
from tracking.model.deadlines import recompute_due_date
from tracking.model.context import SYSTEM, Actor, Env
from tracking.model.errors import Refused, bad_request, conflict, rule
from tracking.model.records import case_event, notify, transition
from tracking.model.states import CaseAction, CaseStatus
from tracking.model.tables import Case
from mailing.tables import Manifest
from tracking.commands.manifests import lock_manifest
from tracking.model.errors import forbidden
from tracking.model.lookups import manifest_packets
from tracking.model.errors import not_found

SCANNING_ROLES = {"clerk", "officer", "courier"}
CONTENT_STATES = {"ok", "missing", "damaged"}
MANIFEST_SCANS = {ScanType.DISPATCHED, ScanType.ARRIVED_HUB, ScanType.DEPARTED_HUB}
EN_ROUTE = {ScanType.ARRIVED_HUB, ScanType.DEPARTED_HUB, ScanType.OUT_FOR_DELIVERY}
FAILED_DELIVERY = {"refused", "address_unknown"}


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
    tracking_no, manifest_no = scan.get("tracking_no"), scan.get("manifest_no")
    if manifest_no is not None:
        if not isinstance(manifest_no, str) or tracking_no is not None:
            raise bad_request("一条扫描记录应填写邮件号或交接清单号，二者选一。", "manifest_no")
        if kind not in MANIFEST_SCANS:
            raise bad_request("交接清单只能扫描交寄、到达或离开处理中心。", "type")
    elif not isinstance(tracking_no, str):
        raise bad_request("缺少邮件号 tracking_no。", "tracking_no")
    office_code = scan.get("office_code")
    if office_code is not None and directory.post(office_code) is None:
        raise bad_request("扫描地点机构代码不存在。", "office_code")
    if actor.role in ("clerk", "officer"):
        if office_code and office_code != actor.office_code:
            raise _wrong_office("只能以本机构名义扫描。")
        office_code = actor.office_code
    reason = scan.get("reason")
    if kind is ScanType.EXCEPTION and reason not in SCANNER_REASONS:
        raise bad_request("异常扫描须注明原因：damaged、lost、misrouted、refused 或 address_unknown。", "reason")
    contents = scan.get("contents")
    if contents is not None:
        if kind is not ScanType.RECEIVED or not isinstance(contents, list) or not all(
                isinstance(c, dict) and isinstance(c.get("code"), str) and c.get("status") in CONTENT_STATES
                for c in contents):
            raise bad_request("内件核对应为 [{code, status: ok|missing|damaged}]，仅用于签收扫描。", "contents")
    note = scan.get("note") or ""
    return {"event_id": event_id, "type": kind, "tracking_no": tracking_no.strip().upper() if tracking_no else None,
            "manifest_no": manifest_no.strip().upper() if manifest_no else None,
            "at": parse_time(scan.get("at"), "at"), "office_code": office_code,
            "note": note[:500] if isinstance(note, str) else "", "reason": reason if kind is ScanType.EXCEPTION else None,
            "contents": contents}


def _check_office(scan: dict, packet: Packet, actor: Actor) -> None:
    type_, office = scan["type"], scan["office_code"]
    if type_ is ScanType.RECEIVED:
        if packet.to_office is None or actor.role not in ("clerk", "officer") or actor.office_code != packet.to_office:
            raise _wrong_office("该邮件不是寄给本机构的，不能签收。")
    if type_ is ScanType.DISPATCHED and office and office != packet.from_office:
        raise _wrong_office("该邮件不是从本机构寄出的。" if actor.role in ("clerk", "officer")
                            else "该邮件应在寄出机构交寄，请核对扫描地点。")
    if type_ is ScanType.DELIVERED and packet.to_office and office and office != packet.to_office:
        raise _wrong_office("该邮件的收件机构不是这里，不能在此投递。")


def derived_event_id(event_id: str, suffix: str) -> str:
    """An id for an event the service records because of a scan (stable, so a re-sent scan is a duplicate)."""
    text = f"{event_id}:{suffix}"
    return text if len(text) <= 64 else "sys:" + hashlib.sha256(text.encode()).hexdigest()[:60]


def _add_event(session: Session, packet: Packet, *, event_id: str, type_: ScanType, status: PacketStatus,
               at: datetime, actor: Actor, office_code: str | None, note: str = "", reason: str | None = None,
               contents: list | None = None) -> PacketEvent:
    event = PacketEvent(event_id=event_id, packet_id=packet.id, type=type_.value, status_after=status.value, at=at,
                        recorded_at=clock.now(), actor=actor.username, role=actor.role, office_code=office_code,
                        note=note, reason=reason, contents=contents, client_txn=event_id)
    packet.last_hash = seal(event, packet.last_hash)
    session.add(event)
    session.add(packet)
    return event


def _system_exception(session: Session, packet: Packet, scan: dict, reason: str, note: str) -> None:
    """An exception the service itself records beside a scan (misrouted, contents short)."""
    _add_event(session, packet, event_id=derived_event_id(scan["event_id"], reason), type_=ScanType.EXCEPTION,
               status=PacketStatus(packet.status), at=scan["at"], actor=SYSTEM, office_code=scan["office_code"],
               note=note, reason=reason)


def _effect(kind: PacketKind, packet: Packet, scan: dict) -> CaseAction | None:
    type_ = scan["type"]
    materials = kind in (PacketKind.OUTBOUND, PacketKind.SUPPLEMENT)
    if type_ is ScanType.DISPATCHED:
        return {PacketKind.OUTBOUND: CaseAction.DISPATCH, PacketKind.SUPPLEMENT: CaseAction.DISPATCH_SUPPLEMENT,
                PacketKind.RESULT: CaseAction.DISPATCH_RESULT}.get(kind)
    if type_ is ScanType.RECEIVED:
        if materials:
            return CaseAction.RECEIVE
        if kind is PacketKind.RESULT:
            return CaseAction.RESULT_AT_WINDOW
    if type_ is ScanType.DELIVERED and kind is PacketKind.RESULT and packet.to_office is None:
        return CaseAction.DELIVER
    return None


def _on_exception(session: Session, case: Case, packet: Packet, reason: str, scan: dict, actor: Actor) -> None:
    """Every exception is on the case's record and told to the offices that must act."""
    text = EXCEPTION_REASONS[reason]
    case_event(session, case, f"packet_{reason}", actor, at=scan["at"], office_code=scan["office_code"],
               data={"tracking_no": packet.tracking_no, "packet_kind": packet.kind, "reason": reason,
                     "note": scan["note"], "next_step": NEXT_STEPS[reason]})
    for office in sorted({packet.from_office, case.collecting_office}):
        notify(session, case, f"邮件{packet.tracking_no}异常：{text}。{NEXT_STEPS[reason]}", office_code=office)
    if reason == "lost":
        case.flags = [*case.flags, {"code": "packet_lost", "tracking_no": packet.tracking_no,
                                    "at": clock.iso(scan["at"])}]


def _visited(packet: Packet, history: list[PacketEvent]) -> int:
    """How many of the route's stops the packet has passed: up to the last one it was scanned at."""
    reached = {e.office_code for e in history} | {packet.from_office}
    seen = [i for i, item in enumerate(packet.route) if item["office_code"] in reached]
    return (max(seen) + 1) if seen else 1


def _follow_route(session: Session, env: Env, directory, case: Case, packet: Packet, scan: dict,
                  history: list[PacketEvent], latest: bool) -> None:
    """A scan at an office off the planned route is a misroute: recorded, and the packet gets a new
    route from where it is."""
    office = directory.post(scan["office_code"])
    if office is None or office.code in {i["office_code"] for i in packet.route}:
        return
    explicit = scan["type"] is ScanType.EXCEPTION and scan["reason"] == "misrouted"
    if not explicit and scan["type"] not in EN_ROUTE:
        return
    if not explicit:
        _system_exception(session, packet, scan, "misrouted", f"{office.name}不在计划路由上，已重新规划路由。")
        _on_exception(session, case, packet, "misrouted", scan, SYSTEM)
    if latest:
        reroute(session, env.settings, directory, packet, _visited(packet, history), office,
                clock.beijing_date(scan["at"]))


def _failed_delivery(session: Session, env: Env, directory, case: Case, packet: Packet, kind: PacketKind,
                     scan: dict) -> None:
    """A result that cannot be delivered home (refused once, or undeliverable N times) goes back to the
    collecting window, where the applicant collects it."""
    packet.failed_attempts += 1
    session.add(packet)
    if kind is not PacketKind.RESULT or packet.to_office is not None:
        return
    if scan["reason"] != "refused" and packet.failed_attempts < env.settings.delivery_attempts:
        return
    hall = directory.post(case.collecting_office)
    here = directory.post(scan["office_code"]) or directory.post(packet.route[-1]["office_code"])
    visited = len(packet.route) - (packet.route[-1]["office_code"] == here.code)
    reroute(session, env.settings, directory, packet, visited, here, clock.beijing_date(scan["at"]), to_office=hall)
    why = EXCEPTION_REASONS[scan["reason"]]
    case_event(session, case, "result_returned_to_window", SYSTEM, at=scan["at"],
               data={"tracking_no": packet.tracking_no, "reason": scan["reason"],
                     "attempts": packet.failed_attempts, "to_office": hall.code})
    notify(session, case, f"您的办件{case.case_no}的办理结果未能投递（{why}），已退回{hall.name}，"
                          f"到达后将通知您携带身份证件领取。")
    notify(session, case, f"结果件{packet.tracking_no}未能投递（{why}），退回本窗口待申请人领取。",
           office_code=hall.code)


def _check_contents(session: Session, case: Case, packet: Packet, kind: PacketKind, scan: dict,
                    actor: Actor) -> None:
    """The owning office's receipt checks the materials item by item: what is missing or damaged is
    recorded, stops a plain acceptance and asks for a supplement notice, never a silent receipt."""
    if kind not in (PacketKind.OUTBOUND, PacketKind.SUPPLEMENT) or packet.to_office != case.owning_office:
        return
    names = {m["code"]: m.get("name", m["code"]) for m in packet.contents}
    checked = scan["contents"]
    unknown = [c["code"] for c in checked or [] if c["code"] not in names]
    if unknown:
        raise rule("unknown_material", f"材料“{'、'.join(unknown)}”不在该邮件的内件清单中。", "contents")
    problems = [{"code": c["code"], "name": names[c["code"]], "status": c["status"],
                 "tracking_no": packet.tracking_no} for c in checked or [] if c["status"] != "ok"]
    fine = set(names) - {p["code"] for p in problems}
    case.contents_problems = [p for p in case.contents_problems if p["code"] not in fine] + problems
    data = {"tracking_no": packet.tracking_no, "packet_kind": packet.kind}
    if checked is None:
        return
    unchecked = sorted(set(names) - {c["code"] for c in checked})
    case_event(session, case, "contents_checked", actor, at=scan["at"], office_code=scan["office_code"],
               data={**data, "contents": checked, "problems": problems, "unchecked": unchecked})
    if not problems:
        return
    for p in problems:
        case_event(session, case, f"material_{p['status']}", actor, at=scan["at"], office_code=scan["office_code"],
                   data={**data, "code": p["code"], "name": p["name"]})
    reason = "damaged" if any(p["status"] == "damaged" for p in problems) else "contents_missing"
    listing = "、".join(f"{p['name']}（{'缺失' if p['status'] == 'missing' else '破损'}）" for p in problems)
    _system_exception(session, packet, scan, reason, f"签收核对：{listing}")
    case_event(session, case, f"packet_{reason}", SYSTEM, at=scan["at"], office_code=scan["office_code"],
               data={**data, "reason": reason, "note": listing, "next_step": NEXT_STEPS["contents_missing"]})
    notify(session, case, f"{packet.tracking_no}签收核对发现：{listing}。请在5个工作日内一次性告知补正，或不予受理。",
           office_code=case.owning_office)
    notify(session, case, f"{packet.tracking_no}签收时发现材料缺失或破损：{listing}，请核对。",
           office_code=case.collecting_office)


def _apply_to_case(session: Session, env: Env, directory, actor: Actor, case: Case, packet: Packet,
                   kind: PacketKind, scan: dict) -> None:
    if scan["type"] is ScanType.EXCEPTION:
        _on_exception(session, case, packet, scan["reason"], scan, actor)
        if scan["reason"] in FAILED_DELIVERY:
            _failed_delivery(session, env, directory, case, packet, kind, scan)
        return
    if scan["type"] is ScanType.RECEIVED:
        _check_contents(session, case, packet, kind, scan, actor)
        if kind is PacketKind.RETURN and packet.to_office == case.collecting_office:
            notify(session, case, f"您的办件{case.case_no}的原件已退回收件窗口，请携带身份证件领取。")
    action = _effect(kind, packet, scan)
    if action is None or not states.can(CaseStatus(case.status), action):
        return  # e.g. materials still travelling to an office after a withdrawal
    data = {"tracking_no": packet.tracking_no, "packet_kind": packet.kind}
    if action is CaseAction.RECEIVE:
        if case.received_at is None:
            case.received_at = scan["at"]
        if kind is PacketKind.SUPPLEMENT:
            case.supplement_received_at = scan["at"]
            recompute_due_date(session, case)
    if action is CaseAction.DELIVER:
        case.delivered_at = scan["at"]
    transition(session, case, action, actor, at=scan["at"], data=data, client_txn=scan["event_id"],
               office_code=scan["office_code"])
    if action is CaseAction.RESULT_AT_WINDOW:
        notify(session, case, f"您的办件{case.case_no}的办理结果已到达收件窗口，请携带身份证件领取。")


def _record_one(session: Session, env: Env, actor: Actor, scan: dict, directory) -> dict:
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
    _add_event(session, packet, event_id=scan["event_id"], type_=scan["type"], status=status, at=scan["at"],
               actor=actor, office_code=scan["office_code"], note=scan["note"], reason=scan["reason"],
               contents=scan["contents"])
    packet.status = status.value
    if latest:
        packet.last_event_at = scan["at"]
    if scan["type"] is ScanType.DISPATCHED and packet.dispatched_at is None:
        packet.dispatched_at = scan["at"]
        reschedule(session, env.settings, directory, packet, clock.beijing_date(scan["at"]))
    if scan["type"] in (ScanType.DELIVERED, ScanType.RECEIVED) and packet.arrived_at is None:
        packet.arrived_at = scan["at"]
    session.flush()
    if scan["type"] is ScanType.DISPATCHED:
        manifests.close_on_dispatch(session, packet, scan["at"])
    case = session.exec(select(Case).where(Case.id == packet.case_id).with_for_update()).one()
    kind = served_kind(session, packet)
    _follow_route(session, env, directory, case, packet, scan, history, latest)
    _apply_to_case(session, env, directory, actor, case, packet, kind, scan)
    return {"status": "recorded", "tracking_no": packet.tracking_no, "packet_status": packet.status}


def _record_manifest(session: Session, env: Env, actor: Actor, scan: dict, directory) -> dict:
    """A sheet's barcode scanned: the same scan for every packet on it, in one transaction. A packet that
    cannot take it (say, cancelled since the sheet was printed) is reported and leaves the rest alone."""
    if session.exec(select(ManifestEvent.id).where(ManifestEvent.event_id == scan["event_id"])).first():
        return {"status": "duplicate"}
    manifest = manifests.manifest_for_scan(session, actor, scan["manifest_no"], scan["type"].value)
    lines = []
    for packet in lookups.manifest_packets(session, manifest):
        one = {**scan, "manifest_no": None, "tracking_no": packet.tracking_no,
               "event_id": derived_event_id(scan["event_id"], packet.tracking_no),
               "note": scan["note"] or f"交接清单{manifest.manifest_no}"}
        try:
            with session.begin_nested():
                outcome = _record_one(session, env, actor, one, directory)
        except Refused as e:
            outcome = {"status": "rejected", "error": e.body()["error"]}
        lines.append({"tracking_no": packet.tracking_no, **{k: v for k, v in outcome.items() if k != "tracking_no"}})
    if not any(line["status"] == "recorded" for line in lines):
        raise conflict("manifest_not_applied", "清单上的邮件均不能记录此次扫描，请逐件核对。", packets=lines)
    manifests.record_manifest_scan(session, actor, manifest, scan, lines)
    return {"status": "recorded", "manifest_no": manifest.manifest_no, "packets": lines}


def record_scans(session: Session, env: Env, actor: Actor, scans) -> list[dict]:
    """Applies a scanner's batch in the order of `at`; one result per scan, in the order given.
    Each scan commits on its own, so a bad one never undoes the good ones."""
    if actor.role not in SCANNING_ROLES:
        raise forbidden("只有窗口、办理和寄递人员可以扫描。")
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
        record = _record_manifest if scan["manifest_no"] else _record_one
        try:
            outcome = record(session, env, actor, scan, directory)
            session.commit()
        except Refused as e:
            session.rollback()
            error = e.body()["error"]
            outcome = {"status": "rejected", "error": error}
            if "packets" in error:
                outcome["packets"] = error.pop("packets")
        except IntegrityError:  # the same event_id recorded by a concurrent request
            session.rollback()
            outcome = {"status": "duplicate"}
        results[i] = {"event_id": scan["event_id"], **outcome}
    return results


def confirm_manifest_receipt(session: Session, env: Env, actor: Actor, manifest_no: str, body: dict) -> dict:
    """The receiving party counts a sheet: packets here arrive (signed for by their addressee office, or
    arrived at a hub), packets missing or extra get an exception event each."""
    directory = load_directory(session)
    now = clock.now()

    def record(packet: Packet, type_: ScanType, office: str | None, reason: str | None = None, note: str = ""):
        scan = {"event_id": derived_event_id(f"receipt:{manifest_no.strip().upper()}", packet.tracking_no),
                "type": type_, "tracking_no": packet.tracking_no, "manifest_no": None, "at": now,
                "office_code": office, "note": note, "reason": reason, "contents": None}
        try:
            with session.begin_nested():
                _record_one(session, env, actor, scan, directory)
        except Refused:
            pass  # the packet's own history already says where it is (received, lost, cancelled)

    def arrival(packet: Packet, office: str | None) -> None:
        post = directory.post(office)
        if post is None:
            return
        if office == packet.to_office and actor.role in ("clerk", "officer"):
            record(packet, ScanType.RECEIVED, office)
        elif post.kind == "hub":
            record(packet, ScanType.ARRIVED_HUB, office)

    def exception(packet: Packet, reason: str, note: str, office: str | None) -> None:
        record(packet, ScanType.EXCEPTION, office, reason, note)

    answer = custody.confirm_receipt(session, actor, manifest_no, body, arrival, exception)
    session.commit()
    return answer


def _receiver(actor: Actor, manifest: Manifest, body: dict) -> str | None:
    """The receiving party confirms: staff of the office a sheet went to, or the courier it went to."""
    kind, _, key = manifest.to_party.partition(":")
    office = body.get("office_code")
    if office is not None and not isinstance(office, str):
        raise bad_request("“office_code”应为机构代码。", "office_code")
    if kind == "office":
        if actor.office_code != key:
            raise forbidden("只有接收机构的工作人员可以确认该清单。")
        if office and office != key:
            raise rule("wrong_office", "确认地点与清单的接收机构不符。", "office_code")
        return key
    if actor.username != key:
        raise forbidden("只有清单上的寄递人员可以确认该清单。")
    return office or actor.office_code


def confirm_receipt(session: Session, actor: Actor, manifest_no: str, body: dict,
                    record_arrival, record_exception) -> dict:
    """The receiving party's count: the packets scanned on arrival against the sheet. A packet on the
    sheet but not here, or here but not on the sheet, becomes an exception event with its reason.

    `record_arrival(packet, office)` and `record_exception(packet, reason, note, office)` write the
    custody events (scans own the packet machine)."""
    manifest = lock_manifest(session, manifest_no)
    if manifest is None:
        raise not_found("未找到该交接清单。")
    office = _receiver(actor, manifest, body)
    scanned = body.get("tracking_nos")
    if not isinstance(scanned, list) or not all(isinstance(v, str) for v in scanned):
        raise bad_request("“tracking_nos”应为到达时扫描的邮件号列表。", "tracking_nos")
    if manifest.cancelled_at is not None:
        raise conflict("manifest_cancelled", "该交接清单已作废。")
    if manifest.handed_over_at is None:
        raise conflict("not_handed_over", "该交接清单尚未交接（未扫描交寄），不能确认接收。")
    if manifest.confirmed_at is not None:
        raise conflict("already_confirmed", "该交接清单已确认接收。")
    here = list(dict.fromkeys(v.strip().upper() for v in scanned))
    sheet = manifest_packets(session, manifest)
    on_sheet = {p.tracking_no for p in sheet}
    # a packet that never left (cancelled with its case before the sheet was scanned) is not expected
    stayed = [p for p in sheet if p.status in (PacketStatus.CREATED.value, PacketStatus.CANCELLED.value)]
    listed = [p for p in sheet if p not in stayed]
    received = [p for p in listed if p.tracking_no in here]
    missing = [p for p in listed if p.tracking_no not in here]
    extra_nos = [n for n in here if n not in on_sheet]
    extra = {p.tracking_no: p for p in session.exec(select(Packet).where(Packet.tracking_no.in_(extra_nos)))}
    for packet in received:
        record_arrival(packet, office)
    for packet in missing:
        record_exception(packet, "missing_from_manifest", f"交接清单{manifest.manifest_no}上有此件，接收时未见实物。",
                         office)
    for number in extra_nos:
        if number in extra:
            record_exception(extra[number], "not_on_manifest",
                             f"随交接清单{manifest.manifest_no}到达，但不在清单上。", office)
    now = clock.now()
    manifest.confirmed_at = now
    answer = {"manifest_no": manifest.manifest_no, "received": len(received),
              "missing": [p.tracking_no for p in missing], "extra": extra_nos,
              "unknown": [n for n in extra_nos if n not in extra], "not_sent": [p.tracking_no for p in stayed]}
    session.add(manifest)
    session.add(ManifestEvent(event_id=f"receipt:{manifest.manifest_no}", manifest_id=manifest.id, type="receipt",
                              at=now, recorded_at=now, actor=actor.username, role=actor.role, office_code=office,
                              data={k: answer[k] for k in ("received", "missing", "extra", "unknown", "not_sent")}))
    session.flush()
    return answer
