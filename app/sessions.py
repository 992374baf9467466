"""Page sessions kept on the server: the signed cookie carries only a random id, and a session opens
pages while its row says it has not ended. Signing out, a new password, a reset and a disabled account
end the rows, so a cookie copied before any of them opens nothing afterwards.

The table stores a digest of the id, never the id itself: a copy of the database opens no session."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Field, Session, SQLModel

from config import clock
from config.database import later, utc_column

KEPT = timedelta(days=30)  # how long a session's row is kept after it began (who was signed in when)
TOUCH_EVERY = timedelta(seconds=30)  # the idle limit (minutes) counts from a use at most this much earlier


class StaffSession(SQLModel, table=True):
    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(sa_column=utc_column(False))
    seen_at: datetime = Field(sa_column=utc_column(False))
    ended_at: Optional[datetime] = Field(default=None, sa_column=utc_column(True))


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def begin(db: Session, user_id: int) -> str:
    """A new session for a user who just signed in; the id is for the cookie. The user's rows older than
    KEPT go (so the table does not grow without end)."""
    session_id = secrets.token_urlsafe(32)
    now = clock.now()
    db.execute(delete(StaffSession).where(StaffSession.user_id == user_id, StaffSession.created_at < now - KEPT))
    db.add(StaffSession(id_hash=_digest(session_id), user_id=user_id, created_at=now, seen_at=now))
    return session_id


def live(db: Session, session_id: str | None, user_id: int) -> StaffSession | None:
    """The session's row if it belongs to `user_id` and has not ended."""
    row = db.get(StaffSession, _digest(session_id)) if session_id else None
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return None
    return row


def expired(row: StaffSession, idle: timedelta, longest: timedelta) -> bool:
    """Idle for longer than `idle`, or signed in for longer than `longest` (a shift), on the service's clock."""
    now = clock.now()
    return now - clock.beijing(row.seen_at) > idle or now - clock.beijing(row.created_at) > longest


def touch(db: Session, row: StaffSession) -> bool:
    """The session was used now. Written (True) at most every TOUCH_EVERY: most pages a person opens then
    write nothing (a page that only reads writes in a short transaction of its own: config.database.later)."""
    now = clock.now()
    if now - clock.beijing(row.seen_at) < TOUCH_EVERY:
        return False
    _set(db, row, seen_at=now)
    return True


def end(db: Session, row: StaffSession) -> None:
    _set(db, row, ended_at=clock.now())


def _set(db: Session, row: StaffSession, **values) -> None:
    # by its key, not through the loaded row: a session that only reads never flushes a changed row
    for name, value in values.items():
        set_committed_value(row, name, value)
    later(db, lambda own: own.execute(update(StaffSession).where(StaffSession.id_hash == row.id_hash)
                                      .values(**values)))


def end_all(db: Session, user_id: int, keep: str | None = None) -> int:
    """Ends every session of a user (all but the one with id `keep`); returns how many were open."""
    query = update(StaffSession).where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
    if keep:
        query = query.where(StaffSession.id_hash != _digest(keep))
    return db.execute(query.values(ended_at=clock.now())).rowcount or 0
