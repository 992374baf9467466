"""差评整改 at the window: a bad rating whose rater (or a supervisor) names the window or the post goes to
the collecting window, which finds it on its desk and on a list of its own, and records the return visit
and the rectification on the case page, as the owning office does on its own."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlmodel import select

from tests.e2e.steps import delivered_electronically, rows
from tracking.model.tables import CaseEvent, Evaluation

NOTE = "已向申请人致歉；窗口已改为当日交寄材料，并在回执上写明预计寄出时间。"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, start: str, end: str | None = None) -> str:
    after = html.split(f'id="{start}"', 1)[1]
    return text_of(after.split(f'id="{end}"', 1)[0] if end else after)


def rated_at(staff, frozen, stage: str | None, score: int = 2, comment: str = "窗口让我等了很久") -> dict:
    """A case delivered on 4 March and rated on 5 March at nine, the rating routed to `stage`."""
    case = delivered_electronically(staff, frozen)
    frozen.set("2026-03-05T09:00:00+08:00")
    body = {"check": case["check_code"], "score": score, "comment": comment, **({"stage": stage} if stage else {})}
    r = staff.post(f"/api/v1/track/{case['case_no']}/evaluation", body)
    assert r.status_code == 201, r.get_json()
    return case


def evaluation_of(db, case_no: str) -> Evaluation:
    from tracking.model.tables import Case
    [found] = rows(db, select(Evaluation).join(Case, Case.id == Evaluation.case_id).where(Case.case_no == case_no))
    return found


def post_follow_up(pages, case_no: str, as_: str = "clerk", **fields):
    return pages.post(f"/window/cases/{case_no}/follow-up", {"txn": f"fu-{case_no}", **fields}, as_=as_)


@pytest.fixture
def clerk(staff, pages, frozen):
    return pages


def test_the_window_desk_and_its_list_show_the_bad_ratings_routed_to_the_window_and_no_other(staff, frozen, clerk):
    window = rated_at(staff, frozen, "window")
    post = rated_at(staff, frozen, "post", score=1, comment="邮寄太慢")
    office = rated_at(staff, frozen, None)  # the owning office's: not the window's to answer
    clerk.login("clerk")

    desk = clerk.get("/window", as_="clerk")
    assert re.search(r'<span class="card__number">2</span>差评待整改', desk.text)
    assert 'href="/window/follow-ups"' in desk.text

    page = clerk.get("/window/follow-ups", as_="clerk")

    assert page.status_code == 200
    listed = {m.group(1): text_of(m.group(0)) for m in re.finditer(
        r'<tr[^>]*>\s*<td data-label="办件编号"><a href="/window/cases/([^#"]+)#evaluation">.*?</tr>', page.text,
        flags=re.S)}
    assert set(listed) == {window["case_no"], post["case_no"]} and office["case_no"] not in page.text
    assert "2 分 不满意" in listed[window["case_no"]] and "收件窗口" in listed[window["case_no"]]
    assert "窗口让我等了很久" in listed[window["case_no"]] and "2026-03-05 09:00" in listed[window["case_no"]]
    assert "1 分 非常不满意" in listed[post["case_no"]] and "寄递" in listed[post["case_no"]]
    assert "2026年3月19日" in listed[post["case_no"]] and "已超期" not in listed[post["case_no"]]


def test_a_missed_window_follow_up_is_marked_overdue_on_the_list(staff, frozen, clerk):
    case = rated_at(staff, frozen, "window")  # due 19 March
    frozen.set("2026-03-20T09:00:00+08:00")
    clerk.login("clerk")

    page = clerk.get("/window/follow-ups", as_="clerk")

    [row] = [r for r in re.findall(r"<tr[^>]*>.*?</tr>", page.text, flags=re.S) if case["case_no"] in r]
    assert 'class="row--overdue"' in row and "已超期" in text_of(row)


def test_the_clerk_records_the_return_visit_and_the_rectification_on_the_case_page(staff, frozen, clerk, db):
    case = rated_at(staff, frozen, "window")
    frozen.set("2026-03-06T15:30:00+08:00")
    clerk.login("clerk")
    page = clerk.get(f"/window/cases/{case['case_no']}", as_="clerk")
    shown = section(page.text, "evaluation")
    assert "申请人评价" in shown and "待整改" in shown and "评价环节 收件窗口" in shown
    assert "整改期限 2026年3月19日前" in shown
    assert f'action="/window/cases/{case["case_no"]}/follow-up"' in page.text and 'name="fu_visit_method"' in page.text

    r = post_follow_up(clerk, case["case_no"], fu_note=NOTE, fu_visit_method="window",
                       fu_visited_at="2026-03-06T11:00", fu_visit_answer="申请人表示理解")

    assert r.status_code == 303 and r.location.endswith(f"/window/cases/{case['case_no']}#evaluation")
    stored = evaluation_of(db, case["case_no"])
    assert (stored.follow_up_status, stored.follow_up_note, stored.followed_up_by) == ("done", NOTE, "clerk")
    assert (stored.visit_method, stored.visit_answer) == ("window", "申请人表示理解")
    assert stored.visited_at == datetime.fromisoformat("2026-03-06T11:00:00+08:00")
    [event] = rows(db, select(CaseEvent).where(CaseEvent.type == "followed_up"))
    assert (event.actor, event.office_code, event.data["visit"]["method"]) == ("clerk", "H140902", "window")
    after = clerk.get(r.location, as_="clerk")
    assert f"办件 {case['case_no']} 的差评整改情况已登记" in text_of(after.text)
    shown = section(after.text, "evaluation")
    assert "已整改" in shown and NOTE in shown and "2026-03-06 11:00 · 窗口当面回访" in shown
    assert "/follow-up" not in after.text  # nothing left to record
    assert case["case_no"] not in clerk.get("/window/follow-ups", as_="clerk").text
    assert re.search(r'<span class="card__number">0</span>差评待整改', clerk.get("/window", as_="clerk").text)


def test_a_note_too_short_is_named_at_the_top_and_beside_the_field_and_nothing_changes(staff, frozen, clerk, db):
    case = rated_at(staff, frozen, "post")
    clerk.login("clerk")

    r = post_follow_up(clerk, case["case_no"], fu_note="好", fu_visit_method="phone")

    assert r.status_code == 400
    summary = text_of(r.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0])
    assert "整改情况：请写明做了哪些整改" in summary and 'id="fu_note-error"' in r.text
    assert 'value="phone" checked' in r.text  # what was chosen stays chosen

    r = post_follow_up(clerk, case["case_no"], fu_note=NOTE, fu_visit_method="phone")

    assert r.status_code == 400 and 'id="fu_visit_answer-error"' in r.text
    assert "申请人答复：请写明申请人在回访中的答复。" in text_of(r.text)
    assert NOTE in r.text  # the note typed stays typed
    assert evaluation_of(db, case["case_no"]).follow_up_status == "open"


def test_a_rating_routed_to_the_owning_office_is_shown_to_the_window_without_a_form(staff, frozen, clerk, db):
    case = rated_at(staff, frozen, None)
    clerk.login("clerk")

    page = clerk.get(f"/window/cases/{case['case_no']}", as_="clerk")
    assert "2 分 不满意" in section(page.text, "evaluation") and "/follow-up" not in page.text

    r = post_follow_up(clerk, case["case_no"], fu_note=NOTE)
    assert r.status_code == 403 and "只有该评价所转交单位的工作人员可以登记整改情况。" in text_of(r.text)
    assert evaluation_of(db, case["case_no"]).follow_up_status == "open"


def test_another_window_and_an_officer_may_not_record_the_windows_follow_up(staff, frozen, pages, db):
    case = rated_at(staff, frozen, "window")
    staff.user("clerk_xd", "clerk", "H140105")
    for username in ("clerk_xd", "officer"):
        pages.login(username)

    assert case["case_no"] not in pages.get("/window/follow-ups", as_="clerk_xd").text
    assert post_follow_up(pages, case["case_no"], as_="clerk_xd", fu_note=NOTE).status_code == 403
    assert post_follow_up(pages, case["case_no"], as_="officer", fu_note=NOTE).status_code == 403
    assert evaluation_of(db, case["case_no"]).follow_up_status == "open"
