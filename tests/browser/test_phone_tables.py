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


def unlabelled(page) -> list[str]:
    """Cells of the page's tables shown without their column's name on a phone: every cell but a row's
    only cell (an empty list's sentence) and a cell that holds nothing but a button or a form."""
    return page.eval_on_selector_all("main table tbody tr > *", """cells => cells
        .filter(c => c.offsetParent !== null && c.parentElement.children.length > 1)
        .filter(c => !(c.children.length && [...c.children].every(e => e.matches('a.button, button, form'))))
        .filter(c => ['none', 'normal', ''].includes(getComputedStyle(c, '::before').content))
        .map(c => c.innerText.slice(0, 30))""")


def test_every_staff_table_names_each_cell_on_a_phone(server, accounts, api, narrow, frozen):
    """Not only the lists above: the supervisor's statistics, ratings and exceptions, the window's
    pick-ups, exceptions, handover sheets and follow-ups, the office's desk, the administrator's lists,
    the intake pages and a case's materials and deadlines: each cell says which column it is."""
    from tests.e2e.steps import accepted, decide, delivered_electronically
    from tests.helpers import intake_body
    for username in ("clerk", "officer", "courier"):
        api.login(username)
    at_window = collect(api)
    r = api.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [at_window["tracking_no"]]},
                 as_="clerk")
    assert r.status_code == 201, r.get_json()
    sheet = r.json["manifest_no"]
    sent = collect(api)
    record(api, sent["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, sent["tracking_no"], "exception", "2026-03-02T11:00:00+08:00", as_="clerk", reason="damaged")
    pickup = accepted(api, intake_body(result_delivery={"method": "pickup"}))
    result = decide(api, pickup["case_no"]).json["result_packet"]["tracking_no"]
    record(api, result, "dispatched", "2026-03-04T10:00:00+08:00", as_="officer")
    record(api, result, "received", "2026-03-04T15:00:00+08:00", "H140902", as_="clerk")
    rated = delivered_electronically(api, frozen)
    frozen.set("2026-03-05T09:00:00+08:00")
    r = api.post(f"/api/v1/track/{rated['case_no']}/evaluation",
                 {"check": rated["check_code"], "score": 1, "stage": "window", "comment": "等了很久"})
    assert r.status_code == 201, r.get_json()
    frozen.set("2026-03-05T10:00:00+08:00")

    pages = {"clerk": ["/window/pickups", "/window/exceptions", "/window/follow-ups", "/manifests",
                       f"/manifests/{sheet}", f"/window/cases/{rated['case_no']}", "/window/intake?q=证明",
                       "/window/intake/GA-WFZM-01"],
             "officer": ["/office", "/office/cases?status="],
             "supervisor": ["/supervise/stats?since=2026-03-01&until=2026-03-05",
                            "/supervise/ratings?since=2026-03-01&until=2026-03-05",
                            "/supervise/exceptions?since=2026-03-01&until=2026-03-05"],
             "admin": ["/admin", "/admin/users", "/admin/offices", "/admin/matters", "/admin/matters/GA-WFZM-01",
                       "/admin/audit"]}
    for username, paths in pages.items():
        page = narrow(username)
        if username == "admin":  # a change, so that the audit tables have a row
            page.goto(f"{server}/admin/offices/H140902/edit")
            page.fill("#phone", "0350-3033334")
            page.click("main button[type=submit]")
            page.wait_for_url(re.compile(r"/admin/offices/H140902$"))
        for path in paths:
            page.goto(server + path)
            assert page.locator("main table tbody tr").count(), f"{path}: no table: {page.inner_text('main')[:200]}"
            assert unlabelled(page) == [], path
            assert_usable(page, path)


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
