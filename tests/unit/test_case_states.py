"""The case state machine (tracking.states), checked against a table written out from CONTRACT.md's
"Case states" section and the endpoint rules, not read from the module's own TRANSITIONS dict.

collected → in_transit → received → accepted → decided → result_in_transit or ready_for_pickup →
delivered → closed; side paths supplement_requested → supplement_in_transit → received; rejected;
withdrawn. An electronic result goes decided → delivered on first download.
"""
from __future__ import annotations

import pytest

from mailing.states import InvalidTransition
from tracking.model.states import CASE_STATUS_TITLES, EVALUABLE, CaseAction, CaseStatus, apply, can

BEFORE_DECIDED = ["collected", "in_transit", "received", "accepted", "supplement_requested",
                  "supplement_in_transit"]

# (status, action) -> status after; every pair not listed is refused.
ALLOWED: dict[tuple[str, str], str] = {
    # outbound packet dispatched: outbound `dispatched` → in_transit
    ("collected", "dispatch"): "in_transit",
    # outbound or supplement `received` by the owning office → received
    ("in_transit", "receive"): "received",
    ("supplement_in_transit", "receive"): "received",
    # every material's scan (or every requested supplement's) uploaded: the owning office sees it all (issue 16)
    ("collected", "receive_files"): "received",
    ("in_transit", "receive_files"): "received",
    ("supplement_requested", "receive_files"): "received",
    ("supplement_in_transit", "receive_files"): "received",
    # POST …/accept: from received
    ("received", "accept"): "accepted",
    # five working days without a notice: the sweep deems it accepted (only a received case)
    ("received", "deem_accepted"): "accepted",
    # POST …/supplement-requests: only from received
    ("received", "request_supplement"): "supplement_requested",
    # supplement packet dispatched
    ("supplement_requested", "dispatch_supplement"): "supplement_in_transit",
    # POST …/reject: from received or supplement_requested
    ("received", "reject"): "rejected",
    ("supplement_requested", "reject"): "rejected",
    # 多地联办 (issue 18): a step's office refuses after the one acceptance, which ends the case
    ("accepted", "refuse_step"): "rejected",
    # 逾期未补正: the sweep ends a case whose supplement due date passed with nothing sent (issue 13 §2)
    ("supplement_requested", "deem_withdrawn"): "deemed_withdrawn",
    # POST …/withdraw: any state before decided except rejected (written out below)
    ("collected", "withdraw"): "withdrawn",
    ("in_transit", "withdraw"): "withdrawn",
    ("received", "withdraw"): "withdrawn",
    ("accepted", "withdraw"): "withdrawn",
    ("supplement_requested", "withdraw"): "withdrawn",
    ("supplement_in_transit", "withdraw"): "withdrawn",
    # POST …/decision: from accepted
    ("accepted", "decide"): "decided",
    # result `dispatched` → result_in_transit
    ("decided", "dispatch_result"): "result_in_transit",
    # result `received` by the collecting office → ready_for_pickup ("decided → … or ready_for_pickup")
    ("decided", "result_at_window"): "ready_for_pickup",
    ("result_in_transit", "result_at_window"): "ready_for_pickup",
    # result `delivered` to the applicant; handed over at the window; electronic first download
    ("result_in_transit", "deliver"): "delivered",
    ("ready_for_pickup", "deliver"): "delivered",
    ("decided", "deliver"): "delivered",
    # after an evaluation or 30 days after delivery
    ("delivered", "close"): "closed",
}

CASES = [(s.value, a.value) for s in CaseStatus for a in CaseAction]


def test_the_expected_table_names_only_real_statuses_and_actions():
    statuses, actions = {s.value for s in CaseStatus}, {a.value for a in CaseAction}
    assert {s for s, _ in ALLOWED} | set(ALLOWED.values()) <= statuses
    assert {a for _, a in ALLOWED} == actions  # every action is possible from somewhere
    assert statuses == {"collected", "in_transit", "received", "accepted", "decided", "result_in_transit",
                        "ready_for_pickup", "delivered", "closed", "supplement_requested",
                        "supplement_in_transit", "rejected", "withdrawn", "deemed_withdrawn"}


