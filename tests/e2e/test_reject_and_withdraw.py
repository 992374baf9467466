"""不予受理 and 撤回: the case ends early and whatever materials left the window come back."""
from __future__ import annotations

from sqlmodel import select

from mailing.tables import Packet
from tests.e2e.steps import (accepted, assert_error, case_of, collect, count, decide,
                             packet_of, received, record, rows, scans, track)
from tests.helpers import intake_body, scan
from tracking.model.tables import Evaluation, Notification

PICKUP = {"method": "pickup"}
REASON = {"reason": "申请人户籍不在本辖区，应向户籍地公安机关申请"}


def test_a_rejected_case_sends_its_originals_back_to_the_window_and_may_be_evaluated(staff, frozen, db):
    api = staff
    case = received(api, intake_body(result_delivery=PICKUP))
    no = case["case_no"]
    assert_error(api.post(f"/api/v1/cases/{no}/reject", {"reason": " "}, as_="officer"), 400, "invalid_request",
                 "reason")

    r = api.post(f"/api/v1/cases/{no}/reject", REASON, as_="officer")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "rejected" and r.json["status_text"] == "不予受理"
    assert r.json["reason"] == REASON["reason"]
    back = r.json["return_packet"]
    assert back["kind"] == "return" and back["label_url"] == f"/api/v1/packets/{back['tracking_no']}/label.pdf"

    packet = packet_of(api, back["tracking_no"], as_="clerk")
    assert packet["kind"] == "return" and packet["status"] == "created" and packet["case_no"] == no
    assert packet["from_office"] == "D140105-GA" and packet["to_office"] == "H140902"
    assert [(c["code"], c["original"]) for c in packet["contents"]] == [("application_form", True)]
    assert packet_of(api, case["tracking_no"])["status"] == "received"
    notices = [n.text for n in rows(db, select(Notification).where(Notification.audience == "applicant"))]
    assert any("不予受理" in t and REASON["reason"] in t for t in notices), notices

    public = track(api, no, case["check_code"]).json
    assert public["status"] == "rejected" and "不予受理，原件将退回" in [e["text"] for e in public["events"]]
    r = api.post(f"/api/v1/track/{no}/evaluation", {"check": case["check_code"], "score": 4, "comment": "说明清楚"})
    assert r.status_code == 201, r.json
    assert r.json["status"] == "rejected" and r.json["score"] == 4
    assert count(db, Evaluation) == 1


def test_a_rejection_with_no_reason_and_an_office_that_is_not_a_text_names_both(staff, frozen):
    case = received(staff)
    r = staff.post(f"/api/v1/cases/{case['case_no']}/reject", {"apply_to_office": 14}, as_="officer")
    error = assert_error(r, 400, "invalid_request", "reason")
    assert error["message"] == "请填写原因。"
    assert [e["field"] for e in error["errors"]] == ["reason", "apply_to_office"]
    unknown = staff.post(f"/api/v1/cases/{case['case_no']}/reject", {**REASON, "apply_to_office": "D999999-GA"},
                         as_="officer")
    assert_error(unknown, 422, "unknown_office", "apply_to_office")
    assert case_of(staff, case["case_no"])["status"] == "received"


def test_a_reason_is_kept_as_written_without_its_surrounding_spaces(staff, frozen, db):
    case = collect(staff)
    r = staff.post(f"/api/v1/cases/{case['case_no']}/withdraw", {"reason": f"  {REASON['reason']}\n"}, as_="clerk")
    assert r.status_code == 200 and r.json["reason"] == REASON["reason"]


def test_originals_of_a_case_rejected_for_mail_delivery_go_back_to_the_applicants_address(staff, frozen):
    api = staff
    case = received(api)  # result by mail to 太原市小店区
    r = api.post(f"/api/v1/cases/{case['case_no']}/reject", REASON, as_="officer")
    packet = packet_of(api, r.json["return_packet"]["tracking_no"])
    assert packet["to_office"] is None  # a home address
    assert packet["route"][0]["office_code"] == "D140105-GA" and packet["route"][-1]["office_code"] == "P140100"
    assert "张晓明" not in str(packet) and "502" not in str(packet)


def test_a_case_waiting_for_supplements_may_be_rejected(staff, frozen):
    api = staff
    case = received(api)
    no = case["case_no"]
    api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"]}, as_="officer")
    r = api.post(f"/api/v1/cases/{no}/reject", {"reason": "逾期未补正"}, as_="officer")
    assert r.status_code == 200 and r.json["status"] == "rejected", r.json


