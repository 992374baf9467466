"""Case and packet lifecycles as hypothesis state machines, driven through the use cases on the real
test database: whatever the order of intakes, scans by anyone anywhere, decisions, supplements,
withdrawals, replacements and hand-overs, every refusal is a `Refused` (never another exception), the
case's status agrees with its packets, and every hash chain verifies."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from sqlmodel import select

from config import clock
from mailing.chain import verify_rows
from mailing.states import PacketKind, PacketStatus, ScanType
from mailing.tables import Packet, PacketEvent
from tests.conftest import empty_database
from tests.helpers import intake_body, intake_command
from tests.scans_made import pdf_scan
from tracking.commands import custody, decisions
from tracking.commands.intake import register_case
from tracking.model.context import Actor
from tracking.model.errors import Refused
from tracking.model.inputs import parse
from tracking.model.states import CaseStatus
from tracking.model.tables import Case, CaseEvent

CLERK = Actor("clerk_xf", "clerk", "H140902", "李窗口")
OFFICER = Actor("officer_xd", "officer", "D140105-GA", "赵办理")
COURIER = Actor("courier_1", "courier", None, "王师傅")
HUB_COURIER = Actor("courier_hub", "courier", "P140100", "孙师傅")
OTHER_OFFICER = Actor("officer_ds", "officer", "D140921-GA", "钱办理")
ACTORS = (CLERK, OFFICER, COURIER, HUB_COURIER, OTHER_OFFICER)
PLACES = (None, "H140902", "D140105-GA", "P140900", "P140100", "P140000", "D140921-GA")
PDF = pdf_scan(title="result")
START = "2026-03-02T09:00:00+08:00"

# what the packets of a case must be in each case status (materials: outbound, supplement, replacement)
MATERIALS = {PacketKind.OUTBOUND.value, PacketKind.SUPPLEMENT.value, PacketKind.REPLACEMENT.value}
BEFORE_DECISION = {CaseStatus.COLLECTED, CaseStatus.IN_TRANSIT, CaseStatus.RECEIVED, CaseStatus.ACCEPTED,
                   CaseStatus.SUPPLEMENT_REQUESTED, CaseStatus.SUPPLEMENT_IN_TRANSIT, CaseStatus.REJECTED,
                   CaseStatus.WITHDRAWN}
SETTLED = {PacketStatus.RECEIVED.value, PacketStatus.DELIVERED.value, PacketStatus.CANCELLED.value,
           PacketStatus.LOST.value}
ON_THE_WAY = {PacketStatus.DISPATCHED.value, PacketStatus.ARRIVED_HUB.value, PacketStatus.DEPARTED_HUB.value,
              PacketStatus.OUT_FOR_DELIVERY.value}


class Lifecycles(RuleBasedStateMachine):
    """One database session, as a request has it; each step commits what a use case did or rolls back."""

    cases = Bundle("cases")
    packets = Bundle("packets")

    def __init__(self):
        super().__init__()
        self.db, self.env = Lifecycles.session_factory()
        self.minutes = itertools.count(1)
        self.links: dict[str, str] = {}  # case_no → its electronic result's download token
        clock.freeze(datetime.fromisoformat(START))

    def teardown(self):
        self.db.close()
        empty_database(self.db.get_bind())

    # -- doing things --------------------------------------------------------------------------

    def attempt(self, use_case, *args):
        """A use case as a request runs it: committed when it works, rolled back when it is refused.
        Anything but a Refused fails the test."""
        try:
            made = use_case(self.db, self.env, *args)
        except Refused:
            self.db.rollback()
            return None
        self.db.commit()
        return made

    def scan_at(self) -> str:
        """A little later than every scan before: the clock moves on, and scans follow it."""
        clock.freeze(clock.now() + timedelta(minutes=next(self.minutes) % 7 + 1))
        return clock.iso(clock.now())

    def packets_of(self, case_no: str) -> list[Packet]:
        case = self.db.exec(select(Case).where(Case.case_no == case_no)).one()
        return list(self.db.exec(select(Packet).where(Packet.case_id == case.id).order_by(Packet.id)))

    @rule(target=cases, method=st.sampled_from(["mail", "pickup", "electronic"]))
    def register(self, method):
        delivery = {"method": method}
        if method == "mail":
            delivery.update(address="太原市小店区平阳路12号3单元502室", division_code="140105")
        made = register_case(self.db, self.env, CLERK, intake_command(self.db, intake_body(result_delivery=delivery)))
        self.db.commit()
        return made.case.case_no

    @rule(target=packets, case_no=cases)
    def packet(self, case_no):
        return self.packets_of(case_no)[-1].tracking_no

    @rule(tracking_no=packets, actor=st.sampled_from(ACTORS), type_=st.sampled_from(list(ScanType)),
          place=st.sampled_from(PLACES), reason=st.sampled_from(["lost", "damaged", "misrouted", "refused"]))
    def scan(self, tracking_no, actor, type_, place, reason):
        item = {"event_id": str(uuid.uuid4()), "tracking_no": tracking_no, "type": type_.value,
                "at": self.scan_at(), "office_code": place, "reason": reason}
        batch = parse(custody.ScanBatch, {"scans": [item]}, context=custody.scan_context(self.env.settings))
        results = custody.record_scans(self.db, self.env, actor, batch)
        self.db.commit()
        assert [r.status for r in results] in (["recorded"], ["rejected"]), results
        rejected = results[0].error
        assert rejected is None or isinstance(rejected, Refused), rejected

    @rule(case_no=cases)
    def advance(self, case_no):
        """The case's usual next step, so that runs reach the late states as well as the odd ones."""
        case = self.db.exec(select(Case).where(Case.case_no == case_no)).one()
        status = CaseStatus(case.status)
        if status is CaseStatus.RECEIVED:
            self.accept(case_no, OFFICER)
        elif status is CaseStatus.ACCEPTED:
            self.decide(case_no, "approved")
        elif status is CaseStatus.SUPPLEMENT_REQUESTED:
            self.send_supplement(case_no)
        elif status is CaseStatus.READY_FOR_PICKUP:
            self.hand_over(case_no)
        elif status is CaseStatus.DECIDED and case_no in self.links:
            self.attempt(decisions.download_result, self.links[case_no])
        else:
            moving = [p for p in self.packets_of(case_no) if p.status not in SETTLED]
            if moving:
                self.journey(moving[-1])

    def journey(self, packet: Packet):
        """The usual way of a packet: dispatched, carried through a hub, received or delivered."""
        hand = CLERK if packet.from_office == CLERK.office_code else OFFICER
        steps = [(hand, ScanType.DISPATCHED, None), (HUB_COURIER, ScanType.ARRIVED_HUB, "P140100"),
                 (HUB_COURIER, ScanType.DEPARTED_HUB, "P140100"), (COURIER, ScanType.OUT_FOR_DELIVERY, None)]
        if packet.to_office is None:
            steps.append((COURIER, ScanType.DELIVERED, None))
        else:
            steps.append((OFFICER if packet.to_office == OFFICER.office_code else CLERK, ScanType.RECEIVED, None))
        for actor, type_, place in steps:
            self.scan_one(packet.tracking_no, actor, type_, place)

    def scan_one(self, tracking_no, actor, type_, place):
        item = {"event_id": str(uuid.uuid4()), "tracking_no": tracking_no, "type": type_.value,
                "at": self.scan_at(), "office_code": place}
        custody.record_scans(self.db, self.env, actor, parse(custody.ScanBatch, {"scans": [item]}))
        self.db.commit()

    @rule(case_no=cases, action=st.sampled_from(["accept", "accept_elsewhere", "request_supplement",
                                                 "send_supplement", "reject", "withdraw", "refuse", "hand_over"]))
    def act(self, case_no, action):
        """Any step of the offices, whatever state the case is in."""
        if action == "accept_elsewhere":
            self.accept(case_no, OTHER_OFFICER)
        elif action == "refuse":
            self.decide(case_no, "refused")
        elif action == "accept":
            self.accept(case_no, OFFICER)
        else:
            getattr(self, action)(case_no)

    def accept(self, case_no, actor):
        self.attempt(decisions.accept_case, actor, case_no)

    def request_supplement(self, case_no):
        self.attempt(decisions.request_supplement, OFFICER, case_no,
                     parse(decisions.SupplementRequest, {"materials": ["id_card"], "note": "复印件不清"}))

    def send_supplement(self, case_no):
        self.attempt(decisions.send_supplement, CLERK, case_no,
                     parse(decisions.SupplementSending, {"materials": ["id_card"]}))

    def reject(self, case_no):
        self.attempt(decisions.reject_case, OFFICER, case_no, parse(decisions.Rejection, {"reason": "不属于本机关"}))

    def withdraw(self, case_no):
        self.attempt(decisions.withdraw_case, CLERK, case_no, parse(decisions.Withdrawal, {"reason": "申请人撤回"}))

    def decide(self, case_no, outcome):
        made = self.attempt(decisions.decide_case, OFFICER, case_no,
                            parse(decisions.Decision, {"outcome": outcome, "note": "办结", "result_file": PDF}))
        if made is not None and made.delivery is not None:
            self.links[case_no] = made.delivery.token

    def hand_over(self, case_no):
        self.attempt(decisions.hand_over, CLERK, case_no,
                     parse(decisions.Handover, {"identity_check": {"method": "face", "passed": True}}))

    @rule(tracking_no=packets, actor=st.sampled_from((CLERK, OFFICER)))
    def replace(self, tracking_no, actor):
        self.attempt(decisions.send_replacement, actor, tracking_no, parse(decisions.Replacement, {}))

    # -- what must always hold -----------------------------------------------------------------

    @invariant()
    def chains_verify(self):
        self.db.rollback()  # a fresh look at what is committed
        for case in self.db.exec(select(Case)):
            events = self.db.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
            assert verify_rows(list(events), case.last_hash), f"case {case.case_no}: chain broken"
        for packet in self.db.exec(select(Packet)):
            events = self.db.exec(select(PacketEvent).where(PacketEvent.packet_id == packet.id)
                                  .order_by(PacketEvent.id))
            assert verify_rows(list(events), packet.last_hash), f"packet {packet.tracking_no}: chain broken"

    @invariant()
    def case_status_agrees_with_its_packets(self):
        self.db.rollback()
        for case in self.db.exec(select(Case)):
            status = CaseStatus(case.status)
            packets = list(self.db.exec(select(Packet).where(Packet.case_id == case.id).order_by(Packet.id)))
            kinds = [p.kind for p in packets]
            where = f"case {case.case_no} {status.value}: {[(p.kind, p.status) for p in packets]}"
            assert kinds.count(PacketKind.OUTBOUND.value) == 1, where
            materials = [p for p in packets if p.kind in MATERIALS]
            results = [p for p in packets if p.kind == PacketKind.RESULT.value]
            received = any(p.status == PacketStatus.RECEIVED.value for p in materials)
            if status is CaseStatus.COLLECTED:
                assert packets[0].status == PacketStatus.CREATED.value and len(packets) == 1, where
            if status is CaseStatus.IN_TRANSIT:
                assert not received and packets[0].status != PacketStatus.CREATED.value, where
            if status in (CaseStatus.RECEIVED, CaseStatus.ACCEPTED, CaseStatus.SUPPLEMENT_REQUESTED,
                          CaseStatus.SUPPLEMENT_IN_TRANSIT) or case.decided_at is not None:
                assert received or case.deemed_accepted, where
            if status in BEFORE_DECISION:
                assert not results and case.decided_at is None, where
            paper = case.result_method != "electronic"
            if case.decided_at is not None:
                assert len(results) == (1 if paper else 0), where
            if status is CaseStatus.DECIDED and paper:
                assert results[0].status == PacketStatus.CREATED.value, where
            if status is CaseStatus.RESULT_IN_TRANSIT:
                assert results[0].status in ON_THE_WAY | {PacketStatus.LOST.value}, where
            if status is CaseStatus.READY_FOR_PICKUP:
                assert results[0].status == PacketStatus.RECEIVED.value, where
            if status is CaseStatus.DELIVERED and case.result_method == "mail":
                assert results[0].status in (PacketStatus.DELIVERED.value, PacketStatus.RECEIVED.value), where


@pytest.fixture
def lifecycles(db, env):
    Lifecycles.session_factory = staticmethod(lambda: (db, env))
    return Lifecycles


def test_no_sequence_of_use_cases_reaches_an_inconsistent_state(lifecycles):
    run = settings(max_examples=20, stateful_step_count=30, derandomize=True, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))(lifecycles)
    run.TestCase().runTest()
