"""Use cases on the real database: intake seals personal data, event chains verify and catch tampering,
scans are applied one by one, contents are checked on receipt, and reference data reloads safely."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlmodel import select

from config.database import new_session
from mailing.chain import row_payload, verify_chain
from mailing.tables import Packet, PacketEvent
from routing.reference import DATA_DIR, _rows, load_reference_data
from routing.tables import Division, Matter, Office
from tests.conftest import TRANSACTIONAL
from tests.helpers import intake_body, intake_command, person, resident_id, scan
from tracking.model.context import Actor
from tracking.commands.intake import register_case
from tracking.commands import custody
from tracking.model.inputs import parse
from tracking.model.tables import Case, CaseEvent, Notification

CLERK = Actor("clerk_xf", "clerk", "H140902", "李窗口")
COURIER = Actor("courier_1", "courier", None, "王师傅")
OFFICER = Actor("officer_xd", "officer", "D140105-GA", "赵办理")
OTHER_OFFICER = Actor("officer_ds", "officer", "D140921-GA", "钱办理")
RAW_ID = resident_id("14010519900307123")


def record_scans(db, env, actor: Actor, scans: list[dict]) -> list[custody.ScanResult]:
    """A scanner's batch as it sends it, through the use case, committed by the caller as the API does."""
    results = custody.record_scans(db, env, actor, parse(custody.ScanBatch, {"scans": scans}))
    db.commit()
    return results


@pytest.fixture
def intake(db, env, frozen):
    """无犯罪记录证明 collected at 忻府区 for 小店区: outbound packet H140902 → D140105-GA."""
    out = register_case(db, env, CLERK, intake_command(db))
    db.commit()
    return out


def _case_payload(case_no: str, ev: CaseEvent) -> dict:
    """A case event's hashed payload rebuilt from its stored row: every field but id and hash."""
    return row_payload(ev)


def _packet_payload(tracking_no: str, ev: PacketEvent) -> dict:
    """A packet event's hashed payload rebuilt from its stored row: every field but id and hash."""
    return row_payload(ev)


def _case_chain(engine, case_no: str) -> tuple[list[tuple[str, str, dict]], str]:
    """The stored case events (fresh from the database) and the case's head hash."""
    with new_session(engine) as s:
        case = s.exec(select(Case).where(Case.case_no == case_no)).one()
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
        return [(e.prev_hash, e.hash, _case_payload(case_no, e)) for e in events], case.last_hash


def _packet_chain(engine, tracking_no: str) -> tuple[list[tuple[str, str, dict]], str]:
    with new_session(engine) as s:
        packet = s.exec(select(Packet).where(Packet.tracking_no == tracking_no)).one()
        events = s.exec(select(PacketEvent).where(PacketEvent.packet_id == packet.id)
                        .order_by(PacketEvent.id)).all()
        return [(e.prev_hash, e.hash, _packet_payload(tracking_no, e)) for e in events], packet.last_hash


def _links_hold(events: list[tuple[str, str, dict]], head: str) -> bool:
    prev = ""
    for prev_hash, digest, _ in events:
        if prev_hash != prev or not digest:
            return False
        prev = digest
    return prev == head


def _deliver_outbound(db, env, tracking_no: str, *, utc: bool, contents=None) -> list[custody.ScanResult]:
    """Dispatch at the hall, through the Xinzhou hub, received by the owning office."""
    tz = "+00:00" if utc else "+08:00"
    hours = ["01", "06", "08", "02"] if utc else ["09", "14", "16", "10"]
    results = record_scans(db, env, CLERK, [scan(tracking_no, "dispatched", f"2026-03-02T{hours[0]}:30:00{tz}")])
    results += record_scans(db, env, COURIER, [
        scan(tracking_no, "arrived_hub", f"2026-03-02T{hours[1]}:00:00{tz}", "P140900"),
        scan(tracking_no, "departed_hub", f"2026-03-02T{hours[2]}:00:00{tz}", "P140900")])
    received = scan(tracking_no, "received", f"2026-03-04T{hours[3]}:00:00{tz}")
    if contents is not None:
        received["contents"] = contents
    results += record_scans(db, env, OFFICER, [received])
    assert [r.status for r in results] == ["recorded"] * 4, results
    return results


