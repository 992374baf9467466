"""What is on an office's desk today: the packets leaving it and arriving at it, the cases waiting
for someone there. Plain queries over cases and packets, scoped to one office."""
from __future__ import annotations

from datetime import date, timedelta

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import and_, or_
from sqlmodel import Session, func, select

from config import clock
from config.database import add_later
from config.settings import Settings
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Manifest, ManifestEvent, ManifestItem, Packet, PacketEvent
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.model.context import Actor, Env
from tracking.model.deadlines import STAGE_TITLES, StageClock, packet_late, packets_by_case
from tracking.model.inputs import CreditCode, Phone, ResidentId, plain_number
from tracking.model.lookups import find_case, piece_count
from tracking.model.states import RATED_STAGES, SCORE_TITLES, CaseStatus
from tracking.model.tables import AccessLog, Case, CaseFile, Evaluation, ResultFile
from tracking.reads import views
from tracking.reads.case_files import file_row

# -- the collecting window: packets leaving, pick-ups, … --------------------------------------

EXCEPTION_DAYS = 14  # how far back the window's desk looks for packets in trouble
SHEET_EVENTS = {"dispatched": "寄递人员扫描清单，邮件已交接", "arrived_hub": "清单到达处理中心",
                "departed_hub": "清单离开处理中心", "out_for_delivery": "派送中", "delivered": "已妥投",
                "received": "接收方已签收", "receipt": "接收方清点确认", "cancelled": "清单已作废"}


def _on_open_sheet():
    """Whether the packet is on a sheet not yet handed over nor voided: looked up per packet (NOT EXISTS, an
    anti-join through the items' packet index), where NOT IN would read every open sheet of every office."""
    return (select(ManifestItem.id).join(Manifest, Manifest.id == ManifestItem.manifest_id)
            .where(ManifestItem.packet_id == Packet.id, Manifest.handed_over_at.is_(None),
                   Manifest.cancelled_at.is_(None)).exists())


def _waiting_query(office_code: str):
    return (select(Packet, Case.case_no).join(Case, Case.id == Packet.case_id)
            .where(Packet.from_office == office_code, Packet.status == "created", ~_on_open_sheet()))


def waiting_to_leave(session: Session, office_code: str) -> list[dict]:
    """Packets made at this office (any kind) that have not left and are on no open handover sheet."""
    directory = load_directory(session)
    rows = session.exec(_waiting_query(office_code).order_by(Packet.created_at, Packet.id)).all()
    out = []
    for packet, case_no in rows:
        post = directory.post(packet.to_office)
        place = directory.place(packet.to_division)
        out.append({"tracking_no": packet.tracking_no, "kind": packet.kind, "kind_text": PacketKind(packet.kind).title,
                    "case_no": case_no, "to": post.name if post else f"申请人（{place.name if place else packet.to_division}）",
                    "created_at": clock.iso(packet.created_at), "pieces": piece_count(packet.contents)})
    return out


def find_case_no(session: Session, number: str) -> str | None:
    """The case a scanned or typed number names: a case number, or the tracking number of one of its packets."""
    number = plain_number(number or "")
    case = find_case(session, number) if number else None
    return case.case_no if case else None


# What else the window's find box may be given: the applicant's identifiers, each looked up by its keyed hash
# (the hash of what the parser makes of it, as intake stored it), never in clear.
APPLICANT_KEYS = (("id_number", "证件号码", TypeAdapter(ResidentId)), ("id_number", "证件号码", TypeAdapter(CreditCode)),
                  ("phone", "手机号码", TypeAdapter(Phone)))


