"""What goes on paper: the specs `labels` draws, built from a case or packet, and who may print them.

The outside of a packet follows GB/T 41833-2022: a person's name and phone masked, no unit or
room, never an ID number or a check code; offices print in full. Documents handed to the
applicant (receipt, notices) carry their name, and each print is written to the access log.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select

from config import clock
from config.database import add_later
from labels.specs import LabelSpec, ManifestLine, ManifestSpec, MaterialLine, NoticeSpec, Party, ReceiptSpec, StepLine
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Manifest, Packet
from routing.matter_types import (acceptance_basis, refusal_basis, refusal_title, refusal_words, remedies,
                                  type_title)
from routing.reference import directory as load_directory
from routing.tables import Matter, Office
from tracking.model.context import Actor, Env
from tracking.model.deadlines import promise_words
from tracking.model.errors import conflict, forbidden
from tracking.model.identity import mask_address, mask_credit_code, mask_id_number, mask_name, mask_phone
from tracking.model.lookups import case_steps, load_case, load_packet, manifest_packets, piece_count
from tracking.model.tables import AccessLog, Case, CaseEvent
from tracking.reads.carriers import CARRIER_TITLES, packet_carrier

NO_LABEL = (PacketStatus.LOST, PacketStatus.DELIVERED, PacketStatus.RECEIVED, PacketStatus.CANCELLED)
RESULT_WAYS = {"mail": "邮寄到申请人指定地址", "pickup": "到收件窗口领取（凭本回执和身份证件）",
               "electronic": "网络送达（下载链接以短信发送）"}
Names = Callable[[str], str]  # a staff member's username → how they are printed (name and office)


def _office_party(session: Session, code: str) -> Party:
    office = session.get(Office, code)
    if office is None:
        return Party(code, "")
    return Party(office.name, office.address, office.phone, office.postcode)


def division_name(directory, code: str) -> str:
    """忻州市忻府区: the city and county names, for sorting by eye."""
    place = directory.place(code)
    if place is None:
        return code
    parent = directory.place(place.parent_code)
    return (parent.name if parent and parent.level == "city" else "") + place.name


def _last_hub(directory, route: list[dict]) -> str:
    """The hub that sorts for the destination: the last one on the planned route."""
    hubs = [stop["office_code"] for stop in route if getattr(directory.post(stop["office_code"]), "kind", "") == "hub"]
    return hubs[-1] if hubs else ""


def _destination(directory, packet: Packet) -> str:
    """Where the packet goes, for sorting by eye: the office, or the division a home address is in."""
    if packet.to_office:
        return directory.post(packet.to_office).name
    return f"{division_name(directory, packet.to_division)}（投递）"


def _track_url(env: Env, number: str) -> str:
    return env.addresses.tracking(number)


def _log(session: Session, actor: Actor, case: Case, what: str) -> None:
    add_later(session, AccessLog(at=clock.now(), username=actor.username, role=actor.role,
                                 office_code=actor.office_code, case_no=case.case_no, what=what))


# -- labels --------------------------------------------------------------------------------

def _may_print_label(actor: Actor, packet: Packet) -> bool:
    if actor.role in ("clerk", "officer"):
        return actor.office_code in (packet.from_office, packet.to_office)
    if actor.role == "courier":  # a torn label is reprinted at a hub on the way
        return bool(actor.office_code) and actor.office_code in {stop["office_code"] for stop in packet.route}
    return False


def label_spec(session: Session, env: Env, packet: Packet) -> LabelSpec:
    directory = load_directory(session)
    if PacketStatus(packet.status) in NO_LABEL:
        raise conflict("label_unavailable", f"邮件{packet.tracking_no}{PacketStatus(packet.status).title}，不能再打印面单。",
                       status=packet.status)
    if packet.to_office:
        recipient = _office_party(session, packet.to_office)
    else:
        person = env.sealer.open(packet.to_person_sealed)
        recipient = Party(mask_name(person["name"]), mask_address(person["address"]), mask_phone(person["phone"]))
    sort_code, destination, carried = packet.to_division, _destination(directory, packet), {}
    if packet.carrier != "own":
        # the carrier sorts by its own routing code and 大头笔, given with the booking
        fields = (packet_carrier(session, packet)["booking"] or {}).get("label_fields", {})
        sort_code = fields.get("routeCode") or sort_code
        destination = " ".join(x for x in (fields.get("markDestinationName"), destination) if x)
        carried = {"carrier": CARRIER_TITLES.get(packet.carrier, packet.carrier),
                   "waybill_no": packet.waybill_no if packet.waybill_no not in (None, packet.tracking_no) else ""}
    return LabelSpec(tracking_no=packet.tracking_no, kind_title=PacketKind(packet.kind).title,
                     sort_code=sort_code, hub_code=_last_hub(directory, packet.route) or "—",
                     destination=destination, recipient=recipient, **carried,
                     sender=_office_party(session, packet.from_office), pieces=piece_count(packet.contents),
                     case_no=session.get(Case, packet.case_id).case_no,
                     track_url=_track_url(env, packet.tracking_no), created=clock.beijing_date(packet.created_at))


def packet_label(session: Session, env: Env, actor: Actor, tracking_no: str) -> LabelSpec:
    packet = load_packet(session, tracking_no)
    if not _may_print_label(actor, packet):
        raise forbidden("只有寄出或收件机构的工作人员可以打印该邮件的面单。")
    return label_spec(session, env, packet)


def manifest_labels(session: Session, env: Env, manifest: Manifest) -> list[LabelSpec]:
    """Every packet on the sheet that may still get a label, in the sheet's order."""
    specs = [label_spec(session, env, p) for p in manifest_packets(session, manifest)
             if PacketStatus(p.status) not in NO_LABEL]
    if not specs:
        raise conflict("label_unavailable", "清单上的邮件均已寄达、签收、遗失或作废，没有可打印的面单。")
    return specs


