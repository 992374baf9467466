"""What staff see of cases and packets: plain dicts for the API and pages."""
from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, func, select

from config import clock
from config.database import add_later
from mailing.states import EXCEPTION_REASONS, NEXT_STEPS, PacketStatus
from mailing.tables import Manifest, Packet, PacketEvent
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.model.context import Actor, Env
from tracking.model.deadlines import STAGE_TITLES, STAGES, StageClock, late_stages, overdue_query, packet_late
from tracking.model.errors import bad_request, forbidden
from tracking.model.lookups import in_scope, load_case, load_packet, may_see, piece_count
from tracking.model.states import RATED_STAGES, SCORE_TITLES, STATUS_TEXT, VISIT_METHODS, CaseStatus, is_overdue
from tracking.reads.steps import steps_view
from tracking.model.tables import AccessLog, Case, CaseEvent, Evaluation
from tracking.reads.carriers import packet_carrier
from tracking.reads import results


def office_ref(directory, code: str | None) -> dict | None:
    post = directory.post(code)
    return {"code": code, "name": post.name if post else code} if code else None


def packet_event_view(e: PacketEvent) -> dict:
    view = {"event_id": e.event_id, "type": e.type, "status": e.status_after, "at": clock.iso(e.at),
            "recorded_at": clock.iso(e.recorded_at), "actor": e.actor, "role": e.role,
            "office_code": e.office_code, "note": e.note, "reason": e.reason, "contents": e.contents,
            "hash": e.hash}
    if e.reason:
        view.update(reason_text=EXCEPTION_REASONS.get(e.reason, e.reason), next_step=NEXT_STEPS.get(e.reason))
    return view


def route_progress(packet: Packet, events: list[PacketEvent]) -> list[dict]:
    """The planned route with, for each stop, when the packet was first scanned there (None: not yet)."""
    first: dict[str, str] = {}
    for e in events:  # in time order
        # a courier's pick-up scan may name no office: the packet has left where it started all the same
        office = e.office_code or (packet.from_office if e.type == "dispatched" else None)
        if office and e.type != "exception":
            first.setdefault(office, clock.iso(e.at))
    return [{**item, "reached_at": first.get(item["office_code"])} for item in packet.route]


def packet_view(session: Session, packet: Packet, case_no: str) -> dict:
    events = session.exec(select(PacketEvent).where(PacketEvent.packet_id == packet.id)
                          .order_by(PacketEvent.at, PacketEvent.id)).all()
    replaces = session.get(Packet, packet.replaces_id).tracking_no if packet.replaces_id else None
    return {"tracking_no": packet.tracking_no, "kind": packet.kind, "status": packet.status,
            "status_text": PacketStatus(packet.status).title, "case_no": case_no,
            "from_office": packet.from_office, "to_office": packet.to_office, "route": route_progress(packet, events),
            "contents": packet.contents, "expected_arrival": packet.expected_arrival.isoformat()
            if packet.expected_arrival else None, "late": packet_late(packet, clock.beijing_date()),
            "dispatched_at": clock.iso(packet.dispatched_at), "arrived_at": clock.iso(packet.arrived_at),
            "failed_attempts": packet.failed_attempts, "replaces": replaces,
            "created_at": clock.iso(packet.created_at), "events": [packet_event_view(e) for e in events],
            "carrier": packet_carrier(session, packet)}






# accepted while an original that must be inspected is still on its way (issue 16: reviewed from the files)
AWAITING_ORIGINALS_TEXT = "已受理（待原件核验）"


def status_text(case: Case) -> str:
    if any(f.get("code") == "awaiting_originals" for f in case.flags or []):
        return AWAITING_ORIGINALS_TEXT
    return CaseStatus(case.status).title


def case_summary(directory, case: Case, matter_names: dict[str, str]) -> dict:
    return {"case_no": case.case_no, "status": case.status, "status_text": status_text(case),
            "matter_code": case.matter_code, "matter": matter_names.get(case.matter_code, case.matter_code),
            "collecting_office": office_ref(directory, case.collecting_office),
            "owning_office": office_ref(directory, case.owning_office),
            "applicant": case.applicant_masked, "due_date": case.due_date.isoformat(),
            "due_date_provisional": case.due_date_provisional, "due_date_estimated": case.due_date_estimated,
            "expected_result_date": case.expected_result_date.isoformat() if case.expected_result_date else None,
            "created_at": clock.iso(case.created_at)}


