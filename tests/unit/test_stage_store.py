"""The stored stage deadlines say, through one indexed comparison, what the pure stage functions say about
overdue stages on any day: a property over random case histories (hypothesis)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from mailing.states import PacketKind, PacketStatus
from routing.workdays import WorkCalendar
from tracking.model.deadlines import STAGES, Limits, case_deadlines
from tracking.model.stage_store import open_stage_of, stored_values
from tracking.model.states import CaseStatus

CAL = WorkCalendar.official()
DAY0 = date(2026, 9, 1)
BEIJING = timezone(timedelta(hours=8))


def _moment(day: int, hour: int) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), time(hour), BEIJING).astimezone(timezone.utc)


moments = st.one_of(st.none(), st.builds(_moment, st.integers(0, 40), st.integers(0, 23)))


@st.composite
def packets(draw, collecting: str, owning: str) -> list[SimpleNamespace]:
    made = []
    for i in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from([k.value for k in PacketKind]))
        made.append(SimpleNamespace(
            id=i + 1, kind=kind, status=draw(st.sampled_from([s.value for s in PacketStatus])),
            from_office=draw(st.sampled_from([collecting, owning])), dispatched_at=draw(moments),
            arrived_at=draw(moments),
            expected_arrival=draw(st.one_of(st.none(), st.builds(lambda d: DAY0 + timedelta(days=d),
                                                                   st.integers(0, 40))))))
    return made


@st.composite
def histories(draw):
    case = SimpleNamespace(
        status=draw(st.sampled_from([s.value for s in CaseStatus])), matter_code="M",
        collecting_office="H1", owning_office="D1", intake_date=DAY0 + timedelta(days=draw(st.integers(0, 10))),
        received_at=draw(moments), accepted_at=draw(moments), deemed_accepted=draw(st.booleans()),
        supplement_requested_at=draw(moments), decided_at=draw(moments), ended_at=draw(moments),
        result_method=draw(st.sampled_from(["mail", "pickup", "electronic"])),
        extension_days=draw(st.integers(0, 5)))
    return case, draw(packets("H1", "D1")), draw(st.integers(1, 20))


@settings(max_examples=400, deadline=None)
@given(histories(), st.builds(lambda d: DAY0 + timedelta(days=d), st.integers(-5, 80)))
def test_overdue_on_any_day_is_the_stored_due_before_that_day(history, today):
    case, packets_, promised = history
    stages = case_deadlines(case, packets_, CAL, Limits(), promised, today)
    # the stored columns come from the same functions computed on another day: they never depend on it
    stored = stored_values(case.status, case_deadlines(case, packets_, CAL, Limits(), promised, date.min))
    late = {s.stage for s in stages if s.open_overdue}
    active = case.status not in {"delivered", "closed", "rejected", "withdrawn", "deemed_withdrawn"}
    expected = late if active else set()
    assert {stage for stage in STAGES if stored[f"open_due_{stage}"] is not None
            and stored[f"open_due_{stage}"] < today} == expected
    assert (stored["open_stage_due"] is not None and stored["open_stage_due"] < today) == bool(expected)
    if stored["open_stage"] is not None:
        first = open_stage_of([s for s in stages if s.stage == stored["open_stage"]])
        assert first is not None and first[1] == stored["open_stage_due"] and first[2] == stored["open_stage_office"]
        assert stored["open_stage_due"] == min(v for k, v in stored.items() if k.startswith("open_due_") and v)


def test_the_stage_due_first_is_chosen_and_its_office_named():
    case = SimpleNamespace(status="received", matter_code="M", collecting_office="H1", owning_office="D1",
                           intake_date=date(2026, 9, 1), received_at=_moment(2, 10), accepted_at=None,
                           deemed_accepted=False, supplement_requested_at=None, decided_at=None, ended_at=None,
                           result_method="mail", extension_days=0)
    stages = case_deadlines(case, [], CAL, Limits(), 20, date.min)
    stored = stored_values(case.status, stages)
    # the materials travelled as files (no outbound packet) and were received: the notice stage is open
    assert stored["open_stage"] == "supplement_notice" and stored["open_stage_office"] == "D1"
    assert stored["open_stage_due"] == CAL.add_working_days(date(2026, 9, 3), 5)[0]
    assert stored["open_due_decision"] is None
    assert stored_values("rejected", stages)["open_stage"] is None
