"""Due dates that depend on the calendar: recomputed when a newly published year is loaded."""
from __future__ import annotations

from sqlmodel import Session, select

from tracking.actions import recompute_due_date
from tracking.tables import Case


def recompute_provisional(session: Session) -> int:
    """Cases whose due date was counted Monday to Friday get it counted on the official calendar."""
    changed = 0
    for case in session.exec(select(Case).where(Case.due_date_provisional == True)):  # noqa: E712
        before = (case.due_date, case.due_date_provisional)
        recompute_due_date(session, case)
        changed += before != (case.due_date, case.due_date_provisional)
    return changed
