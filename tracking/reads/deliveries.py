"""The courier's delivery list: the packets to home addresses handed to the signed-in courier and not yet
delivered, with the addressee's full name, address and phone.

Labels keep the GB/T 41833 masking (no unit or room, name and phone hidden), so the person at the door
can only be found through this list: it is opened for the courier the packets were handed to, and each
read of an address is written to the access log, as a clerk's read of a case is.
"""
from __future__ import annotations

from sqlmodel import Session, select

from config import clock
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Manifest, ManifestItem, Packet
from routing.reference import directory as load_directory
from tracking.model.context import Actor, Env
from tracking.model.errors import forbidden
from tracking.model.tables import AccessLog, Case
from tracking.reads.documents import division_name

# a packet in one of these is no longer the courier's to deliver
DONE = (PacketStatus.DELIVERED.value, PacketStatus.RECEIVED.value, PacketStatus.LOST.value,
        PacketStatus.CANCELLED.value)


def courier_deliveries(session: Session, env: Env, actor: Actor) -> dict:
    """{"deliveries": [...]}: home deliveries whose latest handover sheet names this courier, in the order
    they were handed over. Each item carries the addressee unsealed; each is logged as read."""
    if actor.role != "courier":
        raise forbidden("只有寄递人员可以查看自己的投递清单。")
    rows = session.exec(
        select(Packet, Manifest).join(ManifestItem, ManifestItem.packet_id == Packet.id)
        .join(Manifest, Manifest.id == ManifestItem.manifest_id)
        .where(Packet.to_office.is_(None), Packet.status.not_in(DONE), Manifest.cancelled_at.is_(None))
        .order_by(Manifest.id, ManifestItem.position)).all()
    # a packet may have been handed on more than once: the latest sheet says whose it is now
    latest: dict[int, tuple[Packet, Manifest]] = {}
    for packet, manifest in rows:
        if packet.id not in latest or latest[packet.id][1].id < manifest.id:
            latest[packet.id] = (packet, manifest)
    mine = [(p, m) for p, m in latest.values() if m.to_party == f"courier:{actor.username}"]
    mine.sort(key=lambda pm: (pm[1].id, pm[0].id))
    directory = load_directory(session)
    cases = {c.id: c for c in session.exec(select(Case).where(Case.id.in_([p.case_id for p, _ in mine])))}
    now = clock.now()
    items = []
    for packet, manifest in mine:
        case = cases[packet.case_id]
        person = env.sealer.open(packet.to_person_sealed) or {}
        session.add(AccessLog(at=now, username=actor.username, role=actor.role, office_code=actor.office_code,
                              case_no=case.case_no, what="delivery_address"))
        items.append({
            "tracking_no": packet.tracking_no, "case_no": case.case_no, "kind": packet.kind,
            "kind_text": PacketKind(packet.kind).title, "status": packet.status,
            "status_text": PacketStatus(packet.status).title, "manifest_no": manifest.manifest_no,
            "handed_over_at": clock.iso(manifest.handed_over_at),
            "expected_arrival": packet.expected_arrival.isoformat() if packet.expected_arrival else None,
            "failed_attempts": packet.failed_attempts,
            "addressee": {"name": person.get("name", ""), "phone": person.get("phone", ""),
                          "address": person.get("address", ""), "division_code": packet.to_division,
                          "division": division_name(directory, packet.to_division)},
        })
    return {"deliveries": items, "count": len(items)}
