"""What the owning office and the collecting window do with a case after intake.

Each use case takes a command parsed at the edge (`parse(Model, data)`: the API from JSON, the pages
from their forms), checks what only the database can tell (the matter's materials, the case's state,
who may act), changes the case and returns what it made. None of them commits: the caller does.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError
from sqlmodel import Session, select

from config import clock
from mailing.carriers import requests as carrier_requests
from mailing.packets import create_packet
from mailing.states import PacketKind, PacketStatus, cancel
from mailing.tables import Packet, PacketEvent
from routing.directory import Post
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.commands import case_files, steps
from tracking.commands.intake import POWER_OF_ATTORNEY, IdentityCheck
from tracking.files import vault
from tracking.files.checks import FileLimits, FileRefused, check_file
from tracking.files.storage import storage_for
from tracking.model.context import Actor, Env
from tracking.model.deadlines import promise_words, recompute_due_date
from tracking.model.errors import bad_request, conflict, forbidden, gone, not_found, rule
from tracking.model.identity import mask_id_number
from tracking.model.inputs import (INVALID_REQUEST, MAX_ADDRESS, MAX_NAME, Command, Copies, IsoDate, ResidentId,
                                   StrictFlag, Text, asked, optional, text, unreadable)
from tracking.model import verification
from tracking.model.links import LinkError, delivery_token, link_expiry, read_link
from tracking.model.lookups import as_clerk, as_officer, case_steps, load_case, load_packet
from tracking.model.messages import tell
from tracking.model.records import case_event, transition
from tracking.model.states import ENDED_EARLY, CaseAction, CaseStatus
from routing.matter_types import refusal_words, remedies
from tracking.model.tables import Case, ResultFile

MAX_RESULT_BYTES = 20 * 1024 * 1024
MAX_FILENAME = 120


# -- commands ------------------------------------------------------------------------------------

MaterialCode = text(MAX_NAME, required=True)
Reason = asked(Text, "请填写原因。")


class SupplementRequest(Command):
    """补正: everything the applicant must bring, listed at once (行政许可法 art. 32)."""
    materials: asked(list[MaterialCode], "请列出需要补正的全部材料。")
    due: optional(IsoDate) = None  # None: the default number of working days from today
    note: Text = ""


class Rejection(Command):
    """不予受理, with where the applicant may apply instead (printed on the notice)."""
    reason: Reason
    apply_to: text(MAX_ADDRESS) = ""
    apply_to_office: optional(text(MAX_NAME)) = None


class Withdrawal(Command):
    reason: Reason


def _decoded(value: Any) -> Any:
    """The result file as the API sends it (Base64 text) → its bytes; blank → none sent. A page passes
    the bytes of an upload as they are (JSON never holds bytes)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bytes):
        data = value
    elif not isinstance(value, str):
        raise PydanticCustomError(INVALID_REQUEST, "结果文件应为 Base64 编码的文本。")
    else:
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise PydanticCustomError(INVALID_REQUEST, "结果文件不是有效的 Base64 编码。") from None
    if not data or len(data) > MAX_RESULT_BYTES:
        raise PydanticCustomError("result_file_size", "结果文件为空或超过20MB。")
    return data


def _filename(value: Any) -> Any:
    """An upload's name as the browser gave it: no folders, cut to a length a file system takes."""
    if not isinstance(value, str):
        return value  # the strict str check refuses it
    name = value.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if unreadable(name):
        raise PydanticCustomError(INVALID_REQUEST, "文件名含有无法识别的字符。")
    return name[:MAX_FILENAME] or None


class Decision(Command):
    """办结. `result_file` is required when the result is delivered electronically (the case says so)."""
    outcome: asked(Literal["approved", "refused"], "请选择办理结果：准予或不予。",
                   accept=lambda value: value in ("approved", "refused"))
    note: Text = ""
    result_file: Annotated[bytes | None, BeforeValidator(_decoded), Field(repr=False)] = None  # up to 20MB
    filename: Annotated[str | None, BeforeValidator(_filename)] = None


class Collector(Command):
    """Who takes a paper result at the window: the applicant (`self`) or the agent registered at intake
    (`agent`, 委托代办). Name and ID number, when given, must be the registered person's."""
    relation: Literal["self", "agent"] = "self"
    name: optional(text(MAX_NAME)) = None
    id_type: Literal["resident_id"] = "resident_id"
    id_number: optional(ResidentId) = None