# -- the manifest ----------------------------------------------------------------------------

def manifest_spec(session: Session, manifest: Manifest, names: Names = str) -> ManifestSpec:
    directory = load_directory(session)
    cases = {}
    lines = []
    for p in manifest_packets(session, manifest):
        if p.case_id not in cases:
            cases[p.case_id] = session.get(Case, p.case_id).case_no
        where = f"{_destination(directory, p)} {_last_hub(directory, p.route)}".strip()
        lines.append(ManifestLine(p.tracking_no, PacketKind(p.kind).title, where,
                                  piece_count(p.contents), cases[p.case_id]))
    return ManifestSpec(manifest_no=manifest.manifest_no, from_office=_office_party(session, manifest.from_office),
                        to_party=manifest.to_party_name or manifest.to_party,
                        created_at=clock.beijing(manifest.created_at), created_by=names(manifest.created_by),
                        lines=tuple(lines))


# -- for the applicant -----------------------------------------------------------------------

def _applicant(env: Env, case: Case) -> tuple[str, str]:
    """(name as addressed, masked identifier)."""
    applicant = env.sealer.open(case.applicant_sealed)
    if applicant["kind"] == "organisation":
        return f"{applicant['name']}（代理人：{applicant['agent']['name']}）", mask_credit_code(applicant["credit_code"])
    return applicant["name"], mask_id_number(applicant["id_number"])


def receipt_spec(session: Session, env: Env, actor: Actor, case_no: str, names: Names = str) -> ReceiptSpec:
    case = load_case(session, case_no)
    if actor.role != "clerk" or actor.office_code != case.collecting_office:
        raise forbidden("只有收件窗口的工作人员可以打印收件回执。")
    matter = session.get(Matter, case.matter_code)
    name, masked = _applicant(env, case)
    _log(session, actor, case, "receipt")
    return ReceiptSpec(
        case_no=case.case_no, matter=matter.name,
        materials=tuple(MaterialLine(m["name"], bool(m.get("original")), int(m.get("copies", 1)),
                                     names(m["certified_by"]) if m.get("certified") else "",
                                     by_post=m.get("travels", "paper") == "paper")
                        for m in case.materials),
        applicant_name=name, id_masked=masked, collecting_office=_office_party(session, case.collecting_office),
        clerk=names(case.created_by),
        owning_office=_office_party(session, case.owning_office).name, received_at=clock.beijing(case.created_at),
        due_date=case.due_date, due_provisional=case.due_date_provisional,
        track_url=_track_url(env, case.case_no), check_code=env.sealer.open(case.check_code_sealed),
        result_delivery=RESULT_WAYS.get(case.result_method, case.result_method),
        promise=promise_words(case), promised_days=case.promised_days or matter.promised_days,
        due_estimated=case.due_date_estimated, agent=_agent(case), steps=_steps(session, case, matter))


def _steps(session: Session, case: Case, matter: Matter) -> tuple[StepLine, ...]:
    days = {s["code"]: int(s["promised_days"]) for s in matter.steps or []}
    return tuple(StepLine(row.place, row.name, _office_party(session, row.office_code).name, days.get(row.code, 0))
                 for row in case_steps(session, case))


