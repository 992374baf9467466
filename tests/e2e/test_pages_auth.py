"""Signing in to the pages: CSRF, roles, sessions that expire, and the API reached with the page's cookie."""
from __future__ import annotations

from tests.e2e.conftest import csrf_token
from tests.helpers import PASSWORD


def test_each_role_is_sent_to_its_home_from_the_root(staff, pages):
    staff.user("admin", "admin")
    homes = {"clerk": "/window", "officer": "/office", "supervisor": "/supervise", "admin": "/admin"}
    for username, home in homes.items():
        pages.login(username)
        r = pages.get("/", as_=username)
        assert r.status_code == 302 and r.headers["Location"] == home
    pages.login("courier")
    assert "扫描设备" in pages.get("/", as_="courier").text


def test_a_page_asks_for_sign_in_and_comes_back_after_it(staff, app):
    client = app.test_client()
    r = client.get("/window/cases")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    page = client.get(r.headers["Location"])
    assert "请先登录" in page.text
    r = client.post(r.headers["Location"], data={"username": "clerk", "password": PASSWORD,
                                                 "csrf_token": csrf_token(page.text)})
    assert r.headers["Location"] == "/window/cases"


def test_sign_in_never_redirects_to_another_site(staff, app):
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login?next=//evil.example/x", data={"username": "clerk", "password": PASSWORD,
                                                           "csrf_token": csrf_token(page.text)})
    assert r.headers["Location"] == "/"


def test_a_sign_in_without_the_csrf_token_is_refused(staff, app):
    client = app.test_client()
    r = client.post("/login", data={"username": "clerk", "password": PASSWORD})
    assert r.status_code == 400 and "CSRF" in r.text
    assert client.get("/window").status_code == 302  # still signed out


def test_a_wrong_password_is_said_next_to_the_field_and_signs_nobody_in(staff, app):
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"username": "clerk", "password": "not-it-at-all",
                                    "csrf_token": csrf_token(page.text)})
    assert r.status_code == 400
    assert r.text.count("用户名或密码错误") == 2  # in the summary and next to the field
    assert client.get("/window").status_code == 302


def test_a_username_typed_in_capitals_or_full_width_letters_signs_in(staff, app):
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"username": " ＣＬＥＲＫ ", "password": PASSWORD,
                                    "csrf_token": csrf_token(page.text)})
    assert r.status_code == 302
    r = staff.client.post("/api/v1/auth/token", json={"username": "Clerk", "password": PASSWORD})
    assert r.status_code == 200 and r.json["username"] == "clerk"


def test_an_empty_sign_in_says_what_is_missing_next_to_each_field(staff, app):
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"username": " ", "password": "", "csrf_token": csrf_token(page.text)})
    assert r.status_code == 400
    assert 'href="#username"' in r.text and 'href="#password"' in r.text and "请填写密码" in r.text
    r = staff.client.post("/api/v1/auth/token", json={"username": "clerk"})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_request"
    assert r.json["error"]["field"] == "password" and [e["field"] for e in r.json["error"]["errors"]] == ["password"]


def test_a_role_cannot_open_another_roles_pages(staff, pages):
    pages.login("clerk")
    for path in ("/office", "/supervise", "/admin"):
        r = pages.get(path, as_="clerk")
        assert r.status_code == 403 and "无权" in r.text


def test_a_session_ends_after_half_an_hour_idle(staff, pages, frozen):
    pages.login("clerk")
    frozen.set("2026-03-02T09:29:00+08:00")
    assert pages.get("/window", as_="clerk").status_code == 200  # 29 minutes: still in, and the clock restarts
    frozen.set("2026-03-02T09:58:00+08:00")
    assert pages.get("/window", as_="clerk").status_code == 200
    frozen.set("2026-03-02T10:29:00+08:00")
    r = pages.get("/window", as_="clerk")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert "登录已超时" in pages.get(r.headers["Location"], as_="clerk").text


def test_a_session_ends_after_a_shift_however_busy(staff, pages, frozen):
    pages.login("clerk")
    for hour in range(9, 21):
        for minute in (0, 20, 40):
            frozen.set(f"2026-03-02T{hour:02d}:{minute:02d}:00+08:00")
            assert pages.get("/window", as_="clerk").status_code == 200
    frozen.set("2026-03-02T21:01:00+08:00")  # twelve hours after signing in
    assert pages.get("/window", as_="clerk").status_code == 302


def test_signing_out_ends_the_session(staff, pages):
    client = pages.login("clerk")
    r = pages.post("/logout", as_="clerk", csrf_from="/window")
    assert r.headers["Location"] == "/login"
    assert client.get("/window").status_code == 302


def test_a_new_password_ends_sessions_signed_in_with_the_old_one(staff, pages, db):
    from sqlmodel import select
    from werkzeug.security import generate_password_hash
    from app.users import User
    client = pages.login("clerk")
    user = db.exec(select(User).where(User.username == "clerk")).one()
    user.password_hash = generate_password_hash("another-password-2", method="pbkdf2:sha256:1")
    db.add(user)
    db.commit()
    assert client.get("/window").status_code == 302


def test_the_pages_cookie_opens_the_api_for_reading_but_a_change_needs_the_csrf_token(staff, pages):
    client = pages.login("supervisor")
    r = client.get("/api/v1/cases")
    assert r.status_code == 200 and r.json["cases"] == []
    scan = {"scans": []}
    r = client.post("/api/v1/scans", json=scan)
    assert r.status_code == 400 and r.json["error"]["code"] == "csrf_failed"
    token = csrf_token(client.get("/supervise").text)
    r = client.post("/api/v1/scans", json=scan, headers={"X-CSRFToken": token})
    assert r.status_code != 400 or r.json["error"]["code"] != "csrf_failed"


def test_unknown_pages_are_pages_and_unknown_api_paths_are_json(staff, app):
    client = app.test_client()
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "<h1" in r.text and "未找到" in r.text
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
