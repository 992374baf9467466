"""Handovers by sheet (交接清单) on the network: one scan of the sheet's barcode hands over every packet on it,
hubs scan the sheet as a whole, and the receiving party counts what arrived against it.

Dates: packets made on Monday 2 March 2026 plan H140902 → P140900 (½ day, same city) → P140000 (1 day,
same province) → P140100 (½ day, same city) → D140105-GA (½ day): cumulative ½, 1½, 2, 2½ working days,
rounded up: 3, 4, 4, 5 March. Handed over on Thursday 5 March, the same legs land on Friday 6,
Monday 9, Monday 9 and Tuesday 10 March (the weekend does not count).
"""
from __future__ import annotations

import uuid

from sqlmodel import select

from mailing.states import NEXT_STEPS
from mailing.tables import Manifest, ManifestEvent, Packet, PacketEvent
from tests.e2e.steps import assert_error, case_of, collect, packet_of, rows, scans
from tests.helpers import unknown_tracking_no
from tracking.model.tables import CaseEvent, Notification

COURIER = "courier:courier"
TO_OFFICE = "office:D140105-GA"
ROUTE = ["H140902", "P140900", "P140000", "P140100", "D140105-GA"]


def packets(api, n: int) -> list[dict]:
    """`n` intakes at the 忻府区 window, each with its outbound packet waiting to leave."""
    return [collect(api) for _ in range(n)]


def made(api, tracking_nos: list[str], to_party: str = COURIER, *, as_: str = "clerk") -> dict:
    r = api.post("/api/v1/manifests", {"to_party": to_party, "tracking_nos": tracking_nos}, as_=as_)
    assert r.status_code == 201, r.get_json()
    return r.json


def sheet_scan(manifest_no: str, type_: str, at: str, office_code: str | None = None,
               event_id: str | None = None) -> dict:
    return {"event_id": event_id or str(uuid.uuid4()), "manifest_no": manifest_no, "type": type_, "at": at,
            "office_code": office_code}


def scan_sheet(api, manifest_no: str, type_: str, at: str, office_code: str | None = None, *, as_: str,
               event_id: str | None = None) -> dict:
    return scans(api, [sheet_scan(manifest_no, type_, at, office_code, event_id)], as_=as_)[0]


def sheet(api, manifest_no: str, as_: str = "clerk") -> dict:
    r = api.get(f"/api/v1/manifests/{manifest_no}", as_=as_)
    assert r.status_code == 200, r.get_json()
    return r.json


def receipt(api, manifest_no: str, tracking_nos: list[str], office_code: str | None, *, as_: str):
    return api.post(f"/api/v1/manifests/{manifest_no}/receipt",
                    {"office_code": office_code, "tracking_nos": tracking_nos}, as_=as_)


def packet_events(db, tracking_no: str) -> list[PacketEvent]:
    packet = rows(db, select(Packet).where(Packet.tracking_no == tracking_no))[0]
    return rows(db, select(PacketEvent).where(PacketEvent.packet_id == packet.id).order_by(PacketEvent.id))


def plan(packet: dict) -> list[tuple[str, str]]:
    return [(stop["office_code"], stop["expected"]) for stop in packet["route"]]


# -- handing over ------------------------------------------------------------------------------

