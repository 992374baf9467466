"""多地联办 (issue 18): one acceptance, several offices. A joint matter's steps (routing.steps) are resolved to
offices at intake; the first step's office receives the materials and accepts the case as any owning office
does; then each step is accepted, done or refused by its own office, and hands what it produced to the steps
that follow: files at once (kept as the case's files, read through the access log), paper as a `transfer`
packet with its label, sheet and custody chain like any other. The last step's office decides the case
(decisions.decide_case) and the result goes to the applicant as chosen.

`Case.owning_office` is the office of the open step due first: the desks, the overdue board and who may act
follow it; `Case.step_due` is that step's due date, to which the decision stage answers while steps run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field
from sqlmodel import Session, select

from config import clock
from mailing.packets import create_packet
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Packet
from routing.calendars import work_calendar
from routing.directory import Post, RoutingError, owning_office
from routing.reference import directory as load_directory
from routing.steps import Step, chain_days, last_steps, paper_inputs, parse_steps, startable
from routing.tables import Matter
from tracking.files import vault
from tracking.files.checks import FileLimits, FileRefused, check_file
from tracking.model.context import Actor, Env
from tracking.model.errors import conflict, forbidden, not_found, rule
from tracking.model.inputs import MAX_NAME, Command, Text, text
from tracking.model.lookups import case_steps, load_case
from tracking.model.messages import tell
from tracking.model.records import case_event
from tracking.model.states import OPEN_STEPS, STEP_STATUS_TITLES, UNFINISHED_STEPS, CaseStatus
from tracking.model.tables import Case, CaseFile, CaseStep


def matter_steps(matter: Matter) -> tuple[Step, ...]:
    return parse_steps(matter.steps, department=matter.department, level=matter.level)


# -- intake: which office does each step -------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    step: Step
    office: Post


MISSING_PLACE = {
    "household": ("no_owning_office", "该事项须由户籍地（迁出地）办理其中的环节，请填写申请人户籍地。", "applicant.division_code"),
    "subject": ("missing_subject", "该事项须由迁入地或转入地办理其中的环节，请填写办理事项所在地。", "subject.division_code"),
    "origin": ("missing_subject", "该事项须由迁出地或转出地办理其中的环节，请填写迁出地（转出地）。",
               "subject.origin_division_code"),
    "registration": ("no_owning_office", "该事项须由单位登记地办理其中的环节，请填写单位登记地。", "applicant.division_code"),
}


def plan_steps(directory, matter: Matter, *, household: str | None, subject: str | None, origin: str | None,
               registration: str | None) -> list[Planned]:
    """Each step of a joint matter with its office, from the divisions the case records. Empty for a matter
    without steps, and when every step falls to one office: that office handles the case alone, as before."""
    steps = matter_steps(matter)
    if not steps:
        return []
    places = {"household": household, "subject": subject, "origin": origin, "registration": registration}
    planned = []
    for step in steps:
        division = places[step.owner]
        if not division:
            raise rule(*MISSING_PLACE[step.owner])
        try:
            office = owning_office(directory, rule="subject", department=step.department, level=step.level,
                                   subject_division=division)
        except RoutingError as e:
            raise rule(e.code, f"{step.place}（{step.name}）：{e.message}", e.field) from None
        planned.append(Planned(step, office))
    return planned if len({p.office.code for p in planned}) > 1 else []


def open_steps(session: Session, case: Case, planned: list[Planned]) -> list[CaseStep]:
    """The case's step rows at intake (all waiting for the acceptance) and its promise along the longest chain."""
    rows = [CaseStep(case_id=case.id, seq=i, code=p.step.code, name=p.step.name, place=p.step.place,
                     office_code=p.office.code, status="waiting") for i, p in enumerate(planned)]
    session.add_all(rows)
    case.step_offices = list(dict.fromkeys(p.office.code for p in planned))
    case.promised_days = chain_days(tuple(p.step for p in planned))
    return rows


def _due(session: Session, start: date, days: int) -> date:
    return work_calendar(session).add_working_days(start, days)[0]


