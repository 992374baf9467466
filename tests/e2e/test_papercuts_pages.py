"""Papercuts a new user met on the staff pages and the tracking page (issue 13 §6, points 4, 5, 6 and 8):
a contents check that must be done item by item, a handover page that refuses a wrong scan, people by name
and office, refusals without a doubled 已, the decision on /track, links from the overdue board, and the
window's list newest first."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from mailing.tables import Manifest, PacketEvent
from tests import pdfs
from tests.e2e.steps import accepted, collect, count, record, rows
from tests.e2e.conftest import csrf_token
from tests.e2e.test_pages_track import Phone
from tests.helpers import PASSWORD, unknown_tracking_no
from tracking.model.tables import Case


def text(r) -> str:
    """The page as a reader sees it: tags gone, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))


def status_of(db, case_no: str) -> str:
    return rows(db, select(Case).where(Case.case_no == case_no))[0].status


# -- 4: the contents check ------------------------------------------------------------------------

def test_the_contents_check_starts_unchecked_ticks_what_is_scanned_and_signs_only_when_every_item_is_checked(
        staff, pages, frozen, db):
    case = collect(staff)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:00:00+08:00")
    pages.login("officer")

    checklist = pages.post("/office/receive", {"tracking_no": case["tracking_no"]}, as_="officer")
    assert checklist.status_code == 200
    assert " checked" not in checklist.text and "已核对 0 / 2 项" in text(checklist)
    sign = re.search(r'<button[^>]*value="sign"[^>]*>', checklist.text).group(0)
    assert "autofocus" not in sign  # scan, Enter, Enter no longer signs for everything unchecked
    assert "autofocus" in re.search(r'<input[^>]*id="item"[^>]*>', checklist.text).group(0)
    event_id = re.search(r'name="event_id" value="([^"]+)"', checklist.text).group(1)
    form = {"tracking_no": case["tracking_no"], "event_id": event_id}

    # the barcode on the application form read by the scanner: that item is 正常, counted
    scanned = pages.post("/office/receive/confirm", {**form, "action": "tick", "item": "APPLICATION_FORM"},
                         as_="officer")
    assert scanned.status_code == 200 and "已核对 1 / 2 项" in text(scanned)
    assert 'name="status-application_form" value="ok" checked' in scanned.text
    assert 'name="status-id_card" value="ok" checked' not in scanned.text
    # a barcode of something not in this packet is said at once and ticks nothing
    wrong = pages.post("/office/receive/confirm", {**form, "action": "tick", "item": "passport",
                                                   "status-application_form": "ok"}, as_="officer")
    assert wrong.status_code == 422 and "“passport”不是本邮件的内件" in text(wrong)
    assert "已核对 1 / 2 项" in text(wrong)

    # signing with an item unchecked is refused, naming it; nothing is recorded
    refused = pages.post("/office/receive/confirm", {**form, "action": "sign", "status-application_form": "ok"},
                         as_="officer")
    assert refused.status_code == 422
    assert "还有 1 项未核对：居民身份证" in text(refused)
    assert count(db, PacketEvent, PacketEvent.type == "received") == 0
    assert status_of(db, case["case_no"]) == "in_transit"

    signed = pages.post("/office/receive/confirm", {**form, "action": "sign", "status-application_form": "ok",
                                                    "status-id_card": "damaged"}, as_="officer")
    assert signed.status_code == 303
    [event] = rows(db, select(PacketEvent).where(PacketEvent.event_id == event_id))
    assert event.contents == [{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "damaged"}]
    assert status_of(db, case["case_no"]) == "received"


# -- 6: the handover page -------------------------------------------------------------------------

def test_a_scan_that_is_not_a_packet_waiting_here_is_an_error_at_once_and_is_not_added(staff, pages, frozen, db):
    a, b = collect(staff), collect(staff)
    pages.login("clerk")
    stranger = unknown_tracking_no()
    r = pages.post("/window/packets", {"add": "1", "tracking_nos": [a["tracking_no"]], "scan": stranger,
                                       "courier": "courier"}, as_="clerk")
    assert r.status_code == 422
    assert f"{stranger} 不是本机构待发的邮件" in text(r) and "未加入" in text(r)
    assert f'value="{stranger}"' not in r.text  # not on the list to be sent
    assert f'value="{a["tracking_no"]}" id="tn-{a["tracking_no"]}" checked' in r.text  # the choice is kept
    assert f'value="{b["tracking_no"]}" id="tn-{b["tracking_no"]}" checked' not in r.text
    # a packet waiting here, scanned: ticked, and still no sheet until the clerk asks for one
    r = pages.post("/window/packets", {"add": "1", "tracking_nos": [a["tracking_no"]], "scan": b["tracking_no"].lower(),
                                       "courier": "courier"}, as_="clerk")
    assert r.status_code == 200 and "不是本机构待发的邮件" not in text(r)
    assert f'value="{b["tracking_no"]}" id="tn-{b["tracking_no"]}" checked' in r.text
    assert count(db, Manifest) == 0
    # the page's own script refuses such a scan before anything is posted, and each entry can be removed
    assert 'id="scanned-error"' in r.text and "移除" in pages.get("/static/tongban.js", as_="clerk").text