def applicant_cases(session: Session, env: Env, actor: Actor, text: str) -> dict | None:
    """The cases of the actor's office whose applicant has this ID number, credit code or phone (an
    applicant who lost the receipt): {"by", "by_text", "cases"}; None for text that is none of these.
    Every search is written to the access log: a row per case found, or one without a case."""
    for by, by_text, kind in APPLICANT_KEYS:
        try:
            value = kind.validate_python(text)
        except ValidationError:
            continue
        key = {"phone_hash" if by == "phone" else "id_hash": env.sealer.lookup_hash(value)}
        found = views.list_cases(session, env, actor, status=None, office=actor.office_code, page=1, per_page=200,
                                 **key)
        for case_no in [c["case_no"] for c in found["cases"]] or [""]:
            add_later(session, AccessLog(at=clock.now(), username=actor.username, role=actor.role,
                                         office_code=actor.office_code, case_no=case_no, what=f"search:{by}"))
        return {"by": by, "by_text": by_text, "cases": found["cases"]}
    return None


def window_desk(session: Session, env: Env, actor: Actor, today: date | None = None) -> dict:
    """The counts on the window's home page, each the length of the list it links to."""
    today = today or clock.beijing_date()

    def total(**kw) -> int:
        return views.list_cases(session, env, actor, office=actor.office_code, page=1, per_page=1, **kw)["total"]

    leaving = session.exec(select(func.count()).select_from(_waiting_query(actor.office_code).subquery())).one()
    post = load_directory(session).post(actor.office_code)
    return {"office_name": post.name if post else actor.office_code, "leaving": leaving,
            "pickups": total(status="ready_for_pickup"),
            "supplements": total(status="supplement_requested"),
            "exceptions": len({e["tracking_no"] for e in recent_exceptions(session, actor, today)}),
            "overdue": total(status=None, overdue=True, as_of=today),
            "follow_ups": len(open_follow_ups(session, actor.office_code, today))}


def recent_exceptions(session: Session, actor: Actor, today: date | None = None) -> list[dict]:
    """Exception events of the last EXCEPTION_DAYS days on the packets of this office's cases."""
    today = today or clock.beijing_date()
    return views.list_exceptions(session, actor, since=today - timedelta(days=EXCEPTION_DAYS))["exceptions"]


# -- handover sheets, for windows and offices alike ------------------------------------------------

def _sheet_row(directory, manifest: Manifest, count: int) -> dict:
    from_post = directory.post(manifest.from_office)
    state = "cancelled" if manifest.cancelled_at else "handed_over" if manifest.handed_over_at else "open"
    return {"manifest_no": manifest.manifest_no, "state": state, "from_office": manifest.from_office,
            "from_name": from_post.name if from_post else manifest.from_office,
            "to_party": manifest.to_party, "to_party_name": manifest.to_party_name, "created_by": manifest.created_by,
            "created_at": clock.iso(manifest.created_at), "handed_over_at": clock.iso(manifest.handed_over_at),
            "cancelled_at": clock.iso(manifest.cancelled_at), "confirmed_at": clock.iso(manifest.confirmed_at),
            "count": count}


def _sheets(session: Session, where: list, limit: int) -> list[dict]:
    counts = (select(ManifestItem.manifest_id, func.count().label("n")).group_by(ManifestItem.manifest_id)
              .subquery())
    query = (select(Manifest, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.manifest_id == Manifest.id)
             .where(*where).order_by(Manifest.created_at.desc(), Manifest.id.desc()).limit(limit))
    directory = load_directory(session)
    return [_sheet_row(directory, m, n) for m, n in session.exec(query).all()]


def sheets_from(session: Session, office_code: str, state: str = "open", limit: int = 200) -> list[dict]:
    """This office's handover sheets: open (not yet handed over), handed over, or cancelled."""
    where = [Manifest.from_office == office_code]
    if state == "open":
        where += [Manifest.handed_over_at.is_(None), Manifest.cancelled_at.is_(None)]
    elif state == "handed_over":
        where.append(Manifest.handed_over_at.is_not(None))
    else:
        where.append(Manifest.cancelled_at.is_not(None))
    return _sheets(session, where, limit)


def sheet_history(session: Session, manifest: Manifest) -> list[dict]:
    """What happened to a sheet as a whole, oldest first: handed over (the courier's scan), scanned at
    hubs, counted on arrival, voided."""
    rows = session.exec(select(ManifestEvent).where(ManifestEvent.manifest_id == manifest.id)
                        .order_by(ManifestEvent.at, ManifestEvent.id)).all()
    directory = load_directory(session)
    out = []
    for e in rows:
        post = directory.post(e.office_code)
        out.append({"type": e.type, "text": SHEET_EVENTS.get(e.type, e.type), "at": clock.iso(e.at),
                    "actor": e.actor, "role": e.role, "place": post.name if post else None, "data": e.data})
    return out


