"""The owning office's pages: what is on its way and waiting, scan-to-receive with the contents check,
and the officer's steps on a case, as an officer clicks through them."""
from __future__ import annotations

import io
import re

import pytest
from sqlmodel import select

from mailing.tables import Packet, PacketEvent
from tests import pdfs
from tests.e2e.steps import KEPT_PDF, PDF, accepted, collect, count, packet_of, received, record, rows
from tests.helpers import intake_body, org_intake_body, tracking_no_with_bad_check_digit
from tracking.commands.notifications import message
from tracking.model.tables import Case, Notification, ResultFile


@pytest.fixture
def officer(staff, pages, frozen):
    """The officer of 小店区公安 (D140105-GA) signed in on the pages, on Monday 2 March 2026."""
    pages.login("officer")
    return pages


def case_row(db, case_no: str) -> Case:
    return rows(db, select(Case).where(Case.case_no == case_no))[0]


def text_of(html: str) -> str:
    """The page's words, without tags: what a person reads."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, start: str, end: str) -> str:
    """The words of the page between the heading with id `start` and the one with id `end`."""
    return text_of(html.split(f'id="{start}"', 1)[1].split(f'id="{end}"', 1)[0])


def txn(n: int = 1) -> str:
    return f"test-txn-{n:04d}"


# -- the desk -----------------------------------------------------------------------------------

def test_the_desk_shows_a_packet_on_its_way_with_its_expected_arrival_and_not_another_offices(
        staff, officer, frozen):
    ours = collect(staff)
    theirs = collect(staff, org_intake_body())  # a company's change of registration: 小店区市场监管局
    record(staff, ours["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(staff, theirs["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    expected = packet_of(staff, ours["tracking_no"])["expected_arrival"]
    y, m, d = (int(x) for x in expected.split("-"))

    page = officer.get("/office", as_="officer")

    assert page.status_code == 200
    words = text_of(page.text)
    assert "寄往本部门的邮件（在途）" in words
    assert ours["tracking_no"] in words and ours["case_no"] in words
    assert f"{y}年{m}月{d}日" in words  # when it should be here
    assert "忻州市忻府区政务服务中心" in words  # which window sent it
    assert theirs["tracking_no"] not in words and theirs["case_no"] not in words


def test_a_packet_out_for_delivery_to_us_waits_for_our_receipt_and_a_late_one_is_tagged(staff, officer, frozen):
    case = collect(staff)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(staff, case["tracking_no"], "out_for_delivery", "2026-03-09T08:00:00+08:00", as_="courier")
    frozen.set("2026-03-09T09:00:00+08:00")
    officer.login("officer")  # a new day, a new session

    arrived = section(officer.get("/office", as_="officer").text, "arrived", "sheets")

    assert case["tracking_no"] in arrived and "派送中" in arrived and "晚于预计" in arrived


def test_a_handover_sheet_addressed_to_us_waits_on_the_desk_until_we_count_it(staff, officer, frozen):
    numbers = [collect(staff)["tracking_no"] for _ in range(2)]
    r = staff.post("/api/v1/manifests", {"to_party": "office:D140105-GA", "tracking_nos": numbers}, as_="clerk")
    sheet = r.json["manifest_no"]
    assert sheet not in officer.get("/office", as_="officer").text  # not handed over yet
    staff.post("/api/v1/scans", {"scans": [{"event_id": "sheet-out", "manifest_no": sheet, "type": "dispatched",
                                            "at": "2026-03-02T10:00:00+08:00"}]}, as_="clerk")

    waiting = section(officer.get("/office", as_="officer").text, "sheets", "on-the-way")
    assert sheet in waiting and "忻州市忻府区政务服务中心" in waiting and " 2 " in waiting
    assert f'href="/manifests/{sheet}"' in officer.get("/office", as_="officer").text

    counted = staff.post(f"/api/v1/manifests/{sheet}/receipt", {"tracking_nos": numbers}, as_="officer")
    assert counted.status_code == 200, counted.get_json()
    assert sheet not in officer.get("/office", as_="officer").text


def test_cases_waiting_on_us_show_their_next_deadline_and_the_overdue_ones_are_marked(staff, officer, frozen):
    fresh = received(staff)  # signed for on Tuesday 3 March: notice due 5 working days later
    frozen.set("2026-03-05T09:00:00+08:00")
    officer.login("officer")
    waiting = section(officer.get("/office", as_="officer").text, "received", "supplement-arrived")
    assert fresh["case_no"] in waiting and "2026年3月10日" in waiting and "已超期" not in waiting

    frozen.set("2026-03-12T09:00:00+08:00")  # past the notice deadline, before the sweep deems it accepted
    officer.login("officer")
    words = text_of(officer.get("/office", as_="officer").text)
    assert "已超期：一次性告知补正" in words


def test_the_lists_hold_our_received_and_accepted_cases_only(staff, officer, frozen):
    waiting = received(staff)
    deciding = accepted(staff)
    other = collect(staff, org_intake_body())  # not for 公安: 市场监管局's, received there
    staff.user("officer_sj", "officer", "D140105-SJ")
    record(staff, other["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(staff, other["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer_sj")

    to_accept = text_of(officer.get("/office/cases?status=received", as_="officer").text)
    to_decide = text_of(officer.get("/office/cases?status=accepted", as_="officer").text)

    assert waiting["case_no"] in to_accept and deciding["case_no"] not in to_accept
    assert deciding["case_no"] in to_decide and waiting["case_no"] not in to_decide
    assert other["case_no"] not in to_accept + to_decide


# -- scan to receive ----------------------------------------------------------------------------

def test_scanning_a_packet_shows_its_contents_and_a_missing_material_is_recorded_on_the_case(
        staff, officer, frozen, db):
    case = collect(staff)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:00:00+08:00")
    officer.login("officer")

    checklist = officer.post("/office/receive", {"tracking_no": case["tracking_no"].lower() + " "}, as_="officer")
    assert checklist.status_code == 200
    words = text_of(checklist.text)
    assert "确认签收" in words and "无犯罪记录证明申请表" in words and "居民身份证" in words
    assert " checked" not in checklist.text  # no material is 正常 until the officer checks it (issue 13 §6.4)
    event_id = re.search(r'name="event_id" value="([^"]+)"', checklist.text).group(1)

    r = officer.post("/office/receive/confirm", {"tracking_no": case["tracking_no"], "event_id": event_id,
                                                 "status-application_form": "ok", "status-id_card": "missing"},
                     as_="officer")
    assert r.status_code == 303
    done = officer.get(r.location, as_="officer")
    words = text_of(done.text)
    assert "已签收" in words and case["tracking_no"] in words
    assert "签收核对发现：居民身份证（缺失）" in words
    assert 'autofocus' in done.text.split('name="tracking_no"')[1].split(">")[0]  # ready for the next scan

    saved = case_row(db, case["case_no"])
    assert saved.status == "received"
    assert [(p["code"], p["status"]) for p in saved.contents_problems] == [("id_card", "missing")]
    event = rows(db, select(PacketEvent).where(PacketEvent.event_id == event_id))[0]
    assert event.type == "received" and event.office_code == "D140105-GA" and event.actor == "officer"

    # the same confirmation posted again (a double click) records nothing more
    again = officer.post("/office/receive/confirm", {"tracking_no": case["tracking_no"], "event_id": event_id,
                                                     "status-id_card": "missing"}, as_="officer")
    assert again.status_code == 303
    assert count(db, PacketEvent, PacketEvent.type == "received") == 1
    rescanned = officer.post("/office/receive", {"tracking_no": case["tracking_no"]}, as_="officer")
    assert rescanned.status_code == 409 and "该邮件已签收，无需再次签收。" in rescanned.text


def test_a_misread_number_is_caught_before_the_checklist(staff, officer, db):
    r = officer.post("/office/receive", {"tracking_no": tracking_no_with_bad_check_digit()}, as_="officer")

    assert r.status_code == 400
    words = text_of(r.text)
    assert "邮件号格式或校验位有误，请重新扫描。" in words and "确认签收" not in words
    assert count(db, PacketEvent) == 0


def test_an_officer_of_another_office_gets_the_wrong_office_message_and_nothing_is_recorded(
        staff, pages, frozen, db):
    case = collect(staff)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    staff.user("officer_sj", "officer", "D140105-SJ")
    pages.login("officer_sj")

    r = pages.post("/office/receive", {"tracking_no": case["tracking_no"]}, as_="officer_sj")

    assert r.status_code == 422
    words = text_of(r.text)
    assert "该邮件不是寄给本机构的，不能签收。" in words
    assert "确认签收" not in words and "无犯罪记录证明申请表" not in words  # its contents stay unseen
    assert count(db, PacketEvent, PacketEvent.type == "received") == 0
    assert case_row(db, case["case_no"]).status == "in_transit"


def test_a_number_no_packet_carries_is_named_as_unknown(staff, officer, db):
    from tests.helpers import unknown_tracking_no
    r = officer.post("/office/receive", {"tracking_no": unknown_tracking_no()}, as_="officer")
    assert r.status_code == 422 and "系统中没有这个邮件号。" in r.text


# -- the officer's steps on a case -------------------------------------------------------------------

def test_accepting_a_received_case(staff, officer, db):
    case = received(staff)
    page = officer.get(f"/office/cases/{case['case_no']}", as_="officer")
    assert "受理" in page.text and "一次性告知补正" in page.text and "不予受理" in page.text
    assert "办理意见" not in page.text  # no decision form before acceptance

    r = officer.post(f"/office/cases/{case['case_no']}/accept", {"txn": txn()}, as_="officer")

    assert r.status_code == 303
    assert case_row(db, case["case_no"]).status == "accepted"
    after = officer.get(r.location, as_="officer")
    assert f"办件 {case['case_no']} 已受理" in after.text
    assert "办理意见" in after.text and f'/office/cases/{case["case_no"]}/accept' not in after.text


def test_accepting_with_a_required_material_missing_is_refused_clearly(staff, officer, db):
    case = collect(staff)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(staff, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer",
           contents=[{"code": "application_form", "status": "damaged"}, {"code": "id_card", "status": "ok"}])

    r = officer.post(f"/office/cases/{case['case_no']}/accept", {"txn": txn()}, as_="officer")

    assert r.status_code == 409
    words = text_of(r.text)
    assert "请更正以下问题" in words
    assert "签收时发现必需材料缺失或破损（无犯罪记录证明申请表），请一次性告知补正或不予受理。" in words
    assert case_row(db, case["case_no"]).status == "received"
    assert 'value="application_form" checked' in r.text  # the supplement form lists it already


def test_a_supplement_request_lists_the_materials_once(staff, officer, db, frozen):
    case = received(staff)
    frozen.set("2026-03-04T09:00:00+08:00")
    officer.login("officer")

    r = officer.post(f"/office/cases/{case['case_no']}/supplement-request",
                     {"txn": txn(), "sup_materials": ["application_form", "id_card"],
                      "sup_note": "申请表第3栏未签名；身份证复印件不清晰", "sup_due": "2026-03-20"}, as_="officer")

    assert r.status_code == 303
    saved = case_row(db, case["case_no"])
    assert saved.status == "supplement_requested"
    assert [m["code"] for m in saved.supplement_materials] == ["application_form", "id_card"]
    assert saved.supplement_due.isoformat() == "2026-03-20"
    page = officer.get(r.location, as_="officer")
    assert "2026年3月20日" in page.text and "补正材料告知书（PDF）" in page.text
    assert "发出补正通知" not in page.text  # once only: the form is gone


def test_a_supplement_request_without_materials_is_shown_again_with_the_error_by_the_field(staff, officer, db):
    case = received(staff)

    r = officer.post(f"/office/cases/{case['case_no']}/supplement-request",
                     {"txn": txn(), "sup_note": "请补交"}, as_="officer")

    assert r.status_code == 400
    assert '<a href="#sup_materials">补正材料：请列出需要补正的全部材料。</a>' in r.text
    assert '<p class="field-error">请列出需要补正的全部材料。</p>' in r.text
    assert "请补交" in r.text  # what was typed is kept
    assert case_row(db, case["case_no"]).status == "received"


def test_when_the_supplement_arrives_the_case_waits_for_acceptance_without_a_second_notice(staff, officer, db):
    case = received(staff)
    staff.post(f"/api/v1/cases/{case['case_no']}/supplement-requests", {"materials": ["id_card"]}, as_="officer")
    sent = staff.post(f"/api/v1/cases/{case['case_no']}/supplements", {"materials": ["id_card"]}, as_="clerk")
    record(staff, sent.json["tracking_no"], "dispatched", "2026-03-05T10:00:00+08:00", as_="clerk")
    record(staff, sent.json["tracking_no"], "received", "2026-03-06T09:00:00+08:00", as_="officer")

    desk = officer.get("/office", as_="officer").text
    assert case["case_no"] in section(desk, "supplement-arrived", "accepted")
    assert case["case_no"] not in section(desk, "received", "supplement-arrived")
    page = officer.get(f"/office/cases/{case['case_no']}", as_="officer").text
    assert f"/office/cases/{case['case_no']}/accept" in page and f"/office/cases/{case['case_no']}/reject" in page
    assert "发出补正通知" not in page  # a supplement is asked for once


def test_rejecting_sends_the_originals_back_with_a_label_to_print(staff, officer, db):
    case = received(staff)

    empty = officer.post(f"/office/cases/{case['case_no']}/reject", {"txn": txn(1), "rej_reason": " "},
                         as_="officer")
    assert empty.status_code == 400 and "请填写原因。" in empty.text
    assert case_row(db, case["case_no"]).status == "received"

    r = officer.post(f"/office/cases/{case['case_no']}/reject",
                     {"txn": txn(2), "rej_reason": "申请人户籍不在本辖区", "rej_apply_to": "户籍所在地公安派出所"},
                     as_="officer")

    assert r.status_code == 303
    saved = case_row(db, case["case_no"])
    assert saved.status == "rejected" and saved.reason == "申请人户籍不在本辖区"
    back = rows(db, select(Packet).where(Packet.case_id == saved.id, Packet.kind == "return"))
    assert len(back) == 1 and [m["code"] for m in back[0].contents] == ["application_form"]
    done = officer.get(r.location, as_="officer")
    words = text_of(done.text)
    assert "已决定不予受理" in words and case["case_no"] in words and back[0].tracking_no in words
    assert f"/api/v1/packets/{back[0].tracking_no}/label.pdf" in done.text


def test_a_paper_decision_makes_the_result_packet_and_its_label_prints(staff, officer, db):
    case = accepted(staff)
    page = officer.get(f"/office/cases/{case['case_no']}", as_="officer")
    assert "办理意见" in page.text and "结果为纸质文书" in page.text

    r = officer.post(f"/office/cases/{case['case_no']}/decision",
                     {"txn": txn(), "dec_outcome": "approved", "dec_note": "经审查，无犯罪记录"}, as_="officer")
    again = officer.post(f"/office/cases/{case['case_no']}/decision",  # the same form sent twice
                         {"txn": txn(), "dec_outcome": "approved", "dec_note": "经审查，无犯罪记录"}, as_="officer")

    assert r.status_code == 303 and again.status_code == 303 and again.location == r.location
    saved = case_row(db, case["case_no"])
    assert saved.status == "decided" and saved.outcome == "approved"
    result = rows(db, select(Packet).where(Packet.case_id == saved.id, Packet.kind == "result"))
    assert len(result) == 1
    done = officer.get(r.location, as_="officer")
    words = text_of(done.text)
    assert "已办结：准予" in words and result[0].tracking_no in words and "打印面单" in words
    label = officer.get(f"/api/v1/packets/{result[0].tracking_no}/label.pdf", as_="officer")
    assert label.status_code == 200 and label.data.startswith(b"%PDF")
    assert result[0].tracking_no in pdfs.code128(label.data)
    printed = pdfs.text(label.data)
    assert "办理结果" in printed and "张** 138******78" in printed  # to the applicant, by mail
    assert "太原市公安局小店分局户政科" in printed


def test_an_electronic_decision_stores_the_upload_for_the_applicant_to_download(staff, officer, db, frozen):
    case = accepted(staff, intake_body(result_delivery={"method": "electronic"}))
    form = {"txn": txn(1), "dec_outcome": "approved", "dec_note": "准予"}

    missing = officer.post(f"/office/cases/{case['case_no']}/decision", form, as_="officer")
    assert missing.status_code == 400 and "请选择要上传的办理结果文件（PDF 等）。" in missing.text
    assert case_row(db, case["case_no"]).status == "accepted"

    r = officer.post(f"/office/cases/{case['case_no']}/decision",
                     {**form, "txn": txn(2), "dec_result_file": (io.BytesIO(PDF), "无犯罪记录证明.pdf")},
                     as_="officer", content_type="multipart/form-data")

    assert r.status_code == 303
    saved = case_row(db, case["case_no"])
    assert saved.status == "decided"
    stored = rows(db, select(ResultFile).where(ResultFile.case_id == saved.id))
    env = staff.client.application.extensions["tongban"]["env"]
    assert len(stored) == 1 and stored[0].filename == "无犯罪记录证明.pdf"
    assert stored[0].data is None and stored[0].storage_key  # in the file store, sealed (tests/integration)
    assert stored[0].content_type == "application/pdf"
    done = text_of(officer.get(r.location, as_="officer").text)
    assert "电子结果已上传" in done and "无犯罪记录证明.pdf" in done and stored[0].sha256 in done
    texts = [message(db, env, n) for n in rows(db, select(Notification).where(Notification.case_id == saved.id))]
    link = next(re.search(r"(/api/v1/deliveries/[^（\s]+)", t).group(1) for t in texts if "/api/v1/deliveries/" in t)
    download = staff.client.get(link)
    assert download.status_code == 200 and download.data == KEPT_PDF


# -- who may do what ------------------------------------------------------------------------------

def test_a_form_without_its_csrf_token_changes_nothing(staff, officer, db):
    case = received(staff)

    r = officer.post(f"/office/cases/{case['case_no']}/accept", {"txn": txn(), "csrf_token": "forged"},
                     as_="officer")

    assert r.status_code == 400 and "CSRF" in r.text
    assert case_row(db, case["case_no"]).status == "received"
    scan = officer.post("/office/receive", {"tracking_no": case["tracking_no"], "csrf_token": ""}, as_="officer")
    assert scan.status_code == 400 and "CSRF" in scan.text


def test_an_officer_of_another_department_neither_opens_nor_lists_the_case(staff, pages, db):
    case = received(staff)
    staff.user("officer_sj", "officer", "D140105-SJ")
    pages.login("officer_sj")

    page = pages.get(f"/office/cases/{case['case_no']}", as_="officer_sj")
    assert page.status_code == 403 and "您无权查看该办件。" in page.text
    post = pages.post(f"/office/cases/{case['case_no']}/accept", {"txn": txn()}, as_="officer_sj")
    assert post.status_code == 403
    assert case_row(db, case["case_no"]).status == "received"
    for path in ("/office", "/office/cases?status=received", "/office/cases?status="):
        assert case["case_no"] not in pages.get(path, as_="officer_sj").text


def test_a_clerk_gets_403_on_the_office_pages(staff, pages):
    pages.login("clerk")
    for path in ("/office", "/office/receive", "/office/cases?status=received"):
        assert pages.get(path, as_="clerk").status_code == 403


def test_a_long_queue_on_the_desk_shows_its_most_urgent_cases_and_links_to_the_whole_list(
        staff, officer, frozen, monkeypatch):
    from tracking.reads import desks
    monkeypatch.setattr(desks, "DESK_ROWS", 2)  # the desk reads only as many rows as it shows
    numbers = [received(staff)["case_no"] for _ in range(3)]
    page = officer.get("/office", as_="officer").text
    shown = [n for n in numbers if n in page]
    assert len(shown) == 2
    assert "以上是最紧急的 2 件，共 3 件。" in page and 'href="/office/cases?status=received">查看全部' in page
    everything = officer.get("/office/cases?status=received", as_="officer").text
    assert all(n in everything for n in numbers)