# -- intake: personal data sealed ------------------------------------------------------------------
def test_intake_stores_the_applicant_sealed_and_never_the_raw_id_number(db, env, intake):
    case_no = intake.case.case_no
    rows = db.execute(text('SELECT * FROM "case" WHERE case_no = :n'), {"n": case_no}).mappings().all()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0].values())
    assert RAW_ID not in stored
    assert RAW_ID[6:14] not in stored  # not even the birth date in the middle
    assert "13812345678" not in stored  # nor the phone
    assert "3单元502室" not in stored  # nor the address's unit and room
    assert "张晓明" not in stored  # nor the full name
    opened = env.sealer.open(rows[0]["applicant_sealed"])
    assert opened["id_number"] == RAW_ID and opened["name"] == "张晓明" and opened["phone"] == "13812345678"


def test_no_table_holds_the_raw_id_number_after_an_intake_and_its_scans(db, env, intake):
    _deliver_outbound(db, env, intake.packet.tracking_no, utc=False)
    for table in TRANSACTIONAL:
        for row in db.execute(text(f"SELECT * FROM {table}")).all():
            assert RAW_ID not in " ".join(str(v) for v in row), table


def test_intake_keeps_the_id_hash_that_the_sealer_computes_for_look_up(db, env, intake):
    case = db.exec(select(Case).where(Case.case_no == intake.case.case_no)).one()
    assert case.id_hash == env.sealer.lookup_hash(RAW_ID)
    assert case.id_hash == env.sealer.lookup_hash(" " + RAW_ID.lower() + " ")
    assert case.id_hash != env.sealer.lookup_hash(resident_id("14010519900307124"))
    assert RAW_ID not in case.id_hash


def test_intake_shows_only_masked_personal_data(db, intake):
    masked = db.exec(select(Case).where(Case.case_no == intake.case.case_no)).one().applicant_masked
    assert masked["id_number"] == RAW_ID[:6] + "********" + RAW_ID[-4:]
    assert masked["phone"] == "138******78"
    assert masked["name"].startswith("张") and "晓明" not in masked["name"]


def test_the_check_code_is_stored_sealed(db, env, intake):
    case = db.exec(select(Case).where(Case.case_no == intake.case.case_no)).one()
    assert intake.check_code not in case.check_code_sealed
    assert env.sealer.open(case.check_code_sealed) == intake.check_code


def test_an_organisation_is_found_by_the_hash_of_its_credit_code(db, env, frozen):
    from tracking.model.identity import credit_code_check_char
    code = "91140100MA0K" + "12345"
    code += credit_code_check_char(code)
    body = intake_body(matter_code="RS-DWCB-01", applicant={
        "kind": "organisation", "name": "太原市某某有限公司", "credit_code": code, "phone": "0351-4041234",
        "address": "太原市小店区长治路1号", "division_code": "140105", "agent": person()},
        materials=[{"code": c, "copies": 1, "original": o} for c, o in [
            ("registration_form", True), ("business_licence", False), ("legal_rep_id_card", False),
            ("power_of_attorney", True), ("agent_id_card", False)]],
        result_delivery={"method": "pickup"})
    out = register_case(db, env, CLERK, intake_command(db, body))
    db.commit()
    assert out.case.owning_office == "D140100-RS"
    assert out.case.id_hash == env.sealer.lookup_hash(code)
    stored = " ".join(str(v) for v in db.execute(text('SELECT * FROM "case"')).one())
    assert RAW_ID not in stored  # the agent's ID is sealed too


