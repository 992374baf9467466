"""The JSON API (/api/v1): parse, call one use case, answer."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date
from functools import wraps
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from sqlmodel import select
from wtforms.validators import ValidationError

from app import idempotency
from app.addresses import (delivery_path, files_answer, label_path, receipt_path, timeline_answer, with_case_links,
                           with_file_links, with_manifest_links, with_packet_links)
from app.http_errors import status_of
from app.openapi import openapi_document
from app.ratelimit import rate_limited
from app.tasks import after_change
from app.sign_ins import sign_in
from app.users import Credentials, courier_name, issue_token, staff_label, user_for_token
from app.web import csrf, env, file_store, page_error, writes
from config import clock
from labels import label, manifest, notices, receipt, zpl
from labels.postage import statement_pdf
from routing.matter_types import type_title
from routing.reference import department_names, search_matters
from routing.reference import directory as load_directory, matter as cached_matter
from routing.tables import Department, Matter, Office
from tracking.commands import custody, decisions, evaluations, extensions, follow_ups, intake, manifests, results
from tracking.commands import case_files, steps
from tracking.federation import outbox
from tracking.model import lookups
from tracking.model.errors import Kind, Refused, bad_request, forbidden, unauthenticated
from tracking.model.inputs import EARLIEST_DATE, LATEST_DATE, parse, plausible_date, unreadable
from tracking.model.states import CaseStatus
from tracking.model import verification
from tracking.reads import deliveries, documents, timeline, views
from tracking.reads import results as result_reads
from tracking.reads import case_files as file_reads
from tracking.reads.steps import steps_view
from tracking.reads import postage as postage_reads
from tracking.reads.statistics import to_csv

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Limits at the edge (README, "Request limits"). The body's size is the app's MAX_CONTENT_LENGTH (413 past it).
MAX_DEPTH = 32        # objects and lists inside each other; the deepest command nests 4
MAX_PAGE = 100_000    # list pages; per_page is capped at MAX_PER_PAGE
MAX_PER_PAGE = 200
POSTAGE_FORMATS = ("csv", "pdf")
_TOO_DEEP = f"请求内容嵌套过深（最多{MAX_DEPTH}层）。"


def _nested_within_limit(data) -> bool:
    """Whether decoded JSON nests at most MAX_DEPTH levels: walked level by level, never recursively."""
    level = [data]
    for _ in range(MAX_DEPTH):
        level = [child for node in level if isinstance(node, (dict, list))
                 for child in (node.values() if isinstance(node, dict) else node)]
    return not any(isinstance(node, (dict, list)) for node in level)


@bp.before_request
def _edge():
    """What no view should ever see: a NUL in a query or path parameter or a header kept with the
    request (PostgreSQL refuses it in text), and JSON nested past MAX_DEPTH, refused here before anything
    else reads the body (an idempotency digest too). A body past MAX_CONTENT_LENGTH is answered 413."""
    req = request._get_current_object()  # once: each use of the proxy looks the request up again
    headers = req.headers
    values = [*req.args.keys(), *req.args.values(), *(req.view_args or {}).values(),
              headers.get("Idempotency-Key", ""), headers.get("X-Request-Id", "")]
    if unreadable("\n".join(value for value in values if isinstance(value, str))):
        raise bad_request("请求参数含有无法识别的字符。")
    if not req.content_length and "chunked" not in headers.get("Transfer-Encoding", ""):
        return  # no body (a GET): nothing to read
    raw = req.get_data()
    if not raw:
        return
    try:
        data = json.loads(raw)
    except RecursionError:  # the decoder's own limit, far past ours
        raise bad_request(_TOO_DEEP, "body") from None
    except ValueError:
        return  # not JSON: refused by `body` where a body is read
    if not _nested_within_limit(data):
        raise bad_request(_TOO_DEEP, "body")
    if req.is_json:
        g.json_body = data


def body(optional: bool = False) -> dict:
    if optional and not request.get_data():
        return {}
    data = g.get("json_body")
    if not isinstance(data, dict):
        raise bad_request("请求内容应为 JSON 对象。")
    return data


def _session_user():
    """The user signed in on the pages, for a page that fetches or opens an API address (a PDF to
    print). A change by cookie must carry the page's CSRF token, as a form would."""
    if not current_user.is_authenticated:
        return None
    if request.method not in ("GET", "HEAD"):
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except ValidationError:
            raise bad_request(code="csrf_failed", message="页面已过期，请刷新后重试。") from None
    return current_user._get_current_object()


