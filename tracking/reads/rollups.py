"""Reading the statistics roll-ups (tracking.model.rollups): which days of a period have them, and a
figure's groups summed over those days (whole months from the month rows, the rest from the day rows).
The days without a roll-up are the caller's to read live, so that a period's figures are always complete."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, union_all
from sqlmodel import Session, select

from tracking.model.context import Actor
from tracking.model.rollups import BUILT, SNAPSHOT, decode_stages
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
    # the days from the period's first through `to` read as the snapshot of `to` less the snapshot of `less`
    # (None: nothing to take off, the period starts with the snapshots)
    snapshots: tuple[date | None, date] | None = None

    @property
    def any(self) -> bool:
        return bool(self.months or self.days or self.snapshots)


def coverage(session: Session, since: date, until: date) -> Coverage:
    """Which days of the period are read from snapshots, months or days, and which live; asked once per
    transaction for a period (a page asks for each of its figures)."""
    session.connection()  # begins the transaction the answer belongs to
    transaction = session.get_transaction()
    memo = session.info.get("rollup_coverage")
    if memo is None or memo[0] is not transaction:
        memo = session.info["rollup_coverage"] = (transaction, {})
    if (since, until) not in memo[1]:
        memo[1][since, until] = _covered_by_snapshots(session, since, until)
    return memo[1][since, until]


def _covered_by_snapshots(session: Session, since: date, until: date) -> Coverage:
    first, last = session.exec(select(func.min(StatRollup.day), func.max(StatRollup.day)).where(
        StatRollup.span == SNAPSHOT, StatRollup.figure == BUILT, StatRollup.area == "")).one()
    if first is not None and first <= since <= last:
        # the snapshots are written for a run of consecutive days from their first one
        rest = _coverage(session, last + timedelta(days=1), until) if until > last else Coverage()
        rest.snapshots = (since - timedelta(days=1) if since > first else None, min(until, last))
        return rest
    return _coverage(session, since, until)


def _coverage(session: Session, since: date, until: date) -> Coverage:
    markers = session.exec(select(StatRollup.span, StatRollup.day).where(
        StatRollup.figure == BUILT, StatRollup.area == "", StatRollup.span.in_(("m", "d")),
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


def _snapshot_days(cover: Coverage) -> tuple[date | None, list[date]]:
    less, to = cover.snapshots
    return less, [to] if less is None else [to, less]


def snapshot_sums(session: Session, figure: str, area: str, cover: Coverage) -> dict[str, list[int]]:
    """{keys joined by a tab: [n, total]} of a figure over the snapshots' days (the later snapshot less the
    earlier one; the groups that had nothing in between left out)."""
    if cover.snapshots is None:
        return {}
    less, days = _snapshot_days(cover)
    docs = dict(session.exec(select(StatRollup.day, StatRollup.hist).where(
        StatRollup.figure == figure, StatRollup.span == SNAPSHOT, StatRollup.area == area,
        StatRollup.day.in_(days))).all())
    found = json.loads(docs[days[0]]) if days[0] in docs else {}
    if less is None or less not in docs:
        return found
    for keys, (n, total) in json.loads(docs[less]).items():
        g = found[keys]  # a running sum never loses a group
        g[0], g[1] = g[0] - n, g[1] - total
    return {keys: g for keys, g in found.items() if g[0] or g[1]}


def snapshot_stages(session: Session, figure: str, area: str, cover: Coverage,
                    groups: list[str] | None = None) -> dict[str, dict[str, dict[int, int]]]:
    """{group: {stage: {bucket: n}}} of a stage figure over the snapshots' days; with `groups`, only those
    (an office, a matter: each its own index range), else every group. Empty buckets left out."""
    if cover.snapshots is None:
        return {}
    less, days = _snapshot_days(cover)
    only = [StatRollup.k2.in_(groups)] if groups is not None else []
    found: dict[str, dict[str, dict[int, int]]] = {}
    earlier = []
    for day, group, hist in session.exec(select(StatRollup.day, StatRollup.k2, StatRollup.hist).where(
            StatRollup.figure == figure, StatRollup.span == SNAPSHOT, StatRollup.area == area, *only,
            StatRollup.day.in_(days))):
        if day == less:
            earlier.append((group, hist))
        else:
            found[group] = decode_stages(hist)
    for group, hist in earlier:
        for stage, counts in decode_stages(hist).items():
            by_bucket = found[group][stage]
            for bucket, n in counts.items():
                by_bucket[bucket] -= n
    return {group: {stage: {b: n for b, n in counts.items() if n} for stage, counts in stages.items()}
            for group, stages in found.items()}


def sums(session: Session, figure: str, area: str, cover: Coverage, keys: int) -> list[tuple]:
    """(k1 .. k`keys`, n, total) of a figure over the covered snapshots, months and days, the groups added
    up."""
    found = snapshot_sums(session, figure, area, cover)
    for row in _sums(session, figure, area, cover, keys):
        g = found.setdefault("\t".join(row[:keys]), [0, 0])
        g[0], g[1] = g[0] + row[keys], g[1] + row[keys + 1]
    if keys == 0:
        # one row, of nothing too
        return [tuple(found.get("", [0, 0]))]
    return [(*k.split("\t"), n, total) for k, (n, total) in found.items()]


def _sums(session: Session, figure: str, area: str, cover: Coverage, keys: int) -> list[tuple]:
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
