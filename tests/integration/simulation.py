"""A simulated week of the network, for test_simulated_week.

Three parts, kept apart on purpose:

* the reference: offices and divisions read straight from config/data (not through the service);
* the model: the test's own reading of the rules (routes, transit dates, stage deadlines), small and
  independent of the code under test, on the official calendar (WorkCalendar.official());
* the plan and the runner: 500 deterministic cases (random.Random(SEED)) and how each packet travels,
  played day by day through the use cases (register_case, record_scans, send_replacement, accept_case,
  request_supplement, reject_case, decide_case, list_cases, sweep) with the clock pinned.

The week runs from Sunday 20 September 2026 (an adjusted working day, 调休上班) to Monday 28 September,
across the Mid-Autumn break (Fri 25 – Sun 27 September). After it nothing moves; the sweeps then run on
Friday 9 and Sunday 11 October, after the National Day holidays (1–7 October; Saturday 10 October is an
adjusted working day).
"""
from __future__ import annotations

import base64
import csv
import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import yaml
from geopy.distance import geodesic

from config.settings import DATA_DIR
from routing.workdays import WorkCalendar

SEED = 20260920
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"tongban-simulated-week/{SEED}")
START, END = date(2026, 9, 20), date(2026, 9, 28)
DAYS = [START + timedelta(days=i) for i in range((END - START).days + 1)]
SWEEP_DAYS = [date(2026, 10, 9), date(2026, 10, 11)]
CAL = WorkCalendar.official()
STANDARD_DAYS = {"same_city": 0.5, "same_province": 1.0, "other_province": 2.0}
KM_PER_DAY = 400.0
N_CASES = 500

# -- the reference, from the data files ------------------------------------------------------------

with (DATA_DIR / "offices.csv").open(encoding="utf-8", newline="") as _f:
    OFFICES = {row["code"]: row for row in csv.DictReader(_f)}
with (DATA_DIR / "divisions.csv").open(encoding="utf-8", newline="") as _f:
    DIVISIONS = {row["code"]: row for row in csv.DictReader(_f)}
with (DATA_DIR / "matters.yaml").open(encoding="utf-8") as _f:
    MATTERS = {m["code"]: m for m in yaml.safe_load(_f)}

MUNICIPALITIES = {"110000", "120000", "310000", "500000"}
SHANXI_CITIES = sorted(c for c, d in DIVISIONS.items() if d["level"] == "city" and c.startswith("14"))
NEIGHBOURS = ["110000", "130000", "150000", "410000", "610000"]  # Beijing, Hebei, Inner Mongolia, Henan, Shaanxi


def province(division: str) -> str:
    return division[:2] + "0000"


def city(division: str) -> str | None:
    """The city a division belongs to; a municipality is its own city; a province has none."""
    if province(division) in MUNICIPALITIES:
        return province(division)
    d = DIVISIONS[division]
    return {"city": division, "county": d["parent_code"]}.get(d["level"])


def division_of(office: str) -> str:
    return OFFICES[office]["division_code"]


def hub_for(division: str | None) -> str | None:
    return f"P{division}" if division and f"P{division}" in OFFICES else None


def is_provincial_hub(office: str) -> bool:
    serves = OFFICES[office]["serves"]
    return OFFICES[office]["kind"] == "hub" and serves == province(serves)


def counties(under: str) -> list[str]:
    """County-level divisions of a province (any city) or of a city."""
    if under.endswith("0000"):
        return sorted(c for c, d in DIVISIONS.items() if d["level"] == "county" and province(c) == under)
    return sorted(c for c, d in DIVISIONS.items() if d["level"] == "county" and d["parent_code"] == under)


# -- the model: routes, transit dates, working days ------------------------------------------------

def wd_add(day: date, n: int) -> date:
    """The n-th working day after `day` on the official calendar (day itself not counted)."""
    while n:
        day += timedelta(days=1)
        n -= CAL.is_working_day(day)
    return day


