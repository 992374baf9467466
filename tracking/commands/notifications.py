"""The notifications outbox: rows written with each change (records.notify), claimed and sent by workers.

Each row is one message on one channel (sms, email, or the log when nobody is to be reached). Sending
follows the federation outbox's pattern (tracking/federation/outbox.py): a worker claims one row at a
time by a conditional update, committed before it talks to the SMS gateway or the SMTP server, so that
two workers never send one message twice; on PostgreSQL the candidate row is also taken `FOR UPDATE SKIP
LOCKED`, so workers pass each other instead of queueing. A failure waits (backoff, doubled each time,
capped) and goes again, up to `message_max_tries`, then the row is dead until replayed from the CLI; a
refusal that will not change (a bad number, a refused address) is dead at once. A worker that dies
mid-send leaves a claim that expires: that one message may then go twice, never more.

A stored text never holds a secret: an electronic result's download link and the applicant's check code
are put in here, at send time (see records.DELIVERY_LINK and records.CHECK_CODE), and only the
transport gets them; the log gets the stored text.

SMS to one phone are limited per hour (`sms_per_phone_per_hour`): a message over the limit waits until
the hour has room, without counting as a failed try.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from config import claims, clock
from config.settings import Settings
from routing.tables import Office
from tracking.messages import Outgoing, SendError, Transport, log_transport as log_outgoing
from tracking.messages import transports as configured_transports
from tracking.model import identity
from tracking.model.context import Env
from tracking.model.links import link_expiry, make_token
from tracking.model.messages import MILESTONES
from tracking.model.records import CHECK_CODE, DELIVERY_LINK
from tracking.model.tables import Case, Notification, ResultFile

log = logging.getLogger("tongban.notifications")

STATUSES = ("pending", "sent", "dead")
STATUS_TITLES = {"pending": "待发送", "sent": "已发送", "dead": "已停止重试"}
CHANNEL_TITLES = {"sms": "短信", "email": "电子邮件", "log": "仅记录"}
ERROR_CHARS = 500
# the sentence of the first message that holds the check code, left out where the case has none
_CODE_SENTENCE = re.compile("查询密码" + re.escape(CHECK_CODE) + "[^。]*。")

LegacyTransport = Callable[[Notification, str], None]  # (the row, the text as the recipient reads it)
Checkpoint = Callable[[], None]  # the caller's commit


def log_transport(note: Notification, _message: str) -> None:
    # The log is read by more people than the recipient: it gets the stored text, link left out.
    log.info("notify %s %s case=%s: %s", note.audience, note.office_code or "", note.case_id, note.text)


def message(session: Session, env: Env, note: Notification, check_code: str | None = None) -> str:
    """The text as sent: with the result's signed link (the same token the tracking page makes) and the
    check code in place (given, or unsealed from the case; a case without one loses that sentence)."""
    text = note.text
    if note.result_file_id is not None:
        created_at, expires_at = session.exec(select(ResultFile.created_at, ResultFile.link_expires_at)
                                              .where(ResultFile.id == note.result_file_id)).one()
        # the result's current link: a message sent after the window re-issued it carries the new one
        token = make_token(env.settings.secret_key, note.result_file_id,
                           link_expiry(created_at, expires_at, env.settings.delivery_link_days))
        text = text.replace(DELIVERY_LINK, env.addresses.delivery(token))
    if CHECK_CODE in text:
        code = check_code if check_code is not None else _check_code(session, env, note)
        text = text.replace(CHECK_CODE, code) if code else _CODE_SENTENCE.sub("", text)
    return text


def _check_code(session: Session, env: Env, note: Notification) -> str:
    sealed = session.exec(select(Case.check_code_sealed).where(Case.id == note.case_id)).one()
    return env.sealer.open(sealed) if sealed else ""


def recipient(session: Session, env: Env, note: Notification) -> str:
    """Where the row goes: the applicant's mobile (an organisation's own if it is one, else its agent's) or
    email, the office's notify phone or mailbox; "" for the log, or when there is no such address."""
    if note.channel == "log":
        return ""
    if note.audience == "office":
        office = session.get(Office, note.office_code) if note.office_code else None
        if office is None:
            return ""
        return office.notify_phone if note.channel == "sms" else office.notify_email
    case = session.get(Case, note.case_id)
    if note.channel == "email":
        return env.sealer.open(case.email_sealed) if case.email_sealed else ""
    applicant = env.sealer.open(case.applicant_sealed) or {}
    for phone in (applicant.get("phone"), (applicant.get("agent") or {}).get("phone")):
        if phone and identity.is_valid_mobile(phone):
            return phone
    return ""