# -- 5: people by name and office --------------------------------------------------------------------

@pytest.fixture
def wang_min(staff, db):
    """A clerk at 忻府区 with a name: 王敏, username xinfu-clerk."""
    from app.users import create_user
    create_user(db, "xinfu-clerk", "clerk", PASSWORD, "H140902", "王敏")
    db.commit()
    staff.login("xinfu-clerk")
    return "xinfu-clerk"


def test_the_receipt_and_the_case_history_show_people_by_name_and_office_never_by_username(
        staff, pages, wang_min, frozen):
    case = collect(staff, as_=wang_min)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_=wang_min)
    receipt = staff.get(f"/api/v1/cases/{case['case_no']}/receipt.pdf", as_=wang_min)
    printed = re.sub(r"\s+", "", pdfs.text(receipt.data))
    assert "王敏（忻州市忻府区政务服务中心）" in printed and "xinfu-clerk" not in printed

    pages.login("officer")
    history = text(pages.get(f"/office/cases/{case['case_no']}", as_="officer"))
    assert "王敏（忻州市忻府区政务服务中心）" in history and "xinfu-clerk" not in history


def test_couriers_are_offered_by_name_on_the_handover_page(staff, pages, db, frozen):
    from app.users import create_user
    create_user(db, "zhao", "courier", PASSWORD, None, "赵师傅")
    db.commit()
    collect(staff)
    pages.login("clerk")
    page = pages.get("/window/packets", as_="clerk")
    assert '<option value="zhao">赵师傅</option>' in page.text and "（zhao）" not in text(page)


# -- 8: the smaller ones -------------------------------------------------------------------------

def test_a_refusal_says_the_packets_state_with_one_已(staff, frozen):
    case = collect(staff)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(staff, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    r = staff.get(f"/api/v1/packets/{case['tracking_no']}/label.pdf", as_="clerk")
    message = r.get_json()["error"]["message"]
    assert r.status_code == 409 and message == f"邮件{case['tracking_no']}已签收，不能再打印面单。"


def test_the_tracking_page_says_whether_the_application_was_approved_or_refused(staff, app, frozen):
    case = accepted(staff)
    frozen.set("2026-03-04T10:00:00+08:00")
    r = staff.post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "refused", "note": "不符合条件"},
                   as_="officer")
    assert r.status_code == 200, r.get_json()
    answer = staff.get(f"/api/v1/track/{case['case_no']}?check={case['check_code']}").get_json()
    assert answer["outcome"] == "refused" and answer["outcome_text"] == "不予"
    phone = Phone(app, staff.client.environ_base["REMOTE_ADDR"])
    token = csrf_token(phone.get("/track").text)
    page = phone.client.post("/track", data={"no": case["case_no"], "check": case["check_code"], "csrf_token": token},
                             follow_redirects=True)
    words = text(page).replace(" ", "")
    assert "当前状态已办结办理结果：不予" in words and "已办结：不予" in words  # the status, then the step


def test_the_overdue_board_links_each_case_to_its_page(staff, pages, frozen):
    late = collect(staff)  # collected on 2 March, never sent on
    frozen.set("2026-03-10T09:00:00+08:00")
    pages.login("supervisor")
    board = pages.get("/supervise", as_="supervisor")
    assert f'<a href="/supervise/cases/{late["case_no"]}">{late["case_no"]}</a>' in board.text
    page = pages.get(f"/supervise/cases/{late['case_no']}", as_="supervisor")
    words = text(page)
    assert page.status_code == 200 and f"办件 {late['case_no']}" in words and "办理记录" in words
    assert "面单（PDF）" not in words  # supervisors print no labels


def test_the_windows_case_list_is_newest_first(staff, pages, frozen):
    frozen.set("2026-03-02T15:00:00+08:00")
    later = collect(staff)
    frozen.set("2026-03-02T09:00:00+08:00")  # entered afterwards, for a morning intake
    earlier = collect(staff)
    pages.login("clerk")
    listed = pages.get("/window/cases", as_="clerk").text
    assert listed.index(later["case_no"]) < listed.index(earlier["case_no"])


def test_a_refused_account_names_the_role_in_chinese_only(staff, pages, frozen):
    staff.user("admin", "admin")
    pages.login("admin")
    r = pages.post("/admin/users/new", {"txn": "t-1", "username": "wang", "name": "王芳", "role": "clerk",
                                         "office_code": "", "password": "long-enough-1"}, as_="admin")
    assert r.status_code == 400 and "窗口人员必须属于一个政务服务大厅" in text(r) and "（clerk）" not in text(r)
