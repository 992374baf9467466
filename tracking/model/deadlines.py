"""The law's clock: each stage of a case has a due date in working days, and the sweep acts on it.

Stages and who answers for them:
  dispatch           collecting office sends the materials within 1 working day of intake (a case whose
                     materials all travel as files: uploads them)
  receipt            owning office confirms receipt when the materials arrive (or the last file is uploaded:
                     the scans reach it at once; paper that still travels does not hold the stage open)
  supplement_notice  owning office asks for a supplement within 5 working days of receipt, or the
                     application counts as accepted from receipt (行政许可法 art. 32)
  decision           owning office decides within the matter's promised days from acceptance
  result_dispatch    owning office sends the result within 1 working day of the decision
A stage's `due` is None while it cannot start. A stage is overdue when it is still open after its due
date, or was done after it. A case rejected, withdrawn or deemed withdrawn leaves its open stages moot, never overdue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists
from sqlalchemy.orm import load_only
from sqlmodel import Session, select

from config import clock
from config.settings import Settings
from mailing.packets import route_stops
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Packet
from routing.calendars import work_calendar
from routing.reference import directory as load_directory, matter as cached_matter, matters as cached_matters
from routing.transit import ServiceStandards, schedule
from routing.workdays import WorkCalendar
from tracking.model.states import ENDED_EARLY, FINISHED, CaseStatus
from tracking.model.tables import Case

STAGES = ("dispatch", "receipt", "supplement_notice", "decision", "result_dispatch")
STAGE_TITLES = {"dispatch": "寄出申请材料", "receipt": "签收申请材料", "supplement_notice": "一次性告知补正",
                "decision": "作出决定", "result_dispatch": "寄出办理结果"}
ENDED = {s.value for s in ENDED_EARLY}
# statuses in which some stage may still be open
ACTIVE = [s.value for s in CaseStatus if s not in FINISHED]


@dataclass(frozen=True)
class Limits:
    dispatch: int = 1
    receipt: int = 0
    supplement_notice: int = 5
    result_dispatch: int = 1

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(s.dispatch_days, s.receipt_days, s.supplement_notice_days, s.result_dispatch_days)


@dataclass(frozen=True)
class Stage:
    stage: str
    office_code: str            # who answers for it
    due: date | None
    done_at: datetime | None
    overdue: bool
    missed: bool = False        # closed by the law, not by the office (deemed acceptance)

    @property
    def open_overdue(self) -> bool:
        """Overdue and still waiting for someone to act."""
        return self.overdue and self.done_at is None and not self.missed

    def view(self) -> dict:
        return {"stage": self.stage, "title": STAGE_TITLES[self.stage], "due": self.due.isoformat() if self.due else None,
                "done_at": clock.iso(self.done_at), "overdue": self.overdue, "office_code": self.office_code,
                **({"missed": True} if self.missed else {})}


def beijing_day(dt: datetime | None) -> date | None:
    return clock.beijing_date(dt) if dt else None


def _first(times) -> datetime | None:
    times = [t for t in times if t is not None]
    return min(times) if times else None


def materials_carrier(packets: list[Packet], collecting_office: str, *, sent: bool) -> Packet | None:
    """The packet carrying the materials to the owning office: the latest outbound or replacement of the
    collecting office, a live one if there is any. `sent`: the dispatched ones (the receipt stage runs from
    them, a withdrawal's cancellation included); otherwise any not cancelled (the promise counts from a
    packet still to leave too)."""
    carriers = [p for p in packets if p.kind in (PacketKind.OUTBOUND.value, PacketKind.REPLACEMENT.value)
                and p.from_office == collecting_office
                and (p.dispatched_at is not None if sent else p.status != PacketStatus.CANCELLED.value)]
    alive = [p for p in carriers if p.status != PacketStatus.LOST.value] or carriers
    return max(alive, key=lambda p: p.id) if alive else None


def promised_of(case: Case, matter_days: int) -> int:
    """The working days promised for the decision: a joint case's longest chain of steps, else the matter's
    (a row read by a migration older than the steps has no such column)."""
    return getattr(case, "promised_days", None) or matter_days


def case_deadlines(case: Case, packets: list[Packet], cal: WorkCalendar, limits: Limits, promised_days: int,
                   today: date) -> list[Stage]:
    """The five stages of a case as of `today` (pure: everything it needs is passed in). A joint case's
    decision stage answers to the step due first while its steps run, at that step's office (`owning_office`)."""
    ended = case.status in ENDED
    promised_days = promised_of(case, promised_days)
    stages: list[Stage] = []

    def add(name: str, office: str, due: date | None, done_at: datetime | None, missed: bool = False) -> None:
        if due is None:
            overdue = False
        elif done_at is not None:
            overdue = beijing_day(done_at) > due
        else:
            overdue = missed or (not ended and today > due)
        stages.append(Stage(name, office, due, done_at, overdue, missed))

    def after(start: datetime | date | None, days: int) -> date | None:
        if start is None:
            return None
        return cal.add_working_days(beijing_day(start) if isinstance(start, datetime) else start, days)[0]

    outbound = [p for p in packets if p.kind == PacketKind.OUTBOUND.value]
    # every material travelling as a file (no outbound packet): the upload sends them, and they are
    # received the moment the last one is up
    files_only = not outbound
    add("dispatch", case.collecting_office, after(case.intake_date, limits.dispatch),
        case.received_at if files_only else _first(p.dispatched_at for p in outbound))

    carrier = materials_carrier(packets, case.collecting_office, sent=True)
    receipt_due = beijing_day(case.received_at) if files_only else None
    if carrier is not None:
        receipt_due = after(carrier.arrived_at, limits.receipt) if carrier.arrived_at else carrier.expected_arrival
    add("receipt", case.owning_office, receipt_due, case.received_at)

    notice_done = case.supplement_requested_at
    if notice_done is None and case.accepted_at is not None and not case.deemed_accepted:
        notice_done = case.accepted_at
    if notice_done is None and case.status == CaseStatus.REJECTED.value:
        notice_done = case.ended_at
    missed = notice_done is None and case.deemed_accepted
    add("supplement_notice", case.owning_office, after(case.received_at, limits.supplement_notice), notice_done,
        missed)

    decision_due = after(case.accepted_at, promised_days + (case.extension_days or 0))
    step_due = getattr(case, "step_due", None)
    if decision_due is not None and step_due is not None and case.decided_at is None:
        decision_due = min(decision_due, step_due)
    add("decision", case.owning_office, decision_due, case.decided_at)

    if case.result_method == "electronic":
        result_done = case.decided_at
    else:
        result_done = _first(p.dispatched_at for p in packets if p.kind == PacketKind.RESULT.value)
    add("result_dispatch", case.owning_office, after(case.decided_at, limits.result_dispatch), result_done)
    return stages


