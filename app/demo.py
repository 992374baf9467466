"""Demo accounts and cases in several states, made through the real use cases."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from app.users import User, create_user
from config import clock
from mailing.tables import Packet
from routing.tables import Office
from routing.calendars import work_calendar
from tracking.commands import custody, decisions, evaluations, intake
from tracking.model.context import Env
from tracking.model.identity import resident_id_check_char
from tracking.model.inputs import parse

PASSWORD = "tongban-demo"
ACCOUNTS = [  # username, role, office, name
    ("xinfu-clerk", "clerk", "H140902", "王敏"),
    ("xiaodian-officer", "officer", "D140105-GA", "李建国"),
    # 多地联办: a hall in 太原 (迁入地) and the police of 忻府区 (迁出地), for the README's household move
    ("xiaodian-clerk", "clerk", "H140105", "孙丽"),
    ("xinfu-officer", "officer", "D140902-GA", "郭强"),
    ("courier", "courier", None, "赵师傅"),
    ("supervisor", "supervisor", None, "周文"),
    ("admin", "admin", None, "系统管理员"),
]


def _id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def _intake(session: Session, delivery: str, name: str, id17: str, phone: str) -> intake.CaseIntake:
    result = {"method": delivery}
    if delivery == "mail":
        result.update(address="太原市小店区平阳路12号3单元502室", division_code="140105")
    return parse(intake.CaseIntake, {
        "matter_code": "GA-WFZM-01",
        "applicant": {"kind": "person", "name": name, "id_type": "resident_id", "id_number": _id(id17),
                      "phone": phone, "address": "忻州市忻府区和平街8号", "division_code": "140105"},
        "materials": [{"code": "application_form", "copies": 1, "original": True},
                      {"code": "id_card", "copies": 1, "original": False}],
        "identity_check": {"method": "id_card_reader", "passed": True},
        "result_delivery": result,
        "note": "演示办件",
    }, context=intake.intake_context(session))


def _scan(session, env, actor, tracking_no, type_, at, office=None, **extra):
    scan = custody.Scan(event_id=str(uuid.uuid4()), tracking_no=tracking_no, type=type_, at=at, office_code=office,
                        **extra)
    result = custody.record_scans(session, env, actor, custody.ScanBatch(scans=[scan]))[0]
    assert result.status == "recorded", result
    session.commit()


def _working_days_ago(session: Session, n: int) -> date:
    cal, day = work_calendar(session), clock.beijing_date()
    while n:
        day -= timedelta(days=1)
        n -= cal.is_working_day(day)
    return day


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=clock.BEIJING)


def _overdue_cases(session: Session, env: Env, clerk, officer) -> int:
    """Two cases the clock has caught: one never sent, one signed for and left alone since."""
    late_day, silent_day = _working_days_ago(session, 3), _working_days_ago(session, 9)
    with clock.pinned(_at(late_day, 10)):
        intake.register_case(session, env, clerk,
                             _intake(session, "pickup", "陈静", "14010519920815204", "13512345678"))
        session.commit()
    with clock.pinned(_at(silent_day, 10)):
        case = intake.register_case(session, env, clerk,
                                    _intake(session, "mail", "赵磊", "14010519870620105", "13412345678")).case
        session.commit()
        packet = session.exec(select(Packet).where(Packet.case_id == case.id)).one()
        _scan(session, env, clerk, packet.tracking_no, "dispatched", _at(silent_day, 15))
    received = _working_days_ago(session, 8)
    with clock.pinned(_at(received, 11)):
        _scan(session, env, officer, packet.tracking_no, "received", _at(received, 10))
    return 2


def demo_accounts(session: Session) -> list[tuple]:
    """The demo accounts this installation can hold: a node of another province (TONGBAN_NODE) has not
    loaded the 山西 offices of the window and office accounts, and gets only those without an office."""
    return [a for a in ACCOUNTS if a[2] is None or session.get(Office, a[2]) is not None]


def load_demo(session: Session, env: Env) -> int:
    """Creates the accounts and cases once; running it again changes nothing."""
    accounts = demo_accounts(session)
    if session.exec(select(User).where(User.username.in_([a[0] for a in accounts]))).first():
        return 0
    users = {u: create_user(session, u, role, PASSWORD, office, name).actor()
             for u, role, office, name in accounts}
    session.commit()
    if "xinfu-clerk" not in users or "xiaodian-officer" not in users:
        return 0  # no 山西 window or office here: no demo cases either
    clerk, officer, courier = users["xinfu-clerk"], users["xiaodian-officer"], users["courier"]
    start = clock.now() - timedelta(hours=12)
    people = [("demo", "张晓明", "14010519900307123", "13812345678", "pickup"),
              ("in_transit", "李娜", "14010519851112002", "13912345678", "pickup"),
              ("accepted", "王强", "14010519780501101", "13712345678", "mail"),
              ("decided", "刘洋", "14010520000229202", "13612345678", "electronic"),
              ("arrived", "陈静", "14010519920815304", "13512345678", "mail"),
              ("rated", "赵磊", "14010519700101405", "13412345678", "electronic")]
    made = 0
    for stage, name, id17, phone, delivery in people:
        registered = intake.register_case(session, env, clerk, _intake(session, delivery, name, id17, phone))
        case = registered.case
        session.commit()
        made += 1
        if stage == "demo":
            continue
        packet = session.exec(select(Packet).where(Packet.case_id == case.id)).one()
        hops = [p["office_code"] for p in packet.route[1:-1]]
        at = start
        _scan(session, env, clerk, packet.tracking_no, "dispatched", at)
        if stage == "in_transit":
            _scan(session, env, courier, packet.tracking_no, "arrived_hub", at + timedelta(hours=1), hops[0])
            continue
        for i, hop in enumerate(hops):
            _scan(session, env, courier, packet.tracking_no, "arrived_hub", at + timedelta(hours=1 + 2 * i), hop)
            _scan(session, env, courier, packet.tracking_no, "departed_hub", at + timedelta(hours=2 + 2 * i), hop)
        if stage == "arrived":  # at the office's door, waiting for its scan and contents check
            _scan(session, env, courier, packet.tracking_no, "out_for_delivery",
                  at + timedelta(hours=1 + 2 * len(hops)), packet.to_office)
            continue
        _scan(session, env, officer, packet.tracking_no, "received", at + timedelta(hours=2 + 2 * len(hops)),
              contents=[{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "ok"}])
        decisions.accept_case(session, env, officer, case.case_no)
        session.commit()
        if stage in ("decided", "rated"):
            decided = decisions.decide_case(session, env, officer, case.case_no,
                                            decisions.Decision(outcome="approved", note="准予",
                                                               result_file=_result_document(case.case_no)))
            session.commit()
        if stage == "rated":  # downloaded, then rated badly: a follow-up (整改) waits for the office
            decisions.download_result(session, env, decided.delivery.token)
            evaluations.evaluate(session, env, case.case_no, evaluations.Evaluation(
                check=registered.check_code, score=2, comment="材料在路上走了好几天，希望快一些。"))
            session.commit()
    return made + _overdue_cases(session, env, clerk, officer)


def _result_document(case_no: str) -> bytes:
    """A one-page result for a demo case: a real PDF, since results go through the same checks as scans."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from labels.fonts import FONT, register
    register()
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.setFont(FONT, 16)
    page.drawString(72, 760, f"办理结果（演示） 办件编号 {case_no}")
    page.showPage()
    page.save()
    return out.getvalue()
