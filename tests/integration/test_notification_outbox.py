"""The notifications outbox: one row per channel, claimed by one worker, retried with backoff, dead after
too many failures, replayed; the first SMS carries the check code and no later one; a phone gets at most
so many SMS an hour; an applicant who opted out gets none. Sent through the real transports to a local
SMS gateway (tests/sms_gateway.py)."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from config import clock
from config.database import new_session
from routing.tables import Office
from tests.helpers import intake_body, intake_command, person, scan
from tests.sms_gateway import Gateway
from tracking.commands import custody, decisions
from tracking.commands.intake import register_case
from tracking.commands.notifications import replay, send_due
from tracking.messages import SendError, transports
from tracking.model.context import Actor, Env
from tracking.model.inputs import parse
from tracking.model.records import CHECK_CODE
from tracking.model.tables import Notification

CLERK = Actor("clerk_xf", "clerk", "H140902", "李窗口")
OFFICER = Actor("officer_xd", "officer", "D140105-GA", "赵办理")


@pytest.fixture
def gateway():
    g = Gateway(secret="gw-secret").start()
    yield g
    g.stop()


def with_settings(env: Env, **changes) -> Env:
    return Env(replace(env.settings, **changes), env.addresses)


def gateway_env(env: Env, gateway: Gateway, **changes) -> Env:
    return with_settings(env, sms_transport="gateway", sms_url=gateway.url + "/send", sms_secret="gw-secret",
                         **changes)


def registered(db, env, **applicant):
    made = register_case(db, env, CLERK, intake_command(db, intake_body(applicant=person(**applicant))))
    db.commit()
    return made


def notes(db, **where) -> list[Notification]:
    db.rollback()
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.exec(query))


def accepted(db, env, made) -> None:
    custody.record_scans(db, env, CLERK, parse(custody.ScanBatch, {"scans": [
        scan(made.packet.tracking_no, "dispatched", "2026-03-02T10:00:00+08:00")]}))
    custody.record_scans(db, env, OFFICER, parse(custody.ScanBatch, {"scans": [
        scan(made.packet.tracking_no, "received", "2026-03-02T11:00:00+08:00")]}))
    decisions.accept_case(db, env, OFFICER, made.case.case_no)
    db.commit()


def test_intake_queues_an_sms_and_an_email_and_the_stored_texts_hold_no_check_code(db, env, frozen):
    made = registered(db, env, email="Zhang.San@Example.COM")
    rows = notes(db, case_id=made.case.id)
    assert [(n.channel, n.audience, n.milestone, n.status) for n in rows] == [
        ("sms", "applicant", "collected", "pending"), ("email", "applicant", "collected", "pending")]
    assert all(CHECK_CODE in n.text and made.check_code not in n.text for n in rows)
    assert rows[0].params["case_no"] == made.case.case_no and "check_code" not in rows[0].params
    stored = " ".join(str(v) for row in db.execute(text('SELECT email_sealed, applicant_sealed FROM "case"')) for v in row)
    assert "Zhang.San" not in stored and "13812345678" not in stored  # sealed, as the phone


def test_an_applicant_who_opted_out_of_sms_gets_email_only_or_the_log_keeps_the_record(db, env, frozen):
    by_email = registered(db, env, sms_opt_out=True, email="li@example.com")
    silent = registered(db, env, sms_opt_out=True, id_number="110101199003074477")
    assert [n.channel for n in notes(db, case_id=by_email.case.id)] == ["email"]
    assert [n.channel for n in notes(db, case_id=silent.case.id)] == ["log"]


def test_the_first_sms_carries_the_case_number_and_check_code_and_later_ones_never_the_code(db, env, frozen, gateway):
    made = registered(db, env)
    accepted(db, env, made)
    done = send_due(db, env := gateway_env(env, gateway), transports(env.settings), "w1", db.commit)
    assert done["dead"] == 0 and done["sent"] == len(notes(db, status="sent"))
    to_applicant = [sms for sms in gateway.got if sms.phone == "13812345678"]
    assert len(to_applicant) == 2
    first, later = to_applicant
    assert first.text.startswith("【通办寄递】您的办件" + made.case.case_no)
    assert f"查询密码{made.check_code}" in first.text and CHECK_CODE not in first.text
    assert made.case.case_no in later.text and "已受理" in later.text and made.check_code not in later.text
    assert gateway.refused == []


def test_a_failure_waits_with_backoff_then_goes_and_too_many_make_it_dead_until_replayed(db, env, frozen, gateway):
    made = registered(db, env, sms_opt_out=False)
    env = gateway_env(env, gateway, message_retry_seconds=60, message_max_tries=3)
    gateway.answers = [503, 503, 503]
    assert send_due(db, env, transports(env.settings), "w1", db.commit)["retried"] == 1
    note = notes(db, case_id=made.case.id)[0]
    assert (note.status, note.attempts, note.next_attempt_at) == ("pending", 1, clock.now() + timedelta(seconds=60))
    assert "HTTP 503" in note.last_error
    assert send_due(db, env, transports(env.settings), "w1", db.commit)["sent"] == 0  # not due yet
    frozen.set("2026-03-02T09:01:00+08:00")
    assert send_due(db, env, transports(env.settings), "w1", db.commit)["retried"] == 1
    assert notes(db, case_id=made.case.id)[0].next_attempt_at == clock.now() + timedelta(seconds=120)  # doubled
    frozen.set("2026-03-02T09:03:00+08:00")
    assert send_due(db, env, transports(env.settings), "w1", db.commit)["dead"] == 1
    assert notes(db, case_id=made.case.id)[0].status == "dead" and gateway.got == []

    assert replay(db, dead=True)["replayed"] == [note.id]
    db.commit()
    assert send_due(db, env, transports(env.settings), "w1", db.commit)["sent"] == 1
    sent = notes(db, case_id=made.case.id)[0]
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert len(gateway.got) == 1
    assert replay(db, [sent.id]) == {"replayed": [], "sent_already": [sent.id], "unknown": []}


def test_a_refusal_that_will_not_change_is_dead_at_once(db, env, frozen):
    made = registered(db, env)

    def refuses(_out):
        raise SendError("isv.MOBILE_NUMBER_ILLEGAL: 非法手机号", permanent=True)
    assert send_due(db, env, {"sms": refuses}, "w1", db.commit)["dead"] == 1
    note = notes(db, case_id=made.case.id)[0]
    assert (note.status, note.attempts) == ("dead", 1) and "MOBILE_NUMBER_ILLEGAL" in note.last_error


def test_a_phone_gets_at_most_the_hourly_limit_and_the_rest_waits_without_counting_as_a_failure(db, env, frozen,
                                                                                                gateway):
    env = gateway_env(env, gateway, sms_per_phone_per_hour=2)
    for n in range(3):  # three cases of one applicant, each with its first SMS
        registered(db, env, id_number="110101199003074477" if n else person()["id_number"])
    done = send_due(db, env, transports(env.settings), "w1", db.commit)
    assert (done["sent"], done["deferred"]) == (2, 1)
    waiting = notes(db, status="pending")[0]
    assert waiting.attempts == 0 and waiting.next_attempt_at == clock.now() + timedelta(hours=1)
    assert "每小时最多发送2条" in waiting.last_error
    frozen.set("2026-03-02T10:00:00+08:00")
    assert send_due(db, env, transports(env.settings), "w1", db.commit)["sent"] == 1
    assert len(gateway.got) == 3
    hashes = {n.recipient_hash for n in notes(db, status="sent")}
    assert len(hashes) == 1 and env.sealer.lookup_hash("13812345678") in hashes


def test_an_office_with_a_notify_phone_hears_of_an_incoming_packet_when_it_leaves(db, env, frozen, gateway, engine):
    with new_session(engine) as s:
        s.get(Office, "D140105-GA").notify_phone = "13900001111"
        s.commit()
    try:
        made = registered(db, env)
        custody.record_scans(db, env, CLERK, parse(custody.ScanBatch, {"scans": [
            scan(made.packet.tracking_no, "dispatched", "2026-03-02T10:00:00+08:00")]}))
        db.commit()
        office = notes(db, office_code="D140105-GA")
        assert [(n.channel, n.milestone) for n in office] == [("sms", "incoming_packet")]
        assert made.packet.tracking_no in office[0].text and "忻府区" in office[0].text
        send_due(db, env := gateway_env(env, gateway), transports(env.settings), "w1", db.commit)
        assert [sms.text for sms in gateway.got if sms.phone == "13900001111"] == ["【通办寄递】" + office[0].text]
    finally:
        with new_session(engine) as s:
            s.get(Office, "D140105-GA").notify_phone = ""
            s.commit()


def test_two_workers_at_once_send_each_message_exactly_once(db, env, frozen, gateway, engine):
    for n in range(6):
        registered(db, env, id_number=person()["id_number"] if n % 2 else "110101199003074477",
                   email=f"a{n}@example.com")
    env = gateway_env(env, gateway, sms_per_phone_per_hour=0)
    gateway.delay = 0.05  # each send takes a while: the other worker runs meanwhile
    emails: list[str] = []
    lock = threading.Lock()

    def email(out):
        with lock:
            emails.append(out.to)
        return ""

    def worker(name: str) -> None:
        with new_session(engine) as session:
            send_due(session, env, {**transports(env.settings), "email": email}, name, session.commit)
            session.commit()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(emails) == [f"a{n}@example.com" for n in range(6)]
    assert sorted(sms.reference for sms in gateway.got) == sorted(
        f"notification-{n.id}" for n in notes(db, channel="sms"))
    assert {n.status for n in notes(db)} == {"sent"}


def queued(db, made, n: int) -> None:
    """`n` more SMS of the case's first one, due now."""
    first = notes(db, case_id=made.case.id, channel="sms")[0]
    db.add_all(Notification(case_id=first.case_id, audience=first.audience, text=first.text, channel="sms",
                            milestone=first.milestone, params=first.params, created_at=first.created_at,
                            next_attempt_at=first.next_attempt_at) for _ in range(n))
    db.commit()


