"""Custody of packets: scans from handheld scanners and offices (custody events, the packet machine,
routes, effects on the case), and the receiving party's count of a handover sheet."""
from __future__ import annotations

import enum
import gc
import hashlib
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BeforeValidator, Field, PlainValidator, ValidationError, ValidationInfo,
                      field_validator, model_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from config import clock
from config.database import insert_rows
from mailing import s10
from mailing.chain import event_hash, link
from mailing.packets import reroute, reschedule, served_kind
from mailing.states import (EXCEPTION_REASONS, NEXT_STEPS, SCAN_TITLES, SCANNER_REASONS, InvalidTransition,
                            PacketKind, PacketStatus, ScanType, replay)
from mailing.tables import Manifest, ManifestEvent, ManifestItem, Packet, PacketEvent
from routing.reference import directory as load_directory
from tracking.commands import case_files, manifests, steps
from tracking.commands.manifests import ScannedNumber, lock_manifest
from tracking.model import lookups, stage_store, states
from tracking.model.identity import mask_name
from tracking.model.context import SYSTEM, Actor, Env
from tracking.model.deadlines import PACKET_FIELDS, PromiseBasis, recompute_due_date
from tracking.model.errors import Refused, bad_request, conflict, forbidden, not_found, rule
from tracking.model.inputs import (INVALID_REQUEST, MAX_NAME, BeijingDatetime, Command, Invalid, Text, fold,
                                   optional, parse, text, unreadable)
from tracking.model.messages import tell
from tracking.model.records import BULK, Bulk, case_event, transition
from tracking.model.states import CaseAction, CaseStatus
from tracking.model.tables import Case, CaseFile

SCANNING_ROLES = {"clerk", "officer", "courier"}
STAFF = ("clerk", "officer")  # scan as their own office
MAX_SCANS = 1000  # a scanner that was offline all day sends its day in a few batches
MANIFEST_SCANS = {ScanType.DISPATCHED, ScanType.ARRIVED_HUB, ScanType.DEPARTED_HUB}
EN_ROUTE = {ScanType.ARRIVED_HUB, ScanType.DEPARTED_HUB, ScanType.OUT_FOR_DELIVERY}
FAILED_DELIVERY = {"refused", "address_unknown", "recipient_absent"}
Status = Literal["recorded", "duplicate", "rejected"]


# -- what a scanner sends -------------------------------------------------------------------------

def _tracking_no(number: str) -> str:
    if not s10.is_valid_tracking_no(number):
        raise PydanticCustomError("invalid_tracking_no", "邮件号格式或校验位有误，请重新扫描。")
    return number


def _blank_if_none(value: Any) -> Any:
    return "" if value is None else value


OfficeCode = Annotated[text(32), AfterValidator(fold)]
"""An office's code as a scanner sends it (H140902, P140900, D140105-GA); the directory knows it or not."""


def _refuse(field: str, message: str) -> ValidationError:
    """A rule over several fields, reported at the field to correct (a model validator has no field)."""
    return ValidationError.from_exception_data("Scan", [InitErrorDetails(
        type=PydanticCustomError(INVALID_REQUEST, message), loc=(field,), input=None)])


def _readable_id(event_id: str) -> str:
    if unreadable(event_id):
        raise PydanticCustomError(INVALID_REQUEST, "扫描编号含有无法识别的字符。")
    return event_id


class ContentCheck(Command):
    """One material of a packet, checked on receipt."""

    code: text(MAX_NAME, required=True)
    status: Literal["ok", "missing", "damaged"]


class Signer(Command):
    """Who signed for a home delivery: the addressee (`self`) or someone for them (`proxy`, 代收, by name)."""

    relation: Literal["self", "proxy"] = "self"
    name: optional(text(MAX_NAME)) = None

    @model_validator(mode="after")
    def _a_proxy_has_a_name(self) -> Signer:
        if self.relation == "proxy" and not self.name:
            raise _refuse("name", "他人代收的，请填写代收人姓名。")
        return self

    def words(self) -> str:
        """For the packet's history, which every courier reads: the name masked."""
        return "本人签收" if self.relation == "self" else f"{mask_name(self.name or '')}代收"


