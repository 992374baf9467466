"""Intake at the window: every refusal of the contract, with its code, field and a Chinese message."""
from __future__ import annotations

import pytest

from mailing.tables import Packet
from tests.e2e.steps import assert_error, case_of, collect, count
from tests.helpers import intake_body, materials, person, wrong_resident_id
from tracking.model.tables import Case

BDC_MATERIALS = materials("application_form", "id_card", "property_cert", "main_debt_contract", "mortgage_contract")

REFUSALS = {
    "unknown_matter": (intake_body(matter_code="GA-NONE-99"), "matter_code", None),
    "not_proxy_eligible": (intake_body(matter_code="RS-ZGRZ-01", materials=materials("id_card"),
                                       result_delivery={"method": "electronic"}), "matter_code", "领取养老保险待遇资格认证"),
    "invalid_id_number": (intake_body(applicant=person(id_number=wrong_resident_id())), "applicant.id_number",
                          "身份证"),
    "invalid_phone": (intake_body(applicant=person(phone="1381234567")), "applicant.phone", "手机"),
    "missing_material": (intake_body(materials=materials("application_form")), "materials", "居民身份证"),
    "identity_check_failed": (intake_body(identity_check={"method": "face", "passed": False}), "identity_check",
                              "身份核验"),
    "missing_subject": (intake_body(matter_code="BDC-DYDJ-01", materials=BDC_MATERIALS), "subject", None),
    "applicant_kind_not_allowed": (intake_body(matter_code="SJ-QYBG-01"), "applicant.kind", None),
    "no_owning_office": (intake_body(applicant=person(division_code="130203")), "applicant.division_code", None),
    "result_type_unavailable": (intake_body(matter_code="GZ-XLGZ-01",
                                            materials=materials("application_form", "id_card", "diploma"),
                                            result_delivery={"method": "electronic"}), "result_delivery.method",
                                "电子送达"),
    "missing_address": (intake_body(result_delivery={"method": "mail"}), "result_delivery.address", None),
}


@pytest.mark.parametrize("code", list(REFUSALS))
def test_an_intake_refused_by_a_rule_answers_its_code_and_registers_nothing(staff, frozen, db, code):
    body, field, words = REFUSALS[code]
    r = staff.post("/api/v1/cases", body, as_="clerk")
    error = assert_error(r, 422, code, field)
    if words:
        assert words in error["message"], error
    assert count(db, Case) == 0 and count(db, Packet) == 0


def test_a_copy_where_the_original_is_required_is_a_missing_material(staff, frozen, db):
    body = intake_body(materials=[{"code": "application_form", "copies": 1, "original": False},
                                  {"code": "id_card", "copies": 1, "original": False}])
    error = assert_error(staff.post("/api/v1/cases", body, as_="clerk"), 422, "missing_material", "materials")
    assert "无犯罪记录证明申请表（原件）" in error["message"]
    assert error["materials"] == ["application_form"]
    assert count(db, Case) == 0


def test_a_case_for_an_office_in_the_halls_own_division_is_refused_as_same_locality(staff, frozen, db):
    api = staff
    api.user("clerk_xd", "clerk", "H140105")  # 小店区 hall; the applicant is a 小店区 resident
    error = assert_error(api.post("/api/v1/cases", intake_body(), as_="clerk_xd"), 422, "same_locality")
    assert "本地" in error["message"]
    assert count(db, Case) == 0


def test_a_mortgage_registration_with_the_propertys_place_goes_to_that_places_registry(staff, frozen):
    body = intake_body(matter_code="BDC-DYDJ-01", materials=BDC_MATERIALS,
                       subject={"division_code": "140105", "description": "小店区平阳路12号3单元502室"})
    case = collect(staff, body)
    assert case["owning_office"]["code"] == "D140105-BDC"


def test_malformed_json_is_an_invalid_request(staff, frozen, db):
    r = staff.post_raw("/api/v1/cases", '{"matter_code": "GA-WFZM-01", ', as_="clerk")
    assert_error(r, 400, "invalid_request")
    r = staff.post_raw("/api/v1/cases", '["GA-WFZM-01"]', as_="clerk")
    assert_error(r, 400, "invalid_request")
    assert count(db, Case) == 0


@pytest.mark.parametrize("body, field", [
    ({k: v for k, v in intake_body().items() if k != "matter_code"}, "matter_code"),
    (intake_body(applicant={k: v for k, v in person().items() if k != "name"}), "applicant.name"),
    (intake_body(applicant={k: v for k, v in person().items() if k != "id_number"}), "applicant.id_number"),
    ({k: v for k, v in intake_body().items() if k != "applicant"}, "applicant"),
    ({k: v for k, v in intake_body().items() if k != "identity_check"}, "identity_check"),
    ({k: v for k, v in intake_body().items() if k != "result_delivery"}, "result_delivery"),
    (intake_body(materials="application_form"), "materials"),
    (intake_body(materials=[{"code": "id_card", "copies": "一份"}, {"code": "application_form",
                                                                    "original": True}]), "materials[0].copies"),
    (intake_body(matter_code=42), "matter_code"),
    (intake_body(result_delivery={"method": "fax"}), "result_delivery.method"),
])
def test_a_missing_or_mistyped_field_is_an_invalid_request_naming_the_field(staff, frozen, db, body, field):
    assert_error(staff.post("/api/v1/cases", body, as_="clerk"), 400, "invalid_request", field)
    assert count(db, Case) == 0


