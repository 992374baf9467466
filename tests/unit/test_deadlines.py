"""The law's clock, pure: tracking.deadlines.case_deadlines and packet_late on cases and packets built in
memory (no database, no session), with the official working-day calendar."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from mailing.tables import Packet
from routing.workdays import WorkCalendar
from tracking.model.deadlines import STAGES, Limits, case_deadlines, packet_late
from tracking.model.tables import Case

HALL, OWNER = "H140902", "D140105-GA"
PROMISED = 5


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.official()


def at(text: str) -> datetime:
    """A Beijing wall-clock time, stored as the service stores it: aware UTC."""
    return datetime.fromisoformat(text + "+08:00").astimezone(timezone.utc)


def d(text: str) -> date:
    return date.fromisoformat(text)


def make_case(**fields) -> Case:
    values = dict(id=1, case_no="1409022026030200001", matter_code="GA-WFZM-01", status="collected",
                  collecting_office=HALL, owning_office=OWNER, applicant_kind="person", applicant_sealed="x",
                  id_hash="h", check_code_sealed="c", result_method="mail", intake_date=d("2026-03-02"),
                  due_date=d("2026-03-09"), created_by="clerk", created_at=at("2026-03-02T09:00:00"),
                  deemed_accepted=False, flags=[], contents_problems=[])
    values.update(fields)
    return Case(**values)


def make_packet(id: int = 1, kind: str = "outbound", status: str = "created", **fields) -> Packet:
    values = dict(id=id, tracking_no=f"EA{id:09d}CN", kind=kind, status=status, case_id=1,
                  from_office=HALL, to_office=OWNER, to_division="140105", contents=[], route=[],
                  expected_arrival=d("2026-03-05"), created_at=at("2026-03-02T09:30:00"))
    values.update(fields)
    return Packet(**values)


def stages(case: Case, packets: list[Packet], cal: WorkCalendar, today: str, *, limits: Limits | None = None,
           promised: int = PROMISED) -> dict:
    result = case_deadlines(case, packets, cal, limits or Limits(), promised, d(today))
    assert [s.stage for s in result] == list(STAGES)
    return {s.stage: s for s in result}


# ready-made moments of a case that went to plan (Monday 2 March 2026 onwards)
def dispatched_outbound(**fields) -> Packet:
    values = dict(status="dispatched", dispatched_at=at("2026-03-02T16:00:00"), expected_arrival=d("2026-03-05"))
    values.update(fields)
    return make_packet(**values)


def received_outbound(**fields) -> Packet:
    values = dict(status="received", dispatched_at=at("2026-03-02T16:00:00"), expected_arrival=d("2026-03-05"),
                  arrived_at=at("2026-03-04T10:00:00"))
    values.update(fields)
    return make_packet(**values)


# -- nothing is due before it can start -------------------------------------------------------------
def test_a_new_case_has_only_the_dispatch_stage_due_and_the_others_without_a_due_date(cal):
    s = stages(make_case(), [make_packet()], cal, "2026-03-02")
    assert s["dispatch"].due == d("2026-03-03")
    assert s["dispatch"].office_code == HALL
    for name in ("receipt", "supplement_notice", "decision", "result_dispatch"):
        assert s[name].due is None, name
        assert s[name].done_at is None and s[name].overdue is False, name
        assert s[name].office_code == OWNER, name


def test_a_stage_without_a_due_date_is_never_overdue_however_late_it_is(cal):
    s = stages(make_case(), [make_packet()], cal, "2027-12-31")
    assert s["receipt"].overdue is False
    assert s["decision"].overdue is False
    assert s["dispatch"].overdue is True  # the only one that could start


def test_the_view_of_a_stage_carries_stage_title_due_done_overdue_and_office(cal):
    s = stages(make_case(), [dispatched_outbound()], cal, "2026-03-02")
    assert s["dispatch"].view() == {"stage": "dispatch", "title": "寄出申请材料", "due": "2026-03-03",
                                    "done_at": "2026-03-02T16:00:00+08:00", "overdue": False, "office_code": HALL}
    assert s["decision"].view()["due"] is None


# -- dispatch ----------------------------------------------------------------------------------------
def test_dispatch_is_due_one_working_day_after_intake(cal):
    assert stages(make_case(intake_date=d("2026-03-06")), [], cal, "2026-03-06")["dispatch"].due == d("2026-03-09")
    # 30 September 2026: 1–7 October are off
    assert stages(make_case(intake_date=d("2026-09-30")), [], cal, "2026-09-30")["dispatch"].due == d("2026-10-08")


def test_dispatch_still_open_is_overdue_only_after_its_due_day(cal):
    case = make_case(intake_date=d("2026-09-30"))
    assert stages(case, [make_packet()], cal, "2026-10-08")["dispatch"].overdue is False
    late = stages(case, [make_packet()], cal, "2026-10-09")["dispatch"]
    assert late.overdue is True and late.open_overdue is True


def test_dispatch_is_done_by_the_outbound_packets_dispatch_scan(cal):
    s = stages(make_case(status="in_transit"), [dispatched_outbound(dispatched_at=at("2026-03-03T17:00:00"))], cal,
               "2026-03-20")
    assert s["dispatch"].done_at == at("2026-03-03T17:00:00")
    assert s["dispatch"].overdue is False


def test_dispatch_done_after_its_due_day_is_overdue(cal):
    s = stages(make_case(status="in_transit"), [dispatched_outbound(dispatched_at=at("2026-03-04T08:00:00"))], cal,
               "2026-03-04")
    assert s["dispatch"].due == d("2026-03-03")
    assert s["dispatch"].overdue is True
    assert s["dispatch"].open_overdue is False  # done, nobody has to act any more


def test_dispatch_is_judged_by_the_beijing_date_of_the_scan(cal):
    # 16:30 UTC on 3 March is 00:30 on 4 March in Beijing: a day late
    late = dispatched_outbound(dispatched_at=datetime(2026, 3, 3, 16, 30, tzinfo=timezone.utc))
    assert stages(make_case(status="in_transit"), [late], cal, "2026-03-04")["dispatch"].overdue is True
    # 15:30 UTC is 23:30 on 3 March: in time
    in_time = dispatched_outbound(dispatched_at=datetime(2026, 3, 3, 15, 30, tzinfo=timezone.utc))
    assert stages(make_case(status="in_transit"), [in_time], cal, "2026-03-04")["dispatch"].overdue is False
    # SQLite gives naive datetimes back: they are UTC
    naive = dispatched_outbound(dispatched_at=datetime(2026, 3, 3, 16, 30))
    assert stages(make_case(status="in_transit"), [naive], cal, "2026-03-04")["dispatch"].overdue is True


def test_a_packet_of_another_kind_does_not_count_as_the_dispatch(cal):
    supplement = make_packet(id=2, kind="supplement", status="dispatched", dispatched_at=at("2026-03-02T16:00:00"))
    s = stages(make_case(), [make_packet(), supplement], cal, "2026-03-04")
    assert s["dispatch"].done_at is None and s["dispatch"].overdue is True


def test_a_configured_dispatch_limit_moves_the_due_date(cal):
    s = stages(make_case(), [], cal, "2026-03-02", limits=Limits(dispatch=3))
    assert s["dispatch"].due == d("2026-03-05")


# -- receipt -----------------------------------------------------------------------------------------
def test_receipt_has_no_due_date_until_the_materials_leave(cal):
    assert stages(make_case(), [make_packet(expected_arrival=d("2026-03-05"))], cal, "2026-03-09")["receipt"].due \
        is None


def test_receipt_is_due_on_the_expected_arrival_while_the_materials_travel(cal):
    case = make_case(status="in_transit")
    s = stages(case, [dispatched_outbound(expected_arrival=d("2026-03-05"))], cal, "2026-03-05")
    assert s["receipt"].due == d("2026-03-05")
    assert s["receipt"].office_code == OWNER
    assert s["receipt"].overdue is False
    assert stages(case, [dispatched_outbound(expected_arrival=d("2026-03-05"))], cal, "2026-03-06")["receipt"] \
        .overdue is True


def test_receipt_is_due_on_the_day_the_courier_delivered(cal):
    # delivered on Wednesday 4 March, a day before it was expected: receipt due that same day
    delivered = dispatched_outbound(status="delivered", arrived_at=at("2026-03-04T10:00:00"))
    case = make_case(status="in_transit")
    s = stages(case, [delivered], cal, "2026-03-04")
    assert s["receipt"].due == d("2026-03-04")
    assert s["receipt"].overdue is False
    assert stages(case, [delivered], cal, "2026-03-05")["receipt"].overdue is True


def test_receipt_is_done_when_the_owning_office_receives(cal):
    case = make_case(status="received", received_at=at("2026-03-04T11:00:00"))
    s = stages(case, [received_outbound(arrived_at=at("2026-03-04T11:00:00"))], cal, "2026-03-06")
    assert s["receipt"].done_at == at("2026-03-04T11:00:00")
    assert s["receipt"].overdue is False


def test_receipt_a_day_after_delivery_is_overdue(cal):
    delivered = dispatched_outbound(status="received", arrived_at=at("2026-03-04T10:00:00"))
    case = make_case(status="received", received_at=at("2026-03-05T09:00:00"))
    s = stages(case, [delivered], cal, "2026-03-05")
    assert s["receipt"].due == d("2026-03-04")
    assert s["receipt"].overdue is True


def test_after_a_lost_outbound_the_receipt_follows_the_replacements_expected_arrival(cal):
    lost = make_packet(1, status="lost", dispatched_at=at("2026-03-02T16:00:00"), expected_arrival=d("2026-03-05"))
    replacement = make_packet(2, kind="replacement", status="dispatched", replaces_id=1,
                              dispatched_at=at("2026-03-10T10:00:00"), expected_arrival=d("2026-03-13"))
    case = make_case(status="in_transit")
    s = stages(case, [lost, replacement], cal, "2026-03-12")
    assert s["receipt"].due == d("2026-03-13")
    assert s["receipt"].overdue is False
    # the dispatch stage was done by the first outbound, in time
    assert s["dispatch"].done_at == at("2026-03-02T16:00:00") and s["dispatch"].overdue is False
    assert stages(case, [lost, replacement], cal, "2026-03-16")["receipt"].overdue is True


def test_after_a_lost_outbound_the_receipt_follows_the_replacements_delivery(cal):
    lost = make_packet(1, status="lost", dispatched_at=at("2026-03-02T16:00:00"), expected_arrival=d("2026-03-05"))
    replacement = make_packet(2, kind="replacement", status="delivered", replaces_id=1,
                              dispatched_at=at("2026-03-10T10:00:00"), expected_arrival=d("2026-03-13"),
                              arrived_at=at("2026-03-12T10:00:00"))
    case = make_case(status="received", received_at=at("2026-03-12T15:00:00"))
    s = stages(case, [replacement, lost], cal, "2026-03-12")
    assert s["receipt"].due == d("2026-03-12")
    assert s["receipt"].overdue is False


def test_a_supplement_packet_does_not_move_the_receipt_of_the_application(cal):
    supplement = make_packet(3, kind="supplement", status="dispatched", dispatched_at=at("2026-03-10T10:00:00"),
                             expected_arrival=d("2026-03-13"))
    case = make_case(status="received", received_at=at("2026-03-04T11:00:00"))
    s = stages(case, [received_outbound(), supplement], cal, "2026-03-13")
    assert s["receipt"].due == d("2026-03-04")


# -- supplement notice -------------------------------------------------------------------------------
def test_the_supplement_notice_is_due_five_working_days_after_receipt(cal):
    # received Thu 24 September 2026: 28, 29, 30 Sep, 8, 9 Oct (中秋 25–27 Sep, 国庆 1–7 Oct off)
    case = make_case(status="received", intake_date=d("2026-09-21"), received_at=at("2026-09-24T10:00:00"))
    s = stages(case, [], cal, "2026-10-09")
    assert s["supplement_notice"].due == d("2026-10-09")
    assert s["supplement_notice"].office_code == OWNER
    assert s["supplement_notice"].overdue is False
    assert stages(case, [], cal, "2026-10-10")["supplement_notice"].overdue is True


def test_a_supplement_request_on_the_last_day_is_in_time(cal):
    case = make_case(status="supplement_requested", received_at=at("2026-03-04T10:00:00"),
                     supplement_requested_at=at("2026-03-11T17:00:00"))
    s = stages(case, [], cal, "2026-03-20")
    assert s["supplement_notice"].due == d("2026-03-11")
    assert s["supplement_notice"].done_at == at("2026-03-11T17:00:00")
    assert s["supplement_notice"].overdue is False
    assert s["supplement_notice"].missed is False


def test_a_supplement_request_after_the_five_days_is_overdue(cal):
    case = make_case(status="supplement_requested", received_at=at("2026-03-04T10:00:00"),
                     supplement_requested_at=at("2026-03-12T09:00:00"))
    assert stages(case, [], cal, "2026-03-12")["supplement_notice"].overdue is True


def test_acceptance_closes_the_supplement_notice_stage(cal):
    case = make_case(status="accepted", received_at=at("2026-03-04T10:00:00"), accepted_at=at("2026-03-05T10:00:00"))
    s = stages(case, [], cal, "2026-03-20")
    assert s["supplement_notice"].done_at == at("2026-03-05T10:00:00")
    assert s["supplement_notice"].overdue is False and s["supplement_notice"].missed is False


def test_rejection_closes_the_supplement_notice_stage(cal):
    case = make_case(status="rejected", received_at=at("2026-03-04T10:00:00"), ended_at=at("2026-03-06T10:00:00"),
                     reason="不属于本机关职权范围")
    s = stages(case, [], cal, "2026-03-20")
    assert s["supplement_notice"].done_at == at("2026-03-06T10:00:00")
    assert s["supplement_notice"].overdue is False
    assert s["decision"].due is None and s["result_dispatch"].due is None


def test_a_rejection_after_the_five_days_is_overdue(cal):
    case = make_case(status="rejected", received_at=at("2026-03-04T10:00:00"), ended_at=at("2026-03-13T10:00:00"))
    assert stages(case, [], cal, "2026-03-13")["supplement_notice"].overdue is True


def test_a_deemed_acceptance_marks_the_supplement_notice_missed_and_overdue(cal):
    received = at("2026-03-04T10:00:00")
    case = make_case(status="accepted", received_at=received, accepted_at=received, deemed_accepted=True)
    s = stages(case, [received_outbound()], cal, "2026-03-12")
    notice = s["supplement_notice"]
    assert notice.due == d("2026-03-11")
    assert notice.done_at is None
    assert notice.missed is True
    assert notice.overdue is True
    assert notice.open_overdue is False  # nobody can still act on it
    assert notice.view()["missed"] is True
    # the decision is counted from the deemed acceptance, as of receipt: Wed 4 March + 5 = Wed 11 March
    assert s["decision"].due == d("2026-03-11")


def test_a_configured_supplement_notice_limit_moves_the_due_date(cal):
    case = make_case(status="received", received_at=at("2026-03-04T10:00:00"))
    assert stages(case, [], cal, "2026-03-04", limits=Limits(supplement_notice=3))["supplement_notice"].due == \
        d("2026-03-09")


# -- decision ----------------------------------------------------------------------------------------
def test_the_decision_is_due_the_promised_working_days_after_acceptance_across_national_day(cal):
    # accepted Tue 29 September 2026, 5 working days: 30 Sep, 8, 9, 10 (Saturday, 调休上班), 12 Oct
    case = make_case(status="accepted", received_at=at("2026-09-28T10:00:00"), accepted_at=at("2026-09-29T10:00:00"))
    s = stages(case, [], cal, "2026-10-12")
    assert s["decision"].due == d("2026-10-12")
    assert s["decision"].office_code == OWNER
    assert s["decision"].overdue is False
    assert stages(case, [], cal, "2026-10-13")["decision"].overdue is True


def test_the_decision_uses_the_matters_promised_days(cal):
    case = make_case(status="accepted", received_at=at("2026-03-04T10:00:00"), accepted_at=at("2026-03-04T11:00:00"))
    assert stages(case, [], cal, "2026-03-04", promised=3)["decision"].due == d("2026-03-09")
    assert stages(case, [], cal, "2026-03-04", promised=20)["decision"].due == d("2026-04-01")


def test_a_decision_on_its_due_day_is_in_time_and_a_day_later_overdue(cal):
    accepted = dict(received_at=at("2026-09-28T10:00:00"), accepted_at=at("2026-09-29T10:00:00"))
    on_time = make_case(status="decided", decided_at=at("2026-10-12T16:00:00"), outcome="approved", **accepted)
    assert stages(on_time, [], cal, "2026-10-20")["decision"].overdue is False
    late = make_case(status="decided", decided_at=at("2026-10-13T09:00:00"), outcome="approved", **accepted)
    s = stages(late, [], cal, "2026-10-13")
    assert s["decision"].overdue is True
    assert s["decision"].done_at == at("2026-10-13T09:00:00")


# -- result dispatch ---------------------------------------------------------------------------------
def _decided(**fields) -> Case:
    values = dict(status="decided", received_at=at("2026-03-04T10:00:00"), accepted_at=at("2026-03-05T10:00:00"),
                  decided_at=at("2026-03-10T15:00:00"), outcome="approved")
    values.update(fields)
    return make_case(**values)


def test_a_paper_result_is_due_one_working_day_after_the_decision_and_done_when_dispatched(cal):
    result = make_packet(5, kind="result", status="dispatched", from_office=OWNER, to_office=None,
                         to_division="140902", dispatched_at=at("2026-03-11T16:00:00"), expected_arrival=d("2026-03-16"))
    s = stages(_decided(status="result_in_transit"), [received_outbound(), result], cal, "2026-03-20")
    assert s["result_dispatch"].due == d("2026-03-11")
    assert s["result_dispatch"].office_code == OWNER
    assert s["result_dispatch"].done_at == at("2026-03-11T16:00:00")
    assert s["result_dispatch"].overdue is False


def test_a_paper_result_not_yet_sent_is_overdue_after_its_due_day(cal):
    created = make_packet(5, kind="result", status="created", from_office=OWNER, to_office=HALL,
                          to_division="140902", expected_arrival=d("2026-03-13"))
    case = _decided(result_method="pickup")
    assert stages(case, [received_outbound(), created], cal, "2026-03-11")["result_dispatch"].overdue is False
    s = stages(case, [received_outbound(), created], cal, "2026-03-12")
    assert s["result_dispatch"].done_at is None
    assert s["result_dispatch"].overdue is True and s["result_dispatch"].open_overdue is True


def test_a_paper_result_sent_late_is_overdue(cal):
    result = make_packet(5, kind="result", status="dispatched", from_office=OWNER, to_office=HALL,
                         to_division="140902", dispatched_at=at("2026-03-12T09:00:00"))
    s = stages(_decided(status="result_in_transit", result_method="pickup"), [result], cal, "2026-03-12")
    assert s["result_dispatch"].overdue is True


def test_an_electronic_result_is_dispatched_at_the_decision(cal):
    s = stages(_decided(result_method="electronic"), [received_outbound()], cal, "2026-04-30")
    assert s["result_dispatch"].due == d("2026-03-11")
    assert s["result_dispatch"].done_at == at("2026-03-10T15:00:00")
    assert s["result_dispatch"].overdue is False


def test_a_return_packet_is_not_a_result(cal):
    back = make_packet(6, kind="return", status="dispatched", from_office=OWNER, to_office=HALL,
                       to_division="140902", dispatched_at=at("2026-03-11T09:00:00"))
    s = stages(_decided(), [received_outbound(), back], cal, "2026-03-12")
    assert s["result_dispatch"].done_at is None and s["result_dispatch"].overdue is True


# -- ended cases ---------------------------------------------------------------------------------------
def test_a_withdrawn_case_leaves_its_open_stages_never_overdue(cal):
    # withdrawn while the materials travelled; the packet was expected on 5 March
    case = make_case(status="withdrawn", ended_at=at("2026-03-03T10:00:00"), reason="申请人撤回")
    s = stages(case, [dispatched_outbound(status="cancelled")], cal, "2026-06-01")
    assert s["receipt"].due == d("2026-03-05")
    assert s["receipt"].done_at is None
    assert s["receipt"].overdue is False and s["receipt"].open_overdue is False
    assert s["dispatch"].overdue is False


def test_a_case_withdrawn_before_dispatch_has_no_overdue_dispatch(cal):
    case = make_case(status="withdrawn", ended_at=at("2026-03-02T11:00:00"))
    s = stages(case, [make_packet(status="cancelled")], cal, "2026-06-01")
    assert s["dispatch"].due == d("2026-03-03")
    assert s["dispatch"].overdue is False


def test_a_case_withdrawn_after_acceptance_has_no_overdue_decision(cal):
    case = make_case(status="withdrawn", received_at=at("2026-03-04T10:00:00"), accepted_at=at("2026-03-05T10:00:00"),
                     ended_at=at("2026-03-06T10:00:00"))
    s = stages(case, [received_outbound()], cal, "2026-06-01")
    assert s["decision"].due == d("2026-03-12")
    assert s["decision"].overdue is False
    assert not any(st.open_overdue for st in s.values())


def test_a_rejected_case_has_no_stage_overdue_when_everything_done_was_in_time(cal):
    case = make_case(status="rejected", received_at=at("2026-03-04T10:00:00"), ended_at=at("2026-03-05T10:00:00"))
    s = stages(case, [received_outbound()], cal, "2026-06-01")
    assert [name for name, st in s.items() if st.overdue] == []


def test_a_withdrawn_case_still_shows_a_stage_that_was_done_late(cal):
    late = dispatched_outbound(status="cancelled", dispatched_at=at("2026-03-05T09:00:00"))
    case = make_case(status="withdrawn", ended_at=at("2026-03-06T10:00:00"))
    assert stages(case, [late], cal, "2026-03-06")["dispatch"].overdue is True


# -- as of a later day -------------------------------------------------------------------------------
def test_a_later_today_makes_an_open_stage_overdue(cal):
    case = make_case(status="accepted", received_at=at("2026-03-04T10:00:00"), accepted_at=at("2026-03-05T10:00:00"))
    packets = [received_outbound()]
    now = stages(case, packets, cal, "2026-03-06")
    assert now["decision"].due == d("2026-03-12")
    assert [n for n, st in now.items() if st.open_overdue] == []
    later = stages(case, packets, cal, "2026-03-13")
    assert [n for n, st in later.items() if st.open_overdue] == ["decision"]
    # done stages keep their verdict whatever the day
    assert later["dispatch"].overdue is False and later["receipt"].overdue is False


def test_the_stages_are_the_same_for_the_same_inputs(cal):
    case = make_case(status="in_transit")
    packets = [dispatched_outbound()]
    assert case_deadlines(case, packets, cal, Limits(), PROMISED, d("2026-03-04")) == \
        case_deadlines(case, packets, cal, Limits(), PROMISED, d("2026-03-04"))


# -- packet_late ---------------------------------------------------------------------------------------
def test_a_packet_that_arrived_after_its_expected_day_is_late():
    p = make_packet(status="received", dispatched_at=at("2026-03-02T16:00:00"), expected_arrival=d("2026-03-05"),
                    arrived_at=at("2026-03-06T10:00:00"))
    assert packet_late(p, d("2026-03-06")) is True
    assert packet_late(p, d("2026-03-01")) is True  # the arrival decides, not the day asked


def test_a_packet_that_arrived_on_its_expected_day_is_not_late_however_late_one_asks():
    p = make_packet(status="delivered", dispatched_at=at("2026-03-02T16:00:00"), expected_arrival=d("2026-03-05"),
                    arrived_at=at("2026-03-05T23:30:00"))
    assert packet_late(p, d("2026-03-30")) is False
    early = make_packet(status="delivered", expected_arrival=d("2026-03-05"), arrived_at=at("2026-03-04T09:00:00"))
    assert packet_late(early, d("2026-03-30")) is False


def test_a_packets_arrival_is_judged_by_its_beijing_date():
    # 16:30 UTC on 5 March is 00:30 on 6 March in Beijing
    p = make_packet(status="delivered", expected_arrival=d("2026-03-05"),
                    arrived_at=datetime(2026, 3, 5, 16, 30, tzinfo=timezone.utc))
    assert packet_late(p, d("2026-03-06")) is True


def test_a_packet_still_travelling_is_late_once_its_expected_day_has_passed():
    p = make_packet(status="departed_hub", dispatched_at=at("2026-03-02T16:00:00"), expected_arrival=d("2026-03-05"))
    assert packet_late(p, d("2026-03-05")) is False
    assert packet_late(p, d("2026-03-06")) is True


def test_a_cancelled_packet_is_never_late():
    p = make_packet(status="cancelled", dispatched_at=at("2026-03-02T16:00:00"), expected_arrival=d("2026-03-05"))
    assert packet_late(p, d("2026-06-01")) is False


def test_a_packet_without_an_expected_day_is_not_late():
    assert packet_late(make_packet(expected_arrival=None), d("2026-06-01")) is False
