"""What the owning office and the collecting window do with a case after intake."""
from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date

from sqlmodel import Session, select

from config import clock
from mailing.packets import create_packet
from mailing.states import PacketKind, PacketStatus, cancel
from mailing.tables import Packet
from routing.calendars import work_calendar
from routing.directory import Post
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.model.context import Actor, Env
from tracking.model.errors import bad_request, conflict, forbidden, not_found, rule
from tracking.model.links import LinkError, delivery_token, read_token
from tracking.model.records import case_event, notify, transition
from tracking.model.states import CaseAction, CaseStatus
from tracking.model.tables import Case, ResultFile
from tracking.model.lookups import as_clerk
from tracking.model.lookups import as_officer
from tracking.model.lookups import load_case
from tracking.model.lookups import load_packet
from tracking.model.errors import gone

MAX_RESULT_BYTES = 20 * 1024 * 1024










def _reason(body: dict) -> str:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request("请填写原因。", "reason")
    return reason.strip()[:500]




def _applicant_destination(env: Env, case: Case, directory) -> tuple[Post | None, str, str | None]:
    """Where paper goes back to the applicant: their address for mail, else the collecting window."""
    if case.result_method == "mail" and case.result_address_sealed:
        applicant = env.sealer.open(case.applicant_sealed)
        person = applicant.get("agent") if applicant["kind"] == "organisation" else applicant
        recipient = {"name": applicant["name"],
                     "phone": person["phone"], "address": env.sealer.open(case.result_address_sealed)}
        return None, case.result_division, env.sealer.seal(recipient)
    hall = directory.post(case.collecting_office)
    return hall, hall.division_code, None


def _send_back_originals(session: Session, env: Env, case: Case, *, everything: bool) -> Packet | None:
    """Materials that reached (or are on their way to) the owning office go back in a `return` packet."""
    packets = session.exec(select(Packet).where(Packet.case_id == case.id,
                                                Packet.kind.in_(["outbound", "supplement", "replacement"]))).all()
    contents: list[dict] = []
    for packet in packets:
        if packet.status == PacketStatus.CREATED.value:
            packet.status = cancel(PacketStatus(packet.status)).value  # never left the window
            session.add(packet)
            continue
        if packet.status in (PacketStatus.LOST.value, PacketStatus.CANCELLED.value):
            continue
        contents += [m for m in packet.contents if everything or m.get("original")]
    if not contents:
        return None
    directory = load_directory(session)
    to_office, division, person = _applicant_destination(env, case, directory)
    return create_packet(session, env.settings, directory, kind=PacketKind.RETURN, case_id=case.id,
                         origin=directory.post(case.owning_office), to_office=to_office, to_division=division,
                         contents=contents, to_person_sealed=person)


def accept_case(session: Session, env: Env, actor: Actor, case_no: str) -> Case:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    required = {m["code"] for m in session.get(Matter, case.matter_code).materials if m["required"]}
    short = [p for p in case.contents_problems if p["code"] in required]
    if short:
        names = "、".join(p["name"] for p in short)
        raise conflict("contents_incomplete", f"签收时发现必需材料缺失或破损（{names}），请一次性告知补正或不予受理。",
                       materials=[p["code"] for p in short])
    case.accepted_at = clock.now()
    transition(session, case, CaseAction.ACCEPT, actor)
    notify(session, case, f"您的办件{case.case_no}已受理。")
    return case