def wd_between(start: date, end: date) -> int:
    """Working days in (start, end]."""
    return sum(CAL.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def next_wd(day: date) -> date:
    return wd_add(day, 1)


def model_route(origin: str, dest: str) -> list[str]:
    """hall (or the hub where a packet is) → its city hub → (provincial hub → the other province's gateway)
    → the destination's city hub → the office. A packet already at a provincial hub does not go down to
    that city's hub and back up."""
    a, b = hub_for(city(division_of(origin))), hub_for(city(division_of(dest)))
    stops = [origin] + ([] if is_provincial_hub(origin) else [a])
    if a is None or b is None or a != b:
        stops.append(hub_for(province(division_of(origin))))
        if province(division_of(origin)) != province(division_of(dest)):
            stops.append(hub_for(province(division_of(dest))))
    stops += [b, dest]
    route: list[str] = []
    for s in stops:
        if s is not None and (not route or route[-1] != s):
            route.append(s)
    return route


def leg_category(a: str, b: str) -> str:
    ca, cb = city(division_of(a)), city(division_of(b))
    if ca is not None and ca == cb:
        return "same_city"
    return "same_province" if province(division_of(a)) == province(division_of(b)) else "other_province"


def km(a: str, b: str) -> float:
    pa, pb = OFFICES[a], OFFICES[b]
    return geodesic((float(pa["lat"]), float(pa["lon"])), (float(pb["lat"]), float(pb["lon"]))).km


def leg_days(a: str, b: str) -> float:
    return max(STANDARD_DAYS[leg_category(a, b)], km(a, b) / KM_PER_DAY)


def model_schedule(stops: list[str], start: date) -> list[date]:
    """Expected date at each stop: cumulative leg days rounded up to whole working days from `start`."""
    total, dates = 0.0, [start]
    for a, b in zip(stops, stops[1:]):
        total += leg_days(a, b)
        dates.append(wd_add(start, math.ceil(total - 1e-9)))
    return dates


# -- the plan ------------------------------------------------------------------------------------------

@dataclass
class Journey:
    """How one packet travels: its route as the service should plan it, and the stops it is scanned at."""
    route: list[tuple[str, date]]               # planned stops with expected dates, after any re-plan
    visits: list[tuple[str, date]]              # offices the courier scans it at (hubs, then the office)
    dispatch_day: date | None
    original_arrival: date | None = None        # expected arrival before a misroute re-plan
    misroute_day: date | None = None
    misroute_hub: str | None = None
    lost_day: date | None = None
    lost_at: str | None = None

    @property
    def expected_arrival(self) -> date:
        return self.route[-1][1]

    @property
    def delivered_day(self) -> date | None:
        """The day the courier hands it to the office (None if lost or still travelling after the week)."""
        if self.lost_at is not None or not self.visits:
            return None
        office, day = self.visits[-1]
        return day if office == self.route[-1][0] and day <= END else None

    def expected_on(self, n: date) -> date:
        """expected_arrival as the service shows it at the end of day n."""
        if self.misroute_day is not None and n < self.misroute_day:
            return self.original_arrival
        return self.expected_arrival


@dataclass
class CasePlan:
    idx: int
    hall: str
    matter: str
    kind: str                      # person | organisation
    place: str                     # household / subject / registration division deciding the owner
    owner: str
    intake_day: date
    result_method: str
    pinned: str = ""               # a name for the cases whose dates the test pins literally
    dispatch_lag: int = 0          # working days between intake and dispatch (2 = late)
    slip_from: int | None = None   # from this stop on, every scan one working day late
    stall_at: int | None = None    # this hub scanned a working day late, the next stop on time
    misroute: tuple[int, str] | None = None   # (index of the stop it should reach, hub it reaches instead)
    lost: str | None = None        # "early" (replacement arrives in the week) | "late" (lost near arrival)
    receive_lag: int = 0           # working days between delivery and the officer's received scan
    action: str = "none"           # accept | supplement | reject | none
    action_lag: int = 0            # working days after receipt
    decide_lag: int | None = None  # working days after acceptance (electronic results only)
    # filled in by build_plan
    outbound: Journey | None = None
    replacement: Journey | None = None
    replacement_day: date | None = None

    # -- derived days ----------------------------------------------------------------------------
    @property
    def dispatch_day(self) -> date:
        return wd_add(self.intake_day, self.dispatch_lag)

    @property
    def carrier(self) -> Journey:
        return self.replacement or self.outbound

    @property
    def delivered_day(self) -> date | None:
        return self.carrier.delivered_day

    @property
    def received_day(self) -> date | None:
        d = self.delivered_day
        if d is None:
            return None
        r = wd_add(d, self.receive_lag)
        return r if r <= END else None

    @property
    def action_day(self) -> date | None:
        if self.action == "none" or self.received_day is None:
            return None
        a = wd_add(self.received_day, self.action_lag)
        return a if a <= END else None

    @property
    def decide_day(self) -> date | None:
        if self.action != "accept" or self.decide_lag is None or self.action_day is None:
            return None
        d = wd_add(self.action_day, self.decide_lag)
        return d if d <= END else None

    @property
    def promised_days(self) -> int:
        return MATTERS[self.matter]["promised_days"]


def travel(stops: list[str], start: date, *, slip_from=None, stall_at=None, misroute=None,
           lost_after: int | None = None, lost_day: date | None = None) -> Journey:
    """The journey of a packet dispatched on `start` along `stops` (the model's route)."""
    dates = model_schedule(stops, start)
    j = Journey(route=list(zip(stops, dates)), visits=[], dispatch_day=start, original_arrival=dates[-1])
    for i in range(1, len(stops)):
        day = dates[i]
        if slip_from is not None and i >= slip_from:
            day = next_wd(day)
        if stall_at == i:
            day = next_wd(day)
            assert day <= dates[i + 1]
        if misroute is not None and i == misroute[0]:
            wrong = misroute[1]
            onward = model_route(wrong, stops[-1])
            onward_dates = model_schedule(onward, day)
            j.route = j.route[:i] + list(zip(onward, onward_dates))
            j.misroute_day, j.misroute_hub = day, wrong
            j.visits += [(wrong, day)] + list(zip(onward[1:], onward_dates[1:]))
            break
        j.visits.append((stops[i], day))
        if lost_after == i:
            j.lost_at, j.lost_day = stops[i], lost_day or day
            break
    j.visits = [(o, d) for o, d in j.visits if d <= END]
    return j


def _resident_id(first17: str) -> str:
    from tracking.model.identity import resident_id_check_char
    return first17 + resident_id_check_char(first17)


def _credit_code(first17: str) -> str:
    from tracking.model.identity import credit_code_check_char
    return first17 + credit_code_check_char(first17)


# one office per case: the joint matters (户口迁移 …, issue 18) run in tests/e2e/test_joint_handling.py
PERSON_MATTERS = [("GA-WFZM-01", 5), ("GA-HJZM-01", 2), ("GZ-JSZGZ-01", 1), ("GZ-XLGZ-01", 1),
                  ("GZ-QSGX-01", 1), ("GJJ-ZYJX-01", 1), ("BDC-DYDJ-01", 2), ("RS-SBK-01", 1),
                  ("GJJ-TQ-01", 1)]
ORGANISATION_MATTERS = [("SJ-QYBG-01", 2), ("SJ-GYCP-01", 1)]


def model_owner(matter: str, place: str) -> str | None:
    """The owning office the matter's jurisdiction names for `place`, if one is listed."""
    m = MATTERS[matter]
    rule = m["jurisdiction"]
    if rule.startswith("fixed:"):
        return rule.split(":", 1)[1]
    at = {"county": place, "city": city(place), "province": province(place)}[m["level"]]
    code = f"D{at}-{m['department']}"
    return code if code in OFFICES else None


def _halls(rng: random.Random) -> list[str]:
    """Every Shanxi city's own hall and three of its counties' halls."""
    chosen = []
    for c in SHANXI_CITIES:
        county_halls = [f"H{d}" for d in counties(c) if f"H{d}" in OFFICES]
        chosen += [f"H{c}"] + rng.sample(county_halls, 3)
    return chosen


# cases whose dates the test pins literally: (name, hall, place, matter, intake day)
PINNED = [
    ("xinzhou_taiyuan_thursday", "H140902", "140105", "GA-WFZM-01", date(2026, 9, 24)),
    ("xinzhou_taiyuan_adjusted_sunday", "H140902", "140105", "GA-WFZM-01", date(2026, 9, 20)),
    ("xinzhou_beijing_monday", "H140902", "110101", "GA-WFZM-01", date(2026, 9, 21)),
    ("late_dispatch_over_the_break", "H140213", "140105", "GA-WFZM-01", date(2026, 9, 23)),
    ("received_monday_unanswered", "H140902", "140105", "GA-WFZM-01", date(2026, 9, 22)),
    ("misroute_yangquan", "H140921", "140106", "GA-WFZM-01", date(2026, 9, 20)),
    ("misroute_shuozhou", "H140200", "140802", "GA-HJZM-01", date(2026, 9, 20)),
    ("misroute_xian", "H140400", "110105", "GA-WFZM-01", date(2026, 9, 20)),
    ("misroute_linfen", "H141100", "130104", "GA-WFZM-01", date(2026, 9, 20)),
    ("misroute_yuncheng", "H141000", "140404", "GA-WFZM-01", date(2026, 9, 20)),
]


def _base_cases(rng: random.Random) -> list[CasePlan]:
    halls = _halls(rng)
    plans: list[CasePlan] = []
    for name, hall, place, matter, day in PINNED:
        plans.append(CasePlan(len(plans), hall, matter, "person", place, model_owner(matter, place), day,
                              "mail", pinned=name))
    days = [d for d in DAYS if CAL.is_working_day(d) and d <= date(2026, 9, 24)]
    order = halls * (N_CASES // len(halls) + 1)
    while len(plans) < N_CASES:
        hall = order[len(plans)]
        hall_city = city(division_of(hall))
        organisation = rng.random() < 0.06
        matters = ORGANISATION_MATTERS if organisation else PERSON_MATTERS
        matter = rng.choices([m for m, _ in matters], [w for _, w in matters])[0]
        if rng.random() < 0.6:
            place = rng.choice(counties(rng.choice([c for c in SHANXI_CITIES if c != hall_city])))
        else:
            place = rng.choice(counties(rng.choice(NEIGHBOURS)))
        owner = model_owner(matter, place)
        if owner is None or (division_of(owner) == division_of(hall)):
            continue
        types = MATTERS[matter]["result_types"]
        methods = (["mail", "pickup"] if "paper" in types else []) + (["electronic"] if "electronic" in types else [])
        plans.append(CasePlan(len(plans), hall, matter, "organisation" if organisation else "person", place,
                              owner, rng.choice(days), rng.choice(methods)))
    return plans


def _pick(rng: random.Random, pool: list[CasePlan], n: int, used: set[int], test) -> list[CasePlan]:
    chosen = []
    for p in rng.sample(pool, len(pool)):
        if len(chosen) == n:
            break
        if p.idx not in used and not p.pinned and test(p):
            chosen.append(p)
            used.add(p.idx)
    assert len(chosen) == n, f"the plan found {len(chosen)} of {n}"
    return chosen


def _within_shanxi(p: CasePlan) -> bool:
    return province(division_of(p.owner)) == "140000" and city(division_of(p.owner)) is not None


# the misroutes, packets sent on the adjusted Sunday: (case name, the stop it should reach, the hub it reaches)
MISROUTES = [
    # bound for Taiyuan from Xinzhou, sorted at the Xinzhou hub into the Yangquan bag
    ("misroute_yangquan", "P140000", "P140300"),
    # bound for Yuncheng from Datong, put on the Shuozhou truck at the Datong hub
    ("misroute_shuozhou", "P140000", "P140600"),
    # bound for Beijing, put on the Xi'an truck at the provincial hub (Xi'an–Beijing: over 800 km)
    ("misroute_xian", "P110000", "P610000"),
    # bound for Hebei from Lüliang, taken to the Linfen hub instead of its own city's
    ("misroute_linfen", "P141100", "P141000"),
    # bound for Changzhi from Linfen, taken to the Yuncheng hub instead of its own city's
    ("misroute_yuncheng", "P141000", "P140800"),
]


def build_plan(seed: int = SEED) -> list[CasePlan]:
    rng = random.Random(seed)
    plans = _base_cases(rng)
    by = {p.pinned: p for p in plans if p.pinned}
    used: set[int] = set()

    # pinned behaviour
    by["late_dispatch_over_the_break"].dispatch_lag = 2         # due Thu 24, sent Mon 28
    by["received_monday_unanswered"].action = "none"             # sent Tue 22 → arrives Mon 28
    for p in plans:
        if p.pinned:
            used.add(p.idx)

    # losses: three early (replacement arrives in the week), two near arrival (replacement after the break)
    for p in _pick(rng, plans, 3, used, lambda p: p.intake_day == date(2026, 9, 20) and _within_shanxi(p)):
        p.lost = "early"
    for p in _pick(rng, plans, 2, used, lambda p: p.intake_day == date(2026, 9, 21) and _within_shanxi(p)
                   and len(model_route(p.hall, p.owner)) >= 4):
        p.lost = "late"
    for name, stop, wrong in MISROUTES:
        p = by[name]
        p.misroute = (model_route(p.hall, p.owner).index(stop), wrong)
    # late dispatches: two working days after intake (due: one)
    for p in _pick(rng, plans, 11, used, lambda p: True):
        p.dispatch_lag = 2
    # the next working day (on time)
    for p in _pick(rng, plans, 40, used, lambda p: True):
        p.dispatch_lag = 1
    # a working day late from some stop on (arrives late)
    for p in _pick(rng, plans, 30, used, lambda p: True):
        p.slip_from = rng.randint(1, len(model_route(p.hall, p.owner)) - 1)
    # one hub a day late, the next stop on time (arrives on time)
    for p in _pick(rng, plans, 20, used, lambda p: _stall_point(p) is not None):
        p.stall_at = _stall_point(p)

    for p in plans:
        stops = model_route(p.hall, p.owner)
        start = p.dispatch_day
        if p.lost == "early":
            # lost at the hall's city hub the day it got there; the window sends a replacement next day
            p.outbound = travel(stops, start, lost_after=1)
            p.replacement_day = next_wd(p.outbound.lost_day)
        elif p.lost == "late":
            # last seen at the destination city hub; reported lost on its expected arrival day;
            # the window replaces it on the next working day (after the break)
            p.outbound = travel(stops, start, lost_after=len(stops) - 2, lost_day=model_schedule(stops, start)[-1])
            p.replacement_day = next_wd(p.outbound.lost_day)
        else:
            p.outbound = travel(stops, start, slip_from=p.slip_from, stall_at=p.stall_at, misroute=p.misroute)
        if p.replacement_day is not None and p.replacement_day <= END:
            p.replacement = travel(stops, p.replacement_day)

    # receipt: most the day the courier delivers; before the break many offices close early
    for p in plans:
        if p.pinned or p.lost or p.misroute:
            continue
        if p.delivered_day == date(2026, 9, 24):
            p.receive_lag = int(rng.random() < 0.4)
        else:
            p.receive_lag = int(rng.random() < 0.05)
    # what the owning office does after receipt
    for p in plans:
        if p.pinned:
            continue
        r = rng.random()
        if r < 0.45:
            p.action, p.action_lag = "accept", rng.choice([0, 1, 1, 2])
            if p.result_method == "electronic" and rng.random() < 0.6:
                p.decide_lag = rng.choice([0, 1])
        elif r < 0.60:
            p.action, p.action_lag = "supplement", rng.choice([0, 1, 2])
        elif r < 0.64:
            p.action, p.action_lag = "reject", rng.choice([0, 1])
    return plans


def _stall_point(p: CasePlan) -> int | None:
    stops = model_route(p.hall, p.owner)
    dates = model_schedule(stops, p.dispatch_day)
    for i in range(1, len(stops) - 1):
        if next_wd(dates[i]) <= dates[i + 1]:
            return i
    return None


# -- the model of the law's clock (stage deadlines) -----------------------------------------------

def ended(p: CasePlan, n: date) -> bool:
    return p.action == "reject" and p.action_day is not None and p.action_day <= n


def _on(day: date | None, n: date) -> date | None:
    return day if day is not None and day <= n else None


def stage_dues(p: CasePlan, n: date, deemed: bool = False) -> dict[str, tuple[date | None, date | None, bool]]:
    """Each stage's (due, done day, missed) at the end of day n (deemed: accepted by the sweep)."""
    out = {"dispatch": (wd_add(p.intake_day, 1), _on(p.dispatch_day, n), False)}
    carrier = None
    if p.replacement is not None and p.replacement_day <= n:
        carrier = p.replacement
    elif p.dispatch_day <= n:
        carrier = p.outbound
    receipt_due = None
    if carrier is not None:
        arrived = _on(carrier.delivered_day, n)
        receipt_due = arrived if arrived else carrier.expected_on(n)
    received = _on(p.received_day, n)
    out["receipt"] = (receipt_due, received, False)
    acted = _on(p.action_day, n)
    notice_done = acted if p.action in ("accept", "supplement") else None
    out["supplement_notice"] = (wd_add(received, 5) if received else None, notice_done,
                                deemed and notice_done is None and not ended(p, n))
    accepted = acted if acted and p.action == "accept" else (received if deemed else None)
    decided = _on(p.decide_day, n)
    out["decision"] = (wd_add(accepted, p.promised_days) if accepted else None, decided, False)
    out["result_dispatch"] = (wd_add(decided, 1) if decided else None, decided, False)
    return out


def _carrier_arrival(p: CasePlan, n: date, today: date) -> date:
    """When the materials reach the owning office, as the service estimates it at the end of day n."""
    if p.replacement is not None and p.replacement_day <= n:
        j = p.replacement
    elif p.dispatch_day <= n:
        j = p.outbound
    else:  # not sent yet: the plan made at intake
        return max(model_schedule(model_route(p.hall, p.owner), p.intake_day)[-1], today)
    arrived = _on(j.delivered_day, n)
    return arrived if arrived else max(j.expected_on(n), today)


def result_arrival(p: CasePlan, leaves: date) -> date:
    """A paper result leaving the owning office on `leaves`: at the collecting window (pick-up) or, by
    mail, at the hub serving the applicant's city and one same-city leg more to the door."""
    if p.result_method == "pickup":
        return model_schedule(model_route(p.owner, p.hall), leaves)[-1]
    home = _home_division(p)
    hub = hub_for(city(home)) or hub_for(province(home))
    stops = model_route(p.owner, hub)
    total = sum(leg_days(a, b) for a, b in zip(stops, stops[1:])) + STANDARD_DAYS["same_city"]
    return wd_add(leaves, math.ceil(total - 1e-9))


def promise(p: CasePlan, n: date, today: date, deemed: bool = False) -> tuple[date, bool, date]:
    """(due_date, due_date_estimated, expected_result_date) as the service should store them when it last
    counted on `today` with the state at the end of day n: promised working days from acceptance (deemed:
    as of receipt); before it from the receipt, or the materials' (expected) arrival; an outstanding
    supplement moves the estimate a working day per working day."""
    acted = _on(p.action_day, n)
    received = _on(p.received_day, n)
    accepted = acted if acted and p.action == "accept" else (received if deemed else None)
    if accepted:
        start = accepted
    elif received:
        start = received
        if acted and p.action == "supplement":
            start = wd_add(received, wd_between(acted, today))
    else:
        start = _carrier_arrival(p, n, today)
    due = wd_add(start, p.promised_days)
    decided = _on(p.decide_day, n)
    if p.result_method == "electronic":
        expected = decided or due
    else:
        expected = result_arrival(p, wd_add(due, 1))
    return due, accepted is None, expected


def open_overdue(p: CasePlan, n: date, as_of: date, deemed: bool = False) -> dict[str, date]:
    """The stages open past their due date as of `as_of`, with the state at the end of day n."""
    if ended(p, n):
        return {}
    return {stage: due for stage, (due, done, missed) in stage_dues(p, n, deemed).items()
            if due is not None and done is None and not missed and as_of > due}


def status_at_end(p: CasePlan, deemed: bool = False) -> str:
    if ended(p, END):
        return "rejected"
    if p.decide_day:
        return "decided"
    if p.action_day:
        return {"accept": "accepted", "supplement": "supplement_requested"}[p.action]
    if p.received_day:
        return "accepted" if deemed else "received"
    return "in_transit" if p.dispatch_day <= END else "collected"


def deemed_by(p: CasePlan, sweep_day: date) -> bool:
    """A permit received, nobody acted in the week, and five working days passed since receipt by `sweep_day`."""
    return (p.received_day is not None and p.action_day is None
            and sweep_day > wd_add(p.received_day, 5) and MATTERS[p.matter]["type"] == "permit")


# -- scans and people ---------------------------------------------------------------------------------

def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    from config.clock import BEIJING
    return datetime.combine(day, time(hh, mm, ss), tzinfo=BEIJING)


def event_id(*parts) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(x) for x in parts)))


