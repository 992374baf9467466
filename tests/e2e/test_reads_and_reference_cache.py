"""Reads never take the write lock, and the reference data (calendar, offices, matters) is read once per process.

A GET gets a session that cannot write (SQLite's query_only, PostgreSQL's READ ONLY): a right check code
writes nothing, a wrong one is counted in a short transaction of its own, an access-log row is written when
the read commits. The calendar, the directory and the matters are built once per process and database and
built again after an edit, here or (through the version row) in another process.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from config import clock
from config.database import add_later, new_session, short_write
from routing import reference
from routing.calendars import store_year, work_calendar
from routing.tables import Matter
from routing.workdays import YearSpec
from tests.e2e.steps import collect, record, rows
from tracking.model.tables import AccessLog, TrackLock

NAME = "无犯罪记录证明"


@contextmanager
def statements(engine):
    """The SQL statements the engine runs meanwhile (BEGIN included; COMMIT is the driver's own)."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def tracked(staff, frozen, app):
    case = collect(staff)
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    app.config["TONGBAN"].track_rate_per_minute = 10**6
    return case


def page(client, number, check):
    return client.get(f"/track?no={number}&check={check}")


def test_a_public_look_up_reads_in_three_selects_and_never_the_reference_data(tracked, app, client):
    engine = app.extensions["tongban"]["engine"]
    app.extensions["tongban"]["answers"].seconds = 0  # each look-up made afresh, not a kept answer
    api_path = f"/api/v1/track/{tracked['case_no']}?check={tracked['check_code']}"
    assert client.get(api_path).status_code == 200  # the process's copies are made
    for look_up in (lambda: client.get(api_path), lambda: page(client, tracked["case_no"], tracked["check_code"])):
        with statements(engine) as seen:
            assert look_up().status_code == 200
        if engine.dialect.name == "sqlite":
            assert seen[0] == "BEGIN DEFERRED", seen
        # the case with its lock, its events, its packets with theirs (9 statements before: BEGIN IMMEDIATE,
        # the lock written, the calendar, the matter and the evaluation read each time)
        assert len([s for s in seen if s.startswith("SELECT")]) == 3, seen
        assert not any(table in s for s in seen for table in ("calendaryear", "matter.", "office.", "division."))
        assert not any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in seen)


def test_an_edit_of_the_calendar_and_of_a_matter_is_seen_by_the_next_look_up(tracked, app, client, db, staff):
    path = f"/api/v1/track/{tracked['case_no']}?check={tracked['check_code']}"
    assert client.get(path).json["matter"] == NAME
    engine = app.extensions["tongban"]["engine"]
    with new_session(engine) as s:
        row = s.get(Matter, "GA-WFZM-01")
        row.name = "无犯罪记录证明（新）"
        s.add(row)
        reference.reference_changed(s)  # as app.reference_admin.update_matter does
        s.commit()
    try:
        assert client.get(path).json["matter"] == "无犯罪记录证明（新）"
    finally:
        with new_session(engine) as s:
            s.get(Matter, "GA-WFZM-01").name = NAME
            reference.reference_changed(s)
            s.commit()
    assert client.get(path).json["matter"] == NAME

    # a year loaded moves the calendar: 2 March 2026 becomes a holiday for the next reader
    day = date(2026, 3, 2)
    assert work_calendar(db).is_working_day(day)
    db.rollback()
    with new_session(engine) as s:
        store_year(s, YearSpec(2026, {day: "测试假日"}, {}), clock.now())
        s.commit()
    assert not work_calendar(db).is_working_day(day)


def test_an_edit_in_another_process_is_seen_through_the_version_row(tracked, app, client, monkeypatch):
    """Another process edits the row and moves the version on; this one drops nothing itself."""
    app.extensions["tongban"]["answers"].seconds = 0  # the reference copies are what this is about
    path = f"/api/v1/track/{tracked['case_no']}?check={tracked['check_code']}"
    assert client.get(path).json["matter"] == NAME
    engine = app.extensions["tongban"]["engine"]

    def elsewhere(name):
        with engine.begin() as conn:
            conn.execute(text("UPDATE matter SET name = :name WHERE code = 'GA-WFZM-01'"), {"name": name})
            conn.execute(text("INSERT INTO counter (name, value) VALUES (:n, 1) ON CONFLICT (name) "
                              "DO UPDATE SET value = counter.value + 1"), {"n": reference.VERSION})
    elsewhere("另一进程改的名称")
    try:
        assert client.get(path).json["matter"] == NAME  # a read trusts its copy for CHECK_EVERY seconds
        monkeypatch.setattr(reference, "CHECK_EVERY", 0.0)
        assert client.get(path).json["matter"] == "另一进程改的名称"
    finally:
        elsewhere(NAME)
    assert client.get(path).json["matter"] == NAME


def test_a_session_that_may_write_asks_for_the_version_once(tracked, app):
    engine = app.extensions["tongban"]["engine"]
    with new_session(engine) as s:
        reference.matters(s)
    with new_session(engine) as s, statements(engine) as seen:
        reference.matters(s)
        work_calendar(s)
        reference.directory(s)
    assert [q for q in seen if "counter" in q] and not [q for q in seen if "FROM matter" in q], seen
    assert len([q for q in seen if "counter" in q]) == 1


