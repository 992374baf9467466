"""The case state machine: statuses with their Chinese titles, one transition table."""
from __future__ import annotations

import enum
from datetime import date

from mailing.states import InvalidTransition


class CaseStatus(str, enum.Enum):
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    SUPPLEMENT_IN_TRANSIT = "supplement_in_transit"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DEEMED_WITHDRAWN = "deemed_withdrawn"  # 逾期未补正: the supplement due date passed with nothing sent
    DECIDED = "decided"
    RESULT_IN_TRANSIT = "result_in_transit"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    CLOSED = "closed"

    @property
    def title(self) -> str:
        return CASE_STATUS_TITLES[self]


CASE_STATUS_TITLES = {
    CaseStatus.COLLECTED: "已收件",
    CaseStatus.IN_TRANSIT: "材料寄递中",
    CaseStatus.RECEIVED: "已签收",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.SUPPLEMENT_REQUESTED: "待补正",
    CaseStatus.SUPPLEMENT_IN_TRANSIT: "补正材料寄递中",
    CaseStatus.REJECTED: "不予受理",
    CaseStatus.WITHDRAWN: "已撤回",
    CaseStatus.DEEMED_WITHDRAWN: "视为撤回申请",
    CaseStatus.DECIDED: "已办结",
    CaseStatus.RESULT_IN_TRANSIT: "结果寄递中",
    CaseStatus.READY_FOR_PICKUP: "待领取",
    CaseStatus.DELIVERED: "已送达",
    CaseStatus.CLOSED: "已归档",
}


class CaseAction(str, enum.Enum):
    DISPATCH = "dispatch"                      # outbound packet dispatched
    RECEIVE = "receive"                        # materials received by the owning office
    RECEIVE_FILES = "receive_files"            # every material's scan uploaded: the office sees them all
    ACCEPT = "accept"
    DEEM_ACCEPTED = "deem_accepted"            # 5 working days without a notice (行政许可法 art. 32)
    REQUEST_SUPPLEMENT = "request_supplement"
    DISPATCH_SUPPLEMENT = "dispatch_supplement"
    REJECT = "reject"
    REFUSE_STEP = "refuse_step"                # 多地联办: a step's office refuses after the acceptance: the case ends
    WITHDRAW = "withdraw"
    DEEM_WITHDRAWN = "deem_withdrawn"          # supplement due date passed, nothing collected
    DECIDE = "decide"
    DISPATCH_RESULT = "dispatch_result"
    RESULT_AT_WINDOW = "result_at_window"
    DELIVER = "deliver"                        # result delivered, downloaded or handed over
    CLOSE = "close"


C = CaseStatus
BEFORE_DECISION = {C.COLLECTED, C.IN_TRANSIT, C.RECEIVED, C.ACCEPTED,
                   C.SUPPLEMENT_REQUESTED, C.SUPPLEMENT_IN_TRANSIT}
TRANSITIONS: dict[CaseAction, tuple[set[CaseStatus], CaseStatus]] = {
    CaseAction.DISPATCH: ({C.COLLECTED}, C.IN_TRANSIT),
    CaseAction.RECEIVE: ({C.IN_TRANSIT, C.SUPPLEMENT_IN_TRANSIT}, C.RECEIVED),
    # the scans reach the owning office at once: the paper (if any) still travels, its receipt moves nothing
    CaseAction.RECEIVE_FILES: ({C.COLLECTED, C.IN_TRANSIT, C.SUPPLEMENT_REQUESTED, C.SUPPLEMENT_IN_TRANSIT},
                               C.RECEIVED),
    CaseAction.ACCEPT: ({C.RECEIVED}, C.ACCEPTED),
    CaseAction.DEEM_ACCEPTED: ({C.RECEIVED}, C.ACCEPTED),
    CaseAction.REQUEST_SUPPLEMENT: ({C.RECEIVED}, C.SUPPLEMENT_REQUESTED),
    CaseAction.DISPATCH_SUPPLEMENT: ({C.SUPPLEMENT_REQUESTED}, C.SUPPLEMENT_IN_TRANSIT),
    CaseAction.REJECT: ({C.RECEIVED, C.SUPPLEMENT_REQUESTED}, C.REJECTED),
    CaseAction.REFUSE_STEP: ({C.ACCEPTED}, C.REJECTED),
    CaseAction.WITHDRAW: (BEFORE_DECISION, C.WITHDRAWN),
    CaseAction.DEEM_WITHDRAWN: ({C.SUPPLEMENT_REQUESTED}, C.DEEMED_WITHDRAWN),
    CaseAction.DECIDE: ({C.ACCEPTED}, C.DECIDED),
    CaseAction.DISPATCH_RESULT: ({C.DECIDED}, C.RESULT_IN_TRANSIT),
    CaseAction.RESULT_AT_WINDOW: ({C.DECIDED, C.RESULT_IN_TRANSIT}, C.READY_FOR_PICKUP),
    CaseAction.DELIVER: ({C.DECIDED, C.RESULT_IN_TRANSIT, C.READY_FOR_PICKUP}, C.DELIVERED),
    CaseAction.CLOSE: ({C.DELIVERED}, C.CLOSED),
}
EVALUABLE = {C.DELIVERED, C.REJECTED, C.WITHDRAWN, C.DEEMED_WITHDRAWN}
FINISHED = {C.DELIVERED, C.CLOSED, C.REJECTED, C.WITHDRAWN, C.DEEMED_WITHDRAWN}
# ended before a decision: open stages are moot, originals went back
ENDED_EARLY = {C.REJECTED, C.WITHDRAWN, C.DEEMED_WITHDRAWN}


# 多地联办: a step's own state (tracking.commands.steps): waiting (earlier steps not done), awaiting (their paper
# on its way), received (it may start), accepted, supplement (its own notice sent: waiting for the applicant,
# its clock stopped), done, refused, stopped (another step refused: the case ended)
STEP_STATUS_TITLES = {"waiting": "待前序环节完成", "awaiting": "待转递档案送达", "received": "待受理",
                      "accepted": "办理中", "supplement": "待补正", "done": "已完成", "refused": "不予办理",
                      "stopped": "已终止"}
OPEN_STEPS = ("awaiting", "received", "accepted")
UNFINISHED_STEPS = ("waiting", "supplement", *OPEN_STEPS)


def is_overdue(status: CaseStatus, due_date: date, today: date) -> bool:
    """Past the date promised to the applicant and not finished."""
    return status not in FINISHED and due_date < today


def can(current: CaseStatus, action: CaseAction) -> bool:
    return current in TRANSITIONS[action][0]


def apply(current: CaseStatus, action: CaseAction) -> CaseStatus:
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise InvalidTransition(current.value, action.value)
    return target


# 好差评: the five levels, and the score at or below which a rating is bad and the owning office must
# follow it up (整改)
SCORE_TITLES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_SCORE = 2


STATUS_TEXT = {"open": "待整改", "done": "已整改"}
# the part of the service a rating is about, routed to the office that answers for it (evaluations), and
# how a follow-up's return visit (回访) reached the applicant
RATED_STAGES = {"window": "收件窗口", "post": "寄递", "office": "办理部门"}
VISIT_METHODS = {"phone": "电话回访", "visit": "上门回访", "sms": "短信回访", "window": "窗口当面回访", "other": "其他方式"}
