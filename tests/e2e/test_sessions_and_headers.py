"""Page sessions end on the server (a copied cookie opens nothing after signing out, a new password, a
reset or a disabled account), temporary passwords are changed before anything else, and every answer
carries the security headers."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from app.audit import AdminAudit
from app.sessions import StaffSession
from app.users import ApiToken, User
from tests.e2e.conftest import csrf_token
from tests.e2e.steps import assert_error, collect, rows
from tests.helpers import PASSWORD

NEW_PASSWORD = "my-own-password-7"


def user_named(db, username: str) -> User:
    db.rollback()
    return db.exec(select(User).where(User.username == username)).one()


def sessions_of(db, username: str) -> list[StaffSession]:
    user = user_named(db, username)
    return rows(db, select(StaffSession).where(StaffSession.user_id == user.id).order_by(StaffSession.created_at))


def replayed(app, client):
    """A second browser holding a copy of `client`'s session cookie, as an attacker who saved it would."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def signed_out(r) -> bool:
    return r.status_code == 302 and r.headers["Location"].startswith("/login")


def sign_in(app, username: str, password: str):
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page.text)})
    return client, r


@pytest.fixture
def admin(staff, pages):
    staff.user("admin", "admin")
    pages.login("admin")
    return pages


# -- sessions kept on the server -----------------------------------------------------------------------

def test_a_cookie_saved_before_signing_out_opens_nothing_after(staff, pages, app, db):
    client = pages.login("clerk")
    copy = replayed(app, client)
    assert copy.get("/window").status_code == 200  # the copy works while the session lives
    r = pages.post("/logout", as_="clerk", csrf_from="/window")
    assert r.headers["Location"] == "/login"
    r = copy.get("/window")
    assert signed_out(r)
    assert "请先登录" in copy.get(r.headers["Location"]).text
    assert_error(copy.get("/api/v1/cases"), 401, "unauthorized")
    [row] = sessions_of(db, "clerk")
    assert row.ended_at is not None


def test_the_cookie_holds_a_random_id_and_the_table_only_its_digest(staff, pages, db):
    from flask.sessions import SecureCookieSessionInterface
    client = pages.login("clerk")
    serializer = SecureCookieSessionInterface().get_signing_serializer(pages.app)
    sid = serializer.loads(client.get_cookie("session").value)["sid"]
    [row] = sessions_of(db, "clerk")
    assert len(sid) >= 40 and row.id_hash != sid and sid not in row.id_hash and row.ended_at is None


def test_a_reset_and_a_disabled_account_end_every_session_of_the_account(admin, app, db):
    clerk_id = user_named(db, "clerk").id
    first, second = admin.login("clerk"), replayed(app, admin.login("clerk"))
    admin.post(f"/admin/users/{clerk_id}/password", {"way": "generate"}, as_="admin", csrf_from="/admin")
    assert signed_out(first.get("/window")) and signed_out(second.get("/window"))
    assert all(row.ended_at is not None for row in sessions_of(db, "clerk"))

    officer_id = user_named(db, "officer").id
    officer = replayed(app, admin.login("officer"))
    admin.post(f"/admin/users/{officer_id}/disable", {}, as_="admin", csrf_from="/admin")
    assert signed_out(officer.get("/office"))
    assert [row.ended_at is not None for row in sessions_of(db, "officer")] == [True]


def test_an_expired_session_is_ended_on_the_server_too(staff, pages, app, db, frozen):
    client = pages.login("clerk")
    copy = replayed(app, client)
    frozen.set("2026-03-02T09:31:00+08:00")  # idle for 31 minutes
    assert signed_out(client.get("/window"))
    [row] = sessions_of(db, "clerk")
    assert row.ended_at is not None
    frozen.set("2026-03-02T09:32:00+08:00")
    assert signed_out(copy.get("/window"))


# -- changing one's own password -----------------------------------------------------------------------