class StageClock:
    """What computing many cases' deadlines needs once: the calendar, the limits, the matters."""

    def __init__(self, session: Session, settings: Settings):
        self.cal = work_calendar(session)
        self.limits = Limits.from_settings(settings)
        self.promised = {code: m.promised_days for code, m in cached_matters(session).items()}

    def stages(self, case: Case, packets: list[Packet], today: date) -> list[Stage]:
        return case_deadlines(case, packets, self.cal, self.limits, self.promised.get(case.matter_code, 0), today)


# what computing the stages reads: loading only these keeps the JSON columns (applicant, materials,
# route, contents) undecoded, which was most of the cost of an overdue list
CASE_FIELDS = (Case.id, Case.case_no, Case.status, Case.matter_code, Case.collecting_office, Case.owning_office,
               Case.intake_date, Case.received_at, Case.accepted_at, Case.deemed_accepted,
               Case.supplement_requested_at, Case.decided_at, Case.ended_at, Case.result_method, Case.extension_days)
# and what a joint case adds (apart: the migration that stored the deadlines predates them)
STEP_FIELDS = (Case.promised_days, Case.step_due)
PACKET_FIELDS = (Packet.id, Packet.case_id, Packet.kind, Packet.status, Packet.from_office, Packet.dispatched_at,
                 Packet.arrived_at, Packet.expected_arrival)


def packets_by_case(session: Session, case_ids: list[int]) -> dict[int, list]:
    """Each case's packets in id order, as rows of the columns the stages and the promise read (PACKET_FIELDS):
    no ORM object per packet (the session's changes are flushed first, so the rows are what it holds)."""
    found: dict[int, list] = {i: [] for i in case_ids}
    for start in range(0, len(case_ids), 500):
        for row in session.execute(select(*PACKET_FIELDS).where(Packet.case_id.in_(case_ids[start:start + 500]))
                                   .order_by(Packet.id)):
            found[row.case_id].append(row)
    return found


