"""The statistics page over a year of many cases, against the sign-in page in the same run.

    .venv/bin/python -m bench.stats [--sizes 10000,100000] [--rounds 5] [--database-url URL] [--live]

Fills one database (a fresh SQLite file unless a URL is given) with cases spread over a year, their
outbound packets (priced) and ratings, by plain bulk inserts (the figures read only the columns filled
here), growing it to each size in turn. At each size it times, in pairs run back to back with the sign-in
page (a template and no query), the statistics page for the whole year and for one month, by office and by
matter, and prints the median milliseconds and the median ratio to the sign-in page. `measure` returns the
same as rows for a report.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from config import clock
from config.database import new_session
from mailing.tables import Packet
from routing.reference import directory as load_directory
from routing.reference import load_reference_data
from routing.tables import Matter
from tracking.model.tables import Case, Evaluation

from bench.scale import PASSWORD, signed_in, timed

YEAR_START = date(2025, 3, 21)
AS_OF = date(2026, 3, 20)
PAGES = [f"/supervise/stats?since={YEAR_START.isoformat()}&until={AS_OF.isoformat()}",
         f"/supervise/stats?since={YEAR_START.isoformat()}&until={AS_OF.isoformat()}&by=matter",
         f"/supervise/stats?since=2026-02-19&until={AS_OF.isoformat()}"]
CHUNK = 20_000


def fill(engine, count: int, seed: int = 1) -> None:
    """Adds `count` cases over the year before AS_OF: most received, accepted, decided and delivered
    after some hours or days each, a packet each (priced), a rating for every third."""
    rng = random.Random(seed)
    with new_session(engine) as session:
        directory = load_directory(session)
        offices = sorted(code for code, post in directory.posts.items() if post.division_code.startswith("14"))
        matters = sorted(session.exec(select(Matter.code)).scalars()) or ["GA-WFZM-01"]
        first = (session.exec(select(func.max(Case.id))).scalar() or 0) + 1
    start = datetime.combine(YEAR_START, datetime.min.time(), clock.BEIJING) + timedelta(hours=8)
    span = (AS_OF - YEAR_START).days * 86400

    def after(at, chance, low=600, high=4 * 86400):
        return at + timedelta(seconds=rng.randint(low, high)) if at is not None and rng.random() < chance else None

    for base in range(first, first + count, CHUNK):
        cases, packets, ratings = [], [], []
        for i in range(base, min(base + CHUNK, first + count)):
            created = start + timedelta(seconds=rng.randint(0, span))
            dispatched = after(created, 0.95, 600, 8 * 3600)
            received = after(dispatched, 0.9)
            accepted = after(received, 0.9, 600, 86400)
            decided = after(accepted, 0.85, 3600, 15 * 86400)
            delivered = after(decided, 0.8)
            intake = clock.beijing_date(created)
            collecting, owning = rng.choice(offices), rng.choice(offices)
            cases.append(dict(id=i, case_no=f"B{i:09d}", matter_code=rng.choice(matters), status="accepted",
                              collecting_office=collecting, owning_office=owning, applicant_kind="person",
                              applicant_sealed="x", applicant_masked={}, id_hash=f"h{i}", check_code_sealed="x",
                              materials=[], identity_check={}, flags=[], contents_problems=[], result_method="pickup",
                              note="", intake_date=intake, due_date=intake + timedelta(days=rng.randint(5, 25)),
                              due_date_provisional=False, due_date_estimated=False, extension_days=0,
                              created_by="bench", created_at=created, received_at=received, accepted_at=accepted,
                              deemed_accepted=False, decided_at=decided, delivered_at=delivered, reason="",
                              last_hash="", sms_opt_out=False))
            packets.append(dict(tracking_no=f"BQ{i:09d}CN"[:13], kind="outbound", status="dispatched", case_id=i,
                                from_office=collecting, to_office=owning, to_division="140105", contents=[], route=[],
                                created_at=created, dispatched_at=dispatched, failed_attempts=0, last_hash="",
                                carrier="own", postage_cents=rng.choice((1000, 1200, 1500)), postage_source="tariff",
                                postage_payer=collecting))
            if delivered is not None and rng.random() < 0.33:
                score = rng.randint(1, 5)
                ratings.append(dict(case_id=i, score=score, comment="", at=delivered + timedelta(hours=2),
                                    stage="office", follow_up_office=owning if score <= 2 else None,
                                    follow_up_status=rng.choice(("open", "done")) if score <= 2 else None))
        with engine.begin() as conn:
            conn.execute(Case.__table__.insert(), cases)
            conn.execute(Packet.__table__.insert(), packets)
            if ratings:
                conn.execute(Evaluation.__table__.insert(), ratings)


def measure(app, size: int, rounds: int = 5) -> list[dict]:
    """The statistics pages at the database's present size: one row per page."""
    client = signed_in(app, "bench-supervisor")
    rows = []
    with clock.pinned(datetime.combine(AS_OF, datetime.min.time(), clock.BEIJING) + timedelta(hours=10)):
        for path in PAGES:
            timed(client, path)  # warm: templates compiled, directory loaded
            pairs = [(timed(client, "/login"), timed(client, path)) for _ in range(rounds)]
            rows.append(dict(figure=f"{path} at {size}", ours_ms=1000 * statistics.median(p[1] for p in pairs),
                             sign_in_ms=1000 * statistics.median(p[0] for p in pairs),
                             ratio=statistics.median(p[1] / p[0] for p in pairs)))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--live", action="store_true", help="no roll-ups: every figure from the cases")
    args = parser.parse_args(argv)
    from app import create_app
    from app.schema import upgrade
    from app.users import create_user
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"database_url": url, "instance_path": Path(tmp)})
        engine = app.extensions["tongban"]["engine"]
        upgrade(engine)
        with new_session(engine) as session:
            load_reference_data(session)
            create_user(session, "bench-supervisor", "supervisor", PASSWORD, None)
            session.commit()
        done = 0
        for size in (int(s) for s in args.sizes.split(",")):
            t0 = time.perf_counter()
            fill(engine, size - done, seed=size)
            done = size
            if engine.dialect.name == "postgresql":
                # as `flask synth` does: the planner's statistics of what was loaded (autovacuum may be off)
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    for table in ("case", "packet", "evaluation"):
                        conn.execute(text(f'VACUUM (ANALYZE) "{table}"'))
            print(f"{size} cases ({time.perf_counter() - t0:.1f} s to add)")
            if not args.live:
                t0 = time.perf_counter()
                with new_session(engine) as session:
                    # the roll-ups as the sweep on AS_OF builds them: every day before it
                    from tracking.commands.rollups import build, first_day
                    days = build(session, first_day(session), AS_OF - timedelta(days=1), session.commit)
                    session.commit()
                print(f"  roll-ups of {days} days built in {time.perf_counter() - t0:.1f} s")
            for r in measure(app, size, args.rounds):
                print(f"  {r['figure']:90s} {r['ours_ms']:8.1f} ms  {r['ratio']:6.1f}x the sign-in page "
                      f"({r['sign_in_ms']:.1f} ms)")
        engine.dispose()


if __name__ == "__main__":
    main()
