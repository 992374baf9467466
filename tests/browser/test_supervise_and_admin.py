"""The supervisor's and the administrator's pages in a real browser: a quick look that each shows its heading,
its figures and its server-drawn charts."""
from __future__ import annotations

from tests.browser.conftest import sign_in
from tests.e2e import conftest as e2e
from tests.e2e.steps import collect, delivered_electronically

api = e2e.api  # the API layer's client moves cases along, on the database the browser's server uses


def test_a_supervisor_sees_the_overdue_board_and_the_statistics_with_their_charts(
        server, accounts, api, context, shots, frozen):
    for username in ("clerk", "officer"):
        api.login(username)  # the accounts the browser layer made, through the API
    late = collect(api)  # 2 March, never sent on
    done = delivered_electronically(api, frozen)  # decided 3 March, downloaded 4 March
    r = api.post(f"/api/v1/track/{done['case_no']}/evaluation", {"check": done["check_code"], "score": 2,
                                                                 "comment": "等候时间较长"})
    assert r.status_code == 201, r.get_json()
    frozen.set("2026-03-10T09:00:00+08:00")

    page = context.new_page()
    sign_in(page, server, "supervisor")
    assert page.url.endswith("/supervise")
    assert page.inner_text("h1") == "超期看板"
    board = page.inner_text("main")
    assert "共有 1 件办件" in board and late["case_no"] in board and "忻州市忻府区政务服务中心" in board
    page.screenshot(path=shots / "supervise-01-overdue.png", full_page=True)

    page.click("header nav >> text=统计")
    page.wait_for_url("**/supervise/stats")
    assert page.inner_text("h1") == "统计"
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() >= 3  # volumes, stage times, ratings
    titles = [charts.nth(i).locator("title").first.text_content() for i in range(charts.count())]
    assert "各环节用时中位数（小时）" in titles and "评价等级分布" in titles, titles
    assert charts.first.bounding_box()["width"] > 200  # drawn, not collapsed
    assert "差评待整改" in page.inner_text(".cards")
    page.screenshot(path=shots / "supervise-02-stats.png", full_page=True)


def test_an_administrator_sees_the_accounts(server, accounts, context, shots):
    page = context.new_page()
    sign_in(page, server, "admin")
    page.goto(f"{server}/admin/users")
    assert page.inner_text("h1") == "用户"
    table = page.inner_text("table")
    for name in ["王敏", "李建国", "赵师傅", "周文", "系统管理员"]:
        assert name in table, name
    assert "太原市公安局小店分局户政科" in table and "D140105-GA" in table
    assert page.locator("a.button", has_text="新建账号").is_visible()
    page.screenshot(path=shots / "admin-01-users.png", full_page=True)