def sheets_to(session: Session, office_code: str, limit: int = 200) -> list[dict]:
    """Sheets addressed to this office that were handed over (on their way here, or counted)."""
    return _sheets(session, [Manifest.to_party == f"office:{office_code}", Manifest.cancelled_at.is_(None),
                             Manifest.handed_over_at.is_not(None)], limit)


# -- the owning office: packets on their way to us, arrived, waiting for confirmation, … ----------

ON_THE_WAY = (PacketStatus.DISPATCHED.value, PacketStatus.ARRIVED_HUB.value, PacketStatus.DEPARTED_HUB.value)
# out for delivery to us, or handed over at our door by the courier: waiting for our own receipt scan
AT_THE_DOOR = (PacketStatus.OUT_FOR_DELIVERY.value, PacketStatus.DELIVERED.value)
# what an owning office still has to do with a case, by status
OFFICE_QUEUES = {"received": CaseStatus.RECEIVED.value, "supplement_arrived": CaseStatus.RECEIVED.value,
                 "accepted": CaseStatus.ACCEPTED.value, "result_to_send": CaseStatus.DECIDED.value}
# the stage whose due date each queue works to (after a supplement: the date promised to the applicant,
# moved by the days the supplement took)
QUEUE_STAGE = {"received": "supplement_notice", "supplement_arrived": None, "accepted": "decision",
               "result_to_send": "result_dispatch"}


def _office_name(directory, code: str | None) -> str:
    post = directory.post(code)
    return post.name if post else (code or "")


def _inbound_row(directory, packet: Packet, case_no: str, today: date) -> dict:
    return {"tracking_no": packet.tracking_no, "kind": packet.kind, "kind_text": PacketKind(packet.kind).title,
            "status": packet.status, "status_text": PacketStatus(packet.status).title, "case_no": case_no,
            "from_office": packet.from_office, "from_office_name": _office_name(directory, packet.from_office),
            "expected_arrival": packet.expected_arrival, "late": packet_late(packet, today),
            "dispatched_at": packet.dispatched_at, "last_event_at": packet.last_event_at}


def inbound_packets(session: Session, office_code: str, today: date | None = None) -> dict[str, list[dict]]:
    """Packets addressed to the office: `on_the_way` (dispatched, in the network) and `arrived` (out
    for delivery to us or delivered at our door, waiting for our receipt scan), soonest expected first."""
    today = today or clock.beijing_date()
    directory = load_directory(session)
    rows = session.exec(select(Packet, Case.case_no).join(Case, Case.id == Packet.case_id)
                        .where(Packet.to_office == office_code, Packet.status.in_(ON_THE_WAY + AT_THE_DOOR))
                        .order_by(Packet.expected_arrival, Packet.id)).all()
    found: dict[str, list[dict]] = {"on_the_way": [], "arrived": []}
    for packet, case_no in rows:
        found["arrived" if packet.status in AT_THE_DOOR else "on_the_way"].append(
            _inbound_row(directory, packet, case_no, today))
    return found


def manifests_to_count(session: Session, office_code: str) -> list[dict]:
    """Handover sheets handed over to the office and not yet counted by it."""
    return [sheet for sheet in sheets_to(session, office_code) if not sheet["confirmed_at"]]


def _queue_of(case: Case) -> str | None:
    if case.status == CaseStatus.RECEIVED.value:
        return "supplement_arrived" if case.supplement_requested_at else "received"
    if case.status == CaseStatus.ACCEPTED.value:
        return "accepted"
    if case.status == CaseStatus.DECIDED.value and case.result_method != "electronic":
        return "result_to_send"  # a paper result waits for its packet to leave
    return None