def request_supplement(session: Session, env: Env, actor: Actor, case_no: str, body: dict) -> Case:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    if case.supplement_requested_at is not None:
        raise conflict("supplement_already_requested", "补正只能一次性告知，本办件已发出过补正通知。")
    matter = session.get(Matter, case.matter_code)
    codes = body.get("materials")
    known = {m["code"]: m["name"] for m in matter.materials}
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        raise bad_request("请列出需要补正的全部材料。", "materials")
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise rule("unknown_material", f"材料“{'、'.join(unknown)}”不在该事项的材料清单中。", "materials")
    now = clock.now()
    today = clock.beijing_date(now)
    if body.get("due") is not None:
        try:
            due = date.fromisoformat(body["due"])
        except (TypeError, ValueError):
            raise bad_request("补正期限应为 YYYY-MM-DD 格式的日期。", "due") from None
        if due <= today:
            raise rule("invalid_due_date", "补正期限应晚于今天。", "due")
    else:
        due, _ = work_calendar(session).add_working_days(today, env.settings.supplement_due_days)
    note = body.get("note") or ""
    if not isinstance(note, str):
        raise bad_request("“note”应为文本。", "note")
    case.supplement_requested_at, case.supplement_due = now, due
    case.supplement_materials = [{"code": c, "name": known[c]} for c in dict.fromkeys(codes)]
    transition(session, case, CaseAction.REQUEST_SUPPLEMENT, actor,
               data={"materials": list(dict.fromkeys(codes)), "due": due.isoformat(), "note": note[:500]})
    names = "、".join(m["name"] for m in case.supplement_materials)
    notify(session, case, f"您的办件{case.case_no}需补正材料：{names}，请于{due:%Y年%m月%d日}前到收件窗口提交。")
    return case


def _listed(given: list, names: dict[str, str], where: str) -> list[dict]:
    """Materials a clerk lists ({code, copies, original} or a bare code), each one of `names`."""
    contents = []
    for i, item in enumerate(given):
        code = item.get("code") if isinstance(item, dict) else item
        if code not in names:
            raise rule("unknown_material", f"材料“{code}”不在{where}中。", f"materials[{i}]")
        copies = item.get("copies", 1) if isinstance(item, dict) else 1
        if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 99:
            raise bad_request("份数应为1至99的整数。", f"materials[{i}].copies")
        original = item.get("original", False) if isinstance(item, dict) else False
        contents.append({"code": code, "name": names[code], "copies": copies, "original": bool(original)})
    return contents


def send_supplement(session: Session, env: Env, actor: Actor, case_no: str, body: dict) -> tuple[Case, Packet]:
    case = load_case(session, case_no, lock=True)
    as_clerk(actor, case)
    if case.status != CaseStatus.SUPPLEMENT_REQUESTED.value:
        raise conflict(message="办件不在待补正状态，不能寄送补正材料。", status=case.status)
    if session.exec(select(Packet).where(Packet.case_id == case.id, Packet.kind == "supplement",
                                         Packet.status != "cancelled")).first():
        raise conflict("supplement_already_sent", "补正材料已寄出，请勿重复制单。")
    given = body.get("materials")
    if not isinstance(given, list) or not given:
        raise bad_request("请列出补正的材料。", "materials")
    wanted = {m["code"]: m["name"] for m in case.supplement_materials or []}
    contents = _listed(given, wanted, "补正通知所列材料")
    missing = [name for code, name in wanted.items() if code not in {c["code"] for c in contents}]
    if missing:
        raise rule("missing_material", f"补正通知所列材料尚缺：{'、'.join(missing)}。", "materials")
    directory = load_directory(session)
    owner = directory.post(case.owning_office)
    packet = create_packet(session, env.settings, directory, kind=PacketKind.SUPPLEMENT, case_id=case.id,
                           origin=directory.post(case.collecting_office), to_office=owner,
                           to_division=owner.division_code, contents=contents)
    case_event(session, case, "supplement_collected", actor, data={"tracking_no": packet.tracking_no})
    return case, packet


def _replacement_contents(lost: Packet, given) -> list[dict]:
    """By default copies of everything the lost packet held; or what the window lists (from the same list)."""
    if given is None:
        return [{**m, "original": False} for m in lost.contents]
    if not isinstance(given, list) or not given:
        raise bad_request("请列出补寄的材料。", "materials")
    return _listed(given, {m["code"]: m["name"] for m in lost.contents}, "丢失邮件的内件")