def case_view(session: Session, env: Env, actor: Actor, case_no: str) -> dict:
    case = load_case(session, case_no)
    directory = load_directory(session)
    allowed, full = may_see(actor, case, directory)
    if not allowed:
        raise forbidden("您无权查看该办件。")
    matter = session.get(Matter, case.matter_code)
    view = case_summary(directory, case, {matter.code: matter.name})
    if full:
        view["applicant"] = env.sealer.open(case.applicant_sealed)
        # how the applicant hears of the case (intake's choices, kept apart from the sealed applicant)
        view["applicant"].update(sms_opt_out=case.sms_opt_out,
                                 email=env.sealer.open(case.email_sealed) if case.email_sealed else None)
        if case.result_address_sealed:
            view["result_address"] = env.sealer.open(case.result_address_sealed)
        if actor.office_code == case.collecting_office:
            view["check_code"] = env.sealer.open(case.check_code_sealed)  # to reprint the receipt
        add_later(session, AccessLog(at=clock.now(), username=actor.username, role=actor.role,
                                     office_code=actor.office_code, case_no=case.case_no, what="case"))
    packets = session.exec(select(Packet).where(Packet.case_id == case.id).order_by(Packet.id)).all()
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    outbound = next((p for p in packets if p.kind == "outbound"), None)
    view.update({
        "subject": case.subject, "materials": case.materials, "identity_check": case.identity_check,
        # 委托代办: the applicant's own identity check, besides the agent's at the window
        "applicant_identity_check": case.identity_check.get("applicant"),
        "result_delivery": {"method": case.result_method, "division_code": case.result_division},
        "note": case.note, "tracking_no": outbound.tracking_no if outbound else None,
        "route": outbound.route if outbound else [], "intake_date": case.intake_date.isoformat(),
        "received_at": clock.iso(case.received_at), "accepted_at": clock.iso(case.accepted_at),
        "decided_at": clock.iso(case.decided_at), "outcome": case.outcome,
        "delivered_at": clock.iso(case.delivered_at), "reason": case.reason or None,
        "supplement": {"requested_at": clock.iso(case.supplement_requested_at),
                       "due": case.supplement_due.isoformat() if case.supplement_due else None,
                       "materials": case.supplement_materials,
                       "received_at": clock.iso(case.supplement_received_at)}
        if case.supplement_requested_at else None,
        "packets": [packet_view(session, p, case.case_no) for p in packets],
        "steps": steps_view(session, directory, case),
        "deadlines": [st.view() for st in StageClock(session, env.settings).stages(case, packets, clock.beijing_date())],
        "flags": case.flags, "contents_problems": case.contents_problems, "deemed_accepted": case.deemed_accepted,
        "electronic_result": results.staff_view(session, env, case, full) if case.result_method == "electronic"
        else None,
        "events": [{"type": e.type, "status": e.status_after, "at": clock.iso(e.at), "actor": e.actor,
                    "role": e.role, "office_code": e.office_code, "data": e.data, "hash": e.hash} for e in events],
    })
    return view




def list_cases(session: Session, env: Env, actor: Actor, *, status: str | None, office: str | None,
               page: int, per_page: int, overdue: bool = False, as_of: date | None = None,
               stage: str | None = None, id_hash: str | None = None, phone_hash: str | None = None) -> dict:
    """Cases the actor's office may see. With `overdue`, those with a stage open past its due date as of
    `as_of` (default today), each with its overdue `stages`."""
    directory = load_directory(session)
    filters = []
    if status:
        try:
            CaseStatus(status)
        except ValueError:
            raise bad_request("办件状态无效。", "status") from None
        filters.append(Case.status == status)
    if office:
        filters.append((Case.collecting_office == office) | (Case.owning_office == office))
    if id_hash:  # an applicant's cases, found by the keyed hash of their ID number or credit code
        filters.append(Case.id_hash == id_hash)
    if phone_hash:  # and by the keyed hash of their phone
        filters.append(Case.phone_hash == phone_hash)
    query = in_scope(select(Case).where(*filters), actor, directory)
    today = as_of or clock.beijing_date()
    names = {m.code: m.name for m in session.exec(select(Matter))}
    if stage is not None and stage not in STAGES:
        raise bad_request(f"超期环节应为{'、'.join(STAGE_TITLES[s] for s in STAGES)}之一。", "stage")
    if overdue:
        # through the stored deadlines' indexes: a count and one page, longest overdue first
        late_query = overdue_query(query, today, stage)
        total = session.exec(select(func.count()).select_from(late_query.subquery())).one()
        rows = session.exec(late_query.order_by(Case.open_stage_due, Case.id.desc())
                            .offset((page - 1) * per_page).limit(per_page)).all()
        chosen = late_stages(session, env.settings, list(rows), today, stage)
        return {"cases": [{**case_summary(directory, c, names), "overdue": True,
                           "stages": [s.stage for s in late], "overdue_stages": [s.view() for s in late]}
                          for c, late in chosen],
                "page": page, "per_page": per_page, "total": total, "as_of": today.isoformat()}
    newest_first = (Case.created_at.desc(), Case.id.desc())  # by intake time: ids need not follow it
    # an office sees its cases on either side: each side read newest first through its own index
    # (ix_case_*_created), the page taken from their merge, so the cost follows the page, not the office
    sides = [query]
    if actor.role in ("clerk", "officer"):  # the two sides are its scope (lookups.in_scope), split
        mine = actor.office_code
        sides = [select(Case).where(*filters, Case.collecting_office == mine),
                 select(Case).where(*filters, Case.owning_office == mine, Case.collecting_office != mine)]
    total = sum(session.exec(select(func.count()).select_from(side.subquery())).one() for side in sides)
    upto = page * per_page
    merged = sorted((c for side in sides for c in session.exec(side.order_by(*newest_first).limit(upto)).all()),
                    key=lambda c: (c.created_at, c.id), reverse=True)
    rows = merged[(page - 1) * per_page:upto]
    return {"cases": [{**case_summary(directory, c, names),
                       "overdue": is_overdue(CaseStatus(c.status), c.due_date, today)} for c in rows],
            "page": page, "per_page": per_page, "total": total}


