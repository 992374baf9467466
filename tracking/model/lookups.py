"""Finding cases, packets and sheets, and who may see or act on them; the public check-code lock."""
from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from sqlmodel import Session, select

from config import clock
from mailing.tables import Manifest, ManifestItem, Packet
from tracking.model.context import Actor, Env
from tracking.model.errors import forbidden, not_found, too_many
from tracking.model.inputs import plain_number
from tracking.model.tables import Case, Evaluation, TrackLock


def load_case(session: Session, case_no: str, *, lock: bool = False) -> Case:
    query = select(Case).where(Case.case_no == plain_number(case_no))
    case = session.exec(query.with_for_update() if lock else query).first()
    if case is None:
        raise not_found("未找到该办件。")
    return case


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
    """The office that handed over, and the party that takes over."""
    if actor.role in MANIFEST_ROLES and actor.office_code == manifest.from_office:
        return True
    return manifest.to_party in (f"courier:{actor.username}", f"office:{actor.office_code}")


def piece_count(contents: list) -> int:
    """Documents in a packet: every copy of every material."""
    return sum(max(1, int(m.get("copies", 1) or 1)) for m in contents) or 1


def supervised_city(actor: Actor, directory) -> str | None:
    """The city a supervisor with an office watches over (None: the office is unknown)."""
    own = directory.post(actor.office_code)
    return directory.city_code(own.division_code) if own else None


def may_see(actor: Actor, case: Case, directory) -> tuple[bool, bool]:
    """(may see the case, may see personal data in full)."""
    if actor.role in ("clerk", "officer") and actor.office_code in (case.collecting_office, case.owning_office):
        return True, True
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
    """Limits a query over cases to those the actor's office may see."""
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
    number = plain_number(number)
    case = session.exec(select(Case).where(Case.case_no == number)).first()
    if case is None:
        packet = session.exec(select(Packet).where(Packet.tracking_no == number)).first()
        case = session.get(Case, packet.case_id) if packet else None
    return case


def checked_case(session: Session, env: Env, number: str, check: str | None) -> Case:
    """The case for number and check code; the same 404 for unknown and wrong; a lock after 10 wrong."""
    number = (number or "").strip().upper()[:40]
    now = clock.now()
    lock = session.get(TrackLock, number)
    if lock and lock.locked_until and clock.beijing(lock.locked_until) > now:
        raise too_many("too_many_attempts", "查询密码错误次数过多，请一小时后再试。")
    case = find_case(session, number)
    good = case is not None and isinstance(check, str) and \
        hmac.compare_digest(check.strip().encode(), env.sealer.open(case.check_code_sealed).encode())
    if good:
        return case
    lock = lock or TrackLock(number=number, failures=[])
    recent = [t for t in lock.failures if clock.beijing(datetime.fromisoformat(t)) > now - LOCK_WINDOW] + [now.isoformat()]
    lock.failures = recent[-LOCK_AFTER:]
    if len(recent) >= LOCK_AFTER:
        lock.locked_until = now + LOCK_WINDOW
    session.add(lock)
    refusal = not_found(NOT_FOUND)
    refusal.recorded = True  # the wrong code counts: the caller keeps what was written
    raise refusal


def evaluation_of(session: Session, case: Case) -> Evaluation | None:
    return session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()


MANIFEST_ROLES = ("clerk", "officer")


LOCK_AFTER = 10


LOCK_WINDOW = timedelta(hours=1)


NOT_FOUND = "未找到该办件，请核对编号和查询密码。"


def view_manifest(session: Session, actor: Actor, manifest_no: str) -> tuple[Manifest, list[Packet]]:
    manifest = load_manifest(session, manifest_no)
    if not may_see_manifest(actor, manifest):
        raise forbidden("您无权查看该交接清单。")
    return manifest, manifest_packets(session, manifest)
