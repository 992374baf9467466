"""好差评 to the end: a bad rating's follow-up has a due date and shows overdue on the supervisor's board
when missed, records the return visit (回访) that the applicant then reads on the tracking page, goes to
the stage at fault (the rater's choice, or the supervisor's), counts in the statistics, and keeps the
case from being archived while it is open."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import pytest
from sqlmodel import select

from config.settings import Settings
from tests.e2e.conftest import csrf_token
from tests.e2e.steps import assert_error, case_of, count, delivered_electronically, rated, rows, track
from tracking.model.tables import Case, CaseEvent, Evaluation, Notification, OverdueMark

NOTE = "已向申请人致歉并说明延误原因；已要求窗口当日交寄材料。"
VISIT = {"visit_method": "phone", "visited_at": "2026-03-06T10:00:00+08:00", "visit_answer": "申请人表示满意，无其他意见"}


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def evaluation(db) -> Evaluation:
    [found] = rows(db, select(Evaluation))
    return found


def evaluate(api, case: dict, score: int = 2, **extra):
    return api.post(f"/api/v1/track/{case['case_no']}/evaluation",
                    {"check": case["check_code"], "score": score, "comment": "等了很久", **extra})


def follow_up(api, case_no: str, as_: str = "officer", **body):
    return api.post(f"/api/v1/cases/{case_no}/follow-up", {"note": NOTE, **body}, as_=as_)


def sweep(api, as_of: str) -> str:
    result = api.client.application.test_cli_runner().invoke(args=["sweep", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def supervisor(staff, pages):
    """The supervisor's pages; each test signs in once the clock stands where it looks (sessions expire)."""
    return pages


# -- the due date and the board ---------------------------------------------------------------------

def test_a_bad_rating_is_due_ten_working_days_later_and_the_setting_changes_it(staff, frozen, db, app):
    case = delivered_electronically(staff, frozen)
    frozen.set("2026-03-05T09:00:00+08:00")  # a Thursday

    r = evaluate(staff, case)

    assert r.status_code == 201 and r.json["follow_up_due"] == "2026-03-19", r.json
    assert evaluation(db).follow_up_due == date(2026, 3, 19)
    assert any("2026年03月19日前回访" in n.text for n in rows(db, select(Notification).where(
        Notification.office_code == "D140105-GA")))

    app.extensions["tongban"]["env"].settings.follow_up_days = 3
    other = delivered_electronically(staff, frozen)
    frozen.set("2026-03-05T09:00:00+08:00")
    assert evaluate(staff, other).json["follow_up_due"] == "2026-03-10"
    assert Settings.from_env(env={"TONGBAN_FOLLOW_UP_DAYS": "7"}).follow_up_days == 7
    assert Settings.from_env(env={}).follow_up_days == 10


def test_a_missed_follow_up_is_overdue_on_the_supervisors_board_as_a_stage_of_its_own(staff, frozen, supervisor):
    case = rated(staff, frozen)  # 5 March, due 19 March
    supervisor.login("supervisor")

    on_the_day = supervisor.get("/supervise?as_of=2026-03-19", as_="supervisor")
    assert case["case_no"] not in on_the_day.text

    late = supervisor.get("/supervise?as_of=2026-03-20&stage=follow_up", as_="supervisor")
    assert late.status_code == 200
    assert '<option value="follow_up" selected>差评整改</option>' in late.text
    listed = [row for row in re.findall(r"<tr>.*?</tr>", late.text, flags=re.DOTALL) if case["case_no"] in row]
    assert listed and "差评整改" in text_of(listed[0]) and "太原市公安局小店分局户政科" in text_of(listed[0])
    exported = supervisor.get("/supervise?as_of=2026-03-20&format=csv&table=cases", as_="supervisor")
    [row] = [r for r in csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))) if r[0] == case["case_no"]]
    assert row[3] == "差评整改" and row[5] == "2026-03-19" and row[6] == "1"
    counts = supervisor.get("/supervise?as_of=2026-03-20&format=csv&table=counts", as_="supervisor")
    header = next(csv.reader(io.StringIO(counts.data.decode("utf-8-sig"))))
    assert header[-2:] == ["差评整改", "合计"]

    frozen.set("2026-03-20T09:00:00+08:00")
    assert follow_up(staff, case["case_no"]).status_code == 200
    supervisor.login("supervisor")
    assert case["case_no"] not in supervisor.get("/supervise?as_of=2026-03-20", as_="supervisor").text


