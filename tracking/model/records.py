"""Writing history: every change of a case or packet is an event row in the same transaction."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from config import clock
from mailing.chain import link
from mailing.states import InvalidTransition
from routing.tables import Office
from tracking.model import states
from tracking.model.context import Actor
from tracking.model.errors import conflict
from tracking.model.states import CaseAction, CaseStatus
from tracking.model.tables import Case, CaseEvent, Evaluation, Notification


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
    ev = case_event(session, case, event or case.status, actor, at=at, data=data, client_txn=client_txn,
                    office_code=office_code)
    status_changed(session, case)
    return ev


# Who must hear of every change of a case's status and of its rating, in the change's transaction (the
# platforms' reports, tracking.federation.platforms): registered once per process by the app factory,
# like the chain key, so that the use cases need not know who listens.
_status_watchers: list[Callable[[Session, Case], None]] = []
_rating_watchers: list[Callable[[Session, Case, Evaluation], None]] = []


def watch(status: Callable[[Session, Case], None], rating: Callable[[Session, Case, Evaluation], None]) -> None:
    if status not in _status_watchers:
        _status_watchers.append(status)
    if rating not in _rating_watchers:
        _rating_watchers.append(rating)


def status_changed(session: Session, case: Case) -> None:
    """Called by `transition`, and by intake for a case's first status."""
    for watcher in _status_watchers:
        watcher(session, case)


def rating_changed(session: Session, case: Case, evaluation: Evaluation) -> None:
    """Called after the event that records a rating, its routing or its follow-up."""
    for watcher in _rating_watchers:
        watcher(session, case, evaluation)


# Stands in a stored text for the signed download link, which is made only when the message is sent:
# a notification row (and the log) never holds a working link, nor a check code.
DELIVERY_LINK = "〔下载链接〕"
# Stands in the first message to the applicant for the check code, unsealed only when it is sent
# (a case a peer handed over has none: the sentence that holds it is left out).
CHECK_CODE = "〔查询密码〕"


def channels(session: Session, case: Case, office_code: str | None) -> list[str]:
    """Who is reached how: the applicant by SMS (unless they opted out) and by email if they gave one, an
    office at its notify phone and mailbox; with none of these, the log keeps the record."""
    if office_code is None:
        found = ([] if case.sms_opt_out else ["sms"]) + (["email"] if case.email_sealed else [])
    else:
        office = session.get(Office, office_code)
        found = (["sms"] if office is not None and office.notify_phone else []) + \
                (["email"] if office is not None and office.notify_email else [])
    return found or ["log"]


def notify(session: Session, case: Case, text: str, *, office_code: str | None = None,
           result_file_id: int | None = None, milestone: str | None = None, params: dict | None = None) -> None:
    """Queues a message, one row per channel; with `result_file_id`, DELIVERY_LINK in `text` becomes that
    file's link when sent. `milestone` and `params` are the template it was made from (model.messages)."""
    now = clock.now()
    for channel in channels(session, case, office_code):
        session.add(Notification(case_id=case.id, audience="office" if office_code else "applicant",
                                 office_code=office_code, text=text, result_file_id=result_file_id,
                                 created_at=now, next_attempt_at=now, channel=channel, milestone=milestone,
                                 params=dict(params or {})))