# -- event chains ----------------------------------------------------------------------------------
def test_the_case_events_link_each_to_the_previous_hash_up_to_the_cases_head(db, env, engine, intake):
    _deliver_outbound(db, env, intake.packet.tracking_no, utc=False)
    events, head = _case_chain(engine, intake.case.case_no)
    assert [p["type"] for _, _, p in events] == ["collected", "in_transit", "received"]
    assert _links_hold(events, head)


def test_the_packet_events_link_each_to_the_previous_hash_up_to_the_packets_head(db, env, engine, intake):
    _deliver_outbound(db, env, intake.packet.tracking_no, utc=False)
    events, head = _packet_chain(engine, intake.packet.tracking_no)
    assert [p["type"] for _, _, p in events] == ["dispatched", "arrived_hub", "departed_hub", "received"]
    assert _links_hold(events, head)


def test_the_intake_event_verifies_against_its_stored_hash(engine, intake):
    events, head = _case_chain(engine, intake.case.case_no)
    assert len(events) == 1 and events[0][1] == head
    assert verify_chain(events)


def test_tampering_with_the_stored_data_of_the_intake_event_breaks_verification(db, engine, intake):
    case_id = intake.case.id
    db.execute(text("UPDATE caseevent SET office_code = 'H140921' WHERE case_id = :c"), {"c": case_id})
    db.commit()
    events, _ = _case_chain(engine, intake.case.case_no)
    assert not verify_chain(events)


def test_packet_events_scanned_with_utc_times_verify_against_their_stored_hashes(db, env, engine, intake):
    _deliver_outbound(db, env, intake.packet.tracking_no, utc=True)
    events, head = _packet_chain(engine, intake.packet.tracking_no)
    assert verify_chain(events) and events[-1][1] == head


@pytest.mark.parametrize("column, value", [("office_code", "'P140100'"), ("actor", "'mallory'"),
                                           ("type", "'arrived_hub'"), ("at", "at")])
def test_tampering_with_a_stored_packet_event_breaks_verification(db, env, engine, intake, column, value):
    tracking_no = intake.packet.tracking_no
    _deliver_outbound(db, env, tracking_no, utc=True)
    assert verify_chain(_packet_chain(engine, tracking_no)[0])
    packet_id = db.exec(select(Packet.id).where(Packet.tracking_no == tracking_no)).one()
    target = db.exec(select(PacketEvent.id).where(PacketEvent.packet_id == packet_id,
                                                  PacketEvent.type == "departed_hub")).one()
    if column == "at":
        ev = db.get(PacketEvent, target)
        ev.at = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)
        db.add(ev)
    else:
        db.execute(text(f"UPDATE packetevent SET {column} = {value} WHERE id = :i"), {"i": target})
    db.commit()
    assert not verify_chain(_packet_chain(engine, tracking_no)[0])


def test_deleting_a_stored_packet_event_breaks_verification(db, env, engine, intake):
    tracking_no = intake.packet.tracking_no
    _deliver_outbound(db, env, tracking_no, utc=True)
    db.execute(text("DELETE FROM packetevent WHERE type = 'arrived_hub'"))
    db.commit()
    events, head = _packet_chain(engine, tracking_no)
    assert not verify_chain(events)


def test_case_and_packet_events_scanned_in_beijing_time_verify_against_their_stored_hashes(db, env, engine, intake):
    _deliver_outbound(db, env, intake.packet.tracking_no, utc=False)
    packet_events, _ = _packet_chain(engine, intake.packet.tracking_no)
    case_events, _ = _case_chain(engine, intake.case.case_no)
    assert verify_chain(packet_events)
    assert verify_chain(case_events)


@pytest.mark.parametrize("column, value", [("note", "'一切正常'"), ("role", "'officer'"),
                                           ("status_after", "'lost'")])
