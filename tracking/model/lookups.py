"""Finding cases, packets and sheets, and who may see or act on them; the public check-code lock."""
from __future__ import annotations

import functools
import hmac
from datetime import timedelta

from sqlalchemy import and_, bindparam, case as case_when, literal, not_, null, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from config import clock
from config.database import UTCDateTime, writing
from mailing.tables import Manifest, ManifestItem, Packet
from tracking.model.context import Actor, Env
from tracking.model.errors import forbidden, not_found, too_many
from tracking.model.inputs import plain_number, well_formed_number
from tracking.model.sealing import check_code_hash
from tracking.model.tables import Case, CaseFile, CaseStep, Evaluation, TrackLock


def load_case(session: Session, case_no: str, *, lock: bool = False) -> Case:
    query = select(Case).where(Case.case_no == plain_number(case_no))
    case = session.exec(query.with_for_update() if lock else query).first()
    if case is None:
        raise not_found("未找到该办件。")
    return case


def case_steps(session: Session, case: Case) -> list[CaseStep]:
    """多地联办: the case's steps in order (none for a case one office handles)."""
    if not case.step_offices:
        return []
    return list(session.exec(select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.seq)))


def load_packet(session: Session, tracking_no: str) -> Packet:
    packet = session.exec(select(Packet).where(Packet.tracking_no == plain_number(tracking_no))).first()
    if packet is None:
        raise not_found("未找到该邮件。")
    return packet


def as_officer(actor: Actor, case: Case) -> None:
    if actor.role != "officer" or actor.office_code != case.owning_office:
        raise forbidden("只有办理地部门的办理人员可以进行此操作。")


def as_clerk(actor: Actor, case: Case) -> None:
    if actor.role != "clerk" or actor.office_code != case.collecting_office:
        raise forbidden("只有收件窗口的工作人员可以进行此操作。")


def load_manifest(session: Session, manifest_no: str) -> Manifest:
    manifest = session.exec(select(Manifest).where(Manifest.manifest_no == manifest_no.upper())).first()
    if manifest is None:
        raise not_found("未找到该交接清单。")
    return manifest


def manifest_packets(session: Session, manifest: Manifest) -> list[Packet]:
    return list(session.exec(select(Packet).join(ManifestItem, ManifestItem.packet_id == Packet.id)
                             .where(ManifestItem.manifest_id == manifest.id).order_by(ManifestItem.position)))


def may_see_manifest(actor: Actor, manifest: Manifest) -> bool:
    """Staff of the office that handed over, and the party that takes over: the courier a sheet names,
    or the staff (and, for a hub, the couriers) of the office it goes to. Nobody else, by role alone."""
    kind, _, key = manifest.to_party.partition(":")
    if kind == "courier":
        taker = actor.role == "courier" and actor.username == key
    else:
        taker = actor.role in (*MANIFEST_ROLES, "courier") and actor.office_code == key
    return taker or (actor.role in MANIFEST_ROLES and actor.office_code == manifest.from_office)


def piece_count(contents: list) -> int:
    """Documents in a packet: every copy of every material."""
    return sum(max(1, int(m.get("copies", 1) or 1)) for m in contents) or 1


def supervised_city(actor: Actor, directory) -> str | None:
    """The city a supervisor with an office watches over (None: the office is unknown)."""
    own = directory.post(actor.office_code)
    return directory.city_code(own.division_code) if own else None


def may_see(actor: Actor, case: Case, directory) -> tuple[bool, bool]:
    """(may see the case, may see personal data in full). Clerks and officers of the case's two offices
    see it in full, supervisors over either office masked; couriers see no case (they carry packets, whose
    views hold no personal data) and admins none (accounts and reference data are theirs, not cases)."""
    if actor.role in ("clerk", "officer") and actor.office_code in (case.collecting_office, case.owning_office,
                                                                     *(case.step_offices or ())):
        return True, True  # (多地联办: the office of every step)
    if actor.role == "supervisor":
        if not actor.office_code:
            return True, False
        city = supervised_city(actor, directory)
        if city is None:
            return False, False
        for code in (case.collecting_office, case.owning_office):
            post = directory.post(code)
            if post and directory.city_code(post.division_code) == city:
                return True, False
    return False, False


def in_scope(query, actor: Actor, directory):
    """Limits a query over cases to those the actor's office may see (the same rule as may_see)."""
    if actor.role in ("clerk", "officer"):
        return query.where((Case.collecting_office == actor.office_code) | (Case.owning_office == actor.office_code))
    if actor.role == "supervisor":
        if not actor.office_code:
            return query
        city = supervised_city(actor, directory)
        codes = [p.code for p in directory.posts.values() if city and directory.city_code(p.division_code) == city]
        return query.where(Case.collecting_office.in_(codes) | Case.owning_office.in_(codes))
    raise forbidden("您无权查看办件列表。")


def find_case(session: Session, number: str) -> Case | None:
    """The case a plain number (see inputs.plain_number) names: by its case number or a packet's tracking number."""
    case = session.exec(select(Case).where(Case.case_no == number)).first()
    if case is None:
        packet = session.exec(select(Packet).where(Packet.tracking_no == number)).first()
        case = session.get(Case, packet.case_id) if packet else None
    return case