def packet_for_staff(session: Session, actor: Actor, tracking_no: str) -> dict:
    """A packet as staff see it (no personal data: the addressee's name and address stay sealed).
    Couriers see every packet: any hub may get one, misrouted. Clerks, officers and supervisors see the
    packets of the cases they may see, and those sent from or to their own office. An admin sees none:
    accounts and reference data are an admin's, cases and the packets that carry them are not."""
    packet = load_packet(session, tracking_no)
    case = session.get(Case, packet.case_id)
    if actor.role != "courier":
        allowed, _ = may_see(actor, case, load_directory(session))
        ours = actor.role in ("clerk", "officer") and actor.office_code in (packet.from_office, packet.to_office)
        if not (allowed or ours):
            raise forbidden("您无权查看该邮件。")
    return packet_view(session, packet, case.case_no)


def list_exceptions(session: Session, actor: Actor, *, since: date | None = None, until: date | None = None,
                    reason: str | None = None, limit: int = 500) -> dict:
    """Exception events on the packets of the cases the actor's office may see, newest first: a work
    list for offices and supervisors (its next steps are theirs); couriers and admins are refused."""
    query = in_scope(select(PacketEvent, Packet.tracking_no, Packet.kind, Packet.status, Case.case_no)
                      .join(Packet, Packet.id == PacketEvent.packet_id).join(Case, Case.id == Packet.case_id)
                      .where(PacketEvent.type == "exception"), actor, load_directory(session))
    if since:
        query = query.where(PacketEvent.at >= clock.start_of_day(since))
    if until:
        query = query.where(PacketEvent.at < clock.start_of_day(until + timedelta(days=1)))
    if reason:
        if reason not in EXCEPTION_REASONS:
            raise bad_request("异常原因无效。", "reason")
        query = query.where(PacketEvent.reason == reason)
    rows = session.exec(query.order_by(PacketEvent.at.desc(), PacketEvent.id.desc()).limit(limit)).all()
    return {"exceptions": [{**packet_event_view(e), "tracking_no": number, "packet_kind": kind,
                            "packet_status": status, "case_no": case_no} for e, number, kind, status, case_no in rows]}


def evaluation_view(evaluation: Evaluation | None) -> dict | None:
    """The rating and its follow-up as staff see them (the API's answer and the office's case page)."""
    if evaluation is None:
        return None
    follow_up = None
    if evaluation.follow_up_status:
        follow_up = {"status": evaluation.follow_up_status,
                     "status_text": STATUS_TEXT.get(evaluation.follow_up_status, evaluation.follow_up_status),
                     "office_code": evaluation.follow_up_office, "note": evaluation.follow_up_note,
                     "at": clock.iso(evaluation.followed_up_at), "by": evaluation.followed_up_by,
                     "due": evaluation.follow_up_due.isoformat() if evaluation.follow_up_due else None,
                     "visit": visit_view(evaluation)}
    return {"score": evaluation.score, "score_text": SCORE_TITLES[evaluation.score], "comment": evaluation.comment,
            "at": clock.iso(evaluation.at), "stage": evaluation.stage, "stage_text": RATED_STAGES[evaluation.stage],
            "follow_up": follow_up}


def visit_view(evaluation: Evaluation) -> dict | None:
    """A follow-up's return visit (回访), if one was recorded."""
    if not evaluation.visit_method:
        return None
    return {"at": clock.iso(evaluation.visited_at), "method": evaluation.visit_method,
            "method_text": VISIT_METHODS[evaluation.visit_method], "answer": evaluation.visit_answer}


def manifest_answer(manifest: Manifest, packets: list[Packet]) -> dict:
    lines = [{"tracking_no": p.tracking_no, "kind": p.kind, "status": p.status, "to_office": p.to_office,
              "to_division": p.to_division, "pieces": piece_count(p.contents)} for p in packets]
    return {"manifest_no": manifest.manifest_no, "from_office": manifest.from_office,
            "to_party": manifest.to_party, "to_party_name": manifest.to_party_name,
            "created_by": manifest.created_by, "created_at": clock.iso(manifest.created_at),
            "handed_over_at": clock.iso(manifest.handed_over_at), "cancelled_at": clock.iso(manifest.cancelled_at),
            "confirmed_at": clock.iso(manifest.confirmed_at), "count": len(lines),
            "pieces": sum(line["pieces"] for line in lines), "packets": lines}