def overdue_query(query, today: date, stage: str | None = None):
    """`query` (a select of Case) narrowed to the cases with a stage open past its due date as of `today`
    (or this stage), through the stored stage deadlines' indexes (tracking.model.stage_store)."""
    query = query.where(Case.open_stage_due < today)
    if stage is not None:
        query = query.where(getattr(Case, f"open_due_{stage}") < today)
    return query


def late_stages(session: Session, settings: Settings, cases: list[Case], today: date,
                stage: str | None = None) -> list[tuple[Case, list[Stage]]]:
    """Each case with its stages open past their due dates as of `today` (or this stage), from the pure
    functions: for a page of cases the overdue query found."""
    timer = StageClock(session, settings)
    packets = packets_by_case(session, [c.id for c in cases])
    found = []
    for case in cases:
        late = [s for s in timer.stages(case, packets[case.id], today) if s.open_overdue
                and (stage is None or s.stage == stage)]
        if late:
            found.append((case, late))
    return found


def overdue_cases(session: Session, settings: Settings, query, today: date,
                  stage: str | None = None) -> list[tuple[Case, list[Stage]]]:
    """The active cases of `query` (a select of Case) with a stage open past its due date as of `today`,
    each with those stages. Reads only the overdue cases (the stored deadlines' index): use a page of them."""
    cases = list(session.exec(overdue_query(query, today, stage).options(load_only(*CASE_FIELDS, *STEP_FIELDS))))
    return late_stages(session, settings, cases, today, stage)


def packet_late(packet: Packet, today: date) -> bool:
    """Arrived after its expected date, or still travelling past it."""
    if packet.expected_arrival is None or packet.status == PacketStatus.CANCELLED.value:
        return False
    arrived = beijing_day(packet.arrived_at)
    return (arrived or today) > packet.expected_arrival




# -- the sweep --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Promise:
    """What the applicant is promised: the decision date, whether it is still an estimate, and when the
    result should reach them."""
    due_date: date
    provisional: bool
    estimated: bool
    expected_result: date


def _carrier_arrival(packets: list[Packet], collecting_office: str, today: date) -> date | None:
    """When the materials reach (or reached) the owning office: their carrier on the day it arrived, or on
    its expected arrival, or today when it is late or lost and still awaited."""
    carrier = materials_carrier(packets, collecting_office, sent=False)
    if carrier is None:
        return None
    if carrier.arrived_at is not None:
        return beijing_day(carrier.arrived_at)
    if carrier.expected_arrival is None:
        return None
    return max(carrier.expected_arrival, today)


def case_promise(case: Case, packets: list[Packet], cal: WorkCalendar, limits: Limits, promised_days: int,
                 result_transit, today: date) -> Promise:
    """The promise as of `today` (pure but for `result_transit(start) -> arrival`, the route model's date
    for a result packet leaving the owning office on `start`).

    The decision period counts from acceptance (行政许可法 art. 42; deemed acceptance is as of receipt).
    Until then the acceptance is estimated: the day the materials are (expected to be) received, plus the
    receipt stage; while a supplement is outstanding, the days it has been so move the estimate later
    (after it, the acceptance counts from the supplement's receipt). An approved extension adds its days.
    """
    provisional = False
    if case.accepted_at is not None:
        start, estimated = beijing_day(case.accepted_at), False
    else:
        estimated = True
        if case.supplement_received_at is not None:
            start = beijing_day(case.supplement_received_at)
        elif case.received_at is not None:
            start = beijing_day(case.received_at)
            if case.supplement_requested_at is not None:
                start, provisional = cal.add_working_days(
                    start, cal.working_days_between(beijing_day(case.supplement_requested_at), today))
        else:
            arrival = _carrier_arrival(packets, case.collecting_office, today)
            if arrival is None:  # nothing on its way yet: sent within the dispatch limit, transit unknown
                arrival = cal.add_working_days(case.intake_date, limits.dispatch)[0]
            start, provisional = cal.add_working_days(arrival, limits.receipt)
    due, prov = cal.add_working_days(start, promised_of(case, promised_days) + (case.extension_days or 0))
    provisional |= prov

    decided = beijing_day(case.decided_at)
    if case.result_method == "electronic":
        expected = decided or due
    else:
        result = [p for p in packets if p.kind == PacketKind.RESULT.value
                  and p.status not in (PacketStatus.LOST.value, PacketStatus.CANCELLED.value)]
        latest = max(result, key=lambda p: p.id) if result else None
        if latest is not None and latest.arrived_at is not None:
            expected = beijing_day(latest.arrived_at)
        elif latest is not None and latest.dispatched_at is not None and latest.expected_arrival is not None:
            expected = max(latest.expected_arrival, today)
        else:
            leaves, prov = cal.add_working_days(decided or due, limits.result_dispatch)
            if decided is not None:  # decided, result not sent yet: it leaves today at the earliest
                leaves = max(leaves, today)
            expected = result_transit(leaves)
            provisional |= prov
    return Promise(due, provisional, estimated, expected)


