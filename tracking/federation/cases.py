"""Cross-province cases kept in step between the two nodes that hold them (docs/federation.md §6).

A case collected here for an office in a peer's divisions is handed over to that peer
(`case.handed_over`, the first message of the case); from then on every transaction that records
events of the case (its own events or its packets' custody scans), on either node, sends them to the
other node in one `case.events` message with the case's and its packets' state after the change. The
receiver copies them as they are, without running the use cases again: both nodes show the same timeline.

A 多地联办 case (tracking.commands.steps) is shared by the nodes of its collecting office and of every
step office: each message goes to each of them, and carries the steps as they stand and the files a step
produced in the transaction, so that the next step's office at another node reads them as its own.

The use cases know nothing of this: the events are picked up as they are flushed and told at commit,
so the message joins the change's transaction (an engine's node is set by `configure`, one per app, so
two installations may share one process in tests). What a node applies from a peer it does not tell back.
"""
from __future__ import annotations

import base64
import hashlib
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, Literal, Optional, get_args

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import column, event, inspect as sa_inspect, select as sa_select, table as sa_table
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from config import clock
from mailing.chain import link
from mailing.numbers import next_value
from mailing.tables import Packet, PacketEvent
from routing.reference import directory as load_directory
from tracking.federation import envelope
from tracking.federation.envelope import Envelope, NodeKeys
from tracking.federation.inbox import Context, handles, not_a_party
from tracking.federation.outbox import enqueue
from tracking.federation.peers import active_peer, node_of_division
from tracking.files import vault
from tracking.files.storage import storage_for
from tracking.model import nodes, records
from tracking.model.errors import conflict, rule
from tracking.model.messages import tell
from tracking.model.sealing import Sealer, check_code_hash
from tracking.model.states import STEP_STATUS_TITLES
from tracking.model.tables import Case, CaseEvent, CaseFile, CaseStep, Evaluation

HANDED_OVER = "case.handed_over"
EVENTS = "case.events"

# personal (travels sealed) or this node's own (hashes, keys): never in the case's plain state
_CASE_OWN = {"id", "last_hash", "applicant_sealed", "applicant_masked", "id_hash", "phone_hash",
             "check_code_sealed", "check_code_hash", "result_address_sealed", "subject", "note", "email_sealed"}
CASE_FIELDS = tuple(name for name in Case.model_fields if name not in _CASE_OWN)
# fixed at intake: a later message may not change them
_CASE_FIXED = {"case_no", "matter_code", "collecting_office", "owning_office", "applicant_kind", "created_by",
               "created_at", "intake_date", "step_offices"}
# 多地联办: a step as it stands, and a step's file as kept (its bytes travel sealed)
STEP_FIELDS = tuple(name for name in CaseStep.model_fields if name not in ("id", "case_id"))
FILE_FIELDS = ("material_code", "filename", "content_type", "pages", "size", "sha256", "uploaded_by", "office_code",
               "uploaded_at")
EVALUATION_FIELDS = tuple(name for name in Evaluation.model_fields if name not in ("id", "case_id"))
PACKET_FIELDS = ("tracking_no", "kind", "status", "from_office", "to_office", "to_division", "contents", "route",
                 "expected_arrival", "created_at", "dispatched_at", "arrived_at", "failed_attempts", "last_event_at")
# the stages each side owns: a case event of one of these types comes from that side's node only
# (a follow-up is the office's the rating is routed to, the window or the owning office: the office check says)
OWNING_STAGES = {"accepted", "supplement_requested", "rejected", "decided", "extended", "contents_checked"}
COLLECTING_STAGES = {"collected", "supplement_collected", "withdrawn"}


# -- the messages' bodies ----------------------------------------------------------------------------