def outgoing(session: Session, env: Env, note: Notification, to: str) -> Outgoing:
    case_no = session.exec(select(Case.case_no).where(Case.id == note.case_id)).one()
    code = _check_code(session, env, note) if CHECK_CODE in note.text else None
    params = dict(note.params or {})
    if code:
        params["check_code"] = code
    title = MILESTONES[note.milestone].title if note.milestone in MILESTONES else "办件通知"
    return Outgoing(channel=note.channel, to=to, text=message(session, env, note, code), stored=note.text,
                    subject=f"【{env.settings.sms_sign_name}】办件{case_no}：{title}", milestone=note.milestone,
                    params=params, reference=f"notification-{note.id}")


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: the base delay doubled each time, capped."""
    return claims.backoff(settings.message_retry_seconds, settings.message_retry_max_seconds, attempts)


def _release(session: Session, note: Notification, worker_id: str, **values) -> bool:
    """Records the outcome, if the claim is still this worker's (else another worker holds it now)."""
    return claims.settle(session, Notification, note.id, worker_id, **values)


def _over_limit(session: Session, settings: Settings, phone_hash: str, now: datetime) -> datetime | None:
    """When the phone's hour has room again, if it has none now."""
    limit = settings.sms_per_phone_per_hour
    if limit <= 0:
        return None
    since = now - timedelta(hours=1)
    sent = session.exec(select(Notification.sent_at).where(
        Notification.channel == "sms", Notification.recipient_hash == phone_hash, Notification.status == "sent",
        Notification.sent_at > since).order_by(Notification.sent_at.desc()).limit(limit)).all()
    if len(sent) < limit:
        return None
    return min(sent) + timedelta(hours=1)


def send_due(session: Session, env: Env, transports: dict[str, Transport], worker_id: str,
             checkpoint: Checkpoint = lambda: None, *, limit: int = 500, now: datetime | None = None) -> dict[str, int]:
    """Sends the messages due, one at a time: claim (committed), send with no transaction open, record the
    outcome (committed). Answers {"sent", "retried", "dead", "deferred"}."""
    settings = env.settings
    done = {"sent": 0, "retried": 0, "dead": 0, "deferred": 0}
    lease = timedelta(seconds=settings.message_timeout_seconds * 3 + 60)
    # this run sends each message at most once, however short the backoff: it walks the ids upwards (a
    # row that falls due behind it goes in the next run)
    last, tried = None, 0
    while tried < limit:
        at = now or clock.now()
        note = claims.claim_next(session, Notification, worker_id, at, lease, set(), order=(Notification.id,),
                                 after=last)
        checkpoint()
        if note is None:
            break
        last, tried = note.id, tried + 1
        to = recipient(session, env, note)
        if note.channel != "log" and not to:
            what = "手机号码" if note.channel == "sms" else "电子邮箱"
            if _release(session, note, worker_id, status="dead", attempts=note.attempts + 1,
                        last_error=f"没有可用的{what}，无法发送。"):
                done["dead"] += 1
            checkpoint()
            continue
        phone_hash = env.sealer.lookup_hash(to) if note.channel == "sms" else None
        wait = _over_limit(session, settings, phone_hash, at) if phone_hash else None
        if wait is not None:
            if _release(session, note, worker_id, next_attempt_at=wait,
                        last_error=f"该手机号码每小时最多发送{settings.sms_per_phone_per_hour}条短信，稍后发送。"):
                done["deferred"] += 1
            checkpoint()
            continue
        out = outgoing(session, env, note, to)
        checkpoint()  # nothing held while the counterpart answers
        error, permanent = None, False
        try:
            transports.get(note.channel, log_outgoing)(out)
        except SendError as e:
            error, permanent = str(e)[:ERROR_CHARS], e.permanent
        except Exception as e:  # noqa: BLE001 (whatever the network does, the message waits and goes again)
            error = f"{type(e).__name__}: {e}"[:ERROR_CHARS]
        at = now or clock.now()
        attempts = note.attempts + 1
        if error is None:
            values, outcome = {"status": "sent", "sent_at": at, "last_error": None, "recipient_hash": phone_hash}, "sent"
        elif permanent or attempts >= settings.message_max_tries:
            values, outcome = {"status": "dead", "last_error": error}, "dead"
        else:
            values, outcome = {"next_attempt_at": at + backoff(settings, attempts), "last_error": error}, "retried"
        if _release(session, note, worker_id, attempts=attempts, **values):
            done[outcome] += 1
        checkpoint()
    return done


