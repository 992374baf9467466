"""委托代办 clicked through (issue 13 §4): the clerk takes an application a relative brings for the applicant,
with both identity checks and the power of attorney; the result comes back to the window, and the clerk
hands it to the agent; the applicant's tracking page says who took it."""
from __future__ import annotations

import re
import uuid

from tests.browser.conftest import sign_in
from tests.helpers import PASSWORD, resident_id

MONDAY = "2026-03-02"
AGENT_ID = resident_id("14090219850612451")


class Staff:
    """A handheld scanner or an office's client: the API with a bearer token."""

    def __init__(self, browser, server: str, username: str):
        self.ctx, self.server, self.username = browser.new_context(), server, username

    def post(self, path: str, body: dict | None = None) -> dict:
        # a token of its own for each call: the test moves the service's clock by days, past a token's life
        r = self.ctx.request.post(f"{self.server}/api/v1/auth/token",
                                  data={"username": self.username, "password": PASSWORD})
        assert r.ok, r.text()
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        r = self.ctx.request.post(self.server + path, headers=headers, data=body or {})
        assert r.ok, r.text()
        return r.json()

    def scan(self, frozen, tracking_no: str, type_: str, at: str) -> None:
        frozen.set(at)
        result = self.post("/api/v1/scans", {"scans": [{"event_id": str(uuid.uuid4()), "tracking_no": tracking_no,
                                                        "type": type_, "at": at}]})["results"][0]
        assert result["status"] == "recorded", result


def test_an_agent_applies_at_the_window_and_later_collects_the_result(server, accounts, browser, context, phone,
                                                                       shots, frozen):
    frozen.set(f"{MONDAY}T09:00:00+08:00")
    clerk = context.new_page()
    sign_in(clerk, server, "clerk")
    clerk.goto(f"{server}/window/intake/GA-WFZM-01")
    clerk.fill("#applicant-name", "张晓明")
    clerk.fill("#applicant-id_number", resident_id())
    clerk.fill("#applicant-phone", "13812345678")
    clerk.fill("#applicant-division_code", "140105")
    # 委托代办: the relative at the window, and the applicant's own check
    clerk.fill("#applicant-agent-name", "李建国")
    clerk.fill("#applicant-agent-id_number", AGENT_ID)
    clerk.fill("#applicant-agent-phone", "139 3456 7890")
    clerk.check("input[name='applicant.agent.relation'][value=relative]")
    clerk.check("input[name='applicant_identity_check.method'][value=id_copy]")
    clerk.check("#applicant_identity_check-passed")
    clerk.check("#materials-application_form-received")
    clerk.check("#materials-id_card-received")
    clerk.check("#identity_check-passed")
    clerk.check("input[name='result_delivery.method'][value=pickup]")
    with clerk.expect_navigation():
        clerk.click("button:has-text('下一步：核对信息')")
    # without the power of attorney the form comes back, at the checklist
    assert "授权委托书" in clerk.inner_text(".error-summary, main")
    clerk.check("#materials-power_of_attorney-received")
    clerk.select_option("#materials-power_of_attorney-original", "1")
    with clerk.expect_navigation():
        clerk.click("button:has-text('下一步：核对信息')")
    answers = clerk.inner_text("main")
    for text in ["委托代办", "李建国", AGENT_ID, "亲属", "核对申请人身份证件（复印件）：通过", "授权委托书"]:
        assert text in answers, text
    clerk.screenshot(path=shots / "agent-01-check.png", full_page=True)
    with clerk.expect_navigation():
        clerk.click("button:has-text('确认登记')")
    case_no = clerk.inner_text("#case-no").strip()
    check_code = clerk.inner_text("#check-code").strip()
    tracking_no = clerk.inner_text(".intake-tracking-no").strip()

    # the materials go out, are accepted and decided; the result comes back to the window
    officer, window = Staff(browser, server, "officer"), Staff(browser, server, "clerk")
    window.scan(frozen, tracking_no, "dispatched", f"{MONDAY}T10:00:00+08:00")
    officer.scan(frozen, tracking_no, "received", "2026-03-03T09:00:00+08:00")
    officer.post(f"/api/v1/cases/{case_no}/accept")
    frozen.set("2026-03-03T10:00:00+08:00")
    result = officer.post(f"/api/v1/cases/{case_no}/decision", {"outcome": "approved", "note": "准予"})
    result_no = result["result_packet"]["tracking_no"]
    officer.scan(frozen, result_no, "dispatched", "2026-03-03T11:00:00+08:00")
    window.scan(frozen, result_no, "received", "2026-03-04T09:00:00+08:00")

    # the window: the agent collects it
    frozen.set("2026-03-04T09:30:00+08:00")
    sign_in(clerk, server, "clerk")
    clerk.goto(f"{server}/window/cases/{case_no}/handover")
    page = clerk.inner_text("main")
    assert "代办人" in page and "李建国" in page
    clerk.check("input[name=collector][value=agent]")
    clerk.check("input[name=method][value=id_card_reader]")
    clerk.check("input[name=passed][value=yes]")
    clerk.screenshot(path=shots / "agent-02-handover.png", full_page=True)
    with clerk.expect_navigation():
        clerk.click("button:has-text('确认交付')")
    assert "办理结果已交付代办人" in clerk.inner_text("main")

    # the applicant's phone: who took it, the name masked
    applicant = phone.new_page()
    applicant.goto(f"{server}/track?no={case_no}&check={check_code}")
    timeline = applicant.inner_text("main")
    assert "已由李**代收" in timeline and "李建国" not in timeline
    applicant.screenshot(path=shots / "agent-03-track.png", full_page=True)
    for who in (officer, window):
        who.ctx.close()
    assert re.fullmatch(r"140902-20260302-\d{4}", case_no)