class MirroredEvent(BaseModel):
    """One event as recorded by the sending node: of the case (`kind` case) or of one of its packets."""
    model_config = ConfigDict(extra="forbid")
    kind: Literal["case", "packet"]
    type: str = Field(max_length=64, description="The event's type, e.g. accepted, dispatched")
    status_after: str = Field(max_length=32, description="The case's (or packet's) status after it")
    at: str = Field(description="When it happened, ISO 8601 with offset")
    recorded_at: str = Field(description="When the sending node recorded it (orders a timeline)")
    actor: str = Field(max_length=100, description="Who recorded it: a user name at the sending node")
    actor_name: str = Field("", max_length=100, description="That person's name as staff read it")
    role: str = Field(max_length=16)
    office_code: Optional[str] = Field(None, max_length=24, description="Where: an office of the sending node")
    client_txn: Optional[str] = Field(None, max_length=200)
    data_sealed: Optional[str] = Field(None, description="case: the event's data (JSON), sealed (§4)")
    tracking_no: Optional[str] = Field(None, max_length=13, description="packet: which packet")
    event_id: Optional[str] = Field(None, max_length=64, description="packet: the scan's id (unique)")
    note_sealed: Optional[str] = Field(None, description="packet: the scan's note, sealed (§4)")
    reason: Optional[str] = Field(None, max_length=32, description="packet: an exception's reason")
    contents: Optional[list] = Field(None, description="packet: a receipt's check of the materials")


class MirroredFile(BaseModel):
    """多地联办: a file a step produced (a CaseFile of purpose `step`), its bytes sealed for the receiver."""
    model_config = ConfigDict(extra="forbid")
    material_code: str = Field(max_length=100, description="STEP.OUTPUT, e.g. approve.move_permit")
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=64)
    pages: int = Field(1, ge=1)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the file's bytes: the receiver checks it")
    uploaded_by: str = Field(max_length=100)
    office_code: str = Field(max_length=24, description="The step's office: an office of the sending node")
    uploaded_at: str = Field(description="ISO 8601 with offset")
    data_sealed: str = Field(description='Sealed JSON (§4): {"data": Base64 bytes, "thumbnail": Base64 PNG or null}')


class EventsBody(BaseModel):
    """case.events: what one transaction recorded about the case at the sending node."""
    model_config = ConfigDict(extra="forbid", title="case.events body")
    case: dict[str, Any] = Field(description="The case's state after the change, without personal data")
    packets: list[dict[str, Any]] = Field(description="Every packet of the case, as it stands")
    events: list[MirroredEvent] = Field(min_length=1, description="The events, in the order recorded")
    steps: list[dict[str, Any]] = Field(default_factory=list, max_length=20,
                                        description="多地联办: every step of the case as it stands (empty: none)")
    files: list[MirroredFile] = Field(default_factory=list, max_length=20,
                                      description="多地联办: the files steps produced in this change (hand-over: all)")
    evaluation_sealed: Optional[str] = Field(None, description="The applicant's rating and its follow-up as they "
                                                               "stand (sealed JSON, §4), once rated")


class HandedOverBody(EventsBody):
    """case.handed_over: a case collected by the sender for an office of the receiver, with everything
    recorded so far. Personal data only sealed; the check code only as its slow hash."""
    model_config = ConfigDict(extra="forbid", title="case.handed_over body")
    personal_sealed: str = Field(description="Sealed JSON: applicant (with agent), applicant_masked, "
                                             "result_address, subject, note")
    check_code_hash: str = Field(pattern=r"^[0-9a-f]{64}$",
                                 description="hex scrypt(code, salt=case_no, N=2^14, r=8, p=1, 32 bytes)")


# -- which engine is which node ----------------------------------------------------------------------

@dataclass
class _Node:
    settings: Any
    addresses: Any
    keys: NodeKeys = field(init=False)

    def __post_init__(self):
        self.keys = NodeKeys.from_settings(self.settings)

    @cached_property
    def sealer(self) -> Sealer:
        return Sealer(self.settings.data_key)

    @cached_property
    def storage(self):
        return storage_for(self.settings)


_NODES: "weakref.WeakKeyDictionary[Any, _Node]" = weakref.WeakKeyDictionary()
_PENDING, _APPLYING = "federation_pending_events", "federation_applying"
_INSERTED = "federation_inserted_events"  # events built from records.INSERTED_EVENTS
_FILES = "federation_pending_files"  # 多地联办: files steps produced in the transaction
records.mirrored = True


