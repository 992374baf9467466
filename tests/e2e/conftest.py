from __future__ import annotations

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


@pytest.fixture
def api(client, db):
    return Api(client, db)


@pytest.fixture
def staff(api):
    """A clerk at 忻府区 hall, an officer at 小店区 public security, a courier, a supervisor."""
    api.user("clerk", "clerk", "H140902")
    api.user("officer", "officer", "D140105-GA")
    api.user("courier", "courier")
    api.user("supervisor", "supervisor")
    return api
