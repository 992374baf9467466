"""The notifications outbox: rows written with each change, sent by a periodic task.

No SMS gateway is configured in this installation, so sending means writing to the log;
a gateway adapter replaces `_deliver` without touching anything else.
"""
from __future__ import annotations

import logging

from sqlmodel import Session, select

from config import clock
from tracking.model.tables import Notification

log = logging.getLogger("tongban.notifications")


def _deliver(note: Notification) -> None:
    log.info("notify %s %s case=%s: %s", note.audience, note.office_code or "", note.case_id, note.text)


def send_pending(session: Session, limit: int = 500) -> int:
    rows = session.exec(select(Notification).where(Notification.sent_at == None)  # noqa: E711
                        .order_by(Notification.id).limit(limit)).all()
    for note in rows:
        _deliver(note)
        note.sent_at = clock.now()
        session.add(note)
    return len(rows)
