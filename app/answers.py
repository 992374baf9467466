"""The JSON the API answers with, described as pydantic models for the OpenAPI document (app.openapi).

Nothing builds answers from these classes: the views answer plain dicts, and tests/e2e/test_openapi.py
checks real answers against the schemas made from here, so that the description cannot drift from the
service. Answers may carry more fields than listed (the contract lets fields be added, never renamed or
dropped); clients should ignore what they do not know."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mailing.states import PacketKind, PacketStatus, ScanType
from tracking.model.states import CaseStatus


class Answer(BaseModel):
    """Base of every answer model."""


def _no_default(schema: dict) -> None:
    schema.pop("default", None)


def absent(description: str | None = None) -> Any:
    """A field the answer leaves out where it does not apply (it is never null)."""
    return Field(None, description=description, json_schema_extra=_no_default)


# -- errors -----------------------------------------------------------------------------------------------

class FieldProblem(Answer):
    model_config = ConfigDict(extra="allow")  # a problem may say more, as the error itself may

    field: str = Field(description="出错字段的路径，如 applicant.phone、materials[1].copies；整个请求体为 body")
    code: str
    message: str


class ErrorDetail(Answer):
    model_config = ConfigDict(extra="allow")  # some refusals say more: see Error

    code: str = Field(description="稳定的机器码，如 invalid_request、missing_material")
    message: str = Field(description="窗口人员能读懂的中文说明")
    field: str = absent("出错字段（若只涉及一个字段）")
    errors: list[FieldProblem] = absent("请求体解析出错时：全部字段错误，第一项即 code/message/field")


class Error(Answer):
    """The contract's error envelope. Some refusals add keys next to code and message (e.g. `allowed` for
    a bad paper size, `packets` for a manifest scan that applied to none, `status` for an evaluation
    asked too early)."""
    error: ErrorDetail


# -- staff and reference data -----------------------------------------------------------------------------

class Token(Answer):
    token: str = Field(description="Authorization: Bearer TOKEN")
    role: Literal["clerk", "officer", "courier", "supervisor", "admin"]
    office_code: str | None
    username: str
    name: str


class Named(Answer):
    code: str
    name: str


class OfficeItem(Answer):
    code: str
    name: str
    kind: Literal["hall", "department", "hub"]
    division_code: str
    address: str
    postcode: str
    phone: str
    lat: float
    lon: float
    departments: list[Named]


class Offices(Answer):
    offices: list[OfficeItem]


class MaterialItem(Answer):
    code: str
    name: str
    original: bool
    required: bool
    kept: bool = Field(description="原件由办理部门依规留存（如申请表、缴回的旧证照），办结后不退还")
    certified_copy: bool = Field(description="可用窗口核验原件后的复印件代替原件（原件由申请人留存）")


class StepOutputItem(Answer):
    code: str
    name: str
    kind: Literal["document", "archive", "decision"]
    travels: Literal["file", "paper", "none"] = Field(description="file：电子文件传递；paper：纸质档案转递；none：不流转")


class MatterStepItem(Answer):
    """多地联办: one step of the matter (config/data/matters.yaml)."""
    code: str
    name: str
    place: str
    owner: Literal["household", "subject", "origin", "registration"] = Field(
        description="决定本环节办理单位的行政区划：申请人户籍地、办理事项所在地、迁出地（转出地）或单位登记地")
    department: str
    level: str
    promised_days: int
    after: list[str] = Field(description="前序环节；为空则在受理后开始（与其他无前序的环节同时办理）")
    takes: list[str]
    produces: list[StepOutputItem]
    legal_basis: str


class MatterItem(Answer):
    code: str
    name: str
    department: str
    department_name: str
    type: Literal["permit", "notarization", "confirmation", "public_service"] = Field(
        description="事项类型，决定办理规则：行政许可、公证、行政确认、公共服务")
    type_text: str = Field(description="事项类型的中文名称")
    legal_basis: str = Field(description="设定依据（法律、法规），告知书、决定书引用")
    level: str
    modes: list[Literal["online", "proxy", "joint"]]
    jurisdiction: str
    applicant_kinds: list[Literal["person", "organisation"]]
    legal_days: int
    promised_days: int
    materials: list[MaterialItem]
    result_types: list[Literal["paper", "electronic"]]
    steps: list[MatterStepItem] = Field(description="多地联办的环节（依次或同时办理）；一个单位办理的事项为空")


class Matters(Answer):
    matters: list[MatterItem]


# -- cases ------------------------------------------------------------------------------------------------

class OfficeRef(Answer):
    code: str
    name: str


class RouteStop(Answer):
    office_code: str
    name: str
    expected: date | None = absent("预计到达该站的日期")


class PacketRef(Answer):
    tracking_no: str
    kind: PacketKind
    label_url: str


class Deadline(Answer):
    stage: Literal["dispatch", "receipt", "supplement_notice", "decision", "result_dispatch"]
    title: str
    due: date | None = Field(description="该环节尚不能开始时为 null")
    done_at: datetime | None
    overdue: bool
    office_code: str | None
    missed: bool = absent("环节未在时限内完成（例如视为受理）")


class CaseSummary(Answer):
    case_no: str = Field(description="如 140802-20261128-0007")
    status: CaseStatus
    status_text: str
    matter_code: str
    matter: str
    collecting_office: OfficeRef | None
    owning_office: OfficeRef | None
    applicant: dict[str, Any] = Field(description="申请人（列表与操作结果中已脱敏）")
    due_date: date = Field(description="承诺办结日期：自受理（或视为受理）之日起计算承诺时限；受理前为预计日期")
    due_date_provisional: bool
    due_date_estimated: bool = Field(description="尚未受理：办结日期按材料预计送达并签收之日估算")
    expected_result_date: date | None = Field(description="办理结果预计送达申请人之日（电子结果为作出决定之日）")
    created_at: datetime


class Case(CaseSummary):
    """A case after an action: the summary, the reason of a rejection or withdrawal (null otherwise) and
    what the action made."""
    reason: str | None


class CaseCreated(Case):
    tracking_no: str | None = Field(description="申请材料寄递件的邮件号；全部材料以扫描件提交（不寄纸质材料）时为 null")
    check_code: str = Field(description="6位查询密码，印在收件回执上")
    route: list[RouteStop] = Field(description="寄递路由；没有寄递件时为空")
    receipt_url: str
    label_url: str | None = Field(description="面单；没有寄递件时为 null")
    files_url: str = Field(description="上传和查看材料扫描件：POST（multipart）上传，GET 列出")


class CaseFileItem(Answer):
    """One uploaded scan of a material (docs/files.md)."""
    id: int
    material_code: str
    material: str = Field(description="材料名称")
    purpose: Literal["material", "supplement", "step"] = Field(
        description="material：申请材料；supplement：补正材料；step：多地联办环节产生的文书（material_code 为“环节.文书”）")
    purpose_text: str
    filename: str
    content_type: Literal["application/pdf", "image/jpeg", "image/png"]
    pages: int
    size: int = Field(description="字节数（检查、重新编码后）")
    sha256: str
    uploaded_at: datetime
    uploaded_by: str
    removed_at: datetime | None = Field(description="按保存期限删除的时间（文件本身已不在，记录保留）")
    removed_reason: str | None
    url: str | None = Field(description="查看文件（每次查看记入访问日志）；已删除为 null")
    thumbnail_url: str | None = Field(description="第一页的缩略图（PNG）；已删除为 null")


class FilesUploaded(Case):
    received: bool = Field(description="此次上传后全部材料（或补正通知所列全部材料）已有扫描件：办件已送达办理部门（已签收）")
    files: list[CaseFileItem] = Field(description="此次上传生成的文件（按页码拆分时每项材料一个）")


class MaterialFiles(Answer):
    code: str
    name: str
    original: bool
    travels: Literal["paper", "file"] = Field(description="paper：纸质材料寄送（另有扫描件）；file：只交扫描件")
    files: list[int] = Field(description="该材料现存的申请材料文件 id")
    pages: int


class CaseFiles(Answer):
    case_no: str
    status: CaseStatus
    files: list[CaseFileItem] = Field(description="全部文件，含已按保存期限删除的记录")
    materials: list[MaterialFiles]
    complete: bool = Field(description="每项材料都已有扫描件")


class SupplementAsked(Answer):
    materials: list[dict[str, Any]]
    due: date


class SupplementRequested(Case):
    supplement: SupplementAsked


class ExtensionView(Answer):
    days: int = Field(ge=1, le=10, description="延长的工作日数")
    reason: str
    extended_at: datetime


class CaseExtended(Case):
    """延期 (行政许可法第四十二条): due_date is the moved decision date."""
    extension: ExtensionView


class CaseWithReturn(Case):
    return_packet: PacketRef | None = Field(description="退回原件的寄递件（尚未寄出任何材料时为 null）")


class ReturnedOriginal(Answer):
    code: str
    name: str
    copies: int


class CaseDecided(Case):
    outcome: Literal["approved", "refused"]
    result_packet: PacketRef = absent("纸质结果（退还的原件列在其内件中）")
    delivery_url: str = absent("电子结果的签名下载链接")
    delivery_expires: datetime = absent()
    originals_returned: list[ReturnedOriginal] = Field(
        description="退还申请人的原件：已寄达办理部门、且不由办理部门依规留存的原件（纸质结果随结果件寄回，电子结果另以退回件寄回）")
    return_packet: PacketRef = absent("电子结果：装退还原件的退回件（没有要退还的原件时不出现）")


class ResultLinkReissued(Answer):
    """The electronic result's new download link (the previous one, expired or not, no longer works)."""
    case_no: str
    delivery_url: str = Field(description="新的签名下载链接（已以短信等方式发给申请人）")
    expires_at: datetime
    verification_code: str = Field(description="电子结果验证码，如 ABCD-EFGH-JKLM-NPQR")


