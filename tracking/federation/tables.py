"""The federation's tables: the peers this node talks to, and every message it accepted from them."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.database import utc_column


class Peer(SQLModel, table=True):
    """Another installation: where to send to it, and the keys its messages are checked with."""
    node_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(default="", max_length=64)
    base_url: str = Field(max_length=255)
    # public Ed25519 keys (base64url, raw 32 bytes); two during a rotation, each accepted
    signing_keys: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sealing_key: str = Field(max_length=64)  # public X25519 key personal data is sealed to
    prefixes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # division prefixes it owns
    active: bool = True
    updated_at: datetime = Field(sa_column=utc_column(False))


INBOUND_STATES = ("applied", "held")


class InboundMessage(SQLModel, table=True):
    """A message this node accepted: its id answers a repeat with the first answer; `held` ones wait for
    the gap in their case's sequence to fill. The whole envelope is kept (personal data in it is sealed)."""
    __table_args__ = (UniqueConstraint("node", "case_ref", "seq", name="inbound_case_seq"),
                      CheckConstraint("status IN ('applied','held')", name="inbound_status"),
                      Index("inbound_case", "case_ref", "node"))
    id: Optional[int] = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True, max_length=36)
    node: str = Field(max_length=32)
    case_ref: Optional[str] = Field(default=None, max_length=64)
    seq: Optional[int] = None
    type: str = Field(max_length=64)
    status: str = Field(max_length=8)
    answer: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    envelope: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=utc_column(False))
    applied_at: Optional[datetime] = Field(default=None, sa_column=utc_column(True))
