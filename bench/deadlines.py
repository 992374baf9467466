"""The overdue list and the distance cache, against baselines measured in the same run.

    .venv/bin/python -m bench.deadlines [--cases 2000] [--rounds 5]

Builds `cases` cases in a fresh SQLite database (intake spread over four weeks, most dispatched, some
received, some accepted), then times, in pairs run back to back so that a shared machine's noise lands
on a pair and not on a side:
  - the overdue list (`GET /cases?overdue=true`: every active case's stages computed from its packets)
    against the plain first page of the same list (one SQL page and a count);
  - a transit leg's distance from the per-pair cache against geopy's geodesic computed afresh.
Prints milliseconds, the median ratio, and the overdue list's cost per active case.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from geopy.distance import geodesic

from config import clock
from config.database import make_engine, new_session
from config.settings import Settings
from routing.calendars import work_calendar
from routing.reference import directory as load_directory
from routing.reference import load_reference_data
from routing.transit import distance_km
from tracking.commands import custody, decisions, intake
from tracking.reads import views
from app.addresses import WebAddresses
from tracking.model.context import Actor, Env
from tracking.model.identity import resident_id_check_char
from tracking.model.inputs import parse

CLERK = Actor("bench-clerk", "clerk", "H140902")
OFFICER = Actor("bench-officer", "officer", "D140105-GA")
COURIER = Actor("bench-courier", "courier")
SUPERVISOR = Actor("bench-supervisor", "supervisor")


def _intake(session, i: int) -> intake.CaseIntake:
    first17 = f"14010519{80 + i % 20:02d}0{1 + i % 9}1{i % 10}{i % 7}0{i % 10}"[:17]
    body = {"matter_code": "GA-WFZM-01",
            "applicant": {"kind": "person", "name": "测试", "id_number": first17 + resident_id_check_char(first17),
                          "phone": "13812345678", "division_code": "140105"},
            "materials": [{"code": "application_form", "copies": 1, "original": True},
                          {"code": "id_card", "copies": 1, "original": False}],
            "identity_check": {"method": "id_card_reader", "passed": True},
            "result_delivery": {"method": "pickup"}}
    return parse(intake.CaseIntake, body, context=intake.intake_context(session))


def build(session, env: Env, count: int) -> None:
    cal = work_calendar(session)
    start = datetime(2026, 3, 2, 10, tzinfo=clock.BEIJING)
    days = [d for d in (start.date() + timedelta(days=n) for n in range(40)) if cal.is_working_day(d)][:20]
    for i in range(count):
        day = days[i % len(days)]
        at = datetime(day.year, day.month, day.day, 10, tzinfo=clock.BEIJING)
        with clock.pinned(at):
            made = intake.register_case(session, env, CLERK, _intake(session, i))
            session.commit()
            number, case_no = made.packet.tracking_no, made.case.case_no
            if i % 10 == 0:
                continue  # never sent: the dispatch stage runs late
            batch = custody.ScanBatch(scans=[custody.Scan(event_id=str(uuid.uuid4()), tracking_no=number,
                                                          type="dispatched", at=at + timedelta(hours=2))])
            custody.record_scans(session, env, CLERK, batch)
            session.commit()
            if i % 3 == 0:
                continue  # still travelling
            batch = custody.ScanBatch(scans=[custody.Scan(event_id=str(uuid.uuid4()), tracking_no=number,
                                                          type="received", at=at + timedelta(days=3))])
            custody.record_scans(session, env, OFFICER, batch)
            session.commit()
            if i % 2 == 0:
                decisions.accept_case(session, env, OFFICER, case_no)
                session.commit()


def _pair(first, second) -> tuple[float, float]:
    t0 = time.perf_counter()
    first()
    t1 = time.perf_counter()
    second()
    return t1 - t0, time.perf_counter() - t1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, overrides={"database_url": f"sqlite:///{Path(tmp) / 'bench.db'}",
                                                        "instance_path": Path(tmp)})
        engine = make_engine(settings.database_url)
        from app.schema import upgrade
        upgrade(engine)
        env = Env(settings, WebAddresses(settings))
        with new_session(engine) as session:
            load_reference_data(session)
            session.commit()
            t0 = time.perf_counter()
            build(session, env, args.cases)
            print(f"built {args.cases} cases in {time.perf_counter() - t0:.1f} s")
            as_of = datetime(2026, 3, 20).date()

            def plain():
                views.list_cases(session, env, SUPERVISOR, status=None, office=None, page=1, per_page=50)

            def overdue():
                return views.list_cases(session, env, SUPERVISOR, status=None, office=None, page=1, per_page=50,
                                        overdue=True, as_of=as_of)
            found = overdue()
            pairs = [_pair(plain, overdue) for _ in range(args.rounds)]
            base, ours = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
            ratio = statistics.median(p[1] / p[0] for p in pairs)
            print(f"overdue list: {ours * 1000:.0f} ms for {args.cases} cases ({found['total']} overdue), "
                  f"{ours / args.cases * 1e6:.0f} µs a case; plain page {base * 1000:.1f} ms; ratio {ratio:.1f}x")

            posts = [p for p in load_directory(session).posts.values()][:200]
            legs = list(zip(posts, posts[1:]))
            for a, b in legs:
                distance_km(a, b)  # warm: the cache holds every pair a route has used

            def fresh():
                for a, b in legs:
                    geodesic((a.lat, a.lon), (b.lat, b.lon)).km

            def cached():
                for a, b in legs:
                    distance_km(a, b)
            pairs = [_pair(fresh, cached) for _ in range(args.rounds)]
            ratio = statistics.median(p[0] / p[1] for p in pairs)
            per = statistics.median(p[1] for p in pairs) / len(legs)
            print(f"leg distance: cached {per * 1e6:.2f} µs, geodesic afresh {ratio:.0f}x slower")
        engine.dispose()


if __name__ == "__main__":
    main()
