"""A simulated week (issue 4): 500 cases collected at halls in every Shanxi city for offices in other
Shanxi cities and in Beijing, Hebei, Inner Mongolia, Henan and Shaanxi; their packets scanned along the
routes with realistic delays, a few lost and replaced, a few misrouted; a calendar that starts on an
adjusted working day (Sunday 20 September 2026) and crosses the Mid-Autumn break (25–27 September).

The plan and the test's own model of the rules live in tests/integration/simulation.py. The week is
played once per module (it takes a while); the tests then check what the service answered along the
way and what it stored, against the model:

* transit: each leg takes max(standard, km / 400) working days (standards: ½ same city, 1 same province,
  2 other province; km geodesic between the offices), cumulative, rounded up, counted on the official
  calendar from the dispatch day (after a misroute: from the day and hub where the packet was found);
* stages: dispatch due 1 working day after intake; receipt due the day the courier hands the packet over
  (before that: the carrier's expected arrival); supplement notice due 5 working days after receipt;
  decision due the matter's promised days after acceptance; a stage is overdue when still open after
  its due date.

Dates worked by hand for the pinned cases (忻府区 hall H140902 → 小店区公安 D140105-GA, legs ½ + 1 + ½ + ½,
cumulative ½, 1½, 2, 2½ → 1, 2, 2, 3 working days):
  dispatched Sun 20 (adjusted working day): Mon 21, Tue 22, Tue 22, Wed 23;
  dispatched Thu 24: Mon 28, Tue 29, Tue 29, Wed 30 (25–27 off; so not the 29th: 2½ days round up to 3).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlmodel import select

from config import clock
from tests.integration import simulation as sim
from tests.integration.simulation import DAYS, END, START, SWEEP_DAYS, CasePlan, open_overdue, wd_add

D = date.fromisoformat


@pytest.fixture(scope="module")
def week(engine, database_url, tmp_path_factory):
    """The week, played once on a clean database; the tables are emptied afterwards like `db` does."""
    from config.database import new_session
    from config.settings import Settings
    from tests.conftest import empty_database
    from app.addresses import WebAddresses
    from tracking.model.context import Env

    settings = Settings.from_env(env={}, overrides={
        "database_url": database_url, "secret_key": "test-secret", "data_key": "test-data-key",
        "instance_path": tmp_path_factory.mktemp("week")})
    session = new_session(engine, read_only=True)
    try:
        yield sim.run_week(engine, session, Env(settings, WebAddresses(settings)), sim.build_plan())
    finally:
        session.close()
        empty_database(engine)


@pytest.fixture(scope="module")
def read(engine):
    from config.database import new_session
    with new_session(engine, read_only=True) as s:
        yield s


def case_no(week, p: CasePlan) -> str:
    return week.registered[p.idx]["case_no"]


def outbound_no(week, p: CasePlan) -> str:
    return week.registered[p.idx]["tracking_no"]


def pinned(week, name: str) -> CasePlan:
    return next(p for p in week.plans if p.pinned == name)


def iso_route(route) -> list[tuple[str, str]]:
    return [(office, day.isoformat()) for office, day in route]


def expected_overdue(week, n: date, as_of: date, deemed: set[int] = frozenset()) -> dict:
    return {case_no(week, p): {s: due.isoformat() for s, due in stages.items()}
            for p in week.plans if (stages := open_overdue(p, n, as_of, p.idx in deemed))}


def differences(got: dict, want: dict) -> dict:
    """Case by case, what the service listed and what the plan says (only where they differ)."""
    return {k: {"listed": got.get(k), "planned": want.get(k)} for k in sorted(set(got) | set(want))
            if got.get(k) != want.get(k)}


def model_sweeps(plans: list[CasePlan]) -> tuple[list[dict], dict[int, date], set[tuple[int, str, date]]]:
    """What each sweep run should do: counts, which cases it deems accepted (and when), the marks."""
    deemed_on: dict[int, date] = {}
    marks: set[tuple[int, str, date]] = set()
    runs = []
    # the statistics' roll-ups: every day from the one before the first case up to the day before the sweep
    built_until = START - timedelta(days=2)
    for day in DAYS + SWEEP_DAYS:
        n = min(day, END)
        newly = [p for p in plans if p.idx not in deemed_on and p.received_day is not None and p.received_day <= n
                 and (p.action_day is None or p.action_day > n) and day > wd_add(p.received_day, 5)
                 and sim.MATTERS[p.matter]["type"] == "permit"]  # only a permit is deemed accepted
        for p in newly:
            deemed_on[p.idx] = day
        # Promises the sweep moves: within the week a scan or an action also recounts a case's promise, so
        # the week's counts are not modelled (the end state's promises are, case by case); after it nothing
        # moves but the calendar: late packets and outstanding supplements move from the last count.
        moved = None
        if day in SWEEP_DAYS:
            before = END if day == SWEEP_DAYS[0] else SWEEP_DAYS[SWEEP_DAYS.index(day) - 1]
            moved = sum(sim.promise(p, END, day)[::2] != sim.promise(p, END, before)[::2] for p in plans)
        marked = 0
        for p in plans:
            for stage, stage_due in open_overdue(p, n, day, p.idx in deemed_on).items():
                if (p.idx, stage, stage_due) not in marks:
                    marks.add((p.idx, stage, stage_due))
                    marked += 1
        # the week's packets go with our own couriers: no carrier falls silent
        runs.append({"deemed_accepted": len(newly), "deemed_withdrawn": 0, "closed": 0, "due_dates_moved": moved,
                     "overdue_marked": marked, "carrier_silent": 0, "files_removed": 0,
                     "stats_days": (day - timedelta(days=1) - built_until).days})
        built_until = day - timedelta(days=1)
    return runs, deemed_on, marks


# -- the cases --------------------------------------------------------------------------------------

def test_all_500_cases_register_at_halls_in_every_shanxi_city_for_offices_in_shanxi_and_the_neighbouring_provinces(
        week):
    assert [r for r in week.refused if r[0] == "register"] == []
    assert len(week.registered) == 500
    cases = week.end_state["cases"]
    assert len(cases) == 500
    for p in week.plans:
        c = cases[case_no(week, p)]
        assert (c["collecting_office"], c["owning_office"], c["matter_code"], c["intake_date"]) == \
            (p.hall, p.owner, p.matter, p.intake_day), p
        assert case_no(week, p).startswith(f"{sim.division_of(p.hall)}-{p.intake_day:%Y%m%d}-")
        # the promise at intake: promised working days from the planned arrival at the owning office
        registered = week.registered[p.idx]
        due, estimated, expected = sim.promise(p, p.intake_day, p.intake_day)
        assert (registered["due_date"], registered["due_date_estimated"], registered["expected_result_date"]) == \
            (due.isoformat(), True, expected.isoformat()), p
    halls = {p.hall for p in week.plans}
    cities = Counter(sim.city(sim.division_of(h)) for h in halls)
    assert set(cities) == set(sim.SHANXI_CITIES) and len(cities) == 11
    assert all(n >= 4 for n in cities.values())  # the city's hall and three counties'
    owners = Counter(sim.province(sim.division_of(p.owner)) for p in week.plans)
    assert set(owners) == {"140000", "110000", "130000", "150000", "410000", "610000"}
    assert all(sim.city(sim.division_of(p.owner)) != sim.city(sim.division_of(p.hall)) for p in week.plans)
    assert Counter(p.intake_day for p in week.plans).keys() == {D("2026-09-20"), D("2026-09-21"), D("2026-09-22"),
                                                                D("2026-09-23"), D("2026-09-24")}


def test_the_plan_is_the_same_every_time_it_is_built():
    def summary(plans):
        return [(p.hall, p.place, p.matter, p.intake_day, p.dispatch_lag, p.slip_from, p.stall_at, p.misroute,
                 p.lost, p.receive_lag, p.action, p.action_lag, p.decide_lag) for p in plans]
    assert summary(sim.build_plan()) == summary(sim.build_plan())


def test_every_scan_of_the_week_is_recorded_and_every_action_of_the_plan_is_taken(week):
    assert week.refused == []
    planned = 0
    for p in week.plans:
        for j in filter(None, (p.outbound, p.replacement)):
            planned += j.dispatch_day <= END
            planned += sum(1 if office == j.route[-1][0] and n == len(j.visits) and j.lost_at is None else 2
                           for n, (office, _) in enumerate(j.visits, start=1))
            planned += j.lost_at is not None and j.lost_day <= END
        planned += p.received_day is not None
    assert Counter(r.status for r in week.scan_results) == {"recorded": planned}


def test_case_statuses_at_the_end_of_the_week_follow_the_plan(week):
    got = {c: v["status"] for c, v in week.end_state["cases"].items()}
    want = {case_no(week, p): sim.status_at_end(p) for p in week.plans}
    assert differences(got, want) == {}
    assert Counter(want.values())["received"] > 50 and Counter(want.values())["in_transit"] > 100


# -- routes and expected arrivals -----------------------------------------------------------------------

def _planned_packets(week):
    """(tracking_no, plan, journey, model route) for every outbound and replacement packet."""
    for p in week.plans:
        stops = sim.model_route(p.hall, p.owner)
        if p.dispatch_day > END:  # still at the window: planned from the day it was made
            yield outbound_no(week, p), p, None, list(zip(stops, sim.model_schedule(stops, p.intake_day)))
        else:
            yield outbound_no(week, p), p, p.outbound, p.outbound.route
        if p.idx in week.replacements:
            yield week.replacements[p.idx], p, p.replacement, p.replacement.route


def test_every_packet_has_the_route_and_expected_arrival_the_transit_rule_gives_from_its_dispatch_day(week):
    packets = week.end_state["packets"]
    wrong = {}
    for number, p, _, route in _planned_packets(week):
        got = packets[number]
        want = {"route": iso_route(route), "expected_arrival": route[-1][1]}
        if {"route": got["route"], "expected_arrival": got["expected_arrival"]} != want:
            wrong[number] = {"case": p.pinned or p.idx, "got": (got["route"], got["expected_arrival"]), "want": want}
    assert wrong == {}
    assert sum(1 for _ in _planned_packets(week)) == 500 + len(week.replacements)


def test_dates_pinned_by_hand_count_the_adjusted_sunday_and_skip_the_mid_autumn_and_national_day_holidays(week):
    packets = week.end_state["packets"]

    def route(name):
        return packets[outbound_no(week, pinned(week, name))]

    xinzhou_taiyuan = ["H140902", "P140900", "P140000", "P140100", "D140105-GA"]
    sunday = route("xinzhou_taiyuan_adjusted_sunday")
    assert sunday["route"] == list(zip(xinzhou_taiyuan, ["2026-09-20", "2026-09-21", "2026-09-22", "2026-09-22",
                                                        "2026-09-23"]))
    thursday = route("xinzhou_taiyuan_thursday")
    assert thursday["route"] == list(zip(xinzhou_taiyuan, ["2026-09-24", "2026-09-28", "2026-09-29", "2026-09-29",
                                                          "2026-09-30"]))
    assert thursday["expected_arrival"] == D("2026-09-30")
    # Xinzhou → Beijing: ½ + 1 + 2 (Taiyuan–Beijing about 430 km, under 800) + ½: 1, 2, 4, 4 working days from Mon 21
    beijing = route("xinzhou_beijing_monday")
    assert beijing["route"] == [("H140902", "2026-09-21"), ("P140900", "2026-09-22"), ("P140000", "2026-09-23"),
                                ("P110000", "2026-09-28"), ("D110101-GA", "2026-09-28")]
    # collected Wed 23 at 平城区 (Datong), handed over two working days later, Mon 28: the dates count from the 28th,
    # across National Day (1–7 October)
    late = route("late_dispatch_over_the_break")
    assert late["dispatched_at"].astimezone(clock.BEIJING).date() == D("2026-09-28")
    assert late["route"] == [("H140213", "2026-09-28"), ("P140200", "2026-09-29"), ("P140000", "2026-09-30"),
                             ("P140100", "2026-09-30"), ("D140105-GA", "2026-10-08")]
    assert late["late"] is False
    # misrouted to the Xi'an gateway on Thu 24: Xi'an → Beijing is over 800 km, so that leg takes km/400 > 2 days
    xian = route("misroute_xian")
    assert sim.km("P610000", "P110000") / 400 > 2.0
    assert xian["route"][-3:] == [("P610000", "2026-09-24"), ("P110000", "2026-09-30"), ("D110105-GA", "2026-09-30")]


def test_exactly_the_packets_that_slipped_a_day_or_were_lost_are_late(week):
    packets = week.end_state["packets"]
    got = {n for n, pk in packets.items() if pk["late"] and pk["kind"] in ("outbound", "replacement")}
    want = set()
    for number, p, j, route in _planned_packets(week):
        expected = route[-1][1] if j is None else j.expected_on(END)
        arrived = j.delivered_day if j is not None else None
        if (arrived or END) > expected:
            want.add(number)
    slipped = {outbound_no(week, p) for p in week.plans if p.slip_from is not None}
    lost = {outbound_no(week, p) for p in week.plans if p.lost}
    assert got == want
    assert want <= slipped | lost and lost <= want
    # every slipped packet handed over in the week is late; those still travelling are late only past their date
    for p in week.plans:
        if p.slip_from is not None and p.outbound.delivered_day is not None:
            assert outbound_no(week, p) in got, p
    on_time = {outbound_no(week, p) for p in week.plans if p.stall_at is not None or p.misroute or p.dispatch_lag}
    assert not on_time & got
    assert len(got) == len(want) and 5 <= len(got) <= 35


# -- losses and misroutes ---------------------------------------------------------------------------

def test_a_lost_packet_flags_its_case_until_the_window_sends_a_linked_replacement_that_travels_and_is_received(week):
    packets, cases = week.end_state["packets"], week.end_state["cases"]
    lost = [p for p in week.plans if p.lost]
    assert Counter(p.lost for p in lost) == {"early": 3, "late": 2}
    for p in lost:
        number, cn = outbound_no(week, p), case_no(week, p)
        pk = packets[number]
        assert pk["status"] == "lost"
        exceptions = [e for e in pk["events"] if e["type"] == "exception"]
        assert [(e["reason"], e["actor"], e["office_code"]) for e in exceptions] == \
            [("lost", sim.COURIER_NAME, p.outbound.lost_at)]
        for day in DAYS:
            flagged = [f for f in week.flags[day].get(cn, []) if f["code"] == "packet_lost"]
            if p.outbound.lost_day <= day < p.replacement_day:
                assert [f["tracking_no"] for f in flagged] == [number], (p.idx, day)
            else:
                assert flagged == [], (p.idx, day)
        replacement = packets[week.replacements[p.idx]]
        assert (replacement["kind"], replacement["replaces"], replacement["from_office"], replacement["to_office"]) == \
            ("replacement", number, p.hall, p.owner)
        assert replacement["contents"] == [{**m, "original": False} for m in pk["contents"]]
        if p.lost == "early":
            assert replacement["status"] == "received"
            assert cases[cn]["status"] == sim.status_at_end(p)
            assert cases[cn]["received_at"].astimezone(clock.BEIJING).date() == p.received_day == END
        else:
            assert replacement["status"] == "dispatched" and cases[cn]["status"] == "in_transit"


def test_a_misrouted_packet_gets_one_system_exception_and_a_route_re_planned_from_that_hub_and_day(week):
    packets = week.end_state["packets"]
    misrouted = [p for p in week.plans if p.misroute]
    assert len(misrouted) == 5
    for p in misrouted:
        pk = packets[outbound_no(week, p)]
        exceptions = [e for e in pk["events"] if e["type"] == "exception"]
        scan_id = week.misroute_scans[p.idx]
        assert [(e["reason"], e["actor"], e["role"], e["office_code"], e["event_id"]) for e in exceptions] == \
            [("misrouted", "system", "system", p.outbound.misroute_hub, f"{scan_id}:misrouted")], p.pinned
        index, hub = p.misroute
        passed = sim.model_route(p.hall, p.owner)[:index]
        onward = sim.model_route(hub, p.owner)
        assert [o for o, _ in pk["route"]] == passed + onward, p.pinned
        assert pk["route"][index:] == iso_route(zip(onward, sim.model_schedule(onward, p.outbound.misroute_day))), \
            p.pinned
        assert pk["late"] is False
    others = [n for n, pk in packets.items() if n not in {outbound_no(week, p) for p in misrouted}
              and any(e["reason"] == "misrouted" for e in pk["events"])]
    assert others == []
    arrived = {p.pinned for p in misrouted if p.outbound.delivered_day}
    assert arrived == {"misroute_yangquan", "misroute_shuozhou", "misroute_linfen", "misroute_yuncheng"}


def test_the_exception_list_shows_the_lost_and_the_misrouted_packets(week, read):
    from tracking.model.context import Actor
    from tracking.reads.views import list_exceptions
    supervisor = Actor("supervisor_sim", "supervisor", None)
    lost = list_exceptions(read, supervisor, reason="lost")["exceptions"]
    assert sorted(e["tracking_no"] for e in lost) == sorted(outbound_no(week, p) for p in week.plans if p.lost)
    assert all(e["packet_status"] == "lost" and e["reason_text"] == "丢失" for e in lost)
    misrouted = list_exceptions(read, supervisor, reason="misrouted")["exceptions"]
    assert sorted(e["tracking_no"] for e in misrouted) == sorted(outbound_no(week, p) for p in week.plans
                                                                 if p.misroute)
    assert all(e["actor"] == "system" and e["next_step"] for e in misrouted)


# -- the overdue board ----------------------------------------------------------------------------------

def test_the_overdue_list_at_the_end_of_each_day_names_exactly_the_cases_and_stages_the_plan_made_overdue(week):
    wrong = {day.isoformat(): diff for day in DAYS
             if (diff := differences(week.overdue[day], expected_overdue(week, day, day)))}
    assert wrong == {}
    assert week.overdue[D("2026-09-20")] == {}


def test_each_morning_the_list_shows_what_yesterday_left_past_its_due_date(week):
    wrong = {day.isoformat(): diff for day in DAYS
             if (diff := differences(week.morning[day], expected_overdue(week, day - timedelta(days=1), day)))}
    assert wrong == {}
    # two working days late: on the morning of the second the dispatch is overdue, by evening it is done
    for p in week.plans:
        if p.dispatch_lag == 2 and p.dispatch_day <= END:
            assert week.morning[p.dispatch_day][case_no(week, p)]["dispatch"] == wd_add(p.intake_day, 1).isoformat()
            assert "dispatch" not in week.overdue[p.dispatch_day].get(case_no(week, p), {})
    # signed for a working day after the courier handed it over: overdue at receipt that morning
    for p in week.plans:
        if p.received_day is not None and p.received_day != p.delivered_day:
            assert week.morning[p.received_day][case_no(week, p)]["receipt"] == p.delivered_day.isoformat()
    stages = Counter(s for listed in week.morning.values() for stages in listed.values() for s in stages)
    assert {"dispatch", "receipt"} <= set(stages)  # (a one-day matter may also be late deciding: the model says when)


def test_over_the_mid_autumn_break_the_list_shows_late_dispatches_packets_not_signed_for_and_lost_packets(week):
    for day in (D("2026-09-25"), D("2026-09-26"), D("2026-09-27")):
        listed = week.overdue[day]
        dispatch = {c for c, s in listed.items() if "dispatch" in s}
        receipt = {c for c, s in listed.items() if "receipt" in s}
        late_sent = {case_no(week, p) for p in week.plans if p.dispatch_lag == 2 and p.intake_day <= D("2026-09-24")
                     and wd_add(p.intake_day, 1) < day <= p.dispatch_day}
        assert dispatch == late_sent and case_no(week, pinned(week, "late_dispatch_over_the_break")) in dispatch
        assert listed[case_no(week, pinned(week, "late_dispatch_over_the_break"))] == {"dispatch": "2026-09-24"}
        lost_late = {case_no(week, p) for p in week.plans if p.lost == "late"}
        signed_monday = {case_no(week, p) for p in week.plans if p.delivered_day == D("2026-09-24")
                         and p.received_day == END}
        assert lost_late <= receipt and signed_monday <= receipt
        assert all(listed[c]["receipt"] == "2026-09-24" for c in lost_late | signed_monday)
        assert len(signed_monday) >= 5
    on_26 = week.overdue[D("2026-09-26")]
    for stage in ("dispatch", "receipt", "supplement_notice"):
        assert week.overdue_by_stage[(D("2026-09-26"), stage)] == {c for c, s in on_26.items() if stage in s}
    # the lost packets' cases leave the list once the replacement is on its way (Mon 28)
    assert not {case_no(week, p) for p in week.plans if p.lost} & set(week.overdue[END])


def test_a_future_as_of_lists_what_will_be_overdue_if_nothing_moves(week):
    wrong = {as_of.isoformat(): diff for as_of, listed in week.future.items()
             if (diff := differences(listed, expected_overdue(week, END, as_of)))}
    assert wrong == {}
    # received Mon 28, nobody answered: five working days are 29, 30 September, 8, 9 and Saturday 10 October
    unanswered = case_no(week, pinned(week, "received_monday_unanswered"))
    assert "supplement_notice" not in week.future[D("2026-10-10")].get(unanswered, {})
    assert week.future[D("2026-10-11")][unanswered]["supplement_notice"] == "2026-10-10"
    stages = Counter(s for listed in week.future.values() for stages in listed.values() for s in stages)
    assert {"dispatch", "receipt", "supplement_notice", "decision"} <= set(stages)


def test_every_case_is_promised_a_decision_counted_from_acceptance_and_a_result_date_as_the_model_says(week):
    """The promise stored at the end of the week, case by case, against the model: the promised working days
    from acceptance (deemed: as of receipt), estimated before it from the receipt or the materials' (late)
    arrival; the result's arrival by the route model (pick-up, mail to the door) or the decision day."""
    _, deemed_on, _ = model_sweeps(week.plans)
    cases = week.end_state["cases"]
    wrong, kinds = {}, Counter()
    for p in week.plans:
        c = cases[case_no(week, p)]
        want = sim.promise(p, END, END, deemed=deemed_on.get(p.idx, date.max) <= END)
        got = (c["due_date"], c["due_date_estimated"], c["expected_result_date"])
        if got != want:
            wrong[case_no(week, p)] = {"got": got, "want": want, "action": p.action, "method": p.result_method}
        kinds[("estimated" if want[1] else "accepted", p.result_method)] += 1
    assert wrong == {}
    # every kind of promise is covered: estimated and fixed, for each way the result travels
    assert {k for k, n in kinds.items() if n >= 5} == {(e, m) for e in ("estimated", "accepted")
                                                       for m in ("mail", "pickup", "electronic")}, kinds