def test_every_problem_of_an_intake_is_reported_at_once_with_its_path(staff, frozen, db):
    body = intake_body(applicant=person(name="", id_number=wrong_resident_id(), phone="1381234567"),
                       materials=materials("application_form") + [{"code": "birth_certificate"}],
                       identity_check={"method": "fax", "passed": True}, result_delivery={"method": "mail"})
    error = assert_error(staff.post("/api/v1/cases", body, as_="clerk"), 400, "invalid_request", "applicant.name")
    assert [(e["field"], e["code"]) for e in error["errors"]] == [
        ("applicant.name", "invalid_request"), ("applicant.id_number", "invalid_id_number"),
        ("applicant.phone", "invalid_phone"), ("materials[1].code", "unknown_material"),
        ("materials", "missing_material"), ("identity_check.method", "invalid_request"),
        ("result_delivery.address", "missing_address"), ("result_delivery.division_code", "missing_address")]
    assert error["errors"][4]["materials"] == ["id_card"]
    assert all(e["message"] for e in error["errors"])
    assert count(db, Case) == 0


def test_a_phone_an_id_number_and_places_are_read_as_people_write_them(staff, frozen):
    body = intake_body(applicant=person(phone="+86 138 1234 5678", id_number="１１０１０５ １９４９１２３１００２x",
                                        division_code="太原市小店区"),
                       result_delivery={"method": "mail", "address": "平阳路12号3单元502室", "division_code": "小店区"})
    case = collect(staff, body)
    assert case["owning_office"]["code"] == "D140105-GA"
    applicant = case_of(staff, case["case_no"], as_="clerk")["applicant"]
    assert (applicant["phone"], applicant["id_number"], applicant["division_code"]) == \
        ("13812345678", "11010519491231002X", "140105")


def test_a_place_name_several_divisions_share_is_refused_at_its_field(staff, frozen, db):
    body = intake_body(result_delivery={"method": "mail", "address": "东风路1号", "division_code": "城区"})
    error = assert_error(staff.post("/api/v1/cases", body, as_="clerk"), 400, "invalid_request",
                         "result_delivery.division_code")
    assert "个地方叫“城区”" in error["message"]
    assert count(db, Case) == 0


def test_intake_needs_a_valid_token(staff, frozen, db):
    assert_error(staff.post("/api/v1/cases", intake_body()), 401, "unauthorized")
    r = staff.client.post("/api/v1/cases", json=intake_body(), headers={"Authorization": "Bearer not-a-token"})
    assert_error(r, 401, "unauthorized")
    assert count(db, Case) == 0


def test_only_a_hall_clerk_registers_cases(staff, frozen, db):
    for who in ("officer", "courier", "supervisor"):
        error = assert_error(staff.post("/api/v1/cases", intake_body(), as_=who), 403, "forbidden")
        assert "窗口" in error["message"]
    assert count(db, Case) == 0


def test_an_unknown_case_is_not_found(staff, frozen):
    assert_error(staff.get("/api/v1/cases/140902-20260302-9999", as_="clerk"), 404, "not_found")
    assert_error(staff.post("/api/v1/cases/140902-20260302-9999/accept", as_="officer"), 404, "not_found")
    assert_error(staff.get("/api/v1/packets/EA000000005CN", as_="courier"), 404, "not_found")
    assert_error(staff.get("/api/v1/nowhere", as_="clerk"), 404, "not_found")
    assert_error(staff.client.delete("/api/v1/cases"), 405, "method_not_allowed")


def test_a_bad_login_is_refused(staff, frozen):
    r = staff.client.post("/api/v1/auth/token", json={"username": "clerk", "password": "wrong"})
    assert_error(r, 401, "invalid_credentials")
    r = staff.client.post("/api/v1/auth/token", json={"username": "clerk", "password": "test-password-1"})
    assert r.status_code == 200 and r.json["role"] == "clerk" and r.json["office_code"] == "H140902"


def test_the_case_number_carries_the_beijing_date_of_the_intake(staff, frozen):
    frozen.set("2026-03-02T16:30:00+00:00")  # 00:30 on Tuesday 3 March in Beijing
    case = collect(staff)
    assert case["case_no"] == "140902-20260303-0001"
    # sent by Wed 4, expected in 太原 on Fri 6 (the intake day not counted), then Mon 9, Tue 10, Wed 11
    assert case["due_date"] == "2026-03-11"
    assert case["due_date_provisional"] is False


def test_a_due_date_in_a_year_without_an_official_calendar_is_provisional(staff, frozen):
    frozen.set("2026-12-30T09:00:00+08:00")  # Wednesday; 2027's holidays are not published yet
    case = collect(staff)
    # expected in 太原 on Thu 31 Dec, Fri 1 Jan (counted Monday to Friday), Mon 4 Jan; then 5, 6, 7 January
    assert case["due_date"] == "2027-01-07"
    assert case["due_date_provisional"] is True
