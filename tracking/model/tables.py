"""Cases, their event log, and what people leave behind: access reads, evaluations, tries."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.database import utc_column
from tracking.model.states import CaseStatus

_STATES = ",".join(f"'{s.value}'" for s in CaseStatus)


class Case(SQLModel, table=True):
    __table_args__ = (CheckConstraint(f"status IN ({_STATES})", name="case_status"),
                      # the desks and the overdue board read open stages by office and due date
                      # covering: the overdue board counts by stage and office without reading the cases
                      Index("ix_case_open_stage", "open_stage_due", "collecting_office", "owning_office",
                            "open_due_dispatch", "open_due_receipt", "open_due_supplement_notice",
                            "open_due_decision", "open_due_result_dispatch"),
                      Index("ix_case_open_stage_office", "open_stage_office", "open_stage_due"),
                      Index("ix_case_owning_open", "owning_office", "open_stage_due"),
                      Index("ix_case_collecting_open", "collecting_office", "open_stage_due"),
                      # and count an office's queues without reading the cases
                      Index("ix_case_owning_status", "owning_office", "status"),
                      Index("ix_case_collecting_status", "collecting_office", "status"),
                      # and list an office's cases newest first, a page at a time
                      Index("ix_case_collecting_created", "collecting_office", "created_at"),
                      Index("ix_case_owning_created", "owning_office", "created_at"),
                      # the statistics read the days the roll-ups lack (today) through the times of each stage
                      *(Index(f"ix_case_{c}", c) for c in ("intake_date", "received_at", "accepted_at",
                                                           "decided_at", "delivered_at")))
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(unique=True, max_length=32)
    matter_code: str = Field(index=True, max_length=32)
    status: str = Field(default=CaseStatus.COLLECTED.value, index=True)
    collecting_office: str = Field(index=True, max_length=24)
    owning_office: str = Field(index=True, max_length=24)
    applicant_kind: str  # person | organisation
    applicant_sealed: str          # encrypted JSON of the applicant (and agent)
    applicant_masked: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    id_hash: str = Field(index=True, max_length=64)  # keyed hash of the ID number or credit code
    phone_hash: Optional[str] = Field(default=None, index=True, max_length=64)  # keyed hash of the applicant's phone
    check_code_sealed: str  # "" on a case a peer handed over: only check_code_hash came
    # the applicant's choices at intake: no SMS, and an email address for messages (sealed like the phone)
    sms_opt_out: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    email_sealed: Optional[str] = None
    # a case mirrored from a peer: the slow salted hash of its check code (sealing.check_code_hash)
    check_code_hash: Optional[str] = Field(default=None, max_length=128)
    subject: Optional[dict] = Field(default=None, sa_column=Column(JSON))
    materials: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    identity_check: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result_method: str  # mail | pickup | electronic
    result_division: Optional[str] = None
    result_address_sealed: Optional[str] = None
    note: str = ""
    intake_date: date
    due_date: date
    due_date_provisional: bool = False
    due_date_estimated: bool = True  # not accepted yet: counted from the expected acceptance
    expected_result_date: Optional[date] = None  # when the result should reach the applicant
    extension_days: int = 0  # an approved extension (延期) of the decision period, working days
    extension_reason: Optional[str] = None
    extended_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    created_by: str
    created_at: datetime = Field(sa_column=utc_column(False))
    received_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    accepted_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    supplement_requested_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    supplement_due: Optional[date] = None
    supplement_materials: Optional[list] = Field(default=None, sa_column=Column(JSON))
    supplement_received_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    decided_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    outcome: Optional[str] = None
    delivered_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    closed_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    reason: str = ""  # rejection or withdrawal reason
    ended_at: Optional[datetime] = Field(default=None, sa_column=utc_column())  # rejected or withdrawn
    deemed_accepted: bool = False  # accepted by law after 5 working days without a notice
    # open problems a person must act on: [{"code": "packet_lost"|..., "tracking_no", "at"}]
    flags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # materials found missing or damaged on receipt and not yet made good: [{code, name, status, tracking_no}]
    contents_problems: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_hash: str = ""
    # Stored stage deadlines (tracking.model.stage_store), kept by every transaction that moves a case or its
    # packets: each stage's due date while it is open (None once done, moot or not started), and the open stage
    # due first with the office that answers for it. Overdue as of a day is `open_stage_due < day`: a stored
    # flag would go stale at midnight.
    open_due_dispatch: Optional[date] = None
    open_due_receipt: Optional[date] = None
    open_due_supplement_notice: Optional[date] = None
    open_due_decision: Optional[date] = None
    open_due_result_dispatch: Optional[date] = None
    open_stage: Optional[str] = Field(default=None, max_length=24)
    open_stage_due: Optional[date] = None
    open_stage_office: Optional[str] = Field(default=None, max_length=24)
    # 多地联办 (tracking.commands.steps): the promise's working days along the longest chain of steps (None: the
    # matter's own), the offices of every step (each may see the case), and the due date of the step that is
    # due first while steps are open (the decision stage answers to it, at `owning_office`, the step's office)
    promised_days: Optional[int] = None
    step_offices: Optional[list] = Field(default=None, sa_column=Column(JSON))
    step_due: Optional[date] = None


class CaseStep(SQLModel, table=True):
    """One step of a 多地联办 case (routing.steps): its office, where it stands, its own deadline, and what it
    produced (files kept as the case's files, paper as a `transfer` packet)."""
    __table_args__ = (UniqueConstraint("case_id", "code"), Index("ix_casestep_office_status", "office_code", "status"))
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    seq: int
    code: str = Field(max_length=32)
    name: str
    place: str = ""
    office_code: str = Field(max_length=24)
    # waiting (earlier steps not done) | awaiting (paper on its way) | received | accepted | done | refused
    status: str = Field(default="waiting", max_length=16)
    due: Optional[date] = None
    started_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    accepted_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    done_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    done_by: Optional[str] = None
    outputs: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str = ""
    # the step's own supplement notice, once: {materials: [{code, name}], due, note, requested_at, tracking_no,
    # received_at, resume} (resume: the status the step goes back to when the materials arrive)
    supplement: Optional[dict] = Field(default=None, sa_column=Column(JSON))


class CaseEvent(SQLModel, table=True):
    """Append-only: every change of a case, by whom, where and when, chained by hash."""
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(index=True, foreign_key="case.id")
    type: str
    status_after: str
    actor: str
    role: str
    office_code: Optional[str] = None
    at: datetime = Field(sa_column=utc_column(False))
    recorded_at: datetime = Field(sa_column=utc_column(False))
    client_txn: Optional[str] = None
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = ""
    hash: str = ""


class ResultFile(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(index=True, foreign_key="case.id")
    filename: str
    content_type: str
    sha256: str  # of the file as kept (checked and rewritten: tracking.files.checks)
    size: int = 0  # bytes as kept
    # where the file lives: in the file store (tracking.files.vault, sealed); results stored before the
    # file store kept their sealed bytes here instead
    storage_key: Optional[str] = Field(default=None, max_length=120)
    data: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(sa_column=utc_column(False))
    downloaded_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    # the download link's expiry as the window last re-issued it (None: created_at + delivery_link_days)
    link_expires_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    # the public verification code (model.verification), unique; revocation by the owning office
    verification_code: Optional[str] = Field(default=None, max_length=16, unique=True, index=True)
    revoked_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    revoked_by: Optional[str] = None
    revoke_reason: Optional[str] = None


class CaseFile(SQLModel, table=True):
    """A scan of a material (or of a supplement) uploaded at the window: checked, sealed with the data key
    and kept in the file store under `storage_key` (by content: rows with the same content share one
    object). `removed_at`: the object is gone (retention after the case ended), the row stays as the record."""
    __table_args__ = (CheckConstraint("purpose IN ('material','supplement','step')", name="casefile_purpose"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(index=True, foreign_key="case.id")
    material_code: str = Field(max_length=100)  # a supplement file names the material it answers
    purpose: str = Field(default="material", max_length=16)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=64)
    pages: int = 1
    size: int = 0  # bytes as stored (after the checks re-encoded it)
    sha256: str = Field(index=True, max_length=64)  # of the stored content
    storage_key: str = Field(index=True, max_length=200)
    thumbnail_key: Optional[str] = Field(default=None, index=True, max_length=200)
    uploaded_by: str
    office_code: str = Field(max_length=24)
    uploaded_at: datetime = Field(sa_column=utc_column(False))
    removed_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    removed_reason: Optional[str] = None


class AccessLog(SQLModel, table=True):
    """Who read personal data, when: written on every full read by staff."""
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=utc_column(False))
    username: str
    role: str
    office_code: Optional[str] = None
    case_no: str = Field(index=True)
    what: str


class Evaluation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("case_id", name="evaluation_once_per_case"),
                      CheckConstraint("score BETWEEN 1 AND 5", name="evaluation_score"),
                      Index("ix_evaluation_at", "at"))  # the statistics' days without a roll-up
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    score: int
    comment: str = ""
    at: datetime = Field(sa_column=utc_column(False))
    # the stage the rating is routed to (window | post | office): the rater's choice or the supervisor's
    stage: str = Field(default="office", max_length=16, sa_column_kwargs={"server_default": "office"})
    follow_up_office: Optional[str] = None  # set for scores 1–2 (整改): the office that answers for `stage`
    follow_up_status: Optional[str] = None  # open | done
    follow_up_due: Optional[date] = None    # the last working day to follow it up
    follow_up_note: Optional[str] = None    # the rectification: what the office did about it
    followed_up_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    followed_up_by: Optional[str] = None    # the officer's (or clerk's) username
    # the return visit (回访): when, how, and what the applicant answered
    visited_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    visit_method: Optional[str] = Field(default=None, max_length=16)
    visit_answer: Optional[str] = None


class TrackLock(SQLModel, table=True):
    """Wrong check codes per case (keyed by its case number), or per unknown well-formed number: the
    10th within an hour of the first locks it for an hour. Counted by one upsert (lookups.checked_case)."""
    number: str = Field(primary_key=True, max_length=40)
    failures: int = 0
    window_start: datetime = Field(sa_column=utc_column(False))  # the first wrong code counted in this hour
    locked_until: Optional[datetime] = Field(default=None, sa_column=utc_column())


class Notification(SQLModel, table=True):
    """Outbox of messages to applicants and offices: one row per channel, claimed and sent by a task
    (tracking.commands.notifications), retried with backoff, dead after too many failures."""
    __table_args__ = (CheckConstraint("status IN ('pending','sent','dead')", name="notification_status"),
                      CheckConstraint("channel IN ('sms','email','log')", name="notification_channel"),
                      Index("ix_notification_due", "status", "next_attempt_at"))
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(index=True, foreign_key="case.id")
    audience: str  # applicant | office
    office_code: Optional[str] = None
    text: str  # never a check code or a working link: see records.DELIVERY_LINK and records.CHECK_CODE
    result_file_id: Optional[int] = Field(default=None, foreign_key="resultfile.id")
    created_at: datetime = Field(sa_column=utc_column(False))
    sent_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    # sms | email | log (nobody to send to: the log keeps the record); the address is looked up when sent
    channel: str = Field(default="log", max_length=8, sa_column_kwargs={"server_default": "log"})
    milestone: Optional[str] = Field(default=None, max_length=32)  # tracking.model.messages.MILESTONES
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    status: str = Field(default="pending", max_length=8, sa_column_kwargs={"server_default": "pending"})
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: Optional[datetime] = Field(default=None, sa_column=utc_column())
    claimed_by: Optional[str] = Field(default=None, max_length=100)
    claimed_until: Optional[datetime] = Field(default=None, sa_column=utc_column())
    last_error: Optional[str] = None
    # keyed hash of the phone an SMS went to (sealing.lookup_hash): the per-phone rate limit counts these
    recipient_hash: Optional[str] = Field(default=None, index=True, max_length=64)


class OverdueMark(SQLModel, table=True):
    """A stage the sweep found overdue, marked once per due date (a moved due date is marked again)."""
    __table_args__ = (UniqueConstraint("case_id", "stage", "due", name="overdue_mark_once"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(index=True, foreign_key="case.id")
    stage: str = Field(max_length=24)
    due: date
    office_code: str = Field(max_length=24)  # the office responsible for the stage
    marked_at: datetime = Field(sa_column=utc_column(False))


class StatRollup(SQLModel, table=True):
    """One group of one statistics figure over one Beijing day (span "d") or calendar month (span "m", day =
    its first day), for everything (area "") or one city: tracking.model.rollups says what each holds.
    Derived data: `flask stats rebuild` and the sweep write it again from the cases at any time."""
    __table_args__ = (Index("ix_statrollup_read", "figure", "span", "area", "day"),
                      Index("ix_statrollup_group", "figure", "span", "area", "k2", "day"),
                      Index("ix_statrollup_day", "span", "day"))
    id: Optional[int] = Field(default=None, primary_key=True)
    span: str = Field(max_length=1)
    day: date
    area: str = Field(default="", max_length=12)
    figure: str = Field(max_length=16)
    k1: str = Field(default="", max_length=32)
    k2: str = Field(default="", max_length=32)
    k3: str = Field(default="", max_length=32)
    k4: str = Field(default="", max_length=32)
    k5: str = Field(default="", max_length=32)
    n: int = 0
    total: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # cents add up
    # a snapshot's (span "c") running sums as JSON (tracking.model.rollups.Running); "" in the other rows
    hist: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
