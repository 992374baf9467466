"""What applicants see without an account: the timeline, and the evaluation at the end."""
from __future__ import annotations


from sqlmodel import Session, select

from config import clock
from tracking.model.context import Actor, Env
from tracking.model.errors import bad_request, conflict
from tracking.model.records import case_event, notify, transition
from tracking.model.states import BAD_SCORE, EVALUABLE, CaseAction, CaseStatus
from tracking.model.tables import Case, Evaluation
from tracking.model.lookups import checked_case


def evaluate(session: Session, env: Env, case_no: str, body: dict) -> tuple[Evaluation, Case]:
    if not isinstance(body, dict):
        raise bad_request("请求内容应为对象。")
    case = checked_case(session, env, case_no, body.get("check"))
    score = body.get("score")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise bad_request("评价等级应为1至5的整数。", "score")
    comment = body.get("comment") or ""
    if not isinstance(comment, str):
        raise bad_request("评价内容应为文本。", "comment")
    if session.exec(select(Evaluation.id).where(Evaluation.case_id == case.id)).first():
        raise conflict("already_evaluated", "该办件已评价过，每个办件只能评价一次。")
    if CaseStatus(case.status) not in EVALUABLE:
        raise conflict(message="办件尚未办结送达，暂不能评价。", status=case.status)
    evaluation = Evaluation(case_id=case.id, score=score, comment=comment.strip()[:500], at=clock.now())
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
    return evaluation, case
