"""Working with carriers: sending the carrier outbox (bookings, pick-ups, cancellations), recording the
tracking events a carrier pushes or we fetch as custody events with the carrier as actor, asking for a
pick-up at the hall, and noticing a packet its carrier has gone quiet about.

The addressee's full name, phone and address leave only here, unsealed for the carrier's API call and
never stored unsealed (the outbox row holds no personal data; the shipment is built at send time).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from config import claims, clock
from mailing import postage
from mailing.carriers import CarrierError, Party, Shipment, TrackEvent, carrier, carrier_name, names
from mailing.carriers.ems import CODE_TITLES, CODES, UNDELIVERED
from mailing.states import PacketStatus, ScanType
from mailing.tables import CarrierEvent, CarrierRequest, Packet, PacketEvent
from routing.calendars import work_calendar
from routing.reference import directory as load_directory
from routing.tables import Office
from tracking.commands import custody
from tracking.model.context import SYSTEM, Actor, Env
from tracking.model.errors import Refused, forbidden, rule
from tracking.model.inputs import BeijingDatetime, Command, optional
from tracking.model.messages import tell
from tracking.model.tables import Case

ERROR_CHARS = 500
MAX_RETRY = timedelta(hours=6)
IN_CARRIERS_HANDS = (PacketStatus.DISPATCHED.value, PacketStatus.ARRIVED_HUB.value,
                     PacketStatus.DEPARTED_HUB.value, PacketStatus.OUT_FOR_DELIVERY.value)
POLL_CHUNK = 50  # waybills asked for in one call
PERSONAL = ("signerName", "receiverName", "receiverMobile")  # fields of a carrier's event never kept in clear


def carrier_actor(name: str) -> Actor:
    """Who a carrier's event is recorded as: the carrier, not any person of ours."""
    return Actor(f"carrier:{name}", "carrier")


# -- the shipment, built at send time ---------------------------------------------------------------

def _division_names(directory, code: str) -> tuple[str, str, str]:
    names_up: list[tuple[str, str]] = []
    place = directory.place(code)
    while place is not None:
        names_up.append((place.level, place.name))
        place = directory.place(place.parent_code) if place.parent_code else None
    by_level = dict(names_up)
    return by_level.get("province", ""), by_level.get("city", ""), by_level.get("county", "")


def _office_party(session: Session, directory, code: str) -> Party:
    office = session.get(Office, code)
    province, city, county = _division_names(directory, office.division_code)
    return Party(name=office.name, phone=office.phone, address=office.address, division_code=office.division_code,
                 province=province, city=city, county=county, postcode=office.postcode, company=office.name)


def shipment_of(session: Session, env: Env, packet: Packet, directory=None) -> Shipment:
    """The packet as the carrier must know it: the full address and phone (the label masks them)."""
    directory = directory or load_directory(session)
    sender = _office_party(session, directory, packet.from_office)
    if packet.to_office:
        receiver = _office_party(session, directory, packet.to_office)
    else:
        person = env.sealer.open(packet.to_person_sealed) or {}
        province, city, county = _division_names(directory, packet.to_division)
        receiver = Party(name=person.get("name", ""), phone=person.get("phone", ""),
                         address=person.get("address", ""), division_code=packet.to_division,
                         province=province, city=city, county=county)
    return Shipment(order_no=packet.tracking_no,
                    waybill_no=packet.tracking_no if env.settings.carrier_own_numbers else None,
                    sender=sender, receiver=receiver, weight_grams=packet.weight_grams or 0,
                    pieces=1, note=f"政务专递 {len(packet.contents)}件材料")


# -- the outbox --------------------------------------------------------------------------------------

def _backoff(env: Env, attempts: int) -> timedelta:
    return claims.backoff(env.settings.carrier_retry_seconds, int(MAX_RETRY.total_seconds()), attempts)


def _call(session: Session, env: Env, row: CarrierRequest) -> dict:
    """The carrier call a request stands for; answers what to keep of the carrier's answer."""
    adapter = carrier(env.settings, row.carrier)
    packet = session.get(Packet, row.packet_id) if row.packet_id else None
    if row.kind == "book":
        booking = adapter.book(shipment_of(session, env, packet))
        return {"waybill_no": booking.waybill_no, "postage_cents": booking.postage_cents,
                "weight_grams": booking.weight_grams, "label_fields": booking.label_fields}
    if row.kind == "cancel":
        adapter.cancel(packet.waybill_no)
        return {"cancelled": packet.waybill_no}
    directory = load_directory(session)
    waybills = row.payload.get("waybill_nos", [])
    pickup_no = adapter.request_pickup(_office_party(session, directory, row.office_code), waybills,
                                       datetime.fromisoformat(row.payload["ready_at"]))
    return {"pickup_no": pickup_no, "waybill_nos": waybills}


