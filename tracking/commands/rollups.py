"""Building the statistics roll-ups (tracking.model.rollups): the sweep builds each past day that has none
and builds the last days again (late, back-dated scans change them); `flask stats rebuild` builds any range.
A day is deleted and written again in one transaction, so a reader sees it either before or after."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, literal, text
from sqlmodel import Session, select

from config import clock
from mailing.tables import Packet
from routing.reference import directory as load_directory
from tracking.model.rollups import BUILT, SNAPSHOT, Running, day_rows
from tracking.model.tables import Case, Evaluation, StatRollup

REBUILT_DAYS = 7   # the days before today built again on every sweep
CHUNK_DAYS = 31    # the days built per transaction
KEYS = ("area", "figure", "k1", "k2", "k3", "k4", "k5")


def _lock(session: Session) -> None:
    """One builder at a time (sweeps on several workers): else two could both delete a day's rows, then
    both write them, and the day would count twice. SQLite's writers are one at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(2017001)"))


def _month_end(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)


def first_day(session: Session) -> date | None:
    """The first day with anything to count (a packet's clock may run a little ahead of its case's)."""
    found = [session.exec(select(func.min(Case.intake_date))).one()]
    found += [session.exec(select(func.min(column))).one() for column in (Packet.dispatched_at, Evaluation.at)]
    days = [d if isinstance(d, date) and not isinstance(d, datetime) else clock.beijing_date(d)
            for d in found if d is not None]
    return min(days) - timedelta(days=1) if days else None


def build(session: Session, since: date, until: date, checkpoint: Callable[[], None] = lambda: None) -> int:
    """Writes the roll-ups of the days from `since` to `until` (both included) afresh, a month at most per
    transaction, then the months they complete again from their days. Returns the days built."""
    directory = load_directory(session)
    built, months = 0, set()
    day = since
    while day <= until:
        last = min(until, day + timedelta(days=CHUNK_DAYS - 1))
        _lock(session)
        session.execute(delete(StatRollup).where(StatRollup.span == "d", StatRollup.day >= day,
                                                 StatRollup.day <= last))
        rows = list(day_rows(session, directory, day, last))
        n = (last - day).days + 1
        rows += [dict(span="d", day=day + timedelta(days=i), area="", figure=BUILT, k1="", k2="", k3="", k4="",
                      k5="", n=0, total=0) for i in range(n)]
        for start in range(0, len(rows), 5000):
            session.execute(insert(StatRollup), rows[start:start + 5000])
        months |= {(day + timedelta(days=i)).replace(day=1) for i in range(n)}
        built += n
        checkpoint()
        day = last + timedelta(days=1)
    for month in sorted(months):
        _build_month(session, month)
        checkpoint()
    _build_snapshots(session, since, checkpoint)
    if session.get_bind().dialect.name == "postgresql":
        # the snapshots are read by (figure, span, area, k2, day): without fresh statistics the planner may
        # filter a whole figure's rows instead (autovacuum may be off, or not have run yet)
        session.execute(text("ANALYZE statrollup"))
    return built


