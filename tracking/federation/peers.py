"""Peers: read from a file or an admin's form, and which node owns a division (longest prefix wins)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select

from tracking.federation.envelope import NODE_ID, public_key
from tracking.federation.tables import Peer
from tracking.model.inputs import parse

PEER_FIELDS = ("name", "base_url", "signing_keys", "sealing_key", "prefixes", "active")


class PeerSpec(BaseModel):
    """One peer as the peers file and the admin's form give it."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    node_id: str = Field(pattern=NODE_ID, description="对方节点编号，如 110000")
    name: str = Field("", max_length=64, description="名称，如 北京市")
    base_url: str = Field(max_length=255, pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
                          description="对方服务根地址（消息发往其节点消息接口）")
    signing_keys: list[str] = Field(min_length=1, max_length=2, description="Ed25519 公钥（base64url），轮换期间两把")
    sealing_key: str = Field(description="X25519 公钥（base64url），个人信息加密给它")
    prefixes: list[str] = Field(min_length=1, description="对方负责的行政区划代码前缀")
    active: bool = True

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("signing_keys")
    @classmethod
    def _signing_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            _key(key)
        return list(dict.fromkeys(value))

    @field_validator("sealing_key")
    @classmethod
    def _sealing_key(cls, value: str) -> str:
        return _key(value)

    @field_validator("prefixes")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not (isinstance(prefix, str) and prefix.isdigit() and len(prefix) <= 6 and prefix.isascii()):
                raise ValueError("行政区划代码前缀应为1至6位数字。")
        return sorted(set(value))


def _key(text: str) -> str:
    try:
        public_key(text)
    except ValueError:
        raise ValueError("公钥应为 32 字节的 base64url 编码（43个字符）。") from None
    return text


class PeersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    peers: list[PeerSpec]


def read_peers_file(text: str) -> PeersFile:
    """YAML or JSON (JSON is YAML): {"peers": [...]}. Raises tracking.model.inputs.Invalid."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    return parse(PeersFile, data)


def save_peer(session: Session, spec: PeerSpec, now: datetime) -> tuple[Peer, dict, bool]:
    """Adds or updates a peer; returns it, {field: [old, new]} for what changed, and whether it is new."""
    peer = session.get(Peer, spec.node_id)
    values = spec.model_dump(include=set(PEER_FIELDS))
    if peer is None:
        peer = Peer(node_id=spec.node_id, updated_at=now, **values)
        session.add(peer)
        return peer, {name: [None, value] for name, value in values.items()}, True
    changes = {}
    for name in PEER_FIELDS:
        if getattr(peer, name) != values[name]:
            changes[name] = [getattr(peer, name), values[name]]
            setattr(peer, name, values[name])
    if changes:
        peer.updated_at = now
    return peer, changes, False


def list_peers(session: Session) -> list[Peer]:
    return list(session.exec(select(Peer).order_by(Peer.node_id)))


def active_peer(session: Session, node_id: str) -> Optional[Peer]:
    peer = session.get(Peer, node_id)
    return peer if peer is not None and peer.active else None


def owner_of(session: Session, settings, division_code: str) -> Optional[Peer]:
    """The active peer that owns a division, or None when this node does or nobody does. The longest
    matching prefix wins, this node's own prefixes (TONGBAN_NODE_PREFIXES) included; a node that lists
    none claims nothing over its peers."""
    best: tuple[int, Optional[Peer]] = (-1, None)
    for prefix in settings.node_prefixes:
        if division_code.startswith(prefix) and len(prefix) > best[0]:
            best = (len(prefix), None)
    for peer in session.exec(select(Peer).where(Peer.active == True).order_by(Peer.node_id)):  # noqa: E712
        for prefix in peer.prefixes:
            # on a tie this node keeps what it names itself: strictly longer to win over it
            if division_code.startswith(prefix) and len(prefix) > best[0]:
                best = (len(prefix), peer)
    return best[1]


def node_of_division(session: Session, settings, division_code: str) -> str:
    """The id of the node that owns a division: a peer's, or this node's own."""
    peer = owner_of(session, settings, division_code)
    return peer.node_id if peer else settings.node
