"""node.directory: a node publishes the offices of its own divisions, signed; its peers load them, so each
installation keeps only its own offices (plus every province's gateway hub) and learns the rest from the
node that owns them (docs/federation.md, "The directory")."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Callable, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, select

from config import clock
from routing.reference import invalidate_directory, reference_changed
from routing.tables import Office
from tracking.federation.envelope import NodeKeys, sign, verify
from tracking.federation.inbox import WINDOW
from tracking.federation.peers import list_peers, owner_of
from tracking.federation.tables import Peer
from tracking.model.errors import Refused, not_found, unauthenticated

DIRECTORY_TYPE = "node.directory"
ROUTING_FIELDS = ("name", "kind", "division_code", "department", "serves", "address", "postcode", "phone",
                  "active")


class DirectoryOffice(BaseModel):
    """One office as a node publishes it. Coordinates travel as decimal strings (canonical JSON has no floats)."""
    model_config = ConfigDict(extra="forbid", title="DirectoryOffice")

    code: str = Field(min_length=1, max_length=24, pattern=r"^[0-9A-Za-z_-]+$", description="机构代码")
    name: str = Field(min_length=1, max_length=128)
    kind: Literal["hall", "department", "hub"]
    division_code: str = Field(pattern=r"^[0-9]{6}$", description="所在行政区划代码，须在发布节点的前缀内")
    department: Optional[str] = Field(None, max_length=8, description="部门类型（department 才有）")
    serves: Optional[str] = Field(None, pattern=r"^[0-9]{6}$", description="邮件处理中心服务的区划（hub 才有）")
    address: str = Field("", max_length=255)
    postcode: str = Field("", max_length=16)
    phone: str = Field("", max_length=32)
    lat: str = Field(pattern=r"^-?[0-9]{1,3}(\.[0-9]+)?$", description="纬度，十进制字符串")
    lon: str = Field(pattern=r"^-?[0-9]{1,3}(\.[0-9]+)?$", description="经度，十进制字符串")
    active: bool = True


class DirectoryBody(BaseModel):
    """The body of a node.directory message."""
    model_config = ConfigDict(extra="forbid", title="node.directory")

    prefixes: list[str] = Field(description="发布节点负责的行政区划代码前缀")
    offices: list[dict[str, Any]] = Field(description="前缀内的全部机构（DirectoryOffice）")


class DirectoryListing(DirectoryBody):
    """The same body as documented (docs/federation/schemas): each office a DirectoryOffice. The receiver
    checks them one by one, so one bad office is refused alone."""
    model_config = ConfigDict(extra="forbid", title="node.directory")

    offices: list[DirectoryOffice] = Field(description="前缀内的全部机构")


def _within(code: str, prefixes) -> bool:
    return any(code.startswith(prefix) for prefix in prefixes)


def published(session: Session, settings, keys: NodeKeys, to: Optional[str], now: datetime) -> dict:
    """This node's directory as a signed envelope (`to`: the asking node, or null for anyone)."""
    if not settings.node_prefixes:
        raise not_found("本节点未设置负责的行政区划，没有可发布的机构目录。")
    offices = [{"code": o.code, "name": o.name, "kind": o.kind, "division_code": o.division_code,
                "department": o.department, "serves": o.serves, "address": o.address, "postcode": o.postcode,
                "phone": o.phone, "lat": repr(float(o.lat)), "lon": repr(float(o.lon)), "active": bool(o.active)}
               for o in session.exec(select(Office).order_by(Office.code))
               if _within(o.division_code, settings.node_prefixes)]
    message = {"message_id": str(uuid.uuid4()), "type": DIRECTORY_TYPE, "node": keys.node, "to": to,
               "case_ref": None, "seq": None, "sent_at": clock.iso(now),
               "body": {"prefixes": list(settings.node_prefixes), "offices": offices}}
    return sign(message, keys.signing)


