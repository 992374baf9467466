"""Packets, their custody events, and the counters that number things."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, event, select
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from config.database import utc_column
from mailing.states import PacketKind, PacketStatus

_KINDS = ",".join(f"'{k.value}'" for k in PacketKind)
_STATES = ",".join(f"'{s.value}'" for s in PacketStatus)


class Counter(SQLModel, table=True):
    """Atomically incremented counters (daily case numbers, S10 serials)."""
    name: str = Field(primary_key=True, max_length=64)
    value: int = 0


class Packet(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="packet_kind"),
        CheckConstraint(f"status IN ({_STATES})", name="packet_status"),
        CheckConstraint("postage_source IN ('tariff','carrier')", name="packet_postage_source"),
        Index("ix_packet_dispatched_at", "dispatched_at"),  # the statistics' days without a roll-up
        Index("ix_packet_leaving", "from_office", "status"),  # the window's packets still to leave
        Index("ix_packet_arriving", "to_office", "status"),  # and the office's on their way to it
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    tracking_no: str = Field(unique=True, max_length=13)
    kind: str
    status: str = PacketStatus.CREATED.value
    case_id: int = Field(index=True, foreign_key="case.id")
    from_office: str = Field(max_length=24)
    to_office: Optional[str] = Field(default=None, max_length=24, index=True)  # None: a home address
    to_division: str = Field(max_length=6)
    # a home recipient's name/phone/address, sealed like all personal data
    to_person_sealed: Optional[str] = None
    contents: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    route: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    expected_arrival: Optional[date] = None
    replaces_id: Optional[int] = Field(default=None, foreign_key="packet.id")
    created_at: datetime = Field(sa_column=utc_column(False))
    dispatched_at: Optional[datetime] = Field(default=None, sa_column=utc_column())  # first `dispatched` scan
    arrived_at: Optional[datetime] = Field(default=None, sa_column=utc_column())     # delivered or received
    failed_attempts: int = 0   # home deliveries that failed (refused, address unknown)
    last_event_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    last_hash: str = ""
    # who carries it: `own` (our couriers, our S10 number) or a carrier's adapter, and the carrier's
    # waybill number once booked (the same as tracking_no when it takes our number from an allotted range)
    carrier: str = Field(default="own", max_length=16)
    waybill_no: Optional[str] = Field(default=None, index=True, max_length=40)
    # postage (mailing.postage): the estimated weight, the amount (from the tariff when made, or what the
    # carrier charged) and the office that pays it; None on packets made before postage was kept
    weight_grams: Optional[int] = None
    postage_cents: Optional[int] = None
    postage_source: Optional[str] = Field(default=None, max_length=8)  # tariff | carrier
    postage_payer: Optional[str] = Field(default=None, max_length=24, index=True)


class PacketEvent(SQLModel, table=True):
    """One custody event; the chain of `hash` over `prev_hash` detects tampering."""
    __table_args__ = (UniqueConstraint("event_id", name="packet_event_event_id"),
                      Index("ix_packetevent_type_at", "type", "at"))  # the desks' recent exceptions
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64)
    packet_id: int = Field(index=True, foreign_key="packet.id")
    type: str
    status_after: str
    at: datetime = Field(sa_column=utc_column(False))          # scanner's clock
    recorded_at: datetime = Field(sa_column=utc_column(False))  # server's clock
    actor: str
    role: str
    office_code: Optional[str] = None
    note: str = ""
    reason: Optional[str] = None
    contents: Optional[list] = Field(default=None, sa_column=Column(JSON))
    client_txn: Optional[str] = None
    prev_hash: str = ""
    hash: str = ""


class Manifest(SQLModel, table=True):
    """A handover sheet (交接清单): packets handed from an office to a courier or another office at once."""
    id: Optional[int] = Field(default=None, primary_key=True)
    manifest_no: str = Field(unique=True, max_length=40)
    from_office: str = Field(index=True, max_length=24)
    to_party: str = Field(max_length=90)          # courier:USERNAME | office:CODE
    to_party_name: str = ""
    created_by: str
    created_at: datetime = Field(sa_column=utc_column(False))
    handed_over_at: Optional[datetime] = Field(default=None, sa_column=utc_column())  # None: still open
    cancelled_at: Optional[datetime] = Field(default=None, sa_column=utc_column())    # voided while open
    confirmed_at: Optional[datetime] = Field(default=None, sa_column=utc_column())    # receiving party counted


class ManifestItem(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("manifest_id", "packet_id", name="manifest_item_once"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    manifest_id: int = Field(index=True, foreign_key="manifest.id")
    packet_id: int = Field(index=True, foreign_key="packet.id")
    position: int


class HandedOverManifest(Exception):
    """A handed-over sheet was about to change."""


@event.listens_for(Session, "before_flush")
def _handed_over_sheets_never_change(session, _context, _instances) -> None:
    # Both parties signed the paper sheet: whatever code path tries, its list of packets stays as signed.
    # One query per flush that touches sheet items, not one per item.
    touched = {o.manifest_id for o in (*session.new, *session.dirty, *session.deleted) if isinstance(o, ManifestItem)}
    if not touched:
        return
    table = Manifest.__table__
    handed_over = session.execute(select(table.c.id).where(table.c.id.in_(touched),
                                                           table.c.handed_over_at.is_not(None))).scalars().all()
    if handed_over:
        raise HandedOverManifest(f"manifests {sorted(handed_over)} were handed over and cannot change")


class ManifestEvent(SQLModel, table=True):
    """What happened to a sheet as a whole: scanned (handed over, through a hub), counted, voided."""
    __table_args__ = (UniqueConstraint("event_id", name="manifest_event_event_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64)
    manifest_id: int = Field(index=True, foreign_key="manifest.id")
    type: str          # a scan type, `receipt` or `cancelled`
    at: datetime = Field(sa_column=utc_column(False))
    recorded_at: datetime = Field(sa_column=utc_column(False))
    actor: str
    role: str
    office_code: Optional[str] = None
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CarrierRequest(SQLModel, table=True):
    """The carrier outbox: a booking, a pick-up or a cancellation to send to a carrier's API, written with
    the change that needs it and claimed by conditional update (as the federation outbox is)."""
    __table_args__ = (CheckConstraint("kind IN ('book','pickup','cancel')", name="carrier_request_kind"),
                      CheckConstraint("status IN ('pending','done','dead','void')", name="carrier_request_status"))
    id: Optional[int] = Field(default=None, primary_key=True)
    carrier: str = Field(max_length=16)
    kind: str = Field(max_length=8)
    packet_id: Optional[int] = Field(default=None, index=True, foreign_key="packet.id")  # None: a pick-up
    office_code: str = Field(index=True, max_length=24)  # who asks: the sending office
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = ""
    created_at: datetime = Field(sa_column=utc_column(False))
    status: str = Field(default="pending", max_length=8, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=utc_column(False))
    claimed_by: Optional[str] = Field(default=None, max_length=100)
    claimed_until: Optional[datetime] = Field(default=None, sa_column=utc_column())
    last_error: Optional[str] = None
    answer: Optional[dict] = Field(default=None, sa_column=Column(JSON))  # what the carrier said when done
    done_at: Optional[datetime] = Field(default=None, sa_column=utc_column())


class CarrierEvent(SQLModel, table=True):
    """Every tracking event a carrier told us of, pushed or fetched, kept as it came: an event whose code
    we do not know, or whose packet we cannot find, is kept and shown, never dropped."""
    __table_args__ = (UniqueConstraint("carrier", "carrier_event_id", name="carrier_event_once"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    carrier: str = Field(max_length=16)
    carrier_event_id: str = Field(max_length=100)
    waybill_no: str = Field(index=True, max_length=40)
    packet_id: Optional[int] = Field(default=None, index=True, foreign_key="packet.id")
    code: str = Field(max_length=16)
    description: str = ""
    place: str = ""
    at: datetime = Field(sa_column=utc_column(False))
    received_at: datetime = Field(sa_column=utc_column(False))
    via: str = Field(default="push", max_length=8)  # push | poll
    scan_type: Optional[str] = Field(default=None, max_length=24)  # what it maps to; None: an unknown code
    reason: Optional[str] = Field(default=None, max_length=24)
    outcome: str = Field(max_length=12)  # recorded | duplicate | rejected | unknown | unmatched
    error: Optional[str] = None
    raw: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
