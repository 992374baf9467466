"""The admin's pages: accounts, offices and matters, and the audit log that records every change."""
from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from app.audit import AdminAudit
from app.users import ApiToken, User
from routing.tables import Matter, Office
from tests.e2e.conftest import csrf_token
from tests.e2e.steps import rows
from tests.helpers import PASSWORD


@pytest.fixture
def admin(staff, pages):
    """The staff, an admin signed in to the pages, and the clerk signed in too."""
    staff.user("admin", "admin")
    pages.login("admin")
    pages.login("clerk")
    return pages


@pytest.fixture
def reference_rows(db):
    """Offices and matters are reference data the tests keep: whatever a test edits is put back."""
    kept = {(Office, "H140921"): None, (Matter, "GA-WFZM-01"): None}
    for model, key in kept:
        kept[model, key] = db.get(model, key).model_dump()
    db.rollback()
    yield
    db.rollback()
    for (model, key), values in kept.items():
        row = db.get(model, key)
        for name, value in values.items():
            setattr(row, name, value)
        db.add(row)
    db.commit()


def user_named(db, username: str) -> User:
    db.rollback()
    return db.exec(select(User).where(User.username == username)).one()


def audit_rows(db, **where) -> list[AdminAudit]:
    query = select(AdminAudit).order_by(AdminAudit.id)
    for name, value in where.items():
        query = query.where(getattr(AdminAudit, name) == value)
    return rows(db, query)


def signs_in(app, username: str, password: str) -> bool:
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page.text)})
    return r.status_code == 302


