"""When reality differs from the plan: misroutes, contents short on receipt, lost packets and their
replacements, results that cannot be delivered home, and originals going back after a rejection.

Routes and dates (service standards ½ day same city, 1 day same province; cumulative days rounded up to
whole working days from the start day):
- 忻府区 window to 小店区 police: H140902 → P140900 (½) → P140000 (1) → P140100 (½) → D140105-GA (½);
- from Datong after a misroute: P140200 → P140000 (1) → P140100 (½) → D140105-GA (½);
- 小店区 police to an address in 小店区: D140105-GA → P140100 (½), then the last mile (½);
- back to the 忻府区 window from Taiyuan's hub: P140100 → P140000 (½) → P140900 (1) → H140902 (½).
"""
from __future__ import annotations

import pytest
from sqlmodel import select

from mailing.states import NEXT_STEPS
from mailing.tables import Packet, PacketEvent
from tests import pdfs
from tests.e2e.steps import assert_error, case_of, collect, packet_of, record, rows, scans
from tests.helpers import intake_body, scan
from tracking.model.tables import Notification

PICKUP = {"method": "pickup"}
ROUTE = ["H140902", "P140900", "P140000", "P140100", "D140105-GA"]


def plan(packet: dict) -> list[tuple[str, str]]:
    return [(stop["office_code"], stop["expected"]) for stop in packet["route"]]


def packet_events(db, tracking_no: str) -> list[PacketEvent]:
    packet = rows(db, select(Packet).where(Packet.tracking_no == tracking_no))[0]
    return rows(db, select(PacketEvent).where(PacketEvent.packet_id == packet.id).order_by(PacketEvent.id))


def case_events(api, case_no: str, *types: str) -> list[dict]:
    return [e for e in case_of(api, case_no)["events"] if e["type"] in types]


def notices(db, audience: str = "applicant", office: str | None = None) -> list[str]:
    query = select(Notification).where(Notification.audience == audience)
    if office:
        query = query.where(Notification.office_code == office)
    return [n.text for n in rows(db, query.order_by(Notification.id))]


def refused_with(scan_result: dict, code: str) -> None:
    assert scan_result["status"] == "rejected" and scan_result["error"]["code"] == code, scan_result


# -- misroutes ---------------------------------------------------------------------------------