class Handover(Command):
    """A paper result handed to the applicant at the window, after checking who they are."""
    identity_check: IdentityCheck
    collector: Collector | None = None  # None: the applicant in person


class Listed(Command):
    """One material the window sends: a bare code stands for one copy, not the original. `certified`: a
    copy the clerk certified against the original (核验原件), where the catalogue allows it."""
    code: MaterialCode
    copies: Copies = 1
    original: StrictFlag = False
    certified: StrictFlag = False


def _as_item(value: Any) -> Any:
    return {"code": value} if isinstance(value, str) else value


ListedMaterial = Annotated[Listed, BeforeValidator(_as_item)]


class SupplementSending(Command):
    materials: asked(list[ListedMaterial], "请勾选申请人交来的补正材料。")


def _not_empty(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise PydanticCustomError(INVALID_REQUEST, "请列出补寄的材料。")
    return value


class Replacement(Command):
    """None: copies of everything the lost packet held."""
    materials: Annotated[list[ListedMaterial] | None, BeforeValidator(_not_empty)] = None


# -- results -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryLink:
    """The signed download link of an electronic result (the web layer turns the token into an address)."""
    token: str
    expires: datetime


@dataclass(frozen=True)
class Decided:
    case: Case
    result_packet: Packet | None  # paper: the packet the owning office now sends
    delivery: DeliveryLink | None  # electronic
    originals_returned: list[dict] = field(default_factory=list)  # in the result packet, or in return_packet
    return_packet: Packet | None = None  # electronic: the originals go back on their own


@dataclass(frozen=True)
class Returned:
    """A case that ended early, and the packet its materials go back in (None: nothing had left the window)."""
    case: Case
    return_packet: Packet | None


@dataclass(frozen=True)
class SentPacket:
    case: Case
    packet: Packet


# -- helpers -------------------------------------------------------------------------------------

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
            carrier_requests.void(session, packet)
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
                         contents=contents, to_person_sealed=person, parties=case)


def originals_to_return(session: Session, case: Case) -> list[dict]:
    """The originals that come back after a decision: each one that reached the owning office (in a
    received outbound, supplement or replacement packet whose contents check did not find it missing)
    and that the office does not keep by rule (the catalogue's `kept`). A certified copy is not an
    original: its original stayed with the applicant."""
    # (an agent's power of attorney is on every agent's checklist, listed by the matter or not)
    catalogue = {POWER_OF_ATTORNEY["code"]: POWER_OF_ATTORNEY,
                 **{m["code"]: m for m in session.get(Matter, case.matter_code).materials}}
    packets = session.exec(select(Packet).where(Packet.case_id == case.id, Packet.status == PacketStatus.RECEIVED.value,
                                                Packet.kind.in_(["outbound", "supplement", "replacement"]))
                           .order_by(Packet.id)).all()
    back: dict[str, dict] = {}
    for packet in packets:
        checks = session.exec(select(PacketEvent.contents).where(PacketEvent.packet_id == packet.id,
                                                                 PacketEvent.type == "received")).all()
        missing = {c["code"] for found in checks for c in found or [] if c.get("status") == "missing"}
        for m in packet.contents:
            if not m.get("original") or m["code"] in missing or catalogue.get(m["code"], {}).get("kept"):
                continue
            if m["code"] in back:  # the same paper listed twice (e.g. again in a supplement): all of it goes back
                back[m["code"]]["copies"] += int(m.get("copies", 1) or 1)
            else:
                back[m["code"]] = {"code": m["code"], "name": m["name"], "copies": int(m.get("copies", 1) or 1),
                                   "original": True, "returned": True}
    return list(back.values())