def test_a_run_sends_each_message_once_however_short_the_backoff(db, env, frozen):
    made = registered(db, env)
    queued(db, made, 9)
    env = with_settings(env, message_retry_seconds=0, message_retry_max_seconds=0, sms_per_phone_per_hour=0)

    def fails(_out):
        raise SendError("HTTP 503: busy")
    # each failure is due again at once, behind the run: it waits for the next run
    assert send_due(db, env, {"sms": fails, "email": fails}, "w1", db.commit) == {
        "sent": 0, "retried": 10, "dead": 0, "deferred": 0}
    assert {n.attempts for n in notes(db)} == {1}
    assert send_due(db, env, {"sms": fails, "email": fails}, "w1", db.commit)["retried"] == 10
    assert {n.attempts for n in notes(db)} == {2}


def test_a_run_over_many_messages_repeats_the_same_few_statements(db, env, frozen, engine):
    # Memory and time per message stay flat only if the run's statements do not grow with it: a list of
    # the ids sent so far, bound into each claim, made every claim a new, longer statement, which the
    # driver compiled and cached again (peak memory grew ~25 KB a message, time quadratically).
    made = registered(db, env)
    queued(db, made, 60)
    env = with_settings(env, sms_per_phone_per_hour=0)
    statements: list[tuple[str, int]] = []

    def seen(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, len(parameters or ())))
    event.listen(engine, "before_cursor_execute", seen)
    try:
        done = send_due(db, env, {"sms": lambda _out: "", "email": lambda _out: ""}, "w1", db.commit)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert done["sent"] == 61
    assert len({text for text, _ in statements}) <= 15
    assert max(n for _, n in statements) <= 12