class ResultRevoked(Answer):
    case_no: str
    status: Literal["revoked"]
    verification_code: str
    revoked_at: datetime
    reason: str


class ElectronicResultStaffView(Answer):
    """The case's electronic result as its staff see it (never the applicant's link)."""
    filename: str
    content_type: str
    sha256: str
    size: int
    created_at: datetime
    verification_code: str | None
    link_expires: datetime = Field(description="当前下载链接的失效时间")
    link_expired: bool
    downloaded_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    file_url: str | None = Field(description="办件两端机构查看结果文件的地址（GET /cases/{case_no}/result-file）；监督人员为 null")


class Verification(Answer):
    """What anyone learns from an electronic result's verification code: no personal data."""
    code: str = Field(description="验证码，分组书写：ABCD-EFGH-JKLM-NPQR")
    status: Literal["valid", "revoked"]
    status_text: str = Field(description="有效 / 已撤销")
    matter: str = Field(description="事项名称")
    issued_by: str = Field(description="出具结果的办理部门")
    issued_on: date = Field(description="办结日期（北京时间）")
    revoked_on: date | None = Field(description="撤销日期（撤销原因不公开）")
    case_no: str = Field(description="办件编号（已脱敏，如 140902-********-**08）")
    sha256: str = Field(description="结果文件的 SHA-256，可与手中文件比对")


