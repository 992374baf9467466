"""Intake at the window: the command a clerk fills in, and the use case that registers it.

`CaseIntake` is parsed once at the edge, from the API's JSON or the intake page's form, with
`parse(CaseIntake, data, context=intake_context(session))`. The context lets its validators read the
catalogue (the matter, its materials, result types and applicant kinds) and the directory's places,
so that one parse reports every problem at once. `register_case` then does what needs the clerk's
hall and the network: who may collect, where the case goes, numbers, sealing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlmodel import Session

from config import clock
from mailing.numbers import next_value
from mailing.packets import create_packet
from mailing.states import PacketKind
from mailing.tables import Packet
from routing.directory import Post, RoutingError, owning_office
from routing.reference import directory as load_directory, matter as cached_matter
from routing.tables import Matter
from tracking.model import identity
from tracking.model.context import Actor, Env
from tracking.model.errors import forbidden, rule
from tracking.model.inputs import (INVALID_REQUEST, MAX_ADDRESS, MAX_NAME, Command, Copies, CreditCode,
                                   DivisionCode, MobilePhone, Name,
                                   OptionalDivisionCode, OptionalEmail, Phone, ResidentId,
                                   StrictFlag, Text, asked, text)
from tracking.commands.steps import open_steps, plan_steps
from tracking.model.deadlines import promise_words, recompute_due_date
from tracking.model.messages import tell
from tracking.model.records import case_event, status_changed
from tracking.model.tables import Case

KIND_NAMES = {"person": "个人", "organisation": "法人和其他组织"}


def _empty_if_null(value: Any) -> Any:
    return "" if value is None else value  # an optional text sent as null means "not given"


OptionalText = Annotated[Text, BeforeValidator(_empty_if_null)]
OptionalAddress = Annotated[text(MAX_ADDRESS), BeforeValidator(_empty_if_null)]


# -- the command ---------------------------------------------------------------------------------

class Person(Command):
    """A natural person: the applicant, or an organisation's agent (代理人), whose identity is checked."""
    kind: Literal["person"] = "person"
    name: Name
    id_type: Literal["resident_id"] = "resident_id"
    id_number: ResidentId
    phone: MobilePhone
    address: OptionalAddress = ""
    division_code: OptionalDivisionCode = None  # household registration (户籍地)


AGENT_RELATIONS = {"relative": "亲属", "friend": "朋友", "other": "其他"}
APPLICANT_CHECK_METHODS = {"id_copy": "核对申请人身份证件（复印件）", "face": "申请人人脸识别（远程）",
                           "manual": "人工核验申请人身份"}
POWER_OF_ATTORNEY = {"code": "power_of_attorney", "name": "授权委托书", "original": True, "required": True,
                     "kept": True}  # the office files it, as the catalogue's own power of attorney


def _relation_code(value: Any) -> Any:
    # a form or a client may send the relation in words (亲属) as the clerk reads it
    titles = {title: code for code, title in AGENT_RELATIONS.items()}
    return titles.get(value.strip(), value.strip()) if isinstance(value, str) else value


class Agent(Command):
    """委托代办: the person who applies for a natural person (亲友代办). At the window the agent's own identity is
    checked (`identity_check`); the applicant's is checked apart (`applicant_identity_check`)."""
    name: Name
    id_type: Literal["resident_id"] = "resident_id"
    id_number: ResidentId
    phone: MobilePhone
    relation: Annotated[asked(Literal[tuple(AGENT_RELATIONS)], "请选择代办人与申请人的关系：亲属、朋友或其他。",
                              accept=lambda value: value in AGENT_RELATIONS), BeforeValidator(_relation_code)]


class Contact(Command):
    """How the applicant hears of the case: SMS to the phone unless they opt out, and email if they give one."""
    email: OptionalEmail = None
    sms_opt_out: StrictFlag = False


class PersonApplicant(Person, Contact):
    """A natural person applying, at the window in person or through an agent (`agent`)."""
    agent: Agent | None = None


