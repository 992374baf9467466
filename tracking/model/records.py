"""Writing history: every change of a case or packet is an event row in the same transaction."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from config import clock
from config.database import insert_rows
from mailing.chain import event_hash, link
from mailing.states import InvalidTransition
from routing.tables import Office
from tracking.model import states
from tracking.model.context import Actor
from tracking.model.errors import conflict
from tracking.model.states import CaseAction, CaseStatus
from tracking.model.tables import Case, CaseEvent, Evaluation, Notification


def case_event(session: Session, case: Case, type_: str, actor: Actor, *, at: datetime | None = None,
               data: dict | None = None, client_txn: str | None = None,
               office_code: str | None = None) -> CaseEvent | None:
    """Records an event of the case, chained after its last; None while a Bulk collects the rows."""
    values = dict(case_id=case.id, type=type_, status_after=case.status, actor=actor.username, role=actor.role,
                  office_code=office_code or actor.office_code, at=at or clock.now(), recorded_at=clock.now(),
                  client_txn=client_txn or actor.txn, data=data or {})
    bulk = session.info.get(BULK)
    if bulk is not None:  # hashed over the same fields as link() reads off the model
        values["prev_hash"] = case.last_hash
        values["hash"] = case.last_hash = event_hash(values["prev_hash"], values)
        bulk.case_events.append(values)
        return None
    ev = CaseEvent(**values)
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
        phone, email = _office_contacts(session, office_code)
        found = (["sms"] if phone else []) + (["email"] if email else [])
    return found or ["log"]


def _office_contacts(session: Session, office_code: str) -> tuple[str | None, str | None]:
    bulk = session.info.get(BULK)
    if bulk is not None and office_code in bulk.offices:
        return bulk.offices[office_code]
    with session.no_autoflush:  # a batch's pending rows need not be flushed to read an office
        office = session.get(Office, office_code)
    found = (office.notify_phone, office.notify_email) if office is not None else (None, None)
    if bulk is not None:
        bulk.offices[office_code] = found
    return found


mirrored = False  # set by the module that reads INSERTED_EVENTS (tracking.federation.cases) when imported
BULK = "records.bulk"  # session.info: a Bulk that collects rows instead of the unit of work (see Bulk)
INSERTED_EVENTS = "records.inserted_events"
"""session.info: event rows written with a Core insert, as (model, dict), which the unit of work never saw
(the federation mirror reads them beside the session's new objects)."""


class Bulk:
    """Rows a scanner's batch writes together at its end with one executemany each, instead of an ORM object
    apiece (tracking.commands.custody): the notifications queued, and the offices' contacts read once."""

    def __init__(self):
        self.case_events: list[dict] = []
        self.notifications: list[dict] = []
        self.offices: dict[str, tuple[str | None, str | None]] = {}

    def write(self, session: Session) -> None:
        """Inserts what was collected, after the caller flushed the rest; then the caller calls `inserted`."""
        insert_rows(session, CaseEvent.__table__, self.case_events)
        insert_rows(session, Notification.__table__, self.notifications)

    def inserted(self, session: Session, model, rows: list[dict]) -> None:
        """Lists event rows written past the unit of work (INSERTED_EVENTS), its own case events included,
        when a mirror reads them (else a long session would hold them all)."""
        if not mirrored:
            return
        found = session.info.setdefault(INSERTED_EVENTS, [])
        found.extend((CaseEvent, values) for values in self.case_events)
        found.extend((model, values) for values in rows)


def notify(session: Session, case: Case, text: str, *, office_code: str | None = None,
           result_file_id: int | None = None, milestone: str | None = None, params: dict | None = None) -> None:
    """Queues a message, one row per channel; with `result_file_id`, DELIVERY_LINK in `text` becomes that
    file's link when sent. `milestone` and `params` are the template it was made from (model.messages)."""
    now = clock.now()
    bulk = session.info.get(BULK)
    for channel in channels(session, case, office_code):
        values = dict(case_id=case.id, audience="office" if office_code else "applicant", office_code=office_code,
                      text=text, result_file_id=result_file_id, created_at=now, next_attempt_at=now,
                      channel=channel, milestone=milestone, params=dict(params or {}))
        if bulk is not None:
            bulk.notifications.append(values | _NOTIFICATION_DEFAULTS)
        else:
            session.add(Notification(**values))


_NOTIFICATION_DEFAULTS = {"status": "pending", "attempts": 0}
