"""Materials as files (issue 16): the window uploads each material's scan, the owning office sees the case
as soon as every material has one, and the paper that must still travel is compared with the files when it
arrives.

A file is checked by content (tracking.files.checks), sealed with the data key and kept in the file store by
content (tracking.files.vault): the same scan uploaded twice is stored once, and removed only when no row
needs it any more. The store sits outside the database's transaction: an upload refused after its objects
were written leaves them unreferenced (they hold sealed bytes only) until the same content comes again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlmodel import Session, select

from config import clock
from config.database import add_later
from config.settings import Settings
from mailing.states import PacketKind
from mailing.tables import Packet
from routing.reference import directory as load_directory
from tracking.commands.intake import travels_by_post
from tracking.files import vault
from tracking.files.checks import FileLimits, FileRefused, check_file, split_pdf
from tracking.model.context import SYSTEM, Actor, Env
from tracking.model.deadlines import beijing_day, recompute_due_date
from tracking.model.errors import bad_request, conflict, gone, not_found, rule
from tracking.model.inputs import MAX_NAME, Command, text
from tracking.model.lookups import as_clerk, load_case, staff_case_file
from tracking.model.messages import tell
from tracking.model.records import case_event, transition
from tracking.model.states import ENDED_EARLY, CaseAction, CaseStatus
from tracking.model.tables import AccessLog, Case, CaseFile

# before the office has it all, and while it reviews it (a clearer scan): a material's own files
MATERIAL_UPLOADS = {CaseStatus.COLLECTED, CaseStatus.IN_TRANSIT, CaseStatus.RECEIVED}
SUPPLEMENT_UPLOADS = {CaseStatus.SUPPLEMENT_REQUESTED, CaseStatus.SUPPLEMENT_IN_TRANSIT}
AWAITING_ORIGINALS = "awaiting_originals"
MATERIAL_KINDS = (PacketKind.OUTBOUND.value, PacketKind.SUPPLEMENT.value, PacketKind.REPLACEMENT.value)
MAX_PARTS = 20  # materials one scan may be split into
PAGES = re.compile(r"\s*(\d{1,4})\s*(?:-\s*(\d{1,4})\s*)?")


# -- the command ---------------------------------------------------------------------------------

class FileUpload(Command):
    """The form fields beside the file. `material_code`: one code, or with `pages` several codes separated
    by commas, one per page range ("application_form,id_card" with pages "1-2,3"): one scan split into
    its materials. `purpose`: supplement for a scan that answers a supplement request."""
    material_code: text(MAX_NAME * 4, required=True)
    purpose: Literal["material", "supplement"] = "material"
    pages: text(200) = ""

    def parts(self) -> list[tuple[str, tuple[int, int] | None]]:
        """(material code, page range or None for the whole file), in the order given."""
        codes = [c.strip() for c in self.material_code.split(",")]
        if any(not c for c in codes):
            raise bad_request("材料编码不能为空。", "material_code")
        if not self.pages.strip():
            if len(codes) != 1:
                raise bad_request("一个文件对应多项材料时，请注明每项材料的页码范围。", "pages")
            return [(codes[0], None)]
        ranges = []
        for piece in self.pages.split(","):
            found = PAGES.fullmatch(piece)
            if not found:
                raise bad_request(f"页码范围“{piece.strip()}”格式有误，应如“1-2,3-5”。", "pages")
            first, last = int(found.group(1)), int(found.group(2) or found.group(1))
            if first < 1 or last < first:
                raise bad_request(f"页码范围“{piece.strip()}”有误：起始页应不小于1且不大于结束页。", "pages")
            ranges.append((first, last))
        if len(ranges) != len(codes) or len(codes) > MAX_PARTS:
            raise bad_request(f"材料编码与页码范围应一一对应（最多{MAX_PARTS}项）：共{len(codes)}项材料、"
                                          f"{len(ranges)}段页码。", "pages")
        return list(zip(codes, ranges))


@dataclass(frozen=True)
class Uploaded:
    case: Case
    files: list[CaseFile]
    received: bool  # this upload completed the materials (or the supplement): the case is received now


@dataclass(frozen=True)
class Opened:
    file: CaseFile
    case_no: str
    data: bytes
    content_type: str
    filename: str


# -- helpers -------------------------------------------------------------------------------------

def live_files(session: Session, case: Case) -> list[CaseFile]:
    return list(session.exec(select(CaseFile).where(CaseFile.case_id == case.id, CaseFile.removed_at.is_(None))
                             .order_by(CaseFile.id)))


def _materials_complete(case: Case, files: list[CaseFile]) -> bool:
    have = {f.material_code for f in files if f.purpose == "material"}
    return bool(case.materials) and all(m["code"] in have for m in case.materials)


def _supplement_complete(case: Case, files: list[CaseFile]) -> bool:
    since = case.supplement_requested_at
    have = {f.material_code for f in files if f.purpose == "supplement" and since and f.uploaded_at >= since}
    return bool(case.supplement_materials) and all(m["code"] in have for m in case.supplement_materials)


# -- the window uploads --------------------------------------------------------------------------

def upload_case_files(session: Session, env: Env, storage, actor: Actor, case_no: str, upload: FileUpload,
                      data: bytes, filename: str) -> Uploaded:
    """One scan (or one scan split into several materials) of a case, by its collecting window. A file the
    checks refuse changes nothing of the case (422 with the check's code). When every material has a file
    (or, after a supplement request, every requested material has a supplement file) the case is received:
    the owning office reviews it online, and the law's clocks run from now."""
    case = load_case(session, case_no, lock=True)
    as_clerk(actor, case)
    status = CaseStatus(case.status)
    if upload.purpose == "material":
        if status not in MATERIAL_UPLOADS:
            raise conflict(message=f"办件当前状态为“{status.title}”，不能再上传申请材料扫描件。", status=case.status)
        known = {m["code"]: m["name"] for m in case.materials}
        where = "本办件收取的材料"
    else:
        if status not in SUPPLEMENT_UPLOADS:
            raise conflict(message="办件不在待补正状态，不能上传补正材料。", status=case.status)
        known = {m["code"]: m["name"] for m in case.supplement_materials or []}
        where = "补正通知所列材料"
    parts = upload.parts()
    unknown = [code for code, _ in parts if code not in known]
    if unknown:
        raise rule("unknown_material", f"材料“{'、'.join(unknown)}”不在{where}中。", "material_code")

    limits = FileLimits.from_settings(env.settings)
    try:
        checked = check_file(data, filename, limits)
        pieces = [checked] if parts[0][1] is None else split_pdf(checked, [r for _, r in parts], limits)
    except FileRefused as e:  # well-formed, refused by a rule: 422 with the check's code, nothing written
        raise rule(e.code, e.message, "file") from None

    now = clock.now()
    made = []
    for (code, _), piece in zip(parts, pieces):
        stored = CaseFile(case_id=case.id, material_code=code, purpose=upload.purpose, filename=piece.filename[:200],
                          content_type=piece.content_type, pages=piece.pages or 1, size=piece.size,
                          sha256=piece.sha256, storage_key=vault.keep(storage, env.sealer, piece.data),
                          thumbnail_key=vault.keep(storage, env.sealer, piece.thumbnail) if piece.thumbnail else None,
                          uploaded_by=actor.username, office_code=actor.office_code, uploaded_at=now)
        session.add(stored)
        made.append(stored)
    session.flush()
    case_event(session, case, "files_uploaded", actor, at=now, data={
        "purpose": upload.purpose,
        "files": [{"id": f.id, "material_code": f.material_code, "name": known[f.material_code],
                   "pages": f.pages, "sha256": f.sha256} for f in made]})

    files = live_files(session, case)
    received = False
    if upload.purpose == "material" and status in (CaseStatus.COLLECTED, CaseStatus.IN_TRANSIT) \
            and _materials_complete(case, files):
        case.received_at = now
        transition(session, case, CaseAction.RECEIVE_FILES, actor, event="received", at=now,
                   data={"how": "files", "files": len(files)})
        tell(session, case, "files_received", office_code=case.owning_office, what="申请材料")
        received = True
    elif upload.purpose == "supplement" and _supplement_complete(case, files):
        case.supplement_received_at = now
        if case.received_at is None:  # (cannot be: a supplement is asked of a received case)
            case.received_at = now
        transition(session, case, CaseAction.RECEIVE_FILES, actor, event="received", at=now,
                   data={"how": "files", "supplement": True, "files": len(files)})
        tell(session, case, "files_received", office_code=case.owning_office, what="补正材料")
        received = True
    recompute_due_date(session, case, env.settings)
    return Uploaded(case, made, received)


# -- staff read them -----------------------------------------------------------------------------

def open_case_file(session: Session, env: Env, storage, actor: Actor, file_id: int, *,
                   thumbnail: bool = False) -> Opened:
    """A case's file (or its thumbnail) for the staff of the case's two offices, who see its personal data
    in full; every view is written to the access log (`file:ID` or `thumbnail:ID`)."""
    stored, case = staff_case_file(session, actor, file_id, load_directory(session))
    if stored.removed_at is not None:
        raise gone("file_removed", "该文件已按保存期限删除。")
    key = stored.thumbnail_key if thumbnail else stored.storage_key
    if key is None:
        raise not_found("该文件没有缩略图。")
    try:
        data = vault.fetch(storage, env.sealer, key)
    except KeyError:
        raise gone("file_missing", "文件在存储中找不到，请联系系统管理员从备份中恢复。") from None
    add_later(session, AccessLog(at=clock.now(), username=actor.username, role=actor.role,
                                 office_code=actor.office_code, case_no=case.case_no,
                                 what=f"{'thumbnail' if thumbnail else 'file'}:{stored.id}"))
    return Opened(stored, case.case_no, data, "image/png" if thumbnail else stored.content_type,
                  f"{stored.id}.png" if thumbnail else stored.filename)


# -- the paper that still travels -----------------------------------------------------------------

def _paper_originals(case: Case) -> list[dict]:
    """The originals that go by post: the office must see them before it decides."""
    return [m for m in case.materials if travels_by_post(m) and m.get("original")]


def originals_on_the_way(session: Session, case: Case) -> list[dict]:
    """Paper originals of the case whose packet the owning office has not received yet."""
    originals = _paper_originals(case)
    if not originals:
        return []
    packets = session.exec(select(Packet).where(Packet.case_id == case.id, Packet.kind.in_(MATERIAL_KINDS),
                                                Packet.to_office == case.owning_office)).all()
    arrived = {m["code"] for p in packets if p.status == "received" for m in p.contents}
    return [m for m in originals if m["code"] not in arrived]


def accepted_on_condition(session: Session, case: Case) -> list[dict]:
    """At acceptance: the originals still on their way make it conditional (受理（待原件核验）). The case is
    flagged until the packet is received with its contents check (paper_arrived)."""
    waiting = originals_on_the_way(session, case)
    if waiting:
        case.flags = [*case.flags, {"code": AWAITING_ORIGINALS, "materials": [m["code"] for m in waiting],
                                    "names": [m["name"] for m in waiting], "at": clock.iso(clock.now())}]
    return waiting


def awaiting_originals(case: Case) -> dict | None:
    return next((f for f in case.flags if f.get("code") == AWAITING_ORIGINALS), None)


def paper_arrived(session: Session, case: Case, packet: Packet, checked: list[dict] | None, actor: Actor,
                  at: datetime, office_code: str | None) -> None:
    """A packet of materials received by the owning office of a case whose materials came as files: the
    contents check compares the paper with the files (a case event says whether they match), and the
    originals an acceptance waited for clear its flag once they are here and not found missing or damaged.
    A receipt without an item-by-item check (a sheet's count) clears it too, recorded as unchecked, so
    that no case is stuck on a check nobody can make any more."""
    if packet.kind not in MATERIAL_KINDS or packet.to_office != case.owning_office:
        return
    files = live_files(session, case)
    flag = awaiting_originals(case)
    if not files and flag is None:
        return  # a paper-only case: the contents check says it all
    results = {c["code"]: c["status"] for c in checked or []}
    with_files = {f.material_code for f in files}
    problems = [{"code": m["code"], "name": m.get("name", m["code"]), "status": results[m["code"]]}
                for m in packet.contents if results.get(m["code"], "ok") != "ok"]
    without_file = [{"code": m["code"], "name": m.get("name", m["code"])} for m in packet.contents
                    if m["code"] not in with_files]
    data = {"tracking_no": packet.tracking_no, "checked": checked is not None}
    if files:
        case_event(session, case, "paper_compared", actor, at=at, office_code=office_code,
                   data={**data, "matched": not problems and not without_file, "problems": problems,
                         "without_file": without_file})
    if flag is None:
        return
    short = [c for c in flag["materials"] if results.get(c, "ok") != "ok"]
    here = {m["code"] for m in packet.contents}
    still = [c for c in flag["materials"] if c not in here or c in short]
    if still:
        case.flags = [f if f.get("code") != AWAITING_ORIGINALS else {**f, "materials": still} for f in case.flags]
        if short:
            case_event(session, case, "originals_not_in_order", actor, at=at, office_code=office_code,
                       data={**data, "materials": short})
        return
    case.flags = [f for f in case.flags if f.get("code") != AWAITING_ORIGINALS]
    case_event(session, case, "originals_arrived", actor, at=at, office_code=office_code,
               data={**data, "materials": flag["materials"]})


def refuse_decision_before_originals(case: Case) -> None:
    flag = awaiting_originals(case)
    if flag is not None:
        names = "、".join(flag.get("names") or flag["materials"])
        raise conflict("originals_not_arrived", f"须核验的原件（{names}）尚未寄到并签收核对，暂不能作出决定。",
                       materials=flag["materials"])


# -- retention -----------------------------------------------------------------------------------

def _ended_on(case: Case) -> date | None:
    if case.status == CaseStatus.CLOSED.value and case.closed_at:
        return beijing_day(case.closed_at)
    if CaseStatus(case.status) in ENDED_EARLY and case.ended_at:
        return beijing_day(case.ended_at)
    return None


def _referenced(session: Session, key: str) -> bool:
    """Whether a file still kept (of any case) needs the stored object `key`."""
    return session.exec(select(CaseFile.id).where(CaseFile.removed_at.is_(None),
                                                  (CaseFile.storage_key == key) | (CaseFile.thumbnail_key == key))
                        ).first() is not None


def forget_expired_files(session: Session, settings: Settings, storage, today: date, checkpoint) -> int:
    """The files of cases closed (or ended early) more than `file_retention_days` ago: the stored objects go
    (each once no kept row needs it), the rows stay with removed_at and the reason, and the case's history
    says so. One case per unit of work (`checkpoint`: the caller's commit)."""
    cutoff = today - timedelta(days=settings.file_retention_days)
    ended = [s.value for s in ENDED_EARLY] + [CaseStatus.CLOSED.value]
    ids = list(session.exec(select(CaseFile.case_id).join(Case, Case.id == CaseFile.case_id)
                            .where(CaseFile.removed_at.is_(None), Case.status.in_(ended)).distinct()))
    checkpoint()
    removed = 0
    for case_id in sorted(ids):
        case = session.exec(select(Case).where(Case.id == case_id).with_for_update()
                            .execution_options(populate_existing=True)).one()
        day = _ended_on(case)
        if day is None or day > cutoff:
            checkpoint()
            continue
        files = live_files(session, case)
        now = clock.now()
        for f in files:
            f.removed_at, f.removed_reason = now, f"保存期限届满（办结或终止后{settings.file_retention_days}日）"
            session.add(f)
        session.flush()
        for key in sorted({k for f in files for k in (f.storage_key, f.thumbnail_key) if k}):
            if not _referenced(session, key):
                vault.forget(storage, key)
        case_event(session, case, "files_removed", SYSTEM, at=now,
                   data={"files": len(files), "retention_days": settings.file_retention_days,
                         "ended_on": day.isoformat()})
        removed += len(files)
        checkpoint()
    return removed