def configure(settings, engine, addresses) -> None:
    """Mirrors the cross-province cases recorded through `engine` under these settings (a node's app
    factory calls it); an installation that is not a node mirrors nothing."""
    if settings.node:
        _NODES[engine] = _Node(settings, addresses)
        nodes.register(engine, lambda session, office: _answers_for(session, settings, office))
    else:
        _NODES.pop(engine, None)
        nodes.register(engine, None)


def _answers_for(session: Session, settings, office: str) -> bool:
    """This node's office, or one outside every peer's divisions (the sweep acts on its stages)."""
    division = _division(session, office)
    return division is None or node_of_division(session, settings, division) == settings.node


@event.listens_for(OrmSession, "before_flush")
def _collect(session, _context, _instances) -> None:
    _take_inserted(session)
    if not _NODES or session.info.get(_APPLYING):
        return
    new = [o for o in session.new if isinstance(o, (CaseEvent, PacketEvent))]
    if new:
        session.info.setdefault(_PENDING, []).extend(new)
    files = [o for o in session.new if isinstance(o, CaseFile) and o.purpose == "step"]
    if files:
        session.info.setdefault(_FILES, []).extend(files)


def _take_inserted(session) -> None:
    """A scanner's batch writes its custody events with one insert, past the unit of work: they are
    listed in session.info (records.INSERTED_EVENTS) and mirrored as the session's new events are."""
    inserted = session.info.pop(records.INSERTED_EVENTS, None)
    if inserted and _NODES and not session.info.get(_APPLYING):
        session.info.setdefault(_INSERTED, []).extend(model(**values) for model, values in inserted)


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_INSERTED, None)
        session.info.pop(_FILES, None)
        session.info.pop(records.INSERTED_EVENTS, None)


def _still_stored(session, rows: list) -> list:
    """The events inserted past the unit of work that no savepoint's rollback took away since."""
    ids = [r.event_id for r in rows if isinstance(r, PacketEvent)]
    stored = {e for start in range(0, len(ids), 500) for e in session.execute(
        sa_select(PacketEvent.event_id).where(PacketEvent.event_id.in_(ids[start:start + 500]))).scalars()}
    cases = sorted({r.case_id for r in rows if isinstance(r, CaseEvent)})
    hashes = {h for start in range(0, len(cases), 500) for h in session.execute(
        sa_select(CaseEvent.hash).where(CaseEvent.case_id.in_(cases[start:start + 500]))).scalars()}
    return [r for r in rows if (r.event_id in stored if isinstance(r, PacketEvent) else r.hash in hashes)]


@event.listens_for(OrmSession, "before_commit")
def _tell(session) -> None:
    _take_inserted(session)  # events inserted since the last flush
    pending = session.info.pop(_PENDING, None)
    inserted = session.info.pop(_INSERTED, None)
    files = session.info.pop(_FILES, None)
    if not pending and not inserted:
        return
    node = _NODES.get(session.get_bind())
    if node is None:
        return
    by_case: dict[int, list] = {}
    for row in pending or ():
        if not sa_inspect(row).persistent:  # rolled back with its savepoint (a refused scan)
            continue
        case_id = row.case_id if isinstance(row, CaseEvent) else session.get(Packet, row.packet_id).case_id
        by_case.setdefault(case_id, []).append(row)
    for row in _still_stored(session, inserted) if inserted else ():
        case_id = row.case_id if isinstance(row, CaseEvent) else session.get(Packet, row.packet_id).case_id
        by_case.setdefault(case_id, []).append(row)
    made: dict[int, list] = {}
    for row in files or ():
        if sa_inspect(row).persistent:
            made.setdefault(row.case_id, []).append(row)
    for case_id, rows in by_case.items():
        case = session.get(Case, case_id)
        for peer_id in peers_of(session, node.settings, case):
            tell_peer(session, node, case, rows, peer_id, made.get(case_id, []))


# -- sending -----------------------------------------------------------------------------------------