def apply(session: Session, settings, peer: Peer, message: Any, now: datetime) -> dict:
    """Loads a peer's directory: the signature checked with the peer's keys, each office kept only if it lies
    in the divisions this node counts as the peer's; an admin's edit stays; the peer's offices it no longer
    lists are deactivated. Raises Refused for a message not from this peer. Flushes; the caller commits."""
    if not isinstance(message, dict) or not verify(message, list(peer.signing_keys)):
        raise unauthenticated("bad_signature", f"节点 {peer.node_id} 的机构目录签名无效，未载入。")
    if message.get("type") != DIRECTORY_TYPE or message.get("node") != peer.node_id \
            or message.get("to") not in (None, settings.node):
        raise unauthenticated("bad_signature", f"这不是节点 {peer.node_id} 发给本节点的机构目录，未载入。")
    try:
        sent_at = datetime.fromisoformat(message["sent_at"])
        body = DirectoryBody.model_validate(message.get("body"))
    except (KeyError, TypeError, ValueError, ValidationError):
        raise unauthenticated("bad_signature", f"节点 {peer.node_id} 的机构目录格式不符，未载入。") from None
    if sent_at.tzinfo is None or abs(now - sent_at) > WINDOW:  # an old copy replayed would revive closed offices
        raise unauthenticated("stale_message", f"节点 {peer.node_id} 的机构目录发送时间与本系统时钟相差超过5分钟。")

    done = {"added": 0, "updated": 0, "deactivated": 0, "refused": []}
    listed = set()
    for raw in body.offices:
        try:
            item = DirectoryOffice.model_validate(raw)
        except ValidationError:
            done["refused"].append(str(raw.get("code", "?")) if isinstance(raw, dict) else "?")
            continue
        # a peer speaks only for its own divisions, as this node counts them (the longest prefix wins)
        owner = owner_of(session, settings, item.division_code)
        if owner is None or owner.node_id != peer.node_id:
            done["refused"].append(item.code)
            continue
        existing = session.get(Office, item.code)
        if existing is not None and existing.division_code != item.division_code:
            owner_before = owner_of(session, settings, existing.division_code)
            if owner_before is None or owner_before.node_id != peer.node_id:
                done["refused"].append(item.code)  # a code this node or another peer holds
                continue
        listed.add(item.code)
        values = {name: getattr(item, name) for name in ROUTING_FIELDS}
        values.update(lat=float(item.lat), lon=float(item.lon))
        if existing is None:
            session.add(Office(code=item.code, **values))
            done["added"] += 1
        elif not existing.edited and any(getattr(existing, k) != v for k, v in values.items()):
            for name, value in values.items():
                setattr(existing, name, value)
            done["updated"] += 1
    for office in session.exec(select(Office).where(Office.active == True)):  # noqa: E712
        owner = owner_of(session, settings, office.division_code)
        if owner is not None and owner.node_id == peer.node_id and office.code not in listed and not office.edited:
            office.active = False
            done["deactivated"] += 1
    session.flush()
    if done["added"] or done["updated"] or done["deactivated"]:
        reference_changed(session)  # every process's cached directory follows the peer's
    return done


Fetch = Callable[[Peer], Any]  # a peer's directory as JSON; raises OSError / ValueError when it cannot


def sync(session: Session, settings, fetch: Fetch, checkpoint: Callable[[], None]) -> dict[str, dict]:
    """Every active peer's directory fetched and applied, one checkpoint (commit) per peer; a peer that cannot
    be reached or is refused keeps the offices it had. Returns {node_id: counts, or {"error": text}}."""
    results: dict[str, dict] = {}
    peers = [p for p in list_peers(session) if p.active]
    checkpoint()  # no transaction held while a peer is asked: it may be asking us at the same moment
    for peer in peers:
        try:
            message = fetch(peer)
            results[peer.node_id] = apply(session, settings, peer, message, clock.now())
        except (OSError, ValueError) as e:
            session.rollback()
            results[peer.node_id] = {"error": f"无法取得机构目录：{e}"}
            continue
        except Refused as e:  # this peer's directory is not believed: its offices stay as they were
            session.rollback()
            results[peer.node_id] = {"error": e.message}
            continue
        checkpoint()
    invalidate_directory()
    return results