def test_tampering_with_any_recorded_field_of_a_packet_event_breaks_verification(db, env, engine, intake,
                                                                                 column, value):
    tracking_no = intake.packet.tracking_no
    _deliver_outbound(db, env, tracking_no, utc=True)
    db.execute(text(f"UPDATE packetevent SET {column} = {value} WHERE type = 'arrived_hub'"))
    db.commit()
    with new_session(engine) as s:
        stored = s.exec(select(PacketEvent).order_by(PacketEvent.id)).all()
        # the rebuilt payload can only use what the service hashes; a tamper-evident row must change it
        events = [(e.prev_hash, e.hash, _packet_payload(tracking_no, e)) for e in stored]
    assert not verify_chain(events)


# -- scans -----------------------------------------------------------------------------------------
def test_a_batch_commits_its_good_scans_even_when_one_of_them_fails(db, env, engine, intake):
    tracking_no = intake.packet.tracking_no
    record_scans(db, env, CLERK, [scan(tracking_no, "dispatched", "2026-03-02T09:30:00+08:00")])
    batch = [
        scan(tracking_no, "arrived_hub", "2026-03-02T14:00:00+08:00", "P140900"),
        scan(tracking_no, "arrived_hub", "2026-03-02T14:30:00+08:00", "P140100"),  # arrival after arrival
        scan(tracking_no, "received", "2026-03-02T15:00:00+08:00"),  # a courier may not sign for an office
        scan("EA000000000CN", "arrived_hub", "2026-03-02T15:10:00+08:00", "P140900"),  # bad check digit
        scan("EA000000005CN", "arrived_hub", "2026-03-02T15:20:00+08:00", "P140900"),  # no such packet
        {"event_id": "no-type", "tracking_no": tracking_no, "at": "2026-03-02T15:30:00+08:00"},  # malformed
        scan(tracking_no, "departed_hub", "2026-03-02T16:00:00+08:00", "P140900"),
    ]
    results = record_scans(db, env, COURIER, batch)
    assert [r.event_id for r in results] == [s["event_id"] for s in batch]
    assert [r.status for r in results] == ["recorded", "rejected", "rejected", "rejected", "rejected",
                                              "rejected", "recorded"]
    assert [r.error.code for r in results if r.status == "rejected"] == [
        "invalid_transition", "wrong_office", "invalid_tracking_no", "unknown_packet", "invalid_request"]
    with new_session(engine) as s:  # committed: another session sees them
        packet = s.exec(select(Packet).where(Packet.tracking_no == tracking_no)).one()
        types = s.exec(select(PacketEvent.type).where(PacketEvent.packet_id == packet.id)
                       .order_by(PacketEvent.id)).all()
        assert packet.status == "departed_hub"
        assert types == ["dispatched", "arrived_hub", "departed_hub"]


def test_a_batch_is_left_for_its_caller_to_commit_and_a_refused_scan_is_undone_alone(db, env, engine, intake):
    """Each scan runs in a savepoint: a scan refused after its event was written (the contents check names
    a material the packet does not hold) is rolled back to its savepoint, the next one builds on what is
    left, and nothing is committed until the caller commits."""
    tracking_no = intake.packet.tracking_no
    record_scans(db, env, CLERK, [scan(tracking_no, "dispatched", "2026-03-02T09:30:00+08:00")])
    batch = parse(custody.ScanBatch, {"scans": [
        scan(tracking_no, "received", "2026-03-03T10:00:00+08:00", contents=[{"code": "no_such", "status": "ok"}]),
        scan(tracking_no, "received", "2026-03-03T10:05:00+08:00", contents=[{"code": "id_card", "status": "missing"}]),
    ]})
    results = custody.record_scans(db, env, OFFICER, batch)
    assert [(r.status, r.error.code if r.error else None) for r in results] == [
        ("rejected", "unknown_material"), ("recorded", None)]

    def stored() -> tuple[str, list[str]]:
        with new_session(engine, read_only=True) as s:
            packet = s.exec(select(Packet).where(Packet.tracking_no == tracking_no)).one()
            return packet.status, s.exec(select(PacketEvent.type).where(PacketEvent.packet_id == packet.id)
                                         .order_by(PacketEvent.id)).all()

    assert stored() == ("dispatched", ["dispatched"])
    db.commit()
    assert stored() == ("received", ["dispatched", "received", "exception"])


