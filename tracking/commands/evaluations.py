"""The applicant's evaluation at the end of a case (好差评), without an account: the case number and
its check code stand for who they are."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from config import clock
from tracking.model import tables
from tracking.model.context import Actor, Env
from tracking.model.errors import conflict
from tracking.model.inputs import MAX_NAME, Command, Text, asked, optional, text
from tracking.model.lookups import checked_case
from tracking.model.records import case_event, notify, transition
from tracking.model.states import BAD_SCORE, EVALUABLE, CaseAction, CaseStatus


class Evaluation(Command):
    check: optional(text(MAX_NAME)) = None  # a wrong or missing code is "not found", like an unknown number
    # a JSON number: "5" or 4.5 is refused (a form's choice is made a number by its page)
    score: asked(int, "请选择您对本次服务的满意程度。",
                 accept=lambda value: type(value) is int and 1 <= value <= 5)
    comment: Text = ""


@dataclass(frozen=True)
class Evaluated:
    evaluation: tables.Evaluation
    case: tables.Case


def evaluate(session: Session, env: Env, case_no: str, command: Evaluation) -> Evaluated:
    case = checked_case(session, env, case_no, command.check)
    if session.exec(select(tables.Evaluation.id).where(tables.Evaluation.case_id == case.id)).first():
        raise conflict("already_evaluated", "该办件已评价过，每个办件只能评价一次。")
    if CaseStatus(case.status) not in EVALUABLE:
        raise conflict(message="办件尚未办结送达，暂不能评价。", status=case.status)
    score = command.score
    evaluation = tables.Evaluation(case_id=case.id, score=score, comment=command.comment, at=clock.now())
    if score <= BAD_SCORE:
        evaluation.follow_up_office, evaluation.follow_up_status = case.owning_office, "open"
        notify(session, case, f"办件{case.case_no}收到差评（{score}分），请及时整改回访。",
               office_code=case.owning_office)
    session.add(evaluation)
    applicant = Actor("applicant", "public")
    if case.status == CaseStatus.DELIVERED.value:
        case.closed_at = clock.now()
        transition(session, case, CaseAction.CLOSE, applicant, event="evaluated", data={"score": score})
    else:
        case_event(session, case, "evaluated", applicant, data={"score": score})
    session.flush()
    return Evaluated(evaluation, case)
