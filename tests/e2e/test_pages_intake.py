"""收件登记 pages: the catalogue search, the application form with its inline errors, check your
answers, a confirmation registered once, and the receipt and label ready to print."""
from __future__ import annotations

import html
import re

from sqlmodel import select

from tests import pdfs
from tests.e2e.steps import count
from tests.helpers import credit_code, intake_body, person, resident_id, wrong_resident_id
from tracking.model.tables import AccessLog, Case

START = "/window/intake"
WFZM = "/window/intake/GA-WFZM-01"


def wfzm_form(**overrides) -> dict:
    """无犯罪记录证明 for a resident of 太原市小店区, as the clerk at 忻府区 fills the form in."""
    data = {"applicant.kind": "person", "applicant.name": "张晓明", "applicant.id_number": resident_id(),
            "applicant.phone": "13812345678", "applicant.address": "太原市小店区平阳路12号3单元502室",
            "applicant.division_code": "140105 山西省太原市小店区",
            "materials.application_form.received": "1", "materials.application_form.original": "1",
            "materials.application_form.copies": "1",
            "materials.id_card.received": "1", "materials.id_card.original": "0", "materials.id_card.copies": "2",
            "identity_check.method": "id_card_reader", "identity_check.passed": "1",
            "result_delivery.method": "mail", "result_delivery.address": "太原市小店区平阳路12号3单元502室",
            "result_delivery.division_code": "140105", "note": "申请人急用"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def org_form(**overrides) -> dict:
    """企业变更登记 for a company registered in 小店区, through its agent, collected at 忻府区."""
    data = {"applicant.kind": "organisation", "applicant.name": "太原市晋阳机械制造有限公司",
            "applicant.credit_code": credit_code(), "applicant.phone": "0351-4041234",
            "applicant.address": "太原市小店区长治路88号", "applicant.division_code": "140105",
            "applicant.agent.name": "李建国", "applicant.agent.id_number": resident_id("14090219850612451"),
            "applicant.agent.phone": "13934567890", "applicant.agent.division_code": "140902",
            "identity_check.method": "face", "identity_check.passed": "1", "result_delivery.method": "pickup"}
    for code in ("application_form", "resolution", "business_licence", "power_of_attorney", "agent_id_card"):
        data[f"materials.{code}.received"] = "1"
        data[f"materials.{code}.original"] = "0" if code == "agent_id_card" else "1"
        data[f"materials.{code}.copies"] = "1"
    data.update(overrides)
    return data


def hidden_fields(page: str) -> dict:
    """What a browser would post from the check page's form: its hidden fields."""
    return {html.unescape(name): html.unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


def error_next_to(page: str, field_id: str) -> str:
    """The error message shown in the field block of `field_id` (the GOV.UK field pattern)."""
    found = re.search(r'<div class="field field--error">\s*<label class="label" for="%s">.*?'
                      r'<p class="field-error" id="%s-error">([^<]+)</p>' % (field_id, field_id), page, re.S)
    assert found, f"no error shown next to {field_id}"
    return found.group(1)


def summary(page: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert found, "no error summary at the top"
    return found.group(0)


def check_page(pages, form: dict, path: str = WFZM):
    r = pages.post(path, form, as_="clerk")
    assert r.status_code == 200, r.text
    assert "核对收件信息" in r.text
    return r


def register(pages, form: dict | None = None, path: str = WFZM) -> str:
    """Fill in, check, confirm: the confirmation's path."""
    fields = hidden_fields(check_page(pages, form or wfzm_form(), path).text)
    r = pages.post(path + "/confirm", fields, as_="clerk")
    assert r.status_code == 303, r.text
    return r.location


# -- the catalogue -------------------------------------------------------------------------------------

def test_the_catalogue_search_finds_the_criminal_record_certificate_by_name_and_by_code(staff, pages, frozen):
    pages.login("clerk")
    by_name = pages.get(START + "?q=无犯罪", as_="clerk")
    assert by_name.status_code == 200
    assert "无犯罪记录证明" in by_name.text and "GA-WFZM-01" in by_name.text
    assert "公安户政" in by_name.text and "县级" in by_name.text
    assert "3 个工作日" in by_name.text and "10 个工作日" in by_name.text
    assert 'href="/window/intake/GA-WFZM-01"' in by_name.text
    assert "户口迁移" not in by_name.text

    by_code = pages.get(START + "?q=ga-wfzm", as_="clerk")
    assert "无犯罪记录证明" in by_code.text and "找到 1 个" in by_code.text


def test_the_page_and_the_api_search_by_one_rule(staff, pages, frozen):
    pages.login("clerk")
    api_codes = [m["code"] for m in staff.get("/api/v1/matters?mode=proxy&q=公积金", as_="clerk").json["matters"]]
    page = pages.get(START + "?q=公积金", as_="clerk").text
    page_codes = re.findall(r'href="/window/intake/([A-Z0-9-]+)"', page)
    assert page_codes == api_codes and len(api_codes) >= 3


def test_an_online_only_matter_is_named_as_not_collectable_here(staff, pages, frozen):
    pages.login("clerk")
    page = pages.get(START + "?q=异地就医备案", as_="clerk").text
    assert "仅支持网上办理，不能异地代收代办" in page
    assert 'href="/window/intake/YB-YDJY-01"' not in page
    form = pages.get("/window/intake/YB-YDJY-01", as_="clerk")
    assert form.status_code == 422 and "不能异地代收" in form.text


def test_an_officer_cannot_open_the_intake_pages(staff, pages, frozen):
    pages.login("officer")
    assert pages.get(START, as_="officer").status_code == 403
    assert pages.get(WFZM, as_="officer").status_code == 403


# -- the form ---------------------------------------------------------------------------------------------

def test_the_form_offers_the_matters_materials_and_only_its_ways_of_returning_the_result(staff, pages, frozen):
    pages.login("clerk")
    page = pages.get(WFZM, as_="clerk").text
    for name in ("无犯罪记录证明申请表", "居民身份证", "授权委托书（委托他人代办时）"):
        assert name in page
    assert page.count("<strong>必交</strong>") == 2
    assert 'value="mail"' in page and 'value="pickup"' in page and 'value="electronic"' in page
    assert "applicant.credit_code" not in page and "代理人姓名" not in page  # a matter for people only
    assert '<option value="140105 山西省太原市小店区">' in page

    paper_only = pages.get("/window/intake/GA-HKQY-01", as_="clerk").text
    assert 'value="electronic"' not in paper_only
    assert "迁入地" in paper_only  # its subject: the place the household moves to


def test_a_bad_id_number_a_bad_phone_and_a_missing_material_are_shown_together_at_their_fields(staff, pages, frozen):
    pages.login("clerk")
    form = wfzm_form(**{"applicant.id_number": wrong_resident_id(), "applicant.phone": "1381234567",
                        "materials.id_card.received": None})
    r = pages.post(WFZM, form, as_="clerk")
    assert r.status_code == 422
    page = r.text
    assert "身份证号码有误" in error_next_to(page, "applicant-id_number")
    assert "11位" in error_next_to(page, "applicant-phone")
    materials = re.search(r'<fieldset class="field field--error" id="materials">.*?</fieldset>', page, re.S).group(0)
    assert "缺少必需材料：居民身份证" in materials and "未收到" in materials
    top = summary(page)
    for anchor in ("#applicant-id_number", "#applicant-phone", "#materials"):
        assert anchor in top
    # what was typed stays, so only the wrong parts need typing again
    assert 'value="张晓明"' in page and f'value="{wrong_resident_id()}"' in page
    assert count(staff.db, Case) == 0


def test_an_organisation_with_a_bad_credit_code_is_refused_at_its_field(staff, pages, frozen):
    pages.login("clerk")
    path = "/window/intake/SJ-QYBG-01"
    assert "代理人" in pages.get(path, as_="clerk").text
    wrong = credit_code()[:17] + ("0" if credit_code()[17] != "0" else "1")
    r = pages.post(path, org_form(**{"applicant.credit_code": wrong}), as_="clerk")
    assert r.status_code == 422
    assert "统一社会信用代码有误" in error_next_to(r.text, "applicant-credit_code")
    assert "#applicant-credit_code" in summary(r.text)
    assert count(staff.db, Case) == 0


def test_an_organisation_is_registered_through_its_agent(staff, pages, frozen):
    pages.login("clerk")
    path = "/window/intake/SJ-QYBG-01"
    check = check_page(pages, org_form(), path).text
    assert "太原市晋阳机械制造有限公司" in check and "李建国" in check and "人脸识别比对" in check
    assert "到本窗口领取" in check
    done = pages.get(register(pages, org_form(), path), as_="clerk")
    assert "收件登记完成" in done.text
    case = staff.db.exec(select(Case)).one()
    assert case.applicant_kind == "organisation" and case.result_method == "pickup"


def test_a_refusal_of_the_use_case_shows_on_the_form_before_anything_is_registered(staff, pages, frozen):
    pages.login("clerk")
    # an applicant registered in 忻府区 itself: the owning office is local, no proxy needed
    r = pages.post(WFZM, wfzm_form(**{"applicant.division_code": "140902"}), as_="clerk")
    assert r.status_code == 422
    assert "就在本地" in summary(r.text)
    assert "核对收件信息" not in r.text
    assert count(staff.db, Case) == 0


def test_a_failed_identity_check_and_a_mail_without_address_are_field_errors(staff, pages, frozen):
    pages.login("clerk")
    r = pages.post(WFZM, wfzm_form(**{"identity_check.passed": None, "result_delivery.address": ""}), as_="clerk")
    assert r.status_code == 422
    assert "身份核验未通过，不能收件" in r.text  # the API's words: one parser for both
    assert "邮寄送达请填写收件地址" in error_next_to(r.text, "result_delivery-address")
    assert "#identity_check-passed" in summary(r.text)


def test_the_page_and_the_api_word_a_bad_field_the_same(staff, pages, frozen):
    pages.login("clerk")
    body = intake_body(applicant=person(id_number=wrong_resident_id(), phone="1381234567"))
    api = {e["field"]: e["message"] for e in staff.post("/api/v1/cases", body, as_="clerk").json["error"]["errors"]}
    form = wfzm_form(**{"applicant.id_number": wrong_resident_id(), "applicant.phone": "1381234567"})
    page = pages.post(WFZM, form, as_="clerk").text
    for field in ("applicant.id_number", "applicant.phone"):
        assert html.unescape(error_next_to(page, field.replace(".", "-"))) == api[field]


def test_a_missing_field_is_named_by_its_label_on_the_page(staff, pages, frozen):
    pages.login("clerk")
    r = pages.post(WFZM, wfzm_form(**{"applicant.name": ""}), as_="clerk")
    assert r.status_code == 422
    assert error_next_to(r.text, "applicant-name") == "缺少必填项“申请人姓名”。"  # the API names applicant.name


def test_the_page_reads_a_phone_and_a_place_as_people_write_them(staff, pages, frozen):
    pages.login("clerk")
    form = wfzm_form(**{"applicant.phone": "+86 138 1234 5678", "applicant.division_code": "太原市小店区"})
    fields = hidden_fields(check_page(pages, form).text)
    assert fields["applicant.phone"] == "13812345678" and fields["applicant.division_code"] == "140105"


# -- check your answers --------------------------------------------------------------------------------------

def test_check_your_answers_shows_every_answer_in_full_and_registers_nothing_yet(staff, pages, frozen):
    pages.login("clerk")
    r = check_page(pages, wfzm_form())
    page = r.text
    assert r.headers["Cache-Control"] == "no-store"
    for answer in ("张晓明", resident_id(), "13812345678", "山西省太原市小店区（140105）", "无犯罪记录证明申请表",
                   "原件 1 份", "复印件 2 份", "身份证读卡器读取", "邮寄送达", "申请人急用"):
        assert answer in page, answer
    assert "太原市公安局小店分局" in page or "小店" in re.search(r"办理机构</dt><dd>([^<]+)", page).group(1)
    assert "2026年3月10日" in page  # three working days after the expected receipt, Thursday 5 March
    assert page.count(">修改<") >= 10
    assert count(staff.db, Case) == 0
    # the draft is in the form, not in the cookie
    assert "张晓明" not in pages.clients["clerk"].get_cookie("session").value


def test_change_on_the_check_page_brings_the_form_back_filled_in_at_that_field(staff, pages, frozen):
    pages.login("clerk")
    fields = hidden_fields(check_page(pages, wfzm_form()).text)
    r = pages.post(WFZM, {**fields, "change": "applicant-phone"}, as_="clerk")
    assert r.status_code == 200
    assert re.search(r'id="applicant-phone"[^>]*value="13812345678"[^>]*autofocus', r.text)
    assert "error-summary" not in r.text and "field--error" not in r.text


# -- confirm --------------------------------------------------------------------------------------------------

def test_confirm_registers_exactly_one_case_even_when_posted_twice(staff, pages, frozen):
    pages.login("clerk")
    fields = hidden_fields(check_page(pages, wfzm_form()).text)
    assert fields["txn"]
    first = pages.post(WFZM + "/confirm", fields, as_="clerk")
    second = pages.post(WFZM + "/confirm", fields, as_="clerk")
    assert first.status_code == second.status_code == 303
    assert first.location == second.location
    cases = staff.db.exec(select(Case)).all()
    assert len(cases) == 1
    case = cases[0]
    assert first.location.endswith(f"/window/intake/done/{case.case_no}")
    assert case.created_by == "clerk" and case.owning_office == "D140105-GA"
    assert [(m["code"], m["original"], m["copies"]) for m in case.materials] == \
        [("application_form", True, 1), ("id_card", False, 2)]
    assert case.note == "申请人急用" and case.result_method == "mail"


def test_a_post_without_the_csrf_token_is_refused_and_registers_nothing(staff, pages, frozen):
    client = pages.login("clerk")
    fields = hidden_fields(check_page(pages, wfzm_form()).text)
    del fields["csrf_token"]
    r = client.post(WFZM + "/confirm", data=fields)
    assert r.status_code == 400 and "CSRF" in r.text
    assert count(staff.db, Case) == 0


# -- the confirmation -----------------------------------------------------------------------------------------

def test_the_confirmation_shows_the_numbers_and_embeds_the_receipt_and_label_ready_to_print(staff, pages, frozen):
    pages.login("clerk")
    done = pages.get(register(pages), as_="clerk")
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    case = staff.db.exec(select(Case)).one()
    full = staff.get(f"/api/v1/cases/{case.case_no}", as_="clerk").json
    page = done.text
    assert f'<strong class="panel__ref" id="case-no">{case.case_no}</strong>' in page
    assert f'<strong class="panel__ref" id="check-code">{full["check_code"]}</strong>' in page
    assert full["tracking_no"] in page and "太原" in page and "2026年3月10日" in page
    assert "登记下一件" in page
    receipt_url, label_url = f"/api/v1/cases/{case.case_no}/receipt.pdf", f"/api/v1/packets/{full['tracking_no']}/label.pdf"
    assert f'<iframe id="receipt-frame" src="{receipt_url}"' in page and 'data-print-frame="receipt-frame"' in page
    assert f'<iframe id="label-frame" src="{label_url}"' in page and 'data-print-frame="label-frame"' in page

    receipt = pages.get(receipt_url, as_="clerk")
    assert receipt.data.startswith(b"%PDF")
    assert case.case_no in pdfs.text(receipt.data) and full["check_code"] in pdfs.text(receipt.data)
    label = pages.get(label_url, as_="clerk")
    assert label.data.startswith(b"%PDF")
    assert case.case_no in pdfs.text(label.data)
    assert full["check_code"] not in pdfs.text(label.data)  # never on the outside of a packet


def test_reading_the_confirmation_is_written_to_the_access_log(staff, pages, frozen):
    pages.login("clerk")
    pages.get(register(pages), as_="clerk")
    logs = staff.db.exec(select(AccessLog).where(AccessLog.username == "clerk", AccessLog.what == "case")).all()
    assert len(logs) == 1


def test_a_clerk_of_another_hall_cannot_see_the_confirmation(staff, pages, frozen):
    staff.user("clerk2", "clerk", "H140802")  # 忻州市 hall
    pages.login("clerk")
    pages.login("clerk2")
    done_path = register(pages)
    case_no = done_path.rsplit("/", 1)[1]
    r = pages.get(f"/window/intake/done/{case_no}", as_="clerk2")
    assert r.status_code == 403
    assert case_no not in r.text
    assert pages.get("/window/intake/done/140902-20260302-9999", as_="clerk").status_code == 404


def test_a_division_may_be_typed_by_name_unless_several_places_share_it(staff, pages, frozen):
    pages.login("clerk")
    by_name = check_page(pages, wfzm_form(**{"applicant.division_code": "小店区"})).text
    assert "山西省太原市小店区（140105）" in by_name
    r = pages.post(WFZM, wfzm_form(**{"applicant.division_code": "城区"}), as_="clerk")
    assert r.status_code == 422
    assert "个地方叫“城区”" in error_next_to(r.text, "applicant-division_code")
    r = pages.post(WFZM, wfzm_form(**{"applicant.division_code": "149999"}), as_="clerk")
    assert "未找到“149999”" in error_next_to(r.text, "applicant-division_code")