def test_a_batch_is_applied_in_the_order_of_the_scan_times(db, env, intake):
    tracking_no = intake.packet.tracking_no
    batch = [scan(tracking_no, "departed_hub", "2026-03-02T16:00:00+08:00", "P140900"),
             scan(tracking_no, "arrived_hub", "2026-03-02T14:00:00+08:00", "P140900"),
             scan(tracking_no, "dispatched", "2026-03-02T09:30:00+08:00", "H140902")]
    results = record_scans(db, env, COURIER, batch)
    assert [r.status for r in results] == ["recorded"] * 3
    assert results[0].packet_status == "departed_hub"


def test_a_late_scan_that_fits_between_recorded_events_is_kept_in_the_history(db, env, intake):
    tracking_no = intake.packet.tracking_no
    record_scans(db, env, COURIER, [scan(tracking_no, "dispatched", "2026-03-02T09:30:00+08:00", "H140902"),
                                    scan(tracking_no, "arrived_hub", "2026-03-02T14:00:00+08:00", "P140900"),
                                    scan(tracking_no, "departed_hub", "2026-03-02T16:00:00+08:00", "P140900")])
    late = record_scans(db, env, COURIER, [
        scan(tracking_no, "exception", "2026-03-02T15:00:00+08:00", "P140900", reason="damaged"),
        scan(tracking_no, "arrived_hub", "2026-03-02T15:30:00+08:00", "P140900")])
    assert late[0].status == "recorded"
    assert late[1].status == "rejected" and late[1].error.code == "invalid_transition"
    packet = db.exec(select(Packet).where(Packet.tracking_no == tracking_no)).one()
    db.refresh(packet)
    assert packet.status == "departed_hub"
    assert packet.last_event_at == datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    events = db.exec(select(CaseEvent.type).where(CaseEvent.case_id == intake.case.id)).all()
    assert "packet_damaged" in events


def test_a_dispatch_scanned_by_a_clerk_of_another_hall_is_refused_as_wrong_office(db, env, intake):
    other = Actor("clerk_dx", "clerk", "H140921")
    results = record_scans(db, env, other, [scan(intake.packet.tracking_no, "dispatched",
                                                 "2026-03-02T09:30:00+08:00")])
    assert results[0].status == "rejected" and results[0].error.code == "wrong_office"


def test_a_scan_recorded_twice_is_a_duplicate_and_is_stored_once(db, env, intake):
    dispatched = scan(intake.packet.tracking_no, "dispatched", "2026-03-02T09:30:00+08:00")
    first = record_scans(db, env, CLERK, [dispatched, dispatched])
    again = record_scans(db, env, CLERK, [dispatched])
    assert [r.status for r in first + again] == ["recorded", "duplicate", "duplicate"]
    assert len(db.exec(select(PacketEvent)).all()) == 1


def test_the_same_scan_sent_by_two_requests_at_once_is_recorded_once_and_the_other_is_told_duplicate(
        db, env, engine, intake):
    """Both pass the check for a known event_id before either commits: the unique constraint stops the second
    inside its savepoint (PostgreSQL), or the second waits for the first and sees its event (SQLite)."""
    dispatched = scan(intake.packet.tracking_no, "dispatched", "2026-03-02T09:30:00+08:00")
    barrier = threading.Barrier(2)
    statuses: list[str] = []

    def attempt():
        session = new_session(engine)
        try:
            barrier.wait()
            batch = parse(custody.ScanBatch, {"scans": [dispatched]})
            statuses.append(custody.record_scans(session, env, CLERK, batch)[0].status)
            session.commit()
        finally:
            session.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == ["duplicate", "recorded"]
    db.rollback()
    assert len(db.exec(select(PacketEvent)).all()) == 1