# -- the sweep ----------------------------------------------------------------------------------------

def test_each_sweep_run_deems_moves_and_marks_exactly_what_the_plan_says(week):
    runs, _, _ = model_sweeps(week.plans)

    def modelled(day: date, counts: dict) -> dict:
        return {k: v for k, v in counts.items() if k != "due_dates_moved" or day in SWEEP_DAYS}

    got = [(day.isoformat(), modelled(day, counts)) for day, counts in week.sweeps]
    want = [(day.isoformat(), modelled(day, counts)) for day, counts in zip(DAYS + SWEEP_DAYS, runs)]
    assert got == want
    assert sum(r["due_dates_moved"] for r in runs[len(DAYS):]) > 0  # the late packets' promises did move


def test_the_sweep_marks_each_overdue_stage_once_per_due_date(week, read):
    from tracking.model.tables import Case, CaseEvent, OverdueMark
    _, _, marks = model_sweeps(week.plans)
    numbers = {p.idx: case_no(week, p) for p in week.plans}
    want = sorted((numbers[i], stage, due) for i, stage, due in marks)
    rows = read.exec(select(Case.case_no, OverdueMark.stage, OverdueMark.due)
                     .join(Case, Case.id == OverdueMark.case_id)).all()
    assert sorted(tuple(r) for r in rows) == want
    events = read.exec(select(Case.case_no, CaseEvent.data).join(Case, Case.id == CaseEvent.case_id)
                       .where(CaseEvent.type == "stage_overdue")).all()
    assert sorted((c, d["stage"], D(d["due"])) for c, d in events) == want
    # a permit's notice five working days late is never marked: the same run deems the application accepted
    # first (and tells the office so); other kinds are never deemed accepted, so theirs is marked late. The
    # results here are electronic, sent with the decision
    assert {r[1] for r in rows} == {"dispatch", "receipt", "supplement_notice", "decision"}
    permits = {case_no(week, p) for p in week.plans if sim.MATTERS[p.matter]["type"] == "permit"}
    assert not [r for r in rows if r[1] == "supplement_notice" and r[0] in permits]