class PacketSent(Case):
    tracking_no: str
    kind: PacketKind
    label_url: str
    route: list[RouteStop]


class ReplacementSent(PacketSent):
    replaces: str
    expected_arrival: date


class VisitView(Answer):
    at: datetime | None
    method: Literal["phone", "visit", "sms", "window", "other"]
    method_text: str
    answer: str | None = Field(description="申请人在回访中的答复")


class FollowUpView(Answer):
    status: str
    status_text: str
    office_code: str | None = Field(description="整改单位：评价所转交环节的负责单位")
    note: str | None = Field(description="整改情况")
    at: datetime | None
    by: str | None
    due: date | None = Field(description="整改期限（工作日计）；升级前的评价为空")
    visit: VisitView | None = Field(description="回访：时间、方式、申请人答复")


class EvaluationView(Answer):
    score: int = Field(ge=1, le=5)
    score_text: str
    comment: str | None
    at: datetime
    stage: Literal["window", "post", "office"] = Field(description="评价所针对的环节：收件窗口、寄递、办理部门")
    stage_text: str
    follow_up: FollowUpView | None


class CaseFollowedUp(Case):
    evaluation: EvaluationView


class PacketEventView(Answer):
    event_id: str
    type: ScanType
    status: PacketStatus
    at: datetime
    recorded_at: datetime
    actor: str
    role: str
    office_code: str | None
    note: str | None
    reason: str | None
    contents: list[dict[str, Any]] | None
    hash: str
    reason_text: str = absent()
    next_step: str | None = absent()


