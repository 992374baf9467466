"""Reports to the platforms above this installation, written to the outbox in the transaction of the
change: 办件信息 to the provincial platform (every case) and to the national zone's 跨省通办 reporting
(cross-province cases), on intake and on every change of status; 好差评 to the evaluation system on a
rating, its routing and its follow-up. Personal data leaves masked only (as stored in
`Case.applicant_masked`). A platform without a URL or secret gets nothing (webhooks.endpoint)."""
from __future__ import annotations

from sqlmodel import Session

from config import clock
from config.settings import Settings
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.federation import webhooks
from tracking.federation.outbox import enqueue
from tracking.model import nodes, records
from tracking.model.states import RATED_STAGES, SCORE_TITLES, CaseStatus
from tracking.model.tables import Case, Evaluation

CASE_REPORT = "case.report"
RATING_REPORT = "rating.report"
RESULT_TYPES = {"mail": "paper", "pickup": "paper", "electronic": "electronic"}

_settings: Settings | None = None


def configure(settings: Settings | None) -> None:
    """Reports every change of a case's status and rating under these settings (tracking.model.records
    tells us of each): called once per process by the app factory, like the chain key; None stops them."""
    global _settings
    _settings = settings
    records.watch(_status_changed, _rating_changed)


def _status_changed(session: Session, case: Case) -> None:
    if _settings is not None:
        report_case(session, _settings, case)


def _rating_changed(session: Session, case: Case, evaluation: Evaluation) -> None:
    if _settings is not None:
        report_rating(session, _settings, case, evaluation)


def _office(directory, code: str) -> dict:
    post = directory.post(code)
    return {"code": code, "name": post.name if post else code, "division_code": post.division_code if post else None}


def case_report(session: Session, case: Case) -> dict:
    """办件信息 as it stands after this change."""
    directory = load_directory(session)
    matter = session.get(Matter, case.matter_code)
    collecting, owning = _office(directory, case.collecting_office), _office(directory, case.owning_office)
    status = CaseStatus(case.status)
    return {
        "report": "case", "version": 1, "case_no": case.case_no,
        "national_matter_code": None,  # the catalogue carries no national code yet
        "matter_code": case.matter_code, "matter_name": matter.name if matter else None,
        "collecting_office": collecting, "owning_office": owning,
        "cross_province": (collecting["division_code"] or "")[:2] != (owning["division_code"] or "")[:2],
        "status": status.value, "status_text": status.title,
        "times": {"intake": clock.iso(case.created_at), "received": clock.iso(case.received_at),
                  "accepted": clock.iso(case.accepted_at), "decided": clock.iso(case.decided_at),
                  "delivered": clock.iso(case.delivered_at), "ended": clock.iso(case.ended_at),
                  "closed": clock.iso(case.closed_at)},
        "due_date": case.due_date.isoformat() if case.due_date else None,
        "outcome": case.outcome, "result_type": RESULT_TYPES.get(case.result_method),
        "result_delivery": case.result_method,
        "applicant": case.applicant_masked,
        "reported_at": clock.iso(clock.now()),
    }


def report_case(session: Session, settings: Settings, case: Case) -> int:
    """Queues the case's report for each configured platform it concerns; answers how many."""
    targets = [name for name in ("cases", "cross_province") if webhooks.endpoint(settings, name)]
    if not targets:
        return 0
    payload = case_report(session, case)
    queued = 0
    for name in targets:
        if name == "cross_province" and not (payload["cross_province"]
                                             and nodes.answers_for(session, case.collecting_office)):
            continue  # the national zone hears of a shared case once: from the node that collected it
        enqueue(session, destination_kind="platform", destination=name, url=webhooks.endpoint(settings, name)[0],
                message_id=f"{name}:{case.case_no}:{case.last_hash[:24]}", type=CASE_REPORT,
                payload={**payload, "platform": name})
        queued += 1
    return queued


def rating_report(session: Session, case: Case, evaluation: Evaluation) -> dict:
    """好差评: the rating, the stage rated, and for a bad one its follow-up (整改, 回访) as it stands."""
    directory = load_directory(session)
    follow_up = None
    if evaluation.follow_up_status:
        done = evaluation.follow_up_status == "done"
        follow_up = {
            "status": evaluation.follow_up_status, "status_text": "已整改" if done else "待整改",
            "office": _office(directory, evaluation.follow_up_office) if evaluation.follow_up_office else None,
            "due": evaluation.follow_up_due.isoformat() if evaluation.follow_up_due else None,
            "rectification": evaluation.follow_up_note if done else None,
            "done_at": clock.iso(evaluation.followed_up_at) if done else None,
            "return_visit": {"at": clock.iso(evaluation.visited_at), "method": evaluation.visit_method,
                             "answer": evaluation.visit_answer} if done and evaluation.visit_method else None,
        }
    return {
        "report": "rating", "version": 1, "case_no": case.case_no, "matter_code": case.matter_code,
        "collecting_office": _office(directory, case.collecting_office),
        "owning_office": _office(directory, case.owning_office),
        "score": evaluation.score, "score_text": SCORE_TITLES[evaluation.score],
        "stage": evaluation.stage, "stage_text": RATED_STAGES.get(evaluation.stage, evaluation.stage),
        "comment": evaluation.comment, "rated_at": clock.iso(evaluation.at),
        "follow_up": follow_up, "reported_at": clock.iso(clock.now()),
    }


def report_rating(session: Session, settings: Settings, case: Case, evaluation: Evaluation) -> int:
    """Queues the rating's report (after the event that records the change, whose hash names it)."""
    target = webhooks.endpoint(settings, "ratings")
    if target is None:
        return 0
    enqueue(session, destination_kind="platform", destination="ratings", url=target[0],
            message_id=f"ratings:{case.case_no}:{case.last_hash[:24]}", type=RATING_REPORT,
            payload={**rating_report(session, case, evaluation), "platform": "ratings"})
    return 1
