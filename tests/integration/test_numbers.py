"""Numbers on the real database: atomic counters, case numbers and S10 tracking numbers under
concurrency, and the S10 prefix rolling over."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import text

from config.database import new_session
from mailing import s10
from mailing.numbers import SERIALS_PER_PREFIX, next_tracking_no, next_value
from tests.helpers import intake_command
from tracking.model.context import Actor
from tracking.commands.intake import register_case

CLERK = Actor("clerk_xf", "clerk", "H140902", "李窗口")


def _run_in_threads(engine, threads: int, work) -> list:
    """Runs work(session) in `threads` threads at once, each with its own session; collects results."""
    barrier = threading.Barrier(threads)
    results: list = []
    errors: list = []
    lock = threading.Lock()

    def body():
        session = new_session(engine)
        try:
            barrier.wait()
            got = work(session)
            with lock:
                results.extend(got)
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            errors.append(e)
        finally:
            session.close()

    pool = [threading.Thread(target=body) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors, errors
    return results


def _set_counter(session, name: str, value: int) -> None:
    session.execute(text("DELETE FROM counter WHERE name = :n"), {"n": name})
    session.execute(text("INSERT INTO counter (name, value) VALUES (:n, :v)"), {"n": name, "v": value})
    session.commit()


def test_a_new_counter_starts_at_one_and_goes_up_by_one(db):
    assert [next_value(db, "t:a") for _ in range(3)] == [1, 2, 3]
    db.commit()
    assert next_value(db, "t:a") == 4


def test_counters_with_different_names_count_separately(db):
    assert next_value(db, "t:a") == 1
    assert next_value(db, "t:b") == 1
    assert next_value(db, "t:a") == 2


def test_a_rolled_back_increment_is_not_kept(db):
    next_value(db, "t:a")
    db.commit()
    next_value(db, "t:a")
    db.rollback()
    assert next_value(db, "t:a") == 2


def test_counters_increment_atomically_under_concurrency(db, engine):
    def work(session):
        got = []
        for _ in range(25):
            got.append(next_value(session, "t:race"))
            session.commit()
        return got

    values = _run_in_threads(engine, 4, work)
    assert sorted(values) == list(range(1, 101))


def test_two_clerks_registering_at_the_same_moment_never_share_a_number(db, engine, env, frozen):
    def work(session):
        got = []
        for _ in range(15):
            out = register_case(session, env, CLERK, intake_command(session))
            got.append((out.case.case_no, out.packet.tracking_no))
            session.commit()
        return got

    numbers = _run_in_threads(engine, 2, work)
    case_nos = [c for c, _ in numbers]
    tracking_nos = [t for _, t in numbers]
    assert len(set(case_nos)) == 30
    assert len(set(tracking_nos)) == 30
    assert sorted(int(c.rsplit("-", 1)[1]) for c in case_nos) == list(range(1, 31))
    assert all(c.startswith("140902-20260302-") for c in case_nos)
    assert all(s10.is_valid_tracking_no(t) for t in tracking_nos)
    stored = db.execute(text('SELECT COUNT(*), COUNT(DISTINCT case_no) FROM "case"')).one()
    assert tuple(stored) == (30, 30)


def test_a_case_number_reads_division_date_sequence_and_never_looks_like_a_tracking_number(db, env, frozen):
    out = register_case(db, env, CLERK, intake_command(db))
    db.commit()
    case_no = out.case.case_no
    assert re.fullmatch(r"140902-20260302-\d{4}", case_no)
    assert case_no == "140902-20260302-0001"
    assert not s10.is_valid_tracking_no(case_no.replace("-", ""))
    assert s10.is_valid_tracking_no(out.packet.tracking_no)


def test_the_daily_sequence_starts_again_the_next_day(db, env, frozen):
    first = register_case(db, env, CLERK, intake_command(db)).case.case_no
    db.commit()
    frozen.set("2026-03-03T09:00:00+08:00")
    second = register_case(db, env, CLERK, intake_command(db)).case.case_no
    db.commit()
    assert (first, second) == ("140902-20260302-0001", "140902-20260303-0001")


def test_the_beijing_date_decides_the_day_of_a_case_number(db, env, frozen):
    frozen.set("2026-03-02T23:30:00+08:00")  # 15:30 UTC, still Monday in Beijing
    assert register_case(db, env, CLERK, intake_command(db)).case.case_no.startswith("140902-20260302-")
    db.commit()
    frozen.set("2026-03-03T00:30:00+08:00")  # 16:30 UTC on Monday, Tuesday in Beijing
    assert register_case(db, env, CLERK, intake_command(db)).case.case_no == "140902-20260303-0001"


def test_tracking_numbers_are_valid_s10_numbers_in_sequence(db):
    numbers = [next_tracking_no(db, "EA", "EZ") for _ in range(20)]
    assert all(s10.is_valid_tracking_no(n) for n in numbers)
    assert numbers[0] == s10.make_tracking_no("EA", 1)
    assert [int(n[2:10]) for n in numbers] == list(range(1, 21))
    assert all(n.startswith("EA") and n.endswith("CN") for n in numbers)


def test_the_prefix_rolls_over_after_serial_99999999(db):
    _set_counter(db, "s10", SERIALS_PER_PREFIX - 2)
    last, first_of_next, second_of_next = (next_tracking_no(db, "EA", "EZ") for _ in range(3))
    assert last == s10.make_tracking_no("EA", 99_999_999)
    assert first_of_next == s10.make_tracking_no("EB", 0)
    assert second_of_next == s10.make_tracking_no("EB", 1)
    assert all(s10.is_valid_tracking_no(n) for n in (last, first_of_next, second_of_next))


def test_the_configured_prefix_range_starts_where_it_says(db):
    assert next_tracking_no(db, "KA", "KZ") == s10.make_tracking_no("KA", 1)


def test_running_out_of_configured_prefixes_is_an_error_not_a_wrong_number(db):
    _set_counter(db, "s10", SERIALS_PER_PREFIX - 1)
    with pytest.raises(RuntimeError):
        next_tracking_no(db, "EA", "EA")
