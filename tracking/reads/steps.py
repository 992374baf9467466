"""多地联办: a joint case's steps as staff and applicants read them (tracking.commands.steps keeps them)."""
from __future__ import annotations

from sqlmodel import Session, func, select

from config import clock
from routing.reference import directory as load_directory, matters
from tracking.model.lookups import case_steps
from tracking.model.states import OPEN_STEPS, STEP_STATUS_TITLES
from tracking.model.tables import Case, CaseStep


def steps_view(session: Session, directory, case: Case, *, public: bool = False) -> list[dict]:
    """Each step with its office and where it stands; staff also get its outputs (files by id, paper by
    tracking number). The public view names offices and dates, never a file."""
    views = []
    for row in case_steps(session, case):
        office = directory.post(row.office_code)
        view = {"code": row.code, "name": row.name, "place": row.place, "status": row.status,
                "status_text": STEP_STATUS_TITLES[row.status],
                "office": {"code": row.office_code, "name": office.name if office else row.office_code},
                "due": row.due.isoformat() if row.due else None, "started_at": clock.iso(row.started_at),
                "done_at": clock.iso(row.done_at)}
        if not public:
            view.update(accepted_at=clock.iso(row.accepted_at), done_by=row.done_by, note=row.note,
                        outputs=row.outputs, supplement=row.supplement)
        views.append(view)
    return views


def office_steps(session: Session, directory, office_code: str, limit: int = 50) -> list[dict]:
    """多地联办: the steps this office answers for that are open (to accept, to do, or waiting for paper),
    due first first: what another office handed on, side by side with the office's own cases."""
    names = {code: m.name for code, m in matters(session).items()}
    found = session.exec(select(CaseStep, Case.case_no, Case.matter_code)
                         .join(Case, Case.id == CaseStep.case_id)
                         .where(CaseStep.office_code == office_code, CaseStep.status.in_(OPEN_STEPS))
                         .order_by(CaseStep.due, CaseStep.id).limit(limit)).all()
    today = clock.beijing_date()
    return [{"case_no": case_no, "matter": names.get(matter_code, matter_code), "step": row.name,
             "place": row.place, "status": row.status, "status_text": STEP_STATUS_TITLES[row.status],
             "due": row.due, "overdue": row.due is not None and row.due < today} for row, case_no, matter_code in found]


def joint_tables(session: Session, actor, period, names) -> list:
    """多地联办 in the statistics: the joint cases registered in the period by matter, and the handovers
    between the offices of consecutive steps by pair of offices (who hands on to whom, how often)."""
    from sqlalchemy.orm import aliased

    from tracking.model.lookups import in_scope
    from tracking.reads.statistics import Table
    directory = load_directory(session)
    # driven by the steps (joint cases only), never by a scan of the period's cases
    joint = in_scope(select(Case.id).where(Case.id.in_(select(CaseStep.case_id).where(CaseStep.seq == 0)),
                                           Case.intake_date >= period.since, Case.intake_date <= period.until),
                     actor, directory)
    by_matter = Table("joint_matter", "多地联办收件量（按事项）", ["事项", "事项编码", "收件量"])
    by_matter.rows = sorted(([names.matter(code), code, n] for code, n in session.exec(
        select(Case.matter_code, func.count()).where(Case.id.in_(joint)).group_by(Case.matter_code)).all()),
        key=lambda r: (-r[2], r[1]))
    a, b = aliased(CaseStep), aliased(CaseStep)
    handed = select(a.office_code, b.office_code, func.count()).join(
        b, (b.case_id == a.case_id) & (b.seq == a.seq + 1)).where(a.office_code != b.office_code, a.case_id.in_(joint))
    by_pair = Table("joint_pairs", "多地联办环节交接（按单位）", ["交出单位", "接续单位", "办件数"],
                    note="相邻两个环节由不同单位办理的，计一次交接。")
    by_pair.rows = sorted(([names.office(x), names.office(y), n] for x, y, n in session.exec(
        handed.group_by(a.office_code, b.office_code)).all()), key=lambda r: (-r[2], r[0], r[1]))
    return [by_matter, by_pair]