def parties(session: Session, settings, case_like) -> tuple[str, str]:
    """The nodes of the collecting and the owning office."""
    directory = load_directory(session)
    posts = [directory.post(code) for code in (case_like.collecting_office, case_like.owning_office)]
    return tuple(node_of_division(session, settings, post.division_code) if post else "" for post in posts)


def step_nodes(session: Session, settings, case_like) -> set[str]:
    """多地联办: the nodes of the case's step offices (none for a case without steps)."""
    return {_node_of(session, settings, office) for office in (case_like.step_offices or ())} - {""}


def _node_of(session: Session, settings, office: str | None) -> str:
    division = _division(session, office)
    return node_of_division(session, settings, division) if division else ""


def peers_of(session: Session, settings, case_like) -> list[str]:
    """The other nodes that hold the case: those of its collecting and owning offices and of its step
    offices; none when this node is not one of them."""
    nodes_ = {*parties(session, settings, case_like), *step_nodes(session, settings, case_like)} - {""}
    if settings.node not in nodes_:
        return []
    return sorted(nodes_ - {settings.node})


def tell_peer(session: Session, node: _Node, case: Case, rows: list, peer_id: str, files: list) -> None:
    settings = node.settings
    collecting, _owning = parties(session, settings, case)
    peer = active_peer(session, peer_id)
    if peer is None:
        return
    seq = next_value(session, f"fed:{peer_id}:{case.case_no}")
    body = {"case": _state(case, CASE_FIELDS), "packets": _packets(session, node, peer, case)}
    rating = session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first()
    if rating is not None:  # the rater's words and the return visit's answer are the applicant's: sealed
        body["evaluation_sealed"] = envelope.seal_json(peer.sealing_key, _state(rating, EVALUATION_FIELDS))
    if seq == 1 and settings.node == collecting:
        type_ = HANDED_OVER
        rows = _history(session, case)
        files = list(session.exec(select(CaseFile).where(CaseFile.case_id == case.id, CaseFile.purpose == "step",
                                                         CaseFile.removed_at.is_(None)).order_by(CaseFile.id)))
        applicant = node.sealer.open(case.applicant_sealed)
        body |= {"personal_sealed": envelope.seal_json(peer.sealing_key, {
            "applicant": applicant, "applicant_masked": case.applicant_masked,
            "result_address": node.sealer.open(case.result_address_sealed), "subject": case.subject,
            "note": case.note}),
            "check_code_hash": check_code_hash(node.sealer.open(case.check_code_sealed), case.case_no)}
    else:
        type_ = EVENTS
    body["events"] = _events(session, peer, rows)
    if case.step_offices:
        body["steps"] = [_state(row, STEP_FIELDS) for row in session.exec(
            select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.seq))]
        body["files"] = [_file(node, peer, f) for f in files]
    message = envelope.build(node.keys, to=peer_id, type=type_, body=body, case_ref=case.case_no, seq=seq)
    enqueue(session, destination_kind="peer", destination=peer_id, url=node.addresses.peer_inbox(peer.base_url),
            message_id=message["message_id"], type=type_, payload=message)


def _plain(value):
    if isinstance(value, datetime):
        return clock.beijing(value).isoformat()  # to the microsecond: it orders timelines
    if isinstance(value, date):
        return value.isoformat()
    return value


def _state(row, fields) -> dict:
    return {name: _plain(getattr(row, name)) for name in fields}


def _packets(session: Session, node: _Node, peer, case: Case) -> list[dict]:
    rows = list(session.exec(select(Packet).where(Packet.case_id == case.id).order_by(Packet.id)))
    numbers = {p.id: p.tracking_no for p in rows}
    out = []
    for p in rows:
        person = node.sealer.open(p.to_person_sealed) if p.to_person_sealed else None
        out.append({**_state(p, PACKET_FIELDS), "replaces": numbers.get(p.replaces_id),
                    "to_person_sealed": envelope.seal_json(peer.sealing_key, person) if person else None})
    return out


