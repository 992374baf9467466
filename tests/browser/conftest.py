"""The browser layer: Playwright driving Debian's Chromium against the app served on a free local port.

Never downloads a browser. Without /usr/bin/chromium the layer is skipped with the reason said plainly;
under CI (CI=true) a missing Chromium fails instead, so the layer can never pass by not running.
Screenshots go to tests/browser/screenshots/ (ignored by git): look at them.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.helpers import PASSWORD

CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent / "screenshots"


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    why = (f"browser layer (tests/browser) skipped: no Chromium at {CHROMIUM} "
           "(apt-get install -y chromium fonts-wqy-microhei)")
    if os.environ.get("CI"):
        raise pytest.UsageError(why.replace("skipped", "cannot be skipped under CI"))
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots():
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    return SHOTS


@pytest.fixture
def server(db, tmp_path, database_url):
    """The app on 127.0.0.1 and a free port, in a thread, on the test database."""
    from werkzeug.serving import make_server
    from app import create_app
    app = create_app({"database_url": database_url, "secret_key": "browser-secret", "data_key": "test-data-key",
                      "instance_path": tmp_path, "public_url": "http://127.0.0.1:5000"})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["TONGBAN"].public_url = f"http://127.0.0.1:{srv.server_port}"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(5)
    app.extensions["tongban"]["engine"].dispose()


@pytest.fixture
def accounts(db, monkeypatch):
    """Staff of the paper path: a clerk at 忻府区, an officer at 小店区公安, a courier, a supervisor, an admin."""
    import app.users
    from werkzeug.security import generate_password_hash
    monkeypatch.setattr(app.users, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))
    for username, role, office, name in [("clerk", "clerk", "H140902", "王敏"),
                                         ("officer", "officer", "D140105-GA", "李建国"),
                                         ("courier", "courier", None, "赵师傅"),
                                         ("supervisor", "supervisor", None, "周文"),
                                         ("admin", "admin", None, "系统管理员")]:
        app.users.create_user(db, username, role, PASSWORD, office, name)
    db.commit()
    return PASSWORD


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def phone(browser):
    """A phone's viewport (375 × 812, touch, mobile)."""
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, locale="zh-CN")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def sign_in(page, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
