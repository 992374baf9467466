"""The OpenAPI 3 document served at /api/v1/openapi.json: every endpoint, in one table."""
from __future__ import annotations

from functools import lru_cache

ERROR = {"$ref": "#/components/schemas/Error"}
OBJ = {"type": "object"}

# (method, path, summary, who, request body schema or None, {status: description})
ENDPOINTS = [
    ("post", "/auth/token", "取得访问令牌", "public",
     {"type": "object", "required": ["username", "password"],
      "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
     {200: "token, role, office_code", 401: "用户名或密码错误"}),
    ("get", "/offices", "机构列表（kind, division 前缀过滤）", "staff", None, {200: "offices"}),
    ("get", "/matters", "事项目录（mode, q 过滤）", "staff", None, {200: "matters"}),
    ("post", "/cases", "窗口收件，登记办件并生成寄递件", "clerk", {"$ref": "#/components/schemas/CaseIntake"},
     {201: "办件", 400: "invalid_request", 403: "forbidden",
      422: "unknown_matter, not_proxy_eligible, invalid_id_number, invalid_credit_code, invalid_phone, "
           "missing_material, unknown_material, identity_check_failed, missing_subject, applicant_kind_not_allowed, "
           "same_locality, no_owning_office, result_type_unavailable, missing_address, idempotency_key_reused"}),
    ("get", "/cases", "办件列表（status, office, overdue, as_of, stage, id_number, page, per_page）；overdue=true 时"
                      "列出（截至 as_of）有环节超期的办件，各带超期环节 stages", "staff", None,
     {200: "cases, page, per_page, total", 400: "invalid_request (as_of, stage)"}),
    ("get", "/cases/{case_no}", "办件详情（含寄递件与事件）", "staff", None, {200: "办件", 403: "forbidden", 404: "not_found"}),
    ("post", "/cases/{case_no}/withdraw", "撤回申请", "clerk",
     {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
     {200: "办件，含 return_packet", 409: "invalid_transition"}),
    ("post", "/cases/{case_no}/accept", "受理", "officer", None,
     {200: "办件", 409: "invalid_transition, contents_incomplete"}),
    ("post", "/cases/{case_no}/supplement-requests", "一次性告知补正", "officer",
     {"type": "object", "required": ["materials"],
      "properties": {"materials": {"type": "array", "items": {"type": "string"}}, "note": {"type": "string"},
                     "due": {"type": "string", "format": "date"}}},
     {200: "办件", 409: "supplement_already_requested, invalid_transition"}),
    ("post", "/cases/{case_no}/reject", "不予受理", "officer",
     {"type": "object", "required": ["reason"],
      "properties": {"reason": {"type": "string"}, "apply_to": {"type": "string", "description": "应向何处申请"},
                     "apply_to_office": {"type": "string", "description": "应向其申请的机构代码"}}},
     {200: "办件，含 return_packet", 409: "invalid_transition", 422: "unknown_office"}),
    ("post", "/cases/{case_no}/decision", "办结", "officer",
     {"type": "object", "required": ["outcome"],
      "properties": {"outcome": {"enum": ["approved", "refused"]}, "note": {"type": "string"},
                     "result_file": {"type": "string", "format": "byte"}, "filename": {"type": "string"}}},
     {200: "办件，含 result_packet 或 delivery_url", 409: "invalid_transition"}),
    ("post", "/cases/{case_no}/follow-up", "差评整改：登记整改情况，关闭待整改", "officer of the owning office",
     {"type": "object", "required": ["note"],
      "properties": {"note": {"type": "string", "minLength": 5, "maxLength": 1000, "description": "整改情况"}}},
     {200: "办件，含 evaluation（score, score_text, comment, at, follow_up: status, note, at, by）",
      400: "invalid_request (note)", 403: "forbidden", 404: "not_found", 409: "no_open_follow_up"}),
    ("post", "/cases/{case_no}/supplements", "寄送补正材料", "clerk",
     {"type": "object", "required": ["materials"], "properties": {"materials": {"type": "array"}}},
     {201: "tracking_no, label_url", 409: "invalid_transition, supplement_already_sent"}),
    ("post", "/cases/{case_no}/handover-to-applicant", "窗口交付纸质结果", "clerk",
     {"type": "object", "required": ["identity_check"], "properties": {"identity_check": OBJ}},
     {200: "办件", 409: "invalid_transition", 422: "identity_check_failed"}),
    ("get", "/packets/{tracking_no}", "寄递件详情", "staff", None, {200: "寄递件", 404: "not_found"}),
    ("get", "/packets/{tracking_no}/label.pdf", "邮件面单 PDF（size=100x150|100x180|76x130）", "staff of the packet's offices",
     None, {200: "application/pdf", 400: "invalid_request (size; allowed)", 403: "forbidden", 404: "not_found",
            409: "label_unavailable"}),
    ("get", "/packets/{tracking_no}/label.zpl", "邮件面单 ZPL II（203 dpi，100×150 毫米）", "staff of the packet's offices",
     None, {200: "text/plain", 403: "forbidden", 404: "not_found", 409: "label_unavailable"}),
    ("get", "/cases/{case_no}/receipt.pdf", "收件回执（size=A4|A5）", "clerk of the collecting office", None,
     {200: "application/pdf", 400: "invalid_request", 403: "forbidden", 404: "not_found"}),
    ("get", "/cases/{case_no}/supplement-notice.pdf", "补正材料告知书", "staff of the case's offices", None,
     {200: "application/pdf", 403: "forbidden", 404: "not_found", 409: "no_supplement_request"}),
    ("get", "/cases/{case_no}/rejection-notice.pdf", "不予受理告知书", "staff of the case's offices", None,
     {200: "application/pdf", 403: "forbidden", 404: "not_found", 409: "not_rejected"}),
    ("post", "/manifests", "制作交接清单（整单成功或整单不成）", "clerk, officer",
     {"type": "object", "required": ["to_party", "tracking_nos"],
      "properties": {"to_party": {"type": "string", "description": "courier:USERNAME | office:CODE"},
                     "tracking_nos": {"type": "array", "items": {"type": "string"}}}},
     {201: "manifest_no, count, pdf_url, labels_url, packets", 400: "invalid_request", 403: "forbidden",
      409: "already_on_manifest, not_at_office", 422: "invalid_tracking_no, unknown_packet, unknown_party"}),
    ("get", "/manifests/{manifest_no}", "交接清单详情", "the handing and the receiving party", None,
     {200: "交接清单", 403: "forbidden", 404: "not_found"}),
    ("get", "/manifests/{manifest_no}.pdf", "交接清单 PDF（A4）", "the handing and the receiving party", None,
     {200: "application/pdf", 403: "forbidden", 404: "not_found"}),
    ("get", "/manifests/{manifest_no}/labels.pdf", "清单上全部面单（一个 PDF）", "the handing and the receiving party",
     None, {200: "application/pdf", 400: "invalid_request", 403: "forbidden", 404: "not_found", 409: "label_unavailable"}),
    ("post", "/packets/{tracking_no}/replacement", "丢失邮件补寄（默认复印件，关联丢失邮件）", "staff of the lost packet's sending office",
     {"type": "object", "properties": {"materials": {"type": "array"}}},
     {201: "tracking_no, label_url, replaces, route, expected_arrival", 403: "forbidden", 404: "not_found",
      409: "not_lost, already_replaced, invalid_transition", 422: "unknown_material"}),
    ("post", "/scans", "批量扫描（可离线）；一条记录可扫邮件号或交接清单号（manifest_no，整单交接）", "clerk, officer, courier",
     {"$ref": "#/components/schemas/ScanBatch"},
     {200: "results: recorded | duplicate | rejected (invalid_tracking_no, unknown_packet, invalid_transition, "
           "wrong_office, invalid_request, unknown_material, unknown_manifest, manifest_cancelled, "
           "manifest_handed_over, manifest_not_applied)；清单扫描另带 packets"}),
    ("post", "/manifests/{manifest_no}/receipt", "接收方按清单清点确认（缺件、多件记为异常）", "the receiving party",
     {"type": "object", "required": ["tracking_nos"],
      "properties": {"office_code": {"type": "string"}, "tracking_nos": {"type": "array", "items": {"type": "string"}}}},
     {200: "received, missing, extra, unknown, not_sent", 400: "invalid_request", 403: "forbidden", 404: "not_found",
      409: "not_handed_over, already_confirmed, manifest_cancelled", 422: "wrong_office"}),
    ("post", "/manifests/{manifest_no}/cancel", "作废尚未交接的清单", "the office that made it", None,
     {200: "交接清单", 403: "forbidden", 404: "not_found", 409: "manifest_handed_over, manifest_cancelled"}),
    ("get", "/exceptions", "寄递异常列表（since, until, reason）", "staff of the cases' offices, supervisors", None,
     {200: "exceptions", 400: "invalid_request", 403: "forbidden"}),
    ("get", "/track/{number}", "公众查询（办件编号或邮件号 + check）", "public", None,
     {200: "时间线", 404: "not_found", 429: "too_many_requests, too_many_attempts"}),
    ("post", "/track/{case_no}/evaluation", "好差评", "public",
     {"type": "object", "required": ["check", "score"],
      "properties": {"check": {"type": "string"}, "score": {"type": "integer", "minimum": 1, "maximum": 5},
                     "comment": {"type": "string"}}},
     {201: "评价已记录", 404: "not_found", 409: "already_evaluated, invalid_transition"}),
    ("get", "/deliveries/{token}", "下载电子结果", "public", None, {200: "文件", 404: "not_found", 410: "link_expired"}),
    ("get", "/openapi.json", "本文档", "public", None, {200: "OpenAPI 3"}),
]

SCHEMAS = {
    "Error": {"type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}},
    "Person": {"type": "object", "required": ["name", "id_number", "phone"], "properties": {
        "kind": {"enum": ["person"]}, "name": {"type": "string"}, "id_type": {"enum": ["resident_id"]},
        "id_number": {"type": "string"}, "phone": {"type": "string"}, "address": {"type": "string"},
        "division_code": {"type": "string", "pattern": "^\\d{6}$"}}},
    "CaseIntake": {"type": "object", "required": ["matter_code", "applicant", "materials", "identity_check",
                                                  "result_delivery"], "properties": {
        "matter_code": {"type": "string"},
        "applicant": {"oneOf": [{"$ref": "#/components/schemas/Person"}, {"type": "object", "properties": {
            "kind": {"enum": ["organisation"]}, "name": {"type": "string"}, "credit_code": {"type": "string"},
            "phone": {"type": "string"}, "address": {"type": "string"}, "division_code": {"type": "string"},
            "agent": {"$ref": "#/components/schemas/Person"}}}]},
        "subject": {"type": "object", "properties": {"division_code": {"type": "string"},
                                                     "description": {"type": "string"}}},
        "materials": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "copies": {"type": "integer"}, "original": {"type": "boolean"}}}},
        "identity_check": {"type": "object", "properties": {
            "method": {"enum": ["id_card_reader", "face", "manual"]}, "passed": {"type": "boolean"}}},
        "result_delivery": {"type": "object", "properties": {
            "method": {"enum": ["mail", "pickup", "electronic"]}, "address": {"type": "string"},
            "division_code": {"type": "string"}}},
        "note": {"type": "string"}}},
    "ScanBatch": {"type": "object", "required": ["scans"], "properties": {"scans": {"type": "array", "items": {
        "type": "object", "required": ["event_id", "type", "at"], "properties": {
            "event_id": {"type": "string"}, "tracking_no": {"type": "string"},
            "manifest_no": {"type": "string", "description": "instead of tracking_no: every packet on the sheet"},
            "type": {"enum": ["dispatched", "arrived_hub", "departed_hub", "out_for_delivery", "delivered",
                              "received", "exception"]},
            "at": {"type": "string", "format": "date-time"}, "office_code": {"type": ["string", "null"]},
            "note": {"type": "string"},
            "reason": {"enum": ["damaged", "lost", "misrouted", "refused", "address_unknown"]},
            "contents": {"type": "array"}}}}}},
}


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    paths: dict = {}
    for method, path, summary, who, request_schema, responses in ENDPOINTS:
        op = {"summary": summary, "description": f"调用方：{who}",
              "responses": {str(code): {"description": text, "content": {"application/json": {
                  "schema": ERROR if code >= 400 else OBJ}}} for code, text in responses.items()}}
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in ("case_no", "tracking_no", "number", "token") if "{%s}" % name in path]
        if params:
            op["parameters"] = params
        if who != "public":
            op["security"] = [{"bearer": []}]
            op["responses"].setdefault("401", {"description": "未登录", "content": {"application/json": {"schema": ERROR}}})
        if request_schema:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request_schema}}}
            if method == "post" and path != "/auth/token" and path != "/scans" and who != "public":
                op.setdefault("parameters", []).append(
                    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}})
        paths.setdefault("/api/v1" + path, {})[method] = op
    return {"openapi": "3.1.0",
            "info": {"title": "通办寄递 Tongban Relay API", "version": "1.0.0",
                     "description": "异地代收代办的办件、寄递件、扫描与公众查询接口。"},
            "paths": paths,
            "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}
