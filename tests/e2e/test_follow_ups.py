"""差评整改 over the API: the owning office closes a bad rating's follow-up with a note of what it did,
which enters the case's history; nobody else may, and only once."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from tests.e2e.steps import assert_error, case_of, count, delivered_electronically, rated, rows
from tracking.model.tables import CaseEvent, Evaluation

NOTE = "已电话联系申请人致歉，说明材料在途延误的原因；已要求窗口当日交寄。"



def follow_up(api, case_no: str, note=NOTE, as_: str = "officer", key: str | None = None):
    return api.post(f"/api/v1/cases/{case_no}/follow-up", {"note": note}, as_=as_, key=key)


def evaluation(db) -> Evaluation:
    [found] = rows(db, select(Evaluation))
    return found


def test_the_owning_office_records_what_it_did_and_the_follow_up_is_done(staff, frozen, db):
    case = rated(staff, frozen)
    frozen.set("2026-03-06T15:30:00+08:00")

    r = follow_up(staff, case["case_no"])

    assert r.status_code == 200, r.get_json()
    assert r.json["case_no"] == case["case_no"] and r.json["status"] == "closed"  # rated and answered: archived
    assert r.json["evaluation"] == {
        "score": 2, "score_text": "不满意", "comment": "等了很久才有人处理", "at": "2026-03-05T09:00:00+08:00",
        "stage": "office", "stage_text": "办理部门",
        "follow_up": {"status": "done", "status_text": "已整改", "office_code": "D140105-GA", "note": NOTE,
                      "at": "2026-03-06T15:30:00+08:00", "by": "officer", "due": "2026-03-19", "visit": None}}
    stored = evaluation(db)
    assert (stored.follow_up_status, stored.follow_up_note, stored.followed_up_by) == ("done", NOTE, "officer")
    assert stored.followed_up_at == datetime.fromisoformat("2026-03-06T15:30:00+08:00")


def test_the_follow_up_is_in_the_cases_history_on_its_hash_chain(staff, frozen, db):
    case = rated(staff, frozen, score=1)
    frozen.set("2026-03-06T10:00:00+08:00")
    assert follow_up(staff, case["case_no"]).status_code == 200

    events = case_of(staff, case["case_no"])["events"]

    last = events[-1]
    assert (last["type"], last["status"], last["actor"], last["role"], last["office_code"]) == \
        ("followed_up", "closed", "officer", "officer", "D140105-GA")
    assert last["data"] == {"score": 1, "note": NOTE}
    assert last["at"] == "2026-03-06T10:00:00+08:00"
    stored = rows(db, select(CaseEvent).order_by(CaseEvent.id))
    assert stored[-1].prev_hash == stored[-2].hash and stored[-1].hash  # chained to the evaluation before it
    # the clerk of the collecting window reads the same history
    assert case_of(staff, case["case_no"], as_="clerk")["events"][-1]["type"] == "followed_up"


def test_another_office_and_the_collecting_window_are_refused(staff, frozen, db):
    case = rated(staff, frozen)
    staff.user("officer_sj", "officer", "D140105-SJ")

    for who in ("officer_sj", "clerk", "supervisor"):
        assert_error(follow_up(staff, case["case_no"], as_=who), 403, "forbidden")

    assert evaluation(db).follow_up_status == "open"
    assert count(db, CaseEvent, CaseEvent.type == "followed_up") == 0


def test_without_an_open_follow_up_there_is_nothing_to_close(staff, frozen, db):
    good = rated(staff, frozen, score=4, comment="很方便")
    assert_error(follow_up(staff, good["case_no"]), 409, "no_open_follow_up")

    unrated = delivered_electronically(staff, frozen)
    error = assert_error(follow_up(staff, unrated["case_no"]), 409, "no_open_follow_up")
    assert error["message"] == "该办件没有待整改的差评。"

    assert_error(follow_up(staff, "140902-20990101-0001"), 404, "not_found")
    assert count(db, CaseEvent, CaseEvent.type == "followed_up") == 0


def test_a_follow_up_is_closed_once(staff, frozen, db):
    case = rated(staff, frozen)
    assert follow_up(staff, case["case_no"]).status_code == 200

    again = follow_up(staff, case["case_no"], note="再次登记整改情况")

    error = assert_error(again, 409, "no_open_follow_up")
    assert "已整改" in error["message"]
    assert evaluation(db).follow_up_note == NOTE
    assert count(db, CaseEvent, CaseEvent.type == "followed_up") == 1


def test_the_same_request_sent_twice_with_its_key_is_recorded_once(staff, frozen, db):
    case = rated(staff, frozen)

    first = follow_up(staff, case["case_no"], key="fu-1")
    second = follow_up(staff, case["case_no"], key="fu-1")

    assert first.status_code == second.status_code == 200
    assert second.json == first.json
    assert count(db, CaseEvent, CaseEvent.type == "followed_up") == 1


def test_a_note_must_say_what_was_done(staff, frozen, db):
    case = rated(staff, frozen)

    for note in ("", "   ", "已处理", None, 5, ["已电话联系申请人"], "长" * 1001):
        assert_error(follow_up(staff, case["case_no"], note=note), 400, "invalid_request", "note")
    assert_error(staff.post(f"/api/v1/cases/{case['case_no']}/follow-up", {}, as_="officer"),
                 400, "invalid_request", "note")

    assert evaluation(db).follow_up_status == "open"
    assert count(db, CaseEvent, CaseEvent.type == "followed_up") == 0


def test_the_note_is_kept_as_written_without_its_surrounding_spaces(staff, frozen, db):
    case = rated(staff, frozen)
    r = follow_up(staff, case["case_no"], note=f"  {NOTE}\n")
    assert r.status_code == 200
    assert evaluation(db).follow_up_note == NOTE


def test_a_note_too_long_says_so_in_words_and_not_too_short(staff, frozen, db):
    case = rated(staff, frozen)
    error = assert_error(follow_up(staff, case["case_no"], note="长" * 1001), 400, "invalid_request", "note")
    assert error["message"] == "整改情况最多1000个字，请精简。"
    short = assert_error(follow_up(staff, case["case_no"], note="已处理"), 400, "invalid_request", "note")
    assert short["message"] == "请写明做了哪些整改、是否已联系申请人（至少5个字）。"
    assert evaluation(db).follow_up_status == "open"
