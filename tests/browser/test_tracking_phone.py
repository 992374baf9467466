"""The applicant's tracking pages on a phone (375 px wide): nothing to scroll sideways, fingers' targets at
least 44 px tall, a timeline that reads at that width, and errors said at the top and next to the field."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e import conftest as e2e
from tests.e2e.steps import collect, delivered_electronically, record

# the API layer's fixtures move cases along (its own test client, on the database the browser's server uses)
api, staff = e2e.api, e2e.staff

WIDTH = 375
TARGET = 44  # px: the smallest touch target the pages allow (WCAG 2.5.5, GOV.UK)
NOT_FOUND = "未找到该办件，请核对编号和查询密码。"


def page_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def small_targets(page, selector: str) -> list[str]:
    """The visible elements matching `selector` that are shorter than a fingertip, with their height."""
    return page.evaluate("""([selector, least]) => Array.from(document.querySelectorAll(selector))
        .filter(e => e.offsetParent !== null)
        .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
        .filter(([, h]) => h < least).map(([html, h]) => `${Math.round(h)}px ${html}`)""", [selector, TARGET])


def overflowing(page, selector: str) -> list[str]:
    """Elements whose right edge passes the screen's."""
    return page.evaluate("""([selector, width]) => Array.from(document.querySelectorAll(selector))
        .filter(e => e.getBoundingClientRect().right > width + 0.5).map(e => e.textContent.trim().slice(0, 40))""",
                         [selector, WIDTH])


def font_px(page, selector: str) -> float:
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


def test_the_look_up_form_fits_a_phone_and_says_what_is_wrong_at_the_top_and_at_the_field(
        server, staff, phone, shots, frozen):
    case = collect(staff)  # Monday 2 March, 09:00
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:00:00+08:00")
    record(staff, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    frozen.set("2026-03-03T10:00:00+08:00")
    assert staff.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer").json["status"] == "accepted"
    page = phone.new_page()
    page.goto(f"{server}/track")
    expect(page.locator("#no")).to_be_focused()
    assert page_width(page) <= WIDTH
    assert small_targets(page, "main input:not([type=hidden]), main button, main summary") == []
    page.screenshot(path=shots / "phone-01-track-form.png", full_page=True)

    # nothing typed: both fields asked for
    with page.expect_navigation():
        page.tap("button:has-text('查询')")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    assert "请输入办件编号或邮件号。" in summary.inner_text() and "请输入查询密码。" in summary.inner_text()
    assert page.locator(".field--error").count() == 2
    assert page_width(page) <= WIDTH
    page.screenshot(path=shots / "phone-02-track-form-empty.png", full_page=True)

    # the QR code's address, a wrong code: the same words as for an unknown number, at the top and the field
    page.goto(f"{server}/track/{case['case_no']}")
    expect(page.locator("#check")).to_be_focused()
    wrong = f"{(int(case['check_code']) + 1) % 10**6:06d}"
    page.keyboard.type(wrong)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text(".error-summary").count(NOT_FOUND) == 1
    assert NOT_FOUND in page.inner_text(".field--error")
    assert page.input_value("#no") == case["case_no"] and page.input_value("#check") == ""  # the code is not echoed
    assert page_width(page) <= WIDTH
    assert small_targets(page, "main input:not([type=hidden]), main button") == []
    page.screenshot(path=shots / "phone-03-track-wrong-code.png", full_page=True)

    # the right code: the timeline, readable at 375 px
    page.fill("#check", case["check_code"])
    with page.expect_navigation():
        page.tap("button:has-text('查询')")
    assert page.inner_text(".track-status__text") == "已受理"
    titles = page.locator(".timeline__item:not(.timeline__item--future) .timeline__title").all_inner_texts()
    assert titles[0] == "窗口已收件，材料待寄出" and titles[-1] == "办理部门已受理", titles
    upcoming = page.locator(".timeline__item--future").all_inner_texts()
    # what comes next, and by when: the decision counted from acceptance, then the result by post
    assert any("承诺办结日期" in text and "预计 2026年3月6日 前" in text for text in upcoming), upcoming
    assert any("邮寄送达" in text and "预计 2026年3月10日 前" in text for text in upcoming), upcoming
    assert page_width(page) <= WIDTH
    assert overflowing(page, "main *") == []
    assert font_px(page, ".timeline__title") >= 17 and font_px(page, ".timeline__meta") >= 14
    page.screenshot(path=shots / "phone-04-track-timeline.png", full_page=True)


def test_an_electronic_result_and_the_evaluation_are_easy_to_use_on_a_phone(
        server, staff, phone, shots, frozen):
    case = delivered_electronically(staff, frozen)
    page = phone.new_page()
    page.goto(f"{server}/track/{case['case_no']}")
    expect(page.locator("#check")).to_be_focused()  # typed before the field has the focus, the code is lost
    page.keyboard.type(case["check_code"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text(".track-status__text") == "已送达"
    download = page.locator(".track-download a.button")
    assert download.inner_text() == "下载办理结果"
    assert "/api/v1/deliveries/" in download.get_attribute("href")
    assert page_width(page) <= WIDTH
    assert overflowing(page, "main *") == []
    # each level of satisfaction is a whole row to tap, not a 22 px circle
    assert small_targets(page, ".track-evaluation .choice, main textarea, main button") == []
    assert page.locator(".track-evaluation input[name=score]").count() == 5  # five levels (and the stage rated)
    page.screenshot(path=shots / "phone-05-track-electronic-result.png", full_page=True)

    # sent without a level: said at the top and next to the choices, the comment kept
    page.fill("#comment", "下载很顺利。")
    with page.expect_navigation():
        page.tap("button:has-text('提交评价')")
    assert "请选择您对本次服务的满意程度。" in page.inner_text(".error-summary")
    assert "请选择您对本次服务的满意程度。" in page.inner_text("#score")
    assert page.input_value("#comment") == "下载很顺利。"
    assert page_width(page) <= WIDTH
    page.screenshot(path=shots / "phone-06-track-evaluation-error.png", full_page=True)

    page.tap(".track-evaluation .choice:has-text('满意') >> nth=1")  # 满意, the second of five
    with page.expect_navigation():
        page.tap("button:has-text('提交评价')")
    assert page.inner_text("h1") == "感谢您的评价"
    assert page.inner_text(".panel__ref") == "满意"
    assert page_width(page) <= WIDTH
    page.screenshot(path=shots / "phone-07-track-thanks.png", full_page=True)
