"""Idempotency-Key on creating POSTs: the same key and body answer the first answer again.

The first answer is kept sealed with the data key: it may hold an applicant's check code or an electronic
result's download link. It is kept whole rather than rebuilt on replay, because the case may have moved
on since and a replay must answer exactly what the first request answered."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from config import clock
from config.database import utc_column
from tracking.model.errors import conflict
from tracking.model.errors import bad_request
from tracking.model.errors import rule
from tracking.model.sealing import Sealer


class IdempotentRequest(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("username", "path", "key", name="idempotency_once"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str
    path: str
    key: str = Field(max_length=200)
    body_hash: str
    status: Optional[int] = None  # None while the first request is still running
    response_sealed: Optional[str] = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=utc_column(False))


def body_digest(raw: bytes) -> str:
    try:  # the same JSON written with other spacing or key order is the same body
        raw = json.dumps(json.loads(raw or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        pass
    return hashlib.sha256(raw).hexdigest()


def claim(session: Session, sealer: Sealer, username: str, path: str, key: str,
          digest: str) -> tuple[int, dict] | None:
    """None: go ahead (the key is now ours). Otherwise the stored (status, body) to answer again."""
    if not key or len(key) > 200:
        raise bad_request("Idempotency-Key 应为1至200个字符。", "Idempotency-Key")
    session.add(IdempotentRequest(username=username, path=path, key=key, body_hash=digest, created_at=clock.now()))
    try:
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
    row = session.exec(select(IdempotentRequest).where(IdempotentRequest.username == username,
                                                       IdempotentRequest.path == path,
                                                       IdempotentRequest.key == key)).one()
    if row.body_hash != digest:
        raise rule("idempotency_key_reused", "该 Idempotency-Key 已用于另一项不同的请求。", "Idempotency-Key")
    if row.status is None:
        raise conflict("request_in_progress", "相同的请求正在处理中，请稍后重试。")
    return row.status, sealer.open(row.response_sealed)


def settle(session: Session, sealer: Sealer, username: str, path: str, key: str, status: int,
           body: dict | None) -> None:
    """Stores the answer; a server error frees the key so the client may retry."""
    row = session.exec(select(IdempotentRequest).where(IdempotentRequest.username == username,
                                                       IdempotentRequest.path == path,
                                                       IdempotentRequest.key == key)).first()
    if row is None:
        return
    if status >= 500:
        session.delete(row)
    else:
        row.status, row.response_sealed = status, None if body is None else sealer.seal(body)
        session.add(row)
    session.commit()
