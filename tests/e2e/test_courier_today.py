"""GET /api/v1/courier/today: the courier's day on one page — the handover sheets made out to them and not
yet handed over (packets waiting at a hall for them to collect), and their home deliveries."""
from __future__ import annotations

from sqlmodel import select

from tests.e2e.steps import assert_error, collect, rows, scans
from tests.e2e.test_agents import _result_on_the_road
from tests.e2e.test_openapi import conforms, document  # noqa: F401 (fixtures: answers checked against the document)
from tracking.model.tables import AccessLog


def _sheet(api, tracking_no: str, courier: str = "courier") -> str:
    r = api.post("/api/v1/manifests", {"to_party": f"courier:{courier}", "tracking_nos": [tracking_no]}, as_="clerk")
    assert r.status_code == 201, r.get_json()
    return r.json["manifest_no"]


def test_a_sheet_made_out_to_the_courier_waits_on_their_day_until_they_pick_it_up(staff, frozen, conforms):
    staff.user("courier_jz", "courier", "P140700")
    case = collect(staff)
    sheet_no = _sheet(staff, case["tracking_no"])
    other = collect(staff)
    _sheet(staff, other["tracking_no"], "courier_jz")  # another courier's pick-up

    day = staff.get("/api/v1/courier/today", as_="courier")
    conforms.check(day, "get", "/courier/today", 200)
    assert day.json["date"] == "2026-03-02" and day.json["pickup_count"] == 1
    [pickup] = day.json["pickups"]
    assert pickup["manifest_no"] == sheet_no and pickup["count"] == 1
    assert pickup["from_office"]["code"] == "H140902" and "忻府区" in pickup["from_office"]["name"]
    assert pickup["from_office"]["address"]  # where to go
    assert pickup["packets"] == [{"tracking_no": case["tracking_no"], "kind": "outbound", "kind_text": "申请材料",
                                  "status": "created", "status_text": "已制单",
                                  "to": case["owning_office"]["name"]}]
    assert day.json["deliveries"] == [] and day.json["delivery_count"] == 0
    assert [p["packets"][0]["tracking_no"] for p in
            staff.get("/api/v1/courier/today", as_="courier_jz").json["pickups"]] == [other["tracking_no"]]

    # picked up: the sheet's scan hands it over, and it leaves the day's pick-ups
    handed = scans(staff, [{"event_id": "pickup-1", "manifest_no": sheet_no, "type": "dispatched",
                            "at": "2026-03-02T10:00:00+08:00"}], as_="courier")[0]
    assert handed["status"] == "recorded", handed
    after = staff.get("/api/v1/courier/today", as_="courier").json
    assert after["pickups"] == [] and after["pickup_count"] == 0


def test_a_cancelled_sheet_is_no_pick_up(staff, frozen):
    case = collect(staff)
    sheet_no = _sheet(staff, case["tracking_no"])
    assert staff.post(f"/api/v1/manifests/{sheet_no}/cancel", as_="clerk").status_code == 200
    assert staff.get("/api/v1/courier/today", as_="courier").json["pickups"] == []


def test_the_day_carries_the_home_deliveries_with_full_addresses_each_read_logged(staff, frozen, db, conforms):
    case, result, sheet_no = _result_on_the_road(staff, frozen)
    answer = staff.get("/api/v1/courier/today", as_="courier")
    conforms.check(answer, "get", "/courier/today", 200)
    day = answer.json
    assert day["pickups"] == [] and day["delivery_count"] == 1
    [item] = day["deliveries"]
    assert item["tracking_no"] == result and item["manifest_no"] == sheet_no
    assert item["addressee"]["address"] == "太原市小店区平阳路12号3单元502室" and item["addressee"]["name"] == "张晓明"
    logged = rows(db, select(AccessLog).where(AccessLog.case_no == case["case_no"],
                                              AccessLog.what == "delivery_address"))
    assert [(row.username, row.role) for row in logged] == [("courier", "courier")]


def test_only_a_courier_has_a_day_of_pick_ups(staff, conforms):
    conforms.check(staff.get("/api/v1/courier/today", as_="clerk"), "get", "/courier/today", 403)
    assert_error(staff.get("/api/v1/courier/today", as_="clerk"), 403, "forbidden")
    assert_error(staff.get("/api/v1/courier/today"), 401, "unauthorized")