def staff(view):
    """Bearer token (or a signed-in page session) required."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            user = user_for_token(g.db, header[7:].strip())
        else:
            user = _session_user()
        if user is None:
            raise unauthenticated("unauthorized", "请先登录（缺少或无效的访问令牌）。")
        g.actor = user.actor(request.headers.get("Idempotency-Key") or request.headers.get("X-Request-Id"))
        return view(*args, **kwargs)
    return wrapper


def changes(view):
    """After a change is committed, the notifications it queued go out (a task: in-process by
    default, on the broker's worker when one is configured)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        answer = view(*args, **kwargs)
        g.db.close()  # end the request's transaction first: an in-process task opens its own
        after_change()
        return answer
    return wrapper


def _request_digest() -> str:
    """What makes two requests the same for Idempotency-Key: the body; a multipart upload by its fields and
    its files' content (the boundary between the parts changes with every send)."""
    if request.mimetype != "multipart/form-data":
        return idempotency.body_digest(request.get_data())
    parts = sorted(request.form.items(multi=True))
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        parts.append((name, upload.filename or "", hashlib.sha256(upload.stream.read()).hexdigest()))
        upload.stream.seek(0)
    return idempotency.body_digest(json.dumps(parts, ensure_ascii=False).encode())


def creating(view):
    """Idempotency-Key: the same key and body from the same user on the same path answer once."""
    @wraps(view)
    @changes
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            answer, status = view(*args, **kwargs)
            return jsonify(answer), status
        who, path = g.actor.username, request.path
        replay = idempotency.claim(g.db, env().sealer, who, path, key, _request_digest())
        if replay is not None:
            return jsonify(replay[1]), replay[0]
        try:
            answer, status = view(*args, **kwargs)
        except Refused as e:
            g.db.rollback()
            idempotency.settle(g.db, env().sealer, who, path, key, status_of(e), e.body())
            raise
        except Exception:
            g.db.rollback()
            idempotency.settle(g.db, env().sealer, who, path, key, 500, None)
            raise
        idempotency.settle(g.db, env().sealer, who, path, key, status, answer)
        return jsonify(answer), status
    return wrapper


# -- auth and reference data -------------------------------------------------------------

@bp.post("/auth/token")
def token():
    rate_limited("sign_in")
    user = sign_in(g.db, parse(Credentials, body()), request.remote_addr or "?",
                   current_app.config["TONGBAN"].sign_in_lock_after)
    if user is None:
        raise unauthenticated("invalid_credentials", "用户名或密码错误。")
    if user.must_change_password:  # a password someone else knows opens the change-password page only
        raise Refused(Kind.FORBIDDEN, "password_change_required", "请先在页面上修改临时密码，再使用本系统。")
    value = issue_token(g.db, user, current_app.config["TONGBAN"].token_hours)
    g.db.commit()
    return {"token": value, "role": user.role, "office_code": user.office_code, "username": user.username,
            "name": user.name}


@bp.get("/offices")
@staff
def offices():
    query = select(Office).where(Office.active == True)  # noqa: E712
    kind = request.args.get("kind")
    if kind:
        if kind not in ("hall", "department", "hub"):
            raise bad_request("机构类别应为政务服务中心、办理部门或邮件处理中心。", "kind")
        query = query.where(Office.kind == kind)
    prefix = request.args.get("division") or ""
    if prefix:
        if not prefix.isdigit() or len(prefix) > 6:
            raise bad_request("行政区划应为6位数字代码或其前几位。", "division")
        while len(prefix) > 2 and prefix.endswith("00"):  # 140900 names the city: its 1409xx offices
            prefix = prefix[:-2]
        query = query.where(Office.division_code.startswith(prefix))
    names = {d.code: d.name for d in g.db.exec(select(Department))}
    return {"offices": [{"code": o.code, "name": o.name, "kind": o.kind, "division_code": o.division_code,
                         "address": o.address, "postcode": o.postcode, "phone": o.phone, "lat": o.lat, "lon": o.lon,
                         "departments": [{"code": o.department, "name": names.get(o.department, o.department)}]
                         if o.department else []}
                        for o in g.db.exec(query.order_by(Office.code))]}


def matter_view(m: Matter, names: dict) -> dict:
    return {"code": m.code, "name": m.name, "department": m.department,
            "department_name": names.get(m.department, m.department), "type": m.type, "type_text": type_title(m.type),
            "legal_basis": m.legal_basis, "level": m.level, "modes": m.modes,
            "jurisdiction": m.jurisdiction, "applicant_kinds": m.applicant_kinds, "legal_days": m.legal_days,
            "promised_days": m.promised_days, "result_types": m.result_types,
            # the catalogue's flags are written only where true: clients get both on every item
            "materials": [{**item, "kept": bool(item.get("kept")), "certified_copy": bool(item.get("certified_copy"))}
                          for item in m.materials],
            "steps": [{"code": s.code, "name": s.name, "place": s.place, "owner": s.owner, "department": s.department,
                       "level": s.level, "promised_days": s.promised_days, "after": list(s.after),
                       "takes": list(s.takes), "legal_basis": s.legal_basis,
                       "produces": [asdict(o) for o in s.produces]} for s in steps.matter_steps(m)]}


@bp.get("/matters")
@staff
def matters():
    found = search_matters(g.db, request.args.get("q") or "", request.args.get("mode"))
    names = department_names(g.db)
    return {"matters": [matter_view(m, names) for m in found]}


# -- cases ---------------------------------------------------------------------------------

def _packet_ref(packet) -> dict | None:
    if packet is None:
        return None
    return {"tracking_no": packet.tracking_no, "kind": packet.kind,
            "label_url": label_path(packet.tracking_no)}


def _case_answer(case, **extra) -> dict:
    directory = load_directory(g.db)
    matter = cached_matter(g.db, case.matter_code)
    answer = views.case_summary(directory, case, {matter.code: matter.name})
    answer["reason"] = case.reason or None
    answer.update(extra)
    return answer


@bp.post("/cases")
@staff
@creating
def create_case():
    intake.collecting_hall(load_directory(g.db), g.actor)
    cmd = parse(intake.CaseIntake, body(), context=intake.intake_context(g.db))
    made = intake.register_case(g.db, env(), g.actor, cmd)
    case, packet = made.case, made.packet  # no packet: every material travels as a file
    answer = {**_case_answer(case), "tracking_no": packet.tracking_no if packet else None,
              "check_code": made.check_code, "route": packet.route if packet else [],
              "receipt_url": receipt_path(case.case_no), "label_url": label_path(packet.tracking_no) if packet else None,
              "files_url": url_for("api.case_files_list", case_no=case.case_no)}
    g.db.commit()
    return answer, 201


DATE_ARGS = {"as_of": "截止日期", "since": "开始日期", "until": "结束日期"}  # the words a message says for each


def _date_arg(name: str) -> date | None:
    title = DATE_ARGS.get(name, "日期")
    try:
        day = date.fromisoformat(request.args[name]) if request.args.get(name) else None
    except ValueError:
        raise bad_request(f"{title}应为年-月-日，例如 2026-03-02。", name) from None
    if day is not None and not plausible_date(day):
        raise bad_request(f"{title}应在{EARLIEST_DATE.year}年至{LATEST_DATE.year}年之间。", name)
    return day


@bp.get("/cases")
@staff
def list_cases():
    args = request.args
    try:
        page = max(1, int(args.get("page", 1)))
        per_page = min(MAX_PER_PAGE, max(1, int(args.get("per_page", 50))))
    except ValueError:
        raise bad_request("页码和每页条数应为正整数。", "page") from None
    if page > MAX_PAGE:
        raise bad_request(f"页码最大为{MAX_PAGE}。", "page")
    as_of = _date_arg("as_of")
    id_number = args.get("id_number")
    return views.list_cases(g.db, env(), g.actor, status=args.get("status"), office=args.get("office"), page=page,
                            per_page=per_page, overdue=args.get("overdue") in ("true", "1"), as_of=as_of,
                            stage=args.get("stage"),
                            id_hash=env().sealer.lookup_hash(id_number) if id_number else None)


@bp.get("/cases/<case_no>")
@staff
def get_case(case_no):
    return with_case_links(views.case_view(g.db, env(), g.actor, case_no))


def _sent_answer(made: decisions.SentPacket, **extra) -> dict:
    """A case and the packet a use case just made for it (supplements, a replacement)."""
    return {**_case_answer(made.case), **_packet_ref(made.packet), "route": made.packet.route, **extra}


def _decided_answer(made: decisions.Decided) -> dict:
    if made.delivery is not None:
        sent = {"delivery_url": delivery_path(made.delivery.token),
                "delivery_expires": clock.iso(made.delivery.expires)}
        if made.return_packet is not None:
            sent["return_packet"] = _packet_ref(made.return_packet)
    else:
        sent = {"result_packet": _packet_ref(made.result_packet)}
    sent["originals_returned"] = [{"code": m["code"], "name": m["name"], "copies": m["copies"]}
                                  for m in made.originals_returned]
    return _case_answer(made.case, outcome=made.case.outcome, **sent)


def _committed(answer: dict, status: int = 200) -> tuple[dict, int]:
    """The answer is built from what the use case changed, then the request's work is committed."""
    g.db.commit()
    return answer, status


@bp.post("/cases/<case_no>/accept")
@staff
@creating
def accept(case_no):
    return _committed(_case_answer(decisions.accept_case(g.db, env(), g.actor, case_no)))


@bp.post("/cases/<case_no>/supplement-requests")
@staff
@creating
def supplement_request(case_no):
    case = decisions.request_supplement(g.db, env(), g.actor, case_no, parse(decisions.SupplementRequest, body()))
    return _committed(_case_answer(case, supplement={"materials": case.supplement_materials,
                                                     "due": case.supplement_due.isoformat()}))


@bp.post("/cases/<case_no>/supplements")
@staff
@creating
def supplements(case_no):
    made = decisions.send_supplement(g.db, env(), g.actor, case_no, parse(decisions.SupplementSending, body()))
    return _committed(_sent_answer(made), 201)


@bp.post("/cases/<case_no>/reject")
@staff
@creating
def reject(case_no):
    made = decisions.reject_case(g.db, env(), g.actor, case_no, parse(decisions.Rejection, body()))
    return _committed(_case_answer(made.case, return_packet=_packet_ref(made.return_packet)))


@bp.post("/cases/<case_no>/withdraw")
@staff
@creating
def withdraw(case_no):
    made = decisions.withdraw_case(g.db, env(), g.actor, case_no, parse(decisions.Withdrawal, body()))
    return _committed(_case_answer(made.case, return_packet=_packet_ref(made.return_packet)))


@bp.post("/cases/<case_no>/decision")
@staff
@creating
def decision(case_no):
    made = decisions.decide_case(g.db, env(), g.actor, case_no, parse(decisions.Decision, body()))
    return _committed(_decided_answer(made))


# -- 多地联办: each step's office acts on its step -----------------------------------------------

def _step_answer(case, code: str, **extra) -> dict:
    step = next(s for s in steps_view(g.db, load_directory(g.db), case) if s["code"] == code)
    return _case_answer(case, step=step, **extra)


@bp.post("/cases/<case_no>/steps/<code>/accept")
@staff
@creating
def step_accept(case_no, code):
    return _committed(_step_answer(steps.accept_step(g.db, env(), g.actor, case_no, code), code))


@bp.post("/cases/<case_no>/steps/<code>/completion")
@staff
@creating
def step_completion(case_no, code):
    case, _, packets = steps.complete_step(g.db, env(), file_store(), g.actor, case_no, code,
                                           parse(steps.StepCompletion, body()))
    return _committed(_step_answer(case, code, transfer_packets=[_packet_ref(p) for p in packets]), 201)


@bp.post("/cases/<case_no>/steps/<code>/supplement-request")
@staff
@creating
def step_supplement_request(case_no, code):
    case = steps.request_step_supplement(g.db, env(), g.actor, case_no, code,
                                         parse(steps.StepSupplementRequest, body()))
    return _committed(_step_answer(case, code))


@bp.post("/cases/<case_no>/steps/<code>/refusal")
@staff
@creating
def step_refusal(case_no, code):
    made = decisions.refuse_step(g.db, env(), g.actor, case_no, code, parse(steps.StepRefusal, body()))
    return _committed(_step_answer(made.case, code, return_packet=_packet_ref(made.return_packet)))


@bp.post("/cases/<case_no>/result-link")
@staff
@creating
def result_link(case_no):
    """The window re-issues an electronic result's download link (the previous one stops working)."""
    made = results.reissue_link(g.db, env(), g.actor, case_no)
    return _committed({"case_no": made.case.case_no, "delivery_url": delivery_path(made.delivery.token),
                       "expires_at": clock.iso(made.delivery.expires),
                       "verification_code": verification.grouped(made.result.verification_code)}, 201)


@bp.post("/cases/<case_no>/result-revocation")
@staff
@creating
def result_revocation(case_no):
    stored = results.revoke_result(g.db, env(), g.actor, case_no, parse(results.Revocation, body()))
    return _committed({"case_no": case_no.upper(), "status": "revoked",
                       "verification_code": verification.grouped(stored.verification_code),
                       "revoked_at": clock.iso(stored.revoked_at), "reason": stored.revoke_reason})


@bp.get("/cases/<case_no>/result-file")
@staff
def result_file(case_no):
    """The electronic result for the staff of the case's offices to look at (not a delivery)."""
    stored = result_reads.result_file_for_staff(g.db, env(), g.actor, case_no)
    return Response(stored.data, mimetype=stored.content_type,
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(stored.filename)}",
                             "X-Content-SHA256": stored.sha256})


