"""POST /scans: batches from scanners that were offline, one verdict per scan, applied in the order of `at`."""
from __future__ import annotations

from sqlmodel import select

from mailing.tables import Packet, PacketEvent
from tests.e2e.steps import assert_error, case_of, collect, count, packet_of, record, rows, scans, track
from tests.helpers import (intake_body, person, resident_id, scan, tracking_no_with_bad_check_digit,
                           unknown_tracking_no)
from tracking.model.tables import CaseEvent


def _events(db, tracking_no: str) -> list[tuple[str, str]]:
    packet = rows(db, select(Packet).where(Packet.tracking_no == tracking_no))[0]
    return [(e.type, e.event_id) for e in
            rows(db, select(PacketEvent).where(PacketEvent.packet_id == packet.id).order_by(PacketEvent.at))]


def test_a_mixed_batch_gets_one_verdict_per_scan_in_order_and_the_good_scans_are_recorded(staff, frozen, db):
    api = staff
    a = collect(api)                       # to D140105-GA, dispatched below
    c = collect(api)                       # to D140105-GA, never dispatched
    d = collect(api, intake_body(applicant=person(id_number=resident_id("14010619880512431"),
                                                  division_code="140106")))  # to 迎泽区 D140106-GA
    assert d["owning_office"]["code"] == "D140106-GA"
    first = scan(a["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00")
    record(api, d["tracking_no"], "dispatched", "2026-03-02T10:05:00+08:00", as_="clerk")
    assert scans(api, [first], as_="clerk")[0]["status"] == "recorded"

    good = scan(a["tracking_no"], "received", "2026-03-03T09:00:00+08:00",
                contents=[{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "damaged"}])
    batch = [
        good,
        first,                                                                        # recorded yesterday
        scan(tracking_no_with_bad_check_digit(), "received", "2026-03-03T09:01:00+08:00"),
        scan(unknown_tracking_no(), "received", "2026-03-03T09:02:00+08:00"),
        scan(c["tracking_no"], "received", "2026-03-03T09:03:00+08:00"),             # never dispatched
        scan(d["tracking_no"], "received", "2026-03-03T09:04:00+08:00"),             # not addressed to us
        {"event_id": "no-type-1", "tracking_no": a["tracking_no"], "at": "2026-03-03T09:05:00+08:00"},
        dict(good),                                                                   # the same scan twice
    ]
    results = scans(api, batch, as_="officer")
    assert [r["event_id"] for r in results] == [s["event_id"] for s in batch]
    assert [r["status"] for r in results] == ["recorded", "duplicate", "rejected", "rejected", "rejected",
                                              "rejected", "rejected", "duplicate"]
    errors = [r.get("error") for r in results]
    assert [e["code"] if e else None for e in errors] == [None, None, "invalid_tracking_no", "unknown_packet",
                                                          "invalid_transition", "wrong_office", "invalid_request",
                                                          None]
    assert errors[6]["field"] == "type"
    for error in filter(None, errors):
        assert error["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error
    assert results[0]["packet_status"] == "received"

    assert _events(db, a["tracking_no"]) == [("dispatched", first["event_id"]), ("received", good["event_id"]),
                                      ("exception", good["event_id"] + ":damaged")]  # the contents check
    assert _events(db, c["tracking_no"]) == []
    assert [t for t, _ in _events(db, d["tracking_no"])] == ["dispatched"]
    assert case_of(api, a["case_no"])["status"] == "received"
    assert case_of(api, c["case_no"])["status"] == "collected"
    checked = rows(db, select(CaseEvent).where(CaseEvent.type == "contents_checked"))
    assert len(checked) == 1 and checked[0].data["problems"] == [
        {"code": "id_card", "name": "居民身份证", "status": "damaged", "tracking_no": a["tracking_no"]}]


def test_a_batch_sent_out_of_time_order_is_applied_in_the_order_of_its_scan_times(staff, frozen, db):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    batch = [scan(tn, "departed_hub", "2026-03-02T12:30:00+08:00", "P140900"),
             scan(tn, "arrived_hub", "2026-03-02T12:00:00+08:00", "P140900"),
             scan(tn, "dispatched", "2026-03-02T10:00:00+08:00")]
    results = scans(api, batch, as_="courier")
    assert [r["status"] for r in results] == ["recorded"] * 3, results
    packet = packet_of(api, tn)
    assert packet["status"] == "departed_hub"
    assert [e["type"] for e in packet["events"]] == ["dispatched", "arrived_hub", "departed_hub"]
    assert case_of(api, case["case_no"])["status"] == "in_transit"

    # the office's own batch: signing for it first in the list, the courier's hand-over second
    batch = [scan(tn, "received", "2026-03-03T09:10:00+08:00"),
             scan(tn, "delivered", "2026-03-03T09:00:00+08:00", "D140105-GA")]
    results = scans(api, batch, as_="officer")
    assert [r["status"] for r in results] == ["recorded", "recorded"], results
    assert packet_of(api, tn)["status"] == "received"
    assert case_of(api, case["case_no"])["status"] == "received"


def test_an_older_scan_that_fits_between_the_recorded_events_is_kept_in_the_history(staff, frozen, db):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    record(api, tn, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, tn, "out_for_delivery", "2026-03-03T08:00:00+08:00", "P140100", as_="courier")
    late = record(api, tn, "arrived_hub", "2026-03-02T13:00:00+08:00", "P140900", as_="courier")
    assert late["packet_status"] == "out_for_delivery"  # the latest event still decides
    packet = packet_of(api, tn)
    assert packet["status"] == "out_for_delivery"
    assert [(e["type"], e["at"]) for e in packet["events"]] == [
        ("dispatched", "2026-03-02T10:00:00+08:00"), ("arrived_hub", "2026-03-02T13:00:00+08:00"),
        ("out_for_delivery", "2026-03-03T08:00:00+08:00")]


def test_an_older_scan_that_does_not_fit_between_the_recorded_events_is_rejected(staff, frozen, db):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    record(api, tn, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, tn, "arrived_hub", "2026-03-02T13:00:00+08:00", "P140900", as_="courier")
    misfits = [scan(tn, "departed_hub", "2026-03-02T11:00:00+08:00", "P140900"),  # before it arrived anywhere
               scan(tn, "dispatched", "2026-03-02T09:00:00+08:00")]               # sent twice
    results = scans(api, misfits, as_="courier")
    assert [(r["status"], r["error"]["code"]) for r in results] == [("rejected", "invalid_transition")] * 2
    assert "时间" in results[0]["error"]["message"]
    assert [t for t, _ in _events(db, tn)] == ["dispatched", "arrived_hub"]
    assert packet_of(api, tn)["status"] == "arrived_hub"


def test_an_exception_records_a_problem_and_only_a_loss_moves_the_packet(staff, frozen, db):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    record(api, tn, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    damaged = record(api, tn, "exception", "2026-03-02T12:00:00+08:00", "P140900", as_="courier",
                     reason="damaged", note="外包装破损")
    assert damaged["packet_status"] == "dispatched"
    no_reason = scans(api, [scan(tn, "exception", "2026-03-02T12:30:00+08:00", "P140900")], as_="courier")[0]
    assert no_reason["status"] == "rejected" and no_reason["error"]["code"] == "invalid_request"
    assert no_reason["error"]["field"] == "reason"

    lost = record(api, tn, "exception", "2026-03-02T18:00:00+08:00", "P140900", as_="courier", reason="lost")
    assert lost["packet_status"] == "lost"
    packet = packet_of(api, tn)
    assert packet["status"] == "lost" and packet["status_text"] == "已丢失"
    assert [(e["type"], e["reason"]) for e in packet["events"]] == [
        ("dispatched", None), ("exception", "damaged"), ("exception", "lost")]
    assert [e.type for e in rows(db, select(CaseEvent).where(CaseEvent.type.startswith("packet_")))] == \
        ["packet_damaged", "packet_lost"]
    texts = [e["text"] for e in track(api, case["case_no"], case["check_code"]).json["events"]]
    assert "邮件异常：破损" in texts and "邮件异常：丢失" in texts

    after = scans(api, [scan(tn, "arrived_hub", "2026-03-02T19:00:00+08:00", "P140000")], as_="courier")[0]
    assert after["status"] == "rejected" and after["error"]["code"] == "invalid_transition"


def test_scanning_is_for_windows_offices_and_couriers_only(staff, frozen):
    api = staff
    case = collect(api)
    r = api.post("/api/v1/scans", {"scans": [scan(case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00")]},
                 as_="supervisor")
    assert_error(r, 403, "forbidden")
    assert_error(api.post("/api/v1/scans", {"scans": []}, as_="clerk"), 400, "invalid_request", "scans")
    assert_error(api.post("/api/v1/scans", {"scans": []}), 401, "unauthorized")


def test_a_clerk_cannot_scan_in_the_name_of_another_office(staff, frozen, db):
    api = staff
    case = collect(api)
    result = scans(api, [scan(case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", "H140100")],
                   as_="clerk")[0]
    assert result["status"] == "rejected" and result["error"]["code"] == "wrong_office"
    assert count(db, PacketEvent) == 0


def test_only_the_addressee_signs_for_a_packet_and_only_the_sender_dispatches_it(staff, frozen, db):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    by_officer = scans(api, [scan(tn, "dispatched", "2026-03-02T10:00:00+08:00")], as_="officer")[0]
    assert by_officer["status"] == "rejected" and by_officer["error"]["code"] == "wrong_office"
    record(api, tn, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    for who in ("courier", "clerk"):
        result = scans(api, [scan(tn, "received", "2026-03-03T09:00:00+08:00", "D140105-GA" if who == "courier"
                                  else None)], as_=who)[0]
        assert result["status"] == "rejected" and result["error"]["code"] == "wrong_office", (who, result)
    assert [t for t, _ in _events(db, tn)] == ["dispatched"]
    assert case_of(api, case["case_no"])["status"] == "in_transit"


def test_each_bad_scan_of_a_batch_is_rejected_with_every_one_of_its_own_errors_and_the_good_ones_are_recorded(
        staff, frozen, db):
    api = staff
    a, b = collect(api), collect(api)
    malformed = {"event_id": "bad-1", "tracking_no": a["tracking_no"], "type": "teleported",
                 "at": "yesterday morning", "note": 42}
    late = scan(b["tracking_no"], "arrived_hub", "2026-03-02 下午", "P140900")
    batch = [scan(a["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", "H140902"), malformed, late,
             scan(b["tracking_no"], "dispatched", "2026-03-02T10:05:00+08:00", "H140902"), "not a scan"]
    results = scans(api, batch, as_="courier")
    assert [r["status"] for r in results] == ["recorded", "rejected", "rejected", "recorded", "rejected"]
    assert [r["event_id"] for r in results] == [batch[0]["event_id"], "bad-1", late["event_id"],
                                                batch[3]["event_id"], None]
    bad = results[1]["error"]
    assert (bad["code"], bad["field"]) == ("invalid_request", "type")
    assert [e["field"] for e in bad["errors"]] == ["type", "at", "note"]  # all of them, at once
    assert (results[2]["error"]["code"], results[2]["error"]["field"]) == ("invalid_request", "at")
    assert "ISO 8601" in results[2]["error"]["message"]
    assert results[4]["error"]["code"] == "invalid_request"
    assert [packet_of(api, c["tracking_no"])["status"] for c in (a, b)] == ["dispatched", "dispatched"]
    assert count(db, PacketEvent) == 2


def test_a_scan_typed_with_full_width_digits_or_without_an_offset_is_read_as_beijing_time(staff, frozen, db):
    api = staff
    case = collect(api)
    typed_number = " ".join(case["tracking_no"].lower()[i:i + 4] for i in range(0, 13, 4))  # "ea00 0000 ..."
    record(api, typed_number, "dispatched", "２０２６-０３-０２T１０:３０:００", as_="clerk")
    record(api, case["tracking_no"], "arrived_hub", "2026-03-02T13:00:00", "P140900", as_="courier")
    events = packet_of(api, case["tracking_no"])["events"]
    assert [(e["type"], e["at"]) for e in events] == [("dispatched", "2026-03-02T10:30:00+08:00"),
                                                      ("arrived_hub", "2026-03-02T13:00:00+08:00")]


def test_a_scan_names_a_packet_or_a_sheet_and_only_an_exception_has_a_reason(staff, frozen, db):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    neither = {"event_id": "none-1", "type": "dispatched", "at": "2026-03-02T10:00:00+08:00"}
    both = {**neither, "event_id": "both-1", "tracking_no": tn, "manifest_no": "JJ-H140902-20260302-001"}
    sheet_received = {**neither, "event_id": "sheet-1", "type": "received", "manifest_no": "JJ-H140902-20260302-001"}
    checked_on_dispatch = scan(tn, "dispatched", "2026-03-02T10:00:00+08:00",
                               contents=[{"code": "id_card", "status": "ok"}])
    results = scans(api, [neither, both, sheet_received, checked_on_dispatch], as_="clerk")
    assert [(r["status"], r["error"]["code"], r["error"]["field"]) for r in results] == [
        ("rejected", "invalid_request", "tracking_no"), ("rejected", "invalid_request", "manifest_no"),
        ("rejected", "invalid_request", "type"), ("rejected", "invalid_request", "contents")]
    # a reason on any other scan is not kept
    dispatched = record(api, tn, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk", reason="lost")
    assert dispatched["packet_status"] == "dispatched"
    assert [(e["type"], e["reason"]) for e in packet_of(api, tn)["events"]] == [("dispatched", None)]


# -- who may record which scan on which packet (issue 12 §2; README "Who may scan what") ---------------

def _now(frozen, when: str) -> str:
    """A scan made at the moment it is sent: the clock is moved there first."""
    frozen.set(when)
    return when


def _refused(result: dict, code: str) -> dict:
    assert result["status"] == "rejected" and result["error"]["code"] == code, result
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result["error"]["message"]), result
    return result["error"]


def _state(db, case_no: str) -> tuple:
    """The case, its events, its packets and their events and routes, as stored."""
    from tracking.model.tables import Case, Notification
    case = rows(db, select(Case).where(Case.case_no == case_no))[0]
    packets = rows(db, select(Packet).where(Packet.case_id == case.id).order_by(Packet.id))
    return (case.status, case.flags, [e.type for e in rows(db, select(CaseEvent).where(CaseEvent.case_id == case.id))],
            [(p.tracking_no, p.status, p.route) for p in packets],
            [(e.type, e.office_code) for e in rows(db, select(PacketEvent).where(PacketEvent.packet_id.in_(
                [p.id for p in packets])).order_by(PacketEvent.id))],
            count(db, Notification))


def test_staff_of_an_unrelated_office_cannot_lose_reroute_or_deliver_another_offices_packets(staff, frozen, db):
    """The attack of issue 12: exception lost, arrived_hub (a misroute through their own office) and a
    home delivery, each on another office's packet, each refused alone; their own scan goes through."""
    api = staff
    api.user("clerk_jz", "clerk", "H140700")      # 晋中市政务服务中心: neither office of the case
    api.user("officer_yz", "officer", "D140106-GA")  # 迎泽区公安: neither office of the case
    outbound = collect(api)
    record(api, outbound["tracking_no"], "dispatched", _now(frozen, "2026-03-02T10:00:00+08:00"), as_="clerk")
    record(api, outbound["tracking_no"], "arrived_hub", _now(frozen, "2026-03-02T13:00:00+08:00"), "P140900",
           as_="courier")
    home = collect(api)  # a paper result on its way to the applicant's door
    record(api, home["tracking_no"], "dispatched", _now(frozen, "2026-03-02T10:05:00+08:00"), as_="clerk")
    record(api, home["tracking_no"], "received", _now(frozen, "2026-03-03T09:00:00+08:00"), as_="officer")
    assert api.post(f"/api/v1/cases/{home['case_no']}/accept", as_="officer").status_code == 200
    result_no = api.post(f"/api/v1/cases/{home['case_no']}/decision", {"outcome": "approved", "note": "准予"},
                         as_="officer").json["result_packet"]["tracking_no"]
    record(api, result_no, "dispatched", _now(frozen, "2026-03-03T11:00:00+08:00"), as_="officer")
    theirs = collect(api, intake_body(applicant=person(id_number=resident_id("14010619880512431"),
                                                       division_code="140106")))  # owned by 迎泽区公安
    record(api, theirs["tracking_no"], "dispatched", _now(frozen, "2026-03-03T11:05:00+08:00"), as_="clerk")
    before = [_state(db, c["case_no"]) for c in (outbound, home)]

    at = _now(frozen, "2026-03-03T15:00:00+08:00")
    for attacker in ("clerk_jz", "officer_yz"):
        results = scans(api, [scan(outbound["tracking_no"], "exception", at, reason="lost"),
                              scan(outbound["tracking_no"], "arrived_hub", at),
                              scan(result_no, "delivered", at)], as_=attacker)
        for result in results:
            _refused(result, "forbidden")
    own = scans(api, [scan(outbound["tracking_no"], "exception", at, reason="lost"),
                      scan(theirs["tracking_no"], "received", at)], as_="officer_yz")
    assert [r["status"] for r in own] == ["rejected", "recorded"]  # their own packet is signed for

    assert [_state(db, c["case_no"]) for c in (outbound, home)] == before
    assert case_of(api, outbound["case_no"])["status"] == "in_transit"
    assert case_of(api, home["case_no"])["status"] == "result_in_transit"
    assert case_of(api, outbound["case_no"])["flags"] == []


def test_a_hub_scan_is_a_couriers_and_a_courier_of_a_hub_scans_as_that_hub(staff, frozen, db):
    api = staff
    api.user("courier_xz", "courier", "P140900")   # 忻州 hub: on the route
    api.user("courier_jz", "courier", "P140700")   # 晋中 hub: off the route
    case = collect(api)
    tn = case["tracking_no"]
    record(api, tn, "dispatched", _now(frozen, "2026-03-02T10:00:00+08:00"), as_="clerk")
    at = _now(frozen, "2026-03-02T12:00:00+08:00")
    results = scans(api, [scan(tn, "arrived_hub", at, "P140100"),   # not where this courier works
                          scan(tn, "arrived_hub", at)], as_="courier_xz")
    _refused(results[0], "wrong_office")
    assert results[1]["status"] == "recorded"
    assert packet_of(api, tn)["events"][-1]["office_code"] == "P140900"  # his hub, unnamed

    at = _now(frozen, "2026-03-02T13:00:00+08:00")
    line = scans(api, [scan(tn, "departed_hub", at), scan(tn, "departed_hub", at, "H140902")], as_="courier")
    assert _refused(line[0], "invalid_request")["field"] == "office_code"  # a line courier names the hub
    _refused(line[1], "wrong_office")                                     # and a hub it is
    for who in ("clerk", "officer"):
        _refused(scans(api, [scan(tn, "departed_hub", at)], as_=who)[0], "forbidden")

    at = _now(frozen, "2026-03-02T15:00:00+08:00")
    record(api, tn, "departed_hub", at, "P140900", as_="courier")
    record(api, tn, "arrived_hub", _now(frozen, "2026-03-02T18:00:00+08:00"), as_="courier_jz")  # off the route
    packet = packet_of(api, tn)
    assert [(e["type"], e["reason"], e["office_code"]) for e in packet["events"][-2:]] == [
        ("arrived_hub", None, "P140700"), ("exception", "misrouted", "P140700")]
    assert packet["route"][0]["office_code"] == "H140902" and "P140700" in [s["office_code"] for s in packet["route"]]


def test_only_the_courier_who_took_a_result_out_delivers_it_to_the_door(staff, frozen, db):
    api = staff
    api.user("courier2", "courier")
    case = collect(api)
    record(api, case["tracking_no"], "dispatched", _now(frozen, "2026-03-02T10:00:00+08:00"), as_="clerk")
    record(api, case["tracking_no"], "received", _now(frozen, "2026-03-03T09:00:00+08:00"), as_="officer")
    api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer")
    result_no = api.post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "approved", "note": "准予"},
                         as_="officer").json["result_packet"]["tracking_no"]
    record(api, result_no, "dispatched", _now(frozen, "2026-03-03T11:00:00+08:00"), as_="officer")
    record(api, result_no, "out_for_delivery", _now(frozen, "2026-03-04T08:00:00+08:00"), "P140100", as_="courier")

    at = _now(frozen, "2026-03-04T10:00:00+08:00")
    _refused(scans(api, [scan(result_no, "delivered", at)], as_="courier2")[0], "forbidden")
    _refused(scans(api, [scan(result_no, "delivered", at)], as_="officer")[0], "forbidden")  # its sender
    assert case_of(api, case["case_no"])["status"] == "result_in_transit"
    record(api, result_no, "delivered", at, as_="courier")
    assert case_of(api, case["case_no"])["status"] == "delivered"


def test_an_exception_is_recorded_by_whoever_holds_the_packet_or_by_its_sender(staff, frozen, db):
    api = staff
    api.user("courier2", "courier")
    api.user("courier_xz", "courier", "P140900")
    case = collect(api)
    tn = case["tracking_no"]
    record(api, tn, "dispatched", _now(frozen, "2026-03-02T10:00:00+08:00"), as_="clerk")
    # handed to the network by the office's own scan: any courier holds it until one scans it
    record(api, tn, "exception", _now(frozen, "2026-03-02T10:30:00+08:00"), as_="courier2", reason="damaged")
    record(api, tn, "arrived_hub", _now(frozen, "2026-03-02T12:00:00+08:00"), "P140900", as_="courier")

    at = _now(frozen, "2026-03-02T12:30:00+08:00")
    _refused(scans(api, [scan(tn, "exception", at, reason="damaged")], as_="courier2")[0], "forbidden")
    _refused(scans(api, [scan(tn, "exception", at, reason="damaged")], as_="officer")[0], "forbidden")
    record(api, tn, "exception", at, "P140900", as_="courier", reason="damaged")     # holds it
    record(api, tn, "exception", at, as_="courier_xz", reason="damaged")           # at the same hub
    record(api, tn, "exception", at, as_="clerk", reason="damaged")                # sent it
    record(api, tn, "received", _now(frozen, "2026-03-03T09:00:00+08:00"), as_="officer")
    record(api, tn, "exception", _now(frozen, "2026-03-03T09:10:00+08:00"), as_="officer", reason="damaged")
    assert [e["actor"] for e in packet_of(api, tn)["events"] if e["type"] == "exception"] == [
        "courier2", "courier", "courier_xz", "clerk", "officer"]


def test_a_packet_on_a_sheet_made_out_to_a_courier_is_taken_over_by_that_courier_only(staff, frozen, db):
    api = staff
    api.user("courier2", "courier")
    case = collect(api)
    tn = case["tracking_no"]
    r = api.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [tn]}, as_="clerk")
    assert r.status_code == 201, r.json
    at = _now(frozen, "2026-03-02T10:00:00+08:00")
    _refused(scans(api, [scan(tn, "dispatched", at)], as_="courier2")[0], "wrong_office")
    record(api, tn, "dispatched", at, as_="courier")


def test_the_readme_table_of_who_may_scan_what_is_the_rule_the_scans_follow():
    from pathlib import Path

    from tracking.commands.custody import WHO_MAY_SCAN
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Who may scan what", 1)[1].split("| scan | who may record it | otherwise |", 1)[1]
    lines = section.split("\n\n", 1)[0].strip().splitlines()[1:]  # the table, below its header
    table = {cells[0].strip("` "): (cells[1].strip(), cells[2].strip("` "))
             for cells in (line.strip("|").split(" | ") for line in lines)}
    assert table == {t.value: ("; or ".join(p.wording for p in who.parties), who.code)
                     for t, who in WHO_MAY_SCAN.items()}
