"""Creating packets and keeping their plans: a number, an addressee, a route with expected dates."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session

from config import clock
from config.settings import Settings
from mailing.carriers import requests as carrier_requests
from mailing.numbers import next_tracking_no
from mailing.postage import CaseParties, charge_by_tariff
from mailing.states import PacketKind
from mailing.tables import Packet
from routing.calendars import work_calendar
from routing.directory import Directory, Post, plan_route
from routing.transit import ServiceStandards, schedule


def route_stops(directory: Directory, origin: Post, to_office: Post | None, to_division: str) -> list[Post]:
    """The planned stops; to a home address they end at the hub that delivers there."""
    if to_office is not None:
        return plan_route(directory, origin, to_office)
    hub = directory.hub_serving(directory.city_code(to_division)) or \
        directory.hub_serving(directory.province_code(to_division))
    return plan_route(directory, origin, hub) if hub else [origin]


def _planned(session: Session, settings: Settings, directory: Directory, stops: list[Post], start: date,
             home: bool) -> tuple[list[dict], date]:
    plan = schedule(directory, work_calendar(session), stops, start, ServiceStandards.from_settings(settings),
                    last_mile=home)
    return ([{"office_code": p.code, "name": p.name, "expected": d.isoformat()}
             for p, d in zip(stops, plan.stops)], plan.arrival)


def create_packet(session: Session, settings: Settings, directory: Directory, *, kind: PacketKind, case_id: int,
                  origin: Post, to_office: Post | None, to_division: str, contents: list,
                  to_person_sealed: str | None = None, replaces_id: int | None = None,
                  parties: CaseParties | None = None) -> Packet:
    """A new packet, planned and priced; `parties` (the case: its matter and two offices) decide who pays
    the postage (mailing.postage)."""
    now = clock.now()
    route, arrival = _planned(session, settings, directory, route_stops(directory, origin, to_office, to_division),
                              clock.beijing_date(now), to_office is None)
    packet = Packet(
        tracking_no=next_tracking_no(session, settings.s10_first_prefix, settings.s10_last_prefix),
        kind=kind.value, case_id=case_id, from_office=origin.code,
        to_office=to_office.code if to_office else None,
        to_division=to_office.division_code if to_office else to_division,
        to_person_sealed=to_person_sealed, contents=contents, route=route, expected_arrival=arrival,
        replaces_id=replaces_id, created_at=now,
    )
    session.add(packet)
    session.flush()
    charge_by_tariff(session, settings, directory, packet, parties)
    carrier_requests.assign(session, settings, packet)
    return packet


def served_kind(session: Session, packet: Packet) -> PacketKind:
    """What a packet does for its case: a replacement does what the packet it replaces did."""
    kind, hops = PacketKind(packet.kind), 0
    while kind is PacketKind.REPLACEMENT and packet.replaces_id and hops < 20:
        packet, hops = session.get(Packet, packet.replaces_id), hops + 1
        kind = PacketKind(packet.kind)
    return PacketKind.OUTBOUND if kind is PacketKind.REPLACEMENT else kind


def _stops_of(directory: Directory, items: list[dict]) -> list[Post]:
    return [p for p in (directory.post(i["office_code"]) for i in items) if p is not None]


def reschedule(session: Session, settings: Settings, directory: Directory, packet: Packet, start: date) -> None:
    """Expected dates counted again from the day the packet actually left (its dispatch scan)."""
    route, arrival = _planned(session, settings, directory, _stops_of(directory, packet.route), start,
                              packet.to_office is None)
    packet.route, packet.expected_arrival = route, arrival
    session.add(packet)


def reroute(session: Session, settings: Settings, directory: Directory, packet: Packet, visited: int,
            here: Post, day: date, to_office: Post | None = None) -> None:
    """A new route from where the packet is (`here`, reached on `day`), keeping the stops it passed
    (`visited` of the route's items). `to_office` sends it to a new addressee."""
    if to_office is not None:
        packet.to_office, packet.to_division = to_office.code, to_office.division_code
    dest = directory.post(packet.to_office) if packet.to_office else None
    onward, arrival = _planned(session, settings, directory,
                               route_stops(directory, here, dest, packet.to_division), day, dest is None)
    packet.route = packet.route[:visited] + onward
    packet.expected_arrival = arrival
    session.add(packet)
