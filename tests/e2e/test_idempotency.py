"""Idempotency-Key: a window client that retries after a timeout never registers a case twice."""
from __future__ import annotations

import json

from sqlmodel import select

from mailing.tables import Packet
from tests.e2e.steps import assert_error, collect, count, received, rows
from tests.helpers import intake_body, person
from tracking.model.tables import Case, CaseEvent


def test_the_same_intake_sent_twice_with_one_key_registers_one_case(staff, frozen, db):
    api = staff
    first = api.post("/api/v1/cases", intake_body(), as_="clerk", key="window-7f3a")
    again = api.post("/api/v1/cases", intake_body(), as_="clerk", key="window-7f3a")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.json["case_no"] == first.json["case_no"] and again.json["check_code"] == first.json["check_code"]
    assert [c.case_no for c in rows(db, select(Case))] == [first.json["case_no"]]
    assert count(db, Packet) == 1


def test_the_same_body_with_other_spacing_and_key_order_is_the_same_request(staff, frozen, db):
    api = staff
    body = intake_body()
    first = api.post_raw("/api/v1/cases", json.dumps(body, ensure_ascii=False), as_="clerk", key="k-1")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2, ensure_ascii=True)
    again = api.post_raw("/api/v1/cases", reordered, as_="clerk", key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json["case_no"] == first.json["case_no"]
    assert count(db, Case) == 1


def test_a_key_reused_with_another_body_is_refused(staff, frozen, db):
    api = staff
    first = api.post("/api/v1/cases", intake_body(), as_="clerk", key="window-7f3a")
    other = intake_body(applicant=person(name="王丽", phone="13987654321"))
    r = api.post("/api/v1/cases", other, as_="clerk", key="window-7f3a")
    assert_error(r, 422, "idempotency_key_reused", "Idempotency-Key")
    assert [c.case_no for c in rows(db, select(Case))] == [first.json["case_no"]]


def test_keys_belong_to_the_user_who_sent_them(staff, frozen, db):
    api = staff
    api.user("clerk2", "clerk", "H140902")
    first = collect(api, key="morning-1")
    second = collect(api, as_="clerk2", key="morning-1")
    assert second["case_no"] != first["case_no"]
    assert count(db, Case) == 2


def test_without_a_key_each_intake_is_a_new_case_with_the_next_number(staff, frozen, db):
    api = staff
    first, second = collect(api), collect(api)
    assert first["case_no"] == "140902-20260302-0001" and second["case_no"] == "140902-20260302-0002"
    assert first["tracking_no"] != second["tracking_no"]
    assert count(db, Case) == 2


def test_a_refused_intake_retried_with_its_key_is_refused_the_same_way(staff, frozen, db):
    api = staff
    body = intake_body(identity_check={"method": "face", "passed": False})
    first = api.post("/api/v1/cases", body, as_="clerk", key="k-refused")
    again = api.post("/api/v1/cases", body, as_="clerk", key="k-refused")
    assert_error(first, 422, "identity_check_failed")
    assert again.status_code == 422 and again.json == first.json
    assert count(db, Case) == 0


def test_an_acceptance_retried_with_its_key_is_answered_again_and_recorded_once(staff, frozen, db):
    api = staff
    case = received(api)
    path = f"/api/v1/cases/{case['case_no']}/accept"
    first = api.post(path, as_="officer", key="accept-1")
    again = api.post(path, as_="officer", key="accept-1")
    assert first.status_code == again.status_code == 200
    assert first.json["status"] == again.json["status"] == "accepted"
    assert again.json == first.json
    assert count(db, CaseEvent, CaseEvent.type == "accepted") == 1

    reused = api.post(path, {"note": "另一个请求"}, as_="officer", key="accept-1")
    assert_error(reused, 422, "idempotency_key_reused")
    assert count(db, CaseEvent, CaseEvent.type == "accepted") == 1


def test_an_acceptance_sent_again_without_a_key_is_refused_as_out_of_turn(staff, frozen, db):
    api = staff
    case = received(api)
    path = f"/api/v1/cases/{case['case_no']}/accept"
    assert api.post(path, as_="officer").status_code == 200
    assert_error(api.post(path, as_="officer"), 409, "invalid_transition")
    assert count(db, CaseEvent, CaseEvent.type == "accepted") == 1