def test_a_scan_at_a_hub_off_the_route_is_recorded_as_a_misroute_and_the_route_is_planned_again_from_there(
        staff, frozen, db):
    api = staff
    frozen.set("2026-03-05T09:00:00+08:00")  # Thursday
    case = collect(api)
    tn = case["tracking_no"]
    record(api, tn, "dispatched", "2026-03-05T10:00:00+08:00", as_="clerk")
    assert plan(packet_of(api, tn)) == list(zip(ROUTE, ["2026-03-05", "2026-03-06", "2026-03-09", "2026-03-09",
                                                        "2026-03-10"]))
    record(api, tn, "arrived_hub", "2026-03-05T15:00:00+08:00", "P140900", as_="courier")
    record(api, tn, "departed_hub", "2026-03-05T17:00:00+08:00", "P140900", as_="courier")

    frozen.set("2026-03-09T08:30:00+08:00")  # Monday: the bag went north to Datong over the weekend
    wrong = scan(tn, "arrived_hub", "2026-03-09T08:00:00+08:00", "P140200")
    result = scans(api, [wrong], as_="courier")[0]
    assert result["status"] == "recorded" and result["packet_status"] == "arrived_hub", result

    events = packet_events(db, tn)
    assert [(e.event_id, e.type, e.status_after, e.actor, e.role, e.office_code, e.reason) for e in events[-2:]] == [
        (wrong["event_id"], "arrived_hub", "arrived_hub", "courier", "courier", "P140200", None),
        (wrong["event_id"] + ":misrouted", "exception", "arrived_hub", "system", "system", "P140200", "misrouted")]
    assert events[-1].at == events[-2].at

    packet = packet_of(api, tn)
    # the stops passed stay as planned; from Datong (Monday 9 March) 1, 1½, 2 working days on
    assert plan(packet) == [("H140902", "2026-03-05"), ("P140900", "2026-03-06"), ("P140200", "2026-03-09"),
                            ("P140000", "2026-03-10"), ("P140100", "2026-03-11"), ("D140105-GA", "2026-03-11")]
    assert packet["expected_arrival"] == "2026-03-11" and packet["late"] is False
    assert [stop["reached_at"] for stop in packet["route"]] == [
        "2026-03-05T10:00:00+08:00", "2026-03-05T15:00:00+08:00", "2026-03-09T08:00:00+08:00", None, None, None]
    last = packet["events"][-1]
    assert last["reason_text"] == "错发" and last["next_step"] == NEXT_STEPS["misrouted"]

    misrouted = case_events(api, case["case_no"], "packet_misrouted")
    assert len(misrouted) == 1 and misrouted[0]["actor"] == "system"
    assert misrouted[0]["data"]["tracking_no"] == tn and misrouted[0]["data"]["reason"] == "misrouted"
    assert any(tn in t and "错发" in t for t in notices(db, "office", "H140902"))
    listed = api.get("/api/v1/exceptions?reason=misrouted", as_="supervisor").json["exceptions"]
    assert [(e["tracking_no"], e["event_id"]) for e in listed] == [(tn, wrong["event_id"] + ":misrouted")]
    assert listed[0]["at"] == "2026-03-09T08:00:00+08:00" and listed[0]["actor"] == "system"
    for query, found in (("since=2026-03-09&until=2026-03-09", 1), ("until=2026-03-08", 0), ("since=2026-03-10", 0)):
        r = api.get(f"/api/v1/exceptions?reason=misrouted&{query}", as_="supervisor")
        assert len(r.json["exceptions"]) == found, (query, r.json)
    assert_error(api.get("/api/v1/exceptions?since=9.3.2026", as_="supervisor"), 400, "invalid_request", "since")

    # on the new route nothing is misrouted any more, and it arrives on the new date
    record(api, tn, "departed_hub", "2026-03-09T10:00:00+08:00", "P140200", as_="courier")
    record(api, tn, "arrived_hub", "2026-03-10T09:00:00+08:00", "P140000", as_="courier")
    frozen.set("2026-03-11T09:30:00+08:00")
    record(api, tn, "received", "2026-03-11T09:00:00+08:00", as_="officer")
    packet = packet_of(api, tn)
    assert [e["reason"] for e in packet["events"] if e["type"] == "exception"] == ["misrouted"]
    assert packet["expected_arrival"] == "2026-03-11" and packet["late"] is False
    assert case_of(api, case["case_no"])["status"] == "received"


