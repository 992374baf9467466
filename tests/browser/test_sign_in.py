"""Signing in and out in a real browser."""
from __future__ import annotations

from tests.browser.conftest import sign_in


def test_a_clerk_signs_in_lands_on_the_window_and_signs_out(server, accounts, context, shots):
    page = context.new_page()
    page.goto(f"{server}/window")
    assert "/login" in page.url
    page.screenshot(path=shots / "login.png", full_page=True)
    sign_in(page, server, "clerk")
    assert page.url.endswith("/window")
    assert "王敏" in page.inner_text("header")
    page.click("header button:has-text('退出')")
    assert "/login" in page.url
    assert "您已安全退出" in page.inner_text("main")


def test_a_wrong_password_is_said_at_the_top_and_next_to_the_field(server, accounts, context, shots):
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#username", "clerk")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    summary = page.locator(".error-summary")
    assert "用户名或密码错误" in summary.inner_text()
    assert "用户名或密码错误" in page.locator(".field--error").inner_text()
    page.screenshot(path=shots / "login-error.png", full_page=True)