class Organisation(Contact):
    kind: Literal["organisation"]
    name: Name
    credit_code: CreditCode
    phone: Phone
    address: OptionalAddress = ""
    division_code: DivisionCode  # registration place
    agent: Person


def _person_by_default(value: Any) -> Any:
    if isinstance(value, dict) and "kind" not in value:
        return {**value, "kind": "person"}  # the contract: applicant.kind defaults to person
    return value


Applicant = Annotated[PersonApplicant | Organisation, Field(discriminator="kind"),
                      BeforeValidator(_person_by_default)]


class Subject(Command):
    """The property or business a matter concerns; for a joint matter (多地联办) the destination (迁入地,
    转入地), with the place a step leaves from where the applicant's own division is not it (转出地)."""
    division_code: DivisionCode
    origin_division_code: OptionalDivisionCode = None
    description: OptionalText = ""


def step_owners(matter: Matter) -> set[str]:
    """Which divisions the case must record for a joint matter's steps (routing.steps.OWNERS)."""
    return {step.get("owner") for step in matter.steps or []}


# what of a received material goes on the outbound packet's list (a certified copy names its clerk)
PACKED = ("code", "name", "copies", "original", "certified", "certified_by")
# how a material reaches the owning office: its paper by post (and its scan), or its scan only
TRAVELS = {"paper": "寄送纸质材料", "file": "扫描件"}


class MaterialGiven(Command):
    code: text(MAX_NAME, required=True)
    copies: Copies = 1
    original: StrictFlag = False
    # 核验原件: a copy the clerk checked against the original (复印件与原件一致); the original stays with
    # the applicant, and the copy stands in for it where the catalogue allows (`certified_copy`)
    certified: StrictFlag = False
    # 扫描件: only the scan travels (uploaded to the case); paper: the paper goes by post as well
    travels: Literal[tuple(TRAVELS)] = "paper"


ID_METHODS = ("id_card_reader", "face", "manual")


class IdentityCheck(Command):
    """How a person's identity was checked at the window (at intake, and again at a pick-up)."""
    method: asked(Literal[ID_METHODS], "请选择身份核验方式。", accept=lambda value: value in ID_METHODS)
    passed: asked(StrictFlag, "请选择核验结果。")


class ApplicantIdentityCheck(Command):
    """委托代办: how the applicant's own identity was checked, besides the agent's at the window."""
    method: asked(Literal[tuple(APPLICANT_CHECK_METHODS)], "请选择申请人身份核验方式。",
                  accept=lambda value: value in APPLICANT_CHECK_METHODS)
    passed: asked(StrictFlag, "请选择申请人身份核验结果。")


class ResultDelivery(Command):
    method: Literal["mail", "pickup", "electronic"]
    address: OptionalAddress = ""
    division_code: OptionalDivisionCode = None

    @model_validator(mode="after")
    def _mail_needs_an_address(self) -> ResultDelivery:
        if self.method == "mail":
            problems = []
            if not self.address:
                problems.append((("address",), "missing_address", "邮寄送达请填写收件地址。"))
            if not self.division_code:
                problems.append((("division_code",), "missing_address", "邮寄送达请选择收件地址所在的行政区划。"))
            _refuse(*problems)
        return self


