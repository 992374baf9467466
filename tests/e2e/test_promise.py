"""What the applicant is promised (issue 13 §1): the decision date counted from acceptance, an estimate
until then, and the day the result should reach them — in the answers, on the receipt, the tracking page
and in the messages."""
from __future__ import annotations

import base64
from datetime import date

from sqlmodel import select

from routing.workdays import WorkCalendar
from tests import pdfs
from tests.e2e.test_pages_track import phone, text_of  # noqa: F401 (a fixture)
from tests.e2e.steps import case_of, collect, decide, packet_of, received, record, rows, track
from tests.helpers import intake_body, person, resident_id
from tracking.model.tables import Notification

CAL = WorkCalendar.official()
PROMISED = 3  # 无犯罪记录证明: three working days


def day(iso: str) -> date:
    return date.fromisoformat(iso)


def told(db, case_no: str) -> list[str]:
    return [n.text for n in rows(db, select(Notification).where(Notification.audience == "applicant"))
            if case_no in n.text]


def test_a_case_for_beijing_is_promised_after_its_papers_can_arrive_not_before(staff, frozen, db):
    # the case of the issue: collected in 忻州 for 北京市海淀区, where the papers arrive days later
    beijing = person(id_number=resident_id("11010819900307123"), division_code="110108",
                     address="北京市海淀区育才路1号")
    case = collect(staff, intake_body(applicant=beijing, result_delivery={"method": "pickup"}))
    assert case["owning_office"]["code"] == "D110108-GA"
    arrival = day(packet_of(staff, case["tracking_no"])["expected_arrival"])
    assert arrival > day("2026-03-03")  # other province: at least two working days on the way
    due = CAL.add_working_days(arrival, PROMISED)[0]
    assert case["due_date"] == due.isoformat() and case["due_date_estimated"] is True
    result = day(case["expected_result_date"])
    assert result > CAL.add_working_days(due, 1)[0]  # sent the next working day, then back to 忻州 by post

    words = f"预计{due:%Y年%m月%d日}前办结，结果预计{result:%Y年%m月%d日}送达"
    receipt = "".join(pdfs.text(staff.get(case["receipt_url"] + "?size=A4", as_="clerk").data).split())
    assert "预计办结" in receipt and words in receipt, receipt
    assert "自受理之日起3个工作日" in receipt
    assert any(words in t for t in told(db, case["case_no"])), told(db, case["case_no"])
    public = track(staff, case["case_no"], case["check_code"]).json
    assert public["promise_text"] == words and public["due_date_estimated"] is True


def test_acceptance_fixes_the_promise_counted_from_the_day_of_acceptance(staff, frozen, db, phone):
    case = received(staff)  # dispatched Monday 2 March, signed for Tuesday 3 March
    no = case["case_no"]
    assert case_of(staff, no)["due_date"] == "2026-03-06"  # not accepted yet: estimated from receipt
    frozen.set("2026-03-04T15:00:00+08:00")
    r = staff.post(f"/api/v1/cases/{no}/accept", as_="officer")
    assert r.status_code == 200, r.get_json()
    assert r.json["due_date"] == "2026-03-09" and r.json["due_date_estimated"] is False  # Wed 4 + 3 working days
    view = case_of(staff, no)
    decision = next(d for d in view["deadlines"] if d["stage"] == "decision")
    assert decision["due"] == view["due_date"] == "2026-03-09"
    result = day(view["expected_result_date"])
    assert result > day("2026-03-10")  # sent by Tuesday 10 March, then by post to 太原 and the door
    assert any(f"已受理，承诺2026年03月09日前办结，结果预计{result:%Y年%m月%d日}送达" in t for t in told(db, no))

    page = text_of(phone.look_up(no, case["check_code"]))
    assert "承诺办结日期 2026年3月9日" in page and f"结果预计送达 {result.year}年{result.month}月{result.day}日" in page
    assert "预计办结日期" not in page


def test_the_tracking_page_calls_an_estimate_an_estimate(staff, frozen, phone):
    case = collect(staff)
    page = text_of(phone.look_up(case["case_no"], case["check_code"]))
    assert "预计办结日期 2026年3月10日" in page and "办理时限自受理之日起计算" in page
    assert "结果预计送达 2026年3月12日" in page


def test_a_late_packet_moves_the_estimate_and_the_office_receiving_it_fixes_it(staff, frozen, db):
    from tests.e2e.test_network_deadlines import swept
    case = collect(staff)
    no = case["case_no"]
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    expected = day(packet_of(staff, case["tracking_no"])["expected_arrival"])
    assert case_of(staff, no)["due_date"] == CAL.add_working_days(expected, PROMISED)[0].isoformat()
    frozen.set("2026-03-10T08:00:00+08:00")  # still on its way, days after its expected arrival
    assert "承诺日期顺延 1 件" in swept(staff, "2026-03-10")
    assert case_of(staff, no)["due_date"] == "2026-03-13"  # from today, the earliest it can arrive
    record(staff, case["tracking_no"], "received", "2026-03-10T09:00:00+08:00", as_="officer")
    assert case_of(staff, no)["due_date"] == "2026-03-13"
    frozen.set("2026-03-11T09:00:00+08:00")
    assert staff.post(f"/api/v1/cases/{no}/accept", as_="officer").json["due_date"] == "2026-03-16"


def test_an_electronic_result_is_expected_on_the_decision_day(staff, frozen, db):
    from tests.e2e.steps import PDF
    case = received(staff, intake_body(result_delivery={"method": "electronic"}))
    no = case["case_no"]
    view = case_of(staff, no)
    assert view["expected_result_date"] == view["due_date"] == "2026-03-06"
    frozen.set("2026-03-03T10:00:00+08:00")
    assert staff.post(f"/api/v1/cases/{no}/accept", as_="officer").status_code == 200
    frozen.set("2026-03-04T10:00:00+08:00")
    r = decide(staff, no, result_file=base64.b64encode(PDF).decode())
    assert r.status_code == 200, r.get_json()
    assert r.json["due_date"] == "2026-03-06" and r.json["expected_result_date"] == "2026-03-04"
