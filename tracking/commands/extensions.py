"""延期: the owning office extends the decision period of a permit once (行政许可法 art. 42: up to ten
working days, approved by the head of the office, the reason told to the applicant)."""
from __future__ import annotations

from sqlmodel import Session

from config import clock
from routing.matter_types import MAX_EXTENSION_DAYS, may_extend, type_title
from routing.tables import Matter
from tracking.model.context import Actor, Env
from tracking.model.deadlines import recompute_due_date
from tracking.model.errors import conflict, rule
from tracking.model.inputs import MAX_NAME, Command, asked, integer, text
from tracking.model.lookups import as_officer, load_case
from tracking.model.messages import tell
from tracking.model.records import case_event
from tracking.model.states import CaseStatus
from tracking.model.tables import Case


class Extension(Command):
    days: asked(integer(1, MAX_EXTENSION_DAYS, f"延长的天数应为1至{MAX_EXTENSION_DAYS}个工作日。"),
                f"请填写延长的天数（1至{MAX_EXTENSION_DAYS}个工作日）。")
    reason: asked(text(), "请填写延期理由，将告知申请人。")
    approved_by: asked(text(MAX_NAME), "请填写批准延期的本机关负责人。")


def extend_case(session: Session, env: Env, actor: Actor, case_no: str, command: Extension) -> Case:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    matter = session.get(Matter, case.matter_code)
    if not may_extend(matter.type):
        raise rule("extension_not_allowed", f"本事项属于{type_title(matter.type)}事项，办理时限不能延长，"
                                            "请在承诺时限内作出决定。")
    if case.extended_at is not None:
        raise conflict("already_extended", "办理期限只能延长一次，本办件已延期。")
    if case.status != CaseStatus.ACCEPTED.value:
        raise conflict(message="只有已受理、尚未办结的办件才能延长办理期限。", status=case.status)
    before = case.due_date
    case.extension_days, case.extension_reason, case.extended_at = command.days, command.reason, clock.now()
    recompute_due_date(session, case, env.settings)
    case_event(session, case, "extended", actor,
               data={"days": command.days, "reason": command.reason, "approved_by": command.approved_by,
                     "due_before": before.isoformat(), "due_date": case.due_date.isoformat()})
    tell(session, case, "extended", days=command.days, due=f"{case.due_date:%Y年%m月%d日}", reason=command.reason)
    return case