def test_a_misroute_the_courier_reports_himself_plans_the_route_again_without_a_second_exception(
        staff, frozen, db):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    record(api, tn, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    reported = record(api, tn, "exception", "2026-03-03T09:00:00+08:00", "P140200", as_="courier",
                      reason="misrouted", note="误发大同")
    assert reported["packet_status"] == "dispatched"
    assert [(e.type, e.reason, e.actor) for e in packet_events(db, tn)] == [
        ("dispatched", None, "clerk"), ("exception", "misrouted", "courier")]
    packet = packet_of(api, tn)
    # only the window was passed; from Datong on Tuesday 3 March
    assert plan(packet) == [("H140902", "2026-03-02"), ("P140200", "2026-03-03"), ("P140000", "2026-03-04"),
                            ("P140100", "2026-03-05"), ("D140105-GA", "2026-03-05")]
    assert packet["expected_arrival"] == "2026-03-05"
    assert len(case_events(api, case["case_no"], "packet_misrouted")) == 1


def test_a_sheet_scanned_in_at_the_wrong_hub_misroutes_and_replans_every_packet_on_it(staff, frozen, db):
    api = staff
    cases = [collect(api), collect(api)]
    numbers = [c["tracking_no"] for c in cases]
    r = api.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": numbers}, as_="clerk")
    manifest_no = r.json["manifest_no"]
    sheet = {"manifest_no": manifest_no, "at": "2026-03-02T10:00:00+08:00", "office_code": None}
    assert scans(api, [{**sheet, "event_id": "sheet-out-1", "type": "dispatched"}], as_="clerk")[0]["status"] == \
        "recorded"
    frozen.set("2026-03-03T09:30:00+08:00")
    result = scans(api, [{**sheet, "event_id": "sheet-in-1", "type": "arrived_hub", "at": "2026-03-03T09:00:00+08:00",
                          "office_code": "P140200"}], as_="courier")[0]
    assert [(x["status"], x["packet_status"]) for x in result["packets"]] == [("recorded", "arrived_hub")] * 2
    for tn in numbers:
        assert [(e.event_id, e.type, e.reason, e.actor) for e in packet_events(db, tn)] == [
            (f"sheet-out-1:{tn}", "dispatched", None, "clerk"),
            (f"sheet-in-1:{tn}", "arrived_hub", None, "courier"),
            (f"sheet-in-1:{tn}:misrouted", "exception", "misrouted", "system")]
        assert plan(packet_of(api, tn)) == [("H140902", "2026-03-02"), ("P140200", "2026-03-03"),
                                            ("P140000", "2026-03-04"), ("P140100", "2026-03-05"),
                                            ("D140105-GA", "2026-03-05")]
    for case in cases:
        assert len(case_events(api, case["case_no"], "packet_misrouted")) == 1


def test_a_courier_cannot_hand_a_packet_in_at_an_office_it_is_not_addressed_to_nor_dispatch_it_elsewhere(
        staff, frozen, db):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    elsewhere = scans(api, [scan(tn, "dispatched", "2026-03-02T10:00:00+08:00", "H140100")], as_="courier")[0]
    refused_with(elsewhere, "wrong_office")
    record(api, tn, "dispatched", "2026-03-02T10:00:00+08:00", "H140902", as_="courier")
    frozen.set("2026-03-05T12:00:00+08:00")
    wrong_door = scans(api, [scan(tn, "delivered", "2026-03-05T11:00:00+08:00", "D140106-GA")], as_="courier")[0]
    refused_with(wrong_door, "wrong_office")
    assert [e.type for e in packet_events(db, tn)] == ["dispatched"]
    assert packet_of(api, tn)["route"][-1]["office_code"] == "D140105-GA"  # a refused scan re-plans nothing


# -- contents checked on receipt ---------------------------------------------------------------

def test_materials_missing_or_damaged_on_receipt_are_recorded_item_by_item_and_stop_the_acceptance_until_a_supplement(
        staff, frozen, db):
    api = staff
    case = collect(api)
    no, tn = case["case_no"], case["tracking_no"]
    record(api, tn, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    stray = scans(api, [scan(tn, "received", "2026-03-03T09:00:00+08:00",
                             contents=[{"code": "hukou_book", "status": "ok"}])], as_="officer")[0]
    refused_with(stray, "unknown_material")
    assert stray["error"]["field"] == "contents"
    assert [e.type for e in packet_events(db, tn)] == ["dispatched"]

    checked = [{"code": "application_form", "status": "missing"}, {"code": "id_card", "status": "damaged"}]
    signed = scan(tn, "received", "2026-03-03T09:00:00+08:00", contents=checked)
    assert scans(api, [signed], as_="officer")[0]["status"] == "recorded"

    problems = [{"code": "application_form", "name": "无犯罪记录证明申请表", "status": "missing", "tracking_no": tn},
                {"code": "id_card", "name": "居民身份证", "status": "damaged", "tracking_no": tn}]
    view = case_of(api, no)
    assert view["status"] == "received" and view["contents_problems"] == problems
    after = [e for e in view["events"] if e["at"] == "2026-03-03T09:00:00+08:00"]
    assert [(e["type"], e["actor"]) for e in after] == [
        ("contents_checked", "officer"), ("material_missing", "officer"), ("material_damaged", "officer"),
        ("packet_damaged", "system"), ("received", "officer")]
    assert after[0]["data"] == {"tracking_no": tn, "packet_kind": "outbound", "contents": checked,
                                "problems": problems, "unchecked": []}
    assert after[1]["data"] == {"tracking_no": tn, "packet_kind": "outbound", "code": "application_form",
                                "name": "无犯罪记录证明申请表"}
    assert after[2]["data"] == {"tracking_no": tn, "packet_kind": "outbound", "code": "id_card", "name": "居民身份证"}
    exception = packet_events(db, tn)[-1]
    assert (exception.event_id, exception.type, exception.reason, exception.actor) == (
        signed["event_id"] + ":damaged", "exception", "damaged", "system")
    assert exception.note == "签收核对：无犯罪记录证明申请表（缺失）、居民身份证（破损）"
    assert any(tn in t and "无犯罪记录证明申请表（缺失）" in t for t in notices(db, "office", "D140105-GA"))
    assert any(tn in t and "居民身份证（破损）" in t for t in notices(db, "office", "H140902"))

    error = assert_error(api.post(f"/api/v1/cases/{no}/accept", as_="officer"), 409, "contents_incomplete")
    assert error["materials"] == ["application_form", "id_card"]
    assert case_of(api, no)["status"] == "received"

    frozen.set("2026-03-04T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["application_form", "id_card"],
                                                             "note": "申请表缺失，身份证复印件破损"}, as_="officer")
    assert r.status_code == 200, r.get_json()
    frozen.set("2026-03-05T09:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/supplements", {"materials": [
        {"code": "application_form", "copies": 1, "original": True},
        {"code": "id_card", "copies": 1, "original": False}]}, as_="clerk")
    assert r.status_code == 201, r.get_json()
    supplement = r.json["tracking_no"]
    record(api, supplement, "dispatched", "2026-03-05T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-06T09:30:00+08:00")
    record(api, supplement, "received", "2026-03-06T09:00:00+08:00", as_="officer",
           contents=[{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "ok"}])
    view = case_of(api, no)
    assert view["status"] == "received" and view["contents_problems"] == []
    last_check = case_events(api, no, "contents_checked")[-1]
    assert last_check["data"]["tracking_no"] == supplement and last_check["data"]["problems"] == []
    assert [e.type for e in packet_events(db, supplement)] == ["dispatched", "received"]

    r = api.post(f"/api/v1/cases/{no}/accept", as_="officer")
    assert r.status_code == 200 and r.json["status"] == "accepted", r.get_json()


def test_a_damaged_optional_material_does_not_stop_the_acceptance(staff, frozen, db):
    api = staff
    body = intake_body(materials=[{"code": "application_form", "copies": 1, "original": True},
                                  {"code": "id_card", "copies": 1, "original": False},
                                  {"code": "power_of_attorney", "copies": 1, "original": True}])
    case = collect(api, body)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer",
           contents=[{"code": "power_of_attorney", "status": "damaged"}])
    view = case_of(api, case["case_no"])
    assert [(p["code"], p["status"]) for p in view["contents_problems"]] == [("power_of_attorney", "damaged")]
    checked = case_events(api, case["case_no"], "contents_checked")
    assert checked[0]["data"]["unchecked"] == ["application_form", "id_card"]
    r = api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer")
    assert r.status_code == 200 and r.json["status"] == "accepted", r.get_json()


