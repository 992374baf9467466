"""Writing to the carrier outbox (mailing.tables.CarrierRequest) in the caller's transaction: a booking when
a packet is made, a cancellation when it is voided before it left. Sending is tracking.commands.carriers."""
from __future__ import annotations

from sqlmodel import Session, select

from config import clock
from config.settings import Settings
from mailing.carriers import carrier_name
from mailing.tables import CarrierRequest, Packet


def _add(session: Session, packet: Packet, kind: str, created_by: str = "system") -> CarrierRequest:
    now = clock.now()
    row = CarrierRequest(carrier=packet.carrier, kind=kind, packet_id=packet.id, office_code=packet.from_office,
                         created_by=created_by, created_at=now, next_attempt_at=now)
    session.add(row)
    return row


def assign(session: Session, settings: Settings, packet: Packet) -> None:
    """Names the packet's carrier (its sending office's) and, for a carrier with a network, queues its
    booking. Called once, as the packet is made (it has an id)."""
    packet.carrier = carrier_name(settings, packet.from_office)
    session.add(packet)
    if packet.carrier != "own":
        _add(session, packet, "book")


def void(session: Session, packet: Packet, created_by: str = "system") -> None:
    """The packet will not travel: a booking not yet made is dropped, a made one is cancelled."""
    if packet.carrier == "own":
        return
    pending = session.exec(select(CarrierRequest).where(CarrierRequest.packet_id == packet.id,
                                                        CarrierRequest.kind == "book",
                                                        CarrierRequest.status == "pending")).all()
    for row in pending:
        row.status = "void"
        session.add(row)
    if packet.waybill_no:
        _add(session, packet, "cancel", created_by)