def _sync(case: Case, rows: list[CaseStep]) -> None:
    """The case follows the open step due first: its office answers for the case, its date for the decision."""
    open_ = [r for r in rows if r.status in OPEN_STEPS]
    if open_:
        lead = min(open_, key=lambda r: (r.due or date.max, r.seq))
        case.owning_office = lead.office_code
    dues = [r.due for r in open_ if r.due is not None]
    case.step_due = min(dues) if dues else None


def _start(session: Session, case: Case, row: CaseStep, step: Step, at: datetime, actor: Actor, *,
           status: str = "received") -> None:
    row.status, row.started_at = status, at
    row.due = _due(session, clock.beijing_date(at), step.promised_days)
    session.add(row)
    case_event(session, case, "step_started", actor, at=at, office_code=row.office_code,
               data={"step": row.code, "name": row.name, "place": row.place, "office": row.office_code,
                     "due": row.due.isoformat()})
    tell(session, case, "step_started", office_code=row.office_code, step=row.name, due=f"{row.due:%Y年%m月%d日}")


def begin(session: Session, case: Case, actor: Actor, at: datetime) -> None:
    """The case is accepted (by its first step's office, or by law): that step runs, and so does every step
    that follows none, side by side."""
    rows = case_steps(session, case)
    if not rows:
        return
    steps = {s.code: s for s in matter_steps(session.get(Matter, case.matter_code))}
    day = clock.beijing_date(at)
    for row in rows:
        step = steps[row.code]
        if row.status != "waiting" or step.after:
            continue
        if row.seq == 0:  # the office that received the materials: its acceptance is the case's
            row.status, row.started_at, row.accepted_at = "accepted", case.received_at or at, at
            row.due = _due(session, day, step.promised_days)
            session.add(row)
        else:
            _start(session, case, row, step, at, actor)
    _sync(case, rows)


# -- an office acts on its step -----------------------------------------------------------------------

def _decoded(value):
    from tracking.commands.decisions import _decoded as decoded  # one reading of Base64 files
    return decoded(value)


class OutputFile(Command):
    """One document a step produced, as a file (Base64 in JSON, the bytes from a page's upload)."""
    code: text(MAX_NAME, required=True)
    data: Annotated[bytes, BeforeValidator(_decoded), Field(repr=False)]
    filename: text(200) = ""


class StepCompletion(Command):
    """完成本环节: the documents the step produced (each file output of the catalogue), and a note."""
    files: list[OutputFile] = Field(default_factory=list, max_length=10)
    note: Text = ""


class StepRefusal(Command):
    reason: text(500, required=True)


def _the_step(session: Session, actor: Actor, case_no: str, code: str) -> tuple[Case, list[CaseStep], CaseStep]:
    case = load_case(session, case_no, lock=True)
    rows = case_steps(session, case)
    row = next((r for r in rows if r.code == code), None)
    if row is None:
        raise not_found("未找到该办件的这一联办环节。")
    if actor.role != "officer" or actor.office_code != row.office_code:
        raise forbidden("只有该环节办理单位的办理人员可以进行此操作。")
    return case, rows, row


def _status_refusal(row: CaseStep, doing: str):
    return conflict(message=f"该环节当前为“{STEP_STATUS_TITLES[row.status]}”，不能{doing}。", status=row.status)


def accept_step(session: Session, env: Env, actor: Actor, case_no: str, code: str) -> Case:
    """受理本环节: a step after the first, once it may start (its inputs arrived)."""
    case, rows, row = _the_step(session, actor, case_no, code)
    if row.status != "received":
        raise _status_refusal(row, "受理")
    now = clock.now()
    row.status, row.accepted_at = "accepted", now
    session.add(row)
    case_event(session, case, "step_accepted", actor, at=now,
               data={"step": row.code, "name": row.name, "place": row.place, "office": row.office_code})
    return case


