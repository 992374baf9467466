"""The federation outbox: every message to a peer or a platform is a row written in the same transaction
as the change it tells of, then sent by `send_due` (a periodic task) with retries and a dead letter.

Claims are conditional updates, one message at a time, committed before the POST: two workers never
hold one message at once (on PostgreSQL the candidate row is also taken `FOR UPDATE SKIP LOCKED`, so
workers pass each other instead of queueing). A claim lasts longer than a POST may take; a worker that
died mid-send leaves a claim that expires, and the message is sent again with the same message id,
which receivers treat as a repeat.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, Column, Index, func
from sqlalchemy import case as when
from sqlmodel import Field, Session, SQLModel, select

from config import claims, clock
from config.database import utc_column
from config.settings import Settings
from tracking.federation import envelope, webhooks

KINDS = ("peer", "platform")
STATUSES = ("pending", "sent", "dead")
STATUS_TITLES = {"pending": "待发送", "sent": "已送达", "dead": "已停止重试"}
ERROR_CHARS = 500  # of an answer's text kept in last_error

Transport = Callable[[str, bytes, dict], tuple[int, str]]  # (url, body, headers) -> (status, text)
Checkpoint = Callable[[], None]  # the caller's commit


class OutboxMessage(SQLModel, table=True):
    __table_args__ = (CheckConstraint("status IN ('pending','sent','dead')", name="outbox_status"),
                      CheckConstraint("destination_kind IN ('peer','platform')", name="outbox_destination_kind"),
                      Index("ix_outboxmessage_due", "status", "next_attempt_at"))
    id: Optional[int] = Field(default=None, primary_key=True)
    destination_kind: str = Field(max_length=16)  # peer | platform
    destination: str = Field(index=True, max_length=64)  # a peer's node id or a platform's name
    url: str
    message_id: str = Field(unique=True, max_length=200)
    type: str = Field(max_length=64)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=utc_column(False))
    status: str = Field(default="pending", max_length=8)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=utc_column(False))
    claimed_by: Optional[str] = Field(default=None, max_length=100)
    claimed_until: Optional[datetime] = Field(default=None, sa_column=utc_column())
    last_error: Optional[str] = None
    last_status: Optional[int] = None
    sent_at: Optional[datetime] = Field(default=None, sa_column=utc_column())


def enqueue(session: Session, *, destination_kind: str, destination: str, url: str, message_id: str, type: str,
            payload: dict) -> OutboxMessage:
    """Adds the message to the caller's transaction (never commits): it leaves only if the change does."""
    if destination_kind not in KINDS:
        raise ValueError(f"destination_kind must be one of {KINDS}")
    now = clock.now()
    row = OutboxMessage(destination_kind=destination_kind, destination=destination, url=url,
                        message_id=message_id, type=type, payload=payload, created_at=now, next_attempt_at=now)
    session.add(row)
    return row


def body_of(payload: dict) -> bytes:
    """The bytes POSTed: compact JSON, keys sorted, UTF-8 (what a platform's HMAC covers)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def urllib_transport(timeout: float) -> Transport:
    """POSTs with the standard library; an HTTP error status is an answer, a network failure raises."""
    def post(url: str, body: bytes, headers: dict) -> tuple[int, str]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (configured URLs)
                return answer.status, answer.read(64 * 1024).decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read(64 * 1024).decode("utf-8", "replace")
    return post


def retryable(status: int) -> bool:
    """5xx, 408 and 429 may pass; any other 4xx will not, however often it is sent."""
    return status >= 500 or status in (408, 429)


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: the base delay doubled each time, capped."""
    return claims.backoff(settings.federation_retry_seconds, settings.federation_retry_max_seconds, attempts)


def _headers(settings: Settings, message: OutboxMessage, body: bytes, timestamp: int) -> dict[str, str] | None:
    headers = {"Content-Type": "application/json; charset=utf-8", webhooks.MESSAGE_ID_HEADER: message.message_id}
    if message.destination_kind == "platform":
        secret = webhooks.secret_of(settings, message.destination) if message.destination in webhooks.PLATFORMS \
            else ""
        if not secret:
            return None
        headers.update(webhooks.headers(secret, timestamp, body))
    return headers


def _settle(session: Session, settings: Settings, message: OutboxMessage, worker_id: str, now: datetime,
            status: int | None, error: str | None) -> str | None:
    """Records one attempt's outcome, if the claim is still this worker's: sent, retry or dead (None: the
    claim ran out meanwhile and another worker holds the message now)."""
    attempts = message.attempts + 1
    if status is not None and 200 <= status < 300:
        values = {"status": "sent", "sent_at": now, "last_error": None}
        outcome = "sent"
    elif (status is not None and not retryable(status)) or attempts >= settings.federation_max_tries:
        values = {"status": "dead", "last_error": error}
        outcome = "dead"
    else:
        values = {"next_attempt_at": now + backoff(settings, attempts), "last_error": error}
        outcome = "retried"
    settled = claims.settle(session, OutboxMessage, message.id, worker_id, attempts=attempts, last_status=status,
                            **values)
    return outcome if settled else None