def _file(node: _Node, peer, stored: CaseFile) -> dict:
    """A step's file for the peer: its row, and its bytes (and thumbnail) sealed for the peer alone."""
    data = vault.fetch(node.storage, node.sealer, stored.storage_key)
    thumbnail = vault.fetch(node.storage, node.sealer, stored.thumbnail_key) if stored.thumbnail_key else None
    sealed = envelope.seal_json(peer.sealing_key, {
        "data": base64.b64encode(data).decode(),
        "thumbnail": base64.b64encode(thumbnail).decode() if thumbnail else None})
    return {**_state(stored, FILE_FIELDS), "data_sealed": sealed}


def _history(session: Session, case: Case) -> list:
    """Everything recorded of the case so far: what the handover carries."""
    events = list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)))
    packets = select(Packet.id).where(Packet.case_id == case.id)
    return events + list(session.exec(select(PacketEvent).where(PacketEvent.packet_id.in_(packets))))


_USERS = sa_table("user", column("username"), column("name"))


def _events(session: Session, peer, rows: list) -> list[dict]:
    rows = sorted(rows, key=lambda r: (r.recorded_at, isinstance(r, PacketEvent), r.id or 0))
    names = dict(session.execute(sa_select(_USERS.c.username, _USERS.c.name)
                                 .where(_USERS.c.username.in_({r.actor for r in rows}))).all())
    packets = {}
    out = []
    for r in rows:
        item = {"type": r.type, "status_after": r.status_after, "at": _plain(r.at), "recorded_at": _plain(r.recorded_at),
                "actor": r.actor, "actor_name": names.get(r.actor) or "", "role": r.role,
                "office_code": r.office_code, "client_txn": r.client_txn}
        if isinstance(r, CaseEvent):
            item |= {"kind": "case", "data_sealed": envelope.seal_json(peer.sealing_key, r.data or {})}
        else:
            if r.packet_id not in packets:
                packets[r.packet_id] = session.get(Packet, r.packet_id).tracking_no
            item |= {"kind": "packet", "tracking_no": packets[r.packet_id], "event_id": r.event_id,
                     "note_sealed": envelope.seal_json(peer.sealing_key, r.note) if r.note else None,
                     "reason": r.reason, "contents": r.contents}
        out.append(item)
    return out


# -- receiving ---------------------------------------------------------------------------------------

def _typed(model, name: str, value):
    """A value of the state as the column holds it (dates and times travel as ISO text)."""
    if value is None or not isinstance(value, str):
        return value
    args = get_args(model.model_fields[name].annotation) or (model.model_fields[name].annotation,)
    if datetime in args:
        return datetime.fromisoformat(value)
    if date in args:
        return date.fromisoformat(value)
    return value


def _division(session: Session, office: str | None) -> str | None:
    post = load_directory(session).post(office)
    return post.division_code if post else None


def _check_events(ctx: Context, message: Envelope, owning_nodes: set[str], collecting_node: str,
                  step_offices: list | None = None) -> None:
    """A node speaks only for its own part: events at its own offices, its own side's stages, packets
    sent from its own offices. 多地联办: the owning side is every step office's node; a step that the
    sender's step unblocked starts at the next step's office (`step_started`, at one of the case's step
    offices); the steps stay at the case's step offices, and a step's file comes from the sender's offices."""
    session, settings = ctx.session, ctx.settings
    body = message.body
    steps = step_offices or ()
    for item in body.get("events", []):
        office = item.get("office_code")
        if office and not (item.get("kind") == "case" and item.get("type") == "step_started" and office in steps):
            division = _division(session, office)
            if division is None or node_of_division(session, settings, division) != message.node:
                raise not_a_party(message, f"节点 {message.node} 不能记录 {office} 的事项。")
        if item.get("kind") == "case":
            if item.get("type") in OWNING_STAGES and message.node not in owning_nodes:
                raise not_a_party(message, f"“{item.get('type')}”是办理方的环节，节点 {message.node} 不是办理方。")
            if item.get("type") in COLLECTING_STAGES and message.node != collecting_node:
                raise not_a_party(message, f"“{item.get('type')}”是收件方的环节，节点 {message.node} 不是收件方。")
    known = set(session.exec(select(Packet.tracking_no).where(
        Packet.tracking_no.in_([p.get("tracking_no") for p in body.get("packets", [])]))))
    for packet in body.get("packets", []):
        if packet.get("tracking_no") in known:
            continue
        division = _division(session, packet.get("from_office"))
        if division is None or node_of_division(session, settings, division) != message.node:
            raise not_a_party(message, f"邮件 {packet.get('tracking_no')} 不是节点 {message.node} 寄出的。")
    for step in body.get("steps") or ():
        if not isinstance(step, dict) or step.get("office_code") not in steps \
                or step.get("status") not in STEP_STATUS_TITLES:
            raise not_a_party(message, "联办环节须由本办件的环节办理单位办理。")
    step_office = {s.get("code"): s.get("office_code") for s in body.get("steps") or ()}
    for stored in body.get("files") or ():
        office = stored.get("office_code")
        made_by = step_office.get(str(stored.get("material_code")).partition(".")[0])  # STEP.OUTPUT
        if office not in steps or made_by != office or _node_of(session, settings, office) != message.node:
            raise not_a_party(message, f"节点 {message.node} 不能传递 {office} 的环节文书。")


