"""The working-day calendar in force: chinesecalendar's years plus the years loaded since."""
from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from routing.reference import cached, reference_changed
from routing.tables import CalendarYear
from routing.workdays import WorkCalendar, YearSpec


def _spec(row: CalendarYear) -> YearSpec:
    return YearSpec(row.year,
                    {date.fromisoformat(k): v for k, v in row.holidays.items()},
                    {date.fromisoformat(k): v for k, v in row.workdays.items()})


def work_calendar(session: Session) -> WorkCalendar:
    """The calendar in force, built once per process until a year is loaded (routing.reference.cached)."""
    return cached(session, "calendar", _build)


def _build(session: Session) -> WorkCalendar:
    return WorkCalendar.official([_spec(r) for r in session.exec(select(CalendarYear).order_by(CalendarYear.year))])


def store_year(session: Session, spec: YearSpec, now: datetime) -> None:
    row = session.get(CalendarYear, spec.year) or CalendarYear(year=spec.year, loaded_at=now)
    row.holidays = {d.isoformat(): n for d, n in sorted(spec.holidays.items())}
    row.workdays = {d.isoformat(): n for d, n in sorted(spec.workdays.items())}
    row.loaded_at = now
    session.add(row)
    session.flush()
    reference_changed(session)
