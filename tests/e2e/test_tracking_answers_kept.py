"""Public tracking answers kept a few seconds per process (app.answer_cache): a write committed here shows at
once, one committed by another process within the seconds set, and a wrong code is never answered from it."""
from __future__ import annotations

import time

from tests.e2e.steps import collect, record, track
from tests.helpers import scan
from tracking.commands import custody
from tracking.model.context import Actor
from tracking.model.inputs import parse

CLERK = Actor("clerk", "clerk", "H140902")


def _kept_for(api, seconds: float):
    api.client.application.extensions["tongban"]["answers"].seconds = seconds


def _dispatched_elsewhere(db, env, tracking_no: str) -> None:
    """The dispatch scan recorded by another process (a second worker, a carrier's push): not by this app."""
    batch = parse(custody.ScanBatch, {"scans": [scan(tracking_no, "dispatched", "2026-03-02T10:00:00+08:00")]})
    results = custody.record_scans(db, env, CLERK, batch)
    assert results[0].status == "recorded"
    db.commit()


def test_another_process_s_write_shows_once_the_seconds_pass_and_this_process_s_at_once(staff, frozen, db, env):
    api = staff
    _kept_for(api, 0.5)
    case = collect(api)
    first = track(api, case["case_no"], case["check_code"])
    assert first.json["status"] == "collected"
    _dispatched_elsewhere(db, env, case["tracking_no"])
    kept = track(api, case["case_no"], case["check_code"])
    assert kept.status_code == 200 and kept.data == first.data  # this process has not seen the write yet
    time.sleep(0.6)
    fresh = track(api, case["case_no"], case["check_code"])
    assert fresh.json["status"] == "in_transit"
    assert [e["type"] for e in fresh.json["events"]] == ["collected", "in_transit"]
    # the owning office signs for it through this process: the next look-up says so, with no wait
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    assert track(api, case["case_no"], case["check_code"]).json["status"] == "received"


def test_nothing_is_kept_when_the_seconds_are_zero(staff, frozen, db, env):
    api = staff
    _kept_for(api, 0)
    case = collect(api)
    assert track(api, case["case_no"], case["check_code"]).json["status"] == "collected"
    _dispatched_elsewhere(db, env, case["tracking_no"])
    assert track(api, case["case_no"], case["check_code"]).json["status"] == "in_transit"


def test_a_kept_answer_never_answers_a_wrong_code_and_the_lock_still_holds(staff, frozen):
    api = staff
    _kept_for(api, 60)
    case = collect(api)
    right = track(api, case["case_no"], case["check_code"])
    wrong = f"{(int(case['check_code']) + 1) % 10**6:06d}"
    for _ in range(10):  # each wrong code is counted (a write here, which also empties what is kept)
        assert track(api, case["case_no"], wrong).status_code == 404
    locked = track(api, case["case_no"], case["check_code"])
    assert right.status_code == 200 and locked.status_code == 429
    assert locked.json["error"]["code"] == "too_many_attempts"