def _check_handover(ctx: Context, message: Envelope) -> None:
    case = message.body.get("case", {})
    if not isinstance(case, dict) or case.get("case_no") != message.case_ref:
        raise rule("invalid_request", "移交的办件编号与消息所述的办件不符。", "body.case")
    offices = _Offices(case)
    collecting, owning = parties(ctx.session, ctx.settings, offices)
    owning_nodes = {owning} | step_nodes(ctx.session, ctx.settings, offices)
    if collecting != message.node or ctx.settings.node not in owning_nodes:
        raise not_a_party(message, "只有收件方节点可以向办理方节点移交办件。")
    if offices.step_offices and offices.owning_office not in offices.step_offices:
        raise rule("invalid_request", "联办办件的办理单位须是其环节办理单位之一。", "body.case")
    if ctx.session.exec(select(Case.id).where(Case.case_no == message.case_ref)).first() is not None:
        raise conflict("case_exists", f"办件 {message.case_ref} 已在本节点。")
    _check_events(ctx, message, owning_nodes, collecting, offices.step_offices)


def _check_changes(ctx: Context, message: Envelope) -> None:
    here = ctx.session.exec(select(Case).where(Case.case_no == message.case_ref)).first()
    offices = here if here is not None else _Offices(message.body.get("case", {}))
    collecting, owning = parties(ctx.session, ctx.settings, offices)
    owning_nodes = {owning} | step_nodes(ctx.session, ctx.settings, offices)
    if message.node not in owning_nodes | {collecting} or ctx.settings.node not in owning_nodes | {collecting}:
        raise not_a_party(message)
    _check_events(ctx, message, owning_nodes, collecting, offices.step_offices)


@dataclass(frozen=True)
class _Offices:
    """A case's two offices as a message names them (the case is not here yet)."""
    state: dict

    @property
    def collecting_office(self) -> str | None:
        return self.state.get("collecting_office") if isinstance(self.state, dict) else None

    @property
    def owning_office(self) -> str | None:
        return self.state.get("owning_office") if isinstance(self.state, dict) else None

    @property
    def step_offices(self) -> list | None:
        offices = self.state.get("step_offices") if isinstance(self.state, dict) else None
        return [o for o in offices if isinstance(o, str)] if isinstance(offices, list) else None