def checked_case(session: Session, env: Env, number: str, check: str | None) -> Case:
    """The case for number and check code; the same 404 for a malformed or unknown number and a wrong
    code. Every spelling of every number of a case shares the case's budget of LOCK_AFTER wrong codes an
    hour (an unknown number has a budget of its own), so no padding or second number buys more guesses."""
    number = plain_number(number)
    if not well_formed_number(number):
        raise not_found(NOT_FOUND)
    case, locked = _case_and_lock(session, number)
    if case is not None and isinstance(check, str) and _code_fits(env, case, check):
        # a right code writes nothing: refused while the budget is spent as of this read, which is the
        # order the lock would have had were the wrong codes in flight not yet counted
        if locked:
            raise too_many("too_many_attempts", LOCKED)
        return case
    # a wrong code is counted now, in a short transaction of its own when the request only reads
    with writing(session) as own:
        counted = _counted(own, case.case_no if case else number, wrong=True)
    if not counted:
        raise too_many("too_many_attempts", LOCKED)
    refusal = not_found(NOT_FOUND)
    refusal.recorded = True  # the wrong code counts: the caller keeps what was written
    raise refusal


def _case_and_lock(session: Session, number: str) -> tuple[Case | None, bool]:
    """In one statement: the case a plain number names (by its case number, else a packet's tracking
    number, as find_case) and whether its budget of wrong codes is spent (the lock _counted keeps)."""
    now = clock.now()
    found = session.exec(_case_and_lock_query(), params={"number": number, "now": now,
                                                         "since": now - LOCK_WINDOW}).first()
    return (found[0], bool(found[1])) if found else (None, False)


@functools.cache
def _case_and_lock_query():
    # built once: the public look-up is the busiest path, and making the statement costs more than running it
    c, number = TrackLock.__table__.c, bindparam("number")
    now, since = bindparam("now", type_=UTCDateTime()), bindparam("since", type_=UTCDateTime())
    locked = and_(c.failures >= LOCK_AFTER, not_(_fresh(c, now, since)))
    by_packet = select(Packet.case_id).where(Packet.tracking_no == number).scalar_subquery()
    return (select(Case, locked).outerjoin(TrackLock, TrackLock.number == Case.case_no)
            .where(or_(Case.case_no == number, Case.id == by_packet)).order_by(Case.case_no != number).limit(1))


def _fresh(c, now, since):
    """The hour is over (`since`: an hour ago) and no lock holds: a key's count starts again."""
    return and_(c.window_start <= since, or_(c.locked_until.is_(None), c.locked_until <= now))


def _code_fits(env: Env, case: Case, check: str) -> bool:
    if case.check_code_sealed:
        return hmac.compare_digest(check.strip().encode(), env.sealer.open(case.check_code_sealed).encode())
    # a case a peer handed over: only the code's slow hash came with it
    return bool(case.check_code_hash) and len(check.strip()) <= 32 and \
        hmac.compare_digest(check_code_hash(check, case.case_no), case.check_code_hash)


def _counted(session: Session, key: str, *, wrong: bool) -> bool:
    """Spends one try of the key's budget (none for a right code) in ONE statement, so concurrent
    requests on any database count exactly: False when the key is locked. (A right code only reads the
    lock: _case_and_lock.)"""
    now, cost, table = clock.now(), int(wrong), TrackLock.__table__
    c = table.c
    when = UTCDateTime()
    fresh = _fresh(c, now, now - LOCK_WINDOW)
    failures = case_when((fresh, cost), else_=c.failures + cost)
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    statement = insert.values(number=key, failures=cost, window_start=now,
                              locked_until=now + LOCK_WINDOW if cost >= LOCK_AFTER else None)
    statement = statement.on_conflict_do_update(
        index_elements=[c.number],
        set_={"failures": failures,
              "window_start": case_when((fresh, literal(now, when)), else_=c.window_start),
              "locked_until": case_when((failures >= LOCK_AFTER, literal(now + LOCK_WINDOW, when)),
                                   (fresh, null()), else_=c.locked_until)},
        where=or_(fresh, c.failures < LOCK_AFTER))
    return session.execute(statement.returning(c.number)).first() is not None


def evaluation_of(session: Session, case: Case) -> Evaluation | None:
    return session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()


MANIFEST_ROLES = ("clerk", "officer")


LOCK_AFTER = 10


LOCK_WINDOW = timedelta(hours=1)


NOT_FOUND = "未找到该办件，请核对编号和查询密码。"


LOCKED = "查询密码错误次数过多，请一小时后再试。"


def view_manifest(session: Session, actor: Actor, manifest_no: str) -> tuple[Manifest, list[Packet]]:
    manifest = load_manifest(session, manifest_no)
    if not may_see_manifest(actor, manifest):
        raise forbidden("您无权查看该交接清单。")
    return manifest, manifest_packets(session, manifest)


def staff_case_file(session: Session, actor: Actor, file_id: int, directory) -> tuple[CaseFile, Case]:
    """A case's file and its case, for the staff of the case's two offices only: a scan shows personal
    data in full and cannot be masked."""
    stored = session.get(CaseFile, file_id)
    if stored is None:
        raise not_found("未找到该文件。")
    case = session.get(Case, stored.case_id)
    allowed, full = may_see(actor, case, directory)
    if not (allowed and full):
        raise forbidden("只有收件窗口和办理部门的工作人员可以查看材料文件。")
    return stored, case
