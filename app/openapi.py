"""The OpenAPI 3.1 document served at /api/v1/openapi.json, generated from the models the API uses.

One row of ROUTES per endpoint: who may call it, the command model its body is parsed into (the same
class the view hands to `parse`), the answer model (app.answers) or the file it sends, and the error codes
each status can carry. pydantic turns the models into JSON Schema; this module only assembles the
document, so a field added to a command shows up here by itself. What every route of a kind shares (the
401 of a staff endpoint, the 400 of a parsed body, the Idempotency-Key of a creating POST) is added by
`_errors` and `_operation`, not repeated in the table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app import answers as A
from app.users import Credentials
from labels import label, receipt
from mailing.states import EXCEPTION_REASONS
from tracking.commands import custody, decisions, evaluations, extensions, follow_ups, intake, manifests, results
from tracking.commands import carriers as carrier_commands
from tracking.commands import case_files, steps
from tracking.federation.envelope import Envelope
from tracking.model.deadlines import STAGES
from tracking.model.states import CaseStatus

PREFIX = "/api/v1"
PUBLIC = "public"
COMPONENTS = "#/components/schemas/{model}"


@dataclass(frozen=True)
class File:
    """An answer that is a file, not JSON."""
    media_type: str
    description: str
    headers: dict[str, str] = field(default_factory=dict)  # name → description
    alternatives: tuple[str, ...] = ()  # further media types a query parameter may ask for instead


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    schema: dict


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # under PREFIX, {name} for each path parameter
    summary: str
    who: str  # PUBLIC, or which staff may call it
    body: type[BaseModel] | None  # the command the view parses the JSON body into
    answer: type[BaseModel] | File
    errors: dict[int, tuple[str, ...]]  # status → the error codes it may carry
    status: int = 200
    query: tuple[Query, ...] = ()
    creates: bool = False  # takes an Idempotency-Key (the view is @creating)
    body_required: bool = True  # False: an empty body stands for {}
    also: tuple[tuple[int, type[BaseModel]], ...] = ()  # further success statuses and their answers
    form: type[BaseModel] | None = None  # a multipart/form-data body: these fields and a `file`


PDF = File("application/pdf", "PDF 文件")
DATE = {"type": "string", "format": "date"}


def _size(sizes, default: str) -> Query:
    return Query("size", "纸张规格", {"type": "string", "enum": list(sizes), "default": default})


LABEL_SIZE = _size(label.SIZES, label.DEFAULT_SIZE)
FORBIDDEN = {403: ("forbidden",)}
NOT_FOUND = {404: ("not_found",)}
# codes the body of a new case can be refused with, besides invalid_request (422: the first error's code)
# what the checks of an uploaded file refuse it with (tracking.files.checks, docs/files.md)
FILE_REFUSALS = ("file_empty", "file_too_large", "file_type_unsupported", "file_type_mismatch", "file_unreadable",
                 "image_too_large", "pdf_active_content", "pdf_encrypted", "file_too_many_pages",
                 "file_page_range_invalid")
INTAKE_RULES = ("unknown_matter", "not_proxy_eligible", "invalid_id_number", "invalid_credit_code", "invalid_phone",
                "missing_material", "unknown_material", "identity_check_failed", "missing_subject",
                "applicant_kind_not_allowed", "same_locality", "no_owning_office", "result_type_unavailable",
                "missing_address", "certified_copy_not_allowed", "invalid_email")

ROUTES: tuple[Route, ...] = (
    # -- auth and reference data
    Route("post", "/auth/token", "取得访问令牌", PUBLIC, Credentials, A.Token,
          {401: ("invalid_credentials",), 403: ("password_change_required", "account_locked"),
           429: ("too_many_requests", "too_many_attempts")}),
    Route("get", "/offices", "机构列表", "staff", None, A.Offices, {400: ("invalid_request",)}, query=(
        Query("kind", "机构类型", {"type": "string", "enum": ["hall", "department", "hub"]}),
        Query("division", "行政区划代码或其前缀（140900 指忻州市，含其下各县区）",
              {"type": "string", "pattern": "^[0-9]{1,6}$"}))),
    Route("get", "/matters", "事项目录", "staff", None, A.Matters, {}, query=(
        Query("mode", "办理方式", {"type": "string", "enum": ["online", "proxy", "joint"]}),
        Query("q", "名称或编码中的文字", {"type": "string"}))),
    # -- cases
    Route("post", "/cases", "窗口收件，登记办件并生成寄递件", "clerk of a hall", intake.CaseIntake, A.CaseCreated,
          {**FORBIDDEN, 422: INTAKE_RULES}, status=201, creates=True),
    Route("get", "/cases", "办件列表；overdue=true 时列出（截至 as_of）有环节超期的办件，各带超期环节 stages", "staff",
          None, A.CaseList, {400: ("invalid_request",)}, query=(
              Query("status", "办件状态", {"type": "string", "enum": [s.value for s in CaseStatus]}),
              Query("office", "收件或办理机构代码", {"type": "string"}),
              Query("overdue", "只列超期的办件", {"type": "string", "enum": ["true", "1", "false", "0"]}),
              Query("as_of", "计算超期的日期（默认今天）", DATE),
              Query("stage", "只列该环节超期的办件", {"type": "string", "enum": list(STAGES)}),
              Query("id_number", "申请人身份证号码或统一社会信用代码", {"type": "string"}),
              Query("page", "页码", {"type": "integer", "minimum": 1, "default": 1}),
              Query("per_page", "每页条数", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}))),
    Route("get", "/cases/{case_no}", "办件详情（含寄递件、时限与事件）；两端机构可见完整个人信息，每次查看记入访问日志",
          "staff of the case's offices, supervisors over them", None, A.CaseDetail, {**FORBIDDEN, **NOT_FOUND}),
    Route("post", "/cases/{case_no}/withdraw", "撤回申请；已寄出的材料装入退回件", "clerk of the collecting office",
          decisions.Withdrawal, A.CaseWithReturn, {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition",)},
          creates=True),
    Route("post", "/cases/{case_no}/accept", "受理", "officer of the owning office", None, A.Case,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition", "contents_incomplete")}, creates=True),
    Route("post", "/cases/{case_no}/supplement-requests", "一次性告知补正", "officer of the owning office",
          decisions.SupplementRequest, A.SupplementRequested,
          {**FORBIDDEN, **NOT_FOUND, 409: ("supplement_already_requested", "invalid_transition"),
           422: ("unknown_material", "invalid_due_date")}, creates=True),
    Route("post", "/cases/{case_no}/reject", "不予受理；原件装入退回件", "officer of the owning office",
          decisions.Rejection, A.CaseWithReturn,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition",), 422: ("unknown_office",)}, creates=True),
    Route("post", "/cases/{case_no}/decision", "办结：纸质结果带 result_packet，电子结果带 delivery_url",
          "officer of the owning office", decisions.Decision, A.CaseDecided,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition", "originals_not_arrived", "steps_pending"),
           422: ("result_file_size",)},
          creates=True),
    Route("post", "/cases/{case_no}/steps/{code}/accept", "多地联办：受理本单位的环节（其前序环节完成、转递档案送达后）",
          "officer of the step's office", None, A.StepDone,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition",)}, creates=True),
    Route("post", "/cases/{case_no}/steps/{code}/completion", "多地联办：完成本单位的环节：上传其产生的文书（files，Base64），"
          "纸质档案生成转递档案寄往后续环节的办理单位（transfer_packets），后续环节随即开始或待档案送达",
          "officer of the step's office", steps.StepCompletion, A.StepDone,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition",),
           422: ("missing_step_output", "unknown_output", *FILE_REFUSALS)}, status=201, creates=True),
    Route("post", "/cases/{case_no}/steps/{code}/supplement-request", "多地联办：本环节一次性告知补正：申请人到收件窗口"
          "提交，窗口以 POST /cases/{case_no}/supplements 寄往本环节办理单位；签收后本环节继续，等待的工作日不计入时限",
          "officer of the step's office", steps.StepSupplementRequest, A.StepDone,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition", "supplement_already_requested"),
           422: ("unknown_material", "invalid_due_date")}, creates=True),
    Route("post", "/cases/{case_no}/steps/{code}/refusal", "多地联办：受理后某一环节不予办理：办件终止，写明原因与救济途径，"
          "原件由持有单位装入退回件", "officer of the step's office", steps.StepRefusal, A.StepDone,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition",)}, creates=True),
    Route("post", "/cases/{case_no}/result-link", "重新发送电子结果下载链接（过期后或申请人遗失短信时）：新链接自现在起有效"
          "（delivery_link_days 天），此前的链接随即失效（410 link_replaced），申请人收到含新链接的短信",
          "clerk of the collecting office", None, A.ResultLinkReissued,
          {**FORBIDDEN, **NOT_FOUND, 409: ("no_electronic_result", "result_revoked")}, status=201, creates=True,
          body_required=False),
    Route("post", "/cases/{case_no}/result-revocation", "撤销电子结果：公开验证页显示“已撤销”（不显示原因），"
          "结果不能再下载，申请人收到通知", "officer of the owning office", results.Revocation, A.ResultRevoked,
          {**FORBIDDEN, **NOT_FOUND, 409: ("no_electronic_result", "already_revoked")}, creates=True),
    Route("get", "/cases/{case_no}/result-file", "查看电子结果文件（页面内预览，每次查看记入访问日志；不算申请人下载）",
          "clerks and officers of the case's two offices", None,
          File("*/*", "电子办理结果，按上传时的文件类型", {"X-Content-SHA256": "文件的 SHA-256（十六进制）"}),
          {**FORBIDDEN, **NOT_FOUND, 409: ("no_electronic_result",)}),
    # -- materials as files (docs/files.md)
    Route("post", "/cases/{case_no}/files", "上传材料扫描件（multipart：file、material_code，可选 pages 按页码拆分为多项材料、"
          "purpose=supplement 补正材料）；全部材料（或补正通知所列全部材料）都有扫描件时办件即为已签收",
          "clerk of the collecting office", None, A.FilesUploaded,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition",),
           422: ("unknown_material", *FILE_REFUSALS)}, status=201, creates=True, form=case_files.FileUpload),
    Route("get", "/cases/{case_no}/files", "办件的材料扫描件（每项材料的文件、页数，是否齐全；查看记入访问日志）",
          "clerks and officers of the case's two offices", None, A.CaseFiles, {**FORBIDDEN, **NOT_FOUND}),
    Route("get", "/files/{file_id}", "查看材料文件（Cache-Control: no-store；download=1 时作为附件下载；每次查看记入访问日志）",
          "clerks and officers of the case's two offices", None,
          File("application/pdf", "材料文件，按检查后的类型", {"X-Content-SHA256": "文件的 SHA-256（十六进制）"},
               alternatives=("image/jpeg", "image/png")),
          {**FORBIDDEN, **NOT_FOUND, 410: ("file_removed", "file_damaged", "file_missing")}, query=(
              Query("download", "1：作为附件下载", {"type": "string", "enum": ["1"]}),)),
    Route("get", "/files/{file_id}/thumbnail.png", "材料文件第一页的缩略图（每次查看记入访问日志）",
          "clerks and officers of the case's two offices", None, File("image/png", "PNG 缩略图"),
          {**FORBIDDEN, **NOT_FOUND, 410: ("file_removed", "file_damaged", "file_missing")}),
    Route("post", "/cases/{case_no}/extension", "延长办理期限（仅行政许可事项，已受理未办结时一次，1至10个工作日，经本机关负责人批准）",
          "officer of the owning office", extensions.Extension, A.CaseExtended,
          {**FORBIDDEN, **NOT_FOUND, 409: ("already_extended", "invalid_transition"),
           422: ("extension_not_allowed",)}, creates=True),
    Route("post", "/cases/{case_no}/follow-up", "差评整改：登记整改情况，关闭待整改", "officer of the owning office",
          follow_ups.FollowUp, A.CaseFollowedUp,
          {**FORBIDDEN, **NOT_FOUND, 409: ("no_open_follow_up",)}, creates=True),
    Route("post", "/cases/{case_no}/supplements", "寄送补正材料", "clerk of the collecting office",
          decisions.SupplementSending, A.PacketSent,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition", "supplement_already_sent"),
           422: ("unknown_material", "missing_material")}, status=201, creates=True),
    Route("post", "/cases/{case_no}/handover-to-applicant", "窗口交付纸质结果（collector：本人或登记的代办人领取）", "clerk of the collecting office",
          decisions.Handover, A.Case,
          {**FORBIDDEN, **NOT_FOUND, 409: ("invalid_transition",),
           422: ("identity_check_failed", "collector_not_allowed", "invalid_id_number")},
          creates=True),
    Route("get", "/cases/{case_no}/receipt.pdf", "收件回执", "clerk of the collecting office", None, PDF,
          {400: ("invalid_request",), **FORBIDDEN, **NOT_FOUND}, query=(_size(receipt.SIZES, "A4"),)),
    Route("get", "/cases/{case_no}/supplement-notice.pdf", "补正材料告知书", "staff of the case's offices", None, PDF,
          {**FORBIDDEN, **NOT_FOUND, 409: ("no_supplement_request",)}),
    Route("get", "/cases/{case_no}/rejection-notice.pdf", "不予受理告知书", "staff of the case's offices", None, PDF,
          {**FORBIDDEN, **NOT_FOUND, 409: ("not_rejected",)}),
    Route("get", "/cases/{case_no}/acceptance-notice.pdf", "受理通知书（已受理或视为受理）", "staff of the case's offices",
          None, PDF, {**FORBIDDEN, **NOT_FOUND, 409: ("not_accepted",)}),
    Route("get", "/cases/{case_no}/decision-notice.pdf", "不予许可决定书（按事项类型：不予办理公证决定书等），载明理由和救济途径",
          "staff of the case's offices", None, PDF, {**FORBIDDEN, **NOT_FOUND, 409: ("not_refused",)}),
    # -- packets and scans
    Route("get", "/packets/{tracking_no}", "寄递件详情（无个人信息）", "staff of the packet's offices and of the cases they "
          "see, supervisors over them, couriers (not admins)", None, A.Packet,
          {**FORBIDDEN, **NOT_FOUND}),
    Route("get", "/packets/{tracking_no}/label.pdf", "邮件面单 PDF", "staff of the packet's offices", None, PDF,
          {400: ("invalid_request",), **FORBIDDEN, **NOT_FOUND, 409: ("label_unavailable",)},
          query=(LABEL_SIZE,)),
    Route("get", "/packets/{tracking_no}/label.zpl", "邮件面单 ZPL II（203 dpi，100×150 毫米）",
          "staff of the packet's offices", None, File("text/plain", "ZPL II 指令"),
          {**FORBIDDEN, **NOT_FOUND, 409: ("label_unavailable",)}),
    Route("post", "/packets/{tracking_no}/replacement", "丢失邮件补寄（默认复印件，关联丢失邮件）",
          "staff of the lost packet's sending office", decisions.Replacement, A.ReplacementSent,
          {**FORBIDDEN, **NOT_FOUND, 409: ("not_lost", "already_replaced", "invalid_transition"),
           422: ("unknown_material",)}, status=201, creates=True, body_required=False),
    Route("post", "/scans", "批量扫描（可离线）；一条记录可扫邮件号，或扫交接清单号（manifest_no）整单交接；"
                            "每条各自记录、重复或拒绝（invalid_tracking_no、unknown_packet、invalid_transition、"
                            "wrong_office、forbidden（见 README“Who may scan what”）、invalid_request、unknown_material、unknown_manifest、manifest_cancelled、"
                            "manifest_handed_over、manifest_not_applied、implausible_time：扫描时间晚于服务器时钟"
                            "10分钟以上或早于365天前，见 README“Request limits”）",
          "clerk, officer, courier", custody.ScanBatch, A.ScanResults, FORBIDDEN),
    Route("get", "/exceptions", "寄递异常列表", "staff of the cases' offices, supervisors", None, A.Exceptions,
          {400: ("invalid_request",), **FORBIDDEN}, query=(
              Query("since", "起始日期（含）", DATE), Query("until", "截止日期（含）", DATE),
              Query("reason", "异常原因", {"type": "string", "enum": list(EXCEPTION_REASONS)}))),
    Route("get", "/courier/deliveries", "本人的投递清单：交给本寄递人员、寄往个人地址且尚未妥投的邮件，含完整收件人、地址和电话"
          "（每次查看记入访问日志）；妥投时以 POST /scans 记录 delivered 并附 signer", "courier", None, A.Deliveries,
          FORBIDDEN),
    Route("get", "/courier/today", "本人今日的揽收和投递：交给本寄递人员、尚未交接的交接清单（到寄出机构揽收）及其邮件，"
          "以及投递清单（同 GET /courier/deliveries，每次查看记入访问日志）", "courier", None, A.CourierToday,
          FORBIDDEN),
    Route("get", "/offices/{office_code}/postage", "邮资结算清单：本单位支付邮资、在该月交寄的邮件（交寄日期、邮件号、办件编号、"
          "事项、类型、寄出与寄达、重量、邮资、计费方式）及合计；format=csv（UTF-8 带 BOM，可用 Excel 打开）或 pdf",
          "clerks and officers of the office, supervisors over it", None,
          File("text/csv", "CSV（format=csv）或 PDF（format=pdf）", alternatives=("application/pdf",)),
          {400: ("invalid_request",), **FORBIDDEN, **NOT_FOUND}, query=(
              Query("month", "结算月份（默认本月，北京时间）", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}),
              Query("format", "文件格式", {"type": "string", "enum": ["csv", "pdf"], "default": "csv"}))),
    # -- handover sheets
    Route("post", "/manifests", "制作交接清单（整单成功或整单不成）", "clerk, officer", manifests.NewManifest, A.Manifest,
          {**FORBIDDEN, 409: ("already_on_manifest", "not_at_office"),
           422: ("invalid_tracking_no", "unknown_packet", "unknown_party")}, status=201, creates=True),
    Route("get", "/manifests/{manifest_no}", "交接清单详情", "the handing and the receiving party", None, A.Manifest,
          {**FORBIDDEN, **NOT_FOUND}),
    Route("get", "/manifests/{manifest_no}.pdf", "交接清单 PDF（A4）", "the handing and the receiving party", None, PDF,
          {**FORBIDDEN, **NOT_FOUND}),
    Route("get", "/manifests/{manifest_no}/labels.pdf", "清单上全部面单（一个 PDF）",
          "the handing and the receiving party", None, PDF,
          {400: ("invalid_request",), **FORBIDDEN, **NOT_FOUND, 409: ("label_unavailable",)},
          query=(LABEL_SIZE,)),
    Route("post", "/manifests/{manifest_no}/receipt", "接收方按清单清点确认（缺件、多件各记异常）", "the receiving party",
          custody.ManifestCount, A.ReceiptCount,
          {**FORBIDDEN, **NOT_FOUND, 409: ("not_handed_over", "already_confirmed", "manifest_cancelled"),
           422: ("wrong_office",)}, creates=True),
    Route("post", "/manifests/{manifest_no}/cancel", "作废尚未交接的清单", "the office that made it", None, A.Manifest,
          {**FORBIDDEN, **NOT_FOUND, 409: ("manifest_handed_over", "manifest_cancelled")}, creates=True),
    # -- public
    Route("get", "/track/{number}", "公众查询：办件编号或邮件号，加查询密码；不含个人信息", PUBLIC, None, A.Timeline,
          {404: ("not_found",), 429: ("too_many_requests", "too_many_attempts")},
          query=(Query("check", "6位查询密码（印在收件回执上）", {"type": "string"}),)),
    Route("post", "/track/{case_no}/evaluation", "好差评（每件一次；1–2 分转办理部门整改）", PUBLIC,
          evaluations.Evaluation, A.EvaluationRecorded,
          {404: ("not_found",), 409: ("already_evaluated", "invalid_transition"),
           429: ("too_many_requests", "too_many_attempts")}, status=201),
    Route("get", "/deliveries/{token}", "下载电子结果（首次下载即为送达）", PUBLIC, None,
          File("*/*", "电子办理结果，按上传时的文件类型", {"X-Content-SHA256": "文件的 SHA-256（十六进制）"}),
          {404: ("not_found",), 410: ("link_expired", "link_replaced", "result_revoked")}),
    Route("get", "/verify/{code}", "电子结果验证：凭验证码查询结果有效或已撤销、事项、出具部门和日期；不含个人信息，"
          "办件编号已脱敏；未知与格式不对的验证码同为 404", PUBLIC, None, A.Verification,
          {404: ("not_found",), 429: ("too_many_requests",)}),
    Route("get", "/openapi.json", "本文档（OpenAPI 3.1）", PUBLIC, None, File("application/json", "OpenAPI 3.1 文档"),
          {}),
    # -- carriers (docs/carriers.md)
    Route("post", "/carriers/pickups", "预约揽收：请本机构的承运方到窗口收取已下单、尚未交寄的全部邮件",
          "clerk, officer (own office)", carrier_commands.PickupRequest, A.PickupRequested,
          {**FORBIDDEN, 422: ("wrong_office", "no_carrier", "nothing_to_collect")}, status=202, creates=True,
          body_required=False),
    Route("post", "/carriers/{name}/events", "承运方轨迹推送（表单：msgBody、dataDigest 等，见 docs/carriers.md）：校验签名，"
          "每条轨迹按承运方编号只记一次，已识别的代码记为邮件扫描（操作人为承运方），未识别的保留并显示；"
          "按承运方要求的格式应答，签名错误 401、内容无法读取 400 也用此格式", PUBLIC, None, A.CarrierPushAnswer,
          {404: ("not_found",)}, also=((400, A.CarrierPushAnswer), (401, A.CarrierPushAnswer))),
    # -- federation: another installation, authenticated by its Ed25519 signature (docs/federation.md)
    Route("post", "/federation/messages", "接收协同节点的签名消息：同一消息编号重复发送时返回第一次的结果；"
          "早于前序消息到达的暂存（202），补齐后按序处理；无需账号，以节点签名认证", PUBLIC, Envelope,
          A.MessageApplied, {401: ("unknown_node", "bad_signature", "stale_message"),
                             403: ("not_a_party", "wrong_recipient"),
                             409: ("message_id_reused", "sequence_reused"), 422: ("unknown_message_type",)},
          also=((202, A.MessageHeld),)),
    Route("get", "/federation/directory", "本节点的机构目录（node.directory 签名消息）：本节点负责区划内的全部机构，"
          "协同节点以 flask federation directory sync 载入；无需账号，以节点签名认证", PUBLIC, None, A.NodeDirectory,
          {400: ("invalid_request",), 404: ("not_found",)},
          query=(Query("node", "请求方节点编号（写入消息的 to）", {"type": "string", "pattern": "^[0-9A-Za-z_-]{1,32}$"}),)),
    Route("get", "/federation/links", "对接链路状态：各协同节点、上级平台的待发送、失败重试、停止重试条数和最早未送达时间",
          "supervisor", None, A.Links, FORBIDDEN),
)

PATH_PARAMETERS = {
    "case_no": ("办件编号，如 140902-20261206-0008", "140902-20261206-0008"),
    "tracking_no": ("邮件号（UPU S10），如 EA000000005CN", "EA000000005CN"),
    "manifest_no": ("交接清单编号", None),
    "number": ("办件编号或邮件号", "140902-20261206-0008"),
    "token": ("电子结果下载链接中的签名令牌", None),
    "file_id": ("材料文件编号", "1"),
    "code": ("电子结果验证码（16位，可带分隔符），如 ABCD-EFGH-JKLM-NPQR", None),
    "office_code": ("机构代码，如 H140902", "H140902"),
    "name": ("承运方：ems", "ems"),
}
STATUS_TEXT = {200: "成功", 201: "已创建", 202: "已收下，暂存待处理", 400: "请求格式错误", 401: "未登录或令牌无效", 403: "无权进行此操作",
               404: "未找到", 409: "与当前状态不符", 410: "链接已失效", 413: "请求内容过大", 422: "被业务规则拒绝",
               429: "请求过于频繁"}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "同一用户、同一路径、同一键且请求体相同：返回第一次的结果，不再新建；"
                                  "请求体不同：422 idempotency_key_reused",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}


def _errors(route: Route) -> dict[int, tuple[str, ...]]:
    """The route's own error codes, and those every route of its kind can answer."""
    errors = {status: list(codes) for status, codes in route.errors.items()}

    def add(status: int, *codes: str) -> None:
        listed = errors.setdefault(status, [])
        listed.extend(code for code in codes if code not in listed)

    # malformed JSON, a missing or mistyped field; on every route, a NUL in any parameter (app.api._edge)
    add(400, "invalid_request")
    if route.body is not None or route.form is not None:
        add(413, "invalid_request")
    if route.who != PUBLIC:
        add(401, "unauthorized")
        if route.method != "get":
            add(400, "csrf_failed")  # a change made with the pages' cookie must carry the page's CSRF token
    if route.creates:
        add(400, "invalid_request")
        add(409, "request_in_progress")
        add(422, "idempotency_key_reused")
    return {status: tuple(errors[status]) for status in sorted(errors)}


