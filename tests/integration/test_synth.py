"""Synthetic cases (`flask --app app synth`): as the use cases would have left them, on either database."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.synth import synthesise
from config import clock
from config.database import new_session
from mailing import s10
from mailing.tables import Packet, PacketEvent
from tests.helpers import intake_command
from tracking.commands.intake import register_case
from tracking.model import stage_store
from tracking.model.context import Actor
from tracking.model.deadlines import (ACTIVE, StageClock, case_deadlines, moves_with_the_day, packets_by_case,
                                      recompute_due_date)
from tracking.model.states import FINISHED, CaseStatus
from tracking.model.tables import Case, CaseEvent
from tracking.reads.chains import Walked, walk_chains

TODAY = date(2026, 3, 16)
COUNT = 300
OPEN = {s.value for s in CaseStatus} - {s.value for s in FINISHED}


@pytest.fixture
def made(app):
    engine = app.extensions["tongban"]["engine"]
    done = synthesise(engine, app.config["TONGBAN"], COUNT, open_share=0.3, seed=7, start=TODAY, days=120,
                      sealer=app.extensions["tongban"]["env"].sealer, chunk=120)
    with new_session(engine, read_only=True) as session:
        yield done, session


def test_it_makes_the_cases_it_says_with_unique_numbers(made):
    done, session = made
    cases = session.exec(select(Case)).all()
    assert done["cases"] == len(cases) == COUNT
    assert done["case_events"] == session.exec(select(func.count()).select_from(CaseEvent)).one()
    assert done["packets"] == session.exec(select(func.count()).select_from(Packet)).one()
    assert done["packet_events"] == session.exec(select(func.count()).select_from(PacketEvent)).one()
    assert len({c.case_no for c in cases}) == COUNT
    numbers = [p.tracking_no for p in session.exec(select(Packet))]
    assert len(set(numbers)) == len(numbers) and all(s10.is_valid_tracking_no(n) for n in numbers)
    assert len({e.event_id for e in session.exec(select(PacketEvent))}) == done["packet_events"]


def test_the_cases_spread_over_halls_matters_statuses_and_days(made):
    done, session = made
    cases = session.exec(select(Case)).all()
    assert len({c.collecting_office for c in cases}) > 40
    assert len({c.matter_code for c in cases}) > 8
    assert all(c.collecting_office != c.owning_office for c in cases)
    statuses = Counter(c.status for c in cases)
    open_ = sum(n for s, n in statuses.items() if s in OPEN)
    assert open_ == done["open"] and 45 <= open_ <= 135
    assert len([s for s in statuses if s in OPEN]) >= 5 and statuses["closed"] > 0
    assert all(c.intake_date < TODAY for c in cases)
    assert len({c.intake_date for c in cases}) > 50
    # every event before today, and in order within its case
    events = session.exec(select(CaseEvent).order_by(CaseEvent.id)).all()
    last: dict[int, datetime] = {}
    for e in events:
        assert e.at.date() < TODAY and e.at >= last.get(e.case_id, e.at)
        last[e.case_id] = e.at


def test_every_chain_verifies_with_the_projects_verifier(made):
    _, session = made
    walked = Walked()
    assert list(walk_chains(session, walked=walked)) == []
    assert walked.cases == COUNT and walked.events > COUNT * 5


def test_the_stored_open_stage_is_the_pure_functions(made, app):
    _, session = made
    assert stage_store.check(session, app.config["TONGBAN"]) == []
    timer = StageClock(session, app.config["TONGBAN"])
    cases = session.exec(select(Case)).all()
    packets = packets_by_case(session, [c.id for c in cases])
    late = 0
    for case in cases:
        stages = case_deadlines(case, packets[case.id], timer.cal, timer.limits, timer.promised[case.matter_code],
                                TODAY)
        first = stage_store.open_stage_of(stage_store.open_stages(case.status, stages))
        assert (case.open_stage, case.open_stage_due, case.open_stage_office) == (first or (None, None, None))
        late += bool(first) and first[1] < TODAY
    opened = sum(1 for c in cases if c.open_stage)
    assert 0 < late < opened / 2  # some open cases are overdue, most are not


def test_a_synthetic_case_is_found_by_the_public_tracking_look_up(made, client, app):
    _, session = made
    sealer = app.extensions["tongban"]["env"].sealer
    case = session.exec(select(Case).join(Packet, Packet.case_id == Case.id)
                        .where(Case.status == "closed", Packet.kind == "outbound").order_by(Case.id)).first()
    code = sealer.open(case.check_code_sealed)
    answer = client.get(f"/api/v1/track/{case.case_no}?check={code}")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["case_no"] == case.case_no and body["status"] == "closed"
    assert {"in_transit", "received", "accepted", "decided", "delivered"} <= {e["type"] for e in body["events"]}
    packet = session.exec(select(Packet).where(Packet.case_id == case.id).order_by(Packet.id)).first()
    by_packet = client.get(f"/api/v1/track/{packet.tracking_no}?check={code}")
    assert by_packet.status_code == 200 and by_packet.get_json()["case_no"] == case.case_no
    assert client.get(f"/api/v1/track/{case.case_no}?check=000000" if code != "000000" else
                      f"/api/v1/track/{case.case_no}?check=111111").status_code == 404


def test_intake_goes_on_after_the_synthetic_numbers(made, app, db, frozen):
    _, session = made
    # a synthetic case collected on a day at a hall away from 小店区 (where intake_body's case is owned)
    case = session.exec(select(Case).where(~Case.collecting_office.like("H140105%"))
                        .order_by(Case.intake_date.desc(), Case.case_no.desc())).first()
    synthetic = {p.tracking_no for p in session.exec(select(Packet))}
    day = case.intake_date
    frozen.set(datetime(day.year, day.month, day.day, 16, 0, tzinfo=clock.BEIJING).isoformat())
    env = app.extensions["tongban"]["env"]
    made_now = register_case(db, env, Actor("clerk-synth", "clerk", case.collecting_office), intake_command(db))
    db.commit()
    prefix = case.case_no.rsplit("-", 1)[0]
    assert made_now.case.case_no.startswith(prefix)
    assert int(made_now.case.case_no.rsplit("-", 1)[1]) > int(case.case_no.rsplit("-", 1)[1])
    assert made_now.packet.tracking_no not in synthetic


@pytest.mark.parametrize("days", [0, 3, 30])
def test_a_promise_the_sweep_leaves_alone_is_the_one_the_day_would_give(made, app, days):
    """The sweep refreshes only the cases `moves_with_the_day` names: every other open case's stored promise
    is what case_promise gives as of that day (the synthetic promises were worked out as of TODAY)."""
    _, session = made
    settings = app.config["TONGBAN"]
    as_of = TODAY + timedelta(days=days)
    left = session.exec(select(Case).where(Case.status.in_(ACTIVE), ~moves_with_the_day(as_of))).all()
    walked = session.exec(select(func.count()).select_from(Case).where(Case.status.in_(ACTIVE),
                                                                      moves_with_the_day(as_of))).one()
    assert len(left) > 20 and walked > 5  # both sides of the line are there to check
    for case in left:
        stored = (case.due_date, case.due_date_provisional, case.due_date_estimated, case.expected_result_date)
        promise = recompute_due_date(session, case, settings, as_of=as_of)
        assert (promise.due_date, promise.provisional, promise.estimated, promise.expected_result) == stored, \
            (case.case_no, case.status)
    session.rollback()