def test_one_scan_of_a_sheet_hands_over_every_packet_on_it_and_counts_their_dates_from_that_day(
        staff, frozen, db):
    api = staff
    cases = packets(api, 3)
    numbers = [c["tracking_no"] for c in cases]
    before = packet_of(api, numbers[0])
    assert plan(before) == list(zip(ROUTE, ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-04",
                                            "2026-03-05"]))
    assert before["expected_arrival"] == "2026-03-05"
    m = made(api, numbers)

    frozen.set("2026-03-05T08:00:00+08:00")  # Thursday: the packets waited three days at the window
    handover = sheet_scan(m["manifest_no"], "dispatched", "2026-03-05T08:30:00+08:00")
    result = scans(api, [handover], as_="clerk")[0]
    assert result == {"event_id": handover["event_id"], "status": "recorded", "manifest_no": m["manifest_no"],
                      "packets": [{"tracking_no": n, "status": "recorded", "packet_status": "dispatched"}
                                  for n in numbers]}

    for case in cases:
        tn = case["tracking_no"]
        events = packet_events(db, tn)
        assert [(e.event_id, e.type, e.status_after, e.actor, e.office_code) for e in events] == [
            (f"{handover['event_id']}:{tn}", "dispatched", "dispatched", "clerk", "H140902")]
        assert events[0].note == f"交接清单{m['manifest_no']}"
        packet = packet_of(api, tn)
        assert packet["status"] == "dispatched"
        assert packet["dispatched_at"] == "2026-03-05T08:30:00+08:00"
        assert plan(packet) == list(zip(ROUTE, ["2026-03-05", "2026-03-06", "2026-03-09", "2026-03-09",
                                                "2026-03-10"]))
        assert packet["expected_arrival"] == "2026-03-10" and packet["late"] is False
        view = case_of(api, case["case_no"])
        assert view["status"] == "in_transit"
        assert view["events"][-1]["type"] == "in_transit" and view["events"][-1]["data"]["tracking_no"] == tn

    view = sheet(api, m["manifest_no"])
    assert view["handed_over_at"] == "2026-03-05T08:30:00+08:00"
    assert view["cancelled_at"] is None and view["confirmed_at"] is None
    assert [p["status"] for p in view["packets"]] == ["dispatched"] * 3
    stored = rows(db, select(ManifestEvent).where(ManifestEvent.event_id == handover["event_id"]))
    assert len(stored) == 1 and stored[0].type == "dispatched" and stored[0].actor == "clerk"
    assert stored[0].data == {"packets": [{"tracking_no": n, "status": "recorded"} for n in numbers]}


def test_the_same_sheet_scan_again_is_a_duplicate_and_a_second_hand_over_is_refused(staff, frozen, db):
    api = staff
    numbers = [c["tracking_no"] for c in packets(api, 2)]
    m = made(api, numbers)
    handover = sheet_scan(m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00")
    assert scans(api, [handover], as_="clerk")[0]["status"] == "recorded"

    again = scans(api, [dict(handover)], as_="clerk")[0]
    assert again == {"event_id": handover["event_id"], "status": "duplicate"}
    second = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:05:00+08:00", as_="clerk")
    assert second["status"] == "rejected" and second["error"]["code"] == "manifest_handed_over", second
    by_courier = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:06:00+08:00", as_="courier")
    assert by_courier["status"] == "rejected" and by_courier["error"]["code"] == "manifest_handed_over"
    for tn in numbers:
        assert [e.type for e in packet_events(db, tn)] == ["dispatched"]
    assert len(rows(db, select(ManifestEvent))) == 1

    unknown = scan_sheet(api, "JJ-H140902-20260302-404", "dispatched", "2026-03-02T10:07:00+08:00", as_="clerk")
    assert unknown["status"] == "rejected" and unknown["error"]["code"] == "unknown_manifest"


def test_a_packet_cancelled_after_the_sheet_was_printed_is_reported_and_the_others_are_handed_over(
        staff, frozen, db):
    api = staff
    a, b, c = packets(api, 3)
    m = made(api, [a["tracking_no"], b["tracking_no"], c["tracking_no"]])
    r = api.post(f"/api/v1/cases/{b['case_no']}/withdraw", {"reason": "申请人不再需要"}, as_="clerk")
    assert r.status_code == 200 and r.json["status"] == "withdrawn", r.get_json()
    assert packet_of(api, b["tracking_no"])["status"] == "cancelled"

    result = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    assert result["status"] == "recorded"
    lines = result["packets"]
    assert [(x["tracking_no"], x["status"]) for x in lines] == [
        (a["tracking_no"], "recorded"), (b["tracking_no"], "rejected"), (c["tracking_no"], "recorded")]
    assert lines[0]["packet_status"] == lines[2]["packet_status"] == "dispatched"
    assert lines[1]["error"]["code"] == "invalid_transition" and "作废" in lines[1]["error"]["message"]

    assert packet_of(api, b["tracking_no"])["status"] == "cancelled"
    assert packet_events(db, b["tracking_no"]) == []
    assert case_of(api, b["case_no"])["status"] == "withdrawn"
    assert [case_of(api, x["case_no"])["status"] for x in (a, c)] == ["in_transit", "in_transit"]
    assert sheet(api, m["manifest_no"])["handed_over_at"] == "2026-03-02T10:00:00+08:00"


def test_a_sheet_none_of_whose_packets_can_leave_is_not_handed_over(staff, frozen, db):
    api = staff
    (a,) = packets(api, 1)
    m = made(api, [a["tracking_no"]])
    api.post(f"/api/v1/cases/{a['case_no']}/withdraw", {"reason": "申请人不再需要"}, as_="clerk")
    result = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    assert result["status"] == "rejected" and result["error"]["code"] == "manifest_not_applied", result
    assert [(x["tracking_no"], x["status"]) for x in result["packets"]] == [(a["tracking_no"], "rejected")]
    assert sheet(api, m["manifest_no"])["handed_over_at"] is None
    assert rows(db, select(ManifestEvent)) == []


def test_only_the_courier_named_on_a_sheet_takes_it_over(staff, frozen, db):
    api = staff
    api.user("courier2", "courier")
    numbers = [c["tracking_no"] for c in packets(api, 2)]
    m = made(api, numbers)
    other = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", "H140902",
                       as_="courier2")
    assert other["status"] == "rejected" and other["error"]["code"] == "forbidden", other
    by_officer = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="officer")
    assert by_officer["status"] == "rejected" and by_officer["error"]["code"] == "wrong_office", by_officer
    for tn in numbers:
        assert packet_events(db, tn) == []
    assert sheet(api, m["manifest_no"])["handed_over_at"] is None

    named = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:01:00+08:00", "H140902",
                       as_="courier")
    assert named["status"] == "recorded"
    assert [x["packet_status"] for x in named["packets"]] == ["dispatched", "dispatched"]
    assert [e.actor for e in packet_events(db, numbers[0])] == ["courier"]