# -- a lost packet and its replacement ---------------------------------------------------------

def test_a_lost_outbound_packet_flags_the_case_and_the_window_sends_copies_in_a_linked_replacement(
        staff, frozen, db):
    api = staff
    case = collect(api)
    other = collect(api)
    no, lost = case["case_no"], case["tracking_no"]
    record(api, lost, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, lost, "arrived_hub", "2026-03-02T13:00:00+08:00", "P140900", as_="courier")
    frozen.set("2026-03-02T18:30:00+08:00")
    assert record(api, lost, "exception", "2026-03-02T18:00:00+08:00", "P140900", as_="courier",
                  reason="lost")["packet_status"] == "lost"
    view = case_of(api, no, as_="clerk")
    assert view["flags"] == [{"code": "packet_lost", "tracking_no": lost, "at": "2026-03-02T18:00:00+08:00"}]
    assert view["status"] == "in_transit"
    assert packet_of(api, lost)["events"][-1]["next_step"] == NEXT_STEPS["lost"]

    assert_error(api.post(f"/api/v1/packets/{lost}/replacement", {}, as_="officer"), 403, "forbidden")
    assert_error(api.post(f"/api/v1/packets/{lost}/replacement", {}, as_="courier"), 403, "forbidden")
    assert_error(api.post(f"/api/v1/packets/{other['tracking_no']}/replacement", {}, as_="clerk"), 409, "not_lost")

    frozen.set("2026-03-03T09:00:00+08:00")  # Tuesday
    r = api.post(f"/api/v1/packets/{lost}/replacement", {}, as_="clerk")
    assert r.status_code == 201, r.get_json()
    answer = r.json
    new = answer["tracking_no"]
    assert new != lost and answer["kind"] == "replacement" and answer["replaces"] == lost
    assert answer["label_url"] == f"/api/v1/packets/{new}/label.pdf"
    assert [(s["office_code"], s["expected"]) for s in answer["route"]] == list(zip(
        ROUTE, ["2026-03-03", "2026-03-04", "2026-03-05", "2026-03-05", "2026-03-06"]))
    assert answer["expected_arrival"] == "2026-03-06"

    original = packet_of(api, lost)
    packet = packet_of(api, new, as_="clerk")
    assert packet["kind"] == "replacement" and packet["status"] == "created" and packet["replaces"] == lost
    assert packet["from_office"] == "H140902" and packet["to_office"] == "D140105-GA" and packet["case_no"] == no
    assert packet["contents"] == [{**m, "original": False} for m in original["contents"]]
    assert [m["code"] for m in packet["contents"]] == ["application_form", "id_card"]
    stored = rows(db, select(Packet).where(Packet.tracking_no == new))[0]
    assert stored.replaces_id == rows(db, select(Packet).where(Packet.tracking_no == lost))[0].id
    view = case_of(api, no, as_="clerk")
    assert view["flags"] == []
    made = [e for e in view["events"] if e["type"] == "replacement_created"]
    assert len(made) == 1 and made[0]["data"] == {"tracking_no": new, "replaces": lost}
    assert any(lost in t and new in t for t in notices(db, "office", "D140105-GA"))

    label = api.get(packet["label_url"], as_="clerk")
    assert label.status_code == 200 and label.mimetype == "application/pdf"
    assert pdfs.code128(label.data) == [new]
    assert_error(api.post(f"/api/v1/packets/{lost}/replacement", {}, as_="clerk"), 409, "already_replaced")

    record(api, new, "dispatched", "2026-03-03T10:00:00+08:00", as_="clerk")
    view = case_of(api, no)
    assert view["status"] == "in_transit"
    assert [(d["due"], d["done_at"]) for d in view["deadlines"] if d["stage"] == "receipt"] == [("2026-03-06", None)]
    frozen.set("2026-03-05T09:30:00+08:00")
    record(api, new, "received", "2026-03-05T09:00:00+08:00", as_="officer")
    view = case_of(api, no)
    assert view["status"] == "received" and view["received_at"] == "2026-03-05T09:00:00+08:00"
    assert view["events"][-1]["type"] == "received" and view["events"][-1]["data"]["tracking_no"] == new
    assert packet_of(api, lost)["status"] == "lost"


