"""Writing history: every change of a case or packet is an event row in the same transaction."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from config import clock
from mailing.chain import link
from mailing.states import InvalidTransition
from tracking.model import states
from tracking.model.context import Actor
from tracking.model.errors import conflict
from tracking.model.states import CaseAction, CaseStatus
from tracking.model.tables import Case, CaseEvent, Notification


def case_event(session: Session, case: Case, type_: str, actor: Actor, *, at: datetime | None = None,
               data: dict | None = None, client_txn: str | None = None, office_code: str | None = None) -> CaseEvent:
    ev = CaseEvent(case_id=case.id, type=type_, status_after=case.status, actor=actor.username, role=actor.role,
                   office_code=office_code or actor.office_code, at=at or clock.now(), recorded_at=clock.now(),
                   client_txn=client_txn or actor.txn, data=data or {})
    case.last_hash = link(ev, case.last_hash)
    session.add(ev)
    session.add(case)
    return ev


def transition(session: Session, case: Case, action: CaseAction, actor: Actor, *, event: str | None = None,
               at: datetime | None = None, data: dict | None = None, client_txn: str | None = None,
               office_code: str | None = None, message: str | None = None) -> CaseEvent:
    """Applies `action` to the case and records it, or refuses with 409."""
    try:
        case.status = states.apply(CaseStatus(case.status), action).value
    except InvalidTransition:
        raise conflict(message=message or f"办件当前状态为“{CaseStatus(case.status).title}”，不能进行此操作。",
                       status=case.status) from None
    return case_event(session, case, event or case.status, actor, at=at, data=data, client_txn=client_txn,
                      office_code=office_code)


# Stands in a stored text for the signed download link, which is made only when the message is sent:
# a notification row (and the log) never holds a working link, nor a check code.
DELIVERY_LINK = "〔下载链接〕"


def notify(session: Session, case: Case, text: str, *, office_code: str | None = None,
           result_file_id: int | None = None) -> None:
    """Queues a message; with `result_file_id`, DELIVERY_LINK in `text` becomes that file's link when sent."""
    session.add(Notification(case_id=case.id, audience="office" if office_code else "applicant",
                             office_code=office_code, text=text, result_file_id=result_file_id,
                             created_at=clock.now()))