def _apply(session: Session, row: CarrierRequest, answer: dict) -> None:
    """What a done request changes here: a booking gives the packet its waybill number and postage."""
    if row.kind != "book":
        return
    packet = session.get(Packet, row.packet_id, with_for_update=True)
    packet.waybill_no = answer["waybill_no"]
    if answer.get("postage_cents") is not None:
        postage.charged_by_carrier(packet, answer["postage_cents"], answer.get("weight_grams"))
    session.add(packet)


def send_carrier_requests(session: Session, env: Env, worker: str, checkpoint, limit: int = 200) -> dict[str, int]:
    """Sends the due requests one at a time: claim (committed), call with no transaction open, record the
    outcome (committed). A refusal by the carrier is dead at once and told to the sending office; a
    timeout or a busy carrier waits and goes again, up to `carrier_max_tries`."""
    done = {"done": 0, "retried": 0, "dead": 0}
    lease = timedelta(seconds=env.settings.carrier_timeout_seconds * 3 + 60)
    tried: set[int] = set()
    while len(tried) < limit:
        row = claims.claim_next(session, CarrierRequest, worker, clock.now(), lease, tried)
        checkpoint()
        if row is None:
            break
        tried.add(row.id)
        answer, error, retry = None, None, False
        try:
            answer = _call(session, env, row)
        except CarrierError as e:
            error, retry = str(e)[:ERROR_CHARS], e.retry
        attempts = row.attempts + 1
        now = clock.now()
        if answer is not None:
            values, outcome = {"status": "done", "answer": answer, "done_at": now, "last_error": None}, "done"
        elif retry and attempts < env.settings.carrier_max_tries:
            values, outcome = {"next_attempt_at": now + _backoff(env, attempts), "last_error": error}, "retried"
        else:
            values, outcome = {"status": "dead", "last_error": error}, "dead"
        if claims.settle(session, CarrierRequest, row.id, worker, attempts=attempts, **values):
            if outcome == "done":
                _apply(session, row, answer)
            elif outcome == "dead":
                _tell_office_of_failure(session, row, error or "")
            done[outcome] += 1
        checkpoint()
    return done


KIND_TITLES = {"book": "下单", "pickup": "预约揽收", "cancel": "取消运单"}


def _tell_office_of_failure(session: Session, row: CarrierRequest, error: str) -> None:
    """The office must act on a dead request: call the carrier, or book by hand."""
    packet = session.get(Packet, row.packet_id) if row.packet_id else None
    case = session.get(Case, packet.case_id) if packet else None
    if case is not None:
        tell(session, case, "carrier_failed", office_code=row.office_code, what=f"邮件{packet.tracking_no}",
             action=KIND_TITLES[row.kind], error=error)


def replay_requests(session: Session, ids: list[int] = (), *, dead: bool = False) -> list[int]:
    """Tries again now: the named requests, or every dead one; a dead one starts its tries afresh."""
    query = select(CarrierRequest).with_for_update()
    query = query.where(CarrierRequest.status == "dead") if dead else query.where(CarrierRequest.id.in_(list(ids)))
    replayed = []
    for row in session.exec(query):
        if row.status in ("done", "void"):
            continue
        row.status, row.attempts, row.next_attempt_at = "pending", 0, clock.now()
        row.claimed_by = row.claimed_until = None
        session.add(row)
        replayed.append(row.id)
    return replayed


# -- pick-ups ----------------------------------------------------------------------------------------

class PickupRequest(Command):
    """预约揽收: the office (staff ask for their own), and when the packets are ready (default: now)."""

    office_code: optional(custody.OfficeCode) = None
    ready_at: optional(BeijingDatetime) = None


@dataclass(frozen=True)
class PickupRequested:
    request_id: int
    carrier: str
    office_code: str
    tracking_nos: list[str]


def request_pickup(session: Session, env: Env, actor: Actor, command: PickupRequest) -> PickupRequested:
    """Asks the office's carrier to collect, at the hall, every packet booked with it and not yet handed
    over. Staff of the office ask; the carrier's answer (its pick-up number) comes when the request is sent."""
    if actor.role not in ("clerk", "officer"):
        raise forbidden("只有窗口或办理人员可以预约揽收。")
    office = command.office_code or actor.office_code
    if office != actor.office_code:
        raise rule("wrong_office", "只能为本机构预约揽收。", "office_code")
    name = carrier_name(env.settings, office)
    if name == "own":
        raise rule("no_carrier", "本机构的邮件由本系统寄递人员按交接清单揽收，无需向承运方预约。", "office_code")
    waiting = session.exec(select(Packet).where(Packet.from_office == office, Packet.carrier == name,
                                                Packet.status == PacketStatus.CREATED.value,
                                                Packet.waybill_no.is_not(None))
                           .order_by(Packet.id)).all()
    if not waiting:
        raise rule("nothing_to_collect", "本机构没有已向承运方下单、等待揽收的邮件。", "office_code")
    now = clock.now()
    numbers = [p.waybill_no for p in waiting]
    row = CarrierRequest(carrier=name, kind="pickup", office_code=office, created_by=actor.username,
                         payload={"waybill_nos": numbers, "tracking_nos": [p.tracking_no for p in waiting],
                                  "ready_at": (command.ready_at or now).isoformat()},
                         created_at=now, next_attempt_at=now)
    session.add(row)
    session.flush()
    return PickupRequested(row.id, name, office, [p.tracking_no for p in waiting])


