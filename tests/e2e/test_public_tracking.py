"""Public tracking: number + check code, nothing personal, the same 404 for every miss, a lock after 10 misses."""
from __future__ import annotations

from sqlmodel import select

from tests.e2e.steps import assert_error, collect, received, record, rows, track
from tests.helpers import intake_body
from tracking.model.tables import TrackLock

UNKNOWN = "140902-20990101-0001"
NOT_FOUND = "未找到该办件，请核对编号和查询密码。"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_an_unknown_number_and_a_wrong_check_code_get_the_same_not_found(staff, frozen):
    api = staff
    case = collect(api)
    unknown = track(api, UNKNOWN, case["check_code"])
    wrong = track(api, case["case_no"], _wrong(case["check_code"]))
    missing = track(api, case["case_no"], None)
    wrong_packet = track(api, case["tracking_no"], _wrong(case["check_code"]))
    assert_error(unknown, 404, "not_found")
    for r in (wrong, missing, wrong_packet):
        assert r.status_code == 404 and r.json == unknown.json
        assert r.data == unknown.data


def test_a_case_is_tracked_by_its_case_number_or_its_packets_tracking_number(staff, frozen):
    api = staff
    case = collect(api)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-02T12:00:00+08:00")
    by_case = track(api, case["case_no"], case["check_code"])
    by_packet = track(api, case["tracking_no"], case["check_code"])
    assert by_case.status_code == by_packet.status_code == 200
    assert by_packet.json == by_case.json
    answer = by_case.json
    assert answer["case_no"] == case["case_no"]
    assert answer["status"] == "in_transit" and answer["status_text"] == "材料寄递中"
    assert answer["matter"] == "无犯罪记录证明"
    assert answer["owning_office"] == "太原市公安局小店分局户政科"
    assert answer["collecting_office"] == "忻州市忻府区政务服务中心"
    assert answer["due_date"] == "2026-03-10" and answer["overdue"] is False
    assert answer["due_date_estimated"] is True and answer["expected_result_date"] == "2026-03-12"
    assert answer["promise_text"] == "预计2026年03月10日前办结，结果预计2026年03月12日送达"
    events = [(e["at"], e["type"], e["text"]) for e in answer["events"]]
    assert events[0] == ("2026-03-02T09:00:00+08:00", "collected", "窗口已收件，材料待寄出")
    # the dispatch scan moved the case: one step for the applicant, not the case's and the packet's twice
    assert events[1:] == [("2026-03-02T10:00:00+08:00", "in_transit", "申请材料已寄出")]
    assert answer["events"][0]["place"] == "忻州市忻府区政务服务中心"
    assert answer["events"][1]["place"] == "忻州市忻府区政务服务中心"


def test_the_public_answer_carries_no_personal_data(staff, frozen):
    api = staff
    case = collect(api, intake_body(note="申请人联系电话13812345678"))
    answer = track(api, case["case_no"], case["check_code"])
    assert answer.status_code == 200
    text = answer.data.decode()
    for personal in ("张晓明", "张**", "140105199003071234", "13812345678", "平阳路", "502", case["check_code"]):
        assert personal not in text, personal
    assert "applicant" not in answer.json and "check_code" not in answer.json and "note" not in answer.json


def test_a_case_past_its_due_date_shows_as_overdue(staff, frozen):
    api = staff
    case = received(api)
    frozen.set("2026-03-03T10:00:00+08:00")
    assert api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer").status_code == 200
    frozen.set("2026-03-09T09:00:00+08:00")  # due Friday 6 March, 3 working days after acceptance
    answer = track(api, case["case_no"], case["check_code"]).json
    assert answer["due_date"] == "2026-03-06" and answer["due_date_estimated"] is False
    assert answer["overdue"] is True


def test_ten_wrong_check_codes_within_an_hour_lock_the_case_for_the_next_hour(staff, frozen):
    api = staff
    case = collect(api)
    no, right, wrong = case["case_no"], case["check_code"], _wrong(case["check_code"])
    for minute in range(10):
        frozen.set(f"2026-03-02T10:{minute:02d}:00+08:00")
        assert track(api, no, wrong).status_code == 404
    frozen.set("2026-03-02T10:10:00+08:00")
    locked = track(api, no, right)
    assert locked.status_code == 429 and list(locked.json) == ["error"]
    assert "错误次数过多" in locked.json["error"]["message"]
    # the lock is on the case: its tracking number is locked with it
    assert track(api, case["tracking_no"], right).status_code == 429
    frozen.set("2026-03-02T11:08:00+08:00")
    assert track(api, no, right).status_code == 429
    frozen.set("2026-03-02T11:10:00+08:00")  # an hour after the tenth wrong code
    assert track(api, no, right).status_code == 200


