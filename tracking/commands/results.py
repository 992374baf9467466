"""What happens to an electronic result after the decision: the collecting window re-issues its download
link, the owning office revokes it.

Re-issuing (`reissue_link`) gives the result a new expiry, `delivery_link_days` from now; the link is made
from the file and that expiry (model.links), so the previous link, expired or not, stops working at once
(410 link_replaced): only the link in the newest message opens the file. The applicant gets the new link
by the usual outbox, with the verification code again.

Revoking (`revoke_result`) records when, by whom and why; the public verification page then says 已撤销
(the reason is not shown there: it may speak of the applicant), the file can no longer be downloaded, its
link can no longer be re-issued, and the applicant is told, reason included.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from config import clock
from routing.reference import directory as load_directory
from tracking.commands.decisions import DeliveryLink, Reason
from tracking.model import verification
from tracking.model.context import Actor, Env
from tracking.model.errors import conflict
from tracking.model.inputs import Command
from tracking.model.links import make_token
from tracking.model.lookups import as_clerk, as_officer, load_case
from tracking.model.messages import tell
from tracking.model.records import case_event
from tracking.model.tables import Case, ResultFile


class Revocation(Command):
    """撤销电子结果: why (told to the applicant, kept on the record, never shown on the public page)."""
    reason: Reason


@dataclass(frozen=True)
class Reissued:
    case: Case
    result: ResultFile
    delivery: DeliveryLink


def latest_result(session: Session, case: Case) -> ResultFile:
    """The case's electronic result (the newest, should there be more), or 409 when it has none."""
    stored = session.exec(select(ResultFile).where(ResultFile.case_id == case.id)
                          .order_by(ResultFile.id.desc())).first()
    if stored is None:
        raise conflict("no_electronic_result", "该办件没有电子结果（不是网络送达，或尚未办结）。", status=case.status)
    return stored


def reissue_link(session: Session, env: Env, actor: Actor, case_no: str) -> Reissued:
    case = load_case(session, case_no, lock=True)
    as_clerk(actor, case)
    stored = latest_result(session, case)
    if stored.revoked_at is not None:
        raise conflict("result_revoked", "该电子结果已被办理部门撤销，不能重新发送下载链接。")
    now = clock.now()
    days = env.settings.delivery_link_days
    # whole seconds: the token carries the expiry in seconds, and must name exactly this one
    stored.link_expires_at = (now + timedelta(days=days)).replace(microsecond=0)
    session.add(stored)
    expires = clock.beijing(stored.link_expires_at)
    case_event(session, case, "result_link_reissued", actor, data={"expires": clock.iso(expires)})
    tell(session, case, "result_link_reissued", result_file_id=stored.id,
         until=f"{expires:%Y年%m月%d日%H时%M分}", verification=verification.grouped(stored.verification_code))
    token = make_token(env.settings.secret_key, stored.id, stored.link_expires_at)
    return Reissued(case, stored, DeliveryLink(token, expires))


def revoke_result(session: Session, env: Env, actor: Actor, case_no: str, command: Revocation) -> ResultFile:
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    stored = latest_result(session, case)
    if stored.revoked_at is not None:
        raise conflict("already_revoked", "该电子结果已撤销，无需重复操作。")
    stored.revoked_at, stored.revoked_by, stored.revoke_reason = clock.now(), actor.username, command.reason
    session.add(stored)
    case_event(session, case, "result_revoked", actor, data={"reason": command.reason})
    office = load_directory(session).post(case.owning_office)
    tell(session, case, "result_revoked", verification=verification.grouped(stored.verification_code),
         office=office.name if office else case.owning_office, reason=command.reason)
    return stored