def test_only_the_owning_office_rejects(staff, frozen):
    api = staff
    case = received(api)
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/reject", REASON, as_="clerk"), 403, "forbidden")
    assert case_of(api, case["case_no"])["status"] == "received"


def test_a_rejected_case_cannot_be_accepted_any_more(staff, frozen):
    api = staff
    case = received(api)
    api.post(f"/api/v1/cases/{case['case_no']}/reject", REASON, as_="officer")
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer"), 409, "invalid_transition")


def test_a_case_withdrawn_before_dispatch_cancels_its_packet_and_needs_no_return(staff, frozen, db):
    api = staff
    case = collect(api)
    no = case["case_no"]
    assert_error(api.post(f"/api/v1/cases/{no}/withdraw", {}, as_="clerk"), 400, "invalid_request", "reason")

    r = api.post(f"/api/v1/cases/{no}/withdraw", {"reason": "申请人决定暂不办理"}, as_="clerk")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "withdrawn" and r.json["status_text"] == "已撤回"
    assert r.json["return_packet"] is None
    packets = rows(db, select(Packet))
    assert [(p.kind, p.status) for p in packets] == [("outbound", "cancelled")]
    notices = rows(db, select(Notification).where(Notification.office_code == "D140105-GA"))
    assert any("已撤回" in n.text for n in notices)

    r = api.post(f"/api/v1/track/{no}/evaluation", {"check": case["check_code"], "score": 5})
    assert r.status_code == 201 and r.json["status"] == "withdrawn", r.json


def test_a_case_withdrawn_after_dispatch_gets_all_its_materials_back(staff, frozen, db):
    api = staff
    case = collect(api)
    no = case["case_no"]
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-02T11:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/withdraw", {"reason": "申请人已在户籍地办理"}, as_="clerk")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "withdrawn"
    back = r.json["return_packet"]
    assert back is not None and back["kind"] == "return"
    packet = packet_of(api, back["tracking_no"])
    assert sorted(c["code"] for c in packet["contents"]) == ["application_form", "id_card"]
    assert packet["from_office"] == "D140105-GA"
    assert packet_of(api, case["tracking_no"])["status"] == "dispatched"
    assert count(db, Packet, Packet.kind == "return") == 1

    # the outbound packet still arrives; signing for it no longer moves the case
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    assert case_of(api, no)["status"] == "withdrawn"


def test_an_accepted_case_may_still_be_withdrawn(staff, frozen):
    api = staff
    case = accepted(api)
    r = api.post(f"/api/v1/cases/{case['case_no']}/withdraw", {"reason": "不再需要"}, as_="clerk")
    assert r.status_code == 200 and r.json["status"] == "withdrawn", r.json
    assert r.json["return_packet"] is not None


def test_a_decided_case_cannot_be_withdrawn(staff, frozen):
    api = staff
    case = accepted(api)
    decide(api, case["case_no"])
    r = api.post(f"/api/v1/cases/{case['case_no']}/withdraw", {"reason": "不再需要"}, as_="clerk")
    error = assert_error(r, 409, "invalid_transition")
    assert "不能撤回" in error["message"]
    assert case_of(api, case["case_no"])["status"] == "decided"


def test_only_the_collecting_window_withdraws_a_case(staff, frozen, db):
    api = staff
    api.user("clerk_ty", "clerk", "H140100")
    case = collect(api)
    for who in ("clerk_ty", "officer"):
        r = api.post(f"/api/v1/cases/{case['case_no']}/withdraw", {"reason": "不再需要"}, as_=who)
        assert_error(r, 403, "forbidden")
    assert case_of(api, case["case_no"])["status"] == "collected"
    assert [p.status for p in rows(db, select(Packet))] == ["created"]


def test_the_packet_of_a_withdrawn_case_cannot_be_dispatched_after_it_was_cancelled(staff, frozen, db):
    api = staff
    case = collect(api)
    api.post(f"/api/v1/cases/{case['case_no']}/withdraw", {"reason": "不再需要"}, as_="clerk")
    result = scans(api, [scan(case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00")], as_="clerk")[0]
    assert result["status"] == "rejected" and result["error"]["code"] == "invalid_transition", result
    assert [p.status for p in rows(db, select(Packet))] == ["cancelled"]