def _contents(given: list[Listed], names: dict[str, str], where: str, *, certifiable: frozenset = frozenset(),
              certifier: Actor | None = None) -> list[dict]:
    """The materials a clerk lists, each one of `names` (the rest of the check needs the case); a certified
    copy only of a material in `certifiable`, recorded with its clerk (`certifier`) and time."""
    for i, item in enumerate(given):
        if item.code not in names:
            raise rule("unknown_material", f"材料“{item.code}”不在{where}中。", f"materials[{i}]")
        if item.certified and (item.original or item.code not in certifiable):
            raise rule("certified_copy_not_allowed", f"“{names[item.code]}”不能以核验原件的复印件代替，"
                                                     "请按要求提交原件或复印件。", f"materials[{i}].certified")
    stamp = {"certified": True, "certified_by": certifier.username, "certified_at": clock.iso(clock.now())} \
        if certifier else {}
    return [{"code": item.code, "name": names[item.code], "copies": item.copies, "original": item.original}
            | (stamp if item.certified else {}) for item in given]


# -- the owning office ---------------------------------------------------------------------------

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
    recompute_due_date(session, case, env.settings)  # counted from acceptance from now on
    # reviewed from the files before the paper came: an original still on its way makes it conditional
    waiting = case_files.accepted_on_condition(session, case) if case.status == CaseStatus.RECEIVED.value else []
    transition(session, case, CaseAction.ACCEPT, actor,
               data={"awaiting_originals": [m["code"] for m in waiting]} if waiting else None)
    steps.begin(session, case, actor, case.accepted_at)  # 多地联办: the steps that follow none start now
    tell(session, case, "accepted", promise=promise_words(case))
    return case


def request_supplement(session: Session, env: Env, actor: Actor, case_no: str, command: SupplementRequest) -> Case:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    if case.supplement_requested_at is not None:
        raise conflict("supplement_already_requested", "补正只能一次性告知，本办件已发出过补正通知。")
    now = clock.now()
    materials, due = steps.supplement_notice(session, env, case.matter_code, command.materials, command.due, now)
    case.supplement_requested_at, case.supplement_due, case.supplement_materials = now, due, materials
    recompute_due_date(session, case, env.settings)
    transition(session, case, CaseAction.REQUEST_SUPPLEMENT, actor,
               data={"materials": [m["code"] for m in materials], "due": due.isoformat(), "note": command.note})
    names = "、".join(m["name"] for m in case.supplement_materials)
    tell(session, case, "supplement_requested", materials=names, due=f"{due:%Y年%m月%d日}")
    return case


def reject_case(session: Session, env: Env, actor: Actor, case_no: str, command: Rejection) -> Returned:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    data = {"reason": command.reason}
    if command.apply_to:
        data["apply_to"] = command.apply_to
    if command.apply_to_office is not None:
        if load_directory(session).post(command.apply_to_office) is None:
            raise rule("unknown_office", f"机构代码“{command.apply_to_office}”不存在。", "apply_to_office")
        data["apply_to_office"] = command.apply_to_office
    case.reason, case.ended_at = command.reason, clock.now()
    transition(session, case, CaseAction.REJECT, actor, data=data)
    packet = _send_back_originals(session, env, case, everything=False)
    tell(session, case, "rejected", reason=command.reason)
    return Returned(case, packet)


def refuse_step(session: Session, env: Env, actor: Actor, case_no: str, code: str,
                command: steps.StepRefusal) -> Returned:
    """多地联办: a step's office refuses (不予办理) after the case's acceptance. The case ends with the reason and
    the remedies the matter's kind gives, the other steps stop, and the originals go back."""
    case, rows, row = steps.refusable(session, actor, case_no, code)
    matter = session.get(Matter, case.matter_code)
    now = clock.now()
    case.reason, case.ended_at = command.reason, now
    steps.stop(session, case, rows, row, now, command.reason)
    office = load_directory(session).post(row.office_code)
    transition(session, case, CaseAction.REFUSE_STEP, actor, event="step_refused", at=now, data={
        "step": row.code, "name": row.name, "place": row.place, "office": row.office_code, "reason": command.reason,
        "words": refusal_words(matter.type), "remedies": remedies(matter.type, matter.legal_basis, document="本通知")})
    packet = None
    originals = originals_to_return(session, case)  # after the acceptance the office files what it keeps
    if originals:  # from the office that holds them: the first step's, which received the materials
        directory = load_directory(session)
        holder = session.exec(select(Packet.to_office).where(
            Packet.case_id == case.id, Packet.status == PacketStatus.RECEIVED.value,
            Packet.kind.in_(case_files.MATERIAL_KINDS)).order_by(Packet.id)).first() or case.owning_office
        to_office, division, person = _applicant_destination(env, case, directory)
        packet = create_packet(session, env.settings, directory, kind=PacketKind.RETURN, case_id=case.id,
                               origin=directory.post(holder), to_office=to_office, to_division=division,
                               contents=originals, to_person_sealed=person, parties=case)
    tell(session, case, "step_refused", place=row.place, office=office.name if office else row.office_code,
         words=refusal_words(matter.type), reason=command.reason)
    return Returned(case, packet)


