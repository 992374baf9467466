"""The window's pages (/window): the desk, the case page and its actions, pick-ups and the case list, as a
clerk at the 忻府区 hall sees them in a browser (cookie session, forms with CSRF tokens)."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from mailing.tables import Packet
from tests import pdfs
from tests.e2e.steps import accepted, case_of, collect, count, decide, received, record, rows
from tests.helpers import intake_body, resident_id
from tracking.model.tables import AccessLog, Case, CaseEvent

PICKUP = {"method": "pickup"}


def text(r) -> str:
    """The page as a reader sees it: tags gone, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))


@pytest.fixture
def clerk(staff, pages, frozen):
    pages.login("clerk")
    return pages


def other_hall(api, pages):
    """A clerk at the 太原市 hall with a case of their own."""
    api.user("clerk_ty", "clerk", "H140100")
    pages.login("clerk_ty")
    return collect(api, as_="clerk_ty")


def supplement_requested(api) -> dict:
    case = received(api)
    r = api.post(f"/api/v1/cases/{case['case_no']}/supplement-requests",
                 {"materials": ["id_card"], "note": "身份证复印件不清晰"}, as_="officer")
    assert r.status_code == 200, r.get_json()
    return case


def ready_for_pickup(api, frozen) -> dict:
    case = accepted(api, intake_body(result_delivery=PICKUP))
    frozen.set("2026-03-03T10:00:00+08:00")
    tn = decide(api, case["case_no"]).json["result_packet"]["tracking_no"]
    record(api, tn, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    record(api, tn, "received", "2026-03-04T09:00:00+08:00", as_="clerk")
    frozen.set("2026-03-04T10:00:00+08:00")
    assert case_of(api, case["case_no"])["status"] == "ready_for_pickup"
    return case


# -- the desk ------------------------------------------------------------------------------------

def test_the_window_home_counts_what_is_waiting_and_links_to_each_list(clerk, staff):
    collect(staff)
    collect(staff)
    supplement_requested(staff)
    r = clerk.get("/window", as_="clerk")
    assert r.status_code == 200
    page = text(r)
    assert "窗口首页" in page and "查找办件" in page
    assert "2 待发邮件" in page            # the two just collected; the third already left
    assert "1 等待申请人补正" in page
    assert "0 结果待领取" in page
    assert 'href="/window/packets"' in r.text and 'href="/window/pickups"' in r.text
    assert 'href="/window/cases?status=supplement_requested"' in r.text
    assert 'href="/window/cases?overdue=1"' in r.text
    assert "data-scan" in r.text           # the find field takes a keyboard-wedge scanner
    for label in ("首页", "收件登记", "待发邮件", "交接清单", "办件查询", "待领取"):
        assert label in page


def test_a_scanned_case_number_or_tracking_number_opens_the_case(clerk, staff):
    case = collect(staff)
    for number in (case["case_no"], case["tracking_no"].lower() + " "):
        r = clerk.get(f"/window/find?no={number}", as_="clerk")
        assert r.status_code == 302 and r.location.endswith(f"/window/cases/{case['case_no']}")
    r = clerk.get("/window/find?no=EA999999999CN", as_="clerk")
    assert r.status_code == 404
    assert "未找到“EA999999999CN”" in text(r) and "请更正以下问题" in text(r)


def test_the_window_pages_are_for_clerks_only(staff, pages):
    pages.login("officer")
    assert pages.get("/window", as_="officer").status_code == 403
    assert pages.get("/window/cases", as_="officer").status_code == 403
    anonymous = pages.app.test_client()
    r = anonymous.get("/window")
    assert r.status_code == 302 and "/login" in r.location


# -- the case page -------------------------------------------------------------------------------

def test_the_case_page_shows_facts_applicant_materials_packets_deadlines_and_history(clerk, staff, db):
    case = received(staff)
    r = clerk.get(f"/window/cases/{case['case_no']}", as_="clerk")
    assert r.status_code == 200
    page = text(r)
    assert case["case_no"] in page and "无犯罪记录证明" in page and "已签收" in page
    assert "忻州市忻府区政务服务中心" in page and "太原市公安局小店分局户政科" in page
    assert "张晓明" in page and resident_id() in page and "13812345678" in page   # in full, for the window
    assert "申请表" in page and "原件" in page and "复印件" in page
    assert case["tracking_no"] in page and "申请材料" in page
    for stage in ("寄出申请材料", "签收申请材料", "一次性告知补正", "作出决定", "寄出办理结果"):
        assert stage in page
    assert "窗口收件登记" in page and "申请材料已交寄" in page and "办理部门签收材料" in page
    assert "补打收件回执" in page and f"/api/v1/cases/{case['case_no']}/receipt.pdf" in r.text
    assert "撤回申请" in page
    assert "查询密码" in page and case["check_code"] in page
    # every full read of personal data is on the access log
    logged = rows(db, select(AccessLog).where(AccessLog.case_no == case["case_no"], AccessLog.username == "clerk"))
    assert logged and logged[-1].what == "case"


def test_an_overdue_stage_is_highlighted_on_the_case_page(clerk, staff, frozen):
    case = collect(staff)
    frozen.set("2026-03-06T09:00:00+08:00")   # dispatch was due on 3 March
    clerk.login("clerk")                       # a new shift: the old session timed out
    page = text(clerk.get(f"/window/cases/{case['case_no']}", as_="clerk"))
    assert re.search(r"寄出申请材料 忻州市忻府区政务服务中心 2026年3月3日 已超期", page), page


def test_a_clerk_never_sees_another_halls_case_on_its_page_nor_in_its_lists(clerk, staff, pages):
    mine = collect(staff)
    theirs = other_hall(staff, pages)
    r = clerk.get(f"/window/cases/{theirs['case_no']}", as_="clerk")
    assert r.status_code == 403 and "您无权查看该办件" in text(r)
    listed = text(clerk.get("/window/cases", as_="clerk"))
    assert mine["case_no"] in listed and theirs["case_no"] not in listed
    assert "共 1 件" in listed
    assert theirs["tracking_no"] not in text(clerk.get("/window/packets", as_="clerk"))
    assert mine["case_no"] not in text(pages.get("/window/cases", as_="clerk_ty"))


# -- supplements -----------------------------------------------------------------------------------

def test_the_window_sends_the_requested_supplement_and_gets_a_label_to_print(clerk, staff, db):
    case = supplement_requested(staff)
    no = case["case_no"]
    page = clerk.get(f"/window/cases/{no}", as_="clerk")
    assert "收取补正材料" in text(page) and "居民身份证" in text(page)
    assert "打印补正材料告知书" in text(page) and f"/api/v1/cases/{no}/supplement-notice.pdf" in page.text

    # nothing ticked: the form again, the error next to the checklist, no packet
    r = clerk.post(f"/window/cases/{no}/supplement", {"txn": "s0"}, as_="clerk")
    assert r.status_code == 400 and "请勾选申请人交来的补正材料" in text(r)
    assert count(db, Packet, Packet.kind == "supplement") == 0

    r = clerk.post(f"/window/cases/{no}/supplement", {"txn": "s1", "materials": "id_card", "copies-id_card": "2"},
                   as_="clerk")
    assert r.status_code == 303
    made = rows(db, select(Packet).where(Packet.kind == "supplement"))
    assert len(made) == 1
    tn = made[0].tracking_no
    assert made[0].contents == [{"code": "id_card", "name": "居民身份证", "copies": 2, "original": False}]
    assert made[0].from_office == "H140902" and made[0].to_office == "D140105-GA"
    assert r.location.endswith(f"/window/cases/{no}/packets/{tn}")
    confirmation = clerk.get(r.location, as_="clerk")
    assert "补正材料已制单" in text(confirmation) and tn in text(confirmation)
    assert f"/api/v1/packets/{tn}/label.pdf" in confirmation.text

    label = clerk.get(f"/api/v1/packets/{tn}/label.pdf", as_="clerk")
    assert label.status_code == 200 and label.mimetype == "application/pdf"
    assert pdfs.code128(label.data) == [tn]

    # posted twice (a double click): one packet
    again = clerk.post(f"/window/cases/{no}/supplement", {"txn": "s1", "materials": "id_card", "copies-id_card": "2"},
                       as_="clerk")
    assert again.status_code == 303 and again.location.endswith(tn)
    assert count(db, Packet, Packet.kind == "supplement") == 1
    assert "收取补正材料" not in text(clerk.get(f"/window/cases/{no}", as_="clerk"))


def test_the_page_and_the_api_say_the_same_about_supplements_with_nothing_listed(clerk, staff, db):
    case = supplement_requested(staff)
    api = staff.post(f"/api/v1/cases/{case['case_no']}/supplements", {"materials": []}, as_="clerk")
    assert api.status_code == 400 and api.json["error"]["field"] == "materials"
    page = clerk.post(f"/window/cases/{case['case_no']}/supplement", {"txn": "s0"}, as_="clerk")
    assert page.status_code == 400 and api.json["error"]["message"] in text(page)
    bad = clerk.post(f"/window/cases/{case['case_no']}/supplement",
                     {"txn": "s1", "materials": "id_card", "copies-id_card": "两份"}, as_="clerk")
    assert bad.status_code == 400 and "份数应为1至99的整数" in text(bad)
    assert count(db, Packet, Packet.kind == "supplement") == 0


def test_a_form_posted_without_its_csrf_token_changes_nothing(clerk, staff, db):
    case = supplement_requested(staff)
    r = clerk.clients["clerk"].post(f"/window/cases/{case['case_no']}/supplement",
                                    data={"materials": "id_card", "copies-id_card": "1"})
    assert r.status_code == 400 and "CSRF" in text(r)
    r = clerk.post(f"/window/cases/{case['case_no']}/withdraw", {"reason": "不办了", "csrf_token": "forged"},
                   as_="clerk")
    assert r.status_code == 400
    assert count(db, Packet, Packet.kind == "supplement") == 0
    assert case_of(staff, case["case_no"])["status"] == "supplement_requested"


# -- withdrawals ---------------------------------------------------------------------------------

def test_a_withdrawal_records_the_reason_and_shows_the_return_packet(clerk, staff, db):
    case = received(staff)
    no = case["case_no"]
    form = clerk.get(f"/window/cases/{no}/withdraw", as_="clerk")
    assert "撤回后办理部门将停止办理，不能恢复" in text(form)

    r = clerk.post(f"/window/cases/{no}/withdraw", {"txn": "w0", "reason": "  "}, as_="clerk")
    assert r.status_code == 400 and "请填写原因" in text(r)
    assert case_of(staff, no)["status"] == "received"

    r = clerk.post(f"/window/cases/{no}/withdraw", {"txn": "w1", "reason": "申请人本人要求撤回"}, as_="clerk",
                   follow_redirects=True)
    assert r.status_code == 200
    returned = rows(db, select(Packet).where(Packet.kind == "return"))
    assert len(returned) == 1
    page = text(r)
    assert "办件已撤回" in page and returned[0].tracking_no in page and "退回材料" in page
    assert "撤回原因 申请人本人要求撤回" in page
    stored = rows(db, select(Case).where(Case.case_no == no))[0]
    assert stored.status == "withdrawn" and stored.reason == "申请人本人要求撤回"
    event = rows(db, select(CaseEvent).where(CaseEvent.type == "withdrawn"))[0]
    assert event.actor == "clerk" and event.data == {"reason": "申请人本人要求撤回"}
    assert "撤回申请" not in text(clerk.get(f"/window/cases/{no}", as_="clerk"))


def test_a_case_still_at_the_window_is_withdrawn_without_a_return_packet(clerk, staff, db):
    case = collect(staff)
    r = clerk.post(f"/window/cases/{case['case_no']}/withdraw", {"txn": "w", "reason": "申请人要求"}, as_="clerk",
                   follow_redirects=True)
    assert "材料尚未寄出，请将材料当面退还申请人" in text(r)
    assert count(db, Packet, Packet.kind == "return") == 0
    assert rows(db, select(Packet).where(Packet.tracking_no == case["tracking_no"]))[0].status == "cancelled"


# -- pick-ups ------------------------------------------------------------------------------------

def test_the_pickup_list_finds_the_applicant_by_id_number_and_the_handover_delivers(clerk, staff, frozen, db):
    case = ready_for_pickup(staff, frozen)
    no = case["case_no"]
    clerk.login("clerk")
    page = text(clerk.get("/window/pickups", as_="clerk"))
    assert no in page and "核验并交付" in page
    assert no in text(clerk.get(f"/window/pickups?id_number={resident_id().lower()}", as_="clerk"))
    other = text(clerk.get(f"/window/pickups?id_number={resident_id('14010519900307456')}", as_="clerk"))
    assert no not in other and "没有该证件号码待领取的办理结果" in other

    form = clerk.get(f"/window/cases/{no}/handover", as_="clerk")
    assert "交付办理结果" in text(form) and resident_id() in text(form)
    r = clerk.post(f"/window/cases/{no}/handover", {"txn": "h0", "method": "face", "passed": "no"}, as_="clerk")
    assert r.status_code == 422 and "身份核验未通过，不能交付结果" in text(r)
    assert case_of(staff, no)["status"] == "ready_for_pickup"
    r = clerk.post(f"/window/cases/{no}/handover", {"txn": "h1"}, as_="clerk")
    assert r.status_code == 400 and "请选择身份核验方式" in text(r) and "请选择核验结果" in text(r)

    r = clerk.post(f"/window/cases/{no}/handover", {"txn": "h2", "method": "id_card_reader", "passed": "yes"},
                   as_="clerk", follow_redirects=True)
    assert "办理结果已交付申请人" in text(r) and "已送达" in text(r)
    stored = rows(db, select(Case).where(Case.case_no == no))[0]
    assert stored.status == "delivered" and stored.delivered_at is not None
    event = rows(db, select(CaseEvent).where(CaseEvent.type == "delivered"))[0]
    assert event.data["how"] == "pickup" and event.data["identity_check"] == "id_card_reader" \
        and event.actor == "clerk"
    assert event.data["collector"]["relation"] == "self"  # no agent registered: the applicant in person
    assert no not in text(clerk.get("/window/pickups", as_="clerk"))


def test_a_handover_without_its_check_names_both_missing_answers_as_the_page_does(clerk, staff, frozen):
    case = ready_for_pickup(staff, frozen)
    r = staff.post(f"/api/v1/cases/{case['case_no']}/handover-to-applicant", {"identity_check": {}}, as_="clerk")
    assert r.status_code == 400
    assert [(e["field"], e["message"]) for e in r.json["error"]["errors"]] == [
        ("identity_check.method", "请选择身份核验方式。"), ("identity_check.passed", "请选择核验结果。")]
    assert case_of(staff, case["case_no"])["status"] == "ready_for_pickup"


# -- the case list -------------------------------------------------------------------------------

def test_the_case_list_filters_by_status_and_overdue_and_pages(clerk, staff, frozen, monkeypatch):
    import app.pages.window as window
    monkeypatch.setattr(window, "PER_PAGE", 2)
    first, second, third = collect(staff), collect(staff), collect(staff)
    record(staff, first["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    page = text(clerk.get("/window/cases", as_="clerk"))
    assert "共 3 件" in page and "第 1 / 2 页" in page
    assert third["case_no"] in page and second["case_no"] in page and first["case_no"] not in page
    assert first["case_no"] in text(clerk.get("/window/cases?page=2", as_="clerk"))

    in_transit = text(clerk.get("/window/cases?status=in_transit", as_="clerk"))
    assert "共 1 件" in in_transit and first["case_no"] in in_transit and "材料寄递中" in in_transit

    frozen.set("2026-03-05T09:00:00+08:00")    # the two still at the window missed their dispatch day
    clerk.login("clerk")
    late = text(clerk.get("/window/cases?overdue=1", as_="clerk"))
    assert "共 2 件" in late and "寄出申请材料" in late and first["case_no"] not in late


# -- a lost packet -------------------------------------------------------------------------------

def test_a_lost_packet_is_replaced_from_the_case_page(clerk, staff, db):
    case = collect(staff)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(staff, case["tracking_no"], "exception", "2026-03-02T15:00:00+08:00", "P140900", as_="courier",
           reason="lost")
    page = clerk.get(f"/window/cases/{case['case_no']}", as_="clerk")
    assert "已丢失" in text(page) and "制作补寄件" in text(page)
    r = clerk.post(f"/window/cases/{case['case_no']}/packets/{case['tracking_no']}/replacement", {"txn": "r1"},
                   as_="clerk")
    assert r.status_code == 303
    made = rows(db, select(Packet).where(Packet.kind == "replacement"))
    assert len(made) == 1 and all(not m["original"] for m in made[0].contents)
    assert "补寄材料已制单" in text(clerk.get(r.location, as_="clerk"))
    assert "请复印申请人留存的材料" not in text(clerk.get(f"/window/cases/{case['case_no']}", as_="clerk"))
