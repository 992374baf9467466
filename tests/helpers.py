"""Small builders shared by the integration and e2e tests."""
from __future__ import annotations

import uuid

from tracking.model.identity import resident_id_check_char

PASSWORD = "test-password-1"


def resident_id(first17: str = "14010519900307123") -> str:
    return first17 + resident_id_check_char(first17)


def person(**overrides) -> dict:
    data = {"kind": "person", "name": "张晓明", "id_type": "resident_id", "id_number": resident_id(),
            "phone": "13812345678", "address": "太原市小店区平阳路12号3单元502室", "division_code": "140105"}
    data.update(overrides)
    return data


def intake_body(**overrides) -> dict:
    """无犯罪记录证明 for a resident of 太原市小店区, collected at 忻府区: owning office D140105-GA."""
    body = {"matter_code": "GA-WFZM-01", "applicant": person(),
            "materials": [{"code": "application_form", "copies": 1, "original": True},
                          {"code": "id_card", "copies": 1, "original": False}],
            "identity_check": {"method": "id_card_reader", "passed": True},
            "result_delivery": {"method": "mail", "address": "太原市小店区平阳路12号3单元502室",
                                "division_code": "140105"},
            "note": ""}
    body.update(overrides)
    return body


def permit_body(**overrides) -> dict:
    """户口迁移（购房落户）, a permit (行政许可), for a home bought in 太原市小店区, collected at 忻府区: owning
    office D140105-GA, as intake_body()'s."""
    body = intake_body(matter_code="GA-HKQY-05", subject={"division_code": "140105", "description": "平阳路12号住房"},
                       materials=[{"code": "application_form", "copies": 1, "original": True},
                                  {"code": "id_card", "copies": 1, "original": False},
                                  {"code": "hukou_book", "copies": 1, "original": False},
                                  {"code": "property_cert", "copies": 1, "original": False}])
    body.update(overrides)
    return body


def intake_command(session, body: dict | None = None):
    """An intake body (intake_body() by default) parsed as the API and the intake page parse it."""
    from tracking.commands.intake import CaseIntake, intake_context
    from tracking.model.inputs import parse
    return parse(CaseIntake, body or intake_body(), context=intake_context(session))


def scan(tracking_no: str, type_: str, at: str, office_code: str | None = None, **extra) -> dict:
    return {"event_id": str(uuid.uuid4()), "tracking_no": tracking_no, "type": type_, "at": at,
            "office_code": office_code, **extra}


# -- organisations -----------------------------------------------------------------------------

def credit_code(first17: str = "91140105MA0K12345") -> str:
    """A unified social credit code with its GB 32100 check character."""
    from tracking.model.identity import credit_code_check_char
    return first17 + credit_code_check_char(first17)


def organisation(**overrides) -> dict:
    """A company registered in 太原市小店区, applying through an agent (代理人)."""
    data = {"kind": "organisation", "name": "太原市晋阳机械制造有限公司", "credit_code": credit_code(),
            "phone": "0351-4041234", "address": "太原市小店区长治路88号", "division_code": "140105",
            "agent": person(name="李建国", id_number=resident_id("14090219850612451"), phone="13934567890",
                            address="忻州市忻府区和平街5号", division_code="140902")}
    data.update(overrides)
    return data


ORGANISATION_MATERIALS = {
    "SJ-QYBG-01": ["application_form", "resolution", "business_licence", "power_of_attorney", "agent_id_card"],
    "GJJ-DW-01": ["registration_form", "business_licence", "legal_rep_id_card", "power_of_attorney",
                  "agent_id_card"],
}
ORIGINALS = {"application_form", "resolution", "business_licence", "power_of_attorney", "registration_form",
             "property_cert", "main_debt_contract", "mortgage_contract", "diploma"}


def materials(*codes: str) -> list[dict]:
    """One copy of each material, as the original where the catalogue asks for one (ORIGINALS)."""
    return [{"code": c, "copies": 1, "original": c in ORIGINALS} for c in codes]


def org_intake_body(matter_code: str = "SJ-QYBG-01", **overrides) -> dict:
    """企业变更登记 (or another organisation matter) for a company registered in 小店区, collected at 忻府区."""
    body = intake_body(matter_code=matter_code, applicant=organisation(),
                       materials=materials(*ORGANISATION_MATERIALS[matter_code]),
                       result_delivery={"method": "pickup"})
    body.update(overrides)
    return body


# -- tracking numbers --------------------------------------------------------------------------

def tracking_no_with_bad_check_digit(serial: int = 1234567) -> str:
    """An S10 number whose check digit is wrong."""
    from mailing import s10
    good = s10.make_tracking_no("EA", serial)
    wrong = "0" if good[10] != "0" else "1"
    return good[:10] + wrong + good[11:]


def unknown_tracking_no(serial: int = 87654321) -> str:
    """A well-formed S10 number (valid check digit) that no packet carries."""
    from mailing import s10
    return s10.make_tracking_no("EZ", serial)


def wrong_resident_id(first17: str = "14010519900307123") -> str:
    """An ID number whose check character is wrong."""
    good = resident_id_check_char(first17)
    return first17 + ("0" if good != "0" else "1")
