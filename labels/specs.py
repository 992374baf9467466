"""What a document shows, as plain data. The caller builds a spec; `labels` only draws it.

Privacy is the caller's job and is checked by the tests of what comes out: the outside of a
packet shows masked names and phones of people and no unit or room (GB/T 41833-2022).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Party:
    """A sender or recipient as printed: an office in full, a person already masked."""
    name: str
    address: str
    phone: str = ""
    postcode: str = ""


@dataclass(frozen=True)
class LabelSpec:
    tracking_no: str
    kind_title: str            # 材料寄出, 补正材料, 办理结果, 材料退回, 补寄材料
    sort_code: str             # the destination division code
    hub_code: str              # the hub that sorts for the destination
    destination: str           # the destination office (or delivering hub) name, for sorting by eye
    recipient: Party
    sender: Party
    pieces: int                # documents inside
    case_no: str
    track_url: str             # absolute public tracking URL, the QR's content
    created: date
    service: str = "政务专递"
    contents_name: str = "政务服务材料"
    carrier: str = ""          # the carrier's name, when a carrier's network carries it
    waybill_no: str = ""       # the carrier's waybill number, when it is not ours


@dataclass(frozen=True)
class MaterialLine:
    name: str
    original: bool
    copies: int
    certified_by: str = ""     # 核验原件: the clerk who certified the copy, by name and office
    by_post: bool = True       # False: only its scan travels (uploaded), the paper stays (issue 16)


@dataclass(frozen=True)
class StepLine:
    """多地联办: one step as the receipt lists it."""
    place: str
    name: str
    office: str
    days: int


@dataclass(frozen=True)
class ReceiptSpec:
    case_no: str
    matter: str
    materials: tuple[MaterialLine, ...]
    applicant_name: str
    id_masked: str
    collecting_office: Party
    clerk: str
    owning_office: str
    received_at: datetime      # Beijing time
    due_date: date
    due_provisional: bool
    track_url: str
    check_code: str
    result_delivery: str       # how the result comes back, in words
    agent: str = ""            # 委托代办: the agent as printed (masked name, relation, masked ID); "" in person
    promise: str = ""          # "预计…前办结，结果预计…送达" (tracking.model.deadlines.promise_words)
    promised_days: int = 0     # the matter's promised working days, counted from acceptance
    due_estimated: bool = False
    steps: tuple[StepLine, ...] = ()  # 多地联办: every step and its office, in order; () for one office


@dataclass(frozen=True)
class ManifestLine:
    tracking_no: str
    kind_title: str
    destination: str
    pieces: int
    case_no: str


@dataclass(frozen=True)
class ManifestSpec:
    manifest_no: str
    from_office: Party
    to_party: str              # 寄递人员 张三（courier1）, or an office's name
    created_at: datetime       # Beijing time
    created_by: str
    lines: tuple[ManifestLine, ...]


@dataclass(frozen=True)
class NoticeSpec:
    """补正告知书 or 不予受理告知书: a letter from the owning office, printed at the window."""
    title: str
    notice_no: str
    case_no: str
    addressee: str             # the applicant, in full: the letter is handed to them
    matter: str
    submitted_on: date
    collecting_office: str
    paragraphs: tuple[str, ...]
    items: tuple[str, ...] = ()            # the materials to supplement, numbered
    closing: tuple[str, ...] = ()
    issuer: str = ""
    issuer_contact: str = ""
    issued_on: date | None = None
    track_url: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PostageLine:
    """One packet on an office's postage statement, as printed."""
    day: str                   # the day it was handed to the carrier, YYYY-MM-DD
    tracking_no: str
    case_no: str
    matter: str
    kind_title: str            # 申请材料, 办理结果 …
    route: str                 # sender → destination
    grams: str                 # the estimated (or the carrier's) weight
    postage: str               # yuan, two decimals
    source: str                # 按资费标准计算 | 承运商计费


@dataclass(frozen=True)
class PostageStatementSpec:
    """邮资结算清单: the packets an office paid for in a month, for its finance department."""
    office: Party
    office_code: str
    month: str                 # 2026年03月
    period: str                # 2026-03-01 至 2026-03-31
    lines: tuple[PostageLine, ...]
    total: str                 # yuan
    total_grams: int
    by_source: tuple[tuple[str, int, str], ...]  # (source, packets, yuan)
    by_kind: tuple[tuple[str, int, str], ...]    # (kind, packets, yuan)
    made_at: datetime          # Beijing time
    basis: str                 # which packets are counted, in words
