"""Limits that hold with several workers: wrong check codes counted exactly under concurrent requests
(PostgreSQL), and per-client limits shared by separate app instances through Redis.

Each test is skipped, with its reason, when its server is not there: PostgreSQL is selected by
TONGBAN_DATABASE_URL; Redis is looked for at 127.0.0.1:6379 (CI starts both).
"""
from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from sqlmodel import select

from tests.helpers import intake_command
from tracking.commands.intake import register_case
from tracking.model.context import Actor
from tracking.model.tables import TrackLock

CLERK = Actor("clerk_xf", "clerk", "H140902", "李窗口")
REDIS = "redis://127.0.0.1:6379/15"


def _redis():
    try:
        import redis
        client = redis.Redis.from_url(REDIS, socket_timeout=1)
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - any failure means: no Redis to test against
        return None


@pytest.fixture
def intake(db, env):
    out = register_case(db, env, CLERK, intake_command(db))
    db.commit()
    return out


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _at_once(count: int, ask) -> list[int]:
    """`ask(n)` from `count` threads released together; the status of each answer."""
    start, statuses = threading.Barrier(count), [None] * count

    def run(n):
        start.wait()
        statuses[n] = ask(n)
    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


def test_forty_simultaneous_wrong_codes_check_exactly_ten_and_never_fail(app, db, intake, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("TONGBAN_DATABASE_URL is not PostgreSQL: the race needs concurrent writers")
    numbers = [intake.case.case_no, intake.packet.tracking_no.lower(), intake.case.case_no.replace("-", " ")]
    wrong = _wrong(intake.check_code)

    def ask(n):
        client = app.test_client()  # a client of its own, so a session of its own, from an address of its own
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{n + 1}"
        return client.get(f"/api/v1/track/{numbers[n % 3]}?check={wrong}").status_code

    statuses = Counter(_at_once(40, ask))
    assert statuses == {404: 10, 429: 30}
    db.rollback()
    lock = db.exec(select(TrackLock)).one()
    assert (lock.number, lock.failures) == (intake.case.case_no, 10) and lock.locked_until is not None
    right = app.test_client().get(f"/api/v1/track/{intake.case.case_no}?check={intake.check_code}")
    assert right.status_code == 429


def test_two_app_instances_share_one_per_client_budget_through_redis(db, intake, database_url, tmp_path):
    redis = _redis()
    if redis is None:
        pytest.skip("no Redis at 127.0.0.1:6379")
    from app import create_app
    prefix = f"test-{uuid.uuid4().hex}"  # this test's counts only, removed after
    apps = [create_app({"database_url": database_url, "secret_key": "s", "data_key": "test-data-key",
                        "instance_path": tmp_path / str(n), "rate_limit_storage": REDIS,
                        "rate_limit_prefix": prefix, "track_rate_per_minute": 5}) for n in range(2)]
    try:
        clients = [a.test_client() for a in apps]
        path = f"/api/v1/track/{intake.case.case_no}?check={intake.check_code}"
        statuses = [clients[n % 2].get(path).status_code for n in range(8)]  # the two workers take turns
        assert statuses == [200] * 5 + [429] * 3
        refused = clients[1].get(path)
        assert refused.json["error"]["code"] == "too_many_requests"
        other = clients[0].get(path, environ_base={"REMOTE_ADDR": "198.51.100.9"})
        assert other.status_code == 200  # per client: another address has a budget of its own
    finally:
        for key in redis.scan_iter(f"*{prefix}*"):
            redis.delete(key)
        for a in apps:
            a.extensions["tongban"]["engine"].dispose()
