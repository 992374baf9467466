"""Fixtures shared by the layers that need a database: one schema per run, emptied after each test.

TONGBAN_DATABASE_URL selects PostgreSQL; without it each run gets a fresh SQLite file.
"""
from __future__ import annotations

import os
from datetime import datetime

import pytest
from sqlalchemy import text

from config import clock

TRANSACTIONAL = ["statrollup", "outboxmessage", "inboundmessage", "peer", "overduemark", "manifestevent", "manifestitem", "manifest", "staffsession", "apitoken", "idempotentrequest", "notification", "evaluation", "accesslog", "tracklock", "signinlimit",
                 "resultfile", "casefile", "carrierevent", "carrierrequest", "packetevent", "packet", "casestep", "caseevent", '"case"', "counter", "adminaudit", '"user"', "calendaryear"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return os.environ.get("TONGBAN_DATABASE_URL") or \
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'tongban.db'}"


@pytest.fixture(scope="session")
def engine(database_url):
    from app.schema import upgrade
    from config.database import make_engine, new_session
    from routing.reference import load_reference_data
    engine = make_engine(database_url)
    upgrade(engine)
    with new_session(engine) as session:
        load_reference_data(session)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine):
    """A clean database (reference data kept) and a session on it. The session begins deferred
    so that, between statements, it never holds SQLite's write lock against the app under test."""
    from config.database import new_session
    session = new_session(engine, read_only=True)
    yield session
    session.close()
    empty_database(engine)


def empty_database(engine) -> None:
    """Everything a test wrote goes; the reference data stays. The clock runs free again."""
    from routing.reference import invalidate_directory
    clock.freeze(None)
    with engine.begin() as conn:
        for table in TRANSACTIONAL:
            conn.execute(text(f"DELETE FROM {table}"))
    invalidate_directory()


@pytest.fixture
def settings(tmp_path, database_url):
    from config.settings import Settings
    return Settings.from_env(env={}, overrides={"database_url": database_url, "secret_key": "test-secret",
                                                "data_key": "test-data-key", "instance_path": tmp_path})


@pytest.fixture
def env(settings):
    from app.addresses import WebAddresses
    from tracking.model.context import Env
    return Env(settings, WebAddresses(settings))


@pytest.fixture
def app(db, tmp_path, database_url):
    from app import create_app
    app = create_app({"database_url": database_url, "secret_key": "test-secret", "data_key": "test-data-key",
                      "instance_path": tmp_path})
    app.config["TESTING"] = True
    yield app
    app.extensions["tongban"]["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def frozen():
    """Pins the clock to a Monday morning in Beijing; tests move it on with frozen.set()."""
    class Frozen:
        def set(self, value: str) -> datetime:
            at = datetime.fromisoformat(value)
            clock.freeze(at)
            return at
    f = Frozen()
    f.set("2026-03-02T09:00:00+08:00")
    yield f
    clock.freeze(None)
