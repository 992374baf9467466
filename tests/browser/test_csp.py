"""The pages under their Content-Security-Policy in a real browser: every main page of every role loads
without a single violation reported by Chromium, and what the scripts do (check-character warnings,
print buttons, going back from an error page) still works from the files under /static."""
from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.helpers import PASSWORD, intake_body

# Chromium reports a violation on the console ("Refused to execute inline script …"); the listener makes
# sure every kind (style attributes too) is reported the same way. Init scripts run outside the page's CSP.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


class Watched:
    """A browser context whose pages' CSP violations and script errors are collected."""

    def __init__(self, context):
        self.context, self.problems = context, []
        context.add_init_script(REPORT_VIOLATIONS)

    def page(self):
        page = self.context.new_page()
        page.on("console", lambda m: self.problems.append(f"{page.url}: {m.text}")
                if m.type == "error" and ("Content Security Policy" in m.text or "CSP violation" in m.text) else None)
        page.on("pageerror", lambda e: self.problems.append(f"{page.url}: {e}"))
        return page

    def visit(self, page, server: str, path: str) -> None:
        r = page.goto(server + path)
        assert r.status < 500, (path, r.status)
        assert "script-src 'self'" in r.headers["content-security-policy"], path
        page.wait_for_load_state("load")


@pytest.fixture
def case(server, accounts, browser, frozen):
    """A case registered through the API (a scanner's bearer token), so that its pages have documents."""
    ctx = browser.new_context()
    token = ctx.request.post(f"{server}/api/v1/auth/token", data={"username": "clerk", "password": PASSWORD}).json()
    r = ctx.request.post(f"{server}/api/v1/cases", data=intake_body(),
                         headers={"Authorization": f"Bearer {token['token']}"})
    assert r.status == 201, r.text()
    made = r.json()
    ctx.close()
    return made


def test_the_detector_reports_an_inline_script(server, accounts, context):
    watched = Watched(context)
    page = watched.page()
    watched.visit(page, server, "/login")
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.ran = 1";
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.ran") is None
    assert any("script-src" in p for p in watched.problems), watched.problems


def test_every_main_page_loads_without_a_csp_violation(server, accounts, browser, case):
    case_no, tracking_no = case["case_no"], case["tracking_no"]
    walks = {
        None: ["/login", "/track", f"/track/{case_no}", "/no-such-page"],
        "clerk": ["/window", "/window/intake", "/window/intake/GA-WFZM-01", f"/window/intake/done/{case_no}",
                  "/window/cases", f"/window/cases/{case_no}", f"/window/cases/{case_no}/packets/{tracking_no}",
                  "/window/packets", "/window/pickups", "/window/exceptions", "/manifests", "/manifests/new",
                  "/account/password"],
        "officer": ["/office", "/office/receive", "/office/cases", f"/office/cases/{case_no}"],
        "supervisor": ["/supervise", "/supervise/stats", "/supervise/ratings", "/supervise/exceptions"],
        "admin": ["/admin", "/admin/users", "/admin/users/new", "/admin/offices", "/admin/matters", "/admin/audit"],
    }
    problems = []
    for who, paths in walks.items():
        ctx = browser.new_context(locale="zh-CN")
        watched = Watched(ctx)
        page = watched.page()
        if who:
            sign_in(page, server, who)
        for path in paths:
            watched.visit(page, server, path)
        problems += watched.problems
        ctx.close()
    assert problems == []


def test_check_characters_print_buttons_and_back_work_without_inline_script(server, accounts, context, case):
    watched = Watched(context)
    page = watched.page()
    sign_in(page, server, "clerk")

    watched.visit(page, server, "/window/intake/GA-WFZM-01")
    page.fill("#applicant-id_number", "110101199001011230")  # the last character is not the check character
    page.keyboard.press("Tab")
    assert "身份证号码校验位不符" in page.inner_text("main")

    watched.visit(page, server, f"/window/intake/done/{case['case_no']}")
    page.wait_for_function("() => document.getElementById('receipt-frame').contentWindow !== null")
    page.evaluate("""() => { window.printed = [];
        const frame = document.getElementById("receipt-frame");
        frame.contentWindow.print = () => window.printed.push(frame.id); }""")
    page.click("button[data-print-frame=receipt-frame]")
    assert page.evaluate("window.printed") == ["receipt-frame"]

    watched.visit(page, server, "/window/cases")
    watched.visit(page, server, "/window/no-such-page")
    page.click("button[data-back]")
    page.wait_for_url(f"{server}/window/cases")
    assert watched.problems == []
