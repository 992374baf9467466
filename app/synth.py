"""Synthetic cases at scale (`flask --app app synth --cases N`): realistic histories, written fast.

Each case is computed in Python as the use cases would have left it: intake's case number, sealing and
masking, the routing rule's owning office, packets planned on the route model with their custody scans,
case and packet events chained under the chain key, the promise (`deadlines.case_promise`) and the stored
stage deadlines (`stage_store.stored_values`). Worker processes make the rows of a chunk at a time; this
process writes each chunk with bulk statements (the driver's executemany on SQLite, COPY on PostgreSQL),
one commit per chunk, no ORM object per row.

Case numbers and S10 numbers never collide with intake's: the day counters and the S10 counter move past
every number used here, so intake goes on after them. Meant for an otherwise idle database: ids are
assigned here (from the current maximum) and PostgreSQL's sequences are moved past them at the end.
"""
from __future__ import annotations

import bisect
import collections
import itertools
import json
import math
import multiprocessing
import os
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from config import clock
from config.database import new_session
from config.settings import Settings
from mailing import s10
from mailing.chain import event_hash
from mailing.numbers import SERIALS_PER_PREFIX
from mailing.packets import route_stops
from mailing.postage import load_tariff, payer_side, price, weigh
from mailing.tables import Counter, Packet, PacketEvent
from routing.calendars import work_calendar
from routing.directory import Post, RoutingError, owning_office
from routing.matter_types import deems_acceptance
from routing.reference import directory as load_directory
from routing.tables import Matter
from routing.transit import ServiceStandards, leg_days, zone
from tracking.model import identity
from tracking.model.deadlines import Limits, case_deadlines, case_promise
from tracking.model.sealing import Sealer
from tracking.model.tables import Case, CaseEvent

_EPSILON = 1e-9  # as routing.transit: 0.5 + 0.5 is one day
_EVENING = timedelta(hours=8)

# the open statuses and how many of the open cases stand in each (a day's snapshot of a busy province)
OPEN_SPREAD = {"collected": 8, "in_transit": 24, "received": 12, "supplement_requested": 5,
               "supplement_in_transit": 2, "accepted": 32, "decided": 6, "result_in_transit": 7,
               "ready_for_pickup": 4}
# the ends of finished cases (the rest are delivered, and archived a month after)
ENDS = {"rejected": 0.025, "withdrawn": 0.012, "deemed_withdrawn": 0.004}
# open stages whose clock can run late (the others wait on the applicant or the post)
CAN_BE_LATE = {"collected", "in_transit", "received", "accepted", "decided"}
LATE_SHARE = 0.15  # of the open cases in those statuses

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉红建文斌宇浩凯健俊帆帅旭宁龙林欣佳怡晨雪琳颖倩婷"
ROADS = ("人民路", "解放路", "建设路", "和平街", "中山路", "新华街", "文化路", "胜利街", "迎宾路", "学府街")
FIRMS = ("宏达", "鑫源", "恒信", "华泰", "嘉禾", "瑞丰", "永盛", "众诚", "博远", "晋阳")
TRADES = ("商贸", "建材", "餐饮", "物流", "科技", "农业", "食品", "机械")
REJECTIONS = ("申请事项不属于本机关职权范围", "申请材料不符合法定形式且未按期补正", "申请人不具备申请资格")
WITHDRAWALS = ("申请人主动撤回申请", "申请人已在办理地直接办理")
_CREDIT = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class _Packet:
    row: dict
    origin: Post
    to_office: Post | None
    events: list = field(default_factory=list)  # payload dicts without packet_id and the chain fields
    stops: list = field(default_factory=list)   # its route, and each stop's working days from the start
    offsets: list = field(default_factory=list)


@dataclass
class _History:
    case: dict
    events: list = field(default_factory=list)
    packets: list = field(default_factory=list)
    entered: date | None = None   # the day the case entered its current status
    due: date | None = None       # the day its current step is due (for placing open cases)
    last: date | None = None      # the day of its last event


