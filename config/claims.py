"""Claiming the rows of an outbox (the federation's messages, the notifications, the carrier requests):
one due row at a time, by conditional update, so that several workers never hold the same row; on
PostgreSQL the candidate is also taken `FOR UPDATE SKIP LOCKED`, so workers pass each other instead of
queueing. A claim lasts `lease`: a worker that died mid-send leaves one that runs out, and the row goes
again. The table needs `id`, `status` ('pending' while due), `next_attempt_at`, `claimed_by`, `claimed_until`.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, select


def _due(model, now: datetime) -> list:
    free = or_(model.claimed_until.is_(None), model.claimed_until < now)
    ready = or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now)
    return [model.status == "pending", ready, free]


def claim_next(session: Session, model, worker: str, now: datetime, lease: timedelta, skip: set[int],
               order: tuple = (), *, after: int | None = None):
    """The next due row not in `skip` (and past id `after`, if given), claimed for `worker` until now + lease
    (None: nothing due, or another worker took it first). The caller commits the claim before it sends.

    A run that walks rows in id order passes `after` (the last id it claimed) and an empty `skip`: a `skip`
    set grows with the run, and its NOT IN list makes every claim a new, longer statement, which the
    driver compiles and caches again; over thousands of rows that costs quadratic time and memory."""
    due = _due(model, now)
    query = select(model.id).where(*due)
    if skip:
        query = query.where(model.id.not_in(skip))
    if after is not None:
        query = query.where(model.id > after)
    query = query.order_by(*(order or (model.next_attempt_at, model.id))).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    found = session.exec(query).first()
    if found is None:
        return None
    taken = session.execute(update(model).where(model.id == found, *due)
                            .values(claimed_by=worker, claimed_until=now + lease))
    return session.get(model, found, populate_existing=True) if taken.rowcount == 1 else None


def settle(session: Session, model, row_id: int, worker: str, **values) -> bool:
    """Records an attempt's outcome and lets go of the row, if the claim is still `worker`'s (False: it ran
    out meanwhile and another worker holds the row now)."""
    done = session.execute(update(model).where(model.id == row_id, model.claimed_by == worker)
                           .values(claimed_by=None, claimed_until=None, **values))
    return done.rowcount == 1


def backoff(first_seconds: int, cap_seconds: int, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: the first delay doubled each time, capped."""
    return timedelta(seconds=min(first_seconds * 2 ** max(attempts - 1, 0), cap_seconds))
