"""The migrations build exactly the schema the models describe, and init-db runs them again safely."""
from __future__ import annotations

from sqlalchemy import inspect


def test_the_migrations_and_the_models_agree(engine):
    from app.schema import check
    check(engine)  # raises if autogenerate would write anything


def test_running_the_migrations_again_changes_nothing(engine):
    from app.schema import upgrade
    before = sorted(inspect(engine).get_table_names())
    upgrade(engine)
    assert sorted(inspect(engine).get_table_names()) == before
    assert {"case", "packet", "packetevent", "caseevent", "office", "matter", "alembic_version"} <= set(before)
