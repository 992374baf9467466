from __future__ import annotations

import itertools

import pytest

from tests.helpers import PASSWORD


class Api:
    """The HTTP API as a client sees it: tokens per user, JSON in and out."""

    def __init__(self, client, db):
        self.client, self.db, self.tokens = client, db, {}

    def user(self, username: str, role: str, office: str | None = None) -> str:
        from app.users import create_user
        create_user(self.db, username, role, PASSWORD, office, username)
        self.db.commit()
        return self.login(username)

    def login(self, username: str) -> str:
        """A fresh token, e.g. after the test moved the clock past the old one's lifetime."""
        r = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.json
        self.tokens[username] = r.json["token"]
        return username

    def _headers(self, as_, key):
        headers = {"Authorization": f"Bearer {self.tokens[as_]}"} if as_ else {}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path, as_=None, **kw):
        return self.client.get(path, headers=self._headers(as_, None), **kw)

    def post(self, path, json=None, as_=None, key=None):
        return self.client.post(path, json=json, headers=self._headers(as_, key))

    def post_raw(self, path, data, as_=None, key=None, content_type="application/json"):
        """A body sent byte for byte, e.g. malformed JSON."""
        return self.client.post(path, data=data, content_type=content_type, headers=self._headers(as_, key))


_client_addresses = itertools.count(1)


@pytest.fixture
def api(client, db, monkeypatch):
    # Staff passwords are hashed with a cheap work factor here: scrypt's deliberate 0.1 s per hash,
    # twice per account and four accounts per test, would be most of the layer's running time.
    import app.users
    from werkzeug.security import generate_password_hash
    monkeypatch.setattr(app.users, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))
    # The public endpoints are rate-limited per client address, per process: each test
    # gets an address of its own so that one test's requests never count against another's.
    n = next(_client_addresses)
    client.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    # Tests move the frozen clock by days or months, and tokens may be issued before the clock
    # is frozen: staff tokens here outlive any such jump (token expiry is not what e2e tests test).
    client.application.config["TONGBAN"].token_hours = 24 * 366 * 20
    # For the same reason scans may carry any time from 2000 to 2099 here: tests script a packet's
    # journey days ahead of the pinned clock. tests/e2e/test_crafted_input.py checks the shipped window.
    client.application.config["TONGBAN"].scan_ahead_minutes = 60 * 24 * 366 * 100
    client.application.config["TONGBAN"].scan_behind_days = 366 * 100
    return Api(client, db)


@pytest.fixture
def staff(api):
    """A clerk at 忻府区 hall, an officer at 小店区 public security, a courier, a supervisor."""
    api.user("clerk", "clerk", "H140902")
    api.user("officer", "officer", "D140105-GA")
    api.user("courier", "courier")
    api.user("supervisor", "supervisor")
    return api


class Pages:
    """The pages as a signed-in person sees them: a cookie session per person, the CSRF token read
    from the page as a browser would, forms posted as a browser posts them."""

    def __init__(self, app, api):
        self.app, self.api, self.clients = app, api, {}

    def login(self, username: str):
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = self.api.client.environ_base.get("REMOTE_ADDR", "127.0.0.1")
        page = client.get("/login")
        r = client.post("/login", data={"username": username, "password": PASSWORD,
                                        "csrf_token": csrf_token(page.text)})
        assert r.status_code == 302, r.text
        self.clients[username] = client
        return client

    def get(self, path: str, as_: str, **kw):
        return self.clients[as_].get(path, **kw)

    def post(self, path: str, data: dict | None = None, as_: str = "", csrf_from: str | None = None, **kw):
        """A form post with the CSRF token of the page at `csrf_from` (default: the same path)."""
        client = self.clients[as_]
        data = dict(data or {})
        if "csrf_token" not in data:
            data["csrf_token"] = csrf_token(client.get(csrf_from or "/login").text)
        return client.post(path, data=data, **kw)


def csrf_token(html: str) -> str:
    import re
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


@pytest.fixture
def pages(app, api):
    """Page sessions; accounts are made with `api.user` (or the `staff` fixture) first."""
    return Pages(app, api)
