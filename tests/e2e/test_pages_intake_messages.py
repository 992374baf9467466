"""收件登记 pages and the messages to the applicant: an optional email address and the SMS opt-out
(不接收短信通知) are taken on the form, shown on the check page and reach the case through the same
parser as the API's; a wrong address is named next to its field."""
from __future__ import annotations

import html

from sqlmodel import select

from tests.e2e.steps import count, rows
from tests.e2e.test_pages_intake import (WFZM, check_page, error_next_to, hidden_fields, org_form, register,
                                         summary, wfzm_form)
from tracking.model.tables import Case, Notification


def _env(staff):
    return staff.client.application.extensions["tongban"]["env"]


def _case(staff) -> Case:
    [case] = rows(staff.db, select(Case))
    return case


def _channels(staff, case: Case) -> list[str]:
    """How the applicant is told of the intake: one row per channel."""
    return sorted(n.channel for n in rows(staff.db, select(Notification).where(
        Notification.case_id == case.id, Notification.audience == "applicant", Notification.milestone == "collected")))


def test_the_form_asks_for_an_email_and_offers_to_opt_out_of_sms(staff, pages, frozen):
    pages.login("clerk")
    page = pages.get(WFZM, as_="clerk").text
    assert 'name="applicant.email"' in page and 'type="email"' in page
    assert "电子邮箱<span class=\"optional\">（选填）</span>" in page
    assert 'name="applicant.sms_opt_out"' in page and "不接收短信通知" in page
    org = pages.get("/window/intake/SJ-QYBG-01", as_="clerk").text
    assert 'name="applicant.email"' in org and 'name="applicant.sms_opt_out"' in org


def test_an_email_and_the_sms_opt_out_reach_the_case_and_its_messages(staff, pages, frozen):
    pages.login("clerk")
    form = wfzm_form(**{"applicant.email": " Zhang.XM@Example.COM ", "applicant.sms_opt_out": "1"})
    check = check_page(pages, form).text
    assert "办理进度通知" in check and "不接收短信通知" in check and "Zhang.XM@example.com" in check
    fields = hidden_fields(check)
    assert fields["applicant.email"] == "Zhang.XM@example.com" and fields["applicant.sms_opt_out"] == "1"
    assert count(staff.db, Case) == 0  # nothing registered before the confirmation

    r = pages.post(WFZM + "/confirm", fields, as_="clerk")
    assert r.status_code == 303
    case = _case(staff)
    assert case.sms_opt_out is True
    assert _env(staff).sealer.open(case.email_sealed) == "Zhang.XM@example.com"
    assert "example.com" not in case.email_sealed  # sealed like the phone
    assert _channels(staff, case) == ["email"]  # the first message goes by email only: no SMS


def test_without_an_email_and_opt_out_the_applicant_is_told_by_sms_only(staff, pages, frozen):
    pages.login("clerk")
    check = check_page(pages, wfzm_form()).text
    assert "发送到 13812345678" in check and "未填写" in check
    register(pages)
    case = _case(staff)
    assert case.sms_opt_out is False and case.email_sealed is None
    assert _channels(staff, case) == ["sms"]


def test_an_organisation_with_a_landline_is_told_at_its_agents_mobile_and_by_email(staff, pages, frozen):
    pages.login("clerk")
    path = "/window/intake/SJ-QYBG-01"
    form = org_form(**{"applicant.email": "office@jinyang-machinery.cn"})
    check = check_page(pages, form, path).text
    assert "发送到 13934567890" in check and "office@jinyang-machinery.cn" in check
    register(pages, form, path)
    case = _case(staff)
    assert _env(staff).sealer.open(case.email_sealed) == "office@jinyang-machinery.cn"
    assert _channels(staff, case) == ["email", "sms"]


def test_a_wrong_email_is_shown_next_to_its_field_in_chinese_and_registers_nothing(staff, pages, frozen):
    pages.login("clerk")
    r = pages.post(WFZM, wfzm_form(**{"applicant.email": "zhang@", "applicant.sms_opt_out": "1"}), as_="clerk")
    assert r.status_code == 422
    assert html.unescape(error_next_to(r.text, "applicant-email")) == "电子邮箱格式不正确，请核对；没有电子邮箱可不填。"
    assert "#applicant-email" in summary(r.text)
    assert 'value="zhang@"' in r.text  # what was typed stays
    assert 'id="applicant-sms_opt_out" name="applicant.sms_opt_out" value="1" checked' in r.text
    assert count(staff.db, Case) == 0


def test_the_page_and_the_api_word_a_wrong_email_the_same(staff, pages, frozen):
    from tests.helpers import intake_body, person
    pages.login("clerk")
    body = intake_body(applicant={**person(), "email": "zhang@@example.com"})
    api = {e["field"]: e["message"] for e in staff.post("/api/v1/cases", body, as_="clerk").json["error"]["errors"]}
    page = pages.post(WFZM, wfzm_form(**{"applicant.email": "zhang@@example.com"}), as_="clerk").text
    assert html.unescape(error_next_to(page, "applicant-email")) == api["applicant.email"]


def test_change_on_the_check_page_goes_back_to_the_sms_choice(staff, pages, frozen):
    pages.login("clerk")
    fields = hidden_fields(check_page(pages, wfzm_form(**{"applicant.sms_opt_out": "1"})).text)
    r = pages.post(WFZM, {**fields, "change": "applicant-sms_opt_out"}, as_="clerk")
    assert r.status_code == 200
    assert 'id="applicant-sms_opt_out" name="applicant.sms_opt_out" value="1" checked autofocus' in r.text
