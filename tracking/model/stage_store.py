"""Stored stage deadlines: what the pure functions in `deadlines` say about a case's open stages, kept on the
case in indexed columns so that desks, the overdue board and the sweep read pages of cases, not every case.

Kept in the same transaction as the change: every Case or Packet the session flushes marks its case, and
before the commit the marked cases' columns are derived again from their rows (one query for their packets).
Code that writes with Core statements (not the unit of work) marks its cases with `refresh_cases`.
`rebuild` derives every case again (`flask --app app deadlines rebuild`); `check` lists disagreements.

The stored values do not depend on the day: a stage's due date is fixed by what happened, and "overdue as
of a day" is the indexed comparison `open_stage_due < day`.
"""
from __future__ import annotations

from datetime import date
from typing import Iterable

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session as OrmSession

from config.database import settings_of
from mailing.tables import Packet
from routing.calendars import work_calendar
from routing.reference import matters
from routing.tables import Matter
from tracking.model.deadlines import (ACTIVE, CASE_FIELDS, ENDED, STAGES, STEP_FIELDS, Limits, Stage, case_deadlines,
                                      packets_by_case)
from tracking.model.tables import Case

COLUMNS = tuple(f"open_due_{stage}" for stage in STAGES) + ("open_stage", "open_stage_due", "open_stage_office")
_MARKED = "stage_store.cases"
_MIGRATING = "stage_store.migrating"
_ACTIVE = set(ACTIVE)


def open_stages(status: str, stages: Iterable[Stage]) -> list[Stage]:
    """The stages someone still has to act on: started (a due date), not done, not closed by the law, in a
    case that is neither finished nor ended early."""
    if status not in _ACTIVE or status in ENDED:
        return []
    return [s for s in stages if s.due is not None and s.done_at is None and not s.missed]


def open_stage_of(stages: Iterable[Stage], status: str | None = None) -> tuple[str, date, str] | None:
    """The open stage due first (the earlier in the process on a tie): (stage, due, office)."""
    found = open_stages(status, stages) if status is not None else \
        [s for s in stages if s.due is not None and s.done_at is None and not s.missed]
    if not found:
        return None
    first = min(found, key=lambda s: (s.due, STAGES.index(s.stage)))
    return first.stage, first.due, first.office_code


def stored_values(status: str, stages: list[Stage]) -> dict:
    """The stored columns for a case in `status` with these stages."""
    open_ = open_stages(status, stages)
    values = {f"open_due_{stage}": None for stage in STAGES}
    values.update({f"open_due_{s.stage}": s.due for s in open_})
    first = open_stage_of(open_) if open_ else None
    values.update(open_stage=first[0] if first else None, open_stage_due=first[1] if first else None,
                  open_stage_office=first[2] if first else None)
    return values


class Deriver:
    """What deriving many cases needs once: the calendar, the limits, the matters' promised days."""

    def __init__(self, session, settings=None):
        self.cal = work_calendar(session)
        self.limits = Limits.from_settings(settings) if settings is not None else Limits()
        if session.info.get(_MIGRATING):  # the schema of that migration: only the columns it had
            self.promised = dict(session.execute(select(Matter.code, Matter.promised_days)).all())
        else:  # the process's copy of the matters (routing.reference)
            self.promised = {code: m.promised_days for code, m in matters(session).items()}

    def values(self, case, packets) -> dict:
        # `today` only decides the overdue flags, which the stored columns leave out
        stages = case_deadlines(case, packets, self.cal, self.limits, self.promised.get(case.matter_code, 0),
                                date.min)
        return stored_values(case.status, stages)


def _case_fields(session) -> tuple:
    """The columns the stages read: without a joint case's own while the migration that stored them runs."""
    return CASE_FIELDS if session.info.get(_MIGRATING) else (*CASE_FIELDS, *STEP_FIELDS)


# -- kept by every transaction ----------------------------------------------------------------------

def refresh_cases(session, case_ids: Iterable[int]) -> None:
    """Marks cases whose rows were changed without the unit of work: derived again before the commit."""
    session.info.setdefault(_MARKED, set()).update(i for i in case_ids if i is not None)