def text_of(html: str) -> str:
    """The page's words without its tags, as a reader sees them."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- who may open them ------------------------------------------------------------------------------

ADMIN_PAGES = ["/admin", "/admin/users", "/admin/users/new", "/admin/users/{id}", "/admin/users/{id}/edit",
               "/admin/users/{id}/disable", "/admin/users/{id}/password", "/admin/offices", "/admin/offices/H140902",
               "/admin/offices/H140902/edit", "/admin/matters", "/admin/matters/GA-WFZM-01",
               "/admin/matters/GA-WFZM-01/edit", "/admin/audit"]
ADMIN_FORMS = ["/admin/users/new", "/admin/users/{id}/edit", "/admin/users/{id}/disable", "/admin/users/{id}/enable",
               "/admin/users/{id}/password", "/admin/users/{id}/unlock", "/admin/offices/H140902/edit",
               "/admin/matters/GA-WFZM-01/edit"]


def test_no_one_but_an_admin_opens_or_posts_to_an_admin_page(admin, db, app):
    clerk_id = user_named(db, "clerk").id
    for username in ("officer", "supervisor"):
        admin.login(username)
    for username in ("clerk", "officer", "supervisor"):
        for path in ADMIN_PAGES:
            r = admin.get(path.format(id=clerk_id), as_=username)
            assert r.status_code == 403 and "无权" in r.text, (username, path)
        for path in ADMIN_FORMS:
            r = admin.post(path.format(id=clerk_id), {"name": "改名", "role": "admin", "active": "yes"},
                           as_=username, csrf_from="/window" if username == "clerk" else "/login")
            assert r.status_code == 403, (username, path)
    assert user_named(db, "clerk").role == "clerk" and user_named(db, "clerk").active
    assert audit_rows(db) == []
    r = app.test_client().get("/admin/users")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_a_form_posted_without_its_csrf_token_changes_nothing(admin, db, reference_rows):
    clerk_id = user_named(db, "clerk").id
    client = admin.clients["admin"]
    r = client.post(f"/admin/users/{clerk_id}/disable", data={})
    assert r.status_code == 400 and "CSRF" in r.text
    r = client.post("/admin/offices/H140921/edit", data={"name": "被篡改的名称", "active": "yes"})
    assert r.status_code == 400
    r = client.post(f"/admin/users/{clerk_id}/password", data={"way": "generate", "csrf_token": "forged"})
    assert r.status_code == 400
    assert user_named(db, "clerk").active
    assert admin.get("/window", as_="clerk").status_code == 200  # the clerk is still signed in
    assert db.get(Office, "H140921").name != "被篡改的名称"
    assert audit_rows(db) == []


# -- accounts ---------------------------------------------------------------------------------------

def test_a_clerk_without_a_hall_is_refused_at_the_office_field(admin, db):
    form = {"txn": "t-1", "username": "wang", "name": "王芳", "role": "clerk", "office_code": "",
            "password": "long-enough-1"}
    r = admin.post("/admin/users/new", form, as_="admin")
    assert r.status_code == 400
    assert 'href="#office_code"' in r.text  # the summary links to the field
    assert r.text.count("必须属于一个政务服务大厅") == 2  # in the summary and next to the field
    assert 'value="wang"' in r.text  # what was typed stays
    r = admin.post("/admin/users/new", dict(form, txn="t-2", office_code="D140105-GA"), as_="admin")
    assert r.status_code == 400 and "必须属于一个政务服务大厅" in r.text
    assert rows(db, select(User).where(User.username == "wang")) == []
    assert audit_rows(db) == []


def test_every_mistake_on_a_new_account_is_shown_at_once(admin, db):
    r = admin.post("/admin/users/new", {"username": "clerk", "role": "officer", "office_code": "H140902",
                                        "password": "short"}, as_="admin")
    assert r.status_code == 400
    for field, words in (("username", "已存在"), ("password", "密码至少8位"), ("office_code", "办理部门")):
        assert f'href="#{field}"' in r.text and words in r.text


def test_an_admin_creates_a_clerk_who_then_signs_in_and_the_log_says_so(admin, db, app):
    form = {"txn": "t-1", "username": "wang", "name": "王芳", "role": "clerk", "office_code": "h140921",
            "password": "long-enough-1"}
    token = csrf_token(admin.get("/admin/users/new", as_="admin").text)
    r = admin.post("/admin/users/new", dict(form, csrf_token=token), as_="admin")
    assert r.status_code == 303
    page = text_of(admin.get(r.headers["Location"], as_="admin").text)
    assert "已新建账号 wang" in page and "王芳" in page and "窗口人员" in page and "H140921" in page
    again = admin.post("/admin/users/new", dict(form, csrf_token=token), as_="admin")  # a double click
    assert again.status_code == 303 and again.headers["Location"] == r.headers["Location"]
    user = user_named(db, "wang")
    assert (user.role, user.office_code, user.active) == ("clerk", "H140921", True)
    assert signs_in(app, "wang", "long-enough-1")
    [row] = audit_rows(db)
    assert (row.actor, row.action, row.target_kind, row.target_id) == ("admin", "user_created", "user", "wang")
    assert row.changes == {"username": [None, "wang"], "name": [None, "王芳"], "role": [None, "clerk"],
                           "office_code": [None, "H140921"], "active": [None, True]}
    assert "long-enough-1" not in json.dumps(row.changes) and user.password_hash not in json.dumps(row.changes)


def test_a_new_account_is_stored_as_typed_on_any_keyboard_and_the_cli_refuses_it_twice(admin, db, app):
    form = {"username": " ＷＡＮＧ ", "name": "王芳", "role": "clerk", "office_code": " h140921 ",
            "password": "long-enough-1"}
    assert admin.post("/admin/users/new", form, as_="admin").status_code == 303
    user = user_named(db, "wang")
    assert (user.username, user.office_code) == ("wang", "H140921")
    assert signs_in(app, "Wang", "long-enough-1")
    made = app.test_cli_runner().invoke(args=["users", "create", "WANG", "--role", "officer", "--password", "short"])
    assert made.exit_code != 0
    for words in ("用户名 wang 已存在", "密码至少8位", "办理部门"):  # every mistake at once
        assert words in made.output


def test_the_user_list_filters_by_role_office_and_state(admin, db):
    admin.api.user("clerk2", "clerk", "H140921")
    page = admin.get("/admin/users?role=clerk", as_="admin").text
    assert ">clerk<" in page and ">clerk2<" in page and ">officer<" not in page
    page = admin.get("/admin/users?office=H140921", as_="admin").text
    assert ">clerk2<" in page and ">clerk<" not in page
    assert "共 1 个账号" in page
    page = admin.get("/admin/users?active=no", as_="admin").text
    assert "没有符合条件的账号" in page


def test_editing_an_account_changes_its_role_and_office_and_logs_old_and_new(admin, db):
    clerk_id = user_named(db, "clerk").id
    r = admin.post(f"/admin/users/{clerk_id}/edit", {"name": "李强", "role": "officer", "office_code": "H140902"},
                   as_="admin")
    assert r.status_code == 400 and "办理部门" in r.text  # an officer belongs to a department
    assert user_named(db, "clerk").role == "clerk"
    r = admin.post(f"/admin/users/{clerk_id}/edit", {"name": "李强", "role": "officer",
                                                      "office_code": "D140105-GA"}, as_="admin")
    assert r.status_code == 303
    user = user_named(db, "clerk")
    assert (user.name, user.role, user.office_code) == ("李强", "officer", "D140105-GA")
    [row] = audit_rows(db)
    assert row.action == "user_updated"
    assert row.changes == {"name": ["clerk", "李强"], "role": ["clerk", "officer"],
                           "office_code": ["H140902", "D140105-GA"]}
    # the change holds at once: the page session now opens the officer's pages, not the window's
    assert admin.get("/window", as_="clerk").status_code == 403
    assert admin.get("/office", as_="clerk").status_code == 200


def test_an_admin_cannot_change_their_own_role_or_disable_themself(admin, db):
    admin_id = user_named(db, "admin").id
    r = admin.post(f"/admin/users/{admin_id}/edit", {"name": "管理员", "role": "supervisor", "office_code": ""},
                   as_="admin")
    assert r.status_code == 400 and "不能更改自己的角色" in r.text
    assert "不能停用自己的账号" in admin.get(f"/admin/users/{admin_id}/disable", as_="admin").text
    r = admin.post(f"/admin/users/{admin_id}/disable", as_="admin")
    assert r.status_code == 409 and "不能停用自己的账号" in r.text
    user = user_named(db, "admin")
    assert (user.role, user.active) == ("admin", True)
    assert audit_rows(db) == []


def test_disabling_a_user_ends_their_page_session_and_api_token_and_is_logged(admin, db, app):
    clerk_id = user_named(db, "clerk").id
    assert admin.api.get("/api/v1/cases", as_="clerk").status_code == 200
    confirm = text_of(admin.get(f"/admin/users/{clerk_id}/disable", as_="admin").text)
    assert "确定停用这个账号吗" in confirm and "立即退出登录" in confirm
    r = admin.post(f"/admin/users/{clerk_id}/disable", as_="admin")
    assert r.status_code == 303
    assert "已停用" in admin.get(r.headers["Location"], as_="admin").text
    r = admin.get("/window", as_="clerk")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert admin.api.get("/api/v1/cases", as_="clerk").status_code == 401
    assert rows(db, select(ApiToken).where(ApiToken.user_id == clerk_id)) == []
    assert not signs_in(app, "clerk", PASSWORD)
    [row] = audit_rows(db)
    assert (row.actor, row.action, row.target_id, row.changes) == ("admin", "user_disabled", "clerk",
                                                                    {"active": [True, False]})
    # enabled again: the old password works, the log has both
    r = admin.post(f"/admin/users/{clerk_id}/enable", as_="admin")
    assert r.status_code == 303 and signs_in(app, "clerk", PASSWORD)
    assert [(r.action, r.changes) for r in audit_rows(db)] == [
        ("user_disabled", {"active": [True, False]}), ("user_enabled", {"active": [False, True]})]


def test_a_reset_password_is_shown_once_ends_sessions_and_tokens_and_works(admin, db, app):
    clerk = user_named(db, "clerk")
    r = admin.post(f"/admin/users/{clerk.id}/password", {"way": "generate"}, as_="admin")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    found = re.search(r"data-temporary-password>([^<]+)<", r.text)
    assert found and "只显示这一次" in r.text
    temporary = found.group(1)
    assert len(temporary.replace("-", "")) == 12
    assert admin.get("/window", as_="clerk").status_code == 302  # signed out
    assert admin.api.get("/api/v1/cases", as_="clerk").status_code == 401
    assert rows(db, select(ApiToken).where(ApiToken.user_id == clerk.id)) == []
    assert not signs_in(app, "clerk", PASSWORD)
    assert signs_in(app, "clerk", temporary)
    assert temporary not in admin.get(f"/admin/users/{clerk.id}", as_="admin").text  # never shown again
    [row] = audit_rows(db)
    assert (row.action, row.target_id, row.changes) == ("password_reset", "clerk", {"password": [None, "generated"]})
    logged = json.dumps(row.changes)
    assert temporary not in logged and user_named(db, "clerk").password_hash not in logged
    assert "系统生成" in admin.get("/admin/audit", as_="admin").text


def test_a_password_the_admin_types_must_be_long_enough_and_typed_twice_alike(admin, db, app):
    clerk_id = user_named(db, "clerk").id
    url = f"/admin/users/{clerk_id}/password"
    for typed in ("", "short"):  # nothing typed is not "make one up"
        r = admin.post(url, {"way": "choose", "password": typed, "password_again": typed}, as_="admin")
        assert r.status_code == 400 and r.text.count("密码至少8位") == 2
    r = admin.post(url, {"way": "choose", "password": "new-password-9", "password_again": "new-password-8"},
                   as_="admin")
    assert r.status_code == 400 and "两次输入的密码不一致" in r.text
    assert signs_in(app, "clerk", PASSWORD) and audit_rows(db) == []
    r = admin.post(url, {"way": "choose", "password": "new-password-9", "password_again": "new-password-9"},
                   as_="admin")
    assert r.status_code == 303 and "new-password-9" not in r.text
    assert signs_in(app, "clerk", "new-password-9") and not signs_in(app, "clerk", PASSWORD)
    assert audit_rows(db)[0].changes == {"password": [None, "chosen"]}


# -- offices and matters ----------------------------------------------------------------------------

def test_an_edited_office_is_logged_old_and_new_and_survives_reloading_the_reference_data(admin, db,
                                                                                          reference_rows):
    from routing.reference import load_reference_data
    before = db.get(Office, "H140921")
    old_name, old_phone, address = before.name, before.phone, before.address
    db.rollback()
    form = {"name": "定襄县政务服务中心（新址）", "address": address, "postcode": before.postcode,
            "phone": "0350-6021234", "active": "yes"}
    r = admin.post("/admin/offices/H140921/edit", form, as_="admin")
    assert r.status_code == 303
    page = text_of(admin.get(r.headers["Location"], as_="admin").text)
    assert "定襄县政务服务中心（新址）" in page and "0350-6021234" in page and "管理员修改过" in page
    [row] = audit_rows(db)
    assert (row.actor, row.action, row.target_kind, row.target_id) == ("admin", "office_updated", "office", "H140921")
    assert row.changes == {"name": [old_name, "定襄县政务服务中心（新址）"], "phone": [old_phone, "0350-6021234"]}
    db.rollback()
    load_reference_data(db)  # init-db run again
    db.commit()
    office = db.get(Office, "H140921")
    assert (office.name, office.phone, office.address, office.edited) == (
        "定襄县政务服务中心（新址）", "0350-6021234", address, True)


def test_an_office_with_a_bad_postcode_or_phone_is_refused_next_to_the_fields(admin, db, reference_rows):
    before = db.get(Office, "H140921").model_dump()
    db.rollback()
    r = admin.post("/admin/offices/H140921/edit", {"name": "", "address": "x", "postcode": "0361",
                                                   "phone": "12345", "active": "yes"}, as_="admin")
    assert r.status_code == 400
    for field, words in (("name", "请填写机构名称"), ("postcode", "6位数字"), ("phone", "电话应为带区号的固定电话")):
        assert f'href="#{field}"' in r.text and r.text.count(words) == 2
    db.rollback()
    assert db.get(Office, "H140921").model_dump() == before and audit_rows(db) == []


def test_an_office_phone_is_stored_in_one_form_however_it_was_typed(admin, db, reference_rows):
    office = db.get(Office, "H140921")
    form = {"name": f"  {office.name}  ", "address": office.address, "postcode": "０３５０００",
            "phone": "(0350) 602 1234", "active": "yes"}
    db.rollback()
    assert admin.post("/admin/offices/H140921/edit", form, as_="admin").status_code == 303
    db.rollback()
    office = db.get(Office, "H140921")
    assert (office.name, office.postcode, office.phone) == (form["name"].strip(), "035000", "0350-6021234")


def test_an_office_taken_out_of_service_leaves_the_office_list_and_the_directory(admin, db, reference_rows):
    office = db.get(Office, "H140921")
    form = {"name": office.name, "address": office.address, "postcode": office.postcode, "phone": office.phone}
    db.rollback()
    assert admin.post("/admin/offices/H140921/edit", form, as_="admin").status_code == 303  # no "active": off
    assert audit_rows(db)[0].changes == {"active": [True, False]}
    r = admin.api.get("/api/v1/offices?kind=hall&division=140921", as_="clerk")
    assert r.status_code == 200 and "H140921" not in [o["code"] for o in r.json["offices"]]
    page = admin.get("/admin/offices?kind=hall&division=140921&active=no", as_="admin").text
    assert "H140921" in page and "已停用" in page


def test_the_office_list_filters_by_kind_division_and_name(admin):
    page = admin.get("/admin/offices?kind=hall&division=140900", as_="admin").text
    assert "H140902" in page and "D140105-GA" not in page and "H140105" not in page
    page = admin.get("/admin/offices?q=" + "忻府区", as_="admin").text
    assert "H140902" in page and "H140921" not in page
    page = admin.get("/admin/offices", as_="admin").text
    assert "第 1 / " in page and "下一页" in page  # 857 offices come a page at a time
    page = admin.get("/admin/offices?page=2", as_="admin").text
    assert "第 2 / " in page and "上一页" in page


def test_a_matter_shows_its_materials_and_limits(admin):
    page = text_of(admin.get("/admin/matters/GA-WFZM-01", as_="admin").text)
    assert "无犯罪记录证明" in page or "违法犯罪记录" in page
    assert "申请材料" in page and "原件" in page and "个工作日" in page and "异地代收代办" in page
    page = admin.get("/admin/matters?department=GA", as_="admin").text
    assert "GA-WFZM-01" in page and "BDC-" not in page


def test_a_matter_promised_beyond_its_legal_limit_is_refused_and_a_good_edit_is_logged(admin, db,
                                                                                       reference_rows):
    matter = db.get(Matter, "GA-WFZM-01")
    name, legal, promised = matter.name, matter.legal_days, matter.promised_days
    db.rollback()
    url = "/admin/matters/GA-WFZM-01/edit"
    r = admin.post(url, {"name": name, "legal_days": str(legal), "promised_days": str(legal + 1), "active": "yes"},
                   as_="admin")
    assert r.status_code == 400 and r.text.count("承诺办结时限不能超过法定办结时限") == 2
    r = admin.post(url, {"name": name, "legal_days": "十", "promised_days": "3", "active": "yes"}, as_="admin")
    assert r.status_code == 400 and "应为1至999之间的整数" in r.text
    assert audit_rows(db) == []
    new_promised = 1 if promised != 1 else 2
    r = admin.post(url, {"name": name, "legal_days": str(legal), "promised_days": str(new_promised),
                         "active": "yes"}, as_="admin")
    assert r.status_code == 303
    db.rollback()
    matter = db.get(Matter, "GA-WFZM-01")
    assert (matter.promised_days, matter.edited) == (new_promised, True)
    assert audit_rows(db)[0].changes == {"promised_days": [promised, new_promised]}
    assert f"{new_promised} 个工作日" in admin.get("/admin/matters/GA-WFZM-01", as_="admin").text


# -- the audit log ----------------------------------------------------------------------------------

def test_the_audit_page_lists_every_change_newest_first_and_filters_by_kind_and_actor(admin, db, frozen,
                                                                                       reference_rows):
    admin.api.user("admin2", "admin")
    admin.login("admin2")
    clerk_id = user_named(db, "clerk").id
    office = db.get(Office, "H140921")
    form = {"name": office.name, "address": office.address, "postcode": office.postcode, "phone": "0350-6029999",
            "active": "yes"}
    db.rollback()
    frozen.set("2026-03-02T09:00:00+08:00")
    admin.post(f"/admin/users/{clerk_id}/disable", as_="admin")
    frozen.set("2026-03-02T09:05:00+08:00")
    admin.post("/admin/offices/H140921/edit", form, as_="admin2")
    page = text_of(admin.get("/admin/audit", as_="admin").text)
    assert page.index("修改机构") < page.index("停用账号")  # newest first
    assert "2026-03-02 09:05" in page and "admin2" in page and "0350-6029999" in page
    assert re.search(r"账号 clerk 启用 ?： ?是 → 否", page)
    page = text_of(admin.get("/admin/audit?kind=user", as_="admin").text)
    assert "停用账号" in page and "修改机构" not in page
    page = text_of(admin.get("/admin/audit?actor=admin2", as_="admin").text)
    assert "修改机构" in page and "停用账号" not in page
    assert "修改机构" in admin.get("/admin", as_="admin").text  # the home page shows the latest too
    assert "0350-6029999" in admin.get("/admin/offices/H140921", as_="admin").text  # and the office its own