def test_the_sweep_marks_a_missed_follow_up_once_and_tells_the_office(staff, frozen, db):
    case = rated(staff, frozen)
    sweep(staff, "2026-03-19")
    assert count(db, OverdueMark, OverdueMark.stage == "follow_up") == 0

    sweep(staff, "2026-03-20")
    sweep(staff, "2026-03-21")

    [mark] = rows(db, select(OverdueMark).where(OverdueMark.stage == "follow_up"))
    assert (mark.due, mark.office_code) == (date(2026, 3, 19), "D140105-GA")
    [event] = rows(db, select(CaseEvent).where(CaseEvent.type == "stage_overdue"))
    assert event.data == {"stage": "follow_up", "due": "2026-03-19", "as_of": "2026-03-20"}
    assert any("差评整改已超期" in n.text and case["case_no"] in n.text
               for n in rows(db, select(Notification).where(Notification.office_code == "D140105-GA")))


# -- the return visit, and what the applicant reads ------------------------------------------------

def test_the_return_visit_is_recorded_and_the_applicant_reads_the_answer_on_the_tracking_page(staff, frozen, db,
                                                                                              client):
    case = rated(staff, frozen)
    before = client.get(f"/track?no={case['case_no']}&check={case['check_code']}")
    assert "将于 2026年3月19日 前回访您并答复" in text_of(before.text)
    frozen.set("2026-03-06T15:30:00+08:00")

    r = follow_up(staff, case["case_no"], **VISIT)

    assert r.status_code == 200, r.json
    assert r.json["evaluation"]["follow_up"]["visit"] == {
        "at": "2026-03-06T10:00:00+08:00", "method": "phone", "method_text": "电话回访",
        "answer": "申请人表示满意，无其他意见"}
    stored = evaluation(db)
    assert (stored.visit_method, stored.visit_answer) == ("phone", "申请人表示满意，无其他意见")
    assert stored.visited_at == datetime.fromisoformat("2026-03-06T10:00:00+08:00")
    assert case_of(staff, case["case_no"])["events"][-1]["data"]["visit"]["method"] == "phone"

    public = track(staff, case["case_no"], case["check_code"]).json["evaluation"]["follow_up"]
    assert public == {"status": "done", "status_text": "已整改", "due": "2026-03-19", "at": "2026-03-06T15:30:00+08:00",
                      "note": NOTE, "visit_at": "2026-03-06T10:00:00+08:00", "visit_method_text": "电话回访"}
    page = text_of(client.get(f"/track?no={case['case_no']}&check={case['check_code']}").text)
    assert "整改答复" in page and NOTE in page and "2026-03-06 10:00 · 电话回访" in page
    assert "已就您的评价回访并整改" in page
    assert "officer" not in page and "申请人表示满意" not in page  # no names, nothing the applicant said back


def test_a_visit_says_how_and_what_the_applicant_answered_and_happened_after_the_rating(staff, frozen, db):
    case = rated(staff, frozen)
    frozen.set("2026-03-06T15:30:00+08:00")

    error = assert_error(follow_up(staff, case["case_no"], visit_answer="满意"), 400, "invalid_request")
    assert [e["field"] for e in error["errors"]] == ["visit_method"]
    error = assert_error(follow_up(staff, case["case_no"], visit_method="phone"), 400, "invalid_request")
    assert [(e["field"], e["message"]) for e in error["errors"]] == [("visit_answer", "请写明申请人在回访中的答复。")]
    assert_error(follow_up(staff, case["case_no"], visit_method="fax", visit_answer="满意"), 400, "invalid_request",
                 "visit_method")
    assert_error(follow_up(staff, case["case_no"], **{**VISIT, "visited_at": "2026-03-04T10:00:00+08:00"}),
                 422, "implausible_time", "visited_at")
    assert evaluation(db).follow_up_status == "open"