class RouteProgress(RouteStop):
    reached_at: datetime | None = Field(description="首次在该站扫描的时间；尚未到达为 null")


class CarrierEventView(Answer):
    """One tracking event a carrier told of, kept as it came (docs/carriers.md)."""
    carrier: str
    event_id: str = Field(description="承运方的轨迹编号（无编号的按内容生成）")
    waybill_no: str
    code: str = Field(description="承运方的轨迹代码")
    text: str
    description: str
    place: str
    at: datetime
    via: str = Field(description="push：承运方推送；poll：本系统查询")
    scan_type: str | None = Field(description="对应的扫描类型；未识别的代码为 null")
    reason: str | None
    outcome: str = Field(description="recorded、duplicate、rejected、unknown、unmatched、noted、waiting")
    outcome_text: str
    error: str | None
    known: bool = Field(description="false：本系统未识别的轨迹代码（保留并显示，不丢弃）")


class PacketBooking(Answer):
    status: str = Field(description="pending、done、dead、void")
    status_text: str
    attempts: int
    last_error: str | None
    label_fields: dict[str, Any] = Field(description="承运方面单字段：分拣码 routeCode、大头笔 markDestinationName 等")


class PacketCarrier(Answer):
    name: str = Field(description="own：本系统寄递人员；ems：政务专递承运方")
    title: str
    waybill_no: str | None = Field(description="承运方运单号（使用本系统号段时与邮件号相同）；未下单时为 null")
    booking: PacketBooking | None
    events: list[CarrierEventView]


class PickupRequested(Answer):
    request_id: int
    carrier: str
    office_code: str
    tracking_nos: list[str]
    status: str = Field(description="pending：已排队，随即发送给承运方")


class CarrierPushItem(Answer):
    traceNo: str
    opCode: str
    opTime: str
    success: bool
    reason: str


class CarrierPushAnswer(Answer):
    """The answer a 政务专递 platform expects to its push (its own field names)."""
    receiveID: str
    responseState: bool
    errorDesc: str
    responseItems: list[CarrierPushItem]


class Packet(Answer):
    tracking_no: str
    kind: PacketKind
    status: PacketStatus
    status_text: str
    case_no: str
    from_office: str
    to_office: str | None = Field(description="寄往个人地址时为 null")
    route: list[RouteProgress]
    contents: list[dict[str, Any]]
    expected_arrival: date | None
    late: bool
    dispatched_at: datetime | None
    arrived_at: datetime | None
    failed_attempts: int
    replaces: str | None
    label_url: str
    created_at: datetime
    events: list[PacketEventView]
    carrier: PacketCarrier


class CaseEventView(Answer):
    type: str
    status: str | None
    at: datetime
    actor: str
    role: str
    office_code: str | None
    data: dict[str, Any]
    hash: str


class SupplementView(Answer):
    requested_at: datetime
    due: date | None
    materials: list[dict[str, Any]]
    received_at: datetime | None


class StepOffice(Answer):
    code: str
    name: str


