"""What staff read of carriers: a packet's carrier, waybill and every event the carrier told of (the
unknown and refused ones too, with why), an office's packets waiting for pick-up, and what is stuck."""
from __future__ import annotations

from sqlmodel import Session, select

from config import clock
from mailing.carriers import carrier_name
from mailing.carriers.ems import CODE_TITLES
from mailing.states import PacketStatus
from mailing.tables import CarrierEvent, CarrierRequest, Packet

CARRIER_TITLES = {"own": "本系统寄递人员", "ems": "中国邮政EMS政务专递"}
KIND_TITLES = {"book": "下单", "pickup": "预约揽收", "cancel": "取消运单"}
REQUEST_STATUS_TITLES = {"pending": "待发送", "done": "已完成", "dead": "已停止重试", "void": "已撤销"}
OUTCOME_TITLES = {"recorded": "已记入邮件轨迹", "duplicate": "重复推送", "rejected": "未能记入", "unknown": "未识别的轨迹代码",
                  "unmatched": "找不到对应邮件", "noted": "已收悉", "waiting": "待记入"}


def event_view(e: CarrierEvent) -> dict:
    return {"carrier": e.carrier, "event_id": e.carrier_event_id, "waybill_no": e.waybill_no, "code": e.code,
            "text": CODE_TITLES.get(e.code) or e.description or e.code, "description": e.description,
            "place": e.place, "at": clock.iso(e.at), "via": e.via, "scan_type": e.scan_type, "reason": e.reason,
            "outcome": e.outcome, "outcome_text": OUTCOME_TITLES.get(e.outcome, e.outcome), "error": e.error,
            "known": e.outcome != "unknown"}


def packet_carrier(session: Session, packet: Packet) -> dict:
    """The packet's carrier part: who carries it, its waybill, the booking's state and the label fields
    the carrier gave, and every event the carrier told of."""
    booking = session.exec(select(CarrierRequest).where(CarrierRequest.packet_id == packet.id,
                                                        CarrierRequest.kind == "book")
                           .order_by(CarrierRequest.id.desc())).first()
    events = session.exec(select(CarrierEvent).where(CarrierEvent.packet_id == packet.id)
                          .order_by(CarrierEvent.at, CarrierEvent.id)).all()
    return {"name": packet.carrier, "title": CARRIER_TITLES.get(packet.carrier, packet.carrier),
            "waybill_no": packet.waybill_no,
            "booking": None if booking is None else {
                "status": booking.status, "status_text": REQUEST_STATUS_TITLES[booking.status],
                "attempts": booking.attempts, "last_error": booking.last_error,
                "label_fields": (booking.answer or {}).get("label_fields", {})},
            "events": [event_view(e) for e in events]}


def office_pickups(session: Session, settings, office_code: str) -> dict:
    """For the window: the office's carrier, what waits for it at the hall, and the latest pick-up asked."""
    name = carrier_name(settings, office_code)
    if name == "own":
        return {"carrier": name, "title": CARRIER_TITLES["own"], "waiting": [], "booking": 0, "latest": None}
    waiting = session.exec(select(Packet).where(Packet.from_office == office_code, Packet.carrier == name,
                                                Packet.status == PacketStatus.CREATED.value)
                           .order_by(Packet.id)).all()
    latest = session.exec(select(CarrierRequest).where(CarrierRequest.office_code == office_code,
                                                       CarrierRequest.kind == "pickup")
                          .order_by(CarrierRequest.id.desc())).first()
    return {"carrier": name, "title": CARRIER_TITLES.get(name, name),
            "waiting": [{"tracking_no": p.tracking_no, "waybill_no": p.waybill_no} for p in waiting if p.waybill_no],
            "booking": sum(1 for p in waiting if not p.waybill_no),
            "latest": None if latest is None else {
                "id": latest.id, "status": latest.status, "status_text": REQUEST_STATUS_TITLES[latest.status],
                "created_at": clock.iso(latest.created_at), "count": len(latest.payload.get("tracking_nos", [])),
                "pickup_no": (latest.answer or {}).get("pickup_no"), "last_error": latest.last_error}}


def unsettled(session: Session, limit: int = 500) -> dict:
    """Requests not done (waiting or dead), and events that made no custody event for a reason a person
    should read (unknown code, refused, no such packet)."""
    requests = session.exec(select(CarrierRequest).where(CarrierRequest.status.in_(("pending", "dead")))
                            .order_by(CarrierRequest.id).limit(limit)).all()
    numbers = {p.id: p.tracking_no for p in session.exec(select(Packet).where(
        Packet.id.in_([r.packet_id for r in requests if r.packet_id])))}
    events = session.exec(select(CarrierEvent).where(CarrierEvent.outcome.in_(("unknown", "rejected", "unmatched")))
                          .order_by(CarrierEvent.id.desc()).limit(limit)).all()
    return {"requests": [{"id": r.id, "carrier": r.carrier, "kind": r.kind, "kind_text": KIND_TITLES[r.kind],
                          "tracking_no": numbers.get(r.packet_id), "office_code": r.office_code,
                          "status": r.status, "status_text": REQUEST_STATUS_TITLES[r.status],
                          "attempts": r.attempts, "last_error": r.last_error} for r in requests],
            "events": [event_view(e) for e in events]}