def test_a_received_scan_by_another_office_is_refused_as_wrong_office(db, env, intake):
    tracking_no = intake.packet.tracking_no
    record_scans(db, env, CLERK, [scan(tracking_no, "dispatched", "2026-03-02T09:30:00+08:00")])
    results = record_scans(db, env, OTHER_OFFICER, [scan(tracking_no, "received", "2026-03-03T10:00:00+08:00")])
    assert results[0].status == "rejected" and results[0].error.code == "wrong_office"


def test_the_outbound_scans_move_the_case_to_in_transit_and_then_received(db, env, intake):
    tracking_no = intake.packet.tracking_no
    record_scans(db, env, CLERK, [scan(tracking_no, "dispatched", "2026-03-02T09:30:00+08:00")])
    assert db.get(Case, intake.case.id).status == "in_transit"
    record_scans(db, env, OFFICER, [scan(tracking_no, "received", "2026-03-03T10:00:00+08:00")])
    case = db.get(Case, intake.case.id)
    db.refresh(case)
    assert case.status == "received" and case.received_at is not None


def test_a_received_scan_listing_a_missing_item_records_the_problem_on_the_case(db, env, intake):
    contents = [{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "missing"}]
    _deliver_outbound(db, env, intake.packet.tracking_no, utc=False, contents=contents)
    events = db.exec(select(CaseEvent).where(CaseEvent.case_id == intake.case.id)
                     .order_by(CaseEvent.id)).all()
    checked = [e for e in events if e.type == "contents_checked"]
    assert len(checked) == 1
    problem = {"code": "id_card", "name": checked[0].data["problems"][0]["name"], "status": "missing",
               "tracking_no": intake.packet.tracking_no}
    assert checked[0].data["problems"] == [problem]
    assert checked[0].data["contents"] == contents
    assert checked[0].office_code == "D140105-GA"
    # item by item, then an exception on the packet; the case is still received: the office decides
    assert [e.type for e in events[-4:]] == ["contents_checked", "material_missing", "packet_contents_missing",
                                             "received"]
    assert events[-3].data["code"] == "id_card"
    db.refresh(intake.case)
    assert intake.case.contents_problems == [problem]
    notes = db.exec(select(Notification).where(Notification.case_id == intake.case.id,
                                               Notification.office_code == "H140902")).all()
    assert any(intake.packet.tracking_no in n.text for n in notes)


def test_a_received_scan_with_everything_present_records_no_problem(db, env, intake):
    contents = [{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "ok"}]
    _deliver_outbound(db, env, intake.packet.tracking_no, utc=False, contents=contents)
    checked = db.exec(select(CaseEvent).where(CaseEvent.case_id == intake.case.id,
                                              CaseEvent.type == "contents_checked")).all()
    assert len(checked) == 1 and checked[0].data["problems"] == []


# -- init-db: reference data reloads -----------------------------------------------------------------
def test_loading_the_reference_data_again_adds_nothing(db):
    counts = {t: db.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
              for t in ("division", "department", "office", "matter")}
    added = load_reference_data(db)
    db.commit()
    assert added == {"divisions": 0, "departments": 0, "offices": 0, "matters": 0}
    assert counts == {t: db.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                      for t in ("division", "department", "office", "matter")}
    assert counts["office"] == len(_rows(DATA_DIR / "offices.csv"))
    assert counts["division"] == len(_rows(DATA_DIR / "divisions.csv"))