def test_hub_scans_of_a_sheet_move_every_packet_on_it(staff, frozen, db):
    api = staff
    numbers = [c["tracking_no"] for c in packets(api, 3)]
    m = made(api, numbers)
    scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")

    by_clerk = scan_sheet(api, m["manifest_no"], "arrived_hub", "2026-03-02T13:00:00+08:00", as_="clerk")
    assert by_clerk["status"] == "rejected" and by_clerk["error"]["code"] == "forbidden"
    arrived = scan_sheet(api, m["manifest_no"], "arrived_hub", "2026-03-02T13:00:00+08:00", "P140900",
                         as_="courier")
    assert arrived["status"] == "recorded"
    assert [(x["status"], x["packet_status"]) for x in arrived["packets"]] == [("recorded", "arrived_hub")] * 3
    left = scan_sheet(api, m["manifest_no"], "departed_hub", "2026-03-02T15:00:00+08:00", "P140900",
                      as_="courier")
    assert [x["packet_status"] for x in left["packets"]] == ["departed_hub"] * 3

    for tn in numbers:
        events = packet_events(db, tn)
        assert [(e.event_id, e.type, e.office_code, e.actor) for e in events] == [
            (events[0].event_id, "dispatched", "H140902", "clerk"),
            (f"{arrived['event_id']}:{tn}", "arrived_hub", "P140900", "courier"),
            (f"{left['event_id']}:{tn}", "departed_hub", "P140900", "courier")]
        packet = packet_of(api, tn)
        assert packet["status"] == "departed_hub"
        reached = {stop["office_code"]: stop["reached_at"] for stop in packet["route"]}
        assert reached["P140900"] == "2026-03-02T13:00:00+08:00" and reached["P140000"] is None
        assert not any(e["reason"] == "misrouted" for e in packet["events"])  # P140900 is on the route
    assert [e.type for e in rows(db, select(ManifestEvent).order_by(ManifestEvent.id))] == [
        "dispatched", "arrived_hub", "departed_hub"]


# -- the receiving party's count -----------------------------------------------------------------

