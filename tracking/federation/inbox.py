"""Receiving a peer's message: check who sent it and when, answer a repeat as the first time, apply a
case's messages in their sequence (holding those that arrive early), by a handler per message type.

The order of the checks is part of the protocol (docs/federation.md): the envelope's form, the sender,
the signature, the time, then the message id (a repeat is answered before anything else is judged),
the recipient, the type, the case's parties, the sequence.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import text
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, func, select

from routing.tables import Office
from tracking.federation.envelope import Envelope, verify
from tracking.federation.peers import active_peer, node_of_division
from tracking.federation.tables import InboundMessage
from tracking.model.errors import Kind, Refused, bad_request, conflict, rule, unauthenticated
from tracking.model.inputs import FieldError, Invalid, parse
from tracking.model.tables import Case

WINDOW = timedelta(minutes=5)  # sent_at this far from our clock, either way, is refused as stale


@dataclass(frozen=True)
class Context:
    """What a handler may use: the session, this node's settings, the sender, the time."""
    session: Session
    settings: object
    sender: str
    now: datetime


@dataclass(frozen=True)
class Handler:
    apply: Callable[[Context, Envelope], dict]
    about_a_case: bool  # True: needs case_ref and seq, applied in order; False: neither
    body: type[BaseModel]  # the type's body; docs/federation/schemas has its JSON Schema
    # refuses (403 not_a_party) a message about a stage its sender does not own, before it is held or applied
    check: Callable[[Context, Envelope], None] | None = None


HANDLERS: dict[str, Handler] = {}


def handles(type_: str, *, about_a_case: bool, body: type[BaseModel],
            check: Callable[[Context, Envelope], None] | None = None):
    def register(fn):
        HANDLERS[type_] = Handler(fn, about_a_case, body, check)
        return fn
    return register


class PingBody(BaseModel):
    """node.ping: an empty body; the answer's result is {"pong": the receiver's node id}."""
    model_config = ConfigDict(extra="forbid", title="node.ping body")


class NoteBody(BaseModel):
    """case.note: a line about a case, applied in the case's order; it changes nothing."""
    model_config = ConfigDict(extra="forbid", title="case.note body")
    text: str = Field("", max_length=500)


@handles("node.ping", about_a_case=False, body=PingBody)
def _ping(ctx: Context, _message: Envelope) -> dict:
    return {"pong": ctx.settings.node}


@handles("case.note", about_a_case=True, body=NoteBody)
def _note(_ctx: Context, message: Envelope) -> dict:
    # records nothing of its own: its place in the sequence is what it is for
    return {"case_ref": message.case_ref, "seq": message.seq}


@dataclass(frozen=True)
class Received:
    status: int  # 200 applied (or answered again), 202 held
    answer: dict


def receive(session: Session, settings, raw: dict, now: datetime) -> Received:
    """One message as it arrived (the decoded JSON). Raises Refused; never commits."""
    message = parse(Envelope, raw)
    if not settings.node:
        raise unauthenticated("unknown_node", "本系统未加入跨省协同网络，不接收节点消息。")
    peer = active_peer(session, message.node)
    if peer is None:
        raise unauthenticated("unknown_node", f"未登记或已停用的节点：{message.node}。")
    if not verify(raw, peer.signing_keys):
        raise unauthenticated("bad_signature", "消息签名无效（内容被改动，或不是对方登记的公钥签的）。")
    if abs(now - message.sent_at) > WINDOW:
        raise unauthenticated("stale_message", "消息发送时间与本系统时钟相差超过5分钟，不予接收。")
    message_id = str(message.message_id)
    seen = session.exec(select(InboundMessage).where(InboundMessage.message_id == message_id)).first()
    if seen is not None:
        if seen.node != message.node:
            raise conflict("message_id_reused", "该消息编号已被其他节点使用。")
        return _answer(seen)
    if message.to != settings.node:
        raise Refused(Kind.FORBIDDEN, "wrong_recipient", f"这条消息发给节点 {message.to}，不是本节点。")
    handler = HANDLERS.get(message.type)
    if handler is None:
        raise rule("unknown_message_type", f"不认识的消息类型：{message.type}。", "type")
    if handler.about_a_case != (message.case_ref is not None):
        raise bad_request("该类型的消息" + ("须带 case_ref 和 seq。" if handler.about_a_case
                                                    else "不涉及办件，不应带 case_ref 和 seq。"), "case_ref")
    _body(handler, message)
    ctx = Context(session, settings, message.node, now)
    if not handler.about_a_case:
        row = _record(session, message, raw, now, "applied")
        _apply(ctx, row, handler, message)
        return _answer(row)
    _lock_case(session, message.node, message.case_ref)
    _check_party(session, settings, message)
    if handler.check is not None:
        handler.check(ctx, message)
    return _in_order(ctx, message, raw)


