"""The courier's delivery list: the packets to home addresses handed to the signed-in courier and not yet
delivered, with the addressee's full name, address and phone.

Labels keep the GB/T 41833 masking (no unit or room, name and phone hidden), so the person at the door
can only be found through this list: it is opened for the courier the packets were handed to, and each
read of an address is written to the access log, as a clerk's read of a case is.

The courier's day (courier_today) adds the pick-ups: handover sheets made out to the courier and not yet
handed over, i.e. packets waiting at a hall or office for this courier to collect. The sheet is handed
over by the courier's first `dispatched` scan of it (or of one of its packets).
"""
from __future__ import annotations

from sqlmodel import Session, select

from config import clock
from config.database import add_later
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Manifest, ManifestItem, Packet
from routing.reference import directory as load_directory
from routing.tables import Office
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
        add_later(session, AccessLog(at=now, username=actor.username, role=actor.role, office_code=actor.office_code,
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


def courier_pickups(session: Session, actor: Actor) -> list[dict]:
    """The open handover sheets made out to this courier, oldest first: where to collect them (the
    office's name, address and phone) and the packets on each. No personal data: labels suffice here."""
    if actor.role != "courier":
        raise forbidden("只有寄递人员可以查看自己的揽收清单。")
    sheets = session.exec(select(Manifest).where(Manifest.to_party == f"courier:{actor.username}",
                                                 Manifest.handed_over_at.is_(None), Manifest.cancelled_at.is_(None))
                          .order_by(Manifest.created_at, Manifest.id)).all()
    if not sheets:
        return []
    items = session.exec(select(ManifestItem, Packet).join(Packet, Packet.id == ManifestItem.packet_id)
                         .where(ManifestItem.manifest_id.in_([m.id for m in sheets]))
                         .order_by(ManifestItem.manifest_id, ManifestItem.position)).all()
    offices = {o.code: o for o in session.exec(select(Office).where(
        Office.code.in_({m.from_office for m in sheets} | {p.to_office for _, p in items if p.to_office})))}
    directory = load_directory(session)
    packets: dict[int, list[dict]] = {}
    for item, packet in items:
        to = offices.get(packet.to_office) if packet.to_office else None
        packets.setdefault(item.manifest_id, []).append({
            "tracking_no": packet.tracking_no, "kind": packet.kind, "kind_text": PacketKind(packet.kind).title,
            "status": packet.status, "status_text": PacketStatus(packet.status).title,
            "to": to.name if to else f"{division_name(directory, packet.to_division)}（个人地址）"})
    answer = []
    for sheet in sheets:
        office = offices.get(sheet.from_office)
        answer.append({
            "manifest_no": sheet.manifest_no, "created_at": clock.iso(sheet.created_at),
            "from_office": {"code": sheet.from_office, "name": office.name if office else sheet.from_office,
                            "address": office.address if office else "", "phone": office.phone if office else ""},
            "packets": packets.get(sheet.id, []), "count": len(packets.get(sheet.id, []))})
    return answer


def courier_today(session: Session, env: Env, actor: Actor) -> dict:
    """The courier's day on one page: what to collect (open sheets made out to them) and what to bring to
    people's doors (courier_deliveries, each address read logged)."""
    pickups = courier_pickups(session, actor)
    found = courier_deliveries(session, env, actor)
    return {"date": clock.beijing_date(clock.now()).isoformat(), "pickups": pickups,
            "pickup_count": sum(p["count"] for p in pickups), "deliveries": found["deliveries"],
            "delivery_count": found["count"]}