def test_the_courier_counts_a_sheet_and_each_missing_or_extra_packet_becomes_an_exception(staff, frozen, db):
    api = staff
    api.user("courier2", "courier")
    api.user("clerk_ty", "clerk", "H140100")
    a, b, c, x = packets(api, 4)
    m = made(api, [a["tracking_no"], b["tracking_no"], c["tracking_no"]])
    scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    stranger = unknown_tracking_no()

    frozen.set("2026-03-02T14:00:00+08:00")
    here = [b["tracking_no"], a["tracking_no"], x["tracking_no"], stranger.lower()]
    assert_error(receipt(api, m["manifest_no"], here, "P140900", as_="courier2"), 403, "forbidden")
    assert_error(receipt(api, m["manifest_no"], here, "P140900", as_="officer"), 403, "forbidden")
    r = receipt(api, m["manifest_no"], here, "P140900", as_="courier")
    assert r.status_code == 200, r.get_json()
    assert r.json == {"manifest_no": m["manifest_no"], "received": 2, "missing": [c["tracking_no"]],
                      "extra": [x["tracking_no"], stranger], "unknown": [stranger], "not_sent": []}

    for p in (a, b):
        packet = packet_of(api, p["tracking_no"])
        assert packet["status"] == "arrived_hub"
        assert [(e["type"], e["office_code"], e["actor"], e["at"]) for e in packet["events"]] == [
            ("dispatched", "H140902", "clerk", "2026-03-02T10:00:00+08:00"),
            ("arrived_hub", "P140900", "courier", "2026-03-02T14:00:00+08:00")]

    # the sending office sees both exceptions on the packets
    missing = packet_of(api, c["tracking_no"], as_="clerk")
    assert missing["status"] == "dispatched"
    last = missing["events"][-1]
    assert (last["type"], last["reason"], last["actor"], last["office_code"], last["at"]) == (
        "exception", "missing_from_manifest", "courier", "P140900", "2026-03-02T14:00:00+08:00")
    assert last["reason_text"] == "清单有而实物未到" and last["next_step"] == NEXT_STEPS["missing_from_manifest"]
    assert m["manifest_no"] in last["note"]
    extra = packet_of(api, x["tracking_no"], as_="clerk")
    assert extra["status"] == "created"
    assert [(e["type"], e["reason"], e["reason_text"]) for e in extra["events"]] == [
        ("exception", "not_on_manifest", "实物到达但不在清单上")]
    assert extra["events"][0]["next_step"] == NEXT_STEPS["not_on_manifest"]

    # each on its case's record, told to the sending office
    for p, reason in ((c, "missing_from_manifest"), (x, "not_on_manifest")):
        events = [e for e in case_of(api, p["case_no"])["events"] if e["type"] == f"packet_{reason}"]
        assert len(events) == 1 and events[0]["data"]["tracking_no"] == p["tracking_no"], events
    notes = [n.text for n in rows(db, select(Notification).where(Notification.office_code == "H140902"))]
    assert any(c["tracking_no"] in t and "清单有而实物未到" in t for t in notes), notes
    assert any(x["tracking_no"] in t and "实物到达但不在清单上" in t for t in notes), notes

    # the owning office and the supervisor see them in the exceptions list; another hall does not
    def listed(as_, query=""):
        r = api.get(f"/api/v1/exceptions{query}", as_=as_)
        assert r.status_code == 200, r.get_json()
        return [(e["tracking_no"], e["reason"], e["case_no"], e["packet_kind"], e["packet_status"])
                for e in r.json["exceptions"]]

    both = {(c["tracking_no"], "missing_from_manifest", c["case_no"], "outbound", "dispatched"),
            (x["tracking_no"], "not_on_manifest", x["case_no"], "outbound", "created")}
    assert set(listed("officer")) == both and len(listed("officer")) == 2
    assert set(listed("supervisor")) == both and len(listed("supervisor")) == 2
    assert listed("supervisor", "?reason=missing_from_manifest") == [
        (c["tracking_no"], "missing_from_manifest", c["case_no"], "outbound", "dispatched")]
    assert listed("clerk_ty") == []

    assert sheet(api, m["manifest_no"], as_="courier")["confirmed_at"] == "2026-03-02T14:00:00+08:00"
    assert_error(receipt(api, m["manifest_no"], here, "P140900", as_="courier"), 409, "already_confirmed")
    assert [e.type for e in packet_events(db, a["tracking_no"])] == ["dispatched", "arrived_hub"]
    counted = rows(db, select(ManifestEvent).where(ManifestEvent.type == "receipt"))
    assert len(counted) == 1 and counted[0].data == {"received": 2, "missing": [c["tracking_no"]],
                                                     "extra": [x["tracking_no"], stranger], "unknown": [stranger], "not_sent": []}