@handles(HANDED_OVER, about_a_case=True, body=HandedOverBody, check=_check_handover)
def _handed_over(ctx: Context, message: Envelope) -> dict:
    body = HandedOverBody.model_validate(message.body)
    session, settings = ctx.session, ctx.settings
    keys, sealer = NodeKeys.from_settings(settings), Sealer(settings.data_key)
    personal = envelope.open_json(keys.sealing, body.personal_sealed)
    applicant = personal["applicant"]
    address = personal.get("result_address")
    state = {name: _typed(Case, name, body.case.get(name)) for name in CASE_FIELDS if name in body.case}
    session.info[_APPLYING] = True
    try:
        case = Case(**state, applicant_sealed=sealer.seal(applicant), applicant_masked=personal["applicant_masked"],
                    id_hash=sealer.lookup_hash(applicant.get("credit_code") or applicant["id_number"]),
                    phone_hash=sealer.lookup_hash(applicant["phone"]), check_code_sealed="",
                    check_code_hash=body.check_code_hash, subject=personal.get("subject"),
                    note=personal.get("note") or "", result_address_sealed=sealer.seal(address) if address else None)
        session.add(case)
        session.flush()
        _apply(ctx, keys, sealer, case, body)
        tell(session, case, "handed_over", office_code=case.owning_office, node=message.node)
        session.flush()
        records.status_changed(session, case)  # this node's platforms hear of the case too
    finally:
        session.info.pop(_APPLYING, None)
    return {"case_no": case.case_no, "status": case.status}


@handles(EVENTS, about_a_case=True, body=EventsBody, check=_check_changes)
def _changes(ctx: Context, message: Envelope) -> dict:
    body = EventsBody.model_validate(message.body)
    session, settings = ctx.session, ctx.settings
    case = session.exec(select(Case).where(Case.case_no == message.case_ref).with_for_update()).first()
    if case is None:
        raise conflict("unknown_case", f"本节点没有办件 {message.case_ref}。")
    session.info[_APPLYING] = True
    before = case.status
    try:
        for name in CASE_FIELDS:
            if name in body.case and name not in _CASE_FIXED:
                setattr(case, name, _typed(Case, name, body.case[name]))
        # 多地联办: the office that answers for the case follows its open steps, among its step offices
        if case.step_offices and body.case.get("owning_office") in case.step_offices:
            case.owning_office = body.case["owning_office"]
        session.add(case)
        _apply(ctx, NodeKeys.from_settings(settings), Sealer(settings.data_key), case, body)
        session.flush()
        if case.status != before:
            records.status_changed(session, case)  # reported here as if it had happened here
    finally:
        session.info.pop(_APPLYING, None)
    return {"case_no": case.case_no, "status": case.status, "events": len(body.events)}


def _apply(ctx: Context, keys: NodeKeys, sealer: Sealer, case: Case, body: EventsBody) -> None:
    """The packets as they stand, then the events as recorded, each chained here in turn; the rating as
    it stands."""
    session = ctx.session
    if body.evaluation_sealed:
        state = envelope.open_json(keys.sealing, body.evaluation_sealed)
        rating = session.exec(select(Evaluation).where(Evaluation.case_id == case.id)).first() \
            or Evaluation(case_id=case.id, score=state["score"], at=_typed(Evaluation, "at", state["at"]))
        for name in EVALUATION_FIELDS:
            if name in state:
                setattr(rating, name, _typed(Evaluation, name, state[name]))
        session.add(rating)
    packets = {p.tracking_no: p for p in session.exec(select(Packet).where(Packet.case_id == case.id))}
    for state in body.packets:
        packet = packets.get(state["tracking_no"])
        if packet is None:
            packet = Packet(case_id=case.id, **{n: _typed(Packet, n, state.get(n)) for n in PACKET_FIELDS})
            person = state.get("to_person_sealed")
            if person:
                packet.to_person_sealed = sealer.seal(envelope.open_json(keys.sealing, person))
            packets[packet.tracking_no] = packet
        else:
            for name in PACKET_FIELDS[2:]:  # number and kind never change
                setattr(packet, name, _typed(Packet, name, state.get(name)))
        session.add(packet)
    session.flush()
    for state in body.packets:
        if state.get("replaces") in packets:
            packets[state["tracking_no"]].replaces_id = packets[state["replaces"]].id
    local_files = _apply_steps(ctx, keys, sealer, case, body) if (body.steps or body.files) else {}
    for item in body.events:
        at, recorded = datetime.fromisoformat(item.at), datetime.fromisoformat(item.recorded_at)
        if item.kind == "case":
            data = envelope.open_json(keys.sealing, item.data_sealed) if item.data_sealed else {}
            if isinstance(data.get("outputs"), list):  # a step's files: by their ids here, not the sender's
                data["outputs"] = _local_outputs(data["outputs"], data.get("step"), local_files)
            data["by"] = {"node": ctx.sender, "name": item.actor_name}
            row = CaseEvent(case_id=case.id, type=item.type, status_after=item.status_after, actor=item.actor,
                            role=item.role, office_code=item.office_code, at=at, recorded_at=recorded,
                            client_txn=item.client_txn, data=data)
            case.last_hash = link(row, case.last_hash)
            session.add(row)
            continue
        packet = packets.get(item.tracking_no)
        if packet is None or session.exec(select(PacketEvent.id).where(PacketEvent.event_id == item.event_id)).first():
            continue  # the same scan told twice (it cannot be recorded twice anyway: event ids are unique)
        row = PacketEvent(event_id=item.event_id, packet_id=packet.id, type=item.type, status_after=item.status_after,
                          at=at, recorded_at=recorded, actor=item.actor, role=item.role,
                          office_code=item.office_code, reason=item.reason, contents=item.contents,
                          client_txn=item.client_txn,
                          note=envelope.open_json(keys.sealing, item.note_sealed) if item.note_sealed else "")
        packet.last_hash = link(row, packet.last_hash)
        session.add(row)
        session.add(packet)
    session.add(case)