def test_the_office_page_records_the_return_visit(staff, frozen, db, pages):
    case = rated(staff, frozen)
    frozen.set("2026-03-06T15:30:00+08:00")
    pages.login("officer")
    page = pages.get(f"/office/cases/{case['case_no']}", as_="officer")
    assert "整改期限 2026年3月19日前" in text_of(page.text) and 'name="fu_visit_method"' in page.text

    r = pages.post(f"/office/cases/{case['case_no']}/follow-up",
                   {"txn": "fu-1", "fu_note": NOTE, "fu_visit_method": "visit", "fu_visited_at": "2026-03-06T11:00",
                    "fu_visit_answer": "申请人认可整改"}, as_="officer")

    assert r.status_code == 303
    stored = evaluation(db)
    assert (stored.visit_method, stored.visit_answer, stored.follow_up_status) == ("visit", "申请人认可整改", "done")
    assert stored.visited_at == datetime.fromisoformat("2026-03-06T11:00:00+08:00")
    shown = text_of(pages.get(f"/office/cases/{case['case_no']}", as_="officer").text)
    assert "2026-03-06 11:00 · 上门回访" in shown and "申请人认可整改" in shown


# -- routing to whoever was at fault ----------------------------------------------------------------

def test_the_rater_routes_a_bad_rating_to_the_window_whose_clerk_follows_it_up(staff, frozen, db):
    case = delivered_electronically(staff, frozen)
    r = evaluate(staff, case, score=1, stage="window")

    assert r.status_code == 201 and r.json["stage"] == "window"
    stored = evaluation(db)
    assert (stored.stage, stored.follow_up_office) == ("window", "H140902")
    assert any("差评" in n.text for n in rows(db, select(Notification).where(Notification.office_code == "H140902")))
    assert_error(follow_up(staff, case["case_no"]), 403, "forbidden")  # the owning office is not at fault
    assert follow_up(staff, case["case_no"], as_="clerk").status_code == 200
    assert evaluation(db).followed_up_by == "clerk"


def test_a_stage_that_is_not_one_is_refused_and_none_means_the_owning_office(staff, frozen, db):
    case = delivered_electronically(staff, frozen)
    assert_error(evaluate(staff, case, stage="courier"), 400, "invalid_request", "stage")
    assert count(db, Evaluation) == 0
    assert evaluate(staff, case).json["stage"] == "office"
    assert evaluation(db).follow_up_office == "D140105-GA"


def test_the_tracking_page_asks_which_stage_and_routes_the_rating_to_the_post(staff, frozen, db, app):
    case = delivered_electronically(staff, frozen)
    phone = app.test_client()
    page = phone.get(f"/track?no={case['case_no']}&check={case['check_code']}")
    assert "您的评价主要针对哪个环节？" in text_of(page.text) and 'value="post"' in page.text

    r = phone.post(f"/track/{case['case_no']}/evaluation",
                   data={"check": case["check_code"], "score": "2", "stage": "post", "comment": "邮寄太慢",
                         "csrf_token": csrf_token(page.text)})

    assert r.status_code == 303, r.text
    stored = evaluation(db)
    assert (stored.score, stored.stage, stored.follow_up_office) == (2, "post", "H140902")


