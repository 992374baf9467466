"""The sweep: what the law's clock does on its own (deemed acceptances, archiving, promised dates
moved while a supplement is outstanding, overdue stages marked and told). The stages themselves are in
tracking.model.deadlines."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from config import clock
from config.settings import Settings
from mailing.tables import Packet
from routing.calendars import work_calendar
from routing.matter_types import deems_acceptance
from routing.tables import Matter
from routing.workdays import WorkCalendar
from tracking.commands.case_files import forget_expired_files
from tracking.commands.decisions import _send_back_originals
from tracking.commands import steps
from tracking.commands.rollups import sweep_rollups
from tracking.files.storage import storage_for
from tracking.model.context import SYSTEM, Env
from tracking.model.deadlines import (ACTIVE, STAGE_TITLES, PromiseBasis, beijing_day, late_stages,
                                      moves_with_the_day, overdue_query, packets_by_case, recompute_due_date)
from tracking.model.messages import tell
from tracking.model.nodes import answers_for
from tracking.model.records import case_event, transition
from tracking.model.states import CaseAction, CaseStatus
from tracking.model.tables import Case, Evaluation, OverdueMark

FOLLOW_UP = "follow_up"  # the overdue stage of a bad rating's follow-up, beside tracking.model.deadlines.STAGES

Checkpoint = Callable[[], None]  # ends one unit of work: the caller's commit


def recompute_provisional(session: Session, settings: Settings) -> int:
    """Cases whose due date was counted Monday to Friday get it counted on the official calendar."""
    changed = 0
    for case in session.exec(select(Case).where(Case.due_date_provisional == True)):  # noqa: E712
        before = (case.due_date, case.due_date_provisional)
        recompute_due_date(session, case, settings)
        changed += before != (case.due_date, case.due_date_provisional)
    return changed


BATCH = 200  # cases locked and changed per transaction


def _each_locked(session: Session, where: list, checkpoint: Checkpoint):
    """The cases matching `where`, walked by id in batches: each batch locked and read afresh in one
    transaction that `checkpoint` (the caller's commit) ends, so memory stays bounded and an officer acting
    on a case meanwhile is either waited for or seen. On PostgreSQL a case another sweep holds is skipped
    (that sweep does it), so sweeps on several workers share the work."""
    after = 0
    checkpoint()
    while True:
        ids = list(session.exec(select(Case.id).where(*where, Case.id > after).order_by(Case.id).limit(BATCH)))
        if not ids:
            return
        after = ids[-1]
        yield from _locked(session, ids, where)
        checkpoint()


def _locked(session: Session, ids: list[int], where: list) -> list[Case]:
    """The cases of `ids` that still match `where`, locked and read afresh; on PostgreSQL a case another
    sweep holds is skipped."""
    return session.exec(select(Case).where(Case.id.in_(ids), *where).order_by(Case.id)
                        .with_for_update(skip_locked=True).execution_options(populate_existing=True)).all()


def _deem_acceptances(session: Session, settings: Settings, cal: WorkCalendar, today: date, checkpoint: Checkpoint) -> int:
    """Received, and no supplement notice, acceptance or rejection within the limit: accepted by law as
    of receipt (after a supplement, as of the supplement's receipt)."""
    done = 0
    deemable = {m.code for m in session.exec(select(Matter)) if deems_acceptance(m.type)}  # permits only
    # only what may be due: the notice stage open past its date, or received again after a supplement
    due = [Case.status == CaseStatus.RECEIVED.value, Case.matter_code.in_(deemable),
           (Case.open_due_supplement_notice < today) | Case.supplement_requested_at.is_not(None)]
    for case in _each_locked(session, due, checkpoint):
        if not answers_for(session, case.owning_office):
            continue  # a peer's office: its node deems, and tells us
        since = case.supplement_received_at if case.supplement_requested_at else case.received_at
        if case.matter_code not in deemable or since is None or today <= cal.add_working_days(beijing_day(since), settings.supplement_notice_days)[0]:
            continue
        case.accepted_at, case.deemed_accepted = since, True
        transition(session, case, CaseAction.DEEM_ACCEPTED, SYSTEM, event="accepted",
                   data={"deemed": True, "as_of": clock.iso(since), "basis": "行政许可法第三十二条"})
        tell(session, case, "deemed_accepted", since=f"{beijing_day(since):%Y年%m月%d日}")
        tell(session, case, "deemed_accepted_office", office_code=case.owning_office,
             days=settings.supplement_notice_days)
        steps.begin(session, case, SYSTEM, clock.now())  # 多地联办: the steps that follow none start now
        done += 1
    return done


def _deem_withdrawals(session: Session, env: Env, today: date, checkpoint: Checkpoint) -> int:
    """逾期未补正: the supplement's last day passed and the window collected nothing, so the application
    counts as withdrawn (视为撤回申请); the originals go back as after a withdrawal."""
    done = 0
    due = [Case.status == CaseStatus.SUPPLEMENT_REQUESTED.value, Case.supplement_due < today]
    for case in _each_locked(session, due, checkpoint):
        if not answers_for(session, case.owning_office):
            continue
        if case.supplement_due is None or today <= case.supplement_due:
            continue
        if session.exec(select(Packet.id).where(Packet.case_id == case.id, Packet.kind == "supplement",
                                                Packet.status != "cancelled")).first():
            continue  # collected at the window, on its way: the office receives it
        case.reason, case.ended_at = "逾期未补正，视为撤回申请", clock.now()
        transition(session, case, CaseAction.DEEM_WITHDRAWN, SYSTEM,
                   data={"supplement_due": case.supplement_due.isoformat(), "as_of": today.isoformat()})
        packet = _send_back_originals(session, env, case, everything=True)
        back = f"已寄出的原件将退回（邮件号{packet.tracking_no}）。" if packet else ""
        tell(session, case, "deemed_withdrawn", due=f"{case.supplement_due:%Y年%m月%d日}", returned=back)
        tell(session, case, "deemed_withdrawn_office", office_code=case.owning_office,
             returned=back.replace("已寄出的原件将退回", "请将原件退回"))
        done += 1
    return done


def _close_delivered(session: Session, settings: Settings, today: date, checkpoint: Checkpoint) -> int:
    """Archives a case `close_after_days` after delivery, rated or not, but never while a bad rating's
    follow-up is open: it waits for the follow-up (the next sweep after it is done archives it)."""
    done = 0
    # delivered on or before the Beijing day `close_after_days` ago
    before = clock.start_of_day(today - timedelta(days=settings.close_after_days - 1))
    for case in _each_locked(session, [Case.status == CaseStatus.DELIVERED.value, Case.delivered_at < before],
                             checkpoint):
        if not answers_for(session, case.collecting_office):
            continue  # the collecting side archives a shared case, and tells the owning side
        following_up = session.exec(select(Evaluation.id).where(Evaluation.case_id == case.id,
                                                                Evaluation.follow_up_status == "open")).first()
        if following_up is None and case.delivered_at \
                and beijing_day(case.delivered_at) + timedelta(days=settings.close_after_days) <= today:
            case.closed_at = clock.now()
            transition(session, case, CaseAction.CLOSE, SYSTEM, data={"after_days": settings.close_after_days})
            done += 1
    return done


def _refresh_promises(session: Session, settings: Settings, today: date, checkpoint: Checkpoint) -> int:
    """The promise of every open case it may have moved as of today: an outstanding supplement moves the
    estimate one working day per working day, a late packet moves it to its new arrival, a decided result
    not yet sent leaves today at the earliest. Only those cases are walked (moves_with_the_day), not every
    open one: at 1M cases that walk was half the sweep's time, whatever was due."""
    moved = 0
    # an accepted case not yet decided has a promise fixed by its acceptance once it was counted from it:
    # nothing moves it with the day (an acceptance deemed by this sweep, or mirrored from a peer, is counted here)
    moving = [Case.status.in_(ACTIVE), moves_with_the_day(today)
              | ((Case.status == CaseStatus.ACCEPTED.value) & (Case.due_date_estimated == True))]  # noqa: E712
    # their ids found once (the open cases' index; the late packets' test read once): asked again batch by
    # batch in id order, the condition walked the cases' primary key and read every packet each time, most
    # of the sweep's time at 1M cases whatever was due. Ids only: a few hundred kB for a province.
    ids = sorted(session.exec(select(Case.id).where(*moving)))
    basis = PromiseBasis(session, settings)  # the calendar, directory and matters, read once
    checkpoint()
    for start in range(0, len(ids), BATCH):
        # a case closed meanwhile is left alone; one that stopped moving is recomputed to the same promise
        cases = _locked(session, ids[start:start + BATCH], [Case.status.in_(ACTIVE)])
        packets = packets_by_case(session, [case.id for case in cases])
        for case in cases:
            before = (case.due_date, case.expected_result_date)
            recompute_due_date(session, case, settings, as_of=today, packets=packets[case.id], basis=basis)
            moved += (case.due_date, case.expected_result_date) != before
        checkpoint()
    return moved


def _mark_overdue(session: Session, settings: Settings, today: date, checkpoint: Checkpoint) -> int:
    """Stages open past their due dates, marked once per due date, told to the office: walks only the
    overdue cases (the stored deadlines' index), a batch per transaction."""
    marked = 0
    for batch in _overdue_batches(session, today, checkpoint):
        seen = set(session.exec(select(OverdueMark.case_id, OverdueMark.stage, OverdueMark.due)
                                .where(OverdueMark.case_id.in_([c.id for c in batch]))).all())
        for case, stages in late_stages(session, settings, batch, today):
            for s in stages:
                if (case.id, s.stage, s.due) in seen or not answers_for(session, s.office_code):
                    continue  # marked already; or a stage of a peer's office: marked there
                try:
                    with session.begin_nested():
                        session.add(OverdueMark(case_id=case.id, stage=s.stage, due=s.due,
                                                office_code=s.office_code, marked_at=clock.now()))
                        session.flush()
                except IntegrityError:
                    continue  # another sweep marked it a moment ago
                case_event(session, case, "stage_overdue", SYSTEM, office_code=s.office_code,
                           data={"stage": s.stage, "due": s.due.isoformat(), "as_of": today.isoformat()})
                tell(session, case, "stage_overdue", office_code=s.office_code, stage=STAGE_TITLES[s.stage],
                     due=f"{s.due:%Y年%m月%d日}")
                marked += 1
    return marked


def _overdue_batches(session: Session, today: date, checkpoint: Checkpoint):
    """The overdue cases, a batch at a time, each ended by `checkpoint`."""
    after = 0
    while True:
        batch = list(session.exec(overdue_query(select(Case), today).where(Case.id > after)
                                  .order_by(Case.id).limit(BATCH)))
        if not batch:
            return
        after = batch[-1].id
        yield batch
        checkpoint()


def _mark_overdue_follow_ups(session: Session, today: date, checkpoint: Checkpoint) -> int:
    """Bad ratings still open after their follow-up's last day: marked once per due date (stage
    `follow_up`), on the case's history, and told to the office the rating is routed to."""
    marked = 0
    late = session.exec(select(Evaluation, Case).join(Case, Case.id == Evaluation.case_id)
                        .where(Evaluation.follow_up_status == "open", Evaluation.follow_up_due < today)
                        .order_by(Evaluation.id)).all()
    for evaluation, case in late:
        due, office = evaluation.follow_up_due, evaluation.follow_up_office
        if not answers_for(session, office):
            continue
        if session.exec(select(OverdueMark.id).where(OverdueMark.case_id == case.id, OverdueMark.stage == FOLLOW_UP,
                                                     OverdueMark.due == due)).first():
            continue
        try:
            with session.begin_nested():
                session.add(OverdueMark(case_id=case.id, stage=FOLLOW_UP, due=due, office_code=office,
                                        marked_at=clock.now()))
                session.flush()
        except IntegrityError:
            continue  # another sweep marked it a moment ago
        case_event(session, case, "stage_overdue", SYSTEM, office_code=office,
                   data={"stage": FOLLOW_UP, "due": due.isoformat(), "as_of": today.isoformat()})
        tell(session, case, "follow_up_overdue", office_code=office, due=f"{due:%Y年%m月%d日}")
        marked += 1
        checkpoint()
    return marked


def sweep(session: Session, settings: Settings, as_of: date | None, checkpoint: Checkpoint,
          env: Env | None = None, storage=None) -> dict[str, int]:
    """Everything the clock does on its own, safe to run any number of times. The sweep never holds
    more than one case locked: it calls `checkpoint` (the caller's commit) after each unit of work."""
    today = as_of or clock.beijing_date()
    cal = work_calendar(session)
    env = env or Env(settings, None)  # what the sweep makes (return packets) needs the sealer, no addresses
    return {"deemed_accepted": _deem_acceptances(session, settings, cal, today, checkpoint),
            "deemed_withdrawn": _deem_withdrawals(session, env, today, checkpoint),
            "closed": _close_delivered(session, settings, today, checkpoint),
            "due_dates_moved": _refresh_promises(session, settings, today, checkpoint),
            "overdue_marked": _mark_overdue(session, settings, today, checkpoint)
            + _mark_overdue_follow_ups(session, today, checkpoint),
            "carrier_silent": _mark_silent(session, env, today, checkpoint),
            # retention: the scans of cases ended long enough ago (storage: the file store the settings name)
            "files_removed": forget_expired_files(session, settings, storage or storage_for(settings), today,
                                                  checkpoint),
            # the statistics' roll-ups of the past days (the days built for the first time)
            "stats_days": sweep_rollups(session, today, checkpoint)}


def _mark_silent(session: Session, env: Env, today: date, checkpoint: Checkpoint) -> int:
    """Packets whose carrier has said nothing for too long become exceptions (tracking.commands.carriers)."""
    from tracking.commands.carriers import mark_silent_packets
    marked = mark_silent_packets(session, env, today)
    checkpoint()
    return marked