def _error_response(status: int, codes: tuple[str, ...]) -> dict:
    # a $ref with sibling keywords narrows the envelope to this status's codes (JSON Schema 2020-12)
    schema = {"$ref": COMPONENTS.format(model="Error"),
              "properties": {"error": {"properties": {"code": {"enum": list(codes)}}}}}
    return {"description": f"{STATUS_TEXT[status]}：{'、'.join(codes)}",
            "content": {"application/json": {"schema": schema}}}


def _answer(route: Route, schemas: dict[type, dict]) -> dict:
    if isinstance(route.answer, File):
        media = route.answer.media_type
        answer = {"description": route.answer.description,
                  "content": {m: {"schema": {"type": "string"}} if m.startswith("text/") else {}
                              for m in (media, *route.answer.alternatives)}}
        if route.answer.headers:
            answer["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                 for name, text in route.answer.headers.items()}
        return answer
    return {"description": STATUS_TEXT[route.status],
            "content": {"application/json": {"schema": schemas[route.answer]}}}


def _operation(route: Route, schemas: dict[type, dict]) -> dict:
    parameters = []
    for name in re.findall(r"{(\w+)}", route.path):
        description, example = PATH_PARAMETERS[name]
        parameters.append({"name": name, "in": "path", "required": True, "description": description,
                           "schema": {"type": "string"}, **({"example": example} if example else {})})
    parameters += [{"name": q.name, "in": "query", "required": False, "description": q.description,
                    "schema": q.schema} for q in route.query]
    if route.creates:
        parameters.append(IDEMPOTENCY_KEY)
    operation: dict[str, Any] = {
        "operationId": route.method + "_" + re.sub(r"\W+", "_", route.path).strip("_"),
        "tags": [route.path.split("/")[1].split(".")[0]],
        "summary": route.summary, "description": f"调用方：{route.who}",
        "security": [] if route.who == PUBLIC else [{"bearer": []}],
    }
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {"required": route.body_required,
                                    "content": {"application/json": {"schema": schemas[route.body]}}}
    if route.form is not None:
        upload = {"type": "object", "required": ["file"],
                  "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                                          "description": "PDF、JPEG 或 PNG（按内容检查，不看扩展名）"}}}
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": {"allOf": [schemas[route.form], upload]}}}}
    operation["responses"] = {str(route.status): _answer(route, schemas),
                              **{str(status): {"description": STATUS_TEXT[status],
                                               "content": {"application/json": {"schema": schemas[model]}}}
                                 for status, model in route.also},
                              **{str(status): _error_response(status, codes)
                                 for status, codes in _errors(route).items()}}
    return operation


def _nullable(schema: dict) -> bool:
    kinds = schema.get("type")
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds) or None in schema.get("enum", ()) \
        or any(_nullable(choice) for key in ("anyOf", "oneOf") for choice in schema.get(key, ()))


def _as_clients_see_it(schemas: dict[str, dict]) -> None:
    """Two things pydantic says from Python's side that a JSON client reads otherwise. A field made with
    inputs.asked() defaults to None only so that leaving it out reaches its own message: None is not a
    value it takes, so to a client it is required. And bytes travel in JSON as Base64 text."""
    for schema in schemas.values():
        for name, prop in schema.get("properties", {}).items():
            if "default" in prop and prop["default"] is None and not _nullable(prop):
                del prop["default"]
                schema.setdefault("required", []).append(name)
    stack: list[Any] = list(schemas.values())
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("format") == "binary":
                del node["format"]
                node["contentEncoding"] = "base64"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    models = list(dict.fromkeys([A.Error] + [r.body for r in ROUTES if r.body is not None]
                                + [r.form for r in ROUTES if r.form is not None]
                                + [r.answer for r in ROUTES if not isinstance(r.answer, File)]
                                + [model for r in ROUTES for _status, model in r.also]))
    refs, definitions = models_json_schema([(model, "validation") for model in models], ref_template=COMPONENTS)
    schemas = {model: refs[model, "validation"] for model in models}
    components = definitions.get("$defs", {})
    _as_clients_see_it(components)
    paths: dict[str, dict] = {}
    for route in ROUTES:
        paths.setdefault(PREFIX + route.path, {})[route.method] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "通办寄递 Tongban Relay API", "version": "1.0.0",
                 "description": "异地代收代办的办件、寄递件、扫描与公众查询接口。错误一律为 "
                                "{\"error\": {\"code\", \"message\", \"field\"}}；请求体解析出错时 errors 列出全部字段错误。"
                                "答复中可能出现本文档未列出的字段，客户端应忽略。时间为北京时间（+08:00）。"},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "POST /api/v1/auth/token 取得的令牌"}}},
    }