class _Times:
    """Times of day that only move forward: the first event of a day in office hours, the next ones after it."""

    def __init__(self, rng: random.Random):
        self.rng, self.last = rng, None

    def at(self, day: date) -> datetime:
        step = self.rng.randrange(8 * 3600)
        if self.last is None or day > self.last.date():
            t = datetime(day.year, day.month, day.day, 8, 30, tzinfo=clock.BEIJING) + timedelta(seconds=step)
        else:
            t = self.last + timedelta(seconds=60 + step // 12)
        self.last = t
        return t


class _World:
    """What every case draws on, read once: the directory, the calendar, the matters, the tariff, the pools."""

    def __init__(self, session, settings: Settings, sealer: Sealer, seed: int, today: date, days: int):
        rng = random.Random(seed)
        self.settings, self.sealer, self.rng, self.seed = settings, sealer, rng, seed
        self.directory = load_directory(session)
        self.cal = work_calendar(session)
        self.limits = Limits.from_settings(settings)
        self.standards = ServiceStandards.from_settings(settings)
        self.tariff = load_tariff(settings)
        self.today, self.days = today, days
        first, last = today - timedelta(days=days + 400), today + timedelta(days=400)
        self.workdays = [first + timedelta(days=n) for n in range((last - first).days)
                         if self.cal.is_working_day(first + timedelta(days=n))]
        self.last_idx = bisect.bisect_left(self.workdays, today) - 1  # nothing happens on `today` itself
        self.first_idx = bisect.bisect_left(self.workdays, today - timedelta(days=days))
        self.halls = sorted((p for p in self.directory.posts.values() if p.kind == "hall"), key=lambda p: p.code)
        # busier halls and popular matters: a long tail, fixed by the seed
        self.hall_weights = list(itertools.accumulate(rng.lognormvariate(0, 0.8) for _ in self.halls))
        matters = [m for m in session.execute(select(Matter).order_by(Matter.code)).scalars() if m.active and "proxy" in m.modes]
        self.owners = {m.code: self._candidates(m) for m in matters}
        self.matters = [m for m in matters if self.owners[m.code]]
        rng.shuffle(self.matters)
        self.matter_weights = list(itertools.accumulate(1 / (rank + 1) ** 0.7 for rank in range(len(self.matters))))
        self._pairs: dict[tuple[str, str], tuple[list, list]] = {}
        self._applicants: dict[tuple, dict] = {}
        self._routes: dict[tuple, tuple] = {}
        self._adds: dict[tuple[date, int], date] = {}

    # -- routing, once per matter and per (matter, hall division) ----------------------------------------
    def _candidates(self, matter: Matter) -> list[tuple[str, Post]]:
        """(the division that decides, the owning office) for every county the matter can be routed from."""
        found = []
        for place in self.directory.places.values():
            if place.level != "county":
                continue
            try:
                owner = owning_office(self.directory, rule=matter.jurisdiction, department=matter.department,
                                      level=matter.level, household_division=place.code,
                                      subject_division=place.code, registration_division=place.code)
            except RoutingError:
                continue
            found.append((place.code, owner))
        return sorted(found, key=lambda c: c[0])

    def pair(self, matter: Matter, hall: Post) -> tuple[list, list]:
        """The candidates a hall may collect for (not its own locality: intake refuses those), nearby first."""
        key = (matter.code, hall.division_code)
        if key not in self._pairs:
            away = [c for c in self.owners[matter.code] if c[1].division_code != hall.division_code]
            province = hall.division_code[:2]
            self._pairs[key] = ([c for c in away if c[0][:2] == province], away)
        return self._pairs[key]

    # -- working days -----------------------------------------------------------------------------------
    def add(self, day: date, n: int) -> date:
        key = (day, n)
        found = self._adds.get(key)
        if found is None:
            found = self._adds[key] = self.cal.add_working_days(day, n)[0]
        return found

    def idx(self, day: date) -> int:
        return bisect.bisect_right(self.workdays, day) - 1

    def shifted(self, day: date, n: int) -> date:
        return self.workdays[max(0, min(len(self.workdays) - 1, self.idx(day) + n))]

    # -- routes ------------------------------------------------------------------------------------------
    def route(self, origin: Post, to_office: Post | None, to_division: str) -> tuple[list[Post], list[int], int]:
        """Stops, each stop's working days from the start, the arrival's (routing.transit.schedule's sums)."""
        key = (origin.code, to_office.code if to_office else None, to_division)
        found = self._routes.get(key)
        if found is None:
            stops = route_stops(self.directory, origin, to_office, to_division)
            total, offsets = 0.0, [0]
            for a, b in zip(stops, stops[1:]):
                total += leg_days(self.directory, a, b, self.standards)
                offsets.append(math.ceil(total - _EPSILON))
            arrival = offsets[-1] if to_office is not None else \
                math.ceil(total + self.standards.same_city - _EPSILON)
            found = self._routes[key] = (stops, offsets, arrival)
        return found

    # -- people ------------------------------------------------------------------------------------------
    def applicant(self, kind: str, division: str) -> dict:
        """A synthetic applicant living (or registered) in `division`: a few per place, sealed once."""
        key = (kind, division, self.rng.randrange(3))
        found = self._applicants.get(key)
        if found is None:  # the same person in whichever worker makes it first
            found = self._applicants[key] = self._person_or_firm(kind, division, random.Random(f"{self.seed}:{key}"))
        return found

    def _name(self, r: random.Random) -> str:
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def _person(self, division: str, r: random.Random) -> dict:
        born = date(1950, 1, 1) + timedelta(days=r.randrange(54 * 365))
        first17 = f"{division}{born:%Y%m%d}{r.randrange(1000):03d}"
        return {"kind": "person", "name": self._name(r), "id_type": "resident_id",
                "id_number": first17 + identity.resident_id_check_char(first17),
                "phone": f"1{r.choice('3456789')}{r.randrange(10**9):09d}",
                "address": f"{self.directory.full_name(division)}{r.choice(ROADS)}{r.randrange(1, 300)}号",
                "division_code": division}

    def _person_or_firm(self, kind: str, division: str, r: random.Random) -> dict:
        if kind == "organisation":
            agent = self._person(division, r)
            first17 = "91" + division + "".join(r.choice(_CREDIT) for _ in range(9))
            place = self.directory.place(division)
            sealed = {"kind": "organisation", "name": f"{place.name}{r.choice(FIRMS)}{r.choice(TRADES)}有限公司",
                      "credit_code": first17 + identity.credit_code_check_char(first17),
                      "phone": agent["phone"], "address": agent["address"], "division_code": division,
                      "agent": agent}
            masked = {"kind": "organisation", "name": sealed["name"],
                      "credit_code": identity.mask_credit_code(sealed["credit_code"]),
                      "phone": identity.mask_phone(sealed["phone"]),
                      "agent": {"name": identity.mask_name(agent["name"]),
                                "id_number": identity.mask_id_number(agent["id_number"]),
                                "phone": identity.mask_phone(agent["phone"])}}
            id_value, holder = sealed["credit_code"], agent
        else:
            sealed = self._person(division, r)
            masked = {"kind": "person", "name": identity.mask_name(sealed["name"]),
                      "id_number": identity.mask_id_number(sealed["id_number"]),
                      "phone": identity.mask_phone(sealed["phone"])}
            id_value, holder = sealed["id_number"], sealed
        s = self.sealer
        return {"kind": kind, "name": sealed["name"], "holder": holder, "sealed": s.seal(sealed), "masked": masked,
                "id_hash": s.lookup_hash(id_value), "phone_hash": s.lookup_hash(sealed["phone"]),
                "address_sealed": s.seal(sealed["address"]),
                "recipient_sealed": s.seal({"name": sealed["name"], "phone": holder["phone"],
                                            "address": sealed["address"]})}

    def postage(self, matter_code: str, kind: str, origin: Post, to_division: str, contents: list,
                collecting: str, owning: str) -> dict:
        grams = weigh(self.tariff, contents)
        side = payer_side(self.tariff, matter_code, kind)
        return {"weight_grams": grams, "postage_source": "tariff",
                "postage_cents": price(self.tariff, zone(self.directory, origin.division_code, to_division), grams),
                "postage_payer": (collecting if side == "collecting" else owning) if side else origin.code}


def _staff(role: str, office: str) -> tuple[str, str, str]:
    return f"{role}-{office}".lower(), role, office


SYSTEM = ("system", "system", None)
APPLICANT = ("applicant", "public", None)


# -- one case's history ----------------------------------------------------------------------------------

@dataclass
class _Spec:
    """What is drawn for a case before its dates: who, what, where, and how its story goes."""
    seed: int
    matter: Matter
    hall: Post
    home: str
    owner: Post
    applicant: dict
    method: str
    materials: list
    files_only: bool
    target: str              # the status it ends in (as of `today`)
    supplement: bool
    deemed: bool
    outcome: str
    late: bool               # an open case past its stage's due date


def _draw(world: _World, rng: random.Random, case_seed: int, open_: bool) -> _Spec:
    while True:
        hall = rng.choices(world.halls, cum_weights=world.hall_weights)[0]
        matter = rng.choices(world.matters, cum_weights=world.matter_weights)[0]
        near, away = world.pair(matter, hall)
        if away:
            break
    home, owner = rng.choice(near if near and rng.random() < 0.55 else away)
    kinds = matter.applicant_kinds
    kind = "person" if "person" in kinds and ("organisation" not in kinds or rng.random() < 0.8) else "organisation"
    applicant = world.applicant(kind, home)
    paper, electronic = "paper" in matter.result_types, "electronic" in matter.result_types
    if paper and electronic:
        method = rng.choices(("mail", "pickup", "electronic"), (45, 35, 20))[0]
    else:
        method = "electronic" if electronic else rng.choices(("mail", "pickup"), (55, 45))[0]
    files_only = rng.random() < 0.05
    materials = []
    for m in matter.materials:
        if m.get("required") or rng.random() < 0.4:
            item = {"code": m["code"], "name": m["name"], "copies": 1 if rng.random() < 0.9 else 2,
                    "original": bool(m.get("original"))}
            if files_only:
                item["travels"] = "file"
            materials.append(item)
    if not materials:
        files_only = False
    if open_:
        target = rng.choices(list(OPEN_SPREAD), list(OPEN_SPREAD.values()))[0]
        if files_only and target in ("in_transit", "supplement_requested", "supplement_in_transit"):
            target = "collected" if target == "in_transit" else "received"
        if method == "electronic" and target in ("result_in_transit", "ready_for_pickup"):
            target = "decided"
        elif method == "mail" and target == "ready_for_pickup":
            target = "result_in_transit"
        elif method == "pickup" and target == "result_in_transit" and rng.random() < 0.3:
            target = "ready_for_pickup"
    else:
        roll, target = rng.random(), "delivered"
        for end, share in ENDS.items():
            if roll < share:
                target = end
                break
            roll -= share
    supplement = target in ("supplement_requested", "supplement_in_transit", "deemed_withdrawn") or \
        (not files_only and target not in ("collected", "in_transit", "received") and rng.random() < 0.07)
    deemed = deems_acceptance(matter.type) and not supplement and rng.random() < 0.05
    late = open_ and target in CAN_BE_LATE and rng.random() < LATE_SHARE
    if target == "received" and deems_acceptance(matter.type):
        late = False  # the sweep would have deemed it accepted
    return _Spec(case_seed, matter, hall, home, owner, applicant, method, materials, files_only, target,
                 supplement, deemed, "approved" if rng.random() < 0.96 else "refused", late)


class _Story:
    """Writes one case's history from its intake day, stopping at its target status and at `until`."""

    def __init__(self, world: _World, spec: _Spec, d0: date, until: date, check_sealed: str):
        self.w, self.s, self.until = world, spec, until
        self.rng = random.Random(spec.seed)
        self.t = _Times(self.rng)
        matter, hall, owner = spec.matter, spec.hall, spec.owner
        self.clerk, self.officer = _staff("clerk", hall.code), _staff("officer", owner.code)
        self.status = "collected"
        mail = spec.method == "mail"
        self.h = _History(case={
            "case_no": "", "matter_code": matter.code, "status": "collected", "collecting_office": hall.code,
            "owning_office": owner.code, "applicant_kind": spec.applicant["kind"],
            "applicant_sealed": spec.applicant["sealed"], "applicant_masked": spec.applicant["masked"],
            "id_hash": spec.applicant["id_hash"], "phone_hash": spec.applicant["phone_hash"],
            "check_code_sealed": check_sealed, "sms_opt_out": False, "email_sealed": None, "check_code_hash": None,
            "subject": {"division_code": spec.home, "description": ""} if matter.jurisdiction == "subject" else None,
            "materials": spec.materials, "identity_check": {"method": "id_card_reader", "passed": True},
            "result_method": spec.method, "result_division": spec.home if mail else None,
            "result_address_sealed": spec.applicant["address_sealed"] if mail else None, "note": "",
            "intake_date": d0, "due_date": d0, "due_date_provisional": False, "due_date_estimated": True,
            "expected_result_date": None, "extension_days": 0, "extension_reason": None, "extended_at": None,
            "created_by": self.clerk[0], "created_at": None, "received_at": None, "accepted_at": None,
            "supplement_requested_at": None, "supplement_due": None, "supplement_materials": None,
            "supplement_received_at": None, "decided_at": None, "outcome": None, "delivered_at": None,
            "closed_at": None, "reason": "", "ended_at": None, "deemed_accepted": False, "flags": [],
            "contents_problems": []})

    # -- recording ----------------------------------------------------------------------------------------
    def event(self, at: datetime, type_: str, who: tuple, data: dict | None = None, *, status: str | None = None,
              office: str | None = None) -> None:
        if status is not None:
            self.status = self.h.case["status"] = status
            self.h.entered = at.date()
        self.h.events.append({"type": type_, "status_after": self.status, "actor": who[0], "role": who[1],
                              "office_code": office or who[2], "at": at, "recorded_at": at, "client_txn": None,
                              "data": data or {}})
        self.h.last = at.date()

    def packet(self, kind: str, origin: Post, to_office: Post | None, to_division: str, contents: list,
               at: datetime, person_sealed: str | None = None) -> _Packet:
        case = self.h.case
        row = {"tracking_no": None, "kind": kind, "status": "created", "from_office": origin.code,
               "to_office": to_office.code if to_office else None, "to_division": to_division,
               "to_person_sealed": person_sealed, "contents": contents, "route": [], "expected_arrival": None,
               "replaces_id": None, "created_at": at, "dispatched_at": None, "arrived_at": None,
               "failed_attempts": 0, "last_event_at": None, "carrier": "own", "waybill_no": None,
               **self.w.postage(case["matter_code"], kind, origin, to_division, contents, case["collecting_office"],
                                case["owning_office"])}
        made = _Packet(row, origin, to_office)
        self._plan(made, at.date())
        self.h.packets.append(made)
        return made

    def _plan(self, p: _Packet, start: date) -> None:
        stops, offsets, arrival = self.w.route(p.origin, p.to_office, p.row["to_division"])
        p.stops, p.offsets = stops, offsets
        p.row["route"] = [{"office_code": s.code, "name": s.name, "expected": self.w.add(start, o).isoformat()}
                          for s, o in zip(stops, offsets)]
        p.row["expected_arrival"] = self.w.add(start, arrival)

    def scan(self, p: _Packet, at: datetime, type_: str, who: tuple, office: str | None) -> int:
        """A custody scan; its id (from the tracking number, known once numbered) is made when written."""
        status = p.row["status"] = type_
        p.events.append({"event_id": None, "type": type_, "status_after": status, "at": at,
                         "recorded_at": at + timedelta(seconds=self.rng.randrange(1, 90)), "actor": who[0],
                         "role": who[1], "office_code": office, "note": "", "reason": None, "contents": None,
                         "client_txn": None})
        p.row["last_event_at"] = at
        if type_ == "dispatched":
            p.row["dispatched_at"] = at
        if type_ in ("delivered", "received") and p.row["arrived_at"] is None:
            p.row["arrived_at"] = at
        self.h.last = at.date()
        return len(p.events) - 1

    def travel(self, p: _Packet, day: date, sender: tuple, receiver: tuple | None, moves: str | None) -> date | None:
        """Dispatch on `day`, the hubs on their planned days, the arrival (late now and then). `moves`: the
        case event the dispatch records. Returns the arrival day, or None while still travelling at `until`."""
        jitter = self.rng.choices((-1, 0, 1, 2), (5, 75, 15, 5))[0]
        at = self.t.at(day)
        n = self.scan(p, at, "dispatched", sender, sender[2])
        self._plan(p, day)  # rescheduled from the day it left, as custody does
        if moves:
            self.event(at, moves, sender, {"tracking_no": "", "packet_kind": p.row["kind"]}, status=moves)
            self.h.events[-1]["_scan"] = (p, n)
        home = p.to_office is None
        hubs = p.stops[1:] if home else p.stops[1:-1]
        for hub, offset in zip(hubs, p.offsets[1:]):
            when = self.w.add(day, offset)
            if when > self.until:
                return None
            courier = _staff("courier", hub.code)
            self.scan(p, self.t.at(when), "arrived_hub", courier, hub.code)
            if home and hub is hubs[-1]:
                break
            self.scan(p, self.t.at(when), "departed_hub", courier, hub.code)
        arrival = max(self.w.shifted(p.row["expected_arrival"], jitter), self.h.last)
        if arrival > self.until:
            return None
        if home:
            courier = _staff("courier", hubs[-1].code if hubs else p.origin.code)
            self.scan(p, self.t.at(arrival), "out_for_delivery", courier, courier[2])
            self.scan(p, self.t.at(arrival), "delivered", courier, courier[2])
        else:
            self.scan(p, self.t.at(arrival), "received", receiver, receiver[2])
        return arrival

    def moved_by(self, p: _Packet, type_: str, who: tuple, status: str, **extra) -> None:
        """The case event a packet's last scan records (data names the packet, the scan's id is the txn)."""
        last = p.events[-1]
        self.event(last["at"], type_, who, {"tracking_no": "", "packet_kind": p.row["kind"], **extra},
                   status=status, office=last["office_code"])
        self.h.events[-1]["_scan"] = (p, len(p.events) - 1)

    # -- the story ----------------------------------------------------------------------------------------
    def tell(self) -> _History:
        s, w, h, r, case = self.s, self.w, self.h, self.rng, self.h.case
        d0 = case["intake_date"]
        hall, owner, limits = s.hall, s.owner, w.limits
        # every draw is made up front, so that a case told again from another day draws the same
        dispatch_delay = r.choices((0, 1, 2, 3), (55, 38, 5, 2))[0]
        notice_delay = r.choices((1, 2, 3, 4), (40, 30, 20, 10))[0]
        accept_delay = r.choices((0, 1, 2, 3, 4), (20, 45, 20, 10, 5))[0]
        promised = s.matter.promised_days
        decide_delay = r.randint(max(1, promised // 3), promised) if r.random() < 0.95 else promised + r.randint(1, 3)
        supplement_wait = r.randint(2, 9)
        result_delay = r.choices((0, 1, 2), (50, 45, 5))[0]
        pickup_wait = r.choices((0, 1, 2, 5, 10), (20, 35, 25, 15, 5))[0]
        download_wait = r.choices((0, 1, 3), (60, 30, 10))[0]
        end_delay = r.randint(1, 4)
        wanted = r.sample(s.materials, min(len(s.materials), r.choice((1, 1, 2))))
        reasons = (r.choice(REJECTIONS), r.choice(WITHDRAWALS))

        t0 = self.t.at(d0)
        case["created_at"] = t0
        self.event(t0, "collected", self.clerk, {"materials": len(s.materials), "owning_office": owner.code},
                   status="collected")
        h.due = w.add(d0, limits.dispatch)
        if s.files_only:
            outbound = None
        else:
            contents = [{k: m[k] for k in ("code", "name", "copies", "original") if k in m} for m in s.materials]
            outbound = self.packet("outbound", hall, owner, owner.division_code, contents, t0)
        if s.target == "collected":
            return h
        # the materials leave (or their scans go up) and reach the owning office
        day = w.add(d0, dispatch_delay) if dispatch_delay else d0
        if outbound is None:
            at = self.t.at(day)
            self.event(at, "files_uploaded", self.clerk, {"purpose": "material", "files": []})
            case["received_at"] = at
            self.event(at, "received", self.clerk, {"how": "files", "files": len(s.materials)}, status="received")
            received = day
        else:
            received = self.travel(outbound, day, self.clerk, self.officer, "in_transit")
            h.due = outbound.row["expected_arrival"]
            if received is None or s.target == "in_transit":
                return h
            case["received_at"] = outbound.events[-1]["at"]
            self.moved_by(outbound, "received", self.officer, "received")
        h.due = w.add(received, limits.supplement_notice)
        if s.target == "received":
            return h
        since = received
        if s.target in ("rejected", "withdrawn") and not s.supplement:
            return self._end(w.add(received, end_delay), reasons)
        if s.supplement:
            at = self.t.at(w.add(received, notice_delay))
            due = w.add(at.date(), w.settings.supplement_due_days)
            case.update(supplement_requested_at=at, supplement_due=due,
                        supplement_materials=[{"code": m["code"], "name": m["name"]} for m in wanted])
            self.event(at, "supplement_requested", self.officer,
                       {"materials": [m["code"] for m in wanted], "due": due.isoformat(), "note": ""},
                       status="supplement_requested")
            h.due = due
            if s.target == "supplement_requested":
                return h
            if s.target == "deemed_withdrawn":
                return self._end(w.add(due, 1), reasons, deemed=True)
            if s.target == "rejected":
                return self._end(w.add(at.date(), end_delay), reasons)
            day = w.add(at.date(), supplement_wait)
            at = self.t.at(day)
            contents = [{"code": m["code"], "name": m["name"], "copies": 1, "original": False} for m in wanted]
            extra = self.packet("supplement", hall, owner, owner.division_code, contents, at)
            self.event(at, "supplement_collected", self.clerk, {"tracking_no": ""})
            self.h.events[-1]["_scan"] = (extra, None)
            arrived = self.travel(extra, w.add(day, 1) if dispatch_delay else day, self.clerk, self.officer,
                                  "supplement_in_transit")
            h.due = extra.row["expected_arrival"]
            if arrived is None or s.target == "supplement_in_transit":
                return h
            case["supplement_received_at"] = extra.events[-1]["at"]
            self.moved_by(extra, "received", self.officer, "received")
            since = arrived
            if s.target == "withdrawn":
                return self._end(w.add(arrived, end_delay), reasons)
        elif s.target == "withdrawn":
            return self._end(w.add(received, end_delay), reasons)
        # acceptance, the decision, the result
        if s.deemed:
            day = w.add(since, limits.supplement_notice + 1)
            since_at = case["supplement_received_at"] or case["received_at"]
            case.update(accepted_at=since_at, deemed_accepted=True)
            self.event(self.t.at(day), "accepted", SYSTEM,
                       {"deemed": True, "as_of": clock.iso(since_at), "basis": "行政许可法第三十二条"}, status="accepted")
        else:
            at = self.t.at(w.add(since, accept_delay) if accept_delay else since)
            case["accepted_at"] = at
            self.event(at, "accepted", self.officer, status="accepted")
        accepted = clock.beijing_date(case["accepted_at"])
        h.due = w.add(accepted, promised)
        if s.target == "accepted":
            return h
        at = self.t.at(w.add(h.last if s.deemed else accepted, decide_delay))
        case.update(decided_at=at, outcome=s.outcome)
        self.event(at, "decided", self.officer, {"outcome": s.outcome, "note": "", "originals_returned": []},
                   status="decided")
        decided = at.date()
        h.due = w.add(decided, limits.result_dispatch)
        if s.method == "electronic":
            if s.target == "decided":
                return h
            at = self.t.at(w.add(decided, download_wait) if download_wait else decided)
            case["delivered_at"] = at
            self.event(at, "delivered", APPLICANT, {"how": "electronic"}, status="delivered")
            return self._close()
        applicant = s.applicant
        mail = s.method == "mail"
        result = self.packet("result", owner, None if mail else hall, s.home if mail else hall.division_code,
                             [{"code": "result", "name": "办理结果文书", "copies": 1, "original": True}], at,
                             applicant["recipient_sealed"] if mail else None)
        if s.target == "decided":
            return h
        arrived = self.travel(result, w.add(decided, result_delay) if result_delay else decided, self.officer,
                              self.clerk, "result_in_transit")
        h.due = result.row["expected_arrival"]
        if arrived is None or s.target == "result_in_transit":
            return h
        if mail:
            case["delivered_at"] = result.events[-1]["at"]
            last = result.events[-1]
            self.moved_by(result, "delivered", (last["actor"], "courier", last["office_code"]), "delivered")
            return self._close()
        self.moved_by(result, "ready_for_pickup", self.clerk, "ready_for_pickup")
        h.due = w.add(arrived, 10)
        if s.target == "ready_for_pickup":
            return h
        at = self.t.at(w.add(arrived, pickup_wait) if pickup_wait else arrived)
        holder = applicant["holder"]
        case["delivered_at"] = at
        self.event(at, "delivered", self.clerk, {
            "how": "pickup", "identity_check": "id_card_reader",
            "collector": {"relation": "self" if applicant["kind"] == "person" else "agent", "name": holder["name"],
                          "id_number": identity.mask_id_number(holder["id_number"]),
                          "identity_check": {"method": "id_card_reader", "passed": True}}}, status="delivered")
        return self._close()

    def _end(self, day: date, reasons: tuple[str, str], deemed: bool = False) -> _History:
        case, at = self.h.case, self.t.at(day)
        if deemed:
            case.update(reason="逾期未补正，视为撤回申请", ended_at=at)
            self.event(at, "deemed_withdrawn", SYSTEM, {"supplement_due": case["supplement_due"].isoformat(),
                                                        "as_of": day.isoformat()}, status="deemed_withdrawn")
        elif self.s.target == "rejected":
            case.update(reason=reasons[0], ended_at=at)
            self.event(at, "rejected", self.officer, {"reason": reasons[0]}, status="rejected")
        else:
            case.update(reason=reasons[1], ended_at=at)
            self.event(at, "withdrawn", self.clerk, {"reason": reasons[1]}, status="withdrawn")
        return self.h

    def _close(self) -> _History:
        """Archived by the sweep `close_after_days` after delivery, once that day has come."""
        days = self.w.settings.close_after_days
        day = clock.beijing_date(self.h.case["delivered_at"]) + timedelta(days=days)
        if self.until != date.max and day <= self.until:  # (not while the case is being placed)
            at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=clock.BEIJING) + \
                timedelta(seconds=self.rng.randrange(1800))
            self.h.case["closed_at"] = at
            self.event(at, "closed", SYSTEM, {"after_days": days}, status="closed")
        return self.h


# -- placing a case in time --------------------------------------------------------------------------------

def _placed(world: _World, spec: _Spec, open_: bool, rng: random.Random, check_sealed: str) -> _History:
    """Tells the case from an intake day chosen so that, as of `today`, it stands where it should: a finished
    one ended before today, an open one in its status for a while (past its step's due date if late)."""
    last_day = world.workdays[world.last_idx]
    # most finished cases take under a month: drawn where they can end before today, as few are told twice
    latest = world.last_idx if open_ else max(world.first_idx, world.last_idx - 30)
    d0 = world.workdays[rng.randrange(world.first_idx, latest + 1)]
    draw = rng.random()
    for _ in range(4):  # the calendar's holidays may move a step by a day: placed again from where it landed
        story = _Story(world, spec, d0, date.max, check_sealed)
        history = story.tell()
        if open_:
            entered = world.idx(history.entered)
            span = max(1, world.idx(history.due) - entered)
            gap = span + int(draw * 5) if spec.late else int(draw * span)
            move = world.last_idx - gap - entered
        else:
            move = min(0, world.last_idx - world.idx(history.last))
        if move == 0:
            break
        d0 = world.shifted(d0, move)
    if not open_ and history.last <= last_day:
        story.until = last_day
        if history.case["status"] == "delivered":
            story._close()
        return history
    # told again up to the last day before `today`: what is still travelling stops where it is
    return _Story(world, spec, d0, last_day, check_sealed).tell()


# -- the rows ------------------------------------------------------------------------------------------------

def _stored(world: _World, history: _History, today: date) -> dict:
    """The promise and the stored stage deadlines, from the pure functions on the case as written."""
    case = SimpleNamespace(**history.case)
    packets = [SimpleNamespace(id=i + 1, **p.row) for i, p in enumerate(history.packets)]
    promised = world.promised[case.matter_code]
    owner = world.directory.post(case.owning_office)
    to_office = world.directory.post(case.collecting_office) if case.result_method != "mail" else None
    to_division = case.result_division or (to_office.division_code if to_office else owner.division_code)
    _, _, arrival = world.route(owner, to_office, to_division)

    def result_transit(start: date) -> date:
        return world.add(start, arrival)

    finished = case.status in ("delivered", "closed", "rejected", "withdrawn", "deemed_withdrawn")
    as_of = history.last if finished else today
    promise = case_promise(case, packets, world.cal, world.limits, promised, result_transit, as_of)
    values = {"due_date": promise.due_date, "due_date_provisional": promise.provisional,
              "due_date_estimated": promise.estimated, "expected_result_date": promise.expected_result}
    if world.stored_values is not None:
        stages = case_deadlines(case, packets, world.cal, world.limits, promised, date.min)
        values.update(world.stored_values(case.status, stages))
    return values


class _Numbers:
    """Ids, case numbers and S10 numbers, all past what the database holds. Case and packet ids and S10
    numbers are laid out per chunk (a case has three packets at most), so that workers number their chunks
    alone; a chunk's unused ids and numbers are left as gaps. Case numbers, which no hash covers, are
    given as chunks are written, in order."""

    def __init__(self, conn, settings: Settings, cases: int):
        self.case_base = conn.execute(select(func.coalesce(func.max(Case.__table__.c.id), 0))).scalar_one()
        self.packet_base = conn.execute(select(func.coalesce(func.max(Packet.__table__.c.id), 0))).scalar_one()
        counter = Counter.__table__
        self.days = dict(conn.execute(select(counter.c.name, counter.c.value)
                                      .where(counter.c.name.like("case:%"))).all())
        self.touched: dict[str, int] = {}
        self.prefixes = s10.prefix_range(settings.s10_first_prefix, settings.s10_last_prefix)
        # the S10 serials for every packet that may be made, in one statement; given back at the end
        self.reserved = 3 * cases
        self.s10_top = conn.execute(text(
            "INSERT INTO counter (name, value) VALUES ('s10', :n) ON CONFLICT (name) "
            "DO UPDATE SET value = counter.value + :n RETURNING value"), {"n": self.reserved}).scalar_one()
        self.s10_base = self.s10_top - self.reserved
        self.s10_used = self.s10_base

    def tracking_no(self, value: int) -> str:
        index, serial = divmod(value, SERIALS_PER_PREFIX)
        if index >= len(self.prefixes):
            raise RuntimeError("S10 number range exhausted; configure TONGBAN_S10_LAST_PREFIX")
        return s10.make_tracking_no(self.prefixes[index], serial)

    def case_no(self, division: str, day: date) -> str:
        key = f"case:{division}:{day:%Y%m%d}"
        seq = self.days.get(key, 0) + 1
        self.days[key] = self.touched[key] = seq
        return f"{division}-{day:%Y%m%d}-{seq:04d}"

    def save_days(self, conn) -> None:
        if not self.touched:
            return
        bigger = "GREATEST" if conn.dialect.name == "postgresql" else "MAX"
        conn.execute(text("INSERT INTO counter (name, value) VALUES (:name, :value) ON CONFLICT (name) "
                          f"DO UPDATE SET value = {bigger}(counter.value, excluded.value)"),
                     [{"name": k, "value": v} for k, v in self.touched.items()])
        self.touched = {}

    def give_back(self, conn) -> None:
        """The S10 serials reserved and not used go back, unless someone numbered a packet meanwhile."""
        conn.execute(text("UPDATE counter SET value = :used WHERE name = 's10' AND value = :top"),
                     {"used": self.s10_used, "top": self.s10_top})


@dataclass(frozen=True)
class _Layout:
    """Where chunk k's ids and S10 serials start."""
    chunk: int
    case_base: int
    packet_base: int
    s10_base: int

    def bases(self, k: int) -> tuple[int, int, int]:
        return (self.case_base + k * self.chunk, self.packet_base + 3 * k * self.chunk,
                self.s10_base + 3 * k * self.chunk)


def _rows(histories: list[_History], bases: tuple[int, int, int], numbers: _Numbers,
          key: str) -> dict[str, list[dict]]:
    """Ids, numbers and the hash chains: the rows of a chunk, in the order they are inserted. The events' own
    ids are left to the database (in insert order, so each chain reads back in recorded order)."""
    out = {"case": [], "caseevent": [], "packet": [], "packetevent": []}
    case_id, packet_id, serial = bases
    for h in histories:
        case_id += 1
        for p in h.packets:
            packet_id, serial = packet_id + 1, serial + 1
            p.row["id"], p.row["case_id"], p.row["tracking_no"] = packet_id, case_id, numbers.tracking_no(serial)
            for n, e in enumerate(p.events):  # a scan's id: as unique as its packet's number
                e["event_id"] = e["client_txn"] = f"syn-{p.row['tracking_no']}-{n}"
        prev = ""
        for e in h.events:
            scan = e.pop("_scan", None)
            if scan is not None:  # the case event a scan recorded names its packet, and its id is the txn
                packet, n = scan
                e["data"]["tracking_no"] = packet.row["tracking_no"]
                if n is not None:
                    e["client_txn"] = packet.events[n]["event_id"]
            row = {"case_id": case_id, **e, "prev_hash": prev}
            prev = row["hash"] = event_hash(prev, row, key)
            out["caseevent"].append(row)
        out["case"].append({"id": case_id, **h.case, "last_hash": prev})
        for p in h.packets:
            prev = ""
            for e in p.events:
                row = {"packet_id": p.row["id"], **e, "prev_hash": prev}
                prev = row["hash"] = event_hash(prev, row, key)
                out["packetevent"].append(row)
            out["packet"].append({**p.row, "last_hash": prev})
    out["s10_used"] = serial
    return out


# -- a chunk, in a worker process or in this one --------------------------------------------------------------

_JOB: dict = {}  # what a chunk needs, set before the workers fork (they inherit it)


def _chunk(k: int, size: int) -> dict:
    world, numbers, layout = _JOB["world"], _JOB["numbers"], _JOB["layout"]
    rng = world.rng = random.Random(f"{world.seed}:{k}")  # each chunk the same whoever makes it
    cpu = time.process_time()
    histories, opened = [], 0
    for _ in range(size):
        open_ = rng.random() < _JOB["open_share"]
        spec = _draw(world, rng, rng.getrandbits(48), open_)
        history = _placed(world, spec, open_, rng, world.sealer.seal(f"{rng.randrange(10**6):06d}"))
        history.case.update(_stored(world, history, world.today))
        histories.append(history)
        opened += open_
    rows = _rows(histories, layout.bases(k), numbers, _JOB["key"])
    tables = {name: _tuples(_TABLES[name], rows[name], _JOB["dialect"]) for name in _TABLES}
    return {"tables": tables, "open": opened, "s10_used": rows["s10_used"], "cpu": time.process_time() - cpu,
            "days": [(r["collecting_office"], r["intake_date"]) for r in rows["case"]]}


# -- writing -------------------------------------------------------------------------------------------------

_TABLES = {"case": Case.__table__, "caseevent": CaseEvent.__table__, "packet": Packet.__table__,
           "packetevent": PacketEvent.__table__}


def _sqlite_value(kind: str):
    """The value as SQLAlchemy's SQLite types store it (UTCDateTime: naive UTC text; JSON: text)."""
    if kind == "datetime":
        return lambda v: None if v is None else \
            (v - v.utcoffset()).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if kind == "date":
        return lambda v: None if v is None else v.isoformat()
    if kind == "json":
        return lambda v: None if v is None else json.dumps(v)
    return None


def _pg_value(kind: str):
    """psycopg's COPY takes dates and aware datetimes as they are; JSON as its text."""
    if kind == "json":
        return lambda v: None if v is None else json.dumps(v, ensure_ascii=False)
    return None


def _kind(column) -> str:
    name = column.type.__class__.__name__
    return {"UTCDateTime": "datetime", "Date": "date", "JSON": "json"}.get(name, "plain")


def _tuples(table, batch: list[dict], dialect: str) -> tuple[list[str], list[tuple]]:
    """A table's rows as the driver takes them (made where the rows are made: in the worker)."""
    if not batch:
        return [], []
    made = _pg_value if dialect == "postgresql" else _sqlite_value
    columns = [c for c in table.columns if c.name in batch[0]]
    convert = [(c.name, made(_kind(c))) for c in columns]
    plain = all(f is None for _, f in convert)
    names = [c.name for c in columns]
    if plain:
        return names, [tuple(row[n] for n in names) for row in batch]
    return names, [tuple(row[n] if f is None else f(row[n]) for n, f in convert) for row in batch]


def _write(conn, table, names: list[str], rows: list[tuple]) -> None:
    """Bulk rows on the transaction's own driver connection: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    quoted = ", ".join(f'"{n}"' for n in names)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" * len(names))})',
                               rows)
    finally:
        cursor.close()


def _check_columns() -> None:
    """The chain covers every stored field: a column the events gain must be written here too."""
    expected = {"caseevent": {"case_id", "type", "status_after", "actor", "role", "office_code", "at",
                              "recorded_at", "client_txn", "data", "prev_hash"},
                "packetevent": {"event_id", "packet_id", "type", "status_after", "at", "recorded_at", "actor",
                                "role", "office_code", "note", "reason", "contents", "client_txn", "prev_hash"}}
    for name, columns in expected.items():
        actual = {c.name for c in _TABLES[name].columns} - {"id", "hash"}
        if actual != columns:
            raise RuntimeError(f"{name} has columns {sorted(actual ^ columns)} the generator does not know")


def synthesise(engine: Engine, settings: Settings, cases: int, open_share: float = 0.05, seed: int = 1,
               start: date | None = None, days: int = 365, sealer: Sealer | None = None, *,
               chunk: int = 5_000, workers: int | None = None, progress=None) -> dict:
    """Writes `cases` synthetic cases with their packets and events, intake spread over the `days` before
    `start` (default today, Beijing); `open_share` of them still open as of `start`. Returns the counts.

    Chunks are made by `workers` processes (default: one per core; 1 makes them in this process) while
    this one writes them in order, one transaction each."""
    if not 0 <= open_share <= 1:
        raise ValueError("open_share must lie between 0 and 1")
    today = start or clock.beijing_date()
    began, cpu = time.perf_counter(), time.process_time()
    with new_session(engine, read_only=True) as session:
        world = _World(session, settings, sealer or Sealer(settings.data_key), seed, today, days)
        world.promised = {m.code: m.promised_days for m in session.execute(select(Matter)).scalars()}
    try:
        from tracking.model.stage_store import stored_values
        world.stored_values = stored_values if "open_stage" in Case.__table__.c else None
    except ImportError:  # before the stored stage deadlines
        world.stored_values = None
    _check_columns()
    if not world.matters or not world.halls:
        raise RuntimeError("no halls or no matters to collect: load the reference data first (init-db)")
    with engine.begin() as conn:
        numbers = _Numbers(conn, settings, cases)
    layout = _Layout(chunk, numbers.case_base, numbers.packet_base, numbers.s10_base)
    _JOB.update(world=world, numbers=numbers, layout=layout, open_share=open_share, key=settings.chain_key,
                dialect=engine.dialect.name)
    sizes = [min(chunk, cases - k * chunk) for k in range(math.ceil(cases / chunk))]
    workers = min(workers or os.cpu_count() or 1, len(sizes))
    counts = {"cases": 0, "open": 0, "case_events": 0, "packets": 0, "packet_events": 0}
    writing = making = 0.0
    try:
        for done in _made(sizes, workers):
            t0 = time.perf_counter()
            names, case_rows = done["tables"]["case"]
            at = names.index("case_no")
            halls = [world.directory.post(office).division_code for office, _ in done["days"]]
            case_rows = [row[:at] + (numbers.case_no(division, day),) + row[at + 1:]
                         for row, division, (_, day) in zip(case_rows, halls, done["days"])]
            with engine.begin() as conn:
                for name, table in _TABLES.items():
                    columns, rows = done["tables"][name]
                    _write(conn, table, columns, case_rows if name == "case" else rows)
                numbers.save_days(conn)
            numbers.s10_used = max(numbers.s10_used, done["s10_used"])
            writing += time.perf_counter() - t0
            counts["open"] += done["open"]
            making += done["cpu"]
            for name, key in (("case", "cases"), ("caseevent", "case_events"), ("packet", "packets"),
                              ("packetevent", "packet_events")):
                counts[key] += len(done["tables"][name][1])
            if progress is not None:
                progress(counts["cases"], time.perf_counter() - began)
    finally:
        _JOB.clear()
        with engine.begin() as conn:
            numbers.give_back(conn)
            if engine.dialect.name == "postgresql":
                for table in _TABLES.values():  # the serial columns go on after the ids used here
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                      f"(SELECT COALESCE(MAX(id), 1) FROM \"{table.name}\"))"))
        if engine.dialect.name == "postgresql":
            # a bulk load leaves the planner's statistics and the visibility map behind (autovacuum catches
            # up later): without them PostgreSQL scans the whole table for a handful of overdue cases, and
            # counts an office's cases from the heap instead of its index (as a restore is followed by it)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in _TABLES.values():
                    conn.execute(text(f'VACUUM (ANALYZE) "{table.name}"'))
    counts.update(seconds=round(time.perf_counter() - began, 2), seconds_writing=round(writing, 2),
                  cpu_seconds=round(time.process_time() - cpu, 2), making_cpu_seconds=round(making, 2),
                  workers=workers)
    return counts


def _made(sizes: list[int], workers: int):
    """The chunks in order: made here, or by worker processes a few chunks ahead of the writing."""
    if workers <= 1:
        for k, size in enumerate(sizes):
            yield _chunk(k, size)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending = collections.deque()
        for k, size in enumerate(sizes):
            pending.append(pool.apply_async(_chunk, (k, size)))
            if len(pending) > workers:  # bounded: memory holds a few chunks, whatever the total
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
