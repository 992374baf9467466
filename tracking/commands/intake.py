"""Intake at the window: formal review, identity check, routing, numbers, the outbound packet."""
from __future__ import annotations

import re
import secrets

from sqlmodel import Session

from config import clock
from mailing.numbers import next_value
from mailing.packets import create_packet
from mailing.states import PacketKind
from routing.calendars import work_calendar
from routing.directory import RoutingError, owning_office
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.model import identity
from tracking.model.context import Actor, Env
from tracking.model.errors import bad_request, forbidden, rule
from tracking.model.records import case_event
from tracking.model.tables import Case

ID_METHODS = {"id_card_reader", "face", "manual"}
RESULT_METHODS = {"mail", "pickup", "electronic"}
DIVISION = re.compile(r"^\d{6}$")


def _obj(value, field: str) -> dict:
    if not isinstance(value, dict):
        raise bad_request(f"“{field}”应为对象。", field)
    return value


def _text(data: dict, key: str, field: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise bad_request(f"缺少必填项“{field}”。", field)
        return ""
    if not isinstance(value, str):
        raise bad_request(f"“{field}”应为文本。", field)
    return value.strip()


def _division(data: dict, key: str, field: str, *, required: bool = True) -> str:
    value = _text(data, key, field, required=required)
    if value and not DIVISION.match(value):
        raise bad_request("行政区划代码应为6位数字。", field)
    return value


def _person(data: dict, prefix: str) -> dict:
    """A natural person (applicant or agent), validated."""
    name = _text(data, "name", f"{prefix}.name")
    id_type = data.get("id_type", "resident_id")
    if id_type != "resident_id":
        raise bad_request("目前仅支持居民身份证。", f"{prefix}.id_type")
    id_number = identity.normalize_id_number(_text(data, "id_number", f"{prefix}.id_number"))
    if not identity.is_valid_resident_id(id_number):
        raise rule("invalid_id_number", "身份证号码有误，请核对（含末位校验码）。", f"{prefix}.id_number")
    phone = _text(data, "phone", f"{prefix}.phone")
    if not identity.is_valid_mobile(phone):
        raise rule("invalid_phone", "请填写11位手机号码。", f"{prefix}.phone")
    return {"kind": "person", "name": name, "id_type": id_type, "id_number": id_number, "phone": phone,
            "address": _text(data, "address", f"{prefix}.address", required=False),
            "division_code": _division(data, "division_code", f"{prefix}.division_code", required=False)}


def _organisation(data: dict) -> dict:
    code = _text(data, "credit_code", "applicant.credit_code").upper()
    if not identity.is_valid_credit_code(code):
        raise rule("invalid_credit_code", "统一社会信用代码有误，请核对（含末位校验码）。", "applicant.credit_code")
    phone = _text(data, "phone", "applicant.phone")
    if not (identity.is_valid_mobile(phone) or identity.is_valid_landline(phone)):
        raise rule("invalid_phone", "请填写手机号码或带区号的固定电话。", "applicant.phone")
    agent = _person(_obj(data.get("agent"), "applicant.agent"), "applicant.agent")
    return {"kind": "organisation", "name": _text(data, "name", "applicant.name"), "credit_code": code,
            "phone": phone, "address": _text(data, "address", "applicant.address", required=False),
            "division_code": _division(data, "division_code", "applicant.division_code"), "agent": agent}


def masked_applicant(applicant: dict) -> dict:
    if applicant["kind"] == "organisation":
        agent = applicant["agent"]
        return {"kind": "organisation", "name": applicant["name"],
                "credit_code": identity.mask_credit_code(applicant["credit_code"]),
                "phone": identity.mask_phone(applicant["phone"]),
                "agent": {"name": identity.mask_name(agent["name"]),
                          "id_number": identity.mask_id_number(agent["id_number"]),
                          "phone": identity.mask_phone(agent["phone"])}}
    return {"kind": "person", "name": identity.mask_name(applicant["name"]),
            "id_number": identity.mask_id_number(applicant["id_number"]),
            "phone": identity.mask_phone(applicant["phone"])}


def check_materials(matter: Matter, given) -> list[dict]:
    if not isinstance(given, list):
        raise bad_request("“materials”应为材料清单。", "materials")
    specs = {m["code"]: m for m in matter.materials}
    received: dict[str, dict] = {}
    for i, item in enumerate(given):
        item = _obj(item, f"materials[{i}]")
        code = item.get("code")
        if code not in specs:
            raise rule("unknown_material", f"材料“{code}”不在该事项的材料清单中。", f"materials[{i}].code")
        copies = item.get("copies", 1)
        if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 99:
            raise bad_request("份数应为1至99的整数。", f"materials[{i}].copies")
        original = item.get("original", False)
        if not isinstance(original, bool):
            raise bad_request("“original”应为 true 或 false。", f"materials[{i}].original")
        received[code] = {"code": code, "name": specs[code]["name"], "copies": copies, "original": original}
    missing = [s for s in matter.materials if s["required"] and
               (s["code"] not in received or (s["original"] and not received[s["code"]]["original"]))]
    if missing:
        names = "、".join(("%s（原件）" % s["name"]) if s["original"] else s["name"] for s in missing)
        raise rule("missing_material", f"缺少必需材料：{names}。", "materials",
                   materials=[s["code"] for s in missing])
    return [received[s["code"]] for s in matter.materials if s["code"] in received]


def register_case(session: Session, env: Env, actor: Actor, body: dict) -> dict:
    """Registers a case collected at the clerk's hall and its outbound packet."""
    body = _obj(body, "body")
    directory = load_directory(session)
    hall = directory.post(actor.office_code)
    if actor.role != "clerk" or hall is None or hall.kind != "hall":
        raise forbidden("只有政务服务大厅的窗口人员可以收件。")

    matter = session.get(Matter, _text(body, "matter_code", "matter_code"))
    if matter is None or not matter.active:
        raise rule("unknown_matter", "未找到该事项，请核对事项编码。", "matter_code")
    if "proxy" not in matter.modes:
        raise rule("not_proxy_eligible", f"“{matter.name}”不支持异地代收代办。", "matter_code")

    raw = _obj(body.get("applicant"), "applicant")
    kind = raw.get("kind", "person")
    if kind not in ("person", "organisation"):
        raise bad_request("申请人类型应为 person 或 organisation。", "applicant.kind")
    if kind not in matter.applicant_kinds:
        who = "个人" if kind == "person" else "法人和其他组织"
        raise rule("applicant_kind_not_allowed", f"该事项不受理{who}申请。", "applicant.kind")
    applicant = _person(raw, "applicant") if kind == "person" else _organisation(raw)

    check = _obj(body.get("identity_check"), "identity_check")
    if check.get("method") not in ID_METHODS:
        raise bad_request("身份核验方式应为 id_card_reader、face 或 manual。", "identity_check.method")
    if check.get("passed") is not True:
        raise rule("identity_check_failed", "身份核验未通过，不能收件。", "identity_check")

    materials = check_materials(matter, body.get("materials"))

    delivery = _obj(body.get("result_delivery"), "result_delivery")
    method = delivery.get("method")
    if method not in RESULT_METHODS:
        raise bad_request("结果送达方式应为 mail、pickup 或 electronic。", "result_delivery.method")
    needed = "electronic" if method == "electronic" else "paper"
    if needed not in matter.result_types:
        text = "电子送达" if needed == "electronic" else "纸质结果"
        raise rule("result_type_unavailable", f"该事项不提供{text}。", "result_delivery.method")
    result_address = result_division = None
    if method == "mail":
        result_address = _text(delivery, "address", "result_delivery.address", required=False)
        result_division = _division(delivery, "division_code", "result_delivery.division_code", required=False)
        if not result_address or not result_division:
            raise rule("missing_address", "邮寄送达须填写收件地址及其行政区划。", "result_delivery.address")

    subject = body.get("subject")
    subject = _obj(subject, "subject") if subject is not None else {}
    subject_division = _division(subject, "division_code", "subject.division_code", required=False)
    try:
        owner = owning_office(directory, rule=matter.jurisdiction, department=matter.department,
                              level=matter.level,
                              household_division=applicant["division_code"],
                              subject_division=subject_division,
                              registration_division=applicant["division_code"])
    except RoutingError as e:
        raise rule(e.code, e.message, e.field) from None
    if owner.division_code == hall.division_code:
        raise rule("same_locality", f"办理部门（{owner.name}）就在本地，请直接到本地窗口办理，无需异地代收。",
                   "matter_code")

    now = clock.now()
    intake_date = clock.beijing_date(now)
    due, provisional = work_calendar(session).add_working_days(intake_date, matter.promised_days)
    seq = next_value(session, f"case:{hall.division_code}:{intake_date:%Y%m%d}")
    check_code = f"{secrets.randbelow(10**6):06d}"
    id_value = applicant["id_number"] if kind == "person" else applicant["credit_code"]
    sealer = env.sealer
    case = Case(
        case_no=f"{hall.division_code}-{intake_date:%Y%m%d}-{seq:04d}",
        matter_code=matter.code, collecting_office=hall.code, owning_office=owner.code,
        applicant_kind=kind, applicant_sealed=sealer.seal(applicant), applicant_masked=masked_applicant(applicant),
        id_hash=sealer.lookup_hash(id_value), check_code_sealed=sealer.seal(check_code),
        subject={"division_code": subject_division, "description": _text(subject, "description",
                 "subject.description", required=False)} if subject_division else None,
        materials=materials, identity_check={"method": check["method"], "passed": True},
        result_method=method, result_division=result_division,
        result_address_sealed=sealer.seal(result_address) if result_address else None,
        note=_text(body, "note", "note", required=False), intake_date=intake_date,
        due_date=due, due_date_provisional=provisional, created_by=actor.username, created_at=now,
    )
    session.add(case)
    session.flush()
    case_event(session, case, "collected", actor, at=now,
               data={"materials": len(materials), "owning_office": owner.code})
    packet = create_packet(session, env.settings, directory, kind=PacketKind.OUTBOUND, case_id=case.id,
                           origin=hall, to_office=owner, to_division=owner.division_code,
                           contents=[{"code": m["code"], "name": m["name"], "copies": m["copies"],
                                      "original": m["original"]} for m in materials])
    return {"case": case, "packet": packet, "check_code": check_code}

