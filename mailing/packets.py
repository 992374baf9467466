"""Creating packets: a number, an addressee and a planned route."""
from __future__ import annotations

from sqlmodel import Session

from config import clock
from config.settings import Settings
from mailing.numbers import next_tracking_no
from mailing.states import PacketKind
from mailing.tables import Packet
from routing.directory import Directory, Post, plan_route


def route_to(directory: Directory, origin: Post, to_office: Post | None, to_division: str) -> list[dict]:
    """The planned route; to a home address it ends at the hub that delivers there."""
    if to_office is None:
        hub = directory.hub_serving(directory.city_code(to_division)) or \
            directory.hub_serving(directory.province_code(to_division))
        stops = plan_route(directory, origin, hub) if hub else [origin]
    else:
        stops = plan_route(directory, origin, to_office)
    return [{"office_code": p.code, "name": p.name} for p in stops]


def create_packet(session: Session, settings: Settings, directory: Directory, *, kind: PacketKind, case_id: int,
                  origin: Post, to_office: Post | None, to_division: str, contents: list,
                  to_person_sealed: str | None = None, replaces_id: int | None = None) -> Packet:
    packet = Packet(
        tracking_no=next_tracking_no(session, settings.s10_first_prefix, settings.s10_last_prefix),
        kind=kind.value, case_id=case_id, from_office=origin.code,
        to_office=to_office.code if to_office else None,
        to_division=to_office.division_code if to_office else to_division,
        to_person_sealed=to_person_sealed, contents=contents,
        route=route_to(directory, origin, to_office, to_division),
        replaces_id=replaces_id, created_at=clock.now(),
    )
    session.add(packet)
    session.flush()
    return packet