def _apply_steps(ctx: Context, keys: NodeKeys, sealer: Sealer, case: Case, body: EventsBody) -> dict[str, int]:
    """多地联办: the steps' files kept in this node's store with rows of their own (once each), then the
    steps as they stand, their outputs naming those rows. Returns {STEP.OUTPUT: file id here}."""
    session = ctx.session
    storage = None
    for item in body.files:
        if session.exec(select(CaseFile.id).where(CaseFile.case_id == case.id, CaseFile.purpose == "step",
                                                  CaseFile.material_code == item.material_code,
                                                  CaseFile.sha256 == item.sha256)).first() is not None:
            continue  # told before (a hand-over repeats every file)
        sealed = envelope.open_json(keys.sealing, item.data_sealed)
        data = base64.b64decode(sealed["data"], validate=True)
        if hashlib.sha256(data).hexdigest() != item.sha256:
            raise rule("file_damaged", f"环节文书 {item.filename} 与其摘要不符。", "body.files")
        thumbnail = base64.b64decode(sealed["thumbnail"], validate=True) if sealed.get("thumbnail") else None
        storage = storage or storage_for(ctx.settings)
        session.add(CaseFile(case_id=case.id, purpose="step",
                             **{n: _typed(CaseFile, n, getattr(item, n)) for n in FILE_FIELDS},
                             storage_key=vault.keep(storage, sealer, data),
                             thumbnail_key=vault.keep(storage, sealer, thumbnail) if thumbnail else None))
    session.flush()
    local = {}
    for f in session.exec(select(CaseFile).where(CaseFile.case_id == case.id, CaseFile.purpose == "step")
                          .order_by(CaseFile.id)):
        local[f.material_code] = f.id  # the latest of each output
    rows = {r.code: r for r in session.exec(select(CaseStep).where(CaseStep.case_id == case.id))}
    for state in body.steps:
        row = rows.get(state.get("code")) or CaseStep(case_id=case.id, seq=state.get("seq", 0), code=state.get("code"),
                                                      name=state.get("name", ""), office_code=state["office_code"])
        for name in STEP_FIELDS:
            if name in state and name != "code":
                setattr(row, name, _typed(CaseStep, name, state[name]))
        row.outputs = _local_outputs(row.outputs or [], row.code, local)
        session.add(row)
    return local


def _local_outputs(outputs: list, step: str | None, local: dict[str, int]) -> list:
    """A step's outputs with each file's id here (none when the file is not here: never the sender's id)."""
    out = []
    for item in outputs:
        if isinstance(item, dict) and "file_id" in item:
            item = {**item, "file_id": local.get(f"{step}.{item.get('code')}")}
        out.append(item)
    return out
