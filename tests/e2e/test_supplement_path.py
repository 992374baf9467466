"""补正: one notice listing everything, supplements sent from the window, the due date moved.

The dates run over the 2026 May Day holiday (1–5 May off, Saturday 9 May a working day),
so the official calendar, not Monday to Friday, decides every date below:

- intake Wednesday 29 April, 3 promised working days: 30 Apr (1), 6 May (2), 7 May (3) → due 7 May;
- supplement notice Thursday 30 April, default 15 working days: 6, 7, 8, 9 (Sat), 11, 12, 13, 14,
  15, 18, 19, 20, 21, 22, 25 May → supplements due 25 May;
- supplements signed for on Saturday 9 May: outstanding the working days after 30 April up to
  9 May = 6, 7, 8, 9 May = 4, so the case is due 3 + 4 = 7 working days after intake:
  30 Apr, 6, 7, 8, 9, 11, 12 May → 12 May.
"""
from __future__ import annotations

from sqlmodel import select

from mailing import s10
from tests.e2e.steps import (assert_error, case_of, collect, decide, packet_of, received,
                             record, rows, track)
from tests.helpers import intake_body
from tracking.model.tables import Notification

AGAIN = {"materials": ["id_card", "application_form"], "note": "身份证复印件不清晰，申请表缺签名"}


def _requested(api, frozen) -> dict:
    frozen.set("2026-04-29T09:00:00+08:00")
    case = received(api, day="2026-04-29", next_day="2026-04-30")
    frozen.set("2026-04-30T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/supplement-requests", AGAIN, as_="officer")
    assert r.status_code == 200, r.json
    return {**case, "answer": r.json}


def test_a_supplement_notice_sends_the_case_back_to_the_applicant_once_and_moves_the_due_date(staff, frozen, db):
    api = staff
    frozen.set("2026-04-29T09:00:00+08:00")
    case = received(api, day="2026-04-29", next_day="2026-04-30")
    no = case["case_no"]
    assert case["due_date"] == "2026-05-11"  # expected at the office on 6 May (after the 1–5 May holiday) + 3

    frozen.set("2026-04-30T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/supplement-requests", AGAIN, as_="officer")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "supplement_requested" and r.json["status_text"] == "待补正"
    assert r.json["supplement"]["due"] == "2026-05-25"
    assert [m["code"] for m in r.json["supplement"]["materials"]] == ["id_card", "application_form"]
    notices = [n.text for n in rows(db, select(Notification).where(Notification.audience == "applicant"))]
    assert any("需补正材料" in t and "居民身份证" in t and "2026年05月25日" in t for t in notices), notices
    assert track(api, no, case["check_code"]).json["status_text"] == "待补正"

    second = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"]}, as_="officer")
    assert_error(second, 409, "supplement_already_requested")

    frozen.set("2026-05-08T09:00:00+08:00")
    partial = api.post(f"/api/v1/cases/{no}/supplements", {"materials": [{"code": "id_card"}]}, as_="clerk")
    assert_error(partial, 422, "missing_material", "materials")
    r = api.post(f"/api/v1/cases/{no}/supplements",
                 {"materials": [{"code": "id_card", "copies": 1, "original": False},
                                {"code": "application_form", "copies": 1, "original": True}]}, as_="clerk")
    assert r.status_code == 201, r.json
    supplement_tn = r.json["tracking_no"]
    assert s10.is_valid_tracking_no(supplement_tn) and supplement_tn != case["tracking_no"]
    assert r.json["label_url"] == f"/api/v1/packets/{supplement_tn}/label.pdf"
    assert r.json["kind"] == "supplement" and r.json["status"] == "supplement_requested"
    packet = packet_of(api, supplement_tn)
    assert packet["kind"] == "supplement" and packet["status"] == "created"
    assert packet["from_office"] == "H140902" and packet["to_office"] == "D140105-GA"
    assert sorted(c["code"] for c in packet["contents"]) == ["application_form", "id_card"]

    record(api, supplement_tn, "dispatched", "2026-05-08T10:00:00+08:00", as_="clerk")
    view = case_of(api, no)
    assert view["status"] == "supplement_in_transit" and view["status_text"] == "补正材料寄递中"
    # an estimate from receipt (30 April), moved by the 3 working days the supplement has been outstanding
    assert view["due_date"] == "2026-05-12" and view["due_date_estimated"] is True

    frozen.set("2026-05-09T10:30:00+08:00")  # a Saturday, but a working day (劳动节调休)
    record(api, supplement_tn, "received", "2026-05-09T10:00:00+08:00", as_="officer")
    view = case_of(api, no)
    assert view["status"] == "received"
    # the acceptance is now expected on the supplement's receipt, Saturday 9 May: + 3 working days
    assert view["due_date"] == "2026-05-13" and view["due_date_provisional"] is False
    assert view["supplement"]["received_at"] == "2026-05-09T10:00:00+08:00"
    assert track(api, no, case["check_code"]).json["due_date"] == "2026-05-13"

    third = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"]}, as_="officer")
    assert_error(third, 409, "supplement_already_requested")

    assert api.post(f"/api/v1/cases/{no}/accept", as_="officer").json["status"] == "accepted"
    r = decide(api, no)
    assert r.status_code == 200 and r.json["status"] == "decided", r.json
    assert r.json["due_date"] == "2026-05-13" and r.json["due_date_estimated"] is False