@pytest.fixture
def edited_office(db):
    """An office an admin renamed; put back as the data file has it afterwards."""
    original = {r["code"]: r for r in _rows(DATA_DIR / "offices.csv")}["H140902"]
    office = db.get(Office, "H140902")
    office.name, office.phone, office.edited = "忻府区政务服务中心（新址）", "0350-1234567", True
    db.add(office)
    db.commit()
    yield office
    office = db.get(Office, "H140902")
    office.name, office.phone, office.edited = original["name"], original["phone"], False
    db.add(office)
    db.commit()


def test_reloading_keeps_an_office_an_admin_edited(db, edited_office):
    load_reference_data(db)
    db.commit()
    db.expire_all()
    office = db.get(Office, "H140902")
    assert (office.name, office.phone, office.edited) == ("忻府区政务服务中心（新址）", "0350-1234567", True)


def test_reloading_restores_an_office_nobody_marked_as_edited(db):
    original = {r["code"]: r for r in _rows(DATA_DIR / "offices.csv")}["H140921"]
    office = db.get(Office, "H140921")
    office.name = "被误改的名称"
    db.add(office)
    db.commit()
    load_reference_data(db)
    db.commit()
    db.expire_all()
    assert db.get(Office, "H140921").name == original["name"]


def test_reloading_keeps_a_matter_an_admin_edited(db):
    matter = db.get(Matter, "GA-WFZM-01")
    old_days, old_edited = matter.promised_days, matter.edited
    try:
        matter.promised_days, matter.edited = 3, True
        db.add(matter)
        db.commit()
        load_reference_data(db)
        db.commit()
        db.expire_all()
        assert db.get(Matter, "GA-WFZM-01").promised_days == 3
    finally:
        matter = db.get(Matter, "GA-WFZM-01")
        matter.promised_days, matter.edited = old_days, old_edited
        db.add(matter)
        db.commit()


def test_reference_divisions_are_all_present_after_loading(db):
    codes = set(db.exec(select(Division.code)).all())
    assert {"140000", "140902", "110000", "110105", "610100"} <= codes


def test_a_removed_last_event_is_caught_by_the_head_hash_kept_on_the_packet(db, env, engine, intake):
    from mailing.chain import verify_rows
    tracking_no = intake.packet.tracking_no
    _deliver_outbound(db, env, tracking_no, utc=False)
    with new_session(engine) as s:
        packet = s.exec(select(Packet).where(Packet.tracking_no == tracking_no)).one()
        rows = s.exec(select(PacketEvent).where(PacketEvent.packet_id == packet.id).order_by(PacketEvent.id)).all()
        case = s.get(Case, packet.case_id)
        case_rows = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
        assert verify_rows(rows, packet.last_hash)
        assert verify_rows(case_rows, case.last_hash)
        assert not verify_rows(rows[:-1], packet.last_hash)


# -- handover sheets ------------------------------------------------------------------------------
def test_the_packets_on_a_handed_over_sheet_cannot_change_whatever_code_tries(db, env, intake):
    from datetime import datetime, timezone

    from mailing.tables import Manifest, ManifestItem, HandedOverManifest
    sheet = Manifest(manifest_no="JJ-H140902-20260302-901", from_office="H140902", to_party="courier:courier",
                     created_by="clerk", created_at=datetime(2026, 3, 2, 1, tzinfo=timezone.utc))
    db.add(sheet)
    db.flush()
    db.add(ManifestItem(manifest_id=sheet.id, packet_id=intake.packet.id, position=1))
    db.flush()  # open: the list may still be made
    sheet.handed_over_at = datetime(2026, 3, 2, 7, tzinfo=timezone.utc)
    db.add(sheet)
    db.flush()
    with pytest.raises(HandedOverManifest), db.begin_nested():  # nothing added
        db.add(ManifestItem(manifest_id=sheet.id, packet_id=intake.packet.id, position=2))
        db.flush()
    item = db.exec(select(ManifestItem).where(ManifestItem.manifest_id == sheet.id)).one()
    db.delete(item)  # nothing taken away
    with pytest.raises(HandedOverManifest):
        db.flush()
    db.rollback()
