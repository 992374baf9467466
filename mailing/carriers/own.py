"""The `own` carrier: our couriers carry the packets on our S10 numbers and scan them with our scanners;
there is nobody to book with, no pick-up to ask for, no events to fetch. The embedded default."""
from __future__ import annotations

from datetime import datetime

from mailing.carriers import BadPush, Booking, Party, Push, Shipment, TrackEvent


class OwnCarrier:
    name = "own"
    title = "本系统寄递人员"
    network = False

    def book(self, shipment: Shipment) -> Booking:
        return Booking(waybill_no=shipment.order_no)

    def request_pickup(self, sender: Party, waybill_nos: list[str], ready_at: datetime) -> str:
        return ""  # our couriers collect what the handover sheets made out to them list

    def cancel(self, waybill_no: str) -> None:
        return None

    def fetch_events(self, waybill_nos: list[str]) -> list[TrackEvent]:
        return []

    def read_push(self, body: bytes, headers: dict) -> Push:
        raise BadPush("own carrier takes no pushes", 404)

    def push_answer(self, push, accepted, error=""):
        return b"", "text/plain"