def send_due(session: Session, settings: Settings, transport: Transport, worker_id: str, now: datetime | None,
             checkpoint: Checkpoint, limit: int = 200) -> dict[str, int]:
    """Sends the messages due, one at a time: claim (committed), POST with no transaction open, record
    the outcome (committed). A 2xx is sent; 5xx, 408, 429 or no answer wait `backoff` and go again, up to
    `federation_max_tries`; any other 4xx is dead at once. Answers {"sent", "retried", "dead"}."""
    done = {"sent": 0, "retried": 0, "dead": 0}
    lease = timedelta(seconds=settings.federation_timeout_seconds * 3 + 60)
    tried: set[int] = set()  # this run sends each message at most once, however short the backoff
    signing = None  # this node's key, read once a run needs it
    while len(tried) < limit:
        at = now or clock.now()
        message = claims.claim_next(session, OutboxMessage, worker_id, at, lease, tried)
        checkpoint()
        if message is None:
            break
        tried.add(message.id)
        payload = message.payload
        if message.destination_kind == "peer" and settings.node:
            # each attempt is stamped with its own sent_at and signed again (docs/federation.md §3)
            signing = signing or envelope.NodeKeys.from_settings(settings).signing
            payload = envelope.restamp(payload, signing)
        body = body_of(payload)
        headers = _headers(settings, message, body, int(time.time()))  # the wall clock: receivers check against theirs
        status: int | None = None
        if headers is None:
            error = "平台密钥未配置，暂不发送。"
        else:
            try:
                status, text = transport(message.url, body, headers)
                error = None if 200 <= status < 300 else f"HTTP {status}: {text[:ERROR_CHARS]}"
            except Exception as e:  # noqa: BLE001 (whatever the network does, the message waits and goes again)
                error = f"{type(e).__name__}: {e}"[:ERROR_CHARS]
        outcome = _settle(session, settings, message, worker_id, now or clock.now(), status, error)
        checkpoint()
        if outcome:
            done[outcome] += 1
    return done


def replay(session: Session, message_ids: Iterable[str] = (), *, dead: bool = False) -> dict[str, list[str]]:
    """Sends again, now: the named messages (dead or waiting) or, with `dead`, every dead one. A dead one
    starts its tries afresh. Answers {"replayed": [...], "sent_already": [...], "unknown": [...]}."""
    now = clock.now()
    wanted = list(dict.fromkeys(message_ids))
    query = select(OutboxMessage).with_for_update()
    if dead:
        query = query.where(OutboxMessage.status == "dead")
    else:
        query = query.where(OutboxMessage.message_id.in_(wanted))
    rows = {row.message_id: row for row in session.exec(query.order_by(OutboxMessage.id))}
    result: dict[str, list[str]] = {"replayed": [], "sent_already": [],
                                    "unknown": [m for m in wanted if m not in rows]}
    for message_id, row in rows.items():
        if row.status == "sent":
            result["sent_already"].append(message_id)
            continue
        if row.status == "dead":
            row.attempts = 0
        row.status, row.next_attempt_at, row.claimed_by, row.claimed_until = "pending", now, None, None
        session.add(row)
        result["replayed"].append(message_id)
    return result


def destination_title(kind: str, destination: str) -> str:
    if kind == "platform" and destination in webhooks.PLATFORMS:
        return webhooks.PLATFORMS[destination].title
    return f"对端节点 {destination}" if kind == "peer" else destination


def _count(condition):
    return func.sum(when((condition, 1), else_=0))


def link_health(session: Session, settings: Settings | None = None) -> list[dict]:
    """Per destination: messages waiting, failing (tried, waiting to go again), dead-lettered and sent,
    the oldest unsent message's creation time and the latest error. Configured platforms are listed
    even before their first message."""
    key = (OutboxMessage.destination_kind, OutboxMessage.destination)
    pending = OutboxMessage.status == "pending"
    links: dict[tuple[str, str], dict] = {}
    if settings is not None:
        for name in webhooks.PLATFORMS:
            if webhooks.endpoint(settings, name):
                links[("platform", name)] = {}
    for kind, destination, waiting, failing, dead, sent in session.exec(select(
            *key, _count(pending), _count(pending & (OutboxMessage.attempts > 0)),
            _count(OutboxMessage.status == "dead"), _count(OutboxMessage.status == "sent")).group_by(*key)):
        links[(kind, destination)] = {"waiting": int(waiting), "failing": int(failing), "dead": int(dead),
                                      "sent": int(sent)}
    oldest = dict(((kind, destination), at) for kind, destination, at in session.exec(
        select(*key, func.min(OutboxMessage.created_at)).where(OutboxMessage.status != "sent").group_by(*key)))
    now = clock.now()
    answer = []
    for (kind, destination), counts in sorted(links.items()):
        at = oldest.get((kind, destination))
        error = session.exec(select(OutboxMessage.last_error).where(
            OutboxMessage.destination_kind == kind, OutboxMessage.destination == destination,
            OutboxMessage.status != "sent", OutboxMessage.last_error != None)  # noqa: E711
            .order_by(OutboxMessage.id.desc()).limit(1)).first()
        answer.append({"kind": kind, "destination": destination, "title": destination_title(kind, destination),
                       "waiting": 0, "failing": 0, "dead": 0, "sent": 0, **counts,
                       "oldest_unsent_at": at,
                       "oldest_unsent_seconds": int((now - at).total_seconds()) if at else None,
                       "last_error": error})
    return answer


def unsent(session: Session, limit: int = 500) -> list[OutboxMessage]:
    """Messages waiting or dead, oldest first (what `federation pending` lists)."""
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.status != "sent")
                             .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)))
