"""Numbers allocated safely under concurrency: one atomic UPSERT … RETURNING per number."""
from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from mailing import s10

SERIALS_PER_PREFIX = 100_000_000


def next_value(session: Session, name: str) -> int:
    """Increments counter `name` (creating it at 1) in one statement; both SQLite and PostgreSQL
    hold the row lock until commit, so two transactions never get the same value."""
    return session.execute(
        text("INSERT INTO counter (name, value) VALUES (:n, 1) "
             "ON CONFLICT (name) DO UPDATE SET value = counter.value + 1 RETURNING value"),
        {"n": name},
    ).scalar_one()


def next_tracking_no(session: Session, first_prefix: str, last_prefix: str) -> str:
    prefixes = s10.prefix_range(first_prefix, last_prefix)
    value = next_value(session, "s10")
    index, serial = divmod(value, SERIALS_PER_PREFIX)
    if index >= len(prefixes):
        raise RuntimeError("S10 number range exhausted; configure TONGBAN_S10_LAST_PREFIX")
    return s10.make_tracking_no(prefixes[index], serial)