def _in_order(ctx: Context, message: Envelope, raw: dict) -> Received:
    session = ctx.session
    same_case = (InboundMessage.node == message.node, InboundMessage.case_ref == message.case_ref)
    taken = session.exec(select(InboundMessage.id).where(*same_case, InboundMessage.seq == message.seq)).first()
    if taken is not None:
        raise conflict("sequence_reused", f"办件 {message.case_ref} 的第 {message.seq} 条消息已收到过（消息编号不同）。")
    last = session.exec(select(func.max(InboundMessage.seq)).where(
        *same_case, InboundMessage.status == "applied")).one()
    expected = (last or 0) + 1
    if message.seq < expected:  # below the applied run but never taken: cannot happen, kept as a guard
        raise conflict("sequence_reused", f"办件 {message.case_ref} 的第 {message.seq} 条消息已处理过。")
    if message.seq > expected:
        return _answer(_record(session, message, raw, ctx.now, "held"))
    row = _record(session, message, raw, ctx.now, "applied")
    _apply(ctx, row, HANDLERS[message.type], message)
    # the gap is filled: whatever waited right behind it applies now, in order
    while True:
        expected += 1
        waiting = session.exec(select(InboundMessage).where(*same_case, InboundMessage.seq == expected,
                                                            InboundMessage.status == "held")).first()
        if waiting is None:
            break
        held = Envelope.model_validate(waiting.envelope)
        _apply(ctx, waiting, HANDLERS[held.type], held)
    return _answer(row)


def _body(handler: Handler, message: Envelope) -> None:
    """The body must be its type's: every field error at once, each named body.FIELD."""
    try:
        parse(handler.body, message.body)
    except Invalid as e:
        raise Invalid([FieldError("body" if error.field == "body" else f"body.{error.field}", error.code,
                                  error.message, error.extra) for error in e.errors]) from None


def _record(session: Session, message: Envelope, raw: dict, now: datetime, status: str) -> InboundMessage:
    row = InboundMessage(message_id=str(message.message_id), node=message.node, case_ref=message.case_ref,
                         seq=message.seq, type=message.type, status=status, envelope=raw, received_at=now,
                         answer={"status": "held", "message_id": str(message.message_id)})
    session.add(row)
    session.flush()  # a concurrent copy of the same message id fails here, on the unique constraint
    return row


def _apply(ctx: Context, row: InboundMessage, handler: Handler, message: Envelope) -> None:
    result = handler.apply(ctx, message)
    row.status, row.applied_at = "applied", ctx.now
    row.answer = {"status": "applied", "message_id": row.message_id, "result": result}
    ctx.session.add(row)


def _answer(row: InboundMessage) -> Received:
    return Received(200 if row.status == "applied" else 202, dict(row.answer))


def _check_party(session: Session, settings, message: Envelope) -> None:
    """Only the case's nodes speak about it: the one that collected it and the one that owns it (多地联办:
    and those of its step offices). A case known here is judged by its offices; one known only from
    messages by who spoke first."""
    case = session.exec(select(Case).where(Case.case_no == message.case_ref)).first()
    if case is not None:
        divisions = session.exec(select(Office.division_code).where(
            Office.code.in_([case.collecting_office, case.owning_office, *(case.step_offices or ())]))).all()
        parties = {node_of_division(session, settings, division) for division in divisions}
        if message.node not in parties:
            raise _not_a_party(message)
        return
    other = session.exec(select(InboundMessage.node).where(InboundMessage.case_ref == message.case_ref,
                                                           InboundMessage.node != message.node)).first()
    if other is not None:
        raise _not_a_party(message)


def not_a_party(message: Envelope, why: str = "") -> Refused:
    return Refused(Kind.FORBIDDEN, "not_a_party", why or f"节点 {message.node} 不是办件 {message.case_ref} 的收件方或办理方。")


def _not_a_party(message: Envelope) -> Refused:
    return Refused(Kind.FORBIDDEN, "not_a_party", f"节点 {message.node} 不是办件 {message.case_ref} 的收件方或办理方。")


def _lock_case(session: Session, node: str, case_ref: str) -> None:
    """One message of a case at a time, so two arriving together cannot both see the other's gap. SQLite
    writers already queue (BEGIN IMMEDIATE); PostgreSQL takes a transaction-scoped advisory lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"inbound:{node}:{case_ref}".encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# the case's own message types register their handlers on import (kept last: they import this module)
from tracking.federation import cases as _cases  # noqa: E402,F401
