"""Handover sheets (交接清单): made whole or not at all, handed over by one scan, counted by the
receiving party; a sheet handed over never changes."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from sqlmodel import Session, select

from config import clock
from mailing import s10
from mailing.numbers import next_value
from mailing.states import PacketStatus, ScanType
from mailing.tables import Manifest, ManifestEvent, ManifestItem, Packet
from routing.reference import directory as load_directory
from tracking.model.context import Actor
from tracking.model.errors import conflict, forbidden, not_found, rule
from tracking.model.inputs import INVALID_REQUEST, MAX_NAME, Command, fold, text
from tracking.model.lookups import MANIFEST_ROLES

MAX_PACKETS = 500


def _compact(value: str) -> str:
    return "".join(fold(value).split()).upper()


ScannedNumber = Annotated[text(64, required=True), AfterValidator(_compact)]
"""A tracking or sheet number as a scanner reads it or a person types it: full-width folded, spaces
dropped, upper case; not yet checked."""


def _party_ref(value: str) -> str:
    kind, colon, key = value.partition(":")
    if kind not in ("courier", "office") or not colon:
        raise PydanticCustomError(INVALID_REQUEST, "接收方应为寄递人员的账号或接收机构的代码。")
    return f"{kind}:{key.strip()}"


def _distinct_valid(numbers: list[str]) -> list[str]:
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise PydanticCustomError(INVALID_REQUEST, f"邮件号重复：{'、'.join(repeated)}。",
                                  {"tracking_nos": repeated})
    bad = [n for n in numbers if not s10.is_valid_tracking_no(n)]
    if bad:
        raise PydanticCustomError("invalid_tracking_no", f"邮件号格式或校验位有误：{'、'.join(bad)}。",
                                  {"tracking_nos": bad})
    return numbers


class NewManifest(Command):
    """A handover sheet to make: who takes it over, and the packets on it, each once."""

    to_party: Annotated[text(MAX_NAME, required=True), AfterValidator(_party_ref)]
    """`courier:USERNAME` or `office:CODE`."""
    tracking_nos: Annotated[list[ScannedNumber], Field(min_length=1, max_length=MAX_PACKETS),
                            AfterValidator(_distinct_valid)]

    @property
    def party(self) -> tuple[str, str]:
        """(kind, key): ("courier", username) or ("office", code)."""
        kind, _, key = self.to_party.partition(":")
        return kind, key


def _party_name(session: Session, actor: Actor, command: NewManifest,
                courier_name: Callable[[str], str | None]) -> str:
    """The display name of the party a sheet goes to: an active courier, or another office."""
    kind, key = command.party
    if kind == "courier":
        name = courier_name(key)
        if name is None:
            raise rule("unknown_party", f"没有名为“{key}”的寄递人员账号。", "to_party")
        return f"寄递人员 {name}"
    post = load_directory(session).post(key)
    if post is None:
        raise rule("unknown_party", f"机构代码“{key}”不存在。", "to_party")
    if key == actor.office_code:
        raise rule("unknown_party", "接收方不能是本机构。", "to_party")
    return post.name


def create_manifest(session: Session, actor: Actor, command: NewManifest,
                    courier_name: Callable[[str], str | None]) -> Manifest:
    """Every listed packet must be waiting at the actor's office and on no open sheet; otherwise
    nothing is made and the refusal names the packets at fault."""
    if actor.role not in MANIFEST_ROLES or not actor.office_code:
        raise forbidden("只有窗口或办理人员可以制作交接清单。")
    numbers = command.tracking_nos
    to_party_name = _party_name(session, actor, command, courier_name)
    # locked in a fixed order: two clerks listing the same packets wait for each other, never deadlock
    packets = {p.tracking_no: p for p in session.exec(
        select(Packet).where(Packet.tracking_no.in_(numbers)).order_by(Packet.id).with_for_update())}
    unknown = [n for n in numbers if n not in packets]
    if unknown:
        raise rule("unknown_packet", f"系统中没有这些邮件号：{'、'.join(unknown)}。", "tracking_nos",
                   tracking_nos=unknown)
    elsewhere = [n for n in numbers if packets[n].from_office != actor.office_code]
    if elsewhere:
        raise forbidden(f"这些邮件不是从本机构寄出的：{'、'.join(elsewhere)}。", "tracking_nos",
                      tracking_nos=elsewhere)
    gone = [n for n in numbers if packets[n].status != PacketStatus.CREATED.value]
    if gone:
        raise conflict("not_at_office", f"这些邮件已寄出或已作废，不能再交接：{'、'.join(gone)}。",
                       tracking_nos=gone)
    taken = session.exec(
        select(Packet.tracking_no, Manifest.manifest_no).join(ManifestItem, ManifestItem.packet_id == Packet.id)
        .join(Manifest, Manifest.id == ManifestItem.manifest_id)
        .where(Packet.tracking_no.in_(numbers), Manifest.handed_over_at.is_(None),
               Manifest.cancelled_at.is_(None))).all()
    if taken:
        names = sorted({t for t, _ in taken})
        raise conflict("already_on_manifest", f"这些邮件已在未交接的清单上：{'、'.join(names)}。",
                       tracking_nos=names, manifests=sorted({m for _, m in taken}))
    now = clock.now()
    day = clock.beijing_date(now).strftime("%Y%m%d")
    serial = next_value(session, f"manifest:{actor.office_code}:{day}")
    manifest = Manifest(manifest_no=f"JJ-{actor.office_code}-{day}-{serial:03d}", from_office=actor.office_code,
                        to_party=command.to_party, to_party_name=to_party_name, created_by=actor.username,
                        created_at=now)
    session.add(manifest)
    session.flush()
    for position, number in enumerate(numbers, 1):
        session.add(ManifestItem(manifest_id=manifest.id, packet_id=packets[number].id, position=position))
    session.flush()
    return manifest


def close_on_dispatch(session: Session, packet: Packet, at: datetime) -> None:
    """The first packet of an open sheet scanned out means the sheet was handed over."""
    open_ids = select(ManifestItem.manifest_id).where(ManifestItem.packet_id == packet.id)
    for manifest in session.exec(select(Manifest).where(Manifest.id.in_(open_ids), Manifest.cancelled_at.is_(None),
                                                        Manifest.handed_over_at.is_(None))):
        manifest.handed_over_at = at
        session.add(manifest)


def lock_manifest(session: Session, manifest_no: str) -> Manifest | None:
    return session.exec(select(Manifest).where(Manifest.manifest_no == manifest_no.strip().upper())
                        .with_for_update()).first()


def check_sheet_scan(session: Session, actor: Actor, manifest: Manifest, scan_type: ScanType) -> None:
    """Whether this actor may scan this sheet (locked by the caller) this way."""
    if manifest.cancelled_at is not None:
        raise conflict("manifest_cancelled", "该交接清单已作废，请按新清单交接。")
    if scan_type is ScanType.DISPATCHED:
        if session.exec(select(ManifestEvent.id).where(ManifestEvent.manifest_id == manifest.id,
                                                       ManifestEvent.type == scan_type.value)).first():
            raise conflict("manifest_handed_over", "该交接清单已交接，不能再次交寄。")
        if actor.role in MANIFEST_ROLES and actor.office_code != manifest.from_office:
            raise rule("wrong_office", "该交接清单不是本机构的。", "office_code")
        if actor.role == "courier" and manifest.to_party.startswith("courier:") \
                and manifest.to_party != f"courier:{actor.username}":
            raise forbidden(f"该交接清单交给{manifest.to_party_name}，不是您。")
    elif actor.role != "courier":
        raise forbidden("只有寄递人员在处理中心扫描交接清单。")


def cancel_manifest(session: Session, actor: Actor, manifest_no: str) -> Manifest:
    """Voids a sheet not yet handed over (its packets may go on a new one); a handed-over sheet stays."""
    manifest = lock_manifest(session, manifest_no)
    if manifest is None:
        raise not_found("未找到该交接清单。")
    if actor.role not in MANIFEST_ROLES or actor.office_code != manifest.from_office:
        raise forbidden("只有制作清单的机构可以作废交接清单。")
    if manifest.handed_over_at is not None:
        raise conflict("manifest_handed_over", "该交接清单已交接，不能再更改或作废。")
    if manifest.cancelled_at is not None:
        raise conflict("manifest_cancelled", "该交接清单已作废。")
    now = clock.now()
    manifest.cancelled_at = now
    session.add(manifest)
    session.add(ManifestEvent(event_id=f"cancel:{manifest.manifest_no}", manifest_id=manifest.id, type="cancelled",
                              at=now, recorded_at=now, actor=actor.username, role=actor.role,
                              office_code=actor.office_code))
    session.flush()
    return manifest
