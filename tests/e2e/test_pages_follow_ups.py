"""差评整改 on the pages: the bad rating waits on the owning office's desk, the officer records what was
done on the case page, and the supervisor sees it done with its note and date."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.e2e.steps import count, delivered_electronically, rated, rows
from tests.helpers import intake_body
from tracking.model.tables import CaseEvent, Evaluation

NOTE = "已电话联系申请人致歉并说明延误原因；窗口已改为当日交寄材料。"


@pytest.fixture
def officer(staff, pages, frozen):
    pages.login("officer")
    return pages



def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, start: str, end: str | None = None) -> str:
    after = html.split(f'id="{start}"', 1)[1]
    return text_of(after.split(f'id="{end}"', 1)[0] if end else after)


def follow_up_of(db) -> Evaluation:
    [found] = rows(db, select(Evaluation))
    return found


def post_note(pages, case_no: str, note: str = NOTE, as_: str = "officer", **extra):
    return pages.post(f"/office/cases/{case_no}/follow-up", {"txn": "fu-txn-1", "fu_note": note, **extra}, as_=as_)


# -- the desk --------------------------------------------------------------------------------------

def test_the_desk_lists_a_bad_rating_to_follow_up_with_its_matter_score_comment_and_date(staff, officer, frozen):
    bad = rated(staff, frozen)
    good = rated(staff, frozen, score=5, comment="很方便")
    officer.login("officer")  # a new day, a new session

    page = officer.get("/office", as_="officer")

    assert page.status_code == 200
    assert re.search(r'<span class="card__number">1</span>差评待整改', page.text)
    listed = section(page.text, "follow-ups")
    assert bad["case_no"] in listed and good["case_no"] not in listed
    assert "无犯罪记录证明" in listed and "2 分 不满意" in listed
    assert "等了很久才有人处理" in listed and "2026-03-05 09:00" in listed
    assert f'/office/cases/{bad["case_no"]}#evaluation' in page.text


def test_another_offices_desk_does_not_list_it(staff, pages, frozen):
    case = rated(staff, frozen)
    staff.user("officer_sj", "officer", "D140105-SJ")
    pages.login("officer_sj")

    page = pages.get("/office", as_="officer_sj")

    assert case["case_no"] not in page.text
    assert "没有待整改的差评。" in text_of(page.text)


# -- the case page ----------------------------------------------------------------------------------

def test_the_case_page_shows_the_rating_and_the_form_and_recording_the_note_closes_it(staff, officer, frozen, db):
    case = rated(staff, frozen)
    officer.login("officer")
    page = officer.get(f"/office/cases/{case['case_no']}", as_="officer")
    shown = section(page.text, "evaluation", "facts")
    assert "申请人评价" in shown and "待整改" in shown
    assert "2 分 不满意" in shown and "等了很久才有人处理" in shown
    assert f'action="/office/cases/{case["case_no"]}/follow-up"' in page.text

    frozen.set("2026-03-06T15:30:00+08:00")
    officer.login("officer")  # the next afternoon: signed in again
    r = post_note(officer, case["case_no"])

    assert r.status_code == 303 and r.location.endswith(f"/office/cases/{case['case_no']}#evaluation")
    stored = follow_up_of(db)
    assert (stored.follow_up_status, stored.follow_up_note, stored.followed_up_by) == ("done", NOTE, "officer")
    after = officer.get(r.location, as_="officer")
    assert f"办件 {case['case_no']} 的差评整改情况已登记" in text_of(after.text)
    shown = section(after.text, "evaluation", "facts")
    assert "已整改" in shown and NOTE in shown and "2026-03-06 15:30" in shown
    assert "/follow-up" not in after.text  # nothing left to record
    history = section(after.text, "history")
    assert "差评已整改" in history and NOTE in history
    assert case["case_no"] not in section(officer.get("/office", as_="officer").text, "follow-ups")


def test_a_good_rating_is_shown_without_a_form(staff, officer, frozen):
    case = rated(staff, frozen, score=5, comment="很方便")
    officer.login("officer")

    page = officer.get(f"/office/cases/{case['case_no']}", as_="officer")

    shown = section(page.text, "evaluation", "facts")
    assert "5 分 非常满意" in shown and "很方便" in shown and "整改" not in shown
    assert "/follow-up" not in page.text


def test_a_case_without_a_rating_has_no_rating_section(staff, officer, frozen):
    case = delivered_electronically(staff, frozen)
    page = officer.get(f"/office/cases/{case['case_no']}", as_="officer")
    assert 'id="evaluation"' not in page.text and "申请人评价" not in page.text


def test_a_note_too_short_is_named_at_the_top_and_beside_the_field_and_nothing_changes(staff, officer, frozen, db):
    case = rated(staff, frozen)
    officer.login("officer")

    r = post_note(officer, case["case_no"], note="已处理")

    assert r.status_code == 400
    words = text_of(r.text)
    assert "请更正以下问题" in words and "整改情况：请写明做了哪些整改、是否已联系申请人（至少5个字）。" in words
    assert 'href="#fu_note"' in r.text and 'id="fu_note-error"' in r.text
    assert ">已处理</textarea>" in r.text  # what was typed is kept
    assert follow_up_of(db).follow_up_status == "open"
    # corrected, the same form (its txn freed by the refusal) goes through
    assert post_note(officer, case["case_no"]).status_code == 303
    assert follow_up_of(db).follow_up_status == "done"


def test_a_note_too_long_gets_the_words_the_api_gives_it(staff, officer, frozen, db):
    case = rated(staff, frozen)
    officer.login("officer")
    api = staff.post(f"/api/v1/cases/{case['case_no']}/follow-up", {"note": "长" * 1001}, as_="officer")

    r = post_note(officer, case["case_no"], note="长" * 1001)

    assert api.status_code == r.status_code == 400
    assert f"整改情况：{api.json['error']['message']}" in text_of(r.text)
    assert follow_up_of(db).follow_up_status == "open"


def test_the_form_posted_twice_records_once(staff, officer, frozen, db):
    case = rated(staff, frozen)
    officer.login("officer")

    first, second = post_note(officer, case["case_no"]), post_note(officer, case["case_no"])

    assert first.status_code == second.status_code == 303 and second.location == first.location
    assert count(db, CaseEvent, CaseEvent.type == "followed_up") == 1


def test_a_form_without_its_csrf_token_changes_nothing(staff, officer, frozen, db):
    case = rated(staff, frozen)
    officer.login("officer")

    r = post_note(officer, case["case_no"], csrf_token="forged")

    assert r.status_code == 400 and "CSRF" in r.text
    assert follow_up_of(db).follow_up_status == "open"


def test_an_officer_of_another_office_may_not_record_it(staff, pages, frozen, db):
    case = rated(staff, frozen)
    staff.user("officer_sj", "officer", "D140105-SJ")
    pages.login("officer_sj")

    r = post_note(pages, case["case_no"], as_="officer_sj")

    assert r.status_code == 403
    assert follow_up_of(db).follow_up_status == "open"


def test_the_collecting_window_may_not_record_it(staff, pages, frozen, db):
    case = rated(staff, frozen)
    pages.login("clerk")
    assert post_note(pages, case["case_no"], as_="clerk").status_code == 403  # the office pages are not theirs
    assert follow_up_of(db).follow_up_status == "open"


# -- the supervisor --------------------------------------------------------------------------------

def test_the_supervisor_sees_the_follow_up_done_with_its_note_and_date(staff, officer, frozen, pages):
    open_case, done_case = rated(staff, frozen, score=1, comment="窗口态度差"), rated(staff, frozen)
    frozen.set("2026-03-06T15:30:00+08:00")
    officer.login("officer")
    assert post_note(officer, done_case["case_no"]).status_code == 303
    pages.login("supervisor")

    page = pages.get("/supervise/ratings?since=2026-03-01&until=2026-03-06", as_="supervisor")

    assert page.status_code == 200
    rows_ = {m.group(1): text_of(m.group(0)) for m in
             re.finditer(r'<tr>\s*<td[^>]*>[^<]*</td>\s*<th scope="row"[^>]*>([^<]+)</th>.*?</tr>', page.text, flags=re.S)}
    assert "已整改" in rows_[done_case["case_no"]] and NOTE in rows_[done_case["case_no"]]
    assert "2026-03-06 15:30 登记" in rows_[done_case["case_no"]]
    assert "待整改" in rows_[open_case["case_no"]] and NOTE not in rows_[open_case["case_no"]]
    assert re.findall(r'<span class="card__number">([^<]+)</span>', page.text)[3] == "1"  # one still open


def test_a_paper_case_rated_badly_reaches_the_desk_too(staff, officer, frozen, db):
    """Not only electronic results: a case picked up at the window is rated and followed up the same way."""
    from tests.e2e.steps import accepted, decide, record
    case = accepted(staff, intake_body(result_delivery={"method": "pickup"}))
    r = decide(staff, case["case_no"])
    result = r.json["result_packet"]["tracking_no"]
    record(staff, result, "dispatched", "2026-03-04T10:00:00+08:00", as_="officer")
    record(staff, result, "received", "2026-03-05T10:00:00+08:00", "H140902", as_="clerk")
    frozen.set("2026-03-06T09:00:00+08:00")
    handed = staff.post(f"/api/v1/cases/{case['case_no']}/handover-to-applicant",
                        {"identity_check": {"method": "id_card_reader", "passed": True}}, as_="clerk")
    assert handed.status_code == 200, handed.get_json()
    assert staff.post(f"/api/v1/track/{case['case_no']}/evaluation",
                      {"check": case["check_code"], "score": 1}).status_code == 201
    officer.login("officer")

    listed = section(officer.get("/office", as_="officer").text, "follow-ups")

    assert case["case_no"] in listed and "1 分 非常不满意" in listed and "（未填写）" in listed