def change(client, current: str, new: str, again: str | None = None):
    token = csrf_token(client.get("/account/password").text)
    return client.post("/account/password", data={"current": current, "password": new,
                                                  "password_again": new if again is None else again,
                                                  "csrf_token": token})


def test_staff_change_their_own_password_and_their_other_sessions_end(staff, pages, app, db):
    elsewhere = pages.login("clerk")
    here = pages.login("clerk")
    assert "修改密码" in here.get("/window").text  # the link in the header
    r = change(here, PASSWORD, NEW_PASSWORD)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert "密码已修改" in here.get("/window").text  # this session goes on
    assert signed_out(elsewhere.get("/window"))
    assert sign_in(app, "clerk", NEW_PASSWORD)[1].status_code == 302
    assert sign_in(app, "clerk", PASSWORD)[1].status_code == 400
    clerk = user_named(db, "clerk")
    assert rows(db, select(ApiToken).where(ApiToken.user_id == clerk.id)) == []
    [audit] = rows(db, select(AdminAudit))
    assert (audit.actor, audit.action, audit.target_id) == ("clerk", "password_changed", "clerk")
    assert NEW_PASSWORD not in str(audit.changes) and clerk.password_hash not in str(audit.changes)


@pytest.mark.parametrize("current, new, again, field, message", [
    ("not-my-password", NEW_PASSWORD, None, "current", "当前密码不正确"),
    ("", NEW_PASSWORD, None, "current", "请填写密码"),
    (PASSWORD, "short", None, "password", "密码至少8位"),
    (PASSWORD, NEW_PASSWORD, "my-own-password-8", "password_again", "两次输入的新密码不一致"),
    (PASSWORD, PASSWORD, None, "password", "新密码不能与当前密码相同"),
])
def test_a_wrong_password_change_is_said_next_to_the_field_and_changes_nothing(staff, pages, app, db,
                                                                                 current, new, again, field,
                                                                                 message):
    client = pages.login("clerk")
    before = user_named(db, "clerk").password_hash
    r = change(client, current, new, again)
    assert r.status_code == 400
    assert r.text.count(message) == 2 and f'href="#{field}"' in r.text  # in the summary and next to the field
    assert user_named(db, "clerk").password_hash == before
    assert client.get("/window").status_code == 200


# -- temporary passwords ---------------------------------------------------------------------------------

def test_an_account_an_admin_made_must_choose_its_own_password_before_anything_else(admin, app, db):
    r = admin.post("/admin/users/new", {"username": "newclerk", "name": "新同事", "role": "clerk",
                                        "office_code": "H140902", "password": "given-by-admin-1"},
                   as_="admin", csrf_from="/admin/users/new")
    assert r.status_code == 303 and user_named(db, "newclerk").must_change_password
    client, r = sign_in(app, "newclerk", "given-by-admin-1")
    assert r.status_code == 302
    for path in ("/", "/window", "/window/intake", "/manifests", "/track"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"] == "/account/password", path
    page = client.get("/account/password")
    assert page.status_code == 200 and "请先改为只有您自己知道的密码" in page.text and "取消" not in page.text
    assert_error(client.get("/api/v1/cases"), 403, "password_change_required")
    assert_error(app.test_client().post("/api/v1/auth/token",
                                        json={"username": "newclerk", "password": "given-by-admin-1"}),
                 403, "password_change_required")
    assert change(client, "given-by-admin-1", NEW_PASSWORD).status_code == 303
    assert client.get("/window").status_code == 200
    assert not user_named(db, "newclerk").must_change_password
    r = app.test_client().post("/api/v1/auth/token", json={"username": "newclerk", "password": NEW_PASSWORD})
    assert r.status_code == 200


def test_a_reset_password_must_be_changed_at_the_next_sign_in_and_signing_out_still_works(admin, app, db):
    clerk_id = user_named(db, "clerk").id
    r = admin.post(f"/admin/users/{clerk_id}/password", {"way": "choose", "password": "reset-by-admin-1",
                                                         "password_again": "reset-by-admin-1"},
                   as_="admin", csrf_from="/admin")
    assert r.status_code == 303 and user_named(db, "clerk").must_change_password
    client, _ = sign_in(app, "clerk", "reset-by-admin-1")
    assert client.get("/window").headers["Location"] == "/account/password"
    token = csrf_token(client.get("/account/password").text)
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"] == "/login"
    assert signed_out(client.get("/window"))


def test_accounts_made_by_the_command_line_keep_their_password(staff, pages):
    pages.login("clerk")  # `flask users create`: the operator chose it for themself
    assert pages.get("/window", as_="clerk").status_code == 200


# -- headers ---------------------------------------------------------------------------------------------

def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.partition(" ")[2] for part in (p.strip() for p in policy.split(";")) if part}