@bp.post("/cases/<case_no>/follow-up")
@staff
@creating
def follow_up(case_no):
    made = follow_ups.record_follow_up(g.db, env(), g.actor, case_no, parse(follow_ups.FollowUp, body()))
    return _committed(_case_answer(made.case, evaluation=views.evaluation_view(made.evaluation)))


@bp.post("/cases/<case_no>/extension")
@staff
@creating
def extension(case_no):
    case = extensions.extend_case(g.db, env(), g.actor, case_no, parse(extensions.Extension, body()))
    return _committed(_case_answer(case, extension={"days": case.extension_days, "reason": case.extension_reason,
                                                    "extended_at": clock.iso(case.extended_at)}))


@bp.post("/cases/<case_no>/handover-to-applicant")
@staff
@creating
def handover(case_no):
    case = decisions.hand_over(g.db, env(), g.actor, case_no, parse(decisions.Handover, body()))
    return _committed(_case_answer(case))


# -- materials as files (issue 16; docs/files.md) ---------------------------------------------

@bp.post("/cases/<case_no>/files")
@staff
@creating
def case_files_upload(case_no):
    """One scan of a case's material(s), multipart: `file`, `material_code`, optional `pages`, `purpose`."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise bad_request("请选择要上传的文件（PDF、JPEG 或 PNG）。", "file")
    command = parse(case_files.FileUpload, {k: v for k, v in request.form.items() if k in case_files.FileUpload.model_fields})
    made = case_files.upload_case_files(g.db, env(), file_store(), g.actor, case_no, command, upload.read(),
                                        upload.filename)
    names = {m["code"]: m["name"] for m in [*made.case.materials, *(made.case.supplement_materials or [])]}
    answer = {**_case_answer(made.case), "received": made.received,
              "files": [with_file_links(file_reads.file_row(f, names)) for f in made.files]}
    return _committed(answer, 201)


@bp.get("/cases/<case_no>/files")
@staff
def case_files_list(case_no):
    found = files_answer(file_reads.case_files(g.db, g.actor, case_no))
    for material in found["materials"]:  # the API names each material's files by id (listed in `files`)
        material["files"] = [f["id"] for f in material["files"]]
    g.db.commit()  # the access log row
    return found


def _file_response(opened: case_files.Opened, disposition: str = "inline") -> Response:
    # personal data: never kept by a proxy or the browser cache, never sniffed into something else
    return Response(opened.data, mimetype=opened.content_type,
                    headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(opened.filename)}",
                             "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                             "X-Content-SHA256": hashlib.sha256(opened.data).hexdigest()})


@bp.get("/files/<int:file_id>")
@staff
def case_file(file_id):
    opened = case_files.open_case_file(g.db, env(), file_store(), g.actor, file_id)
    g.db.commit()  # the access log row
    return _file_response(opened, "attachment" if request.args.get("download") == "1" else "inline")


@bp.get("/files/<int:file_id>/thumbnail.png")
@staff
def case_file_thumbnail(file_id):
    opened = case_files.open_case_file(g.db, env(), file_store(), g.actor, file_id, thumbnail=True)
    g.db.commit()
    return _file_response(opened)


# -- packets and scans -----------------------------------------------------------------------

@bp.get("/packets/<tracking_no>")
@staff
def packet(tracking_no):
    return with_packet_links(views.packet_for_staff(g.db, g.actor, tracking_no))


@bp.post("/packets/<tracking_no>/replacement")
@staff
@creating
def replacement(tracking_no):
    made = decisions.send_replacement(g.db, env(), g.actor, tracking_no,
                                      parse(decisions.Replacement, body(optional=True)))
    return _committed(_sent_answer(made, replaces=tracking_no.upper(),
                                   expected_arrival=made.packet.expected_arrival.isoformat()), 201)


def _outcome(outcome: custody.Outcome) -> dict:
    """What a scan did to a packet, as the contract's JSON: only the keys that apply."""
    answer = {"status": outcome.status}
    if outcome.tracking_no is not None:
        answer["tracking_no"] = outcome.tracking_no
    if outcome.packet_status is not None:
        answer["packet_status"] = outcome.packet_status
    if outcome.error is not None:
        answer["error"] = outcome.error.body()["error"]
    return answer