def test_the_supervisor_routes_a_rating_to_another_stage_and_the_history_says_who_and_when(staff, frozen, db,
                                                                                         supervisor):
    case = rated(staff, frozen)
    frozen.set("2026-03-09T10:00:00+08:00")  # a Monday
    supervisor.login("supervisor")
    page = supervisor.get("/supervise/ratings?open=1&since=2026-03-01&until=2026-03-09", as_="supervisor")
    assert f'action="/supervise/ratings/{case["case_no"]}/route"' in page.text

    r = supervisor.post(f"/supervise/ratings/{case['case_no']}/route", {"txn": "route-1", "stage": "window"},
                        as_="supervisor")

    assert r.status_code == 303
    stored = evaluation(db)
    assert (stored.stage, stored.follow_up_office, stored.follow_up_due) == ("window", "H140902", date(2026, 3, 23))
    event = case_of(staff, case["case_no"])["events"][-1]
    assert (event["type"], event["actor"], event["role"], event["at"]) == (
        "follow_up_reassigned", "supervisor", "supervisor", "2026-03-09T10:00:00+08:00")
    assert event["data"] == {"from": "office", "to": "window", "from_office": "D140105-GA", "office_code": "H140902",
                             "due": "2026-03-23"}
    after = text_of(supervisor.get(r.location, as_="supervisor").text)
    assert f"办件 {case['case_no']} 的差评已转交收件窗口" in after
    assert any(case["case_no"] in n.text for n in rows(db, select(Notification).where(
        Notification.office_code == "H140902")))
    assert_error(follow_up(staff, case["case_no"]), 403, "forbidden")
    assert follow_up(staff, case["case_no"], as_="clerk").status_code == 200

    again = supervisor.post(f"/supervise/ratings/{case['case_no']}/route", {"txn": "route-2", "stage": "post"},
                            as_="supervisor")
    assert "该差评已整改完毕" in text_of(supervisor.get(again.location, as_="supervisor").text)
    assert count(db, CaseEvent, CaseEvent.type == "follow_up_reassigned") == 1


def test_only_a_supervisor_routes_a_rating(staff, frozen, db, pages):
    case = rated(staff, frozen)
    pages.login("officer")
    r = pages.post(f"/supervise/ratings/{case['case_no']}/route", {"stage": "window"}, as_="officer")
    assert r.status_code == 403
    assert evaluation(db).stage == "office"


# -- the statistics ---------------------------------------------------------------------------------

def test_the_statistics_show_the_on_time_and_follow_up_rates_and_cross_province_volumes(staff, frozen, db,
                                                                                      supervisor):
    late, on_time = rated(staff, frozen), rated(staff, frozen, score=1)
    frozen.set("2026-03-06T10:00:00+08:00")
    assert follow_up(staff, on_time["case_no"]).status_code == 200
    stored = db.exec(select(Case).where(Case.case_no == late["case_no"])).one()
    stored.due_date, stored.owning_office = date(2026, 3, 2), "D110000-GA"  # decided 3 March: a day late; 北京
    db.add(stored)
    db.commit()
    supervisor.login("supervisor")

    page = supervisor.get("/supervise/stats?since=2026-03-01&until=2026-03-06", as_="supervisor")

    cards = re.findall(r'<span class="card__number">([^<]+)</span>([^<]+)</li>', page.text)
    assert ("50.0%", "按期办结率") in cards and ("50.0%", "差评整改率") in cards
    assert 'id="chart-rates"' in page.text and 'id="chart-volume_scope"' in page.text

    def exported(table: str) -> list[list[str]]:
        r = supervisor.get(f"/supervise/stats?since=2026-03-01&until=2026-03-06&format=csv&table={table}",
                           as_="supervisor")
        return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))

    assert exported("volume_scope") == [["范围", "收件量", "占比（%）"], ["跨省通办", "1", "50.0"], ["省内通办", "1", "50.0"]]
    rates = exported("rates")
    assert rates[0][-3:] == ["差评数", "已整改", "差评整改率（%）"]
    assert rates[-1] == ["合计", "", "2", "1", "50.0", "2", "1", "50.0"]


# -- archiving ----------------------------------------------------------------------------------------

def test_a_bad_rating_keeps_the_case_open_until_it_is_followed_up_and_the_sweep_waits_for_it(staff, frozen, db):
    bad, good = rated(staff, frozen), rated(staff, frozen, score=5)  # delivered 4 March, rated 5 March
    assert case_of(staff, good["case_no"])["status"] == "closed"  # a good rating archives it (CONTRACT.md)
    assert case_of(staff, bad["case_no"])["status"] == "delivered"  # its follow-up is open

    frozen.set("2026-04-03T01:00:00+08:00")
    sweep(staff, "2026-04-03")  # 30 days after delivery
    assert case_of(staff, bad["case_no"])["status"] == "delivered"  # the sweep waits for the follow-up

    assert follow_up(staff, bad["case_no"]).status_code == 200
    view = case_of(staff, bad["case_no"])
    assert view["status"] == "closed" and view["events"][-1]["type"] == "followed_up"