def send_pending(session: Session, env: Env, limit: int = 500, transport: LegacyTransport | None = None, *,
                 transports: dict[str, Transport] | None = None, worker_id: str = "inline",
                 checkpoint: Checkpoint = lambda: None) -> int:
    """Sends what is due through the configured transports (or `transport` for every channel) and
    answers how many went out. Without `checkpoint` it all happens in the caller's transaction."""
    if transport is not None:
        def every(out: Outgoing) -> str:  # a transport of the row and its text, for every channel
            note = session.get(Notification, int(out.reference.rsplit("-", 1)[1]))
            transport(note, out.text)
            return ""
        chosen = {channel: every for channel in ("sms", "email", "log")}
    else:
        chosen = transports or configured_transports(env.settings)
    return send_due(session, env, chosen, worker_id, checkpoint, limit=limit)["sent"]


def replay(session: Session, ids: Iterable[int] = (), *, dead: bool = False) -> dict[str, list[int]]:
    """Sends again, now: the named messages (dead or waiting) or, with `dead`, every dead one. A dead one
    starts its tries afresh. Answers {"replayed": [...], "sent_already": [...], "unknown": [...]}."""
    now = clock.now()
    wanted = list(dict.fromkeys(int(i) for i in ids))
    query = select(Notification).with_for_update()
    query = query.where(Notification.status == "dead") if dead else query.where(Notification.id.in_(wanted))
    rows = {row.id: row for row in session.exec(query.order_by(Notification.id))}
    result: dict[str, list[int]] = {"replayed": [], "sent_already": [], "unknown": [i for i in wanted if i not in rows]}
    for note_id, row in rows.items():
        if row.status == "sent":
            result["sent_already"].append(note_id)
            continue
        if row.status == "dead":
            row.attempts = 0
        row.status, row.next_attempt_at, row.claimed_by, row.claimed_until = "pending", now, None, None
        session.add(row)
        result["replayed"].append(note_id)
    return result


def unsent(session: Session, *, dead_only: bool = False, limit: int = 500) -> list[Notification]:
    """Messages waiting or dead (only dead with `dead_only`), oldest first."""
    query = select(Notification).where(Notification.status == "dead" if dead_only else Notification.status != "sent")
    return list(session.exec(query.order_by(Notification.created_at, Notification.id).limit(limit)))


def counts(session: Session) -> dict[tuple[str, str], int]:
    """(status, channel) → how many messages."""
    return {(status, channel): int(n) for status, channel, n in session.exec(
        select(Notification.status, Notification.channel, func.count()).group_by(Notification.status,
                                                                                  Notification.channel))}