def _scan_answer(result: custody.ScanResult) -> dict:
    answer = {"event_id": result.event_id, **_outcome(result)}
    if result.manifest_no is not None:
        answer["manifest_no"] = result.manifest_no
    if result.packets is not None:
        answer["packets"] = [_outcome(line) for line in result.packets]
    return answer


@bp.post("/scans")
@staff
@changes
def record_scans():
    batch = parse(custody.ScanBatch, body(), context=custody.scan_context(env().settings))
    results = custody.record_scans(g.db, env(), g.actor, batch)
    g.db.commit()
    return {"results": [_scan_answer(r) for r in results]}


@bp.get("/courier/deliveries")
@staff
def courier_deliveries():
    """The signed-in courier's home deliveries with full addresses (each read on the access log)."""
    answer = deliveries.courier_deliveries(g.db, env(), g.actor)
    g.db.commit()  # the access log rows
    return answer


@bp.get("/courier/today")
@staff
def courier_today():
    """The signed-in courier's pick-ups (open sheets made out to them) and home deliveries."""
    answer = deliveries.courier_today(g.db, env(), g.actor)
    g.db.commit()  # the access log rows
    return answer


@bp.post("/manifests/<manifest_no>/receipt")
@staff
@creating  # a scanner that lost the answer may send the count again with the same key
def manifest_receipt(manifest_no):
    counted = custody.confirm_manifest_receipt(g.db, env(), g.actor, manifest_no,
                                               parse(custody.ManifestCount, body()))
    g.db.commit()
    return asdict(counted), 200


