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
from sqlmodel import Field, Session, SQLModel

from config import clock
from config.database import utc_column

KEPT = timedelta(days=30)  # how long a session's row is kept after it began (who was signed in when)


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


def touch(row: StaffSession) -> None:
    row.seen_at = clock.now()


def end(row: StaffSession) -> None:
    row.ended_at = clock.now()


def end_all(db: Session, user_id: int, keep: str | None = None) -> int:
    """Ends every session of a user (all but the one with id `keep`); returns how many were open."""
    query = update(StaffSession).where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
    if keep:
        query = query.where(StaffSession.id_hash != _digest(keep))
    return db.execute(query.values(ended_at=clock.now())).rowcount or 0