def test_wrong_check_codes_spread_over_more_than_an_hour_do_not_lock(staff, frozen):
    api = staff
    case = collect(api)
    no, wrong = case["case_no"], _wrong(case["check_code"])
    for minute in range(9):
        frozen.set(f"2026-03-02T10:{minute:02d}:00+08:00")
        assert track(api, no, wrong).status_code == 404
    frozen.set("2026-03-02T11:30:00+08:00")
    assert track(api, no, wrong).status_code == 404
    assert track(api, no, case["check_code"]).status_code == 200


def test_an_unknown_number_locks_the_same_way_whoever_asks(staff, frozen, client):
    api = staff
    for minute in range(10):
        frozen.set(f"2026-03-02T10:{minute:02d}:00+08:00")
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{minute + 1}"  # ten different clients
        assert track(api, UNKNOWN, "123456").status_code == 404
    client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    r = track(api, UNKNOWN, "654321")
    assert r.status_code == 429 and r.json["error"]["message"]


def test_a_client_asking_too_often_is_slowed_down(staff, frozen, app):
    api = staff
    case = collect(api)
    app.config["TONGBAN"].track_rate_per_minute = 3
    answers = [track(api, case["case_no"], case["check_code"]).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert_error(track(api, case["case_no"], case["check_code"]), 429, "too_many_requests")


def test_a_number_is_found_however_it_was_typed_without_dashes_spaced_or_full_width(staff, frozen):
    api = staff
    case = collect(api)
    digits = case["case_no"].replace("-", "")
    spaced = f"{digits[:6]} {digits[6:14]} {digits[14:]}"
    wide = "".join(chr(ord(c) + 0xFEE0) for c in digits)  # full-width digits, as some input methods type them
    plain = track(api, case["case_no"], case["check_code"])
    assert plain.status_code == 200
    for typed in (digits, spaced, wide, case["tracking_no"].lower()):
        again = track(api, typed, case["check_code"])
        assert again.status_code == 200 and again.json == plain.json, typed
    staff_view = api.get(f"/api/v1/cases/{digits}", as_="clerk")
    assert staff_view.status_code == 200 and staff_view.json["case_no"] == case["case_no"]
    packet = api.get(f"/api/v1/packets/{case['tracking_no'].lower()}", as_="clerk")
    assert packet.status_code == 200 and packet.json["tracking_no"] == case["tracking_no"]


def _spellings(case: dict) -> list[str]:
    """The same case as the attack typed it: every one of these reaches the case."""
    no, digits = case["case_no"], case["case_no"].replace("-", "")
    return [no, f"{digits[:6]}\t{digits[6:14]}\t{digits[14:]}", f"\u3000{no}\u3000", f"  {no}  ",
            case["tracking_no"], case["tracking_no"].lower(), f"\u3000{case['tracking_no'].lower()}\t"]


def test_no_spelling_of_a_case_or_its_tracking_number_buys_more_than_ten_wrong_codes(staff, frozen, db):
    api = staff
    case = collect(api)
    right, wrong = case["check_code"], _wrong(case["check_code"])
    padded = case["case_no"] + " " * 20 + "X"  # was a fresh lock key that still found the case
    # what is not a case or tracking number is refused before any look-up: not found, even with the right code
    for junk in (padded, padded.replace(" ", "\t"), padded.replace(" ", "\u3000"), case["tracking_no"] + "X"):
        refused = track(api, junk, right)
        assert refused.status_code == 404 and refused.json == {"error": {"code": "not_found", "message": NOT_FOUND}}
    spellings = _spellings(case)
    for n in range(10):  # ten wrong codes in all, spread over every spelling
        assert track(api, spellings[n % len(spellings)], wrong).status_code == 404
    for spelling in spellings:
        locked = track(api, spelling, right)
        assert locked.status_code == 429, spelling
        assert locked.json["error"]["code"] == "too_many_attempts"
    # one budget, kept under the case number
    assert [(lock.number, lock.failures) for lock in rows(db, select(TrackLock))] == [(case["case_no"], 10)]


def test_an_unknown_well_formed_number_has_a_budget_of_its_own(staff, frozen, db):
    api = staff
    case = collect(api)
    for _ in range(10):
        assert track(api, UNKNOWN.replace("-", " "), "123456").status_code == 404
    assert track(api, UNKNOWN, "123456").status_code == 429
    assert [(lock.number, lock.failures) for lock in rows(db, select(TrackLock))] == [(UNKNOWN, 10)]
    assert track(api, case["case_no"], case["check_code"]).status_code == 200  # another case is not touched


def test_a_right_code_spends_nothing_of_the_budget(staff, frozen):
    api = staff
    case = collect(api)
    for _ in range(9):
        assert track(api, case["case_no"], _wrong(case["check_code"])).status_code == 404
    for _ in range(5):
        assert track(api, case["tracking_no"], case["check_code"]).status_code == 200
    assert track(api, case["case_no"], _wrong(case["check_code"])).status_code == 404  # the tenth
    assert track(api, case["case_no"], case["check_code"]).status_code == 429