def decide_case(session: Session, env: Env, actor: Actor, case_no: str, command: Decision) -> Decided:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    if case.status == CaseStatus.ACCEPTED.value:
        case_files.refuse_decision_before_originals(case)
    last_step = steps.before_decision(session, case) if case.status == CaseStatus.ACCEPTED.value else None
    electronic = case.result_method == "electronic"
    if electronic and command.result_file is None:
        raise bad_request("请选择要上传的办理结果文件（PDF 等）。", "result_file")
    now = clock.now()
    case.decided_at, case.outcome = now, command.outcome
    recompute_due_date(session, case, env.settings)  # the result's expected arrival from today (not yet sent)
    originals = originals_to_return(session, case)
    transition(session, case, CaseAction.DECIDE, actor, data={
        "outcome": command.outcome, "note": command.note,
        "originals_returned": [{"code": m["code"], "name": m["name"]} for m in originals]}
        | ({"step": last_step.code, "name": last_step.name, "place": last_step.place} if last_step else {}))
    steps.decided(session, last_step, actor, now, command.outcome, case)
    directory = load_directory(session)
    to_office, division, person = _applicant_destination(env, case, directory)
    if electronic:
        back = None
        if originals:  # nothing to print: the originals travel alone, to the window or the mail address
            back = create_packet(session, env.settings, directory, kind=PacketKind.RETURN, case_id=case.id,
                                 origin=directory.post(case.owning_office), to_office=to_office,
                                 to_division=division, contents=originals, to_person_sealed=person, parties=case)
            tell(session, case, "decided_originals_back", originals=_names(originals), tracking_no=back.tracking_no,
                 to="您的邮寄地址" if person else to_office.name)
        return Decided(case, None, _store_result(session, env, case, command, now), originals, back)
    packet = create_packet(session, env.settings, directory, kind=PacketKind.RESULT, case_id=case.id,
                           origin=directory.post(case.owning_office), to_office=to_office,
                           to_division=division, to_person_sealed=person,
                           contents=[{"code": "result", "name": "办理结果文书", "copies": 1, "original": True},
                                     *originals], parties=case)
    tell(session, case, "decided_mail", tracking_no=packet.tracking_no,
         expected=f"{case.expected_result_date:%Y年%m月%d日}",
         originals=f"您提交的原件（{_names(originals)}）随结果一并退还。" if originals else "")
    return Decided(case, packet, None, originals)


def _names(materials: list[dict]) -> str:
    return "、".join(m["name"] for m in materials)


def _store_result(session: Session, env: Env, case: Case, command: Decision, now: datetime) -> DeliveryLink:
    """The electronic result kept for download, and the signed link the applicant is sent."""
    days = env.settings.delivery_link_days
    try:  # the same checks as a scan: what the applicant downloads is the checked, rewritten file
        checked = check_file(command.result_file, command.filename or f"{case.case_no}.pdf",
                             FileLimits.from_settings(env.settings))
    except FileRefused as e:
        raise rule(e.code, e.message, "result_file") from None
    stored = ResultFile(case_id=case.id, filename=checked.filename, content_type=checked.content_type,
                        sha256=checked.sha256, size=checked.size,
                        storage_key=vault.keep(storage_for(env.settings), env.sealer, checked.data), created_at=now,
                        link_expires_at=now + timedelta(days=days), verification_code=verification.new_code())
    session.add(stored)
    session.flush()
    link = DeliveryLink(*delivery_token(env.settings.secret_key, stored.id, now, days))
    tell(session, case, "decided_electronic", result_file_id=stored.id, days=days,
         verification=verification.grouped(stored.verification_code))
    return link


# -- the collecting window -----------------------------------------------------------------------