class CaseStepView(Answer):
    """多地联办: one step of the case, with its office and where it stands."""
    code: str
    name: str
    place: str = Field(description="迁入地、迁出地、转出地 ……")
    status: Literal["waiting", "awaiting", "received", "accepted", "supplement", "done", "refused", "stopped"]
    status_text: str
    office: StepOffice
    due: date | None = Field(description="本环节的办理期限（开始后才有）")
    started_at: datetime | None
    done_at: datetime | None


class CaseStepDetail(CaseStepView):
    accepted_at: datetime | None
    done_by: str | None
    note: str
    outputs: list[dict[str, Any]] = Field(description="本环节产生的文书：电子文件带 file_id，纸质档案带 tracking_no")
    supplement: dict[str, Any] | None = Field(
        description="本环节的一次性补正告知：materials、due、note、requested_at、tracking_no、received_at")


class StepRefusalView(Answer):
    step: str | None
    place: str | None
    words: str | None = Field(description="如“不予行政许可”")
    reason: str | None
    remedies: str | None = Field(description="申请人的救济途径")


class StepDone(Case):
    step: CaseStepDetail
    transfer_packets: list[PacketRef] = Field(description="寄往后续环节办理单位的纸质档案（转递档案）")


class CaseDetail(CaseSummary):
    """The whole case for the staff of its offices (personal data in full, each read logged)."""
    subject: dict[str, Any] | None
    materials: list[dict[str, Any]]
    identity_check: dict[str, Any] = Field(description="窗口核验的身份（委托代办时为代办人：of = agent）")
    applicant_identity_check: dict[str, Any] | None = Field(
        description="委托代办时申请人本人的身份核验 {method: id_copy|face|manual, passed}；本人办理为 null")
    result_delivery: dict[str, Any]
    note: str
    tracking_no: str | None
    route: list[RouteStop]
    intake_date: date
    received_at: datetime | None
    accepted_at: datetime | None
    decided_at: datetime | None
    outcome: Literal["approved", "refused"] | None
    delivered_at: datetime | None
    reason: str | None
    supplement: SupplementView | None
    receipt_url: str
    label_url: str | None
    packets: list[Packet]
    deadlines: list[Deadline]
    flags: list[Any]
    contents_problems: list[Any]
    deemed_accepted: bool
    events: list[CaseEventView]
    steps: list[CaseStepDetail] = Field(description="多地联办的各环节；一个单位办理的办件为空")
    electronic_result: ElectronicResultStaffView | None = Field(description="网络送达的电子结果（尚未办结为 null）")
    result_address: str = absent("邮寄结果的地址（仅办件两端机构）")
    check_code: str = absent("查询密码（仅收件机构，补打回执用）")


class CaseListItem(CaseSummary):
    overdue: bool
    stages: list[str] = absent("overdue=true 时：超期的环节")
    overdue_stages: list[Deadline] = absent()


class CaseList(Answer):
    cases: list[CaseListItem]
    page: int
    per_page: int
    total: int
    as_of: date = absent("overdue=true 时：计算超期的日期")


# -- packets, scans and manifests ---------------------------------------------------------------------------

class ScanOutcome(Answer):
    status: Literal["recorded", "duplicate", "rejected"]
    tracking_no: str = absent()
    packet_status: PacketStatus = absent()
    error: ErrorDetail = absent("status 为 rejected 时：原因")


class ScanResult(ScanOutcome):
    event_id: str | None
    manifest_no: str = absent("扫描交接清单时")
    packets: list[ScanOutcome] = absent("扫描交接清单时：清单上每件邮件的结果")


class ScanResults(Answer):
    results: list[ScanResult] = Field(description="每条扫描一项，顺序与请求相同")


class ManifestLine(Answer):
    tracking_no: str
    kind: PacketKind
    status: PacketStatus
    to_office: str | None
    to_division: str | None
    pieces: int