def _home_division(p: CasePlan) -> str:
    """Where the applicant lives (and a mailed result goes): household (or the organisation's registration)
    decides for household/registration matters; for subject matters the applicant lives where the hall is
    and the subject lies elsewhere."""
    rule = MATTERS[p.matter]["jurisdiction"]
    return p.place if rule in ("household", "registration") else division_of(p.hall)


def applicant(p: CasePlan) -> dict:
    """The applicant, living in _home_division."""
    home = _home_division(p)
    person = {"kind": "person", "name": f"申请人{p.idx:03d}", "id_type": "resident_id",
              "id_number": _resident_id(f"{home}1985{(p.idx % 12) + 1:02d}{(p.idx % 28) + 1:02d}{p.idx % 1000:03d}"),
              "phone": f"139{p.idx:08d}", "address": f"{DIVISIONS[home]['name']}幸福路{p.idx}号",
              "division_code": home}
    if p.kind == "person":
        return person
    return {"kind": "organisation", "name": f"模拟企业{p.idx:03d}有限公司",
            "credit_code": _credit_code(f"91{home}MA{p.idx:07d}"), "phone": f"0351-{4000000 + p.idx}",
            "address": f"{DIVISIONS[home]['name']}工业路{p.idx}号", "division_code": home,
            "agent": {**person, "division_code": division_of(p.hall)}}