class CaseIntake(Command):
    """A case to register, from the API or the intake page's form. Parse it with intake_context(session)."""
    matter_code: text(MAX_NAME, required=True)
    applicant: Applicant
    subject: Subject | None = Field(default=None, validate_default=True)
    materials: list[MaterialGiven] = Field(max_length=99)
    identity_check: IdentityCheck
    applicant_identity_check: ApplicantIdentityCheck | None = Field(default=None, validate_default=True)
    """委托代办: the applicant's own identity check, required when an agent applies."""
    result_delivery: ResultDelivery
    note: OptionalText = ""

    @field_validator("identity_check")
    @classmethod
    def _only_after_a_passed_check(cls, check: IdentityCheck) -> IdentityCheck:
        if not check.passed:
            raise PydanticCustomError("identity_check_failed", "身份核验未通过，不能收件。")
        return check

    @field_validator("applicant_identity_check")
    @classmethod
    def _the_applicants_own_check(cls, check: ApplicantIdentityCheck | None, info: ValidationInfo):
        applicant = info.data.get("applicant")
        if not isinstance(applicant, PersonApplicant) or applicant.agent is None:
            return None  # in person (an organisation's agent is its own case): the window's check is the one
        if check is None:
            raise PydanticCustomError(INVALID_REQUEST, "委托代办须同时核验申请人本人的身份，请选择申请人身份核验方式。")
        if not check.passed:
            raise PydanticCustomError("identity_check_failed", "申请人身份核验未通过，不能受理委托代办。")
        return check

    @field_validator("matter_code")
    @classmethod
    def _a_matter_collected_here(cls, code: str, info: ValidationInfo) -> str:
        matter = _context(info)["matter"](code)
        if matter is None or not matter.active:
            raise PydanticCustomError("unknown_matter", "未找到该事项，请核对事项编码。")
        if "proxy" not in matter.modes:
            raise PydanticCustomError("not_proxy_eligible", f"“{matter.name}”不支持异地代收代办。")
        return code

    @field_validator("applicant")
    @classmethod
    def _an_applicant_the_matter_takes(cls, applicant: Person | Organisation, info: ValidationInfo):
        matter = _matter(info)
        if matter is None:
            return applicant
        at = (applicant.kind,)  # pydantic's label of the union member, not part of the field's path
        problems = []
        if applicant.kind not in matter.applicant_kinds:
            problems.append((at + ("kind",), "applicant_kind_not_allowed",
                             f"该事项不受理{KIND_NAMES[applicant.kind]}申请。"))
        owners = step_owners(matter)
        routes = matter.jurisdiction in ("household", "registration") or bool(owners & {"household", "registration"})
        if (matter.jurisdiction == "household" or "household" in owners) and applicant.division_code is None:
            problems.append((at + ("division_code",), "no_owning_office", "该事项由户籍地的部门办理，请填写户籍地。"))
        problems += _unknown_place(info, applicant.division_code, at + ("division_code",), routes)
        if isinstance(applicant, Organisation):
            problems += _unknown_place(info, applicant.agent.division_code, at + ("agent", "division_code"), False)
        _refuse(*problems)
        return applicant

    @field_validator("subject")
    @classmethod
    def _a_subject_where_the_matter_needs_one(cls, subject: Subject | None, info: ValidationInfo):
        matter = _matter(info)
        if matter is None:
            return subject
        owners = step_owners(matter)
        routes = matter.jurisdiction == "subject" or "subject" in owners
        if subject is None:
            if routes or "origin" in owners:
                raise PydanticCustomError("missing_subject", "该事项按不动产或经营场所所在地办理，请填写所在地。")
            return None
        problems = _unknown_place(info, subject.division_code, ("division_code",), routes)
        if "origin" in owners and subject.origin_division_code is None:
            problems.append((("origin_division_code",), "missing_subject",
                             "该事项须由迁出地（转出地）办理其中的环节，请填写迁出地（转出地）。"))
        problems += _unknown_place(info, subject.origin_division_code, ("origin_division_code",), "origin" in owners)
        _refuse(*problems)
        return subject

    @field_validator("materials")
    @classmethod
    def _the_matters_checklist(cls, given: list[MaterialGiven], info: ValidationInfo):
        matter = _matter(info)
        if matter is None:
            return given
        checklist = materials_for(matter, info.data.get("applicant"))
        listed = {m["code"] for m in checklist}
        problems = [((i, "code"), "unknown_material", f"材料“{item.code}”不在该事项的材料清单中。")
                    for i, item in enumerate(given) if item.code not in listed]
        received = {item.code: item for item in given}
        allowed = {m["code"] for m in checklist if m["original"] and m.get("certified_copy")}
        required_originals = {m["code"] for m in checklist if m["original"] and m["required"]}
        for i, item in enumerate(given):
            if item.certified and item.original:
                problems.append(((i, "certified"), INVALID_REQUEST, "同一材料不能既是原件又是核验原件的复印件。"))
            elif item.certified and item.code in listed - allowed - required_originals:
                # (a required original is reported below as missing, as any other copy of it is)
                problems.append(((i, "certified"), "certified_copy_not_allowed",
                                 f"材料“{item.code}”不接受核验原件后的复印件，请收取原件或普通复印件。"))

        def as_original(item: MaterialGiven) -> bool:
            return item.original or (item.certified and item.code in allowed)

        missing = [m for m in checklist if m["required"] and
                   (m["code"] not in received or (m["original"] and not as_original(received[m["code"]])))]
        if missing:
            names = "、".join(f"{m['name']}（原件）" if m["original"] else m["name"] for m in missing)
            problems.append(((), "missing_material", f"缺少必需材料：{names}。",
                             {"materials": [m["code"] for m in missing]}))
        _refuse(*problems)
        return given

    @field_validator("result_delivery")
    @classmethod
    def _a_result_the_matter_gives(cls, delivery: ResultDelivery, info: ValidationInfo):
        matter = _matter(info)
        if matter is None:
            return delivery
        needed = "electronic" if delivery.method == "electronic" else "paper"
        if needed not in matter.result_types:
            _refuse((("method",), "result_type_unavailable",
                     f"该事项不提供{'电子送达' if needed == 'electronic' else '纸质结果'}。"))
        _refuse(*_unknown_place(info, delivery.division_code, ("division_code",), False))
        return delivery

    def received(self, matter: Matter) -> list[dict]:
        """The materials as the case records them: in the catalogue's order, with their names."""
        given = {item.code: item for item in self.materials}
        return [{"code": m["code"], "name": m["name"], "copies": given[m["code"]].copies,
                 "original": given[m["code"]].original} | ({"certified": True} if given[m["code"]].certified else {})
                | ({"travels": "file"} if given[m["code"]].travels == "file" else {})
                for m in materials_for(matter, self.applicant) if m["code"] in given]


