"""Notifications go out through a real Celery broker when one is configured.

Runs when TONGBAN_TEST_BROKER_URL names a broker (CI starts Redis and sets it); skipped otherwise.
"""
from __future__ import annotations

import os
import time

import pytest
from sqlmodel import select

from tests.helpers import PASSWORD, intake_body, permit_body

BROKER = os.environ.get("TONGBAN_TEST_BROKER_URL")
pytestmark = pytest.mark.skipif(not BROKER, reason="TONGBAN_TEST_BROKER_URL not set: no broker to test against")


def test_a_worker_on_the_broker_sends_the_notifications_an_intake_queued(db, tmp_path, database_url, frozen):
    from celery.contrib.testing.worker import start_worker

    from app import create_app
    from app.users import create_user
    from tracking.model.tables import Notification
    frozen.set("2026-03-02T09:00:00+08:00")
    app = create_app({"database_url": database_url, "broker_url": BROKER, "secret_key": "s", "data_key": "d",
                      "instance_path": tmp_path})
    celery_app = app.extensions["celery"]
    assert celery_app.conf.task_always_eager is False
    celery_app.control.purge()
    create_user(db, "clerk", "clerk", PASSWORD, "H140902")
    db.commit()
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "clerk", "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/cases", json=intake_body(), headers=headers)
    assert made.status_code == 201
    case_no = made.json["case_no"]
    r = client.post(f"/api/v1/cases/{case_no}/withdraw", json={"reason": "申请人不再办理"}, headers=headers)
    assert r.status_code == 200, r.json
    queued = db.exec(select(Notification)).all()
    assert queued and all(n.sent_at is None for n in queued)  # nothing sent in-process

    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            db.rollback()  # end the read snapshot to see the worker's commit
            if all(n.sent_at is not None for n in db.exec(select(Notification)).all()):
                break
            time.sleep(0.2)
    db.rollback()
    sent = db.exec(select(Notification)).all()
    assert sent and all(n.sent_at is not None for n in sent)
    app.extensions["tongban"]["engine"].dispose()


def test_beat_runs_the_sweep_on_the_configured_interval(tmp_path, database_url):
    from app import create_app
    app = create_app({"database_url": database_url, "secret_key": "s", "data_key": "d", "instance_path": tmp_path,
                      "sweep_minutes": 15})
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["sweep"] == {"task": "app.tasks.sweep_deadlines", "schedule": 900.0}
    app.extensions["tongban"]["engine"].dispose()


def test_a_worker_on_the_broker_runs_the_sweep_and_deems_a_silent_application_accepted(db, tmp_path, database_url,
                                                                                      frozen):
    from celery.contrib.testing.worker import start_worker

    from app import create_app
    from app.tasks import sweep_deadlines
    from app.users import create_user
    from tests.helpers import scan
    from tracking.model.tables import Case, CaseEvent
    app = create_app({"database_url": database_url, "broker_url": BROKER, "secret_key": "s", "data_key": "d",
                      "instance_path": tmp_path})
    celery_app = app.extensions["celery"]
    celery_app.control.purge()
    create_user(db, "clerk", "clerk", PASSWORD, "H140902")
    create_user(db, "officer", "officer", PASSWORD, "D140105-GA")
    db.commit()
    client = app.test_client()

    def as_(name):
        token = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD}).json["token"]
        return {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/cases", json=permit_body(), headers=as_("clerk")).json  # a permit: deemed accepted by law
    for who, type_, at in (("clerk", "dispatched", "2026-03-02T10:00:00+08:00"),
                           ("officer", "received", "2026-03-03T09:00:00+08:00")):
        frozen.set(at)  # each scan recorded when it happens (a scan ahead of the clock is implausible)
        r = client.post("/api/v1/scans", json={"scans": [scan(made["tracking_no"], type_, at)]}, headers=as_(who))
        assert r.json["results"][0]["status"] == "recorded", r.json
    frozen.set("2026-03-11T02:00:00+08:00")  # the 5th working day after receipt (10 March) has passed

    with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        sweep_deadlines.delay()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            db.rollback()
            if db.exec(select(Case).where(Case.case_no == made["case_no"])).one().status == "accepted":
                break
            time.sleep(0.2)
    db.rollback()
    case = db.exec(select(Case).where(Case.case_no == made["case_no"])).one()
    assert (case.status, case.deemed_accepted) == ("accepted", True)
    event = db.exec(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "accepted")).one()
    assert (event.actor, event.role, event.data["deemed"]) == ("system", "system", True)
    app.extensions["tongban"]["engine"].dispose()