@bp.post("/manifests/<manifest_no>/cancel")
@staff
@creating
def manifest_cancel(manifest_no):
    made = manifests.cancel_manifest(g.db, g.actor, manifest_no)
    answer = with_manifest_links(views.manifest_answer(made, lookups.manifest_packets(g.db, made)))
    g.db.commit()
    return answer, 200


@bp.get("/exceptions")
@staff
def exceptions():
    return views.list_exceptions(g.db, g.actor, since=_date_arg("since"), until=_date_arg("until"),
                                 reason=request.args.get("reason"))


@bp.get("/federation/links")
@staff
def federation_links():
    if g.actor.role != "supervisor":
        raise forbidden("只有监督人员可以查看对接链路状态。")
    links = outbox.link_health(g.db, env().settings)
    return {"links": [{**link, "oldest_unsent_at": clock.iso(link["oldest_unsent_at"])} for link in links]}


# -- printing and handover sheets ------------------------------------------------------------

def _pdf(data: bytes, filename: str) -> Response:
    # documents carry personal data: never kept by a proxy or the browser cache
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
                             "Cache-Control": "no-store"})


def _size(allowed, default: str) -> str:
    size = request.args.get("size", default)
    if size not in allowed:
        raise bad_request(f"纸张规格“{size}”无效，可选：{'、'.join(allowed)}。", "size",
                      allowed=list(allowed))
    return size