def moves_with_the_day(today: date):
    """A SQL condition on Case: the cases whose promise `case_promise` may move as `today` moves on, its only
    branches that read the day. An outstanding supplement (counted by the working day), materials late on
    their way (or never sent), a decided result not yet sent or late on its way. Any other promise moves only
    with an event, whose use case recomputes it then, so the sweep refreshes these alone."""
    late = Packet.arrived_at.is_(None) & (Packet.expected_arrival < today) & (Packet.case_id == Case.id)
    return (((Case.accepted_at.is_(None) & Case.received_at.is_not(None) & Case.supplement_requested_at.is_not(None)
              & Case.supplement_received_at.is_(None))
             | (Case.accepted_at.is_(None) & Case.received_at.is_(None) & exists().where(late))
             | (Case.decided_at.is_not(None) & Case.result_method.is_distinct_from("electronic"))))


def promise_words(case: Case) -> str:
    """The promise as the applicant reads it on the receipt, the tracking page and in messages."""
    word = "预计" if case.due_date_estimated else "承诺"
    text = f"{word}{case.due_date:%Y年%m月%d日}前办结"
    if case.expected_result_date is not None:
        text += f"，结果预计{case.expected_result_date:%Y年%m月%d日}送达"
    return text


class PromiseBasis:
    """What recomputing many cases' promises reads once (a scanner's batch): the calendar, the directory, the
    limits, the matters, and the result transits worked out so far."""

    def __init__(self, session: Session, settings: Settings):
        self.cal, self.directory = work_calendar(session), load_directory(session)
        self.limits, self.matters = Limits.from_settings(settings), cached_matters(session)
        self.transits: dict = {}


def recompute_due_date(session: Session, case: Case, settings: Settings, *,
                       as_of: date | None = None, packets: list[Packet] | None = None,
                       basis: PromiseBasis | None = None) -> Promise:
    """Stores the promise (due_date, its flags, expected_result_date) on the case, as of `as_of` (default
    today). Called whenever something it depends on moves: intake, scans, supplement, acceptance,
    extension, decision, and the daily sweep. `packets`: the case's packets in id order, when the caller
    loaded many cases' at once (packets_by_case). `basis`: what a caller that recomputes many cases with
    the same directory, calendar and settings reads once, a result's transit dates worked out among it."""
    if basis is not None:
        cal, directory, transits = basis.cal, basis.directory, basis.transits
    else:
        cal, directory, transits = work_calendar(session), load_directory(session), None
    if packets is None:
        packets = list(session.exec(select(Packet).where(Packet.case_id == case.id).order_by(Packet.id))) \
            if case.id is not None else []
    owner = directory.post(case.owning_office)
    to_office = directory.post(case.collecting_office) if case.result_method != "mail" else None
    to_division = case.result_division or (to_office.division_code if to_office else owner.division_code)

    def result_transit(start: date) -> date:
        key = (owner.code, to_office.code if to_office else None, to_division, start)
        if transits is not None and key in transits:
            return transits[key]
        stops = route_stops(directory, owner, to_office, to_division)
        arrival = schedule(directory, cal, stops, start, ServiceStandards.from_settings(settings),
                           last_mile=to_office is None).arrival
        if transits is not None:
            transits[key] = arrival
        return arrival

    matter = basis.matters.get(case.matter_code) if basis is not None else cached_matter(session, case.matter_code)
    promise = case_promise(case, packets, cal, basis.limits if basis is not None else Limits.from_settings(settings),
                           matter.promised_days, result_transit, as_of or clock.beijing_date())
    for name, value in (("due_date", promise.due_date), ("due_date_provisional", promise.provisional),
                        ("due_date_estimated", promise.estimated), ("expected_result_date", promise.expected_result)):
        if getattr(case, name) != value:  # an unchanged value stays out of the UPDATE
            setattr(case, name, value)
    if case not in session:  # adding a case the session holds costs a cascade walk and changes nothing
        session.add(case)
    return promise