def withdraw_case(session: Session, env: Env, actor: Actor, case_no: str, command: Withdrawal) -> Returned:
    case = load_case(session, case_no, lock=True)
    as_clerk(actor, case)
    case.reason, case.ended_at = command.reason, clock.now()
    transition(session, case, CaseAction.WITHDRAW, actor, data={"reason": command.reason},
               message="办件已办结或已不予受理，不能撤回。")
    steps.stop(session, case, case_steps(session, case), None, case.ended_at, command.reason)
    packet = _send_back_originals(session, env, case, everything=True)
    tell(session, case, "withdrawn", office_code=case.owning_office)
    return Returned(case, packet)


def send_supplement(session: Session, env: Env, actor: Actor, case_no: str, command: SupplementSending) -> SentPacket:
    case = load_case(session, case_no, lock=True)
    as_clerk(actor, case)
    asking = steps.step_asking(session, case) if case.status == CaseStatus.ACCEPTED.value else None
    if case.status != CaseStatus.SUPPLEMENT_REQUESTED.value and asking is None:
        raise conflict(message="办件不在待补正状态，不能寄送补正材料。", status=case.status)
    if asking is None and session.exec(select(Packet).where(Packet.case_id == case.id, Packet.kind == "supplement",
                                                            Packet.status != "cancelled")).first():
        raise conflict("supplement_already_sent", "补正材料已寄出，请勿重复制单。")
    # 多地联办: a step's notice is answered to that step's office
    wanted = {m["code"]: m["name"] for m in (asking.supplement["materials"] if asking else case.supplement_materials or [])}
    certifiable = frozenset(m["code"] for m in session.get(Matter, case.matter_code).materials
                            if m["original"] and m.get("certified_copy"))
    contents = _contents(command.materials, wanted, "补正通知所列材料", certifiable=certifiable, certifier=actor)
    missing = [name for code, name in wanted.items() if code not in {c["code"] for c in contents}]
    if missing:
        raise rule("missing_material", f"补正通知所列材料尚缺：{'、'.join(missing)}。", "materials")
    directory = load_directory(session)
    owner = directory.post(asking.office_code if asking else case.owning_office)
    packet = create_packet(session, env.settings, directory, kind=PacketKind.SUPPLEMENT, case_id=case.id,
                           origin=directory.post(case.collecting_office), to_office=owner,
                           to_division=owner.division_code, contents=contents, parties=case)
    if asking is not None:
        steps.supplement_sent(asking, packet.tracking_no)
        session.add(asking)
    case_event(session, case, "supplement_collected", actor, data={"tracking_no": packet.tracking_no}
               | ({"step": asking.code} if asking else {}))
    return SentPacket(case, packet)


def send_replacement(session: Session, env: Env, actor: Actor, tracking_no: str, command: Replacement) -> SentPacket:
    """After a loss the office that sent the packet sends what it can again (copies), linked to the lost one:
    by default copies of everything the lost packet held, or what the command lists (from the same list)."""
    lost = load_packet(session, tracking_no)
    case = session.exec(select(Case).where(Case.id == lost.case_id).with_for_update()).one()
    if actor.role not in ("clerk", "officer") or actor.office_code != lost.from_office:
        raise forbidden("只有寄出该邮件的机构可以补寄。")
    if lost.status != PacketStatus.LOST.value:
        raise conflict("not_lost", "只有已标记丢失的邮件才能补寄。", status=lost.status)
    if CaseStatus(case.status) in ENDED_EARLY:
        raise conflict(message="办件已不予受理或已撤回，无需补寄。", status=case.status)
    if session.exec(select(Packet.id).where(Packet.replaces_id == lost.id, Packet.status != "cancelled")).first():
        raise conflict("already_replaced", "该丢失邮件已制作补寄件，请勿重复制单。")
    if command.materials is None:
        contents = [{**m, "original": False} for m in lost.contents]
    else:
        contents = _contents(command.materials, {m["code"]: m["name"] for m in lost.contents}, "丢失邮件的内件")
    directory = load_directory(session)
    packet = create_packet(session, env.settings, directory, kind=PacketKind.REPLACEMENT, case_id=case.id,
                           origin=directory.post(lost.from_office), to_office=directory.post(lost.to_office),
                           to_division=lost.to_division, to_person_sealed=lost.to_person_sealed,
                           contents=contents, replaces_id=lost.id, parties=case)
    case.flags = [f for f in case.flags if not (f["code"] == "packet_lost" and f["tracking_no"] == lost.tracking_no)]
    recompute_due_date(session, case, env.settings)  # the materials' new arrival moves the estimate
    case_event(session, case, "replacement_created", actor,
               data={"tracking_no": packet.tracking_no, "replaces": lost.tracking_no})
    for office in sorted({case.collecting_office, case.owning_office} - {actor.office_code}):
        tell(session, case, "replacement_sent", office_code=office, lost=lost.tracking_no,
             tracking_no=packet.tracking_no)
    return SentPacket(case, packet)


