"""Reading the statistics roll-ups (tracking.model.rollups): which days of a period have them, and a
figure's groups summed over those days (whole months from the month rows, the rest from the day rows).
The days without a roll-up are the caller's to read live, so that a period's figures are always complete."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, union_all
from sqlmodel import Session, select

from tracking.model.context import Actor
from tracking.model.rollups import BUILT
from tracking.model.tables import StatRollup


def area_of(actor: Actor, directory) -> str | None:
    """The roll-up area the actor reads ("": everything), None when there is none for them (a city's
    supervisor, an office's own staff): those read the cases live, in their scope."""
    # per-city rows are not built yet (tracking.model.rollups): a city's supervisor reads live
    return "" if actor.role == "supervisor" and not actor.office_code else None


@dataclass
class Coverage:
    months: list[date] = field(default_factory=list)    # first days of the whole months read from month rows
    days: list[date] = field(default_factory=list)      # days read from day rows
    missing: list[tuple[date, date]] = field(default_factory=list)  # runs of days to read live

    @property
    def any(self) -> bool:
        return bool(self.months or self.days)


def coverage(session: Session, since: date, until: date) -> Coverage:
    markers = session.exec(select(StatRollup.span, StatRollup.day).where(
        StatRollup.figure == BUILT, StatRollup.area == "",
        StatRollup.day >= since.replace(day=1), StatRollup.day <= until)).all()
    months = {d for span, d in markers if span == "m"}
    days = {d for span, d in markers if span == "d"}
    found = Coverage()
    run: list[date] = []
    d = since
    while d <= until:
        if d.day == 1 and d in months:
            end = date(d.year + d.month // 12, d.month % 12 + 1, 1) - timedelta(days=1)
            if end <= until:
                found.months.append(d)
                d = end + timedelta(days=1)
                continue
        if d in days:
            found.days.append(d)
        else:
            run.append(d)
        d += timedelta(days=1)
    # contiguous runs of missing days
    for d in sorted(run):
        if found.missing and found.missing[-1][1] + timedelta(days=1) == d:
            found.missing[-1] = (found.missing[-1][0], d)
        else:
            found.missing.append((d, d))
    return found


def selects(session: Session, figure: str, area: str, cover: Coverage, keys: int,
            groups: list[str] | None = None) -> list:
    """The rows (k1 .. k`keys`, n, total) of a figure over the covered months and days: one SELECT per
    span, each an index range (figure, span, area, day); with `groups`, only those second keys (an office,
    a matter), each its own index range (figure, span, area, k2, day)."""
    columns = [getattr(StatRollup, f"k{i + 1}") for i in range(keys)]
    only = [StatRollup.k2.in_(groups)] if groups is not None else []
    return [select(*columns, StatRollup.n, StatRollup.total).where(
        StatRollup.figure == figure, StatRollup.span == span, StatRollup.area == area, *only,
        StatRollup.day.in_(days))
        for span, days in (("m", cover.months), ("d", cover.days)) if days]


def sums(session: Session, figure: str, area: str, cover: Coverage, keys: int) -> list[tuple]:
    """(k1 .. k`keys`, n, total) of a figure over the covered months and days, the groups added up."""
    parts = selects(session, figure, area, cover, keys)
    if not parts:
        return []
    rows = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    grouped = [rows.c[f"k{i + 1}"] for i in range(keys)]
    query = select(*grouped, func.sum(rows.c.n), func.sum(rows.c.total))
    if grouped:
        query = query.group_by(*grouped)
    # without keys, the one row of sums over nothing holds NULLs
    return [tuple(row[:keys]) + (int(row[keys] or 0), int(row[keys + 1] or 0)) for row in session.execute(query)]