def complete_step(session: Session, env: Env, storage, actor: Actor, case_no: str, code: str,
                  cmd: StepCompletion) -> tuple[Case, CaseStep, list[Packet]]:
    """完成本环节: its files are kept for the next steps' offices, its paper goes to them as `transfer`
    packets, and the steps it unblocks start (at once, or when their paper arrives)."""
    case, rows, row = _the_step(session, actor, case_no, code)
    steps = matter_steps(session.get(Matter, case.matter_code))
    by_code = {s.code: s for s in steps}
    step = by_code[row.code]
    if row.code in last_steps(steps):
        raise conflict(message="这是最后一个联办环节，请作出办理决定（办结）。", status=row.status)
    if case.status != CaseStatus.ACCEPTED.value:
        raise conflict(message=f"办件当前状态为“{CaseStatus(case.status).title}”，不能办理联办环节。", status=case.status)
    if row.status != "accepted":
        raise _status_refusal(row, "完成")
    wanted = {o.code: o for o in step.produces if o.travels == "file"}
    given = {f.code: f for f in cmd.files}
    unknown = [c for c in given if c not in wanted]
    if unknown:
        raise rule("unknown_output", f"“{'、'.join(unknown)}”不是本环节产生的文书。", "files")
    missing = [o.name for c, o in wanted.items() if c not in given]
    if missing:
        raise rule("missing_step_output", f"请上传本环节产生的文书：{'、'.join(missing)}。", "files")

    now = clock.now()
    limits = FileLimits.from_settings(env.settings)
    outputs: list[dict] = []
    for c, output in wanted.items():
        try:
            checked = check_file(given[c].data, given[c].filename or f"{case.case_no}-{c}.pdf", limits)
        except FileRefused as e:
            raise rule(e.code, f"{output.name}：{e.message}", "files") from None
        stored = CaseFile(case_id=case.id, material_code=f"{row.code}.{c}", purpose="step",
                          filename=checked.filename[:200], content_type=checked.content_type, pages=checked.pages or 1,
                          size=checked.size, sha256=checked.sha256,
                          storage_key=vault.keep(storage, env.sealer, checked.data),
                          thumbnail_key=vault.keep(storage, env.sealer, checked.thumbnail) if checked.thumbnail else None,
                          uploaded_by=actor.username, office_code=actor.office_code, uploaded_at=now)
        session.add(stored)
        session.flush()
        outputs.append({"code": c, "name": output.name, "kind": output.kind, "travels": "file", "file_id": stored.id})

    # paper goes to each step that takes it: one packet an office
    directory = load_directory(session)
    origin = directory.post(row.office_code)
    packets: list[Packet] = []
    rows_by_code = {r.code: r for r in rows}
    destinations: dict[str, list] = {}
    for follower in steps:
        for source, output in paper_inputs(steps, follower):
            if source == row.code:
                destinations.setdefault(rows_by_code[follower.code].office_code, []).append(output)
    for office_code, papers in destinations.items():
        to_office = directory.post(office_code)
        contents = list({o.code: {"code": o.code, "name": o.name, "copies": 1, "original": True} for o in papers}.values())
        packet = create_packet(session, env.settings, directory, kind=PacketKind.TRANSFER, case_id=case.id,
                               origin=origin, to_office=to_office, to_division=to_office.division_code,
                               contents=contents, parties=case)
        packets.append(packet)
        outputs += [{**c, "kind": "archive", "travels": "paper", "tracking_no": packet.tracking_no,
                     "to_office": office_code} for c in contents]

    row.status, row.done_at, row.done_by, row.note, row.outputs = "done", now, actor.username, cmd.note, outputs
    session.add(row)
    office = directory.post(row.office_code)
    case_event(session, case, "step_done", actor, at=now,
               data={"step": row.code, "name": row.name, "place": row.place, "office": row.office_code,
                     "text": step.done_text or f"已完成{row.name}", "note": cmd.note, "outputs": outputs})
    tell(session, case, "step_done", place=row.place, office=office.name if office else row.office_code,
         done=step.done_text or f"已完成{row.name}")
    _unblock(session, case, rows, steps, actor, now)
    return case, row, packets


