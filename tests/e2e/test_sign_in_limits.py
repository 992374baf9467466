"""Staff sign-in under attack: a growing wait per account and per client, a lock after repeated wrong
passwords that only an admin lifts, and answers (and their timing) that never tell which names exist."""
from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta

from sqlmodel import select

from app.audit import AdminAudit
from app.sign_ins import SignInLimit
from app.users import User
from config import clock
from tests.e2e.conftest import csrf_token
from tests.e2e.steps import rows
from tests.helpers import PASSWORD

LOCKED = "密码连续错误次数过多，账号已被锁定。请联系系统管理员解锁后再登录。"


def token(api, username: str, password: str, address: str | None = None):
    extra = {"environ_base": {"REMOTE_ADDR": address}} if address else {}
    return api.client.post("/api/v1/auth/token", json={"username": username, "password": password}, **extra)


def later(seconds: float) -> None:
    clock.freeze(clock.now() + timedelta(seconds=seconds))


def answers(api, username: str, count: int, *, step: float = 3600) -> list[tuple[int, str]]:
    """`count` wrong passwords, each after the wait the one before set has passed (from a fresh address
    each time, so that only the account's own count is at work)."""
    out = []
    for n in range(count):
        r = token(api, username, "wrong-password", f"192.0.2.{n + 1}")
        out.append((r.status_code, r.json["error"]["code"]))
        later(step)
    return out


def test_an_account_waits_longer_after_each_wrong_password_past_the_third(staff, frozen):
    api = staff
    for _ in range(3):  # three free: each straight after the one before
        assert token(api, "clerk", "wrong-password").json["error"]["code"] == "invalid_credentials"
    waits = []
    for _ in range(4):
        assert token(api, "clerk", "wrong-password").json["error"]["code"] == "invalid_credentials"
        refused = token(api, "clerk", PASSWORD)  # straight after, even the right password
        error = refused.json["error"]
        assert refused.status_code == 429 and error["code"] == "too_many_attempts" and "再试" in error["message"]
        waits.append(error["retry_after"])
        later(error["retry_after"])
    assert waits == [1, 2, 4, 8]
    assert token(api, "clerk", PASSWORD).status_code == 200  # the wait over, the right password works


def test_the_wait_is_said_in_chinese_with_the_time_to_come_back(staff, frozen):
    api = staff
    for _ in range(4):
        token(api, "clerk", "wrong-password")
    refused = token(api, "clerk", "wrong-password")
    assert refused.status_code == 429
    assert refused.json["error"]["message"] == "密码错误次数较多，请在 09:00:01（约1秒后）再试。"


def test_forty_wrong_passwords_lock_the_account_after_ten_and_the_right_one_no_longer_works(staff, frozen, db):
    api = staff
    seen = answers(api, "clerk", 40)
    assert seen[:9] == [(401, "invalid_credentials")] * 9
    assert seen[9:] == [(403, "account_locked")] * 31  # the tenth locks it, and says so
    r = token(api, "clerk", PASSWORD)
    assert (r.status_code, r.json["error"]["message"]) == (403, LOCKED)
    lock = rows(db, select(SignInLimit).where(SignInLimit.key == "account:clerk"))[0]
    assert lock.failures == 10 and lock.locked_at is not None


def test_an_unknown_name_gets_the_same_answers_as_a_known_one(staff, frozen):
    api = staff
    assert answers(api, "nobody", 12) == answers(api, "clerk", 12)


def test_a_locked_account_is_told_on_the_page_and_an_admin_unlocks_it(staff, pages, frozen, db, app):
    staff.user("admin", "admin")
    answers(staff, "clerk", 10)
    pages.login("admin")
    client = app.test_client()
    page = client.post("/login", data={"username": "clerk", "password": PASSWORD,
                                       "csrf_token": csrf_token(client.get("/login").text)})
    assert page.status_code == 403 and LOCKED in page.text
    clerk_id = rows(db, select(User).where(User.username == "clerk"))[0].id
    user_page = pages.get(f"/admin/users/{clerk_id}", as_="admin").text
    assert "已锁定" in user_page and "解除登录锁定" in user_page
    done = pages.post(f"/admin/users/{clerk_id}/unlock", as_="admin", csrf_from=f"/admin/users/{clerk_id}")
    assert done.status_code == 303
    audit = rows(db, select(AdminAudit).where(AdminAudit.action == "user_unlocked"))
    assert [(a.actor, a.target_id, a.changes) for a in audit] == [("admin", "clerk", {"locked": [True, False]})]
    after = pages.get(f"/admin/users/{clerk_id}", as_="admin").text
    assert f"/admin/users/{clerk_id}/unlock" not in after and "登录锁定：是→否" in re.sub(r"<[^>]+>|\s", "", after)
    assert token(staff, "clerk", PASSWORD).status_code == 200
    # a fresh count: three more wrong passwords cost no wait yet
    assert [token(staff, "clerk", "wrong-password").status_code for _ in range(3)] == [401] * 3


def test_a_client_trying_many_names_must_wait_too(staff, frozen):
    api = staff
    for n in range(10):  # one wrong password for each of ten names: no account waits
        assert token(api, f"guess{n}", "wrong-password", "203.0.113.5").status_code == 401
    r = token(api, "clerk", PASSWORD, "203.0.113.5")
    assert r.status_code == 200  # the tenth was free
    assert token(api, "guess10", "wrong-password", "203.0.113.5").status_code == 401  # the eleventh sets a wait
    r = token(api, "clerk", PASSWORD, "203.0.113.5")
    assert (r.status_code, r.json["error"]["code"]) == (429, "too_many_attempts")
    assert token(api, "clerk", PASSWORD, "198.51.100.1").status_code == 200  # another address is not held up
    later(1)
    assert token(api, "clerk", PASSWORD, "203.0.113.5").status_code == 200


def test_sign_ins_from_one_client_are_limited_per_minute_by_page_and_api_together(staff, app):
    app.config["TONGBAN"].sign_in_rate_per_minute = 3
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    page = client.post("/login", data={"username": "clerk", "password": PASSWORD,
                                       "csrf_token": csrf_token(client.get("/login").text)})
    assert page.status_code == 302
    api = [client.post("/api/v1/auth/token", json={"username": "clerk", "password": PASSWORD}).status_code
           for _ in range(3)]
    assert api == [200, 200, 429]
    limited = client.post("/api/v1/auth/token", json={"username": "clerk", "password": PASSWORD})
    assert limited.json["error"]["code"] == "too_many_requests"


def test_an_unknown_name_costs_as_much_hashing_time_as_a_known_one(client, db, frozen):
    from app.users import create_user
    create_user(db, "hashed", "courier", PASSWORD)  # werkzeug's own work factor, as in service
    db.commit()

    def timed(username: str) -> float:
        start = time.perf_counter()
        r = client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password"},
                        environ_base={"REMOTE_ADDR": f"192.0.2.{len(username)}"})
        assert r.status_code == 401
        later(3600)  # past any wait
        return time.perf_counter() - start

    timed("warm-up")  # the dummy hash is made once per process
    known, unknown = [], []
    for n in range(4):  # under the lock's ten
        known.append(timed("hashed"))
        unknown.append(timed(f"nobody{n}"))
    assert statistics.median(unknown) >= 0.5 * statistics.median(known), (known, unknown)