@pytest.mark.parametrize("current, action", CASES, ids=[f"{s}-{a}" for s, a in CASES])
def test_an_action_moves_the_case_exactly_as_the_contract_says(current, action):
    expected = ALLOWED.get((current, action))
    assert can(CaseStatus(current), CaseAction(action)) is (expected is not None)
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            apply(CaseStatus(current), CaseAction(action))
        assert (info.value.current, info.value.action) == (current, action)
    else:
        assert apply(CaseStatus(current), CaseAction(action)) is CaseStatus(expected)


@pytest.mark.parametrize("current", [s.value for s in CaseStatus])
def test_a_case_can_be_withdrawn_from_any_state_before_decided_except_rejected(current):
    allowed = current in BEFORE_DECIDED
    assert can(CaseStatus(current), CaseAction.WITHDRAW) is allowed
    if allowed:
        assert apply(CaseStatus(current), CaseAction.WITHDRAW) is CaseStatus.WITHDRAWN


@pytest.mark.parametrize("current", [s.value for s in CaseStatus])
def test_a_case_can_be_rejected_only_when_received_or_waiting_for_a_supplement(current):
    assert can(CaseStatus(current), CaseAction.REJECT) is (current in ("received", "supplement_requested"))


@pytest.mark.parametrize("action", [CaseAction.ACCEPT, CaseAction.DEEM_ACCEPTED, CaseAction.REQUEST_SUPPLEMENT])
def test_accepting_or_asking_for_a_supplement_needs_a_received_case(action):
    assert [s.value for s in CaseStatus if can(s, action)] == ["received"]


def test_a_decision_needs_an_accepted_case():
    assert [s.value for s in CaseStatus if can(s, CaseAction.DECIDE)] == ["accepted"]


@pytest.mark.parametrize("final", ["rejected", "withdrawn", "closed"])
def test_a_rejected_withdrawn_or_closed_case_allows_no_further_action(final):
    assert [a.value for a in CaseAction if can(CaseStatus(final), a)] == []


def test_a_supplement_brings_the_case_back_to_received():
    status = CaseStatus.COLLECTED
    for action in ["dispatch", "receive", "request_supplement", "dispatch_supplement", "receive",
                   "accept", "decide", "dispatch_result", "deliver", "close"]:
        status = apply(status, CaseAction(action))
    assert status is CaseStatus.CLOSED


def test_a_paper_result_for_pick_up_goes_through_the_window():
    status = CaseStatus.ACCEPTED
    for action in ["decide", "dispatch_result", "result_at_window", "deliver"]:
        status = apply(status, CaseAction(action))
    assert status is CaseStatus.DELIVERED


def test_an_electronic_result_goes_from_decided_straight_to_delivered():
    assert apply(CaseStatus.DECIDED, CaseAction.DELIVER) is CaseStatus.DELIVERED


def test_a_delivered_case_cannot_be_delivered_again():
    with pytest.raises(InvalidTransition):
        apply(CaseStatus.DELIVERED, CaseAction.DELIVER)


def test_a_case_can_be_evaluated_once_delivered_rejected_or_withdrawn():
    assert {s.value for s in EVALUABLE} == {"delivered", "rejected", "withdrawn", "deemed_withdrawn"}


def test_status_texts_are_the_chinese_names_of_the_contract():
    assert {s.value: t for s, t in CASE_STATUS_TITLES.items()} == {
        "collected": "已收件", "in_transit": "材料寄递中", "received": "已签收", "accepted": "已受理",
        "decided": "已办结", "result_in_transit": "结果寄递中", "ready_for_pickup": "待领取",
        "delivered": "已送达", "closed": "已归档", "supplement_requested": "待补正",
        "supplement_in_transit": "补正材料寄递中", "rejected": "不予受理", "withdrawn": "已撤回",
        "deemed_withdrawn": "视为撤回申请"}
    assert CaseStatus.SUPPLEMENT_REQUESTED.title == "待补正"
