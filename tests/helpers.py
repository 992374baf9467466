"""Small builders shared by the integration and e2e tests."""
from __future__ import annotations

import uuid

from tracking.identity import resident_id_check_char

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


def scan(tracking_no: str, type_: str, at: str, office_code: str | None = None, **extra) -> dict:
    return {"event_id": str(uuid.uuid4()), "tracking_no": tracking_no, "type": type_, "at": at,
            "office_code": office_code, **extra}
