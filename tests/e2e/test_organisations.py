"""Organisations (法人和其他组织): a credit code with its check character, an agent whose identity is checked."""
from __future__ import annotations

import pytest
from sqlmodel import select

from tests.e2e.steps import assert_error, case_of, collect, count, rows
from tests.helpers import credit_code, intake_body, org_intake_body, organisation, person, wrong_resident_id
from tracking.model.tables import Case


@pytest.mark.parametrize("matter_code, owner, due", [
    # 1 promised working day from the expected receipt on Thursday 5 March (an estimate until accepted)
    ("SJ-QYBG-01", {"code": "D140105-SJ", "name": "太原市小店区市场监督管理局"}, "2026-03-06"),  # county
    ("GJJ-DW-01", {"code": "D140100-GJJ", "name": "太原市住房公积金管理中心"}, "2026-03-06"),  # city
])
def test_an_organisations_case_goes_to_the_office_of_its_registration_place(staff, frozen, db, matter_code,
                                                                           owner, due):
    api = staff
    case = collect(api, org_intake_body(matter_code))
    assert case["status"] == "collected" and case["matter_code"] == matter_code
    assert case["owning_office"] == owner
    assert case["due_date"] == due
    assert case["route"][-1]["office_code"] == owner["code"]
    stored = rows(db, select(Case))
    assert [(c.applicant_kind, c.owning_office) for c in stored] == [("organisation", owner["code"])]

    full = case_of(api, case["case_no"], as_="clerk")["applicant"]
    assert full["kind"] == "organisation" and full["credit_code"] == credit_code()
    assert full["name"] == "太原市晋阳机械制造有限公司" and full["phone"] == "0351-4041234"
    assert full["agent"]["name"] == "李建国" and full["agent"]["id_number"] == "140902198506124510"

    masked = case_of(api, case["case_no"], as_="supervisor")["applicant"]
    assert masked["credit_code"] == "91140105******3457"
    assert masked["agent"] == {"name": "李**", "id_number": "140902********4510", "phone": "139******90"}
    assert masked["phone"] == "0351-******4"
    shown = str(case_of(api, case["case_no"], as_="supervisor"))
    assert credit_code() not in shown and "140902198506124510" not in shown and "13934567890" not in shown


def test_a_credit_code_is_accepted_in_lower_case_letters(staff, frozen):
    case = collect(staff, org_intake_body(applicant=organisation(credit_code=credit_code().lower())))
    assert case_of(staff, case["case_no"], as_="clerk")["applicant"]["credit_code"] == credit_code()


def test_a_credit_code_with_a_wrong_check_character_is_refused(staff, frozen, db):
    good = credit_code()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    r = staff.post("/api/v1/cases", org_intake_body(applicant=organisation(credit_code=bad)), as_="clerk")
    error = assert_error(r, 422, "invalid_credit_code", "applicant.credit_code")
    assert "统一社会信用代码" in error["message"]
    r = staff.post("/api/v1/cases", org_intake_body(applicant=organisation(credit_code="91140105MA0K1234")),
                   as_="clerk")
    assert_error(r, 422, "invalid_credit_code", "applicant.credit_code")
    assert count(db, Case) == 0


def test_the_agents_identity_is_the_one_checked(staff, frozen, db):
    agent = person(name="李建国", id_number=wrong_resident_id())
    r = staff.post("/api/v1/cases", org_intake_body(applicant=organisation(agent=agent)), as_="clerk")
    assert_error(r, 422, "invalid_id_number", "applicant.agent.id_number")
    r = staff.post("/api/v1/cases", org_intake_body(applicant=organisation(agent=None)), as_="clerk")
    assert_error(r, 400, "invalid_request", "applicant.agent")
    assert count(db, Case) == 0


def test_a_person_cannot_apply_for_a_matter_only_organisations_may_apply_for(staff, frozen, db):
    r = staff.post("/api/v1/cases", org_intake_body(applicant=person()), as_="clerk")
    error = assert_error(r, 422, "applicant_kind_not_allowed", "applicant.kind")
    assert "个人" in error["message"]
    assert count(db, Case) == 0


def test_an_organisation_cannot_apply_for_a_matter_only_people_may_apply_for(staff, frozen, db):
    r = staff.post("/api/v1/cases", intake_body(applicant=organisation()), as_="clerk")
    assert_error(r, 422, "applicant_kind_not_allowed", "applicant.kind")
    assert count(db, Case) == 0
