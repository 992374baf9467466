"""A 政务专递 carrier's network carries the packets (docs/carriers.md): booked when made, collected at the
hall on request, its pushed tracking events recorded as custody events with the carrier as actor, its
silence noticed; all against a carrier platform the test runs on loopback."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from config import clock
from mailing.tables import CarrierEvent, CarrierRequest, Packet, PacketEvent
from tests import pdfs
from tests.carrier_server import CarrierPlatform, trace
from tests.e2e.steps import assert_error, case_of, collect, count, packet_of, record, rows
from tests.helpers import intake_body

PUSH = "/api/v1/carriers/ems/events"
FORM = "application/x-www-form-urlencoded;charset=utf-8"


@pytest.fixture
def platform():
    p = CarrierPlatform(key="ems-test-key", delay=2.5).start()
    yield p
    p.stop()


@pytest.fixture
def ems(staff, platform):
    """The installation sends with the carrier (its own numbers from an allotted range)."""
    s = staff.client.application.config["TONGBAN"]
    s.carrier, s.ems_url, s.ems_sender_no, s.ems_key = "ems", platform.url, platform.sender_no, platform.key
    s.carrier_timeout_seconds = 1
    return staff


def push(api, platform, traces, **kw):
    r = api.client.post(PUSH, data=platform.push_body(traces, **kw), content_type=FORM)
    return r.status_code, r.get_json()


def send(api) -> dict:
    from app.tasks import run_carrier_requests
    with api.client.application.app_context():
        return run_carrier_requests()


def test_a_case_runs_to_the_applicants_door_with_no_courier_of_ours(ems, platform, frozen, db):
    api = ems
    case = collect(api)
    no, tn = case["case_no"], case["tracking_no"]
    # booked as the request ended (the task runs in-process in the embedded mode): our number is the waybill
    order = platform.orders[tn]
    assert order["logisticsOrderNo"] == tn and order["waybillNo"] == tn
    assert order["sender"]["name"] == "忻州市忻府区政务服务中心" and order["receiver"]["areaCode"] == "140105"
    assert all(signed for _, signed in platform.calls)
    packet = packet_of(api, tn, as_="clerk")
    assert packet["carrier"]["name"] == "ems" and packet["carrier"]["waybill_no"] == tn
    assert packet["carrier"]["booking"]["status"] == "done"
    assert packet["carrier"]["booking"]["label_fields"]["markDestinationName"] == "太原小店"
    stored = rows(db, select(Packet).where(Packet.tracking_no == tn))[0]
    assert (stored.postage_cents, stored.postage_source) == (2200, "carrier")

    r = api.post("/api/v1/carriers/pickups", {}, as_="clerk")
    assert r.status_code == 202, r.json
    assert r.json["tracking_nos"] == [tn] and r.json["carrier"] == "ems"
    assert platform.pickups and platform.pickups[0]["waybillNos"] == [tn]
    assert platform.pickups[0]["sender"]["name"] == "忻州市忻府区政务服务中心"

    status, answer = push(api, platform, [trace(tn, "203", "2026-03-02 15:00:00", org_name="忻州市忻府区揽投部")])
    assert status == 200 and answer["responseState"] is True and answer["responseItems"][0]["success"] is True
    assert case_of(api, no)["status"] == "in_transit"
    # out of order: leaving the centre is pushed before arriving at it, and each push is pushed twice
    leave = [trace(tn, "306", "2026-03-02 22:00:00")]
    arrive = [trace(tn, "305", "2026-03-02 20:00:00")]
    for batch in (leave, leave, arrive, arrive):
        status, answer = push(api, platform, batch)
        assert status == 200 and answer["responseState"] is True
    unknown = [trace(tn, "463", "2026-03-03 06:00:00", desc="航空发运")]
    push(api, platform, unknown)
    push(api, platform, [trace(tn, "702", "2026-03-03 08:00:00"), trace(tn, "704", "2026-03-03 10:00:00")])
    packet = packet_of(api, tn, as_="clerk")
    assert [e["type"] for e in packet["events"]] == ["dispatched", "arrived_hub", "departed_hub",
                                                     "out_for_delivery", "delivered"]
    assert {e["actor"] for e in packet["events"]} == {"carrier:ems"}
    assert packet["status"] == "delivered"
    kept = {e["code"]: e for e in packet["carrier"]["events"]}
    assert kept["463"]["known"] is False and kept["463"]["outcome_text"] == "未识别的轨迹代码"
    assert kept["463"]["description"] == "航空发运"
    assert kept["306"]["outcome"] == "recorded"  # recorded once its arrival came
    assert count(db, CarrierEvent, CarrierEvent.waybill_no == tn) == 6

    # the office signs for what the carrier delivered, and decides; the result goes by the carrier too
    record(api, tn, "received", "2026-03-03T11:00:00+08:00", as_="officer")
    assert api.post(f"/api/v1/cases/{no}/accept", as_="officer").status_code == 200
    r = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "准予"}, as_="officer")
    result = r.json["result_packet"]["tracking_no"]
    home = platform.orders[result]["receiver"]
    # the full address and phone go to the carrier (the printed label masks them)
    assert home["mobile"] == "13812345678" and home["address"] == "太原市小店区平阳路12号3单元502室"
    assert home["name"] == "张晓明" and home["county"] == "小店区"
    push(api, platform, [trace(result, "203", "2026-03-04 10:00:00"), trace(result, "702", "2026-03-05 08:00:00"),
                         trace(result, "704", "2026-03-05 10:30:00", signType="2", signerName="王建国")])
    done = case_of(api, no)
    assert done["status"] == "delivered"
    delivered = [e for e in packet_of(api, result, as_="officer")["events"] if e["type"] == "delivered"][0]
    assert "王**代收" in delivered["note"]
    raw = rows(db, select(CarrierEvent).where(CarrierEvent.waybill_no == result, CarrierEvent.code == "704"))[0]
    assert "王建国" not in str(raw.raw)  # the signer's name is kept sealed


def test_a_push_with_a_wrong_digest_is_refused_and_nothing_is_kept(ems, platform, frozen, db):
    tn = collect(ems)["tracking_no"]
    status, answer = push(ems, platform, [trace(tn, "203", "2026-03-02 15:00:00")], key="forged")
    assert status == 401 and answer["responseState"] is False and answer["errorDesc"]
    assert count(db, CarrierEvent) == 0 and count(db, PacketEvent) == 0


def test_an_event_for_no_packet_of_ours_is_kept_as_unmatched(ems, platform, frozen, db):
    status, answer = push(ems, platform, [trace("1100000000999", "203", "2026-03-02 15:00:00")])
    assert status == 200 and answer["responseItems"][0]["success"] is True
    kept = rows(db, select(CarrierEvent))
    assert [(e.waybill_no, e.outcome) for e in kept] == [("1100000000999", "unmatched")]
    r = ems.client.application.test_cli_runner().invoke(args=["carriers", "pending"])
    assert "找不到对应邮件" in r.output and "1100000000999" in r.output


def test_a_booking_that_times_out_is_sent_again_later_and_once_refused_it_is_told_to_the_office(
        ems, platform, frozen, db):
    platform.failures = ["timeout"]
    tn = collect(ems)["tracking_no"]
    booking = rows(db, select(CarrierRequest).where(CarrierRequest.kind == "book"))[0]
    assert (booking.status, booking.attempts) == ("pending", 1) and "network" in booking.last_error
    assert tn not in platform.orders or platform.orders[tn]  # a late answer may still have booked it
    assert send(ems) == {"done": 0, "retried": 0, "dead": 0}  # not due yet
    frozen.set("2026-03-02T09:02:00+08:00")
    assert send(ems)["done"] == 1
    assert rows(db, select(Packet).where(Packet.tracking_no == tn))[0].waybill_no == tn

    platform.failures = ["500", "busy", "refuse"]
    other = collect(ems)["tracking_no"]
    assert rows(db, select(CarrierRequest.last_error).where(CarrierRequest.status == "pending")) == ["HTTP 500"]
    frozen.set("2026-03-02T09:10:00+08:00")
    assert send(ems)["retried"] == 1  # busy: the platform's own trouble
    frozen.set("2026-03-02T09:20:00+08:00")
    assert send(ems)["dead"] == 1  # refused: a person must look
    dead = rows(db, select(CarrierRequest).where(CarrierRequest.status == "dead"))[0]
    assert "收件地址无法识别" in dead.last_error and dead.attempts == 3
    r = ems.client.application.test_cli_runner().invoke(args=["carriers", "pending"])
    assert "已停止重试" in r.output and other in r.output
    r = ems.client.application.test_cli_runner().invoke(args=["carriers", "replay", "--dead"])
    assert "已重新排队 1 条" in r.output
    assert send(ems)["done"] == 1


def test_polling_fills_what_pushes_missed_and_never_records_an_event_twice(ems, platform, frozen, db):
    tn = collect(ems)["tracking_no"]
    push(ems, platform, [trace(tn, "203", "2026-03-02 15:00:00")])
    platform.traces[tn] = [trace(tn, "203", "2026-03-02 15:00:00"), trace(tn, "305", "2026-03-02 20:00:00")]
    r = ems.client.application.test_cli_runner().invoke(args=["carriers", "poll"])
    assert "ems：新记录轨迹 1 条" in r.output, r.output
    assert [e["type"] for e in packet_of(ems, tn, as_="clerk")["events"]] == ["dispatched", "arrived_hub"]
    assert [e.via for e in rows(db, select(CarrierEvent).order_by(CarrierEvent.at))] == ["push", "poll"]


def test_a_packet_the_carrier_says_nothing_of_for_two_working_days_becomes_an_exception(ems, platform, frozen, db):
    case = collect(ems)
    tn = case["tracking_no"]
    push(ems, platform, [trace(tn, "203", "2026-03-02 15:00:00")])
    packet = packet_of(ems, tn, as_="clerk")
    assert packet["dispatched_at"] == "2026-03-02T15:00:00+08:00" and packet["late"] is False
    frozen.set(f"{packet['expected_arrival']}T20:00:00+08:00")
    frozen.set(str(clock.beijing(clock.now()) + timedelta(days=1)))
    assert packet_of(ems, tn, as_="clerk")["late"] is True  # late detection works on the carrier's events
    r = ems.client.application.test_cli_runner().invoke(args=["sweep", "--as-of", "2026-03-03"])
    assert r.exit_code == 0, r.output
    assert count(db, PacketEvent, PacketEvent.reason == "carrier_silent") == 0
    for _ in range(2):  # once per silence, however often the sweep runs
        ems.client.application.test_cli_runner().invoke(args=["sweep", "--as-of", "2026-03-04"])
    silent = rows(db, select(PacketEvent).where(PacketEvent.reason == "carrier_silent"))
    assert len(silent) == 1 and "2个工作日无轨迹" in silent[0].note
    timeline = [e["type"] for e in case_of(ems, case["case_no"])["events"]]
    assert "packet_carrier_silent" in timeline


def test_a_withdrawal_before_pickup_cancels_the_waybill_with_the_carrier(ems, platform, frozen, db):
    case = collect(ems)
    r = ems.post(f"/api/v1/cases/{case['case_no']}/withdraw", {"reason": "申请人撤回"}, as_="clerk")
    assert r.status_code == 200, r.json
    assert platform.cancelled == [case["tracking_no"]]
    assert rows(db, select(CarrierRequest.status).where(CarrierRequest.kind == "cancel")) == ["done"]


def test_a_pickup_is_refused_where_our_own_couriers_collect(staff, frozen):
    assert_error(staff.post("/api/v1/carriers/pickups", {}, as_="clerk"), 422, "no_carrier", "office_code")


def test_the_own_carrier_takes_no_pushes(staff, frozen):
    r = staff.client.post(PUSH, data=b"msgBody=%7B%7D", content_type=FORM)
    assert r.status_code == 404


def test_the_label_of_a_carried_packet_names_the_carrier_and_its_sorting_fields_and_still_decodes(ems, platform,
                                                                                                  frozen):
    tn = collect(ems)["tracking_no"]
    r = ems.get(f"/api/v1/packets/{tn}/label.pdf", as_="clerk")
    assert r.status_code == 200
    printed = pdfs.text(r.data)
    assert "承运：中国邮政EMS政务专递" in printed and "030-01-05" in printed and "太原小店" in printed
    assert pdfs.code128(r.data) == [tn]


def test_the_window_asks_for_a_pickup_from_its_home_page(ems, platform, pages, frozen, db):
    import re
    pages.login("clerk")
    tn = collect(ems)["tracking_no"]
    home = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", pages.get("/window", as_="clerk").text))
    assert "中国邮政EMS政务专递" in home and "已下单、等待揽收： 1 件" in home and "预约揽收（1 件）" in home
    r = pages.post("/window/carrier-pickup", {"txn": "p1"}, as_="clerk")
    assert r.status_code == 303
    assert platform.pickups[0]["waybillNos"] == [tn]
    home = pages.get("/window", as_="clerk").text
    assert "揽收单号 PK000001" in home and "已完成" in home


def test_the_case_page_shows_the_carriers_events_with_the_unknown_one_flagged(ems, platform, pages, frozen):
    import re
    pages.login("clerk")
    case = collect(ems)
    tn = case["tracking_no"]
    push(ems, platform, [trace(tn, "203", "2026-03-02 15:00:00"), trace(tn, "463", "2026-03-02 18:00:00",
                                                                          desc="航空发运")])
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", pages.get(f"/window/cases/{case['case_no']}", as_="clerk").text))
    assert "承运：中国邮政EMS政务专递 · 运单号 " + tn in page
    assert "承运方轨迹（2 条）" in page and "未识别的轨迹代码（代码 463：航空发运）" in page