def test_a_courier_based_at_a_hub_counts_a_sheet_there_without_naming_it(staff, frozen, db):
    api = staff
    api.user("courier_xz", "courier", "P140900")
    a, b = packets(api, 2)
    m = made(api, [a["tracking_no"], b["tracking_no"]], "courier:courier_xz")
    scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-02T13:00:00+08:00")
    assert_error(receipt(api, m["manifest_no"], "EA000000001CN", None, as_="courier_xz"), 400, "invalid_request",
                 "tracking_nos")
    r = api.post(f"/api/v1/manifests/{m['manifest_no']}/receipt",
                 {"tracking_nos": [a["tracking_no"], b["tracking_no"]]}, as_="courier_xz")
    assert r.status_code == 200, r.get_json()
    assert (r.json["received"], r.json["missing"], r.json["extra"]) == (2, [], [])
    for p in (a, b):
        assert [(e.type, e.office_code, e.actor) for e in packet_events(db, p["tracking_no"])] == [
            ("dispatched", "H140902", "clerk"), ("arrived_hub", "P140900", "courier_xz")]


def test_a_packet_cancelled_before_the_hand_over_is_not_expected_by_the_receiving_party(staff, frozen, db):
    """It never left the window: the count does not send anyone looking for it, and whatever the count says is
    missing has its exception event."""
    api = staff
    a, b = packets(api, 2)
    m = made(api, [a["tracking_no"], b["tracking_no"]])
    api.post(f"/api/v1/cases/{b['case_no']}/withdraw", {"reason": "申请人不再需要"}, as_="clerk")
    handed = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    assert [x["status"] for x in handed["packets"]] == ["recorded", "rejected"]

    frozen.set("2026-03-02T14:00:00+08:00")
    r = receipt(api, m["manifest_no"], [a["tracking_no"]], "P140900", as_="courier")
    assert r.status_code == 200, r.get_json()
    for number in r.json["missing"]:
        assert [e.reason for e in packet_events(db, number)] == ["missing_from_manifest"], number
    assert r.json == {"manifest_no": m["manifest_no"], "received": 1, "missing": [], "extra": [], "unknown": [],
                      "not_sent": [b["tracking_no"]]}  # it never left the window: reported, not missing
    assert packet_of(api, b["tracking_no"])["status"] == "cancelled"


def test_a_sheet_not_yet_handed_over_or_voided_cannot_be_counted(staff, frozen):
    api = staff
    a, b = packets(api, 2)
    m = made(api, [a["tracking_no"]])
    assert_error(receipt(api, m["manifest_no"], [a["tracking_no"]], "P140900", as_="courier"), 409,
                 "not_handed_over")
    voided = made(api, [b["tracking_no"]])
    assert api.post(f"/api/v1/manifests/{voided['manifest_no']}/cancel", as_="clerk").status_code == 200
    assert_error(receipt(api, voided["manifest_no"], [b["tracking_no"]], "P140900", as_="courier"), 409,
                 "manifest_cancelled")
    assert_error(receipt(api, "JJ-H140902-20260302-404", [], "P140900", as_="courier"), 404, "not_found")
    assert packet_of(api, a["tracking_no"])["events"] == []


def test_a_sheet_made_out_to_the_owning_office_is_signed_for_there_and_the_cases_become_received(
        staff, frozen, db):
    api = staff
    a, b = packets(api, 2)
    m = made(api, [a["tracking_no"], b["tracking_no"]], TO_OFFICE)
    handover = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    assert handover["status"] == "recorded"

    frozen.set("2026-03-03T09:00:00+08:00")
    assert_error(receipt(api, m["manifest_no"], [a["tracking_no"]], "H140902", as_="clerk"), 403, "forbidden")
    assert_error(receipt(api, m["manifest_no"], [a["tracking_no"]], "D140106-GA", as_="officer"), 422,
                 "wrong_office")
    r = receipt(api, m["manifest_no"], [a["tracking_no"], b["tracking_no"]], "D140105-GA", as_="officer")
    assert r.status_code == 200, r.get_json()
    assert r.json == {"manifest_no": m["manifest_no"], "received": 2, "missing": [], "extra": [], "unknown": [],
                      "not_sent": []}

    for p in (a, b):
        packet = packet_of(api, p["tracking_no"], as_="officer")
        assert packet["status"] == "received" and packet["arrived_at"] == "2026-03-03T09:00:00+08:00"
        assert [(e["type"], e["actor"], e["office_code"]) for e in packet["events"]] == [
            ("dispatched", "clerk", "H140902"), ("received", "officer", "D140105-GA")]
        view = case_of(api, p["case_no"])
        assert view["status"] == "received" and view["received_at"] == "2026-03-03T09:00:00+08:00"
        assert (view["events"][-1]["type"], view["events"][-1]["actor"]) == ("received", "officer")
        assert not [e for e in packet["events"] if e["type"] == "exception"]
    assert sheet(api, m["manifest_no"], as_="officer")["confirmed_at"] == "2026-03-03T09:00:00+08:00"
    assert rows(db, select(CaseEvent).where(CaseEvent.type.startswith("packet_"))) == []


