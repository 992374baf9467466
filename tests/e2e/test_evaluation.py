"""好差评: once per case, at the end, with a follow-up (整改) for the owning office after a bad rating."""
from __future__ import annotations

from sqlmodel import select

from tests.e2e.steps import assert_error, case_of, collect, count, delivered_electronically, received, rows, track
from tracking.model.tables import Evaluation, Notification


def _evaluate(api, case, **body):
    return api.post(f"/api/v1/track/{case['case_no']}/evaluation", {"check": case["check_code"], **body})


def test_a_case_cannot_be_evaluated_before_it_ends(staff, frozen, db):
    api = staff
    case = collect(api)
    assert_error(_evaluate(api, case, score=5), 409, "invalid_transition")
    case = received(api)
    assert_error(_evaluate(api, case, score=1), 409, "invalid_transition")
    assert count(db, Evaluation) == 0


def test_a_delivered_case_is_evaluated_once_and_closed(staff, frozen, db):
    api = staff
    case = delivered_electronically(api, frozen)
    frozen.set("2026-03-05T09:00:00+08:00")
    r = _evaluate(api, case, score=5, comment="网上就拿到了结果，很方便")
    assert r.status_code == 201, r.json
    assert r.json == {"case_no": case["case_no"], "score": 5, "follow_up": False, "stage": "office",
                      "follow_up_due": None, "status": "closed", "status_text": "已归档"}
    stored = rows(db, select(Evaluation))
    assert [(e.score, e.comment, e.follow_up_status) for e in stored] == [(5, "网上就拿到了结果，很方便", None)]
    assert case_of(api, case["case_no"])["status"] == "closed"  # a good rating archives it (CONTRACT.md)

    again = _evaluate(api, case, score=1)
    assert_error(again, 409, "already_evaluated")
    assert count(db, Evaluation) == 1
    assert track(api, case["case_no"], case["check_code"]).json["evaluable"] is False


def test_a_bad_rating_opens_a_follow_up_for_the_owning_office(staff, frozen, db):
    api = staff
    case = delivered_electronically(api, frozen)
    r = _evaluate(api, case, score=2, comment="等了很久才有人处理")
    assert r.status_code == 201 and r.json["follow_up"] is True, r.json
    stored = rows(db, select(Evaluation))
    assert [(e.score, e.follow_up_office, e.follow_up_status) for e in stored] == [(2, "D140105-GA", "open")]
    notices = rows(db, select(Notification).where(Notification.office_code == "D140105-GA"))
    assert any("差评" in n.text and case["case_no"] in n.text for n in notices)


def test_the_lowest_rating_also_opens_a_follow_up_and_a_middling_one_does_not(staff, frozen, db):
    api = staff
    worst, middling = delivered_electronically(api, frozen), delivered_electronically(api, frozen)
    assert _evaluate(api, worst, score=1).json["follow_up"] is True
    assert _evaluate(api, middling, score=3).json["follow_up"] is False
    assert sorted((e.score, e.follow_up_status) for e in rows(db, select(Evaluation))) == [(1, "open"), (3, None)]


def test_an_evaluation_with_a_wrong_check_code_is_not_found(staff, frozen, db):
    api = staff
    case = delivered_electronically(api, frozen)
    wrong = f"{(int(case['check_code']) + 1) % 10**6:06d}"
    r = api.post(f"/api/v1/track/{case['case_no']}/evaluation", {"check": wrong, "score": 1})
    error = assert_error(r, 404, "not_found")
    assert error == track(api, "140902-20990101-0001", wrong).json["error"]
    r = api.post("/api/v1/track/140902-20990101-0001/evaluation", {"check": wrong, "score": 1})
    assert_error(r, 404, "not_found")
    assert count(db, Evaluation) == 0
    assert case_of(api, case["case_no"])["status"] == "delivered"


def test_a_score_must_be_a_whole_number_from_one_to_five(staff, frozen, db):
    api = staff
    case = delivered_electronically(api, frozen)
    for score in (0, 6, "5", 4.5, True, None):
        assert_error(_evaluate(api, case, score=score), 400, "invalid_request", "score")
    assert count(db, Evaluation) == 0


def test_a_score_as_text_and_a_comment_too_long_are_named_together(staff, frozen, db):
    case = delivered_electronically(staff, frozen)
    r = _evaluate(staff, case, score="5", comment="长" * 501)
    error = assert_error(r, 400, "invalid_request", "score")
    assert error["message"] == "请选择您对本次服务的满意程度。"
    assert [e["field"] for e in error["errors"]] == ["score", "comment"]
    assert count(db, Evaluation) == 0
