"""What staff see of a case's files (issue 16): each material with its scans, page counts and whether the
owning office has them all. Plain rows: the web layer adds the addresses of each file and thumbnail."""
from __future__ import annotations

from sqlmodel import Session, select

from config import clock
from config.database import add_later
from routing.reference import directory as load_directory
from tracking.model.context import Actor
from tracking.model.errors import forbidden
from tracking.model.lookups import load_case, may_see, staff_case_file
from tracking.model.tables import AccessLog, Case, CaseFile

PURPOSES = {"material": "申请材料", "supplement": "补正材料", "step": "联办环节文书"}


def file_row(f: CaseFile, names: dict[str, str]) -> dict:
    return {"id": f.id, "material_code": f.material_code, "material": names.get(f.material_code, f.material_code),
            "purpose": f.purpose, "purpose_text": PURPOSES[f.purpose], "filename": f.filename,
            "content_type": f.content_type, "pages": f.pages, "size": f.size, "sha256": f.sha256,
            "has_thumbnail": f.thumbnail_key is not None and f.removed_at is None,
            "uploaded_at": clock.iso(f.uploaded_at), "uploaded_by": f.uploaded_by,
            "removed_at": clock.iso(f.removed_at), "removed_reason": f.removed_reason}


def files_of(session: Session, case: Case) -> list[dict]:
    """Every file of the case, oldest first (removed ones too: their rows are the record)."""
    names = {m["code"]: m["name"] for m in [*case.materials, *(case.supplement_materials or [])]}
    rows = session.exec(select(CaseFile).where(CaseFile.case_id == case.id).order_by(CaseFile.id)).all()
    return [file_row(f, names) for f in rows]


def materials_with_files(case: Case, files: list[dict]) -> list[dict]:
    """Each material of the case, how it travels, and its files still kept."""
    out = []
    for m in case.materials:
        mine = [f for f in files if f["material_code"] == m["code"] and f["purpose"] == "material"
                and not f["removed_at"]]
        out.append({"code": m["code"], "name": m["name"], "original": bool(m.get("original")),
                    "travels": m.get("travels", "paper"), "files": mine,
                    "pages": sum(f["pages"] for f in mine)})
    return out


def case_files(session: Session, actor: Actor, case_no: str, *, logged: bool = True) -> dict:
    """The files of a case for the staff of its two offices (they hold personal data: nobody else, not even
    a supervisor); the read is written to the access log (`logged=False`: a page that logs its read of the
    case already; each file it shows is logged when it is fetched)."""
    case = load_case(session, case_no)
    allowed, full = may_see(actor, case, load_directory(session))
    if not (allowed and full):
        raise forbidden("只有收件窗口和办理部门的工作人员可以查看材料文件。")
    if logged:
        add_later(session, AccessLog(at=clock.now(), username=actor.username, role=actor.role,
                                     office_code=actor.office_code, case_no=case.case_no, what="files"))
    files = files_of(session, case)
    materials = materials_with_files(case, files)
    return {"case_no": case.case_no, "status": case.status, "files": files, "materials": materials,
            "complete": bool(materials) and all(m["files"] for m in materials)}


def file_for_staff(session: Session, actor: Actor, file_id: int) -> dict:
    """One file's row and its case number, for the page that shows it (the file itself is read, and logged,
    by the viewer's request)."""
    stored, case = staff_case_file(session, actor, file_id, load_directory(session))
    names = {m["code"]: m["name"] for m in [*case.materials, *(case.supplement_materials or [])]}
    return {**file_row(stored, names), "case_no": case.case_no}