def materials_for(matter: Matter, applicant: Any = None) -> list[dict]:
    """The matter's checklist for this applicant. A person applying through an agent must hand in the
    授权委托书 (original), whatever the catalogue says: it is required then, and added where a matter does not
    list it (an admin's matter may lack it), so that no agent's application goes out without one."""
    if getattr(applicant, "agent", None) is None or getattr(applicant, "kind", "") != "person":
        return list(matter.materials)
    code = POWER_OF_ATTORNEY["code"]
    checklist = [{**m, "original": True, "required": True} if m["code"] == code else m for m in matter.materials]
    return checklist if any(m["code"] == code for m in checklist) else checklist + [POWER_OF_ATTORNEY]


def intake_context(session: Session) -> dict:
    """What CaseIntake's validators look up: a matter by its code, the divisions a text may mean, and
    whether an unknown code names an area the reference data does not reach yet."""
    directory = load_directory(session)
    return {"matter": lambda code: cached_matter(session, code), "divisions": directory.find_places,
            "beyond_reach": directory.beyond_reach}


def _context(info: ValidationInfo) -> dict:
    if not info.context or "matter" not in info.context:
        raise RuntimeError("CaseIntake is parsed with context=intake_context(session)")
    return info.context


def _matter(info: ValidationInfo) -> Matter | None:
    """The command's matter; None when matter_code was refused (that error is reported already)."""
    code = info.data.get("matter_code")
    return _context(info)["matter"](code) if code else None


