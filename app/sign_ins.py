"""Staff sign-in, guarded (the page and the API token alike): after a few wrong passwords an account and
a client address must wait, longer after each one; after `sign_in_lock_after` in a row the account is
locked until an admin unlocks it. An unknown username is counted, waits and locks exactly like a known
one, and costs the same hashing time (users.authenticate), so neither the answers nor their timing say
which names exist.

The account's count is taken before the password is checked, by one upsert that refuses once the
account is locked or waiting: concurrent guesses cannot check more passwords than the lock allows.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import case as case_when, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from app.audit import audit
from app.users import Credentials, User, authenticate
from config import clock
from config.database import UTCDateTime, utc_column
from tracking.model.errors import Kind, Refused

FREE_TRIES = 3                         # wrong passwords of an account before it must wait
CLIENT_FREE_TRIES = 10                 # … of one address (an office may sign in from one address)
LONGEST_WAIT = timedelta(minutes=15)
CLIENT_MEMORY = timedelta(hours=1)     # an address's count starts again after an hour without a wrong password


class SignInLimit(SQLModel, table=True):
    """Wrong passwords per account name ("account:NAME") or per client ("client:ADDRESS")."""
    key: str = Field(primary_key=True, max_length=120)
    failures: int = 0                 # account: in a row since the last success; client: within the hour
    last_at: datetime = Field(sa_column=utc_column(False))
    wait_until: Optional[datetime] = Field(default=None, sa_column=utc_column())
    locked_at: Optional[datetime] = Field(default=None, sa_column=utc_column())  # accounts only


def account_key(username: str) -> str:
    return f"account:{username}"[:120]


def wait_after(failures: int, free: int) -> timedelta:
    """1 s after the first wrong password past the free ones, then twice as long each time, at most 15 min."""
    if failures <= free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - free - 1)), LONGEST_WAIT)


def sign_in(session: Session, credentials: Credentials, client: str, lock_after: int) -> User | None:
    """The user, or None for a wrong name or password; raises 429 `too_many_attempts` while the account
    or the client must wait and 403 `account_locked` once the account is locked. Commits its counts
    (a refusal is kept, whatever the request does next)."""
    now = clock.now()
    account, address = account_key(credentials.username), f"client:{client}"[:120]
    waiting = session.get(SignInLimit, address, populate_existing=True)
    if waiting and waiting.wait_until and clock.beijing(waiting.wait_until) > now:
        raise _wait(waiting.wait_until)
    failures = _take_try(session, account, now, lock_after)
    session.commit()
    if failures is None:
        row = session.get(SignInLimit, account, populate_existing=True)
        if row.wait_until and clock.beijing(row.wait_until) > now and row.locked_at is None:
            raise _wait(row.wait_until)
        raise locked()
    user = authenticate(session, credentials)
    if user is not None:
        session.execute(update(SignInLimit).where(SignInLimit.key == account)
                        .values(failures=0, wait_until=None, locked_at=None))
        session.commit()
        return user
    _set_wait(session, account, now + wait_after(failures, FREE_TRIES))
    _set_wait(session, address, now + wait_after(_client_failure(session, address, now), CLIENT_FREE_TRIES))
    session.commit()
    if failures >= lock_after:
        raise locked()
    return None


def _upsert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _take_try(session: Session, key: str, now: datetime, lock_after: int) -> int | None:
    """Counts this try as wrong until the password proves right (then the count is cleared), in one
    statement; None when the account is locked or must still wait."""
    c = SignInLimit.__table__.c
    failures = c.failures + 1
    statement = _upsert(session)(SignInLimit.__table__).values(
        key=key, failures=1, last_at=now, locked_at=now if lock_after <= 1 else None)
    statement = statement.on_conflict_do_update(
        index_elements=[c.key],
        set_={"failures": failures, "last_at": literal(now, UTCDateTime()),
              "locked_at": case_when((failures >= lock_after, literal(now, UTCDateTime())), else_=c.locked_at)},
        where=(c.failures < lock_after) & (c.locked_at.is_(None))
        & (c.wait_until.is_(None) | (c.wait_until <= literal(now, UTCDateTime()))))
    row = session.execute(statement.returning(c.failures)).first()
    return row[0] if row else None


def _client_failure(session: Session, key: str, now: datetime) -> int:
    """One more wrong password from a client address (a fresh count after an hour without one)."""
    c = SignInLimit.__table__.c
    stale = c.last_at <= literal(now - CLIENT_MEMORY, UTCDateTime())
    statement = _upsert(session)(SignInLimit.__table__).values(key=key, failures=1, last_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[c.key],
        set_={"failures": case_when((stale, 1), else_=c.failures + 1), "last_at": literal(now, UTCDateTime())})
    return session.execute(statement.returning(c.failures)).one()[0]


def _set_wait(session: Session, key: str, until: datetime) -> None:
    if until > clock.now():
        session.execute(update(SignInLimit).where(SignInLimit.key == key).values(wait_until=until))


def _wait(until: datetime) -> Refused:
    seconds = max(1, int((clock.beijing(until) - clock.now()).total_seconds() + 0.999))
    at = clock.beijing(until).strftime("%H:%M:%S")
    return Refused(Kind.TOO_MANY, "too_many_attempts",
                   f"密码错误次数较多，请在 {at}（约{seconds}秒后）再试。", retry_after=seconds)


def locked() -> Refused:
    return Refused(Kind.FORBIDDEN, "account_locked",
                   "密码连续错误次数过多，账号已被锁定。请联系系统管理员解锁后再登录。")


# -- the admin's side ---------------------------------------------------------------------------------

def locked_since(session: Session, user: User) -> datetime | None:
    row = session.get(SignInLimit, account_key(user.username))
    return row.locked_at if row else None


def unlock_user(session: Session, by: str, user: User) -> bool:
    """The account may sign in again with a fresh count; False when it was not locked."""
    row = session.get(SignInLimit, account_key(user.username))
    if row is None or row.locked_at is None:
        return False
    session.delete(row)
    audit(session, by, "user_unlocked", "user", user.username, {"locked": [True, False]})
    return True
