"""Electronic results as people see them: a third party checking a verification code (public, no personal
data), and the staff of the case's two offices looking at the result and its state."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from config import clock
from config.database import add_later
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.files import vault
from tracking.files.storage import storage_for
from tracking.model import verification
from tracking.model.context import Actor, Env
from tracking.model.errors import conflict, forbidden, not_found
from tracking.model.links import link_expiry
from tracking.model.lookups import load_case, may_see
from tracking.model.tables import AccessLog, Case, ResultFile

STATUS_TEXT = {"valid": "有效", "revoked": "已撤销"}
# one answer for a code that is not a code, one that no result carries: a guess learns nothing
UNKNOWN = "未找到该验证码对应的电子结果，请核对验证码。"


def verify(session: Session, typed: str) -> dict:
    """What a code says about its result: valid or revoked, the matter, the office that issued it and when.
    Nothing about the applicant, and not the revocation's reason; the case number masked."""
    code = verification.normalised(typed)
    if code is None:
        raise not_found(UNKNOWN)
    row = session.exec(select(ResultFile.created_at, ResultFile.revoked_at, ResultFile.sha256, Case.case_no,
                              Case.matter_code, Case.owning_office, Case.decided_at)
                       .join(Case, Case.id == ResultFile.case_id)
                       .where(ResultFile.verification_code == code)).first()
    if row is None:
        raise not_found(UNKNOWN)
    created_at, revoked_at, sha256, case_no, matter_code, owning_office, decided_at = row
    matter = session.get(Matter, matter_code)
    office = load_directory(session).post(owning_office)
    status = "revoked" if revoked_at is not None else "valid"
    return {"code": verification.grouped(code), "status": status, "status_text": STATUS_TEXT[status],
            "matter": matter.name if matter else matter_code,
            "issued_by": office.name if office else owning_office,
            "issued_on": clock.beijing_date(decided_at or created_at).isoformat(),
            "revoked_on": clock.beijing_date(revoked_at).isoformat() if revoked_at else None,
            "case_no": verification.masked_case_no(case_no), "sha256": sha256}


def staff_view(session: Session, env: Env, case: Case, full: bool) -> dict | None:
    """The case's electronic result for its staff page (no link: opening it would count as the applicant's
    download): the verification code, the current link's expiry, downloaded or not, revoked or not.
    `viewable` (`full`: staff of the case's two offices) says whether the file itself may be opened."""
    stored = session.exec(select(ResultFile).where(ResultFile.case_id == case.id)
                          .order_by(ResultFile.id.desc())).first()
    if stored is None:
        return None
    expires = link_expiry(stored.created_at, stored.link_expires_at, env.settings.delivery_link_days)
    return {"filename": stored.filename, "content_type": stored.content_type, "sha256": stored.sha256,
            "size": stored.size, "created_at": clock.iso(stored.created_at),
            "verification_code": verification.grouped(stored.verification_code)
            if stored.verification_code else None,
            "link_expires": clock.iso(expires), "link_expired": clock.now() >= expires,
            "downloaded_at": clock.iso(stored.downloaded_at), "revoked_at": clock.iso(stored.revoked_at),
            "revoked_by": stored.revoked_by, "revoke_reason": stored.revoke_reason, "viewable": full}


@dataclass(frozen=True)
class ResultFileContent:
    filename: str
    content_type: str
    sha256: str
    data: bytes


def result_file_for_staff(session: Session, env: Env, actor: Actor, case_no: str) -> ResultFileContent:
    """The result's bytes for the clerks and officers of the case's two offices, to look at in the page
    (each read on the access log; it is not the applicant's download and delivers nothing)."""
    case = load_case(session, case_no)
    allowed, full = may_see(actor, case, load_directory(session))
    if not (allowed and full):
        raise forbidden("只有办件的收件窗口和办理部门可以查看电子结果。")
    stored = session.exec(select(ResultFile).where(ResultFile.case_id == case.id)
                          .order_by(ResultFile.id.desc())).first()
    if stored is None:
        raise conflict("no_electronic_result", "该办件没有电子结果（不是网络送达，或尚未办结）。", status=case.status)
    add_later(session, AccessLog(at=clock.now(), username=actor.username, role=actor.role,
                                 office_code=actor.office_code, case_no=case.case_no, what="result_file"))
    return ResultFileContent(stored.filename, stored.content_type, stored.sha256,
                             vault.result_bytes(storage_for(env.settings), env.sealer, stored))