# -- events ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Heard:
    """What became of one carrier event: recorded (a custody event), duplicate, rejected (kept, with why),
    unknown (a code we do not map: kept and shown) or unmatched (no packet of ours has that waybill)."""

    event_id: str
    outcome: str
    error: str | None = None


def _mapping(event: TrackEvent) -> tuple[ScanType | None, str | None, bool]:
    """(scan type, reason, known): the event's meaning for custody; a known code may map to no scan."""
    if event.code not in CODES:
        return None, None, False
    mapped = CODES[event.code]
    if mapped is None:
        return None, None, True
    scan_type, reason = ScanType(mapped[0]), mapped[1]
    if reason == "failed":
        reason = UNDELIVERED.get(event.reason_code, "recipient_absent")
    return scan_type, reason, True


def _scan_of(env: Env, row: CarrierEvent, name: str, packet: Packet) -> custody.Scan:
    """The custody scan a kept carrier event stands for; a delivery at a door carries its signer."""
    scan_type = ScanType(row.scan_type)
    note = " ".join(x for x in (CODE_TITLES.get(row.code, row.code), row.place, row.description) if x)
    signer = None
    relation = row.raw.get("signer_relation")
    signer_name = env.sealer.open(row.raw["signer_sealed"]) if row.raw.get("signer_sealed") else None
    if scan_type is ScanType.DELIVERED and packet.to_office is None and relation in ("self", "proxy"):
        signer = custody.Signer.model_construct(relation=relation, name=signer_name if relation == "proxy" else None)
        note = f"{note}（{signer.words()}）"
    return custody.Scan.model_construct(
        event_id=custody.derived_event_id(name, row.carrier_event_id), type=scan_type,
        tracking_no=packet.tracking_no, manifest_no=None, at=row.at, office_code=None, note=note[:200],
        reason=row.reason, contents=None, signer=signer)


def record_carrier_events(session: Session, env: Env, name: str, events: list[TrackEvent],
                          via: str = "push") -> list[Heard]:
    """Keeps every event as it came (once: by the carrier's event id) and records the ones it knows as
    custody events with the carrier as actor, in the order they happened, whatever order they came in:
    an event that did not fit when it came (an arrival pushed before the posting) is tried again when
    its packet hears more. Each in its own savepoint: one the packet cannot take is kept as rejected,
    with why, and spoils nothing."""
    latest = clock.now() + timedelta(minutes=env.settings.scan_ahead_minutes)
    kept: dict[str, CarrierEvent | str] = {}
    touched: set[int] = set()
    for event in sorted(events, key=lambda e: (e.at, e.event_id)):
        if event.event_id in kept or session.exec(select(CarrierEvent.id).where(
                CarrierEvent.carrier == name, CarrierEvent.carrier_event_id == event.event_id)).first():
            kept[event.event_id] = "duplicate"
            continue
        packet = session.exec(select(Packet).where(Packet.carrier == name, or_(
            Packet.waybill_no == event.waybill_no, Packet.tracking_no == event.waybill_no))).first()
        scan_type, reason, known = _mapping(event)
        error = None
        if packet is None:
            outcome = "unmatched"
        elif not known:
            outcome = "unknown"
        elif scan_type is None:
            outcome = "noted"
        elif event.at > latest:
            outcome, error = "rejected", "轨迹时间晚于当前时间，请承运方核对设备时钟。"
        else:
            outcome = "waiting"
        row = CarrierEvent(carrier=name, carrier_event_id=event.event_id, waybill_no=event.waybill_no,
                           packet_id=packet.id if packet else None, code=event.code,
                           description=event.description[:500], place=event.place[:200], at=event.at,
                           received_at=clock.now(), via=via, scan_type=scan_type.value if scan_type else None,
                           reason=reason, outcome=outcome, error=error,
                           raw={"signer_sealed": env.sealer.seal(event.signer_name) if event.signer_name else "",
                                "signer_relation": event.signer_relation,
                                # as the carrier sent it, less who signed (a person's name is kept sealed)
                                "carrier": {k: v for k, v in event.raw.items() if k not in PERSONAL}})
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # the same event pushed twice at once: the other request kept it
            kept[event.event_id] = "duplicate"
            continue
        kept[event.event_id] = row
        if packet is not None and outcome == "waiting":
            touched.add(packet.id)
        elif packet is not None and outcome in ("unknown", "noted"):
            _still_news(session, packet, event)
    directory = load_directory(session)
    for packet_id in sorted(touched):
        _apply_waiting(session, env, name, packet_id, directory)
    return [Heard(event_id, row) if isinstance(row, str) else Heard(event_id, row.outcome, row.error)
            for event_id, row in kept.items()]