def intake_body(p: CasePlan) -> dict:
    m = MATTERS[p.matter]
    body = {"matter_code": p.matter, "applicant": applicant(p),
            "materials": [{"code": x["code"], "copies": 1, "original": x["original"]}
                          for x in m["materials"] if x["required"]],
            "identity_check": {"method": "id_card_reader", "passed": True},
            "result_delivery": {"method": p.result_method}, "note": ""}
    if p.result_method == "mail":
        home = body["applicant"]["division_code"]
        body["result_delivery"].update(address=f"{DIVISIONS[home]['name']}幸福路{p.idx}号", division_code=home)
    if m["jurisdiction"] == "subject":
        body["subject"] = {"division_code": p.place, "description": f"{DIVISIONS[p.place]['name']}的不动产或参保地"}
    return body


def journey_scans(p: CasePlan, j: Journey, label: str, tracking_no: str, day: date) -> list[tuple[str, dict]]:
    """(who, scan) for the courier's scans of journey j on `day`: arrivals and departures at hubs, the
    hand-over at the office, a loss; times rise along the journey."""
    out = []
    for n, (office, d) in enumerate(j.visits, start=1):
        if d != day:
            continue
        if office == j.route[-1][0] and n == len(j.visits) and j.lost_at is None:
            out.append(("courier", {"event_id": event_id(p.idx, label, n, "delivered"), "tracking_no": tracking_no,
                                    "type": "delivered", "at": at(d, 13, 30).isoformat(), "office_code": office}))
            continue
        arrive = at(d, 6) + timedelta(minutes=40 * n)
        for k, type_ in enumerate(("arrived_hub", "departed_hub")):
            out.append(("courier", {"event_id": event_id(p.idx, label, n, type_), "tracking_no": tracking_no,
                                    "type": type_, "at": (arrive + timedelta(minutes=20 * k)).isoformat(),
                                    "office_code": office}))
    if j.lost_at is not None and j.lost_day == day:
        out.append(("courier", {"event_id": event_id(p.idx, label, "lost"), "tracking_no": tracking_no,
                                "type": "exception", "reason": "lost", "at": at(day, 13, 40).isoformat(),
                                "office_code": j.lost_at, "note": "邮袋中未见该邮件，查找无果"}))
    return out


