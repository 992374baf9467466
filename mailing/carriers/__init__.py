"""Carriers: who moves a packet between offices and to people's doors, behind one interface.

One adapter per carrier, chosen per installation and per office (`carrier_for`): `own` (our couriers and
our S10 numbers, the embedded default, which talks to nobody) and `ems` (a 政务专递 carrier's open-platform
HTTP API). The use cases (tracking.commands.carriers) build a `Shipment` from a packet, unsealing the
addressee only to hand it to the adapter, and record what the carrier answers and pushes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from config.settings import Settings


@dataclass(frozen=True)
class Party:
    """A sender or a receiver in full, as the carrier needs it to collect and deliver (never printed)."""

    name: str
    phone: str
    address: str
    division_code: str
    province: str = ""
    city: str = ""
    county: str = ""
    postcode: str = ""
    company: str = ""


@dataclass(frozen=True)
class Shipment:
    """What is booked: our number (the order number), the waybill number from our allotted range when the
    carrier takes ours, the two parties, and what the packet holds."""

    order_no: str
    waybill_no: str | None
    sender: Party
    receiver: Party
    weight_grams: int
    pieces: int
    note: str = ""


@dataclass(frozen=True)
class Booking:
    """The carrier's answer to a booking: its waybill number, the postage it charges (fen) and the weight it
    billed, when it says, and the fields its own label carries (routing code, 大头笔)."""

    waybill_no: str
    postage_cents: int | None = None
    weight_grams: int | None = None
    label_fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrackEvent:
    """One tracking event as the carrier tells it; `event_id` is the carrier's own id for it (or one made
    from its content when the carrier gives none), so a repeated push is a repeat."""

    event_id: str
    waybill_no: str
    code: str
    description: str
    place: str
    at: datetime
    signer_name: str = ""
    signer_relation: str = ""  # self | proxy | "" (not a delivery)
    reason_code: str = ""      # why a delivery failed, in the carrier's codes
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Push:
    """A push from the carrier, read and verified: its events, and how to answer it."""

    batch_id: str
    events: list[TrackEvent]


class CarrierError(Exception):
    """A call that did not succeed. `retry`: worth trying again later (a timeout, a 5xx, a busy carrier);
    otherwise the carrier refused what we sent and a person must look."""

    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.retry = retry


class BadPush(Exception):
    """A push we cannot take: a wrong signature or an unreadable body."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Carrier(Protocol):
    name: str
    title: str  # as people read it: 本系统寄递人员, 中国邮政EMS政务专递
    network: bool  # it has a network of its own (books, pushes events); `own` does not

    def book(self, shipment: Shipment) -> Booking: ...

    def request_pickup(self, sender: Party, waybill_nos: list[str], ready_at: datetime) -> str:
        """Asks the carrier to collect these at the hall; answers the carrier's pick-up number."""
        ...

    def cancel(self, waybill_no: str) -> None: ...

    def fetch_events(self, waybill_nos: list[str]) -> list[TrackEvent]: ...

    def read_push(self, body: bytes, headers: dict) -> Push: ...

    def push_answer(self, push: Push | None, accepted: dict[str, bool], error: str = "") -> tuple[bytes, str]:
        """The body (and its content type) the carrier expects back; `accepted` by event id."""
        ...


def names(settings: Settings) -> tuple[str, ...]:
    """The carriers this installation may use: `own` always, and each one configured."""
    return ("own", *(("ems",) if settings.ems_url and settings.ems_sender_no and settings.ems_key else ()))


def check(settings: Settings) -> None:
    """Refuses to start with a carrier named but not configured: packets would wait for a booking forever."""
    for name in {settings.carrier, *settings.carrier_by_office.values()}:
        if name not in names(settings):
            raise ValueError(f"carrier {name!r} is not configured (known: own; ems needs TONGBAN_EMS_URL, "
                             f"TONGBAN_EMS_SENDER_NO and TONGBAN_EMS_KEY)")


def carrier_name(settings: Settings, office_code: str) -> str:
    """The carrier an office sends with: its own contract if configured, else the installation's."""
    return settings.carrier_by_office.get(office_code, settings.carrier)


def carrier(settings: Settings, name: str) -> Carrier:
    if name == "own":
        from mailing.carriers.own import OwnCarrier
        return OwnCarrier()
    if name == "ems":
        from mailing.carriers.ems import EmsCarrier
        return EmsCarrier.from_settings(settings)
    raise KeyError(name)


def carrier_for(settings: Settings, office_code: str) -> Carrier:
    return carrier(settings, carrier_name(settings, office_code))