def _unblock(session: Session, case: Case, rows: list[CaseStep], steps: tuple[Step, ...], actor: Actor,
             at: datetime) -> None:
    done = {r.code for r in rows if r.status == "done"}
    started = {r.code for r in rows if r.status != "waiting"}
    by_code = {r.code: r for r in rows}
    for step in startable(steps, done, started):
        row = by_code[step.code]
        if paper_inputs(steps, step) and not _paper_arrived(session, case, row):
            row.status = "awaiting"
            session.add(row)
        else:
            _start(session, case, row, step, at, actor)
    _sync(case, rows)


def _paper_arrived(session: Session, case: Case, row: CaseStep) -> bool:
    """Every transfer packet addressed to this step's office has been received (none lost on the way)."""
    packets = session.exec(select(Packet).where(Packet.case_id == case.id, Packet.kind == PacketKind.TRANSFER.value,
                                                Packet.to_office == row.office_code)).all()
    live = [p for p in packets if p.status != PacketStatus.CANCELLED.value]
    return bool(live) and all(p.status == PacketStatus.RECEIVED.value for p in live)


def paper_arrived(session: Session, case: Case, packet: Packet, at: datetime, actor: Actor) -> None:
    """A transfer packet was received: the step waiting for it at that office starts. A supplement packet: the
    step that asked for it resumes, its clock moved on by the working days it waited (the case's promise too)."""
    rows = case_steps(session, case)
    if not rows:
        return
    steps = matter_steps(session.get(Matter, case.matter_code))
    by_code = {s.code: s for s in steps}
    for row in rows:
        if packet.kind == PacketKind.TRANSFER.value and row.status == "awaiting" \
                and row.office_code == packet.to_office and _paper_arrived(session, case, row):
            _start(session, case, row, by_code[row.code], at, actor)
        elif packet.kind == PacketKind.SUPPLEMENT.value and row.status == "supplement" \
                and (row.supplement or {}).get("tracking_no") == packet.tracking_no:
            _supplement_arrived(session, case, row, at, actor)
    _sync(case, rows)


# -- a step's own supplement notice ---------------------------------------------------------------------

class StepSupplementRequest(Command):
    """补正 at a step: everything the applicant must bring, listed at once (the window collects it)."""
    materials: list[text(MAX_NAME, required=True)] = Field(min_length=1, max_length=30)
    due: date | None = None  # None: the settings' number of working days from today
    note: Text = ""


def supplement_notice(session: Session, env: Env, matter_code: str, wanted: list[str], due: date | None,
                      now: datetime) -> tuple[list[dict], date]:
    """One supplement notice (the case's, or a step's): every material named once, each from the matter's
    list, and its last day (by default the settings' working days from today; a given day must be later)."""
    known = {m["code"]: m["name"] for m in session.get(Matter, matter_code).materials}
    codes = list(dict.fromkeys(wanted))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise rule("unknown_material", f"材料“{'、'.join(unknown)}”不在该事项的材料清单中。", "materials")
    today = clock.beijing_date(now)
    if due is None:
        due = work_calendar(session).add_working_days(today, env.settings.supplement_due_days)[0]
    elif due <= today:
        raise rule("invalid_due_date", "补正期限应晚于今天。", "due")
    return [{"code": c, "name": known[c]} for c in codes], due


def request_step_supplement(session: Session, env: Env, actor: Actor, case_no: str, code: str,
                            cmd: StepSupplementRequest) -> Case:
    """The step's office tells the applicant, once, everything it still needs; the step's clock stops until
    the window's supplement packet reaches the office."""
    case, rows, row = _the_step(session, actor, case_no, code)
    if case.status != CaseStatus.ACCEPTED.value or row.status not in ("received", "accepted"):
        raise _status_refusal(row, "告知补正")
    if row.supplement:
        raise conflict("supplement_already_requested", "补正只能一次性告知，本环节已发出过补正通知。")
    now = clock.now()
    materials, due = supplement_notice(session, env, case.matter_code, cmd.materials, cmd.due, now)
    codes = [m["code"] for m in materials]
    row.supplement = {"materials": materials, "due": due.isoformat(), "note": cmd.note,
                      "requested_at": clock.iso(now), "resume": row.status}
    row.status = "supplement"
    session.add(row)
    office = load_directory(session).post(row.office_code)
    case_event(session, case, "step_supplement_requested", actor, at=now, data={
        "step": row.code, "name": row.name, "place": row.place, "office": row.office_code,
        "materials": codes, "due": due.isoformat(), "note": cmd.note})
    tell(session, case, "step_supplement_requested", place=row.place, office=office.name if office else "",
         materials="、".join(m["name"] for m in materials), due=f"{due:%Y年%m月%d日}")
    _sync(case, rows)
    return case