def _apply_waiting(session: Session, env: Env, name: str, packet_id: int, directory) -> None:
    """Records a packet's carrier events that wait or were refused for their order, oldest first, until
    a pass records nothing more."""
    actor = carrier_actor(name)
    rows = session.exec(select(CarrierEvent).where(CarrierEvent.packet_id == packet_id, CarrierEvent.carrier == name,
                                                   CarrierEvent.outcome.in_(("waiting", "rejected")),
                                                   CarrierEvent.scan_type.is_not(None))
                        .order_by(CarrierEvent.at, CarrierEvent.id)).all()
    progress = True
    while progress and rows:
        progress, left = False, []
        for row in rows:
            packet = session.get(Packet, packet_id)
            try:
                with session.begin_nested():
                    done = custody.record_trusted_scan(session, env, actor, _scan_of(env, row, name, packet), directory)
                row.outcome, row.error = ("duplicate" if done.status == "duplicate" else "recorded"), None
                progress = True
            except Refused as e:
                row.outcome, row.error = "rejected", e.message
                left.append(row)
            session.add(row)
        rows = left
    session.flush()


def _still_news(session: Session, packet: Packet, event: TrackEvent) -> None:
    """An event that made no custody event is still the carrier's latest word on the packet (silence)."""
    if packet.last_event_at is None or event.at > packet.last_event_at:
        packet.last_event_at = event.at
        session.add(packet)


def poll_carriers(session: Session, env: Env, checkpoint) -> dict[str, int]:
    """Fetches the events of every packet in a carrier's hands (booked, not yet arrived): fills what
    pushes missed. Answers {carrier: events kept}."""
    done: dict[str, int] = {}
    for name in names(env.settings):
        if name == "own":
            continue
        waybills = session.exec(select(Packet.waybill_no).where(
            Packet.carrier == name, Packet.waybill_no.is_not(None),
            Packet.status.in_((PacketStatus.CREATED.value, *IN_CARRIERS_HANDS))).order_by(Packet.id)).all()
        checkpoint()
        adapter = carrier(env.settings, name)
        count = 0
        for i in range(0, len(waybills), POLL_CHUNK):
            try:
                events = adapter.fetch_events(list(waybills[i:i + POLL_CHUNK]))
            except CarrierError:
                break  # the next poll tries again
            heard = record_carrier_events(session, env, name, events, via="poll")
            count += sum(1 for h in heard if h.outcome != "duplicate")
            checkpoint()
        done[name] = count
    return done


# -- silence -----------------------------------------------------------------------------------------

def mark_silent_packets(session: Session, env: Env, as_of: date) -> int:
    """A packet in a carrier's hands it has said nothing of for `carrier_silent_days` working days becomes
    an exception (once per silence: a later event starts a new one)."""
    calendar = work_calendar(session)
    directory = load_directory(session)
    days = env.settings.carrier_silent_days
    packets = session.exec(select(Packet).where(Packet.carrier != "own", Packet.status.in_(IN_CARRIERS_HANDS))
                           .order_by(Packet.id)).all()
    marked = 0
    for packet in packets:
        last = packet.last_event_at or packet.dispatched_at
        if last is None or calendar.add_working_days(clock.beijing_date(last), days)[0] > as_of:
            continue
        silent = session.exec(select(PacketEvent.id).where(PacketEvent.packet_id == packet.id,
                                                           PacketEvent.reason == "carrier_silent",
                                                           PacketEvent.at >= last)).first()
        if silent:
            continue
        scan = custody.Scan.model_construct(
            event_id=custody.derived_event_id(f"silent:{packet.tracking_no}", clock.iso(last)),
            type=ScanType.EXCEPTION, tracking_no=packet.tracking_no, manifest_no=None,
            at=clock.now(), office_code=None, reason="carrier_silent", contents=None, signer=None,
            note=f"承运方自{clock.beijing(last):%m月%d日}起已{days}个工作日无轨迹。")
        try:
            with session.begin_nested():
                custody.record_trusted_scan(session, env, SYSTEM, scan, directory)
            marked += 1
        except Refused:
            continue
    return marked


def packet_carrier_events(session: Session, packet: Packet) -> list[CarrierEvent]:
    return session.exec(select(CarrierEvent).where(CarrierEvent.packet_id == packet.id)
                        .order_by(CarrierEvent.at, CarrierEvent.id)).all()