def test_look_ups_answer_while_another_request_holds_the_write_lock(tracked, app, client, engine, db):
    """A right code reads only; a wrong one waits for the writer, is counted after it, and never fails
    on the snapshot the writer moved (as a deferred read upgraded to a write would on SQLite)."""
    assert page(client, tracked["case_no"], tracked["check_code"]).status_code == 200  # copies made
    holding, release, done = threading.Event(), threading.Event(), threading.Event()

    def writer():
        with new_session(engine) as s:  # BEGIN IMMEDIATE on SQLite: the write lock until it commits
            s.add(AccessLog(at=clock.now(), username="holder", role="clerk",
                            office_code=None, case_no="x", what="case"))
            s.flush()
            holding.set()
            release.wait(10)
            s.commit()
        done.set()
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        for _ in range(5):
            t0 = time.monotonic()
            assert page(client, tracked["case_no"], tracked["check_code"]).status_code == 200
            assert client.get(f"/api/v1/track/{tracked['tracking_no']}?check={tracked['check_code']}") \
                .status_code == 200
            assert time.monotonic() - t0 < 2, "a right code waited for the writer"
        answers = []
        wrong = threading.Thread(target=lambda: answers.append(
            page(app.test_client(), tracked["case_no"], _wrong(tracked["check_code"])).status_code))
        wrong.start()
        time.sleep(0.3)  # the wrong code has read the case and waits to be counted
        release.set()
        wrong.join(10)
        assert answers == [404]
    finally:
        release.set()
        thread.join(10)
    assert done.is_set()
    [lock] = rows(db, select(TrackLock).where(TrackLock.number == tracked["case_no"]))
    assert lock.failures == 1


def test_a_right_check_code_writes_nothing_and_a_locked_case_refuses_it(tracked, client, db):
    for _ in range(3):
        assert page(client, tracked["case_no"], tracked["check_code"]).status_code == 200
    assert rows(db, select(TrackLock)) == []
    for _ in range(10):
        assert page(client, tracked["case_no"], _wrong(tracked["check_code"])).status_code == 404
    assert page(client, tracked["case_no"], tracked["check_code"]).status_code == 429
    [lock] = rows(db, select(TrackLock))
    assert lock.failures == 10 and lock.locked_until is not None


def test_a_reading_session_cannot_write_and_writes_what_it_must_when_it_commits(engine, db):
    from sqlalchemy.exc import DBAPIError
    now = clock.now()
    with new_session(engine, query_only=True) as s:
        s.add(AccessLog(at=now, username="reader", role="clerk", office_code=None, case_no="a", what="case"))
        with pytest.raises(DBAPIError):
            s.flush()
        s.rollback()
        add_later(s, AccessLog(at=now, username="reader", role="clerk", office_code=None, case_no="b", what="case"))
        s.rollback()  # a failed read writes nothing
        add_later(s, AccessLog(at=now, username="reader", role="clerk", office_code=None, case_no="c", what="case"))
        s.commit()
    with short_write(engine) as s:  # a connection the reader used writes again when it is asked to
        s.add(AccessLog(at=now, username="writer", role="clerk", office_code=None, case_no="d", what="case"))
    db.rollback()
    assert [r.case_no for r in rows(db, select(AccessLog).order_by(AccessLog.id))] == ["c", "d"]


def test_a_staff_page_read_is_logged_and_the_session_touched_at_most_every_half_minute(staff, pages, frozen,
                                                                                        db, app):
    from app.sessions import StaffSession
    case = collect(staff)
    clerk = pages.login("clerk")
    [before] = rows(db, select(StaffSession))
    assert clerk.get(f"/window/cases/{case['case_no']}").status_code == 200
    frozen.set("2026-03-02T09:00:20+08:00")
    assert clerk.get(f"/window/cases/{case['case_no']}").status_code == 200
    assert rows(db, select(StaffSession))[0].seen_at == before.seen_at
    frozen.set("2026-03-02T09:01:00+08:00")
    assert clerk.get("/window").status_code == 200
    db.rollback()
    assert clock.beijing(rows(db, select(StaffSession))[0].seen_at).minute == 1
    logged = rows(db, select(AccessLog).where(AccessLog.username == "clerk", AccessLog.what == "case"))
    assert len(logged) == 2


def test_thirty_simultaneous_wrong_codes_count_exactly_ten_on_either_database(tracked, app, db):
    """Each counts in a short write of its own after giving its read's connection back: thirty requests at
    once never hold two connections each (the pool would wait on itself) and never fail on a snapshot."""
    start, statuses = threading.Barrier(30), []

    def ask(n):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{n + 1}"
        start.wait(10)
        statuses.append(client.get(f"/api/v1/track/{tracked['case_no']}?check={_wrong(tracked['check_code'])}")
                        .status_code)
    threads = [threading.Thread(target=ask, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [404] * 10 + [429] * 20
    [lock] = rows(db, select(TrackLock))
    assert lock.failures == 10