# -- voiding a sheet -------------------------------------------------------------------------------

def test_voiding_an_open_sheet_frees_its_packets_and_a_handed_over_sheet_cannot_be_voided(staff, frozen, db):
    api = staff
    numbers = [c["tracking_no"] for c in packets(api, 2)]
    first = made(api, numbers)
    for who in ("officer", "courier"):
        assert_error(api.post(f"/api/v1/manifests/{first['manifest_no']}/cancel", as_=who), 403, "forbidden")

    frozen.set("2026-03-02T09:30:00+08:00")
    r = api.post(f"/api/v1/manifests/{first['manifest_no']}/cancel", as_="clerk")
    assert r.status_code == 200, r.get_json()
    assert r.json["cancelled_at"] == "2026-03-02T09:30:00+08:00" and r.json["handed_over_at"] is None
    assert_error(api.post(f"/api/v1/manifests/{first['manifest_no']}/cancel", as_="clerk"), 409,
                 "manifest_cancelled")
    voided = scan_sheet(api, first["manifest_no"], "dispatched", "2026-03-02T09:40:00+08:00", as_="clerk")
    assert voided["status"] == "rejected" and voided["error"]["code"] == "manifest_cancelled"
    assert [packet_of(api, n)["status"] for n in numbers] == ["created", "created"]

    second = made(api, numbers)  # the packets are free again
    assert second["manifest_no"] != first["manifest_no"] and second["count"] == 2
    scan_sheet(api, second["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    assert_error(api.post(f"/api/v1/manifests/{second['manifest_no']}/cancel", as_="clerk"), 409,
                 "manifest_handed_over")
    stored = {s.manifest_no: s for s in rows(db, select(Manifest))}
    assert stored[second["manifest_no"]].cancelled_at is None
    assert stored[first["manifest_no"]].handed_over_at is None
    assert sheet(api, second["manifest_no"])["handed_over_at"] == "2026-03-02T10:00:00+08:00"


def test_a_count_sent_again_with_the_same_idempotency_key_gets_the_first_answer(staff, frozen, db):
    api = staff
    a, b = packets(api, 2)
    m = made(api, [a["tracking_no"], b["tracking_no"]])
    scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="courier")
    path = f"/api/v1/manifests/{m['manifest_no']}/receipt"
    first = api.post(path, {"tracking_nos": [a["tracking_no"]]}, as_="courier", key="count-1")
    again = api.post(path, {"tracking_nos": [a["tracking_no"]]}, as_="courier", key="count-1")
    assert first.status_code == again.status_code == 200
    assert again.json == first.json and first.json["missing"] == [b["tracking_no"]]
    assert [e.reason for e in packet_events(db, b["tracking_no"])].count("missing_from_manifest") == 1
    assert_error(api.post(path, {"tracking_nos": [a["tracking_no"]]}, as_="courier", key="count-2"),
                 409, "already_confirmed")


def test_a_couriers_pick_up_scan_naming_no_office_marks_the_window_as_left(staff, frozen):
    api = staff
    number = packets(api, 1)[0]["tracking_no"]
    m = made(api, [number])
    result = scan_sheet(api, m["manifest_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="courier")
    assert result["status"] == "recorded"
    route = packet_of(api, number)["route"]
    assert route[0]["office_code"] == "H140902" and route[0]["reached_at"] == "2026-03-02T10:00:00+08:00"
    assert [stop["reached_at"] for stop in route[1:]] == [None] * (len(route) - 1)