def _font() -> str | None:
    return current_app.config["TONGBAN"].font_path or None


def _names(username: str) -> str:
    return staff_label(g.db, username)


@bp.get("/packets/<tracking_no>/label.pdf")
@staff
def packet_label_pdf(tracking_no):
    size = _size(label.SIZES, label.DEFAULT_SIZE)
    spec = documents.packet_label(g.db, env(), g.actor, tracking_no)
    g.db.close()
    return _pdf(label.label_pdf(spec, size, font_path=_font()), f"{spec.tracking_no}-{size}.pdf")


@bp.get("/packets/<tracking_no>/label.zpl")
@staff
def packet_label_zpl(tracking_no):
    spec = documents.packet_label(g.db, env(), g.actor, tracking_no)
    g.db.close()
    return Response(zpl.label_zpl(spec, current_app.config["TONGBAN"].zpl_font),
                    content_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f"inline; filename={spec.tracking_no}.zpl",
                             "Cache-Control": "no-store"})


@bp.get("/cases/<case_no>/receipt.pdf")
@staff
def receipt_pdf(case_no):
    size = _size(receipt.SIZES, "A4")
    spec = documents.receipt_spec(g.db, env(), g.actor, case_no, _names)
    g.db.commit()
    return _pdf(receipt.receipt_pdf(spec, size, font_path=_font()), f"收件回执-{spec.case_no}.pdf")