def _unknown_place(info: ValidationInfo, code: str | None, loc: tuple, routes: bool) -> list[tuple]:
    """A six-digit code the directory does not know. Where it decides the owning office, that is the
    contract's no_owning_office; elsewhere a field to correct."""
    if code is None or _context(info)["divisions"](code):
        return []
    if _context(info)["beyond_reach"](code):  # a real area the service does not cover yet: not "not found"
        if routes:
            return [(loc, "no_owning_office", f"“{code}”所在地区暂未开通通办服务，无法确定办理部门，暂不能代收。")]
        return [(loc, INVALID_REQUEST, f"“{code}”所在地区暂未开通通办服务，请从列表中选择已开通的地区。")]
    if routes:
        return [(loc, "no_owning_office", f"未找到“{code}”对应的地方，无法确定办理部门，暂不能代收。请核对行政区划代码。")]
    return [(loc, INVALID_REQUEST, f"未找到“{code}”，请从列表中选择，或填写6位行政区划代码。")]


def _refuse(*problems: tuple) -> None:
    """Several errors at once from one validator, each at its place under the validated field:
    (loc, code, message[, extra fields of the error]). pydantic puts them under the field's path."""
    if problems:
        raise ValidationError.from_exception_data("CaseIntake", [
            InitErrorDetails(type=PydanticCustomError(code, message, *extra), loc=loc, input=None)
            for loc, code, message, *extra in problems])


# -- the use case ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Intake:
    case: Case
    packet: Packet | None  # None: every material travels as a file, no paper leaves the window
    check_code: str  # for the applicant's receipt: shown once, stored sealed


def travels_by_post(material: dict) -> bool:
    """Whether a case's material goes by post (a case registered before issue 16 says nothing: paper)."""
    return material.get("travels", "paper") == "paper"


def masked_applicant(applicant: Person | Organisation) -> dict:
    if isinstance(applicant, Organisation):
        agent = applicant.agent
        return {"kind": "organisation", "name": applicant.name,
                "credit_code": identity.mask_credit_code(applicant.credit_code),
                "phone": identity.mask_phone(applicant.phone),
                "agent": {"name": identity.mask_name(agent.name),
                          "id_number": identity.mask_id_number(agent.id_number),
                          "phone": identity.mask_phone(agent.phone)}}
    masked = {"kind": "person", "name": identity.mask_name(applicant.name),
              "id_number": identity.mask_id_number(applicant.id_number),
              "phone": identity.mask_phone(applicant.phone)}
    agent = applicant.agent if isinstance(applicant, PersonApplicant) else None
    if agent is not None:  # 委托代办: the agent sealed with the applicant, and masked here alike
        masked["agent"] = {"name": identity.mask_name(agent.name), "id_number": identity.mask_id_number(agent.id_number),
                           "phone": identity.mask_phone(agent.phone), "relation": agent.relation,
                           "relation_text": AGENT_RELATIONS[agent.relation]}
    return masked


def sealed_applicant(applicant: Person | Organisation) -> dict:
    """The applicant as sealed: a person without an agent as before (no empty `agent` key). The choices for
    messages are the case's own columns (Case.sms_opt_out, Case.email_sealed), not part of the applicant."""
    data = applicant.model_dump(exclude={"email", "sms_opt_out"})
    if data.get("kind") == "person" and data.get("agent") is None:
        data.pop("agent", None)
    return data


def identity_checks(cmd: CaseIntake) -> dict:
    """The check at the window, and with an agent whose identity it was and the applicant's own check."""
    checked = cmd.identity_check.model_dump()
    if isinstance(cmd.applicant, PersonApplicant) and cmd.applicant_identity_check is not None:
        checked.update(of="agent", applicant=cmd.applicant_identity_check.model_dump())
    return checked


def collecting_hall(directory, actor: Actor) -> Post:
    """The actor's hall, where a case may be collected; refused for anyone but a hall's clerk (asked
    before an application is read, so nobody else learns what a well-formed one looks like)."""
    hall = directory.post(actor.office_code)
    if actor.role != "clerk" or hall is None or hall.kind != "hall":
        raise forbidden("只有政务服务大厅的窗口人员可以收件。")
    return hall