def test_a_replacement_may_be_asked_for_without_a_body_or_with_the_materials_the_window_still_has(staff, frozen):
    api = staff
    first, second = collect(api), collect(api)
    for case in (first, second):
        record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
        record(api, case["tracking_no"], "exception", "2026-03-02T18:00:00+08:00", "P140900", as_="courier",
               reason="lost")
    frozen.set("2026-03-03T09:00:00+08:00")
    chosen = api.post(f"/api/v1/packets/{second['tracking_no']}/replacement",
                      {"materials": [{"code": "id_card", "copies": 2}]}, as_="clerk")
    assert chosen.status_code == 201, chosen.get_json()
    assert packet_of(api, chosen.json["tracking_no"])["contents"] == [
        {"code": "id_card", "name": "居民身份证", "copies": 2, "original": False}]
    assert_error(api.post(f"/api/v1/packets/{first['tracking_no']}/replacement",
                          {"materials": ["hukou_book"]}, as_="clerk"), 422, "unknown_material", "materials[0]")

    # the body is optional: a bare POST asks for copies of everything the lost packet held
    bare = api.client.post(f"/api/v1/packets/{first['tracking_no']}/replacement",
                           headers={"Authorization": f"Bearer {api.tokens['clerk']}"})
    assert bare.status_code == 201, bare.get_json()
    assert bare.json["kind"] == "replacement" and bare.json["replaces"] == first["tracking_no"]
    assert [(m["code"], m["original"]) for m in packet_of(api, bare.json["tracking_no"])["contents"]] == [
        ("application_form", False), ("id_card", False)]


# -- results that cannot be delivered home ----------------------------------------------------