_NOTICES = {"supplement": documents.supplement_notice, "rejection": documents.rejection_notice,
            "acceptance": documents.acceptance_notice, "decision": documents.decision_notice}


@bp.get("/cases/<case_no>/<any(supplement, rejection, acceptance, decision):kind>-notice.pdf")
@staff
def notice_pdf(case_no, kind):
    """补正材料告知书, 不予受理告知书, 受理通知书 or a refusal's decision notice (不予许可决定书 …), printed
    at the window or the owning office for the applicant."""
    spec = _NOTICES[kind](g.db, env(), g.actor, case_no)
    g.db.commit()
    return _pdf(notices.notice_pdf(spec, font_path=_font()), f"{spec.title}-{spec.case_no}.pdf")


@bp.get("/offices/<office_code>/postage")
@staff
def office_postage(office_code):
    """邮资结算清单: the packets an office paid for in a month (month=YYYY-MM, this month by default), as CSV
    for a spreadsheet (UTF-8 with a BOM, for Excel) or as PDF for the finance department's file."""
    kind = request.args.get("format", "csv")
    if kind not in POSTAGE_FORMATS:
        raise bad_request("结算清单的格式只能是 CSV 或 PDF。", "format", allowed=list(POSTAGE_FORMATS))
    found = postage_reads.statement(g.db, g.actor, office_code, request.args.get("month"))
    stem = f"邮资结算清单-{found.office.code}-{found.period.since:%Y-%m}"
    if kind == "pdf":
        data = statement_pdf(postage_reads.statement_spec(found), font_path=_font())
        g.db.close()
        return _pdf(data, f"{stem}.pdf")
    data = to_csv(postage_reads.statement_table(found))
    g.db.close()
    return Response(data, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stem)}.csv",
                             "Cache-Control": "no-store"})