def derived(session, case_ids: Iterable[int]) -> None:
    """Cases whose columns the caller has just set with `Deriver.values` from their rows as flushed (a
    scanner's batch): not derived again before the commit, unless a later flush changes them again."""
    marked = session.info.get(_MARKED)
    if marked:
        marked.difference_update(case_ids)


@event.listens_for(OrmSession, "after_flush")
def _mark(session, _flush_context) -> None:
    marked = session.info.setdefault(_MARKED, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Case):
            marked.add(obj.id)
        elif isinstance(obj, Packet):
            marked.add(obj.case_id)


@event.listens_for(OrmSession, "before_commit")
def _derive_marked(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer commit derives what it marked
    if session.new or session.dirty:
        session.flush()  # so that what this transaction changed is what the derivation reads
    marked = session.info.pop(_MARKED, None)
    if not marked:
        return
    marked.discard(None)
    with session.no_autoflush:
        derive(session, sorted(marked), settings_of(session.get_bind()))
    session.info.pop(_MARKED, None)  # the columns' own flush marks them again: nothing left to do


@event.listens_for(OrmSession, "after_rollback")
def _forget(session) -> None:
    session.info.pop(_MARKED, None)


def derive(session, case_ids: list[int], settings=None) -> int:
    """Derives these cases' stored columns from their rows; returns how many changed. Cases loaded in the
    session are updated in place (so they flush the new values), the others with one UPDATE each."""
    if not case_ids:
        return 0
    deriver = Deriver(session, settings)
    changed = 0
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start:start + 500]
        # the cases this session holds are read as they are (the unit of work's own values); the others
        # from their rows, only the columns the stages read
        loaded = {i: session.identity_map.get(session.identity_key(Case, i)) for i in chunk}
        loaded = {i: case for i, case in loaded.items() if case is not None}
        rows = [*loaded.values(), *session.execute(
            select(*_case_fields(session), *(getattr(Case, c) for c in COLUMNS))
            .where(Case.id.in_([i for i in chunk if i not in loaded]))).all()] if len(loaded) < len(chunk) \
            else list(loaded.values())
        packets = packets_by_case(session, chunk)
        for row in rows:
            loaded_case = loaded.get(row.id)
            case = loaded_case if loaded_case is not None else row
            values = deriver.values(case, packets[row.id])
            current = {c: getattr(case, c) for c in COLUMNS}
            if values == current:
                continue
            changed += 1
            if loaded_case is not None:
                for column, value in values.items():
                    setattr(loaded_case, column, value)
            else:
                session.execute(update(Case).where(Case.id == row.id).values(**values))
    if changed:
        session.flush()
    return changed


# -- derived again from scratch ---------------------------------------------------------------------

def rebuild(session, settings=None, *, batch: int = 2000, open_only: bool = False) -> int:
    """Derives every case's stored columns again (to repair), or with `open_only` those with an open stage
    (after a calendar change: only open stages' due dates are stored); returns how many changed. Walks the
    cases by id in batches, so memory stays bounded; the caller commits."""
    changed, after = 0, 0
    where = [Case.open_stage_due.is_not(None)] if open_only else []
    while True:
        ids = list(session.execute(select(Case.id).where(Case.id > after, *where).order_by(Case.id)
                                   .limit(batch)).scalars())
        if not ids:
            return changed
        changed += derive(session, ids, settings)
        after = ids[-1]


def check(session, settings=None, *, batch: int = 2000) -> list[tuple[str, dict, dict]]:
    """The cases whose stored columns disagree with the pure functions: (case_no, stored, derived)."""
    deriver = Deriver(session, settings)
    wrong, after = [], 0
    while True:
        rows = session.execute(select(*_case_fields(session), *(getattr(Case, c) for c in COLUMNS))
                               .where(Case.id > after).order_by(Case.id).limit(batch)).all()
        if not rows:
            return wrong
        packets = packets_by_case(session, [r.id for r in rows])
        for row in rows:
            derived = deriver.values(row, packets[row.id])
            stored = {c: getattr(row, c) for c in COLUMNS}
            if derived != stored:
                wrong.append((row.case_no, stored, derived))
        after = rows[-1].id


def rebuild_on(connection) -> int:
    """`rebuild` on a bare connection (the migration that adds the columns)."""
    from sqlmodel import Session
    with Session(bind=connection, info={_MIGRATING: True}) as session:
        changed = rebuild(session)
        session.flush()
    return changed