# _queue_of as conditions, for counting and paging in SQL
QUEUE_WHERE = {
    "received": (Case.status == CaseStatus.RECEIVED.value, Case.supplement_requested_at.is_(None)),
    "supplement_arrived": (Case.status == CaseStatus.RECEIVED.value, Case.supplement_requested_at.is_not(None)),
    "accepted": (Case.status == CaseStatus.ACCEPTED.value,),
    "result_to_send": (Case.status == CaseStatus.DECIDED.value, Case.result_method != "electronic")}
DESK_ROWS = 50  # the rows of each queue the desk shows, overdue and soonest due first; the lists page the rest
# the stages the owning office answers for (the collecting office answers for dispatch)
OFFICE_STAGES = ("receipt", "supplement_notice", "decision", "result_dispatch")


def office_case_counts(session: Session, office_code: str, today: date | None = None) -> dict[str, int]:
    """How many cases wait in each of the office's queues, and how many of them have a stage of the
    office open past its due date: indexed counts, whatever the size of the queues."""
    today = today or clock.beijing_date()
    counts = {}
    for queue, where in QUEUE_WHERE.items():
        counts[queue] = session.exec(select(func.count()).select_from(Case)
                                     .where(Case.owning_office == office_code, *where)).one()
    late = or_(*(getattr(Case, f"open_due_{stage}") < today for stage in OFFICE_STAGES))
    counts["overdue"] = session.exec(select(func.count()).select_from(Case).where(
        Case.owning_office == office_code, Case.open_stage_due < today, late,
        or_(*(and_(*where) for where in QUEUE_WHERE.values())))).one()
    return counts


def office_cases(session: Session, settings: Settings, office_code: str,
                 today: date | None = None) -> dict[str, list[dict]]:
    """The cases waiting on the owning office, by what it has to do next: `received` (accept, ask for a
    supplement or reject, by the 5-working-day notice deadline), `supplement_arrived`, `accepted`
    (decide by the due date), `result_to_send`; each with the due date of that step and whether any
    of the office's stages is overdue. Overdue cases first, then by due date; the first DESK_ROWS of
    each queue (read through the stored deadlines' index), `office_case_counts` counts them all."""
    today = today or clock.beijing_date()
    directory = load_directory(session)
    cases = []
    for where in QUEUE_WHERE.values():
        cases += session.exec(select(Case).where(Case.owning_office == office_code, *where)
                              .order_by(Case.open_stage_due.is_(None), Case.open_stage_due, Case.id)
                              .limit(DESK_ROWS)).all()
    timer = StageClock(session, settings)
    packets = packets_by_case(session, [c.id for c in cases])
    scans = _scans_by_case(session, [c.id for c in cases])
    names = {m.code: m.name for m in session.exec(select(Matter))}
    found: dict[str, list[dict]] = {queue: [] for queue in OFFICE_QUEUES}
    for case in cases:
        queue = _queue_of(case)
        if queue is None:
            continue
        stages = {s.stage: s for s in timer.stages(case, packets[case.id], today)}
        step_due = stages[QUEUE_STAGE[queue]].due if QUEUE_STAGE[queue] else case.due_date
        late = [s for s in stages.values() if s.open_overdue and s.office_code == office_code]
        found[queue].append({
            "case_no": case.case_no, "status": case.status, "matter": names.get(case.matter_code, case.matter_code),
            "applicant": (case.applicant_masked or {}).get("name", ""),
            "collecting_office_name": _office_name(directory, case.collecting_office),
            "received_at": case.supplement_received_at or case.received_at, "accepted_at": case.accepted_at,
            "decided_at": case.decided_at, "step_due": step_due, "due_date": case.due_date,
            "overdue": bool(late), "overdue_stages": [STAGE_TITLES[s.stage] for s in late],
            "contents_problems": case.contents_problems, "deemed_accepted": case.deemed_accepted,
            "result_method": case.result_method, "awaiting_originals": any(
                f.get("code") == "awaiting_originals" for f in case.flags),
            # issue 16: the scans the office reviews online (the paper, if any, may still be on its way)
            "files": [file_row(f, {m["code"]: m["name"] for m in [*case.materials, *(case.supplement_materials or [])]})
                      for f in scans[case.id]]})
    for rows in found.values():
        rows.sort(key=lambda r: (not r["overdue"], r["step_due"] or date.max, r["case_no"]))
    return found