from tests.scans_made import pdf_scan  # noqa: E402 (a real PDF: results are checked like scans)
RESULT_FILE = base64.b64encode(pdf_scan(title="simulated result")).decode()


@dataclass
class Week:
    """What the runner saw, for the tests to check against the plan."""
    plans: list[CasePlan]
    registered: dict[int, dict] = field(default_factory=dict)       # idx -> {case_no, tracking_no, ...}
    replacements: dict[int, str] = field(default_factory=dict)      # idx -> replacement tracking_no
    refused: list[tuple] = field(default_factory=list)              # (step, idx, error) for anything refused
    scan_results: list = field(default_factory=list)                # custody.ScanResult, one per scan
    misroute_scans: dict[int, str] = field(default_factory=dict)    # idx -> event_id of the off-route scan
    overdue: dict[date, dict] = field(default_factory=dict)         # end of each day: case_no -> {stage: due}
    morning: dict[date, dict] = field(default_factory=dict)         # 08:30 each day, as of that day
    overdue_by_stage: dict[tuple[date, str], set] = field(default_factory=dict)
    future: dict[date, dict] = field(default_factory=dict)          # at the end of the week, as_of -> list
    flags: dict[date, dict] = field(default_factory=dict)           # end of each day: lost case_no -> flags
    sweeps: list[tuple[date, dict]] = field(default_factory=list)
    end_state: dict = field(default_factory=dict)
    after_sweeps: dict = field(default_factory=dict)
    # end of each day: the cases whose stored stage deadlines (kept by the use cases as they ran) disagree
    # with the pure functions over the same rows
    stored_disagree: dict[date, list] = field(default_factory=dict)
    seconds: float = 0.0