def _result_out_for_delivery(api, frozen, body: dict | None = None) -> tuple[dict, str]:
    """A paper result mailed home from 小店区 police: decided on Tuesday 3 March, out for delivery on the 4th."""
    case = collect(api, body)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    assert api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer").status_code == 200
    frozen.set("2026-03-03T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "approved", "note": "准予"},
                 as_="officer")
    assert r.status_code == 200, r.get_json()
    result = r.json["result_packet"]["tracking_no"]
    packet = packet_of(api, result)
    assert packet["to_office"] is None
    assert plan(packet) == [("D140105-GA", "2026-03-03"), ("P140100", "2026-03-04")]
    assert packet["expected_arrival"] == "2026-03-04"  # ½ day to the hub, ½ day to the door
    record(api, result, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    record(api, result, "arrived_hub", "2026-03-03T15:00:00+08:00", "P140100", as_="courier")
    record(api, result, "out_for_delivery", "2026-03-04T08:00:00+08:00", "P140100", as_="courier")
    assert case_of(api, case["case_no"])["status"] == "result_in_transit"
    return case, result


def test_a_mailed_result_the_applicant_refuses_goes_back_to_the_collecting_window_for_pick_up(staff, frozen, db):
    api = staff
    case, result = _result_out_for_delivery(api, frozen)
    no = case["case_no"]
    frozen.set("2026-03-04T10:30:00+08:00")
    refused = record(api, result, "exception", "2026-03-04T10:00:00+08:00", as_="courier", reason="refused",
                     note="收件人拒收")
    assert refused["packet_status"] == "out_for_delivery"

    packet = packet_of(api, result, as_="clerk")
    assert packet["to_office"] == "H140902" and packet["failed_attempts"] == 1
    assert plan(packet) == [("D140105-GA", "2026-03-03"), ("P140100", "2026-03-04"), ("P140000", "2026-03-05"),
                            ("P140900", "2026-03-06"), ("H140902", "2026-03-06")]
    assert packet["expected_arrival"] == "2026-03-06"
    assert packet["events"][-1]["next_step"] == NEXT_STEPS["refused"]
    stored = rows(db, select(Packet).where(Packet.tracking_no == result))[0]
    assert stored.to_division == "140902"

    returned = case_events(api, no, "result_returned_to_window")
    assert len(returned) == 1 and returned[0]["actor"] == "system"
    assert returned[0]["data"] == {"tracking_no": result, "reason": "refused", "attempts": 1, "to_office": "H140902"}
    assert case_of(api, no)["status"] == "result_in_transit"
    told = notices(db)
    assert any(no in t and "拒收" in t and "忻州市忻府区政务服务中心" in t for t in told), told
    assert any(result in t and "拒收" in t for t in notices(db, "office", "H140902"))

    # the courier takes it back north; the hub scans it in again after the failed delivery
    record(api, result, "arrived_hub", "2026-03-04T16:00:00+08:00", "P140100", as_="courier")
    record(api, result, "departed_hub", "2026-03-04T18:00:00+08:00", "P140100", as_="courier")
    record(api, result, "arrived_hub", "2026-03-05T12:00:00+08:00", "P140900", as_="courier")
    record(api, result, "departed_hub", "2026-03-05T14:00:00+08:00", "P140900", as_="courier")
    assert_error(api.post(f"/api/v1/cases/{no}/handover-to-applicant",
                          {"identity_check": {"method": "id_card_reader", "passed": True}}, as_="clerk"),
                 409, "invalid_transition")
    frozen.set("2026-03-06T09:30:00+08:00")
    assert record(api, result, "received", "2026-03-06T09:00:00+08:00", as_="clerk")["packet_status"] == "received"

    view = case_of(api, no, as_="clerk")
    assert view["status"] == "ready_for_pickup"
    packet = packet_of(api, result, as_="clerk")
    assert packet["late"] is False and packet["arrived_at"] == "2026-03-06T09:00:00+08:00"
    assert [e["reason"] for e in packet["events"] if e["type"] == "exception"] == ["refused"]  # no misroute
    assert any(no in t and "已到达收件窗口" in t for t in notices(db)), notices(db)
    r = api.post(f"/api/v1/cases/{no}/handover-to-applicant",
                 {"identity_check": {"method": "id_card_reader", "passed": True}}, as_="clerk")
    assert r.status_code == 200 and r.json["status"] == "delivered", r.get_json()


def test_an_unknown_address_twice_keeps_a_result_going_home_and_the_third_time_sends_it_to_the_window(
        staff, frozen, db):
    api = staff
    case, result = _result_out_for_delivery(api, frozen)
    no = case["case_no"]
    attempts = [("2026-03-04", None), ("2026-03-05", None), ("2026-03-06", "P140100")]  # 4, 5, 6 March
    for n, (day, office) in enumerate(attempts, 1):
        if n > 1:
            record(api, result, "out_for_delivery", f"{day}T08:00:00+08:00", "P140100", as_="courier")
        frozen.set(f"{day}T11:30:00+08:00")
        record(api, result, "exception", f"{day}T11:00:00+08:00", office, as_="courier", reason="address_unknown")
        packet = packet_of(api, result)
        assert packet["failed_attempts"] == n
        if n < 3:
            assert packet["to_office"] is None and packet["status"] == "out_for_delivery"
            assert plan(packet) == [("D140105-GA", "2026-03-03"), ("P140100", "2026-03-04")]
            assert case_events(api, no, "result_returned_to_window") == []
    # from Taiyuan's hub on Friday 6 March: Monday 9, Tuesday 10, Tuesday 10
    assert packet["to_office"] == "H140902"
    assert plan(packet) == [("D140105-GA", "2026-03-03"), ("P140100", "2026-03-06"), ("P140000", "2026-03-09"),
                            ("P140900", "2026-03-10"), ("H140902", "2026-03-10")]
    assert packet["expected_arrival"] == "2026-03-10"
    returned = case_events(api, no, "result_returned_to_window")
    assert len(returned) == 1 and returned[0]["data"] == {
        "tracking_no": result, "reason": "address_unknown", "attempts": 3, "to_office": "H140902"}
    assert any(no in t and "地址不详" in t for t in notices(db)), notices(db)

    record(api, result, "arrived_hub", "2026-03-06T16:00:00+08:00", "P140100", as_="courier")
    frozen.set("2026-03-10T09:30:00+08:00")
    record(api, result, "received", "2026-03-10T09:00:00+08:00", as_="clerk")
    assert case_of(api, no)["status"] == "ready_for_pickup"


# -- originals going back after a rejection --------------------------------------------------------

def _rejected(api, frozen, body: dict) -> tuple[dict, dict]:
    case = collect(api, body)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    frozen.set("2026-03-03T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/reject", {"reason": "不属于本机关管辖"}, as_="officer")
    assert r.status_code == 200 and r.json["status"] == "rejected", r.get_json()
    return case, packet_of(api, r.json["return_packet"]["tracking_no"])


def test_originals_go_back_to_the_applicants_address_when_the_result_was_to_be_mailed(staff, frozen, db):
    api = staff
    case, back = _rejected(api, frozen, intake_body())
    assert back["kind"] == "return" and back["from_office"] == "D140105-GA" and back["to_office"] is None
    assert plan(back) == [("D140105-GA", "2026-03-03"), ("P140100", "2026-03-04")]
    assert back["expected_arrival"] == "2026-03-04"
    assert [(m["code"], m["original"]) for m in back["contents"]] == [("application_form", True)]
    stored = rows(db, select(Packet).where(Packet.tracking_no == back["tracking_no"]))[0]
    assert stored.to_division == "140105" and stored.to_person_sealed

    tn = back["tracking_no"]
    record(api, tn, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    record(api, tn, "out_for_delivery", "2026-03-04T08:00:00+08:00", "P140100", as_="courier")
    record(api, tn, "delivered", "2026-03-04T10:00:00+08:00", as_="courier")
    assert packet_of(api, tn)["status"] == "delivered"
    assert case_of(api, case["case_no"])["status"] == "rejected"


@pytest.mark.parametrize("delivery", [PICKUP, {"method": "electronic"}])
def test_originals_go_back_to_the_collecting_window_otherwise_and_the_applicant_is_told_when_they_are_there(
        staff, frozen, db, delivery):
    api = staff
    case, back = _rejected(api, frozen, intake_body(result_delivery=delivery))
    tn = back["tracking_no"]
    assert back["kind"] == "return" and back["to_office"] == "H140902"
    assert plan(back) == [("D140105-GA", "2026-03-03"), ("P140100", "2026-03-04"), ("P140000", "2026-03-04"),
                          ("P140900", "2026-03-05"), ("H140902", "2026-03-06")]
    assert back["expected_arrival"] == "2026-03-06"
    record(api, tn, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    before = len(notices(db))
    frozen.set("2026-03-05T16:30:00+08:00")
    record(api, tn, "received", "2026-03-05T16:00:00+08:00", as_="clerk")
    told = notices(db)[before:]
    assert any(case["case_no"] in t and "原件已退回收件窗口" in t for t in told), told
    assert case_of(api, case["case_no"])["status"] == "rejected"
    assert packet_of(api, tn)["late"] is False