def _scans_by_case(session: Session, case_ids: list[int]) -> dict[int, list[CaseFile]]:
    found: dict[int, list[CaseFile]] = {i: [] for i in case_ids}
    if case_ids:
        for f in session.exec(select(CaseFile).where(CaseFile.case_id.in_(case_ids), CaseFile.removed_at.is_(None))
                              .order_by(CaseFile.id)):
            found[f.case_id].append(f)
    return found


def open_follow_ups(session: Session, office_code: str, today: date | None = None) -> list[dict]:
    """Bad ratings routed to the office (its cases, or a window's or post's fault) still to be followed up
    (整改), the longest waiting first; `overdue` once the due date has passed."""
    today = today or clock.beijing_date()
    rows = session.exec(select(Evaluation, Case.case_no, Case.matter_code).join(Case, Case.id == Evaluation.case_id)
                        .where(Evaluation.follow_up_office == office_code, Evaluation.follow_up_status == "open")
                        .order_by(Evaluation.at, Evaluation.id)).all()
    names = {m.code: m.name for m in session.exec(select(Matter).where(
        Matter.code.in_(sorted({matter for _, _, matter in rows}))))} if rows else {}
    return [{"case_no": case_no, "matter": names.get(matter, matter), "score": e.score,
             "score_text": SCORE_TITLES[e.score], "comment": e.comment, "at": e.at,
             "stage_text": RATED_STAGES.get(e.stage, e.stage), "due": e.follow_up_due,
             "overdue": bool(e.follow_up_due and e.follow_up_due < today)} for e, case_no, matter in rows]


def packet_to_receive(session: Session, office_code: str, tracking_no: str) -> dict | None:
    """The packet a scanned number names, if it is addressed to the office: what its receipt page
    shows (contents to check). None for any other number: the receipt scan itself says why not."""
    row = session.exec(select(Packet, Case.case_no).join(Case, Case.id == Packet.case_id)
                       .where(Packet.tracking_no == tracking_no.strip().upper(),
                              Packet.to_office == office_code)).first()
    if row is None:
        return None
    packet, case_no = row
    directory = load_directory(session)
    return {**_inbound_row(directory, packet, case_no, clock.beijing_date()), "contents": packet.contents}


def receipt_of(session: Session, office_code: str, event_id: str) -> dict | None:
    """A receipt scan the office recorded (found by its event id): the packet, the case and the
    problems the contents check left on the case."""
    row = session.exec(select(PacketEvent, Packet, Case).join(Packet, Packet.id == PacketEvent.packet_id)
                       .join(Case, Case.id == Packet.case_id)
                       .where(PacketEvent.event_id == event_id, PacketEvent.type == "received",
                              PacketEvent.office_code == office_code)).first()
    if row is None:
        return None
    event, packet, case = row
    checked = {c["code"]: c["status"] for c in event.contents or []}
    return {"tracking_no": packet.tracking_no, "kind_text": PacketKind(packet.kind).title, "at": event.at,
            "case_no": case.case_no, "case_status": case.status,
            "contents": [{**m, "status": checked.get(m["code"], "ok")} for m in packet.contents],
            "problems": [p for p in case.contents_problems if p.get("tracking_no") == packet.tracking_no]}


def result_files(session: Session, case_no: str) -> list[dict]:
    """The electronic results uploaded for a case: what the officer may check (never the download
    link: opening it would count as the applicant's download)."""
    rows = session.exec(select(ResultFile.filename, ResultFile.content_type, ResultFile.sha256,
                               ResultFile.size, ResultFile.created_at, ResultFile.downloaded_at)
                        .join(Case, Case.id == ResultFile.case_id).where(Case.case_no == case_no)
                        .order_by(ResultFile.id)).all()
    return [{"filename": name, "content_type": kind, "sha256": digest, "size": size, "created_at": made,
             "downloaded_at": downloaded} for name, kind, digest, size, made, downloaded in rows]
