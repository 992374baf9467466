"""A paper result collected at the window (窗口领取): result packet to the hall, 待领取, handover."""
from __future__ import annotations

from sqlmodel import select

from tests.e2e.steps import (accepted, assert_error, case_of, collect, count, decide, packet_of, received,
                             record, rows, track)
from tests.helpers import intake_body
from tracking.model.tables import CaseEvent, Notification

PICKUP = {"method": "pickup"}
PASSED = {"identity_check": {"method": "id_card_reader", "passed": True}}


def test_a_result_for_pick_up_goes_to_the_collecting_hall_and_is_handed_over_after_an_identity_check(
        staff, frozen, db):
    api = staff
    case = accepted(api, intake_body(result_delivery=PICKUP))
    no = case["case_no"]

    frozen.set("2026-03-03T10:00:00+08:00")
    r = decide(api, no)
    assert r.status_code == 200, r.json
    assert r.json["status"] == "decided" and r.json["status_text"] == "已办结"
    result_tn = r.json["result_packet"]["tracking_no"]
    assert r.json["result_packet"]["label_url"] == f"/api/v1/packets/{result_tn}/label.pdf"
    assert "delivery_url" not in r.json

    packet = packet_of(api, result_tn, as_="clerk")
    assert packet["kind"] == "result" and packet["status"] == "created" and packet["case_no"] == no
    assert packet["from_office"] == "D140105-GA" and packet["to_office"] == "H140902"
    assert packet["route"][0]["office_code"] == "D140105-GA" and packet["route"][-1]["office_code"] == "H140902"

    record(api, result_tn, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    assert case_of(api, no)["status"] == "result_in_transit"
    for at, type_, hub in [("2026-03-03T13:00:00", "arrived_hub", "P140100"),
                           ("2026-03-03T14:00:00", "departed_hub", "P140100"),
                           ("2026-03-03T17:00:00", "arrived_hub", "P140900"),
                           ("2026-03-03T18:00:00", "departed_hub", "P140900")]:
        record(api, result_tn, type_, at + "+08:00", hub, as_="courier")
    frozen.set("2026-03-04T09:30:00+08:00")
    result = record(api, result_tn, "received", "2026-03-04T09:00:00+08:00", as_="clerk")
    assert result["packet_status"] == "received"

    view = case_of(api, no, as_="clerk")
    assert view["status"] == "ready_for_pickup" and view["status_text"] == "待领取"
    public = track(api, no, case["check_code"]).json
    assert public["status"] == "ready_for_pickup"
    assert "办理结果已到达收件窗口，请携带身份证件领取" in [e["text"] for e in public["events"]]
    notices = [n.text for n in rows(db, select(Notification).where(Notification.audience == "applicant"))]
    assert any("已到达收件窗口" in t and no in t for t in notices), notices

    frozen.set("2026-03-04T15:00:00+08:00")
    failed = api.post(f"/api/v1/cases/{no}/handover-to-applicant",
                      {"identity_check": {"method": "face", "passed": False}}, as_="clerk")
    assert_error(failed, 422, "identity_check_failed", "identity_check")
    assert case_of(api, no)["status"] == "ready_for_pickup"

    r = api.post(f"/api/v1/cases/{no}/handover-to-applicant", PASSED, as_="clerk")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "delivered" and r.json["status_text"] == "已送达"
    view = case_of(api, no)
    assert view["delivered_at"] == "2026-03-04T15:00:00+08:00"
    last = view["events"][-1]
    assert last["type"] == "delivered" and last["actor"] == "clerk"
    # who took it: by default the applicant in person, the ID masked
    assert last["data"] == {"how": "pickup", "identity_check": "id_card_reader",
                            "collector": {"relation": "self", "name": "张晓明", "id_number": "140105********1234",
                                          "identity_check": {"method": "id_card_reader", "passed": True}}}


def test_handing_over_a_result_that_has_not_reached_the_window_is_refused(staff, frozen):
    api = staff
    case = accepted(api, intake_body(result_delivery=PICKUP))
    no = case["case_no"]
    refused = api.post(f"/api/v1/cases/{no}/handover-to-applicant", PASSED, as_="clerk")
    assert_error(refused, 409, "invalid_transition")

    result_tn = decide(api, no).json["result_packet"]["tracking_no"]
    record(api, result_tn, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    refused = api.post(f"/api/v1/cases/{no}/handover-to-applicant", PASSED, as_="clerk")
    assert_error(refused, 409, "invalid_transition")
    assert case_of(api, no)["status"] == "result_in_transit"


def test_only_the_collecting_window_hands_a_result_over(staff, frozen, db):
    api = staff
    api.user("clerk_ty", "clerk", "H140100")
    case = accepted(api, intake_body(result_delivery=PICKUP))
    no = case["case_no"]
    result_tn = decide(api, no).json["result_packet"]["tracking_no"]
    record(api, result_tn, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    record(api, result_tn, "received", "2026-03-04T09:00:00+08:00", as_="clerk")

    assert_error(api.post(f"/api/v1/cases/{no}/handover-to-applicant", PASSED, as_="officer"), 403, "forbidden")
    assert_error(api.post(f"/api/v1/cases/{no}/handover-to-applicant", PASSED, as_="clerk_ty"), 403, "forbidden")
    assert case_of(api, no)["status"] == "ready_for_pickup"
    assert count(db, CaseEvent, CaseEvent.type == "delivered") == 0


def test_a_result_for_pick_up_cannot_be_signed_for_by_the_owning_office(staff, frozen):
    api = staff
    case = accepted(api, intake_body(result_delivery=PICKUP))
    result_tn = decide(api, case["case_no"]).json["result_packet"]["tracking_no"]
    record(api, result_tn, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    r = api.post("/api/v1/scans", {"scans": [{"event_id": "wrong-window-1", "tracking_no": result_tn,
                                              "type": "received", "at": "2026-03-04T09:00:00+08:00"}]},
                 as_="officer")
    assert r.json["results"][0]["status"] == "rejected"
    assert r.json["results"][0]["error"]["code"] == "wrong_office"
    assert case_of(api, case["case_no"])["status"] == "result_in_transit"


def test_a_case_collected_for_pick_up_answers_with_its_outbound_packet(staff, frozen):
    case = collect(staff, intake_body(result_delivery=PICKUP))
    assert case["status"] == "collected" and case["status_text"] == "已收件"
    assert case["collecting_office"] == {"code": "H140902", "name": "忻州市忻府区政务服务中心"}
    assert case["receipt_url"] == f"/api/v1/cases/{case['case_no']}/receipt.pdf"
    assert case["label_url"] == f"/api/v1/packets/{case['tracking_no']}/label.pdf"


def test_a_decision_needs_an_accepted_case_and_the_owning_office(staff, frozen, db):
    from mailing.tables import Packet
    api = staff
    api.user("officer_yz", "officer", "D140106-GA")
    case = received(api, intake_body(result_delivery=PICKUP))
    no = case["case_no"]
    assert_error(decide(api, no), 409, "invalid_transition")
    assert_error(api.post(f"/api/v1/cases/{no}/accept", as_="officer_yz"), 403, "forbidden")
    assert_error(api.post(f"/api/v1/cases/{no}/accept", as_="clerk"), 403, "forbidden")
    api.post(f"/api/v1/cases/{no}/accept", as_="officer")
    assert_error(api.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved"}, as_="officer_yz"),
                 403, "forbidden")
    assert_error(api.post(f"/api/v1/cases/{no}/decision", {"outcome": "maybe"}, as_="officer"),
                 400, "invalid_request", "outcome")
    assert case_of(api, no)["status"] == "accepted"
    assert count(db, Packet, Packet.kind == "result") == 0