def step_asking(session: Session, case: Case) -> CaseStep | None:
    """The step waiting for the applicant's supplement that the window has not sent yet."""
    return next((r for r in case_steps(session, case)
                 if r.status == "supplement" and not (r.supplement or {}).get("tracking_no")), None)


def supplement_sent(row: CaseStep, tracking_no: str) -> None:
    row.supplement = {**row.supplement, "tracking_no": tracking_no}


def _supplement_arrived(session: Session, case: Case, row: CaseStep, at: datetime, actor: Actor) -> None:
    cal = work_calendar(session)
    asked = clock.beijing_date(datetime.fromisoformat(row.supplement["requested_at"]))
    waited = cal.working_days_between(asked, clock.beijing_date(at))
    row.status = row.supplement.get("resume", "accepted")
    row.supplement = {**row.supplement, "received_at": clock.iso(at)}
    if row.due is not None:  # the time the applicant took is not the office's
        row.due = cal.add_working_days(row.due, waited)[0]
    case.promised_days = (case.promised_days or 0) + waited
    session.add(row)
    case_event(session, case, "step_supplement_received", actor, at=at, office_code=row.office_code, data={
        "step": row.code, "name": row.name, "place": row.place, "office": row.office_code, "waited_days": waited})


# -- the end: a decision by the last step, or a refusal at any ------------------------------------------

def before_decision(session: Session, case: Case) -> CaseStep | None:
    """The last step, once every other step is done and it is accepted; refused otherwise. None: no steps."""
    rows = case_steps(session, case)
    if not rows:
        return None
    steps = matter_steps(session.get(Matter, case.matter_code))
    last = last_steps(steps)
    pending = [r for r in rows if r.code not in last and r.status != "done"]
    if pending:
        names = "、".join(f"{r.place}{r.name}" for r in pending)
        raise conflict("steps_pending", f"联办环节尚未全部完成（{names}），暂不能作出办理决定。")
    row = next(r for r in rows if r.code in last)
    if row.status != "accepted":
        raise _status_refusal(row, "作出办理决定")
    return row


def decided(session: Session, row: CaseStep | None, actor: Actor, at: datetime, outcome: str, case: Case) -> None:
    if row is None:
        return
    row.status, row.done_at, row.done_by = "done", at, actor.username
    row.outputs = [{"code": "decision", "name": "办理决定", "kind": "decision", "outcome": outcome}]
    session.add(row)
    case.step_due = None


def refusable(session: Session, actor: Actor, case_no: str, code: str) -> tuple[Case, list[CaseStep], CaseStep]:
    """The step an office refuses: its own, open, after the case's acceptance (before it, the first office
    refuses to accept the case: 不予受理)."""
    case, case_rows, row = _the_step(session, actor, case_no, code)
    if case.status != CaseStatus.ACCEPTED.value:
        raise conflict(message=f"办件当前状态为“{CaseStatus(case.status).title}”，不能在联办环节不予办理"
                               "（受理前请使用“不予受理”）。", status=case.status)
    if row.status not in (*OPEN_STEPS, "supplement"):
        raise _status_refusal(row, "不予办理")
    return case, case_rows, row


def stop(session: Session, case: Case, rows: list[CaseStep], refused: CaseStep | None, at: datetime,
         reason: str) -> None:
    """The case ended (a step refused it, or the applicant withdrew): what was still to do stops."""
    if refused is not None:
        refused.status, refused.done_at, refused.note = "refused", at, reason
    for row in rows:
        if row is not refused and row.status in UNFINISHED_STEPS:
            row.status = "stopped"
        session.add(row)
    case.step_due = None