def test_the_sweeps_after_the_holidays_deem_accepted_exactly_the_cases_nobody_answered_within_five_working_days(
        week, read):
    from tracking.model.tables import Case, CaseEvent
    _, deemed_on, _ = model_sweeps(week.plans)
    numbers = {p.idx: case_no(week, p) for p in week.plans}
    want = {numbers[i]: day for i, day in deemed_on.items()}
    assert set(want.values()) == set(SWEEP_DAYS)  # some on Friday 9, the rest (received 24 and 28 Sep) on Sunday 11
    cases = {c.case_no: c for c in read.exec(select(Case))}
    assert {n for n, c in cases.items() if c.deemed_accepted} == set(want)
    system_accepts = read.exec(select(Case.case_no, CaseEvent).join(Case, Case.id == CaseEvent.case_id)
                               .where(CaseEvent.type == "accepted", CaseEvent.actor == "system")).all()
    assert sorted(n for n, _ in system_accepts) == sorted(want)
    for n, ev in system_accepts:
        c = cases[n]
        assert (c.status, ev.role, ev.data["deemed"]) == ("accepted", "system", True)
        assert c.accepted_at == c.received_at
        assert ev.data["as_of"] == clock.iso(c.received_at)
        assert clock.beijing_date(ev.at) == want[n]
    for p in week.plans:
        if p.received_day is not None and p.action_day is None and sim.MATTERS[p.matter]["type"] == "permit":
            assert p.idx in deemed_on and deemed_on[p.idx] == next(d for d in SWEEP_DAYS
                                                                   if d > wd_add(p.received_day, 5))


