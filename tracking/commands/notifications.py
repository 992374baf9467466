"""The notifications outbox: rows written with each change, sent by a periodic task.

No SMS gateway is configured in this installation, so sending means writing to the log;
a gateway adapter is a `Transport` passed to `send_pending` without touching anything else.

A stored text never holds a secret: an electronic result's download link is made here, at send time,
from the row's reference to the file (see records.DELIVERY_LINK), and only the transport gets it.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlmodel import Session, select

from config import clock
from tracking.model.context import Env
from tracking.model.links import delivery_token
from tracking.model.records import DELIVERY_LINK
from tracking.model.tables import Notification, ResultFile

log = logging.getLogger("tongban.notifications")

Transport = Callable[[Notification, str], None]  # (the row, the text as the recipient reads it)


def log_transport(note: Notification, _message: str) -> None:
    # The log is read by more people than the recipient: it gets the stored text, link left out.
    log.info("notify %s %s case=%s: %s", note.audience, note.office_code or "", note.case_id, note.text)


def message(session: Session, env: Env, note: Notification) -> str:
    """The text as sent: with the result's signed link (the same token the tracking page makes) in place."""
    if note.result_file_id is None:
        return note.text
    created_at = session.exec(select(ResultFile.created_at).where(ResultFile.id == note.result_file_id)).one()
    token, _ = delivery_token(env.settings.secret_key, note.result_file_id, created_at,
                              env.settings.delivery_link_days)
    return note.text.replace(DELIVERY_LINK, env.addresses.delivery(token))


def send_pending(session: Session, env: Env, limit: int = 500, transport: Transport = log_transport) -> int:
    rows = session.exec(select(Notification).where(Notification.sent_at == None)  # noqa: E711
                        .order_by(Notification.id).limit(limit)).all()
    for note in rows:
        transport(note, message(session, env, note))
        note.sent_at = clock.now()
        session.add(note)
    return len(rows)