def _agent(case: Case) -> str:
    """委托代办: the agent on the applicant's receipt, masked (name and ID) as the case keeps them masked."""
    agent = case.applicant_masked.get("agent") if case.applicant_kind == "person" else None
    if not agent:
        return ""
    return f"{agent['name']}（{agent.get('relation_text', '')}，证件号码 {agent['id_number']}）"


def _notice_case(session: Session, actor: Actor, case_no: str) -> Case:
    case = load_case(session, case_no)
    if actor.role not in ("clerk", "officer") or actor.office_code not in (case.collecting_office,
                                                                            case.owning_office):
        raise forbidden("只有收件窗口或办理部门的工作人员可以打印告知书。")
    return case


def _last_event(session: Session, case: Case, type_: str) -> CaseEvent | None:
    return session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == type_)
                        .order_by(CaseEvent.id.desc())).first()


def _letter_head(session: Session, env: Env, case: Case) -> dict:
    matter = session.get(Matter, case.matter_code)
    owner = _office_party(session, case.owning_office)
    return {"case_no": case.case_no, "addressee": _applicant(env, case)[0], "matter": matter.name,
            "submitted_on": case.intake_date,
            "collecting_office": _office_party(session, case.collecting_office).name, "issuer": owner.name,
            "issuer_contact": f"办理机构地址：{owner.address}　电话：{owner.phone}",
            "track_url": _track_url(env, case.case_no)}


def supplement_notice(session: Session, env: Env, actor: Actor, case_no: str) -> NoticeSpec:
    case = _notice_case(session, actor, case_no)
    if case.supplement_requested_at is None:
        raise conflict("no_supplement_request", "该办件没有补正通知，不能打印补正告知书。", status=case.status)
    head = _letter_head(session, env, case)
    event = _last_event(session, case, "supplement_requested")
    note = (event.data.get("note") if event else "") or ""
    matter_materials = {m["code"]: m for m in session.get(Matter, case.matter_code).materials}
    items = tuple(m["name"] + ("（原件）" if matter_materials.get(m["code"], {}).get("original") else "")
                  for m in case.supplement_materials or [])
    _log(session, actor, case, "supplement_notice")
    return NoticeSpec(
        title="补正材料告知书", notice_no=f"（{case.case_no}-补正）", **head,
        paragraphs=(f"你于{case.intake_date:%Y年%m月%d日}在{head['collecting_office']}提交的{head['matter']}申请"
                    f"（办件编号{case.case_no}），经审查，申请材料不齐全或者不符合法定形式。根据"
                    f"{_acceptance_law(session, case)}的规定，现一次性告知你需要补正的全部材料：",),
        items=items,
        closing=tuple(p for p in (
            f"说明：{note}" if note else "",
            f"请于{case.supplement_due:%Y年%m月%d日}前将上述材料提交至{head['collecting_office']}收件窗口，"
            "由窗口寄送我单位。补正期间不计入办理时限；逾期未补正的，视为撤回申请，已提交的原件将退回。") if p),
        issued_on=clock.beijing_date(case.supplement_requested_at))


def rejection_notice(session: Session, env: Env, actor: Actor, case_no: str) -> NoticeSpec:
    case = _notice_case(session, actor, case_no)
    event = _last_event(session, case, "rejected")
    if event is None:
        raise conflict("not_rejected", "该办件未被决定不予受理，不能打印不予受理告知书。", status=case.status)
    head = _letter_head(session, env, case)
    instead = []
    if event.data.get("apply_to"):
        instead.append(f"请向{event.data['apply_to']}提出申请。")
    if event.data.get("apply_to_office"):
        office = _office_party(session, event.data["apply_to_office"])
        instead.append(f"受理机构：{office.name}，地址：{office.address}，电话：{office.phone}。")
    if not instead:
        instead.append("如需重新申请，可在材料齐全后到任一政务服务窗口提出，或向本机构咨询。")
    returned = session.exec(select(Packet).where(Packet.case_id == case.id, Packet.kind == "return")
                            .order_by(Packet.id.desc())).first()
    _log(session, actor, case, "rejection_notice")
    return NoticeSpec(
        title="不予受理告知书", notice_no=f"（{case.case_no}-不予受理）", **head,
        paragraphs=(f"你于{case.intake_date:%Y年%m月%d日}在{head['collecting_office']}提交的{head['matter']}申请"
                    f"（办件编号{case.case_no}），经审查，根据{_acceptance_law(session, case)}的规定，"
                    f"决定不予受理。理由：{event.data.get('reason', case.reason)}", *instead),
        closing=tuple(p for p in (
            f"你提交的原件材料将通过邮件{returned.tracking_no}退回。" if returned else "",
            _remedy(session, case, "本告知书")) if p),
        issued_on=clock.beijing_date(event.at))