def register_case(session: Session, env: Env, actor: Actor, cmd: CaseIntake) -> Intake:
    """Registers a case collected at the clerk's hall and its outbound packet."""
    directory = load_directory(session)
    hall = collecting_hall(directory, actor)

    matter = cached_matter(session, cmd.matter_code)  # found, active and proxy-eligible: the parse checked
    applicant, subject, delivery = cmd.applicant, cmd.subject, cmd.result_delivery
    planned = plan_steps(directory, matter, household=applicant.division_code if applicant.kind == "person" else None,
                         subject=subject.division_code if subject else None,
                         origin=subject.origin_division_code if subject else None,
                         registration=applicant.division_code if applicant.kind == "organisation" else None)
    if planned:  # 多地联办: the first step's office receives the materials; the hall itself may own a step
        owner = planned[0].office
        if all(p.office.division_code == hall.division_code for p in planned):
            raise rule("same_locality", "该事项的各个环节都在本地办理，请直接到本地窗口办理，无需异地代收。", "matter_code")
    else:
        try:
            owner = owning_office(directory, rule=matter.jurisdiction, department=matter.department,
                                  level=matter.level, household_division=applicant.division_code,
                                  subject_division=subject.division_code if subject else None,
                                  registration_division=applicant.division_code)
        except RoutingError as e:
            raise rule(e.code, e.message, e.field) from None
        if owner.division_code == hall.division_code:
            raise rule("same_locality", f"办理部门（{owner.name}）就在本地，请直接到本地窗口办理，无需异地代收。",
                       "matter_code")

    now = clock.now()
    intake_date = clock.beijing_date(now)
    seq = next_value(session, f"case:{hall.division_code}:{intake_date:%Y%m%d}")
    check_code = f"{secrets.randbelow(10**6):06d}"
    id_value = applicant.credit_code if isinstance(applicant, Organisation) else applicant.id_number
    mail = delivery.method == "mail"
    materials = cmd.received(matter)
    for m in materials:
        if m.get("certified"):  # who vouched for the copy, and when: the receipt and the packet say so
            m.update(certified_by=actor.username, certified_at=clock.iso(now))
    sealer = env.sealer
    case = Case(
        case_no=f"{hall.division_code}-{intake_date:%Y%m%d}-{seq:04d}",
        matter_code=matter.code, collecting_office=hall.code, owning_office=owner.code,
        applicant_kind=applicant.kind, applicant_sealed=sealer.seal(sealed_applicant(applicant)),
        applicant_masked=masked_applicant(applicant),
        id_hash=sealer.lookup_hash(id_value), phone_hash=sealer.lookup_hash(applicant.phone),
        check_code_sealed=sealer.seal(check_code),
        sms_opt_out=applicant.sms_opt_out, email_sealed=sealer.seal(applicant.email) if applicant.email else None,
        subject=subject.model_dump() if subject else None,
        materials=materials, identity_check=identity_checks(cmd),
        result_method=delivery.method, result_division=delivery.division_code if mail else None,
        result_address_sealed=sealer.seal(delivery.address) if mail else None,
        note=cmd.note, intake_date=intake_date,
        due_date=intake_date, created_by=actor.username, created_at=now,  # the promise: once the packet is planned
    )
    session.add(case)
    session.flush()
    if planned:
        open_steps(session, case, planned)
    case_event(session, case, "collected", actor, at=now,
               data={"materials": len(materials), "owning_office": owner.code}
               | ({"steps": [{"step": p.step.code, "name": p.step.name, "place": p.step.place,
                              "office": p.office.code} for p in planned]} if planned else {}))
    paper = [m for m in materials if travels_by_post(m)]
    packet = None
    if paper:  # the packet lists only what is in it; files only: nothing to post
        packet = create_packet(session, env.settings, directory, kind=PacketKind.OUTBOUND, case_id=case.id,
                               origin=hall, to_office=owner, to_division=owner.division_code,
                               contents=[{key: m[key] for key in PACKED if key in m} for m in paper], parties=case)
    recompute_due_date(session, case, env.settings)
    status_changed(session, case)  # its first status: reported like every later one
    tell(session, case, "collected", hall=hall.name, owner=owner.name, promise=promise_words(case))
    return Intake(case, packet, check_code)