def _build_snapshots(session: Session, since: date, checkpoint: Callable[[], None] = lambda: None) -> None:
    """Writes the snapshots (span SNAPSHOT) again from `since` to the end of the run of built days that starts
    at the first built day: each is the one before plus its day's rows. A day after a gap in the built days
    has none (the period is then read from the months and days, as without snapshots)."""
    _lock(session)
    built = sorted(set(session.exec(select(StatRollup.day).where(
        StatRollup.span == "d", StatRollup.figure == BUILT, StatRollup.area == "")).all()))
    if not built:
        session.execute(delete(StatRollup).where(StatRollup.span == SNAPSHOT))
        return
    first, last = built[0], built[0]
    for day in built[1:]:
        if day != last + timedelta(days=1):
            break
        last = day
    previous = session.exec(select(func.min(StatRollup.day)).where(
        StatRollup.span == SNAPSHOT, StatRollup.figure == BUILT, StatRollup.area == "")).one()
    start = max(since, first)
    before = start - timedelta(days=1)
    running = Running()
    if start > first:
        stored = session.exec(select(StatRollup.figure, StatRollup.k2, StatRollup.hist).where(
            StatRollup.span == SNAPSHOT, StatRollup.area == "", StatRollup.day == before)).all()
        if previous != first or not any(figure == BUILT for figure, _, _ in stored):
            start, running = first, Running()  # the snapshots before start are missing or from another first day
        else:
            for figure, group, hist in stored:
                if figure != BUILT:
                    running.load(figure, group, hist)
    session.execute(delete(StatRollup).where(StatRollup.span == SNAPSHOT,
                                             (StatRollup.day >= start) | (StatRollup.day < first)))
    if start > last:
        return
    columns = [StatRollup.day, StatRollup.figure, *(getattr(StatRollup, f"k{i}") for i in range(1, 6)),
               StatRollup.n, StatRollup.total]
    day = start
    while day <= last:
        _lock(session)  # again after each checkpoint's commit
        chunk = min(last, day + timedelta(days=CHUNK_DAYS - 1))
        by_day: dict[date, list] = {}
        for row in session.execute(select(*columns).where(
                StatRollup.span == "d", StatRollup.area == "", StatRollup.figure != BUILT,
                StatRollup.day >= day, StatRollup.day <= chunk)).mappings().all():
            by_day.setdefault(row["day"], []).append(row)
        while day <= chunk:
            for row in by_day.get(day, ()):
                running.add(row)
            rows = running.rows(day) + [dict(span=SNAPSHOT, day=day, area="", figure=BUILT, k1="", k2="",
                                             k3="", k4="", k5="", n=0, total=0, hist="")]
            session.execute(StatRollup.__table__.insert(), rows)  # Core: some hundred rows a day
            day += timedelta(days=1)
        checkpoint()


def _build_month(session: Session, first: date) -> None:
    """A month's rows are the sums of its days' rows, once every day of it is built (else none)."""
    last = _month_end(first)
    _lock(session)
    session.execute(delete(StatRollup).where(StatRollup.span == "m", StatRollup.day == first))
    days = session.exec(select(func.count()).where(StatRollup.span == "d", StatRollup.figure == BUILT,
                                                   StatRollup.area == "", StatRollup.day >= first,
                                                   StatRollup.day <= last)).one()
    if days < (last - first).days + 1:
        return
    keys = [getattr(StatRollup, k) for k in KEYS]
    sums = (select(literal("m"), literal(first), *keys, func.sum(StatRollup.n), func.sum(StatRollup.total))
            .where(StatRollup.span == "d", StatRollup.day >= first, StatRollup.day <= last,
                   StatRollup.figure != BUILT)
            .group_by(*keys))
    session.execute(insert(StatRollup).from_select(["span", "day", *KEYS, "n", "total"], sums))
    session.add(StatRollup(span="m", day=first, area="", figure=BUILT))
    session.flush()


def sweep_rollups(session: Session, today: date, checkpoint: Callable[[], None]) -> int:
    """Builds every day before `today` that has no roll-up yet, and the last REBUILT_DAYS days again.
    Returns the days built for the first time (a second sweep on the same day builds none)."""
    start = first_day(session)
    checkpoint()
    if start is None or start >= today:
        return 0
    yesterday = today - timedelta(days=1)
    have = set(session.exec(select(StatRollup.day).where(StatRollup.span == "d", StatRollup.figure == BUILT,
                                                         StatRollup.area == "", StatRollup.day >= start,
                                                         StatRollup.day <= yesterday)).all())
    missing = [start + timedelta(days=i) for i in range((yesterday - start).days + 1)]
    missing = [d for d in missing if d not in have]
    recent = max(start, today - timedelta(days=REBUILT_DAYS))
    wanted = sorted(set(missing) | {recent + timedelta(days=i) for i in range((yesterday - recent).days + 1)})
    # contiguous runs, each built in one go
    run: list[date] = []
    for d in wanted + [None]:
        if run and (d is None or d != run[-1] + timedelta(days=1)):
            build(session, run[0], run[-1], checkpoint)
            run = []
        if d is not None:
            run.append(d)
    return len(missing)