# -- the law by kind of matter (routing.matter_types) ------------------------------------------

def _acceptance_law(session: Session, case: Case) -> str:
    matter = session.get(Matter, case.matter_code)
    return acceptance_basis(matter.type, matter.legal_basis)


def _remedy(session: Session, case: Case, document: str) -> str:
    matter = session.get(Matter, case.matter_code)
    return remedies(matter.type, matter.legal_basis, document=document)


def acceptance_notice(session: Session, env: Env, actor: Actor, case_no: str) -> NoticeSpec:
    """受理通知书: the application is accepted (or deemed accepted), and by when the office decides."""
    case = _notice_case(session, actor, case_no)
    if case.accepted_at is None:
        raise conflict("not_accepted", "该办件尚未受理，不能打印受理通知书。", status=case.status)
    head = _letter_head(session, env, case)
    matter = session.get(Matter, case.matter_code)
    accepted_on = clock.beijing_date(case.accepted_at)
    law = acceptance_basis(matter.type, matter.legal_basis)
    submitted = (f"你于{case.intake_date:%Y年%m月%d日}在{head['collecting_office']}提交的{head['matter']}申请"
                 f"（办件编号{case.case_no}）")
    if case.deemed_accepted:
        accepted = (f"{submitted}，本机关于{accepted_on:%Y年%m月%d日}收到申请材料，未在法定期限内告知补正，"
                    f"依照{law}的规定，自收到申请材料之日起即为受理。")
    else:
        accepted = (f"{submitted}，经审查，申请材料齐全、符合法定形式，依照{law}的规定，本机关决定予以受理。"
                    f"受理日期：{accepted_on:%Y年%m月%d日}。")
    limit = (f"本事项属于{type_title(matter.type)}事项，承诺办理时限为{matter.promised_days}个工作日"
             f"（法定时限{matter.legal_days}个工作日），自受理之日起计算，申请材料寄递时间和补正时间不计入。")
    if case.extended_at is not None:
        limit += f"经本机关负责人批准，办理期限已延长{case.extension_days}个工作日。"
    limit += f"本机关将于{case.due_date:%Y年%m月%d日}前作出决定。"
    _log(session, actor, case, "acceptance_notice")
    return NoticeSpec(
        title="受理通知书", notice_no=f"（{case.case_no}-受理）", **head, paragraphs=(accepted, limit),
        closing=tuple(p for p in (
            f"办理结果送达方式：{RESULT_WAYS.get(case.result_method, case.result_method)}。",
            f"本事项办理依据：{matter.legal_basis}。" if matter.legal_basis else "",
            "办理期间可凭收件回执上的查询密码查询办理进度。") if p),
        issued_on=accepted_on)


def decision_notice(session: Session, env: Env, actor: Actor, case_no: str) -> NoticeSpec:
    """The decision notice of a refusal (不予许可决定书 for a permit; 不予办理公证决定书 …): the reasons
    (the decision's note) and the remedy of the matter's kind."""
    case = _notice_case(session, actor, case_no)
    if case.outcome != "refused":
        raise conflict("not_refused", "该办件未作出不予许可（不予办理）的决定，不能打印决定书。", status=case.status)
    head = _letter_head(session, env, case)
    matter = session.get(Matter, case.matter_code)
    event = _last_event(session, case, "decided")
    note = ((event.data.get("note") if event else "") or "").strip()
    decided_on = clock.beijing_date(case.decided_at)
    accepted = f"本机关于{clock.beijing_date(case.accepted_at):%Y年%m月%d日}受理" if case.accepted_at else "本机关受理"
    _log(session, actor, case, "decision_notice")
    return NoticeSpec(
        title=refusal_title(matter.type), notice_no=f"（{case.case_no}-决定）", **head,
        paragraphs=(f"你于{case.intake_date:%Y年%m月%d日}在{head['collecting_office']}提交的{head['matter']}申请"
                    f"（办件编号{case.case_no}），{accepted}。经审查，根据{refusal_basis(matter.type, matter.legal_basis)}"
                    f"的规定，本机关决定{refusal_words(matter.type)}。",
                    f"理由：{note or '本机关未另行说明理由，如需了解，请按下方联系方式向本机关咨询。'}"),
        closing=(remedies(matter.type, matter.legal_basis),),
        issued_on=decided_on)
