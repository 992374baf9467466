"""The promise to the applicant counted as the law counts it (tracking.model.deadlines.case_promise)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from mailing.tables import Packet
from routing.workdays import WorkCalendar
from tracking.model.deadlines import Limits, case_promise
from tracking.model.tables import Case

CAL = WorkCalendar.official()
BEIJING = timezone(timedelta(hours=8))


def at(d: str) -> datetime:
    return datetime.fromisoformat(d + "T10:00:00").replace(tzinfo=BEIJING)


def case(**kw) -> Case:
    base = dict(case_no="140902-20260302-0001", matter_code="M", collecting_office="H1", owning_office="D1",
                applicant_kind="person", applicant_sealed="", id_hash="", check_code_sealed="",
                result_method="pickup", intake_date=date(2026, 3, 2), due_date=date(2026, 3, 2), created_by="c",
                created_at=at("2026-03-02"))
    return Case(**{**base, **kw})


def outbound(expected: str, arrived: str | None = None, status: str = "dispatched", id_: int = 1,
             kind: str = "outbound") -> Packet:
    return Packet(id=id_, tracking_no=f"EA00000000{id_}CN", kind=kind, case_id=1, from_office="H1", to_office="D1",
                  to_division="140105", status=status, expected_arrival=date.fromisoformat(expected),
                  arrived_at=at(arrived) if arrived else None, created_at=at("2026-03-02"))


def two_days_later(start: date) -> date:
    return CAL.add_working_days(start, 2)[0]


def promise(c: Case, packets: list[Packet], today: str, days: int = 3):
    return case_promise(c, packets, CAL, Limits(), days, two_days_later, date.fromisoformat(today))


def test_before_acceptance_the_promise_is_estimated_from_the_expected_arrival():
    p = promise(case(), [outbound("2026-03-05")], "2026-03-02")
    assert (p.due_date, p.estimated) == (date(2026, 3, 10), True)
    # the result leaves the working day after the decision and takes two more (the route model's)
    assert p.expected_result == date(2026, 3, 13)


def test_a_late_packet_moves_the_estimate_to_today_at_the_earliest():
    assert promise(case(), [outbound("2026-03-05")], "2026-03-09").due_date == date(2026, 3, 12)


def test_a_lost_packet_counts_from_its_replacement():
    lost = outbound("2026-03-04", status="lost")
    again = outbound("2026-03-09", id_=2, kind="replacement")
    assert promise(case(), [lost, again], "2026-03-05").due_date == date(2026, 3, 12)


def test_acceptance_fixes_the_count_and_an_extension_adds_its_days():
    accepted = case(received_at=at("2026-03-03"), accepted_at=at("2026-03-04"))
    p = promise(accepted, [outbound("2026-03-05", arrived="2026-03-03")], "2026-03-20")
    assert (p.due_date, p.estimated) == (date(2026, 3, 9), False)
    accepted.extension_days = 10
    assert promise(accepted, [], "2026-03-20").due_date == date(2026, 3, 23)


def test_an_outstanding_supplement_moves_the_estimate_day_by_day_then_its_receipt_restarts_it():
    waiting = case(received_at=at("2026-03-03"), supplement_requested_at=at("2026-03-04"))
    assert promise(waiting, [], "2026-03-04").due_date == date(2026, 3, 6)
    assert promise(waiting, [], "2026-03-06").due_date == date(2026, 3, 10)
    waiting.supplement_received_at = at("2026-03-09")
    assert promise(waiting, [], "2026-03-20").due_date == date(2026, 3, 12)


def test_an_electronic_result_is_expected_on_the_decision_day():
    e = case(result_method="electronic", received_at=at("2026-03-03"), accepted_at=at("2026-03-03"))
    assert promise(e, [], "2026-03-03").expected_result == date(2026, 3, 6)
    e.decided_at = at("2026-03-04")
    assert promise(e, [], "2026-03-04").expected_result == date(2026, 3, 4)