class Scan(Command):
    """One scan: of a packet (`tracking_no`) or of a handover sheet's barcode (`manifest_no`)."""

    event_id: Annotated[str, Field(strict=True, min_length=1, max_length=64), AfterValidator(_readable_id)]
    """The scanner's own id for the scan: sent again, it is a duplicate."""
    type: ScanType
    tracking_no: optional(Annotated[ScannedNumber, AfterValidator(_tracking_no)]) = None
    manifest_no: optional(ScannedNumber) = None
    at: BeijingDatetime
    """When it was scanned; without an offset, Beijing time."""
    office_code: optional(OfficeCode) = None
    """Where; clerks and officers always scan as their own office."""
    note: Annotated[Text, BeforeValidator(_blank_if_none)] = ""
    reason: str | None = Field(None, validate_default=True)
    """Why an exception was scanned (damaged, lost, misrouted, refused, address_unknown)."""
    contents: list[ContentCheck] | None = None
    """A receipt's check of the materials, item by item."""
    signer: Signer | None = None
    """A home delivery's signer (delivered only): the addressee, or who took it for them."""

    @field_validator("at")
    @classmethod
    def _plausible_time(cls, at: datetime, info: ValidationInfo) -> datetime:
        earliest, latest = (info.context or {}).get("scan_times", (None, None))
        if earliest is not None and not earliest <= at <= latest:
            raise PydanticCustomError("implausible_time", "扫描时间不合理，应在{earliest}至{latest}之间（北京时间）。"
                                                          "请核对扫描设备的时钟。",
                                      {"earliest": clock.iso(earliest), "latest": clock.iso(latest)})
        return at

    @field_validator("reason")
    @classmethod
    def _reason_of_an_exception(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("type") is not ScanType.EXCEPTION:
            return None  # only an exception has a reason
        if reason not in SCANNER_REASONS:
            raise PydanticCustomError(
                INVALID_REQUEST, "异常扫描须注明原因：" + "、".join(EXCEPTION_REASONS[r] for r in SCANNER_REASONS) + "。")
        return reason

    @field_validator("contents")
    @classmethod
    def _contents_on_receipt(cls, contents: list | None, info: ValidationInfo) -> list | None:
        if contents is not None and info.data.get("type") not in (ScanType.RECEIVED, None):
            raise PydanticCustomError(INVALID_REQUEST, "内件核对只能随签收扫描提交，逐项注明正常、缺失或破损。")
        return contents

    @field_validator("signer")
    @classmethod
    def _signer_on_delivery(cls, signer: Signer | None, info: ValidationInfo) -> Signer | None:
        if signer is not None and info.data.get("type") not in (ScanType.DELIVERED, None):
            raise PydanticCustomError(INVALID_REQUEST, "只有妥投扫描可以填写签收人。")
        return signer

    @model_validator(mode="after")
    def _packet_or_sheet(self) -> Scan:
        if self.manifest_no is not None:
            if self.tracking_no is not None:
                raise _refuse("manifest_no", "一条扫描记录应填写邮件号或交接清单号，二者选一。")
            if self.type not in MANIFEST_SCANS:
                raise _refuse("type", "交接清单只能扫描交寄、到达或离开处理中心。")
        elif self.tracking_no is None:
            raise _refuse("tracking_no", "缺少邮件号 tracking_no。")
        return self

    def contents_data(self) -> list[dict] | None:
        """The contents check as it is stored with the event."""
        return None if self.contents is None else [c.model_dump() for c in self.contents]


@dataclass(frozen=True)
class Unreadable:
    """A scan of a batch that could not be read: rejected on its own, never the batch."""

    event_id: str | None
    error: Refused


def _each_on_its_own(value: Any, info: ValidationInfo) -> tuple[Scan | Unreadable, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise PydanticCustomError(INVALID_REQUEST, "请至少提交一条扫描记录。")
    if len(value) > MAX_SCANS:
        raise PydanticCustomError(INVALID_REQUEST, f"每批最多{MAX_SCANS}条扫描记录。")
    return tuple(_one_scan(item, info.context) for item in value)


def _one_scan(item: Any, context: dict | None) -> Scan | Unreadable:
    if not isinstance(item, (Mapping, Scan)):
        return Unreadable(None, bad_request("每条扫描记录应为对象。"))
    try:
        return parse(Scan, item, context=context)
    except Invalid as e:
        event_id = item.get("event_id")
        # echoed only as the scanner could have sent it: text that the answer can carry
        readable = isinstance(event_id, str) and len(event_id) <= 64 and not unreadable(event_id)
        return Unreadable(event_id if readable else None, e)


def scan_context(settings) -> dict:
    """The parse context of a batch from a scanner: the times a scan may carry, by the server's clock
    (settings scan_ahead_minutes and scan_behind_days). Without it any time from 2000 to 2099 is taken."""
    now = clock.now()
    return {"scan_times": (now - timedelta(days=settings.scan_behind_days),
                           now + timedelta(minutes=settings.scan_ahead_minutes))}


class ScanBatch(Command):
    """A scanner's batch (up to MAX_SCANS), each scan parsed on its own."""

    scans: Annotated[tuple[Scan | Unreadable, ...],
                     PlainValidator(_each_on_its_own,
                                    json_schema_input_type=Annotated[list[Scan], Field(min_length=1,
                                                                                       max_length=MAX_SCANS)])]


def _each_once(numbers: list[str]) -> list[str]:
    return list(dict.fromkeys(numbers))


class ManifestCount(Command):
    """The receiving party's count of a handover sheet: the packets scanned on arrival."""

    tracking_nos: Annotated[list[ScannedNumber], Field(max_length=2 * manifests.MAX_PACKETS),
                            AfterValidator(_each_once)]
    """Each once, in the order scanned; an empty list when nothing arrived."""
    office_code: optional(OfficeCode) = None
    """Where it is counted: the receiving office, or the hub a courier counts it at."""


# -- what became of each scan ---------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a scan did to one packet."""

    status: Status
    tracking_no: str | None = None
    packet_status: str | None = None
    error: Refused | None = None


@dataclass(frozen=True, kw_only=True)
class ScanResult(Outcome):
    """The verdict on one scan of a batch; a sheet's scan has one outcome per packet on it."""

    event_id: str | None
    manifest_no: str | None = None
    packets: tuple[Outcome, ...] | None = None


@dataclass(frozen=True)
class ManifestCounted:
    """The count's answer: how many arrived, and what is missing, extra, unknown or never sent."""

    manifest_no: str
    received: int
    missing: list[str]
    extra: list[str]
    unknown: list[str]
    not_sent: list[str]


def _wrong_office(message: str) -> Refused:
    return rule("wrong_office", message, "office_code")


def _as_scanned_by(scan: Scan, actor: Actor, directory) -> Scan:
    """The rules that need the actor or the directory: a known place, staff scan as their office, a
    courier of a hub scans en route as that hub, and a courier's hub scan names a hub (staff may record
    no hub scan at all: WHO_MAY_SCAN refuses it once the packet is known)."""
    if scan.office_code is not None and directory.post(scan.office_code) is None:
        raise bad_request("扫描地点机构代码不存在。", "office_code")
    if actor.role in STAFF:
        if scan.office_code and scan.office_code != actor.office_code:
            raise _wrong_office("只能以本机构名义扫描。")
        return scan.model_copy(update={"office_code": actor.office_code})
    if actor.role == "courier" and actor.office_code and scan.type in EN_ROUTE:
        if scan.office_code and scan.office_code != actor.office_code:
            raise _wrong_office("处理中心的扫描只能以您所属的处理中心名义记录。")
        scan = scan.model_copy(update={"office_code": actor.office_code})
    if actor.role == "courier" and scan.type in (ScanType.ARRIVED_HUB, ScanType.DEPARTED_HUB):
        if scan.office_code is None:
            raise bad_request("到达或离开处理中心的扫描须注明是哪个处理中心。", "office_code")
        if directory.post(scan.office_code).kind != "hub":
            raise _wrong_office("到达或离开处理中心的扫描只能在邮件处理中心记录。")
    return scan


# -- who may record which scan on which packet -----------------------------------------------------
# WHO_MAY_SCAN is the rule; README "Who may scan what" is the same table in prose (a test compares them).

@dataclass(frozen=True)
class Scanning:
    """What the rule reads: who scans, the scan, the packet, its events so far (in time order) and the
    courier an open handover sheet with it is made out to."""

    actor: Actor
    scan: Scan
    packet: Packet
    history: list[PacketEvent]
    on_sheet_to: str | None = None


def _staff_of(actor: Actor, office: str | None) -> bool:
    return actor.role in STAFF and office is not None and actor.office_code == office


def _sender(s: Scanning) -> bool:
    return _staff_of(s.actor, s.packet.from_office)


def _addressee(s: Scanning) -> bool:
    return _staff_of(s.actor, s.packet.to_office)


def _courier(s: Scanning) -> bool:
    return s.actor.role == "courier"


def _taking_over(s: Scanning) -> bool:
    return _courier(s) and s.on_sheet_to in (None, s.actor.username)


def _carrier(s: Scanning) -> bool:
    out = [e for e in s.history if e.type == ScanType.OUT_FOR_DELIVERY.value]
    return _courier(s) and (not out or out[-1].actor == s.actor.username)


def _custodian(s: Scanning) -> bool:
    held = [e for e in s.history if e.type != ScanType.EXCEPTION.value and clock.beijing(e.at) <= s.scan.at]
    if not held:
        return _sender(s)  # never scanned: still at the sending office
    last = held[-1]
    if last.type == ScanType.DELIVERED.value:
        return _addressee(s)
    if last.type == ScanType.DISPATCHED.value and last.role in STAFF:
        return _courier(s)  # handed to the postal network: the office's scan does not say to which courier
    if last.role == "courier":
        return _courier(s) and (s.actor.username == last.actor or
                                (s.actor.office_code is not None and s.actor.office_code == last.office_code))
    return _staff_of(s.actor, last.office_code)


class Party(enum.Enum):
    """Someone who may record a scan on a packet: its wording in the README, and the check."""

    SENDER = ("staff of the sending office", _sender)
    TAKING_OVER = (("the courier taking it over (if it is on an open handover sheet made out to a courier: "
                    "that courier)"), _taking_over)
    COURIER = (("a courier (a courier of a hub scans as that hub; a hub off the route is recorded as a "
                "misroute)"), _courier)
    ADDRESSEE = ("staff of the addressed office", _addressee)
    CARRIER = (("the courier carrying it: the one who last scanned it `out_for_delivery`, any courier before "
                "that"), _carrier)
    CUSTODIAN = (("whoever holds it: the office or the courier of its last scan that was not an exception, "
                  "and that courier's hub colleagues; before any scan the sending office, after the office's "
                  "own `dispatched` any courier, after `delivered` the addressed office"), _custodian)

    def __init__(self, wording: str, check: Callable[[Scanning], bool]):
        self.wording, self.check = wording, check


@dataclass(frozen=True)
class WhoMayScan:
    """Who may record one type of scan, and the refusal for anyone else: `wrong_office` where the
    contract already names it, `forbidden` otherwise."""

    parties: tuple[Party, ...]
    code: str
    message: str

    def refusal(self) -> Refused:
        return _wrong_office(self.message) if self.code == "wrong_office" else forbidden(self.message)


WHO_MAY_SCAN: dict[ScanType, WhoMayScan] = {
    ScanType.DISPATCHED: WhoMayScan((Party.SENDER, Party.TAKING_OVER), "wrong_office",
                                    "该邮件不是从本机构寄出的，或已列入交给其他寄递人员的交接清单。"),
    ScanType.ARRIVED_HUB: WhoMayScan((Party.COURIER,), "forbidden", "只有寄递人员可以记录到达处理中心。"),
    ScanType.DEPARTED_HUB: WhoMayScan((Party.COURIER,), "forbidden", "只有寄递人员可以记录离开处理中心。"),
    ScanType.OUT_FOR_DELIVERY: WhoMayScan((Party.COURIER,), "forbidden", "只有寄递人员可以记录派送。"),
    ScanType.DELIVERED: WhoMayScan((Party.CARRIER, Party.ADDRESSEE), "forbidden",
                                   "只有派送该邮件的寄递人员（寄往机构的，还有收件机构）可以记录妥投。"),
    ScanType.RECEIVED: WhoMayScan((Party.ADDRESSEE,), "wrong_office", "该邮件不是寄给本机构的，不能签收。"),
    ScanType.EXCEPTION: WhoMayScan((Party.CUSTODIAN, Party.SENDER), "forbidden",
                                   "只有当前保管该邮件的一方（机构或寄递人员）或寄出机构可以记录异常。"),
}


def _may_record(session: Session, actor: Actor, scan: Scan, packet: Packet, history: list[PacketEvent],
                source: _OneByOne | _Batch | None = None) -> None:
    """Refuses a scan its actor may not record on this packet (WHO_MAY_SCAN), and a place that does not
    fit the packet: a dispatch away from the sending office, a delivery at another office."""
    who = WHO_MAY_SCAN[scan.type]
    on_sheet = (source.on_sheet_to(packet) if source is not None else _on_sheet_to(session, packet)) \
        if scan.type is ScanType.DISPATCHED else None
    scanning = Scanning(actor, scan, packet, sorted(history, key=lambda e: (clock.beijing(e.at), e.id)), on_sheet)
    if not any(party.check(scanning) for party in who.parties):
        raise who.refusal()
    office = scan.office_code
    if scan.type is ScanType.DISPATCHED and office and office != packet.from_office:
        raise _wrong_office("该邮件应在寄出机构交寄，请核对扫描地点。")
    if scan.type is ScanType.DELIVERED and packet.to_office and office and office != packet.to_office:
        raise _wrong_office("该邮件的收件机构不是这里，不能在此投递。")


def _on_sheet_to(session: Session, packet: Packet) -> str | None:
    """The courier an open handover sheet with this packet is made out to (None: no such sheet)."""
    party = session.exec(select(Manifest.to_party).join(ManifestItem, ManifestItem.manifest_id == Manifest.id)
                         .where(ManifestItem.packet_id == packet.id, Manifest.handed_over_at.is_(None),
                                Manifest.cancelled_at.is_(None))).first()
    kind, _, name = (party or "").partition(":")
    return name if kind == "courier" else None


def derived_event_id(event_id: str, suffix: str) -> str:
    """An id for an event the service records because of a scan (stable, so a re-sent scan is a duplicate)."""
    joined = f"{event_id}:{suffix}"
    return joined if len(joined) <= 64 else "sys:" + hashlib.sha256(joined.encode()).hexdigest()[:60]


def _add_event(session: Session, packet: Packet, *, event_id: str, type_: ScanType, status: PacketStatus,
               at: datetime, actor: Actor, office_code: str | None, note: str = "", reason: str | None = None,
               contents: list | None = None) -> PacketEvent | None:
    values = dict(event_id=event_id, packet_id=packet.id, type=type_.value, status_after=status.value, at=at,
                  recorded_at=clock.now(), actor=actor.username, role=actor.role, office_code=office_code,
                  note=note, reason=reason, contents=contents, client_txn=event_id)
    batch = session.info.get(_BATCH)
    if batch is not None:  # a row of the batch's one insert: hashed as link() hashes the model's fields
        values["prev_hash"] = packet.last_hash
        values["hash"] = packet.last_hash = event_hash(values["prev_hash"], values)
        batch.added(packet, values)
        return None
    event = PacketEvent(**values)
    packet.last_hash = link(event, packet.last_hash)
    session.add(event)
    session.add(packet)
    return event


def _system_exception(session: Session, packet: Packet, scan: Scan, reason: str, note: str) -> None:
    """An exception the service itself records beside a scan (misrouted, contents short)."""
    _add_event(session, packet, event_id=derived_event_id(scan.event_id, reason), type_=ScanType.EXCEPTION,
               status=PacketStatus(packet.status), at=scan.at, actor=SYSTEM, office_code=scan.office_code,
               note=note, reason=reason)


def _effect(kind: PacketKind, packet: Packet, scan: Scan) -> CaseAction | None:
    type_ = scan.type
    materials = kind in (PacketKind.OUTBOUND, PacketKind.SUPPLEMENT)
    if type_ is ScanType.DISPATCHED:
        return {PacketKind.OUTBOUND: CaseAction.DISPATCH, PacketKind.SUPPLEMENT: CaseAction.DISPATCH_SUPPLEMENT,
                PacketKind.RESULT: CaseAction.DISPATCH_RESULT}.get(kind)
    if type_ is ScanType.RECEIVED:
        if materials:
            return CaseAction.RECEIVE
        if kind is PacketKind.RESULT:
            return CaseAction.RESULT_AT_WINDOW
    if type_ is ScanType.DELIVERED and kind is PacketKind.RESULT and packet.to_office is None:
        return CaseAction.DELIVER
    return None


def _on_exception(session: Session, case: Case, packet: Packet, reason: str, scan: Scan, actor: Actor) -> None:
    """Every exception is on the case's record and told to the offices that must act."""
    what = EXCEPTION_REASONS[reason]
    case_event(session, case, f"packet_{reason}", actor, at=scan.at, office_code=scan.office_code,
               data={"tracking_no": packet.tracking_no, "packet_kind": packet.kind, "reason": reason,
                     "note": scan.note, "next_step": NEXT_STEPS[reason]})
    for office in sorted({packet.from_office, case.collecting_office}):
        tell(session, case, "packet_exception", office_code=office, tracking_no=packet.tracking_no, what=what,
             next_step=NEXT_STEPS[reason])
    if reason == "lost":
        case.flags = [*case.flags, {"code": "packet_lost", "tracking_no": packet.tracking_no,
                                    "at": clock.iso(scan.at)}]


def _visited(packet: Packet, history: list[PacketEvent]) -> int:
    """How many of the route's stops the packet has passed: up to the last one it was scanned at."""
    reached = {e.office_code for e in history} | {packet.from_office}
    seen = [i for i, item in enumerate(packet.route) if item["office_code"] in reached]
    return (max(seen) + 1) if seen else 1


def _follow_route(session: Session, env: Env, directory, case: Case, packet: Packet, scan: Scan,
                  history: list[PacketEvent], latest: bool) -> None:
    """A scan at an office off the planned route is a misroute: recorded, and the packet gets a new
    route from where it is."""
    office = directory.post(scan.office_code)
    if office is None or office.code in {i["office_code"] for i in packet.route}:
        return
    explicit = scan.type is ScanType.EXCEPTION and scan.reason == "misrouted"
    if not explicit and scan.type not in EN_ROUTE:
        return
    if not explicit:
        _system_exception(session, packet, scan, "misrouted", f"{office.name}不在计划路由上，已重新规划路由。")
        _on_exception(session, case, packet, "misrouted", scan, SYSTEM)
    if latest:
        reroute(session, env.settings, directory, packet, _visited(packet, history), office,
                clock.beijing_date(scan.at))


def _failed_delivery(session: Session, env: Env, directory, case: Case, packet: Packet, kind: PacketKind,
                     scan: Scan) -> None:
    """A result that cannot be delivered home (refused once, or undeliverable N times) goes back to the
    collecting window, where the applicant collects it."""
    packet.failed_attempts += 1
    session.add(packet)
    if kind is not PacketKind.RESULT or packet.to_office is not None:
        return
    if scan.reason != "refused" and packet.failed_attempts < env.settings.delivery_attempts:
        return
    hall = directory.post(case.collecting_office)
    here = directory.post(scan.office_code) or directory.post(packet.route[-1]["office_code"])
    visited = len(packet.route) - (packet.route[-1]["office_code"] == here.code)
    reroute(session, env.settings, directory, packet, visited, here, clock.beijing_date(scan.at), to_office=hall)
    why = EXCEPTION_REASONS[scan.reason]
    case_event(session, case, "result_returned_to_window", SYSTEM, at=scan.at,
               data={"tracking_no": packet.tracking_no, "reason": scan.reason,
                     "attempts": packet.failed_attempts, "to_office": hall.code})
    tell(session, case, "undeliverable", why=why, hall=hall.name)
    tell(session, case, "result_coming_back", office_code=hall.code, tracking_no=packet.tracking_no, why=why)


def _check_contents(session: Session, case: Case, packet: Packet, kind: PacketKind, scan: Scan,
                    actor: Actor) -> None:
    """The owning office's receipt checks the materials item by item: what is missing or damaged is
    recorded, stops a plain acceptance and asks for a supplement notice, never a silent receipt."""
    if kind not in (PacketKind.OUTBOUND, PacketKind.SUPPLEMENT) or packet.to_office != case.owning_office:
        return
    names = {m["code"]: m.get("name", m["code"]) for m in packet.contents}
    checked = scan.contents_data()
    unknown = [c["code"] for c in checked or [] if c["code"] not in names]
    if unknown:
        raise rule("unknown_material", f"材料“{'、'.join(unknown)}”不在该邮件的内件清单中。", "contents")
    problems = [{"code": c["code"], "name": names[c["code"]], "status": c["status"],
                 "tracking_no": packet.tracking_no} for c in checked or [] if c["status"] != "ok"]
    fine = set(names) - {p["code"] for p in problems}
    case.contents_problems = [p for p in case.contents_problems if p["code"] not in fine] + problems
    data = {"tracking_no": packet.tracking_no, "packet_kind": packet.kind}
    if checked is None:
        return
    unchecked = sorted(set(names) - {c["code"] for c in checked})
    case_event(session, case, "contents_checked", actor, at=scan.at, office_code=scan.office_code,
               data={**data, "contents": checked, "problems": problems, "unchecked": unchecked})
    if not problems:
        return
    for p in problems:
        case_event(session, case, f"material_{p['status']}", actor, at=scan.at, office_code=scan.office_code,
                   data={**data, "code": p["code"], "name": p["name"]})
    reason = "damaged" if any(p["status"] == "damaged" for p in problems) else "contents_missing"
    listing = "、".join(f"{p['name']}（{'缺失' if p['status'] == 'missing' else '破损'}）" for p in problems)
    _system_exception(session, packet, scan, reason, f"签收核对：{listing}")
    case_event(session, case, f"packet_{reason}", SYSTEM, at=scan.at, office_code=scan.office_code,
               data={**data, "reason": reason, "note": listing, "next_step": NEXT_STEPS["contents_missing"]})
    tell(session, case, "contents_problem", office_code=case.owning_office, tracking_no=packet.tracking_no,
         listing=listing)
    tell(session, case, "contents_problem_window", office_code=case.collecting_office,
         tracking_no=packet.tracking_no, listing=listing)


INCOMING_KINDS = {PacketKind.OUTBOUND: "申请材料", PacketKind.SUPPLEMENT: "补正材料", PacketKind.RESULT: "结果件",
                  PacketKind.RETURN: "退回的原件", PacketKind.REPLACEMENT: "补寄材料"}


def _tell_addressee(session: Session, directory, case: Case, packet: Packet) -> None:
    """来件提醒: the office a packet is addressed to hears of it once, when it first leaves."""
    origin = directory.post(packet.from_office)
    expected = f"{packet.expected_arrival:%Y年%m月%d日}" if packet.expected_arrival else "近日"
    tell(session, case, "incoming_packet", office_code=packet.to_office,
         kind=f"{INCOMING_KINDS.get(PacketKind(packet.kind), '邮件')}邮件",
         tracking_no=packet.tracking_no, origin=origin.name if origin else packet.from_office, expected=expected)


def _apply_to_case(session: Session, env: Env, directory, actor: Actor, case: Case, packet: Packet,
                   kind: PacketKind, scan: Scan, source: _OneByOne | _Batch | None = None) -> None:
    if scan.type is ScanType.EXCEPTION:
        _on_exception(session, case, packet, scan.reason, scan, actor)
        if scan.reason in FAILED_DELIVERY:
            _failed_delivery(session, env, directory, case, packet, kind, scan)
        return
    if scan.type is ScanType.RECEIVED:
        _check_contents(session, case, packet, kind, scan, actor)
        if not isinstance(source, _Batch) or source.may_have_files(case):
            case_files.paper_arrived(session, case, packet, scan.contents_data(), actor, scan.at, scan.office_code)
        if kind is PacketKind.RETURN and packet.to_office == case.collecting_office:
            tell(session, case, "originals_at_window")
        if kind in (PacketKind.TRANSFER, PacketKind.SUPPLEMENT):  # 多地联办: an archive or a step's supplement
            steps.paper_arrived(session, case, packet, scan.at, actor)
    action = _effect(kind, packet, scan)
    if action is None or not states.can(CaseStatus(case.status), action):
        return  # e.g. materials still travelling to an office after a withdrawal
    data = {"tracking_no": packet.tracking_no, "packet_kind": packet.kind}
    if action is CaseAction.RECEIVE:
        if case.received_at is None:
            case.received_at = scan.at
        if kind is PacketKind.SUPPLEMENT:
            case.supplement_received_at = scan.at
    if action is CaseAction.DELIVER:
        case.delivered_at = scan.at
        if scan.signer is not None:  # who took it at the door: the timeline says so
            data["signer"] = scan.signer.model_dump()
    transition(session, case, action, actor, at=scan.at, data=data, client_txn=scan.event_id,
               office_code=scan.office_code)
    if action is CaseAction.RESULT_AT_WINDOW:
        tell(session, case, "result_at_window")


class _OneByOne:
    """What a scan reads, looked up for that scan alone: a sheet's packets, a carrier's event, a count, and a
    batch that could not be applied as one (record_scans)."""

    def __init__(self, session: Session, env: Env):
        self.session, self.env = session, env

    def packet(self, number: str) -> Packet | None:
        return self.session.exec(select(Packet).where(Packet.tracking_no == number).with_for_update()).first()

    def recorded(self, event_id: str) -> bool:
        return self.session.exec(select(PacketEvent.id).where(PacketEvent.event_id == event_id)).first() is not None

    def history(self, packet: Packet) -> list:
        return list(self.session.exec(select(PacketEvent).where(PacketEvent.packet_id == packet.id)
                                      .order_by(PacketEvent.id)).all())

    def on_sheet_to(self, packet: Packet) -> str | None:
        return _on_sheet_to(self.session, packet)

    def written(self, packet: Packet, scan: Scan) -> None:
        self.session.flush()
        if scan.type is ScanType.DISPATCHED:
            manifests.close_on_dispatch(self.session, packet, scan.at)

    def case(self, packet: Packet) -> Case:
        return self.session.exec(select(Case).where(Case.id == packet.case_id).with_for_update()).one()

    def reschedule(self, packet: Packet, directory, day) -> None:
        reschedule(self.session, self.env.settings, directory, packet, day)

    def done(self, case: Case) -> None:
        recompute_due_date(self.session, case, self.env.settings)  # a dispatch, a late or rerouted packet, an arrival


_BATCH = "custody.batch"  # session.info: the batch being applied, told of each event added (_add_event)
_AFTER = 1 << 62  # ids the batch's own events sort by until flushed: after every stored one, in order


class _Written(Exception):
    """A scan of a batch refused after its rows were written: the batch is applied again, one scan at a time."""


@dataclass(frozen=True)
class _Held:
    """An event as the rules read a packet's history: a stored row's columns, or one of this batch's events."""

    id: int
    type: str
    at: datetime
    actor: str
    role: str
    office_code: str | None
    reason: str | None


class _Batch:
    """A batch's rows loaded once, a query each: its packets (locked, in id order) and their cases, which of
    its event ids are stored already, its packets' events, and the open handover sheets of the packets it
    dispatches. The rows are written when the batch's transaction flushes them, together; each case's promise
    is recomputed once, at the end (or before another scan of the case reads the case)."""

    def __init__(self, session: Session, env: Env, scans: list[Scan]):
        self.session, self.env = session, env
        self.wrote = False  # the current scan has written rows: a refusal now needs the slow path
        numbers = sorted({s.tracking_no for s in scans})
        # a packet's contents are read by a receipt only
        receipts = any(s.type is ScanType.RECEIVED for s in scans)
        self.packets = {p.tracking_no: p for p in session.exec(
            select(Packet).where(Packet.tracking_no.in_(numbers)).order_by(Packet.id).with_for_update()
            .options(*(() if receipts else (defer(Packet.contents),))))}
        ids = sorted(p.id for p in self.packets.values())
        rows = session.connection()  # columns, not objects: read without the ORM's loading
        self.stored = set(rows.execute(select(PacketEvent.event_id).where(
            PacketEvent.event_id.in_(sorted({s.event_id for s in scans})))).scalars())
        self.histories: dict[int, list] = {i: [] for i in ids}
        for row in rows.execute(select(PacketEvent.id, PacketEvent.packet_id, PacketEvent.type, PacketEvent.at,
                                       PacketEvent.actor, PacketEvent.role, PacketEvent.office_code,
                                       PacketEvent.reason)
                                .where(PacketEvent.packet_id.in_(ids)).order_by(PacketEvent.id)):
            self.histories[row.packet_id].append(_Held(row.id, *row[2:]))
        case_ids = sorted({p.case_id for p in self.packets.values()})
        # what no scan reads is left unloaded (loaded on first use, should a watcher want it); a case's
        # materials are read by a receipt only
        self.cases = {c.id: c for c in session.exec(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)
                                                     .options(defer(Case.applicant_masked), defer(Case.subject),
                                                              defer(Case.identity_check),
                                                              *(() if receipts else (defer(Case.materials),)))
                                                     .with_for_update())}
        dispatching = sorted({self.packets[s.tracking_no].id for s in scans
                              if s.type is ScanType.DISPATCHED and s.tracking_no in self.packets})
        self.sheets: dict[int, list[Manifest]] = {}
        if dispatching:
            for manifest, packet_id in session.execute(
                    select(Manifest, ManifestItem.packet_id).join(ManifestItem, ManifestItem.manifest_id == Manifest.id)
                    .where(ManifestItem.packet_id.in_(dispatching), Manifest.handed_over_at.is_(None),
                           Manifest.cancelled_at.is_(None)).order_by(Manifest.id)):
                self.sheets.setdefault(packet_id, []).append(manifest)
        receiving = sorted({self.packets[s.tracking_no].case_id for s in scans
                            if s.type is ScanType.RECEIVED and s.tracking_no in self.packets})
        self.with_files = set(session.exec(select(CaseFile.case_id).where(
            CaseFile.case_id.in_(receiving), CaseFile.removed_at.is_(None)))) if receiving else set()
        self.by_case: dict[int, list[Packet]] = {}
        for packet in self.packets.values():
            self.by_case.setdefault(packet.case_id, []).append(packet)
        # what a promise reads of the cases' other packets, which no scan of the batch changes
        self.others: dict[int, list] = {}
        for start in range(0, len(case_ids), 500):
            for row in rows.execute(select(*PACKET_FIELDS).where(
                    Packet.case_id.in_(case_ids[start:start + 500]), Packet.id.not_in(ids)).order_by(Packet.id)):
                self.others.setdefault(row.case_id, []).append(row)
        self.basis = PromiseBasis(session, env.settings)
        self.plans: dict = {}
        self.derived: list[int] = []
        self.pending: dict[int, Case] = {}
        self.events: list[dict] = []  # the PacketEvent rows, inserted together by write()
        self.count = 0

    def packet(self, number: str) -> Packet | None:
        return self.packets.get(number)

    def recorded(self, event_id: str) -> bool:
        return event_id in self.stored

    def history(self, packet: Packet) -> list:
        return list(self.histories[packet.id])

    def _open_sheets(self, packet: Packet) -> list[Manifest]:
        return [m for m in self.sheets.get(packet.id, ()) if m.handed_over_at is None and m.cancelled_at is None]

    def on_sheet_to(self, packet: Packet) -> str | None:
        sheets = self._open_sheets(packet)
        kind, _, name = (sheets[0].to_party if sheets else "").partition(":")
        return name if kind == "courier" else None

    def added(self, packet: Packet, event: dict) -> None:
        self.wrote = True
        self.count += 1
        self.events.append(event)
        self.stored.add(event["event_id"])
        self.histories.setdefault(packet.id, []).append(
            _Held(_AFTER + self.count, event["type"], event["at"], event["actor"], event["role"],
                  event["office_code"], event["reason"]))

    def may_have_files(self, case: Case) -> bool:
        """Whether a receipt of this case's materials must be compared with its files (paper_arrived): only a
        case with files or awaiting originals; the others are left alone without a query each."""
        return case.id in self.with_files or case_files.awaiting_originals(case) is not None

    def written(self, packet: Packet, scan: Scan) -> None:
        if scan.type is ScanType.DISPATCHED:  # as manifests.close_on_dispatch, on the sheets loaded
            for manifest in self._open_sheets(packet):
                manifest.handed_over_at = scan.at
                self.session.add(manifest)

    def case(self, packet: Packet) -> Case:
        case = self.cases.get(packet.case_id) or self.session.get(Case, packet.case_id)
        if self.pending.pop(case.id, None) is not None:  # what this scan reads is up to date
            recompute_due_date(self.session, case, self.env.settings, packets=self.case_packets(case.id),
                               basis=self.basis)
        return case

    def done(self, case: Case) -> None:
        self.pending[case.id] = case

    def reschedule(self, packet: Packet, directory, day) -> None:
        """As mailing.packets.reschedule, planned once for the batch's packets that share stops and day."""
        key = (tuple(item["office_code"] for item in packet.route), packet.to_office is None, day)
        if key not in self.plans:
            reschedule(self.session, self.env.settings, directory, packet, day)
            self.plans[key] = ([dict(item) for item in packet.route], packet.expected_arrival)
            return
        route, arrival = self.plans[key]
        packet.route, packet.expected_arrival = [dict(item) for item in route], arrival

    def finish(self) -> None:
        """Each case a scan moved: its promise, once, from its packets loaded with one query."""
        cases = list(self.pending.values())
        self.pending = {}
        deriver = stage_store.Deriver(self.session, self.env.settings)
        with self.session.no_autoflush:  # each promise's update waits for one flush of them all
            for case in cases:
                packets = self.case_packets(case.id)
                recompute_due_date(self.session, case, self.env.settings, packets=packets, basis=self.basis)
                # the stored stage deadlines go with the same UPDATE (stage_store.derived, after it)
                for column, value in deriver.values(case, packets).items():
                    if getattr(case, column) != value:
                        setattr(case, column, value)
        self.derived = [case.id for case in cases]

    def case_packets(self, case_id: int) -> list:
        """The case's packets in id order: this batch's (as they stand now) and its others' columns."""
        return sorted([*self.by_case.get(case_id, ()), *self.others.get(case_id, ())], key=lambda p: p.id)

    def write(self) -> None:
        """The batch's changed packets and cases (the unit of work's flush), then its custody events, case events
        and notifications, an executemany each."""
        bulk = self.session.info[BULK]
        self.session.flush()  # the packets' and cases' changes first, as the unit of work would
        insert_rows(self.session, PacketEvent.__table__, self.events)  # a duplicate event id fails here
        bulk.write(self.session)
        stage_store.derived(self.session, self.derived)
        bulk.inserted(self.session, PacketEvent, self.events)


def _record_one(session: Session, env: Env, actor: Actor, scan: Scan, directory, *, checked: bool = True,
                source: _OneByOne | _Batch | None = None) -> Outcome:
    """One scan of one packet. `checked=False` only for the events a sheet's count records, which are the
    receiving party's by the sheet's own rule (confirm_manifest_receipt). `source` is what it reads: a
    batch's rows loaded once (_Batch), or each looked up on its own."""
    source = source or _OneByOne(session, env)
    packet = source.packet(scan.tracking_no)
    if packet is None:
        raise rule("unknown_packet", "系统中没有这个邮件号。", "tracking_no")
    # looked up once the packet is locked: a request that sent the same scan at the same moment has
    # committed by now (what slips through meets the unique constraint)
    if source.recorded(scan.event_id):
        return Outcome(status="duplicate")
    history = source.history(packet)
    if checked:
        _may_record(session, actor, scan, packet, history, source)
    if packet.status == PacketStatus.CANCELLED.value:
        raise conflict(message="该邮件已作废（办件撤回时尚未寄出），不能再扫描。")
    # the new scan takes its place by time; the whole history must still make sense
    ordered = sorted([(clock.beijing(e.at), e.id, e.type, e.reason) for e in history] +
                     [(scan.at, float("inf"), scan.type.value, scan.reason)], key=lambda t: t[:2])
    latest = ordered[-1][1] == float("inf")
    try:
        status = replay([(ScanType(t), r) for _, _, t, r in ordered], to_office=packet.to_office is not None)
    except InvalidTransition as e:
        raise conflict(message=f"扫描顺序不符：邮件状态为“{PacketStatus(e.current).title}”时不能记录“{SCAN_TITLES.get(e.action, '该扫描')}”。"
                       if latest else "该扫描时间早于已有记录，放入历史后顺序不符，请核对扫描时间。") from None
    note = scan.note or (scan.signer.words() if scan.signer is not None else "")
    _add_event(session, packet, event_id=scan.event_id, type_=scan.type, status=status, at=scan.at,
               actor=actor, office_code=scan.office_code, note=note, reason=scan.reason,
               contents=scan.contents_data())
    packet.status = status.value
    if latest:
        packet.last_event_at = scan.at
    if scan.type is ScanType.DISPATCHED and packet.dispatched_at is None:
        packet.dispatched_at = scan.at
        source.reschedule(packet, directory, clock.beijing_date(scan.at))
    if scan.type in (ScanType.DELIVERED, ScanType.RECEIVED) and packet.arrived_at is None:
        packet.arrived_at = scan.at
    source.written(packet, scan)
    case = source.case(packet)
    if scan.type is ScanType.DISPATCHED and packet.to_office and not any(
            e.type == ScanType.DISPATCHED.value for e in history):
        _tell_addressee(session, directory, case, packet)
    kind = served_kind(session, packet)
    _follow_route(session, env, directory, case, packet, scan, history, latest)
    _apply_to_case(session, env, directory, actor, case, packet, kind, scan, source)
    source.done(case)
    return Outcome(status="recorded", tracking_no=packet.tracking_no, packet_status=packet.status)


def record_trusted_scan(session: Session, env: Env, actor: Actor, scan: Scan, directory) -> Outcome:
    """A scan the service itself vouches for, recorded without WHO_MAY_SCAN: a carrier's event from its
    own network (tracking.commands.carriers), the sweep's notice of a silent carrier. The packet machine,
    the route and the effects on the case apply as to any scan."""
    return _record_one(session, env, actor, scan, directory, checked=False)


def _record_manifest(session: Session, env: Env, actor: Actor, scan: Scan, directory) -> ScanResult:
    """A sheet's barcode scanned: the same scan for every packet on it. A packet that cannot take it
    (say, cancelled since the sheet was printed) is reported and leaves the rest alone."""
    manifest = lock_manifest(session, scan.manifest_no)
    if manifest is None:
        raise rule("unknown_manifest", "系统中没有这个交接清单号。", "manifest_no")
    # looked up once the sheet is locked, as a packet's scan is
    if session.exec(select(ManifestEvent.id).where(ManifestEvent.event_id == scan.event_id)).first():
        return ScanResult(event_id=scan.event_id, status="duplicate")
    manifests.check_sheet_scan(session, actor, manifest, scan.type)
    lines = []
    for packet in lookups.manifest_packets(session, manifest):
        one = scan.model_copy(update={"manifest_no": None, "tracking_no": packet.tracking_no,
                                      "event_id": derived_event_id(scan.event_id, packet.tracking_no),
                                      "note": scan.note or f"交接清单{manifest.manifest_no}"})
        try:
            with session.begin_nested():
                outcome = _record_one(session, env, actor, one, directory)
        except Refused as e:
            outcome = Outcome(status="rejected", error=e)
        lines.append(replace(outcome, tracking_no=packet.tracking_no))
    if not any(line.status == "recorded" for line in lines):
        # nothing was written: the sheet is not handed over, and each packet says why
        return ScanResult(event_id=scan.event_id, status="rejected", packets=tuple(lines),
                          error=conflict("manifest_not_applied", "清单上的邮件均不能记录此次扫描，请逐件核对。"))
    session.add(ManifestEvent(event_id=scan.event_id, manifest_id=manifest.id, type=scan.type.value, at=scan.at,
                              recorded_at=clock.now(), actor=actor.username, role=actor.role,
                              office_code=scan.office_code,
                              data={"packets": [{"tracking_no": x.tracking_no, "status": x.status} for x in lines]}))
    if scan.type is ScanType.DISPATCHED and manifest.handed_over_at is None:
        manifest.handed_over_at = scan.at
        session.add(manifest)
    session.flush()
    return ScanResult(event_id=scan.event_id, status="recorded", manifest_no=manifest.manifest_no,
                      packets=tuple(lines))


def _record(session: Session, env: Env, actor: Actor, scan: Scan, directory) -> ScanResult:
    if scan.manifest_no:
        return _record_manifest(session, env, actor, scan, directory)
    outcome = _record_one(session, env, actor, scan, directory)
    return ScanResult(event_id=scan.event_id, status=outcome.status, tracking_no=outcome.tracking_no,
                      packet_status=outcome.packet_status)


def record_scans(session: Session, env: Env, actor: Actor, batch: ScanBatch) -> list[ScanResult]:
    """Applies a scanner's batch in the order of `at`; one result per scan, in the order given. A refused
    scan leaves the others alone, and the caller commits the rest.

    A batch of packet scans is applied as one: its rows read with a few queries (_Batch), refusals found
    before anything is written, the rows written together. Should a scan be refused after writing (the
    contents check), or an event id meet the unique constraint (a concurrent request), or the batch scan a
    sheet, it is applied scan by scan instead, each in a savepoint, with the same answers."""
    if actor.role not in SCANNING_ROLES:
        raise forbidden("只有窗口、办理和寄递人员可以扫描。")
    directory = load_directory(session)
    results: list[ScanResult | None] = [None] * len(batch.scans)
    ready = []
    for i, scan in enumerate(batch.scans):
        if isinstance(scan, Unreadable):
            results[i] = ScanResult(event_id=scan.event_id, status="rejected", error=scan.error)
            continue
        try:
            ready.append((i, _as_scanned_by(scan, actor, directory)))
        except Refused as e:
            results[i] = ScanResult(event_id=scan.event_id, status="rejected", error=e)
    seen: set[str] = set()
    ordered = []
    for i, scan in sorted(ready, key=lambda item: (item[1].at, item[0])):
        if scan.event_id in seen:
            results[i] = ScanResult(event_id=scan.event_id, status="duplicate")
        else:
            seen.add(scan.event_id)
            ordered.append((i, scan))
    if ordered and not any(scan.manifest_no for _, scan in ordered):
        try:
            with session.begin_nested(), _no_collection():
                results = _as_one(session, env, actor, directory, ordered, results)
            return results
        except (_Written, IntegrityError):
            pass  # rolled back: scan by scan below, where each refusal stays with its scan
    for i, scan in ordered:
        try:
            with session.begin_nested():
                results[i] = _record(session, env, actor, scan, directory)
        except Refused as e:
            results[i] = ScanResult(event_id=scan.event_id, status="rejected", error=e)
        except IntegrityError:  # the same event_id recorded by a concurrent request
            results[i] = ScanResult(event_id=scan.event_id, status="duplicate")
    return results


@contextmanager
def _no_collection():
    """The cyclic garbage collector paused while a batch builds its rows: the thousands of objects a batch
    holds alive would otherwise set off full collections over the whole heap, about a quarter of its time
    (bench.scans). What the batch leaves behind is collected afterwards, as usual; another thread's pause
    that ends meanwhile may turn it on early, which costs only that time again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _as_one(session: Session, env: Env, actor: Actor, directory, ordered: list[tuple[int, Scan]],
            results: list[ScanResult | None]) -> list[ScanResult | None]:
    """The batch's packet scans on rows loaded once; raises _Written (or IntegrityError) for the slow path."""
    results = list(results)
    loaded = _Batch(session, env, [scan for _, scan in ordered])
    session.info[_BATCH], session.info[BULK] = loaded, Bulk()
    try:
        for i, scan in ordered:
            loaded.wrote = False
            try:
                outcome = _record_one(session, env, actor, scan, directory, source=loaded)
            except Refused as e:
                if loaded.wrote:
                    raise _Written from e
                results[i] = ScanResult(event_id=scan.event_id, status="rejected", error=e)
                continue
            results[i] = ScanResult(event_id=scan.event_id, status=outcome.status, tracking_no=outcome.tracking_no,
                                    packet_status=outcome.packet_status)
        loaded.finish()
        loaded.write()
    finally:
        session.info.pop(_BATCH, None)
        session.info.pop(BULK, None)
    return results


# -- the receiving party's count of a sheet --------------------------------------------------------

def _receiver(actor: Actor, manifest: Manifest, office: str | None) -> str | None:
    """The receiving party confirms: staff of the office a sheet went to, or the courier it went to."""
    kind, _, key = manifest.to_party.partition(":")
    if kind == "office":
        if actor.office_code != key:
            raise forbidden("只有接收机构的工作人员可以确认该清单。")
        if office and office != key:
            raise rule("wrong_office", "确认地点与清单的接收机构不符。", "office_code")
        return key
    if actor.username != key:
        raise forbidden("只有清单上的寄递人员可以确认该清单。")
    return office or actor.office_code


def _arrival(actor: Actor, office: str | None, post, packet: Packet) -> ScanType | None:
    """How a counted packet arrives: signed for by its addressee office, or arrived at a hub."""
    if post is None:
        return None
    if office == packet.to_office and actor.role in ("clerk", "officer"):
        return ScanType.RECEIVED
    return ScanType.ARRIVED_HUB if post.kind == "hub" else None


def _count_scan(session: Session, env: Env, actor: Actor, directory, manifest: Manifest, packet: Packet,
                type_: ScanType, at: datetime, office: str | None, reason: str | None = None,
                note: str = "") -> None:
    """A custody event the count records for a packet. Built by the service, not read from a scanner:
    its reasons include the count's own (missing_from_manifest, not_on_manifest)."""
    scan = Scan.model_construct(event_id=derived_event_id(f"receipt:{manifest.manifest_no}", packet.tracking_no),
                                type=type_, tracking_no=packet.tracking_no, manifest_no=None, at=at,
                                office_code=office, note=note, reason=reason, contents=None)
    try:
        with session.begin_nested():
            _record_one(session, env, actor, scan, directory, checked=False)
    except Refused:
        pass  # the packet's own history already says where it is (received, lost, cancelled)


def confirm_manifest_receipt(session: Session, env: Env, actor: Actor, manifest_no: str,
                             count: ManifestCount) -> ManifestCounted:
    """The receiving party's count: the packets scanned on arrival against the sheet. Packets here
    arrive (signed for by their addressee office, or arrived at a hub); a packet on the sheet but not
    here, or here but not on the sheet, becomes an exception event with its reason."""
    manifest = lock_manifest(session, manifest_no)
    if manifest is None:
        raise not_found("未找到该交接清单。")
    office = _receiver(actor, manifest, count.office_code)
    if manifest.cancelled_at is not None:
        raise conflict("manifest_cancelled", "该交接清单已作废。")
    if manifest.handed_over_at is None:
        raise conflict("not_handed_over", "该交接清单尚未交接（未扫描交寄），不能确认接收。")
    if manifest.confirmed_at is not None:
        raise conflict("already_confirmed", "该交接清单已确认接收。")
    here = count.tracking_nos
    sheet = lookups.manifest_packets(session, manifest)
    on_sheet = {p.tracking_no for p in sheet}
    # a packet that never left (cancelled with its case before the sheet was scanned) is not expected
    stayed = [p for p in sheet if p.status in (PacketStatus.CREATED.value, PacketStatus.CANCELLED.value)]
    listed = [p for p in sheet if p not in stayed]
    received = [p for p in listed if p.tracking_no in here]
    missing = [p for p in listed if p.tracking_no not in here]
    extra_nos = [n for n in here if n not in on_sheet]
    extra = {p.tracking_no: p for p in session.exec(select(Packet).where(Packet.tracking_no.in_(extra_nos)))}
    directory, now = load_directory(session), clock.now()
    for packet in received:
        arrival = _arrival(actor, office, directory.post(office), packet)
        if arrival is not None:
            _count_scan(session, env, actor, directory, manifest, packet, arrival, now, office)
    for packet in missing:
        _count_scan(session, env, actor, directory, manifest, packet, ScanType.EXCEPTION, now, office,
                    "missing_from_manifest", f"交接清单{manifest.manifest_no}上有此件，接收时未见实物。")
    for number in extra_nos:
        if number in extra:
            _count_scan(session, env, actor, directory, manifest, extra[number], ScanType.EXCEPTION, now, office,
                        "not_on_manifest", f"随交接清单{manifest.manifest_no}到达，但不在清单上。")
    counted = ManifestCounted(manifest_no=manifest.manifest_no, received=len(received),
                              missing=[p.tracking_no for p in missing], extra=extra_nos,
                              unknown=[n for n in extra_nos if n not in extra],
                              not_sent=[p.tracking_no for p in stayed])
    manifest.confirmed_at = now
    session.add(manifest)
    session.add(ManifestEvent(event_id=f"receipt:{manifest.manifest_no}", manifest_id=manifest.id, type="receipt",
                              at=now, recorded_at=now, actor=actor.username, role=actor.role, office_code=office,
                              data={k: v for k, v in asdict(counted).items() if k != "manifest_no"}))
    session.flush()
    return counted