def send_replacement(session: Session, env: Env, actor: Actor, tracking_no: str, body: dict) -> tuple[Case, Packet]:
    """After a loss the office that sent the packet sends what it can again (copies), linked to the lost one."""
    lost = load_packet(session, tracking_no)
    case = session.exec(select(Case).where(Case.id == lost.case_id).with_for_update()).one()
    if actor.role not in ("clerk", "officer") or actor.office_code != lost.from_office:
        raise forbidden("只有寄出该邮件的机构可以补寄。")
    if lost.status != PacketStatus.LOST.value:
        raise conflict("not_lost", "只有已标记丢失的邮件才能补寄。", status=lost.status)
    if case.status in (CaseStatus.REJECTED.value, CaseStatus.WITHDRAWN.value):
        raise conflict(message="办件已不予受理或已撤回，无需补寄。", status=case.status)
    if session.exec(select(Packet.id).where(Packet.replaces_id == lost.id, Packet.status != "cancelled")).first():
        raise conflict("already_replaced", "该丢失邮件已制作补寄件，请勿重复制单。")
    contents = _replacement_contents(lost, body.get("materials"))
    directory = load_directory(session)
    packet = create_packet(session, env.settings, directory, kind=PacketKind.REPLACEMENT, case_id=case.id,
                           origin=directory.post(lost.from_office), to_office=directory.post(lost.to_office),
                           to_division=lost.to_division, to_person_sealed=lost.to_person_sealed,
                           contents=contents, replaces_id=lost.id)
    case.flags = [f for f in case.flags if not (f["code"] == "packet_lost" and f["tracking_no"] == lost.tracking_no)]
    case_event(session, case, "replacement_created", actor,
               data={"tracking_no": packet.tracking_no, "replaces": lost.tracking_no})
    for office in sorted({case.collecting_office, case.owning_office} - {actor.office_code}):
        notify(session, case, f"丢失邮件{lost.tracking_no}已补寄，补寄件邮件号{packet.tracking_no}。", office_code=office)
    return case, packet


def _where_instead(session: Session, body: dict) -> dict:
    """Where the applicant may apply instead (printed on the rejection notice): words, an office, or both."""
    out = {}
    apply_to = body.get("apply_to")
    if apply_to is not None:
        if not isinstance(apply_to, str):
            raise bad_request("“apply_to”应为文本。", "apply_to")
        if apply_to.strip():
            out["apply_to"] = apply_to.strip()[:300]
    office = body.get("apply_to_office")
    if office is not None:
        if not isinstance(office, str) or load_directory(session).post(office) is None:
            raise rule("unknown_office", f"机构代码“{office}”不存在。", "apply_to_office")
        out["apply_to_office"] = office
    return out


def reject_case(session: Session, env: Env, actor: Actor, case_no: str, body: dict) -> tuple[Case, Packet | None]:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    reason = _reason(body)
    data = {"reason": reason, **_where_instead(session, body)}
    case.reason, case.ended_at = reason, clock.now()
    transition(session, case, CaseAction.REJECT, actor, data=data)
    packet = _send_back_originals(session, env, case, everything=False)
    notify(session, case, f"您的办件{case.case_no}不予受理，原因：{reason}")
    return case, packet


def withdraw_case(session: Session, env: Env, actor: Actor, case_no: str, body: dict) -> tuple[Case, Packet | None]:
    case = load_case(session, case_no, lock=True)
    as_clerk(actor, case)
    reason = _reason(body)
    case.reason, case.ended_at = reason, clock.now()
    transition(session, case, CaseAction.WITHDRAW, actor, data={"reason": reason},
               message="办件已办结或已不予受理，不能撤回。")
    packet = _send_back_originals(session, env, case, everything=True)
    notify(session, case, f"您的办件{case.case_no}已撤回。", office_code=case.owning_office)
    return case, packet