def assert_common(r):
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] in ("same-origin", "no-referrer")


def test_pages_run_no_inline_script_and_are_framed_by_nobody(staff, pages, app):
    pages.login("clerk")
    for r in (pages.get("/window", as_="clerk"), app.test_client().get("/login"), app.test_client().get("/track"),
              app.test_client().get("/no-such-page")):
        policy = directives(r)
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
        assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
        assert_common(r)
    assert app.test_client().get("/track").headers["Referrer-Policy"] == "no-referrer"  # stricter, kept


def test_the_api_and_documents_carry_the_headers_and_documents_may_be_framed_by_the_service_only(staff, pages):
    case = collect(staff)
    r = staff.get("/api/v1/cases", as_="clerk")
    assert directives(r) == {"default-src": "'none'", "frame-ancestors": "'none'"}
    assert r.headers["X-Frame-Options"] == "DENY"
    assert_common(r)
    pages.login("clerk")
    r = pages.get(case["receipt_url"], as_="clerk")  # the page frames it to print
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert directives(r) == {"frame-ancestors": "'self'"} and r.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert_common(r)


def test_an_answer_without_a_session_sets_no_cookie_and_does_not_vary_on_one(staff, pages, app):
    """A public look-up brings no cookie and gets none back, nor `Vary: Cookie` (its answer does not depend
    on one); a signed-in page still says it varies on the cookie and keeps its session."""
    case = collect(staff)
    r = app.test_client().get(f"/api/v1/track/{case['case_no']}?check={case['check_code']}")
    assert r.status_code == 200 and r.get_json()["case_no"] == case["case_no"]
    assert "Set-Cookie" not in r.headers and "Cookie" not in r.headers.get("Vary", "")
    assert r.headers["Cache-Control"] == "no-store"
    r = app.test_client().get("/login")  # the sign-in form keeps its CSRF token in a new session
    assert any(c.startswith("session=") for c in r.headers.getlist("Set-Cookie")) and "Cookie" in r.headers["Vary"]
    pages.login("clerk")
    r = pages.get("/window", as_="clerk")
    assert r.status_code == 200 and "Cookie" in r.headers["Vary"]


def test_the_session_cookie_is_http_only_same_site_and_secure_behind_https(staff, tmp_path, database_url):
    from app import create_app
    for public_url, secure in (("http://127.0.0.1:5000", False), ("https://tongban.example.gov.cn", True)):
        app = create_app({"database_url": database_url, "secret_key": "test-secret", "data_key": "test-data-key",
                          "instance_path": tmp_path, "public_url": public_url})
        try:
            _, r = sign_in(app, "clerk", PASSWORD)
            [cookie] = [c for c in r.headers.getlist("Set-Cookie") if c.startswith("session=")]
            flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
            assert {"httponly", "samesite"} <= flags and "SameSite=Lax" in cookie
            assert ("secure" in flags) is secure
        finally:
            app.extensions["tongban"]["engine"].dispose()


TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


def test_no_template_holds_inline_script_handlers_or_styles():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"<style",
                        r"javascript:"):
            found += [f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in re.finditer(pattern, text, re.IGNORECASE)]
    assert found == []