def hand_over(session: Session, env: Env, actor: Actor, case_no: str, command: Handover) -> Case:
    case = load_case(session, case_no, lock=True)
    as_clerk(actor, case)
    if not command.identity_check.passed:
        raise rule("identity_check_failed", "身份核验未通过，不能交付结果。", "identity_check")
    if case.status != CaseStatus.READY_FOR_PICKUP.value:
        raise conflict(message="办理结果尚未到达窗口，不能交付。", status=case.status)
    collector = command.collector or Collector()
    person = _registered_collector(env.sealer.open(case.applicant_sealed), collector)
    case.delivered_at = clock.now()
    transition(session, case, CaseAction.DELIVER, actor, event="delivered",
               data={"how": "pickup", "identity_check": command.identity_check.method,
                     "collector": {"relation": collector.relation, "name": person["name"],
                                   "id_number": mask_id_number(person["id_number"]),
                                   "identity_check": command.identity_check.model_dump()}})
    return case


def _registered_collector(applicant: dict, collector: Collector) -> dict:
    """The registered person the collector must be: the applicant, or the agent named at intake (an
    organisation's results go to its agent, 代理人, either way). Anyone else is refused."""
    if applicant["kind"] == "organisation":
        person = applicant["agent"]
    elif collector.relation == "agent":
        person = applicant.get("agent")
        if person is None:
            raise rule("collector_not_allowed", "该办件没有登记代办人，只能由申请人本人领取。", "collector.relation")
    else:
        person = applicant
    if (collector.id_number and collector.id_number != person["id_number"]) or \
            (collector.name and collector.name != person["name"]):
        who = "登记的代办人" if collector.relation == "agent" else "申请人本人"
        raise rule("collector_not_allowed", f"领取人与{who}的姓名或身份证号码不一致，不能交付。"
                                            "请申请人本人或登记的代办人凭身份证件领取。", "collector")
    return person


# -- the applicant -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResultDownload:
    filename: str
    content_type: str
    sha256: str
    data: bytes  # opened: exactly the bytes uploaded


def download_result(session: Session, env: Env, token: str) -> ResultDownload:
    try:
        file_id, expires = read_link(env.settings.secret_key, token, clock.now())
    except LinkError as e:
        if e.code == "expired":
            raise gone("link_expired", "下载链接已过期，请联系收件窗口重新发送。") from None
        raise not_found("下载链接无效。") from None
    stored = session.get(ResultFile, file_id)
    if stored is None:
        raise not_found("下载链接无效。")
    current = link_expiry(stored.created_at, stored.link_expires_at, env.settings.delivery_link_days)
    if int(expires.timestamp()) != int(current.timestamp()):
        # the window re-issued the link: only the newest one works (results.reissue_link)
        raise gone("link_replaced", "收件窗口已重新发送下载链接，此链接不再可用，请使用最新收到的链接。")
    if stored.revoked_at is not None:
        raise gone("result_revoked", "该电子结果已被办理部门撤销，不能下载。")
    case = session.get(Case, stored.case_id)
    if stored.downloaded_at is None:
        stored.downloaded_at = clock.now()
        session.add(stored)
        if case.status == CaseStatus.DECIDED.value:
            case.delivered_at = stored.downloaded_at
            transition(session, case, CaseAction.DELIVER, Actor("applicant", "public"), event="delivered",
                       data={"how": "electronic"})
    return ResultDownload(stored.filename, stored.content_type, stored.sha256,
                          vault.result_bytes(storage_for(env.settings), env.sealer, stored))