# -- the runner -------------------------------------------------------------------------------------

SUPERVISOR_NAME = "supervisor_sim"
COURIER_NAME = "courier_sim"


def _overdue_view(answer: dict) -> dict[str, dict[str, str]]:
    return {c["case_no"]: {s["stage"]: s["due"] for s in c["overdue_stages"]} for c in answer["cases"]}


def run_week(engine, session, env, plans: list[CasePlan]) -> Week:
    """Plays the plan day by day through the use cases; records what the service answered."""
    import time as wallclock

    from sqlmodel import select

    from config import clock
    from tracking.commands.decisions import (Decision, Rejection, Replacement, SupplementRequest, accept_case,
                                             decide_case, reject_case, request_supplement, send_replacement)
    from tracking.model.context import Actor
    from tracking.commands.sweep import sweep
    from tracking.model.errors import Refused
    from tracking.commands.intake import CaseIntake, intake_context, register_case
    from tracking.model.inputs import parse
    from tracking.commands.custody import ScanBatch, record_scans
    from tracking.model import stage_store
    from tracking.model.tables import Case
    from tracking.reads.views import list_cases

    began = wallclock.perf_counter()
    week = Week(plans)
    supervisor = Actor(SUPERVISOR_NAME, "supervisor", None, "督查")
    courier = Actor(COURIER_NAME, "courier", None, "模拟寄递员")

    def clerk(hall: str) -> Actor:
        return Actor(f"clerk_{hall}", "clerk", hall, "窗口")

    def officer(office: str) -> Actor:
        return Actor(f"officer_{office}", "officer", office, "办理")

    def attempt(step: str, p: CasePlan, fn):
        try:
            out = fn()
            session.commit()
            return out
        except Refused as e:
            session.rollback()
            week.refused.append((step, p.idx, e.body()["error"]))
            return None

    def send(actor: Actor, scans: list[dict]) -> None:
        for i in range(0, len(scans), 1000):
            week.scan_results += record_scans(session, env, actor, parse(ScanBatch, {"scans": scans[i:i + 1000]}))
            session.commit()

    def overdue(as_of: date, stage: str | None = None) -> dict:
        return _overdue_view(list_cases(session, env, supervisor, status=None, office=None, page=1, per_page=1000,
                                        overdue=True, as_of=as_of, stage=stage))

    for day in DAYS:
        # the supervisor's board first thing in the morning, before anything moves today
        clock.freeze(at(day, 8, 30))
        week.morning[day] = overdue(day)
        # the windows take applications
        for k, p in enumerate(p for p in plans if p.intake_day == day):
            clock.freeze(at(day, 9) + timedelta(seconds=20 * k))
            out = attempt("register", p, lambda p=p: register_case(
                session, env, clerk(p.hall), parse(CaseIntake, intake_body(p), context=intake_context(session))))
            if out:
                week.registered[p.idx] = {"case_no": out.case.case_no, "tracking_no": out.packet.tracking_no,
                                          "due_date": out.case.due_date.isoformat(),
                                          "due_date_estimated": out.case.due_date_estimated,
                                          "expected_result_date": out.case.expected_result_date.isoformat()}
        # the windows replace what was reported lost
        clock.freeze(at(day, 11, 30))
        for p in plans:
            if p.replacement_day == day and p.idx in week.registered:
                out = attempt("replacement", p, lambda p=p: send_replacement(
                    session, env, clerk(p.hall), week.registered[p.idx]["tracking_no"], Replacement()))
                if out:
                    week.replacements[p.idx] = out.packet.tracking_no
        # the day's scans, uploaded in the evening: windows hand over, the courier moves, offices sign
        clock.freeze(at(day, 18))
        by_hall, moves, by_office = defaultdict(list), [], defaultdict(list)
        for p in plans:
            if p.idx not in week.registered:
                continue
            packets = [("outbound", p.outbound, week.registered[p.idx]["tracking_no"])]
            if p.replacement is not None and p.idx in week.replacements:
                packets.append(("replacement", p.replacement, week.replacements[p.idx]))
            for label, j, number in packets:
                if j.dispatch_day == day:
                    by_hall[p.hall].append({"event_id": event_id(p.idx, label, "dispatched"), "tracking_no": number,
                                            "type": "dispatched", "at": at(day, 16).isoformat(),
                                            "office_code": p.hall})
                for _, scan in journey_scans(p, j, label, number, day):
                    if scan["type"] == "arrived_hub" and scan["office_code"] == j.misroute_hub \
                            and j.misroute_day == day:
                        week.misroute_scans[p.idx] = scan["event_id"]
                    moves.append(scan)
            if p.received_day == day:
                number = week.replacements.get(p.idx) or week.registered[p.idx]["tracking_no"]
                by_office[p.owner].append({"event_id": event_id(p.idx, "received"), "tracking_no": number,
                                           "type": "received", "at": at(day, 17).isoformat(),
                                           "office_code": p.owner})
        for hall, scans in sorted(by_hall.items()):
            send(clerk(hall), scans)
        if moves:
            send(courier, moves)
        for office, scans in sorted(by_office.items()):
            send(officer(office), scans)
        # the owning offices act on what they signed for
        clock.freeze(at(day, 18, 30))
        for p in plans:
            if p.action_day != day:
                continue
            case_no, who = week.registered[p.idx]["case_no"], officer(p.owner)
            if p.action == "accept":
                attempt("accept", p, lambda: accept_case(session, env, who, case_no))
            elif p.action == "supplement":
                first = next(m["code"] for m in MATTERS[p.matter]["materials"] if m["required"])
                attempt("supplement", p, lambda: request_supplement(session, env, who, case_no,
                                                                    SupplementRequest(materials=[first])))
            elif p.action == "reject":
                attempt("reject", p, lambda: reject_case(session, env, who, case_no,
                                                         Rejection(reason="申请材料显示不属于本机关管辖")))
        clock.freeze(at(day, 18, 45))
        for p in plans:
            if p.decide_day == day:
                case_no = week.registered[p.idx]["case_no"]
                attempt("decide", p, lambda: decide_case(session, env, officer(p.owner), case_no, Decision(
                    outcome="approved", result_file=RESULT_FILE, filename=f"{case_no}.pdf")))
        # the evening: the supervisor's overdue board, the cases flagged, the sweep
        clock.freeze(at(day, 23))
        week.overdue[day] = overdue(day)
        if day == date(2026, 9, 26):
            for stage in ("dispatch", "receipt", "supplement_notice"):
                week.overdue_by_stage[(day, stage)] = set(overdue(day, stage))
        lost = [week.registered[p.idx]["case_no"] for p in plans if p.lost and p.idx in week.registered]
        week.flags[day] = {c.case_no: c.flags for c in session.exec(select(Case).where(Case.case_no.in_(lost)))
                           .all()}
        clock.freeze(at(day, 23, 30))
        week.sweeps.append((day, sweep(session, env.settings, day, session.commit)))
        week.stored_disagree[day] = stage_store.check(session, env.settings)

    # after the week nothing moves: what will be overdue by later dates
    clock.freeze(at(END, 23, 45))
    for as_of in (date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10), date(2026, 10, 11)):
        week.future[as_of] = overdue(as_of)
    week.end_state = snapshot(engine, END)

    # the sweeps after the National Day holidays, the last one twice
    for day in SWEEP_DAYS:
        clock.freeze(at(day, 8))
        week.sweeps.append((day, sweep(session, env.settings, day, session.commit)))
    week.after_sweeps["counts_before_repeat"] = row_counts(engine)
    week.after_sweeps["repeat"] = sweep(session, env.settings, SWEEP_DAYS[-1], session.commit)
    week.after_sweeps["counts_after_repeat"] = row_counts(engine)
    week.after_sweeps["overdue"] = overdue(SWEEP_DAYS[-1])
    week.stored_disagree[SWEEP_DAYS[-1]] = stage_store.check(session, env.settings)
    week.seconds = wallclock.perf_counter() - began
    return week


