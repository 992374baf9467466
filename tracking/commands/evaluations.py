"""The applicant's evaluation at the end of a case (好差评), without an account: the case number and
its check code stand for who they are.

A rating is routed to the stage the rater says was at fault (the window, the post, the owning office;
the owning office unless said otherwise, and a supervisor may route it again). A bad one (1–2) opens a
follow-up for the office that answers for that stage, due `follow_up_days` working days later. A delivered
case is archived once rated, a badly rated one only when its follow-up is recorded (or by the sweep, 30
days after delivery, once no follow-up is open)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlmodel import Session, select

from config import clock
from routing.calendars import work_calendar
from tracking.model import tables
from tracking.model.context import Actor, Env
from tracking.model.errors import conflict
from tracking.model.inputs import MAX_NAME, Command, Text, asked, optional, text
from tracking.model.lookups import checked_case
from tracking.model.messages import tell
from tracking.model.records import case_event, rating_changed, transition
from tracking.model.states import BAD_SCORE, EVALUABLE, RATED_STAGES, CaseAction, CaseStatus

# the stages a rating may be routed to (states.RATED_STAGES), and the office that answers for each: the
# collecting window for the window and for the post (it chose the hand-over and deals with the carrier),
# the owning office for its own handling
RatedStage = Literal["window", "post", "office"]


def answering_office(case: tables.Case, stage: str) -> str:
    return case.owning_office if stage == "office" else case.collecting_office


class Evaluation(Command):
    check: optional(text(MAX_NAME)) = None  # a wrong or missing code is "not found", like an unknown number
    # a JSON number: "5" or 4.5 is refused (a form's choice is made a number by its page)
    score: asked(int, "请选择您对本次服务的满意程度。",
                 accept=lambda value: type(value) is int and 1 <= value <= 5)
    comment: Text = ""
    stage: optional(RatedStage) = None
    """Which part of the service the rating is about (window, post, office); the owning office if left out."""


@dataclass(frozen=True)
class Evaluated:
    evaluation: tables.Evaluation
    case: tables.Case


def open_follow_up(session: Session, env: Env, case: tables.Case, evaluation: tables.Evaluation,
                   since: date | None = None) -> None:
    """Gives a bad rating's follow-up to the office that answers for its stage, due `follow_up_days`
    working days after `since` (the day of the rating)."""
    office = answering_office(case, evaluation.stage)
    due, _ = work_calendar(session).add_working_days(since or clock.beijing_date(evaluation.at),
                                                     env.settings.follow_up_days)
    evaluation.follow_up_office, evaluation.follow_up_status, evaluation.follow_up_due = office, "open", due
    tell(session, case, "bad_rating", office_code=office, score=evaluation.score,
         stage=RATED_STAGES[evaluation.stage], due=f"{due:%Y年%m月%d日}")


def evaluate(session: Session, env: Env, case_no: str, command: Evaluation) -> Evaluated:
    case = checked_case(session, env, case_no, command.check)
    if session.exec(select(tables.Evaluation.id).where(tables.Evaluation.case_id == case.id)).first():
        raise conflict("already_evaluated", "该办件已评价过，每个办件只能评价一次。")
    if CaseStatus(case.status) not in EVALUABLE:
        raise conflict(message="办件尚未办结送达，暂不能评价。", status=case.status)
    evaluation = tables.Evaluation(case_id=case.id, score=command.score, comment=command.comment,
                                   stage=command.stage or "office", at=clock.now())
    session.add(evaluation)
    applicant, data = Actor("applicant", "public"), {"score": evaluation.score, "stage": evaluation.stage}
    if evaluation.score <= BAD_SCORE:
        open_follow_up(session, env, case, evaluation)
        case_event(session, case, "evaluated", applicant, data=data)  # stays open until followed up
    elif case.status == CaseStatus.DELIVERED.value:  # a delivered case is archived once rated (CONTRACT.md)
        case.closed_at = clock.now()
        transition(session, case, CaseAction.CLOSE, applicant, event="evaluated", data=data)
    else:
        case_event(session, case, "evaluated", applicant, data=data)
    rating_changed(session, case, evaluation)
    session.flush()
    return Evaluated(evaluation, case)
