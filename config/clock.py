"""The service's clock: UTC inside, Beijing time (+08:00, no daylight saving) outside.

Tests and demos pin it with `freeze`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(timezone.utc)


def freeze(at: datetime | None) -> None:
    """Pin the clock to `at` (aware), or release it with None."""
    global _frozen
    _frozen = at.astimezone(timezone.utc) if at is not None else None


@contextmanager
def pinned(at: datetime) -> Iterator[None]:
    """The clock reads `at` inside the block and whatever it read before afterwards (demo back-dating)."""
    global _frozen
    before = _frozen
    freeze(at)
    try:
        yield
    finally:
        _frozen = before


def beijing(dt: datetime) -> datetime:
    if dt.tzinfo is None:  # SQLite hands back naive datetimes; we always store UTC
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(BEIJING)


def beijing_date(dt: datetime | None = None) -> date:
    return beijing(dt or now()).date()


def start_of_day(d: date) -> datetime:
    """Midnight in Beijing at the start of `d`, as an aware time."""
    return datetime(d.year, d.month, d.day, tzinfo=BEIJING)


def iso(dt: datetime | None) -> str | None:
    return beijing(dt).isoformat(timespec="seconds") if dt else None