class Manifest(Answer):
    manifest_no: str
    from_office: str
    to_party: str = Field(description="courier:USERNAME 或 office:CODE")
    to_party_name: str
    created_by: str
    created_at: datetime
    handed_over_at: datetime | None
    cancelled_at: datetime | None
    confirmed_at: datetime | None
    count: int
    pieces: int
    packets: list[ManifestLine]
    pdf_url: str
    labels_url: str


class ReceiptCount(Answer):
    manifest_no: str
    received: int
    missing: list[str] = Field(description="清单上有、到达时未扫到的邮件号（各记一条异常）")
    extra: list[str] = Field(description="到达时扫到、清单上没有的邮件号")
    unknown: list[str] = Field(description="extra 中系统里没有的邮件号")
    not_sent: list[str] = Field(description="清单上有但从未寄出（已作废）的邮件号")


class ExceptionItem(PacketEventView):
    tracking_no: str
    packet_kind: PacketKind
    packet_status: PacketStatus
    case_no: str


class Exceptions(Answer):
    exceptions: list[ExceptionItem]


class Addressee(Answer):
    name: str = Field(description="收件人姓名（完整）")
    phone: str = Field(description="收件人电话（完整）")
    address: str = Field(description="收件地址（完整，含单元、室）")
    division_code: str
    division: str = Field(description="所在市、县（区）")


class Delivery(Answer):
    tracking_no: str
    case_no: str
    kind: PacketKind
    kind_text: str
    status: PacketStatus
    status_text: str
    manifest_no: str = Field(description="交给本寄递人员的交接清单")
    handed_over_at: datetime | None
    expected_arrival: date | None
    failed_attempts: int
    addressee: Addressee


class Deliveries(Answer):
    """The signed-in courier's home deliveries, full addresses (each read written to the access log)."""
    deliveries: list[Delivery]
    count: int


class PickupOffice(Answer):
    code: str
    name: str
    address: str
    phone: str


class PickupPacket(Answer):
    tracking_no: str
    kind: PacketKind
    kind_text: str
    status: PacketStatus
    status_text: str
    to: str = Field(description="收件机构名称；寄往个人的只写市、县（区）")


class Pickup(Answer):
    """An open handover sheet made out to the courier: packets waiting at an office to be collected."""
    manifest_no: str
    created_at: datetime
    from_office: PickupOffice
    packets: list[PickupPacket]
    count: int


class CourierToday(Answer):
    """The courier's day: pick-ups (open sheets made out to them) and home deliveries (full addresses,
    each read written to the access log)."""
    date: date
    pickups: list[Pickup]
    pickup_count: int = Field(description="待揽收邮件件数")
    deliveries: list[Delivery]
    delivery_count: int


# -- public ----------------------------------------------------------------------------------------------

class TimelineEvent(Answer):
    at: datetime
    type: str
    text: str
    place: str | None
    tracking_no: str = absent()
    step: str = absent("多地联办：所属环节的编码")


class TimelinePacket(Answer):
    tracking_no: str
    kind: PacketKind
    status: PacketStatus
    status_text: str
    expected_arrival: date | None
    late: bool


class NextStep(Answer):
    text: str
    expected: date | None
    yours: bool = Field(description="申请人自己要做的一步（其日期是期限）")


class SupplementAsk(Answer):
    materials: list[str]
    due: date | None


class ElectronicResult(Answer):
    url: str | None = Field(description="下载地址；链接过期后为 null")
    expires: datetime
    expired: bool
    downloaded: bool
    revoked: bool = Field(description="办理部门已撤销该电子结果（不能再下载）")


class PublicFollowUp(Answer):
    """What the applicant sees of a bad rating's follow-up: no names, no personal data."""
    status: Literal["open", "done"]
    status_text: str
    due: date | None
    at: datetime | None
    note: str | None = Field(description="整改情况（办理部门的答复）")
    visit_at: datetime | None
    visit_method_text: str | None


class Rating(Answer):
    score: int = Field(ge=1, le=5)
    score_text: str
    at: datetime
    stage_text: str = Field(description="评价所针对的环节")
    follow_up: PublicFollowUp | None