@bp.post("/manifests")
@staff
@creating
def create_manifest():
    made = manifests.create_manifest(g.db, g.actor, parse(manifests.NewManifest, body()),
                                     lambda name: courier_name(g.db, name))
    answer = with_manifest_links(views.manifest_answer(made, lookups.manifest_packets(g.db, made)))
    g.db.commit()
    return answer, 201


@bp.get("/manifests/<manifest_no>")
@staff
def get_manifest(manifest_no):
    return with_manifest_links(views.manifest_answer(*lookups.view_manifest(g.db, g.actor, manifest_no)))


@bp.get("/manifests/<manifest_no>.pdf")
@staff
def manifest_pdf(manifest_no):
    made, _ = lookups.view_manifest(g.db, g.actor, manifest_no)
    spec = documents.manifest_spec(g.db, made, _names)
    g.db.close()
    return _pdf(manifest.manifest_pdf(spec, font_path=_font()), f"交接清单-{spec.manifest_no}.pdf")


@bp.get("/manifests/<manifest_no>/labels.pdf")
@staff
def manifest_labels_pdf(manifest_no):
    size = _size(label.SIZES, label.DEFAULT_SIZE)
    made, _ = lookups.view_manifest(g.db, g.actor, manifest_no)
    specs = documents.manifest_labels(g.db, env(), made)
    g.db.close()
    return _pdf(label.labels_pdf(specs, size, font_path=_font(), title=f"面单 {made.manifest_no}"),
                f"面单-{made.manifest_no}-{size}.pdf")


# -- public ------------------------------------------------------------------------------------

@bp.get("/track/<number>")
def track(number):
    rate_limited("track")
    check = request.args.get("check")
    return current_app.extensions["tongban"]["answers"].answer(
        ("track", number, check), lambda: timeline_answer(timeline.track(g.db, env(), number, check)))


@bp.post("/track/<case_no>/evaluation")
@changes
def evaluation(case_no):
    rate_limited("evaluation")
    made = evaluations.evaluate(g.db, env(), case_no, parse(evaluations.Evaluation, body()))
    case, rating = made.case, made.evaluation
    return _committed({"case_no": case.case_no, "score": rating.score, "follow_up": rating.follow_up_status == "open",
                       "stage": rating.stage,
                       "follow_up_due": rating.follow_up_due.isoformat() if rating.follow_up_due else None,
                       "status": case.status, "status_text": CaseStatus(case.status).title}, 201)


@bp.get("/deliveries/<token>")
@writes  # the first download delivers the result: the case moves on
def delivery(token):
    stored = decisions.download_result(g.db, env(), token)
    g.db.commit()
    return Response(stored.data, mimetype=stored.content_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stored.filename)}",
                             "X-Content-SHA256": stored.sha256})


@bp.get("/verify/<code>")
def verify(code):
    """A third party checks an electronic result's verification code: no personal data in the answer."""
    rate_limited("verify")
    return result_reads.verify(g.db, code)


@bp.get("/openapi.json")
def openapi():
    return openapi_document()


_HTTP_ERRORS = {403: ("forbidden", "无权访问", "您的账号无权进行此操作或查看此页面。"),
                404: ("not_found", "未找到", "未找到。"),
                405: ("method_not_allowed", "请求方法错误", "不支持该请求方法。"),
                413: ("invalid_request", "文件过大", "请求内容过大。")}


def init_app(app) -> None:
    app.register_blueprint(bp)
    # the API is called with a bearer token, which a foreign page cannot send: no CSRF token needed
    # (a call made with the pages' cookie checks the token in `staff`)
    csrf.exempt(bp)

    def _error(e):
        code, title, message = _HTTP_ERRORS[e.code]
        if request.path.startswith("/api/"):
            return jsonify({"error": {"code": code, "message": message}}), e.code
        return page_error(e.code, title, message)

    for status in _HTTP_ERRORS:
        app.register_error_handler(status, _error)
