"""The working-day calendar in force: chinesecalendar's years plus the years loaded since."""
from __future__ import annotations

import threading
from datetime import date, datetime

from sqlmodel import Session, select

from routing.tables import CalendarYear
from routing.workdays import WorkCalendar, YearSpec

_cache: dict[str, tuple[tuple, WorkCalendar]] = {}
_lock = threading.Lock()


def _spec(row: CalendarYear) -> YearSpec:
    return YearSpec(row.year,
                    {date.fromisoformat(k): v for k, v in row.holidays.items()},
                    {date.fromisoformat(k): v for k, v in row.workdays.items()})


def work_calendar(session: Session) -> WorkCalendar:
    rows = list(session.exec(select(CalendarYear).order_by(CalendarYear.year)))
    stamp = tuple((r.year, str(r.loaded_at)) for r in rows)
    key = str(session.get_bind().url)
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
    cal = WorkCalendar.official([_spec(r) for r in rows])
    with _lock:
        _cache[key] = (stamp, cal)
    return cal


def store_year(session: Session, spec: YearSpec, now: datetime) -> None:
    row = session.get(CalendarYear, spec.year) or CalendarYear(year=spec.year, loaded_at=now)
    row.holidays = {d.isoformat(): n for d, n in sorted(spec.holidays.items())}
    row.workdays = {d.isoformat(): n for d, n in sorted(spec.workdays.items())}
    row.loaded_at = now
    session.add(row)
    session.flush()