def test_a_supplement_notice_must_name_materials_of_the_matter(staff, frozen):
    api = staff
    case = received(api)
    no = case["case_no"]
    assert_error(api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": []}, as_="officer"),
                 400, "invalid_request", "materials")
    assert_error(api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["hukou_book"]},
                          as_="officer"), 422, "unknown_material", "materials")
    assert case_of(api, no)["status"] == "received"


def test_a_supplement_notice_with_no_materials_and_a_date_not_a_date_names_both_at_once(staff, frozen):
    case = received(staff)
    r = staff.post(f"/api/v1/cases/{case['case_no']}/supplement-requests", {"materials": [], "due": "3月20日"},
                   as_="officer")
    error = assert_error(r, 400, "invalid_request", "materials")
    assert error["message"] == "请列出需要补正的全部材料。"
    assert [e["field"] for e in error["errors"]] == ["materials", "due"]


def test_supplements_name_each_bad_item_where_it_is(staff, frozen):
    case = _requested(staff, frozen)
    r = staff.post(f"/api/v1/cases/{case['case_no']}/supplements",
                   {"materials": ["id_card", {"code": "application_form", "copies": 0}, {"copies": 1}]}, as_="clerk")
    error = assert_error(r, 400, "invalid_request", "materials[1].copies")
    assert [e["field"] for e in error["errors"]] == ["materials[1].copies", "materials[2].code"]
    unknown = staff.post(f"/api/v1/cases/{case['case_no']}/supplements", {"materials": ["id_card", "hukou_book"]},
                         as_="clerk")
    assert_error(unknown, 422, "unknown_material", "materials[1]")


def test_only_the_owning_office_asks_for_supplements_and_only_the_window_sends_them(staff, frozen):
    api = staff
    api.user("officer_yz", "officer", "D140106-GA")
    case = received(api)
    no = case["case_no"]
    for who in ("clerk", "officer_yz", "courier"):
        assert_error(api.post(f"/api/v1/cases/{no}/supplement-requests", AGAIN, as_=who), 403, "forbidden")
    api.post(f"/api/v1/cases/{no}/supplement-requests", AGAIN, as_="officer")
    sent = api.post(f"/api/v1/cases/{no}/supplements", {"materials": ["id_card", "application_form"]},
                    as_="officer")
    assert_error(sent, 403, "forbidden")
    assert case_of(api, no)["status"] == "supplement_requested"


def test_the_window_cannot_send_the_same_supplements_twice(staff, frozen):
    api = staff
    case = _requested(api, frozen)
    body = {"materials": ["id_card", "application_form"]}
    assert api.post(f"/api/v1/cases/{case['case_no']}/supplements", body, as_="clerk").status_code == 201
    again = api.post(f"/api/v1/cases/{case['case_no']}/supplements", body, as_="clerk")
    assert_error(again, 409, "supplement_already_sent")


def test_a_supplement_notice_is_refused_before_the_materials_arrive(staff, frozen):
    api = staff
    case = collect(api, intake_body())
    r = api.post(f"/api/v1/cases/{case['case_no']}/supplement-requests", AGAIN, as_="officer")
    assert_error(r, 409, "invalid_transition")
    assert case_of(api, case["case_no"])["status"] == "collected"


def test_supplements_are_refused_when_none_were_asked_for(staff, frozen):
    api = staff
    case = received(api)
    r = api.post(f"/api/v1/cases/{case['case_no']}/supplements", {"materials": ["id_card"]}, as_="clerk")
    assert_error(r, 409, "invalid_transition")


def test_a_supplement_notice_may_set_its_own_due_date_but_not_one_already_past(staff, frozen):
    api = staff
    case = received(api)
    no = case["case_no"]
    frozen.set("2026-03-03T10:00:00+08:00")
    past = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"], "due": "2026-03-03"},
                    as_="officer")
    assert_error(past, 422, "invalid_due_date", "due")
    bad = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"], "due": "3月20日"},
                   as_="officer")
    assert_error(bad, 400, "invalid_request", "due")
    r = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"], "due": "2026-03-20"},
                 as_="officer")
    assert r.status_code == 200 and r.json["supplement"]["due"] == "2026-03-20", r.json
