"""A bad rating followed to its end, clicked through as the people on it would (issue 13 §5).

The applicant rates a delivered case 1 star on a phone and names the window as the stage at fault; the
window's clerk finds it on the desk, opens the list of ratings to follow up, records the return visit (when,
how, what the applicant said) and the rectification; the supervisor sees it done on the ratings page, and a
second bad rating that nobody answered overdue on the board; the applicant reads the answer on the
tracking page. Screenshots numbered in order.
"""
from __future__ import annotations

import re

from sqlmodel import select

from tests.browser.conftest import sign_in
from tests.e2e import conftest as e2e
from tests.e2e.steps import delivered_electronically, rows
from tracking.model.tables import Case, CaseEvent, Evaluation

api = e2e.api  # the API layer's client moves cases along, on the database the browser's server uses

NOTE = "已当面向申请人致歉；窗口已改为材料当日交寄，并在回执上写明寄出时间。"
ANSWER = "申请人表示理解，对整改满意"


def stored(db, case_no: str) -> Evaluation:
    [found] = rows(db, select(Evaluation).join(Case, Case.id == Evaluation.case_id).where(Case.case_no == case_no))
    return found


def test_a_one_star_rating_of_the_window_is_followed_up_by_the_clerk_and_the_applicant_reads_the_answer(
        server, accounts, api, browser, context, phone, shots, frozen, db):
    for username in ("clerk", "officer"):
        api.login(username)
    rated = delivered_electronically(api, frozen)  # decided 3 March, downloaded 4 March
    missed = delivered_electronically(api, frozen)
    track_url = f"{server}/track?no={rated['case_no']}&check={rated['check_code']}"

    # -- the applicant, on a phone: 1 star, the window at fault ---------------------------------------
    frozen.set("2026-03-05T09:00:00+08:00")  # a Thursday: due ten working days later, 19 March
    mobile = phone.new_page()
    mobile.goto(track_url)
    assert mobile.inner_text(".track-status__text") == "已送达"
    form = mobile.locator(".track-evaluation")
    form.locator(".choice", has_text="非常不满意").tap()
    form.locator(".choice", has_text="收件窗口").tap()
    mobile.fill("#comment", "窗口让我等了一个多小时，材料第二天才寄出。")
    mobile.screenshot(path=shots / "follow-up-01-rate.png", full_page=True)
    mobile.tap("button:has-text('提交评价')")
    mobile.wait_for_url(re.compile(rf"/track/{rated['case_no']}/evaluated$"))
    assert "非常不满意" in mobile.inner_text(".panel")
    assert (stored(db, rated["case_no"]).score, stored(db, rated["case_no"]).follow_up_office) == (1, "H140902")
    mobile.goto(track_url)
    assert "将于 2026年3月19日 前回访您并答复" in mobile.inner_text(".track-evaluation")
    # a second bad rating, of the owning office, that nobody answers in time
    r = api.post(f"/api/v1/track/{missed['case_no']}/evaluation", {"check": missed["check_code"], "score": 2})
    assert r.status_code == 201, r.get_json()

    # -- the clerk: the desk, the list, the case, the return visit --------------------------------------
    frozen.set("2026-03-06T15:30:00+08:00")
    clerk = context.new_page()
    sign_in(clerk, server, "clerk")
    card = clerk.locator(".card", has_text="差评待整改")
    assert card.locator(".card__number").inner_text() == "1"
    card.locator("a").click()
    clerk.wait_for_url(re.compile(r"/window/follow-ups$"))
    row = clerk.locator("main table tbody tr", has_text=rated["case_no"])
    assert "1 分 非常不满意" in row.inner_text() and "收件窗口" in row.inner_text()
    assert "2026年3月19日" in row.inner_text() and missed["case_no"] not in clerk.inner_text("main")
    clerk.screenshot(path=shots / "follow-up-02-window-list.png", full_page=True)
    row.locator("a", has_text=rated["case_no"]).click()
    clerk.wait_for_url(re.compile(rf"/window/cases/{rated['case_no']}#evaluation$"))
    section = clerk.locator("#evaluation")
    assert "待整改" in section.inner_text() and "窗口让我等了一个多小时" in section.inner_text()

    section.locator(".choice", has_text="电话回访").click()
    clerk.fill("#fu_visited_at", "2026-03-06T11:00")
    clerk.fill("#fu_visit_answer", ANSWER)
    clerk.fill("#fu_note", NOTE)
    clerk.screenshot(path=shots / "follow-up-03-window-form.png", full_page=True)
    clerk.click("button:has-text('登记回访和整改情况')")
    clerk.wait_for_url(re.compile(rf"/window/cases/{rated['case_no']}#evaluation$"))
    assert f"办件 {rated['case_no']} 的差评整改情况已登记" in clerk.inner_text("main")
    done = clerk.inner_text("#evaluation")
    assert "已整改" in done and "2026-03-06 11:00 · 电话回访" in done and ANSWER in done and NOTE in done
    assert clerk.locator("#evaluation form").count() == 0  # nothing left to record
    clerk.screenshot(path=shots / "follow-up-04-window-done.png", full_page=True)
    evaluation = stored(db, rated["case_no"])
    assert (evaluation.follow_up_status, evaluation.followed_up_by, evaluation.visit_method) == ("done", "clerk", "phone")
    assert [e.type for e in rows(db, select(CaseEvent).join(Case, Case.id == CaseEvent.case_id).where(
        Case.case_no == rated["case_no"], CaseEvent.type == "followed_up"))] == ["followed_up"]

    # -- the supervisor: the one done, the one missed overdue on the board ---------------------------------
    frozen.set("2026-03-20T09:00:00+08:00")  # the day after the second one's due date
    supervisor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    board = supervisor.new_page()
    sign_in(board, server, "supervisor")
    assert board.inner_text("h1") == "超期看板"
    late = board.locator("main table tbody tr", has_text=missed["case_no"])
    assert "差评整改" in late.inner_text() and "太原市公安局小店分局户政科" in late.inner_text()
    assert board.locator("main table tbody tr", has_text=rated["case_no"]).count() == 0
    board.screenshot(path=shots / "follow-up-05-board.png", full_page=True)
    board.goto(f"{server}/supervise/ratings?since=2026-03-01&until=2026-03-20")
    answered = board.locator("main table tbody tr", has_text=rated["case_no"]).inner_text()
    assert "已整改" in answered and NOTE in answered and "忻州市忻府区政务服务中心" in answered
    assert "待整改" in board.locator("main table tbody tr", has_text=missed["case_no"]).inner_text()
    board.screenshot(path=shots / "follow-up-06-ratings.png", full_page=True)
    supervisor.close()

    # -- the applicant reads the answer -------------------------------------------------------------------
    mobile.goto(track_url)
    answer = mobile.inner_text(".track-evaluation")
    assert "整改答复" in answer and NOTE in answer and "2026-03-06 11:00 · 电话回访" in answer
    assert "clerk" not in answer and "王敏" not in answer and ANSWER not in answer  # no staff, nothing said back
    mobile.screenshot(path=shots / "follow-up-07-track-answer.png", full_page=True)
