"""Staff pages on a phone (390 px wide): tables become stacked rows, one card a row with "label：value"
lines, so that no cell is squeezed to a character a column and nothing scrolls sideways; and the handover
page refuses a wrong scan at once and lets an entry be removed (issue 13 §6, points 6 and 8)."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import sign_in
from tests.e2e import conftest as e2e
from tests.e2e.steps import collect, record
from tests.helpers import unknown_tracking_no

api = e2e.api  # the API layer's client moves cases along, on the database the browser's server uses

NARROWEST_CELL = 60  # px


@pytest.fixture
def narrow(browser, server):
    """A 390 px phone signed in as one user, a browser context each (each its own session)."""
    contexts = []

    def signed_in(username: str):
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        sign_in(page, server, username)
        return page

    yield signed_in
    for ctx in contexts:
        ctx.close()


def labels(page) -> list[str]:
    """The labels the first row's cells show before their values (CSS generated content)."""
    return page.eval_on_selector_all(
        "main table tbody tr:first-child > *", "cells => cells.map(c => getComputedStyle(c, '::before').content)")


def assert_usable(page, what: str) -> None:
    """Every table cell at least NARROWEST_CELL wide, the page no wider than the screen."""
    widths = page.eval_on_selector_all(
        "main table tbody th, main table tbody td",  # the headings stay for screen readers only
        "cells => cells.filter(c => c.offsetParent !== null).map(c => [c.getBoundingClientRect().width, c.innerText])")
    assert widths, f"{what}: no table shown: {page.inner_text('main')[:200]}"
    narrow_cells = [(round(w), t) for w, t in widths if w < NARROWEST_CELL]
    assert not narrow_cells, f"{what}: cells narrower than {NARROWEST_CELL}px: {narrow_cells[:5]}"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{what}: scrolls sideways by {overflow}px"


def test_staff_tables_are_stacked_rows_on_a_phone(server, accounts, api, narrow, shots, frozen):
    for username in ("clerk", "officer"):
        api.login(username)
    waiting = collect(api)  # waits to leave the window
    sent = collect(api)
    record(api, sent["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, sent["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    frozen.set("2026-03-10T09:00:00+08:00")  # `waiting` never sent: the supervisor's board lists it

    clerk = narrow("clerk")
    for path, name in [("/window/packets", "window-packets"), ("/window/cases", "window-cases"),
                       (f"/window/cases/{waiting['case_no']}", "window-case")]:
        clerk.goto(server + path)
        assert_usable(clerk, path)
        clerk.screenshot(path=shots / f"phone-{name}.png", full_page=True)
    # a row is a card: its cells carry their column's name
    clerk.goto(server + "/window/packets")
    assert '"邮件号："' in labels(clerk) and waiting["tracking_no"] in clerk.inner_text("main table tbody tr")

    officer = narrow("officer")
    officer.goto(f"{server}/office/cases?status=received")
    assert_usable(officer, "/office/cases")
    officer.screenshot(path=shots / "phone-office.png", full_page=True)

    supervisor = narrow("supervisor")
    assert_usable(supervisor, "/supervise")
    assert '"办件编号："' in labels(supervisor)
    supervisor.screenshot(path=shots / "phone-supervise.png", full_page=True)
    supervisor.click(f"main table >> text={waiting['case_no']}")
    supervisor.wait_for_url(re.compile(rf"/supervise/cases/{waiting['case_no']}$"))
    assert_usable(supervisor, "/supervise/cases")


def test_the_handover_page_refuses_a_wrong_scan_at_once_and_an_entry_can_be_removed(
        server, accounts, api, context, shots, frozen):
    api.login("clerk")
    a = collect(api)
    page = context.new_page()
    sign_in(page, server, "clerk")
    page.goto(f"{server}/window/packets?tick=none")
    page.fill("#scan", unknown_tracking_no())
    page.press("#scan", "Enter")
    assert page.is_visible("#scanned-error") and "不是本机构待发的邮件" in page.inner_text("#scanned-error")
    assert page.locator("#scanned li").count() == 0 and page.url.endswith("?tick=none")  # nothing posted

    page.fill("#scan", a["tracking_no"])
    page.press("#scan", "Enter")
    assert not page.is_visible("#scanned-error")
    assert page.is_checked(f"#tn-{a['tracking_no']}") and "共 1 件" in page.inner_text("#scanned-status")
    page.screenshot(path=shots / "handover-scanned.png", full_page=True)
    page.click("#scanned li >> text=移除")
    assert page.locator("#scanned li").count() == 0 and not page.is_checked(f"#tn-{a['tracking_no']}")
    assert "已移除" in page.inner_text("#scanned-status") and "共 0 件" in page.inner_text("#scanned-status")