def row_counts(engine) -> dict[str, int]:
    from sqlalchemy import text
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("overduemark", "caseevent", "notification", '"case"', "packet", "packetevent")}


def snapshot(engine, today: date) -> dict:
    """Cases, packets and their exception events as stored, read afresh."""
    from sqlmodel import select

    from config import clock
    from config.database import new_session
    from mailing.tables import Packet, PacketEvent
    from tracking.model.deadlines import packet_late
    from tracking.model.tables import Case

    with new_session(engine, read_only=True) as s:
        cases = {c.id: c for c in s.exec(select(Case))}
        packets = list(s.exec(select(Packet).order_by(Packet.id)))
        numbers = {p.id: p.tracking_no for p in packets}
        events = defaultdict(list)
        for e in s.exec(select(PacketEvent).order_by(PacketEvent.id)):
            events[numbers[e.packet_id]].append({"event_id": e.event_id, "type": e.type, "reason": e.reason,
                                                 "actor": e.actor, "role": e.role, "office_code": e.office_code,
                                                 "at": clock.iso(e.at), "status": e.status_after})
        return {
            "cases": {c.case_no: {"status": c.status, "flags": c.flags, "owning_office": c.owning_office,
                                  "collecting_office": c.collecting_office, "intake_date": c.intake_date,
                                  "due_date": c.due_date, "matter_code": c.matter_code,
                                  "due_date_estimated": c.due_date_estimated,
                                  "expected_result_date": c.expected_result_date,
                                  "received_at": c.received_at, "deemed_accepted": c.deemed_accepted,
                                  "result_method": c.result_method}
                      for c in cases.values()},
            "packets": {p.tracking_no: {"kind": p.kind, "status": p.status, "case_no": cases[p.case_id].case_no,
                                        "from_office": p.from_office, "to_office": p.to_office,
                                        "route": [(i["office_code"], i["expected"]) for i in p.route],
                                        "expected_arrival": p.expected_arrival,
                                        "dispatched_at": p.dispatched_at, "arrived_at": p.arrived_at,
                                        "replaces": numbers.get(p.replaces_id), "contents": p.contents,
                                        "late": packet_late(p, today), "events": events[p.tracking_no]}
                        for p in packets},
        }