def decide_case(session: Session, env: Env, actor: Actor, case_no: str, body: dict) -> dict:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    outcome = body.get("outcome")
    if outcome not in ("approved", "refused"):
        raise bad_request("办理结果应为 approved（准予）或 refused（不予）。", "outcome")
    note = body.get("note") or ""
    if not isinstance(note, str):
        raise bad_request("“note”应为文本。", "note")
    result = {}
    file_bytes = None
    if case.result_method == "electronic":
        raw = body.get("result_file")
        if not isinstance(raw, str) or not raw:
            raise bad_request("电子送达须上传结果文件（result_file，Base64）。", "result_file")
        try:
            file_bytes = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("结果文件不是有效的 Base64 编码。", "result_file") from None
        if not file_bytes or len(file_bytes) > MAX_RESULT_BYTES:
            raise rule("result_file_size", "结果文件为空或超过20MB。", "result_file")
    now = clock.now()
    case.decided_at, case.outcome = now, outcome
    transition(session, case, CaseAction.DECIDE, actor, data={"outcome": outcome, "note": note[:500]})
    if file_bytes is not None:
        filename = body.get("filename") if isinstance(body.get("filename"), str) else f"{case.case_no}.pdf"
        stored = ResultFile(case_id=case.id, filename=filename[:120],
                            content_type="application/pdf" if file_bytes[:4] == b"%PDF" else "application/octet-stream",
                            sha256=hashlib.sha256(file_bytes).hexdigest(), data=file_bytes, created_at=now)
        session.add(stored)
        session.flush()
        result["delivery_token"], result["delivery_expires"] = delivery_token(
            env.settings.secret_key, stored.id, now, env.settings.delivery_link_days)
        notify(session, case, f"您的办件{case.case_no}已办结，电子结果下载链接：{env.addresses.delivery(result['delivery_token'])}"
                              f"（{env.settings.delivery_link_days}天内有效）")
    else:
        directory = load_directory(session)
        to_office, division, person = _applicant_destination(env, case, directory)
        packet = create_packet(session, env.settings, directory, kind=PacketKind.RESULT, case_id=case.id,
                               origin=directory.post(case.owning_office), to_office=to_office,
                               to_division=division, to_person_sealed=person,
                               contents=[{"code": "result", "name": "办理结果文书", "copies": 1, "original": True}])
        result["result_packet"] = packet
        notify(session, case, f"您的办件{case.case_no}已办结，结果将寄出（邮件号{packet.tracking_no}）。")
    result["case"] = case
    return result


def hand_over(session: Session, env: Env, actor: Actor, case_no: str, body: dict) -> Case:
    case = load_case(session, case_no, lock=True)
    as_clerk(actor, case)
    check = body.get("identity_check")
    if not isinstance(check, dict) or check.get("method") not in ("id_card_reader", "face", "manual"):
        raise bad_request("请提供身份核验结果（method、passed）。", "identity_check")
    if check.get("passed") is not True:
        raise rule("identity_check_failed", "身份核验未通过，不能交付结果。", "identity_check")
    if case.status != CaseStatus.READY_FOR_PICKUP.value:
        raise conflict(message="办理结果尚未到达窗口，不能交付。", status=case.status)
    case.delivered_at = clock.now()
    transition(session, case, CaseAction.DELIVER, actor, event="delivered",
               data={"how": "pickup", "identity_check": check["method"]})
    return case


def download_result(session: Session, env: Env, token: str) -> ResultFile:
    try:
        file_id = read_token(env.settings.secret_key, token, clock.now())
    except LinkError as e:
        if e.code == "expired":
            raise gone("link_expired", "下载链接已过期，请联系办理部门重新发送。") from None
        raise not_found("下载链接无效。") from None
    stored = session.get(ResultFile, file_id)
    if stored is None:
        raise not_found("下载链接无效。")
    case = session.get(Case, stored.case_id)
    if stored.downloaded_at is None:
        stored.downloaded_at = clock.now()
        session.add(stored)
        if case.status == CaseStatus.DECIDED.value:
            case.delivered_at = stored.downloaded_at
            transition(session, case, CaseAction.DELIVER, Actor("applicant", "public"), event="delivered",
                       data={"how": "electronic"})
    return stored