def test_after_the_sweeps_the_deemed_cases_leave_the_notice_stage_and_owe_a_decision(week):
    _, deemed_on, _ = model_sweeps(week.plans)
    listed = week.after_sweeps["overdue"]
    assert differences(listed, expected_overdue(week, END, SWEEP_DAYS[-1], set(deemed_on))) == {}
    # only a permit is deemed accepted (行政许可法 art. 32); other matters still owe their notice or acceptance
    by_no = {case_no(week, p): p for p in week.plans}
    owing = {n for n, s in listed.items() if "supplement_notice" in s}
    assert owing and all(sim.MATTERS[by_no[n].matter]["type"] != "permit" for n in owing)


def test_a_second_sweep_on_the_same_day_changes_nothing(week):
    assert week.after_sweeps["repeat"] == {"deemed_accepted": 0, "deemed_withdrawn": 0, "closed": 0, "due_dates_moved": 0,
                                           "overdue_marked": 0, "carrier_silent": 0, "files_removed": 0,
                                           "stats_days": 0}
    assert week.after_sweeps["counts_after_repeat"] == week.after_sweeps["counts_before_repeat"]


def test_the_stored_stage_deadlines_agree_with_the_pure_functions_at_the_end_of_every_day(week):
    """The use cases keep each case's stored deadlines as they change it; every evening, and after the
    last sweep, they are what the pure stage functions derive from the same rows."""
    assert len(week.stored_disagree) == len(sim.DAYS) + 1
    assert {day: found for day, found in week.stored_disagree.items() if found} == {}
