"""Following up a bad rating (整改): the office the rating is routed to visits the applicant again (回访:
when, how, what they answered) and records what it did about it, which closes the follow-up and enters
the case's history. A supervisor may route a rating to another stage (window, post, owning office).
Scores 1–2 open one (`evaluations.evaluate`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlmodel import Session

from config import clock
from routing.reference import directory as load_directory
from tracking.commands.evaluations import RatedStage, open_follow_up
from tracking.model.context import Actor, Env
from tracking.model.errors import conflict, forbidden, rule
from tracking.model.inputs import INVALID_REQUEST, BeijingDatetime, Command, asked, optional, text
from tracking.model.lookups import evaluation_of, load_case, may_see
from tracking.model.records import case_event, rating_changed, transition
from tracking.model.states import RATED_STAGES, CaseAction, CaseStatus
from tracking.model.tables import Case, Evaluation

NOTE_MIN = 5      # characters: "已电话回访" at the least, never an empty "ok"
NOTE_MAX = 1000
ANSWER_MAX = 500


def _not_too_long(value: Any) -> Any:
    if isinstance(value, str) and len(value.strip()) > NOTE_MAX:
        raise PydanticCustomError(INVALID_REQUEST, f"整改情况最多{NOTE_MAX}个字，请精简。")
    return value


class FollowUp(Command):
    note: asked(Annotated[text(NOTE_MAX), BeforeValidator(_not_too_long)],
                f"请写明做了哪些整改、是否已联系申请人（至少{NOTE_MIN}个字）。",
                accept=lambda value: not isinstance(value, str) or len(value.strip()) >= NOTE_MIN)
    """The rectification: what the office did about the rating."""
    visit_method: optional(Literal["phone", "visit", "sms", "window", "other"]) = None
    """The return visit (回访): how the applicant was reached."""
    visited_at: optional(BeijingDatetime) = None
    """When (without an offset, Beijing time); now if left out."""
    visit_answer: optional(text(ANSWER_MAX)) = None
    """What the applicant answered."""

    @model_validator(mode="after")
    def _a_visit_says_how_and_what(self) -> FollowUp:
        if self.visit_method or self.visited_at or self.visit_answer:
            problems = []
            if not self.visit_method:
                problems.append(("visit_method", "请选择回访方式。"))
            if not self.visit_answer:
                problems.append(("visit_answer", "请写明申请人在回访中的答复。"))
            if problems:
                raise ValidationError.from_exception_data("FollowUp", [
                    InitErrorDetails(type=PydanticCustomError(INVALID_REQUEST, message), loc=(field,), input=None)
                    for field, message in problems])
        return self


class Reassignment(Command):
    stage: asked(RatedStage, "请选择该评价应转给哪个环节：收件窗口、寄递或办理部门。",
                 accept=lambda value: value in RATED_STAGES)


@dataclass(frozen=True)
class FollowedUp:
    case: Case
    evaluation: Evaluation


def _open_follow_up(session: Session, case: Case) -> Evaluation:
    evaluation = evaluation_of(session, case)
    if evaluation is None or evaluation.follow_up_status != "open":
        done = evaluation is not None and evaluation.follow_up_status == "done"
        raise conflict("no_open_follow_up", "该差评已整改完毕，无需再次登记。" if done else "该办件没有待整改的差评。")
    return evaluation


def record_follow_up(session: Session, env: Env, actor: Actor, case_no: str, command: FollowUp) -> FollowedUp:
    """Closes the open follow-up of the case's bad rating with the return visit and what was done: only
    staff of the office it is routed to, only while one is open; an event on the case records it."""
    case = load_case(session, case_no, lock=True)
    evaluation = evaluation_of(session, case)
    office = evaluation.follow_up_office if evaluation and evaluation.follow_up_office else case.owning_office
    if actor.role not in ("officer", "clerk") or actor.office_code != office:
        raise forbidden("只有该评价所转交单位的工作人员可以登记整改情况。")
    evaluation = _open_follow_up(session, case)
    now = clock.now()
    visited_at = command.visited_at or (now if command.visit_method else None)
    if visited_at is not None and not evaluation.at <= visited_at <= now:
        raise rule("implausible_time", "回访时间应在申请人评价之后、当前时间之前。", "visited_at")
    evaluation.follow_up_status, evaluation.follow_up_note = "done", command.note
    evaluation.followed_up_at, evaluation.followed_up_by = now, actor.username
    evaluation.visited_at, evaluation.visit_method, evaluation.visit_answer = \
        visited_at, command.visit_method, command.visit_answer
    session.add(evaluation)
    visit = {"visit": {"at": clock.iso(visited_at), "method": command.visit_method, "answer": command.visit_answer}} \
        if command.visit_method else {}
    data = {"score": evaluation.score, "note": command.note, **visit}
    if case.status == CaseStatus.DELIVERED.value:  # rated, and the rating answered: the case is archived
        case.closed_at = now
        transition(session, case, CaseAction.CLOSE, actor, event="followed_up", at=now, data=data)
    else:
        case_event(session, case, "followed_up", actor, at=now, data=data)
    rating_changed(session, case, evaluation)
    session.flush()
    return FollowedUp(case, evaluation)


def reassign_follow_up(session: Session, env: Env, actor: Actor, case_no: str, command: Reassignment) -> FollowedUp:
    """A supervisor routes an open bad rating to another stage: its office changes, the due date starts
    again from today, the new office is told, and the case's history records who moved it from where."""
    case = load_case(session, case_no, lock=True)
    if actor.role != "supervisor" or not may_see(actor, case, load_directory(session))[0]:
        raise forbidden("只有监督人员可以转交差评。")
    evaluation = _open_follow_up(session, case)
    if evaluation.stage == command.stage:
        raise conflict("same_stage", f"该评价已由“{RATED_STAGES[command.stage]}”整改，无需转交。")
    before = (evaluation.stage, evaluation.follow_up_office)
    evaluation.stage = command.stage
    open_follow_up(session, env, case, evaluation, since=clock.beijing_date())
    session.add(evaluation)
    case_event(session, case, "follow_up_reassigned", actor,
               data={"from": before[0], "to": evaluation.stage, "from_office": before[1],
                     "office_code": evaluation.follow_up_office, "due": evaluation.follow_up_due.isoformat()})
    rating_changed(session, case, evaluation)
    session.flush()
    return FollowedUp(case, evaluation)