class Timeline(Answer):
    """What anyone with the number and the check code sees: no personal data."""
    case_no: str
    status: CaseStatus
    status_text: str
    matter: str
    owning_office: str | None
    collecting_office: str | None
    due_date: date
    due_date_provisional: bool
    due_date_estimated: bool
    expected_result_date: date | None
    promise_text: str = Field(description="如“预计2026年12月10日前办结，结果预计2026年12月14日送达”")
    overdue: bool
    outcome: Literal["approved", "refused"] | None = Field(description="办理结果，办结后才有")
    outcome_text: str | None = Field(description="准予 / 不予")
    packets: list[TimelinePacket]
    evaluable: bool
    events: list[TimelineEvent]
    result_method: Literal["mail", "pickup", "electronic"]
    result_method_text: str | None
    supplement: SupplementAsk | None
    next: list[NextStep]
    electronic_result: ElectronicResult | None
    evaluation: Rating | None
    steps: list[CaseStepView] = Field(description="多地联办的各环节及其办理单位；一个单位办理的办件为空")
    refusal: StepRefusalView | None = Field(description="多地联办：某一环节不予办理时的原因与救济途径")


class EvaluationRecorded(Answer):
    case_no: str
    score: int = Field(ge=1, le=5)
    follow_up: bool = Field(description="1–2 分：已为所评环节的负责单位开启整改")
    stage: Literal["window", "post", "office"]
    follow_up_due: date | None = Field(description="整改期限（1–2 分）")
    status: CaseStatus
    status_text: str


# -- federation (docs/federation.md) ---------------------------------------------------------------------

class MessageApplied(Answer):
    status: Literal["applied"]
    message_id: str
    result: dict[str, Any] = Field(description="消息类型各自的结果，如 node.ping 为 {\"pong\": 本节点编号}")


class MessageHeld(Answer):
    status: Literal["held"] = Field(description="前序消息未到，已收下，待补齐后按序处理")
    message_id: str


class DirectoryOfficeAnswer(Answer):
    code: str
    name: str
    kind: Literal["hall", "department", "hub"]
    division_code: str
    department: str | None
    serves: str | None
    address: str
    postcode: str
    phone: str
    lat: str = Field(description="纬度，十进制字符串（签名的规范 JSON 不含浮点数）")
    lon: str = Field(description="经度，十进制字符串")
    active: bool


class DirectoryBodyAnswer(Answer):
    prefixes: list[str] = Field(description="本节点负责的行政区划代码前缀")
    offices: list[DirectoryOfficeAnswer] = Field(description="前缀内的全部机构")


class NodeDirectory(Answer):
    """A node.directory envelope (docs/federation.md): verify `signature` with the node's published key."""
    message_id: str
    type: Literal["node.directory"]
    node: str = Field(description="发布目录的节点编号")
    to: str | None = Field(description="请求的节点编号（查询参数 node），未给出时为 null")
    case_ref: None
    seq: None
    sent_at: datetime
    body: DirectoryBodyAnswer
    signature: str = Field(description="base64url Ed25519 签名，覆盖除 signature 外全部字段的规范 JSON")


class Link(Answer):
    kind: Literal["peer", "platform"] = Field(description="对端节点或上级平台")
    destination: str = Field(description="对端节点编号，或平台名（cases、cross_province、ratings）")
    title: str
    waiting: int = Field(description="待发送（含发送失败待重试）")
    failing: int = Field(description="发送失败、等待重试")
    dead: int = Field(description="多次失败或被拒收，已停止重试（可用 flask federation replay 重发）")
    sent: int
    oldest_unsent_at: datetime | None = Field(description="最早一条未送达消息的生成时间")
    oldest_unsent_seconds: int | None = Field(description="它已等待的秒数")
    last_error: str | None = Field(description="最近一次失败的原因")


class Links(Answer):
    """The health of every link to a peer or platform (the federation outbox)."""
    links: list[Link]

