"""办理 pages (/office): the owning office's inbound packets, scan-to-receive with the contents check,
and the officer's steps on a case (accept, supplement request, reject, decision)."""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for

from app.addresses import with_case_links
from app.http_errors import status_of
from app.pages.files import files_for_page
from app.web import committed, env, file_store, once, role_required, typed
from config import clock
from mailing import s10
from mailing.states import TRANSITIONS as PACKET_TRANSITIONS
from mailing.states import PacketStatus, ScanType
from routing.matter_types import MAX_EXTENSION_DAYS, may_extend, refusal_title, refusal_words
from routing.reference import directory as load_directory
from routing.steps import last_steps
from routing.tables import Matter
from tracking.commands import custody, decisions, extensions, follow_ups
from tracking.model import lookups, states
from tracking.model.errors import Refused, bad_request
from tracking.model.inputs import Invalid, parse
from tracking.model.states import CaseAction, CaseStatus
from tracking.commands import steps
from tracking.reads import desks, views
from tracking.reads import steps as step_reads

bp = Blueprint("office", __name__, url_prefix="/office")

# the statuses a packet may be signed for in (the packet state machine's own table)
RECEIVABLE = {s.value for s in PACKET_TRANSITIONS[ScanType.RECEIVED]}
CHECK_RESULTS = ("ok", "missing", "damaged")  # a material's contents check, as the scans' `contents` say it
# the lists an officer works from: (status filter, tab title)
LISTS = [("received", "待受理"), ("supplement_requested", "待补正"), ("accepted", "待办结"),
         ("decided", "已办结"), ("", "全部")]
# each case form's fields carry a prefix, so that a refusal's field finds its input on a page with four forms
FORMS = {"accept": "acc_", "supplement": "sup_", "reject": "rej_", "decide": "dec_", "follow_up": "fu_",
         "extend": "ext_", "step": "stp_", "step_refuse": "srf_", "step_supplement": "ssp_"}



# -- the desk -----------------------------------------------------------------------------------

@bp.get("")
@role_required("officer")
def home():
    office = g.actor.office_code
    cases = desks.office_cases(g.db, env().settings, office)
    return render_template("office/home.html", desk_rows=desks.DESK_ROWS,
                           office_name=views.office_ref(load_directory(g.db), office)["name"],
                           packets=desks.inbound_packets(g.db, office),
                           sheets=desks.manifests_to_count(g.db, office), cases=cases,
                           follow_ups=desks.open_follow_ups(g.db, office),
                           counts=desks.office_case_counts(g.db, office),
                           joint=step_reads.office_steps(g.db, load_directory(g.db), office))


@bp.get("/cases")
@role_required("officer")
def cases():
    status = request.args.get("status", "received")
    overdue = request.args.get("overdue") == "1"
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    found = views.list_cases(g.db, env(), g.actor, status=status or None, office=None, page=page, per_page=50,
                             overdue=overdue)
    heading = "已超期的办件" if overdue else dict(LISTS).get(status) or CaseStatus(status).title
    return render_template("office/cases.html", found=found, status=status, overdue=overdue, lists=LISTS,
                           heading=heading)


# -- scan to receive ----------------------------------------------------------------------------

def _receive_page(*, number: str = "", errors: dict | None = None, done: dict | None = None, status: int = 200):
    arrived = desks.inbound_packets(g.db, g.actor.office_code)["arrived"]
    return make_response(render_template("office/receive.html", number=number, errors=errors or {}, done=done,
                                         arrived=arrived), status)


def _receipt_scan(number: str, event_id: str, contents: list | None) -> custody.ScanResult:
    """One `received` scan by this office, now, through the scanners' use case; its result."""
    scan = {"event_id": event_id, "type": ScanType.RECEIVED, "tracking_no": number,
            "office_code": g.actor.office_code, "at": clock.now(), "contents": contents}
    result = custody.record_scans(g.db, env(), g.actor, parse(custody.ScanBatch, {"scans": [scan]}))[0]
    if result.status == "recorded":
        committed()  # its notifications go out (a refusal recorded nothing)
    return result


def _after_scan(number: str, event_id: str, result: custody.ScanResult):
    if result.status in ("recorded", "duplicate"):
        return redirect(url_for(".receive", last=event_id), 303)
    return _receive_page(number=number, errors={"tracking_no": result.error.message}, status=422)


@bp.get("/receive")
@role_required("officer")
def receive():
    last = request.args.get("last")
    done = desks.receipt_of(g.db, g.actor.office_code, last) if last else None
    return _receive_page(done=done)


@bp.post("/receive")
@role_required("officer")
def scanned():
    """A number scanned: the packet's contents to check, or why it cannot be signed for here."""
    number = typed(request.form.get("tracking_no"))
    if not number:
        return _receive_page(errors={"tracking_no": "请扫描或输入邮件号。"}, status=400)
    if not s10.is_valid_tracking_no(number):  # a misread barcode: scan again before anything else
        return _receive_page(number=number, errors={"tracking_no": "邮件号格式或校验位有误，请重新扫描。"},
                             status=400)
    packet = desks.packet_to_receive(g.db, g.actor.office_code, number)
    if packet is not None and packet["status"] == PacketStatus.RECEIVED.value:  # scanned twice: say so plainly
        return _receive_page(number=number, errors={"tracking_no": "该邮件已签收，无需再次签收。"}, status=409)
    if packet is None or packet["status"] not in RECEIVABLE:
        # not addressed here, unknown, not yet sent, lost or void: the receipt scan itself refuses it
        # with its reason (nothing is recorded)
        event_id = str(uuid.uuid4())
        return _after_scan(number, event_id, _receipt_scan(number, event_id, None))
    return _checklist(packet, str(uuid.uuid4()), {m["code"]: None for m in packet["contents"]})


def _checked(packet: dict) -> dict[str, str | None]:
    """Each material's result as the officer set it on the checklist (None: not checked yet)."""
    results = {m["code"]: request.form.get(f"status-{m['code']}") for m in packet["contents"]}
    return {code: result if result in CHECK_RESULTS else None for code, result in results.items()}


def _scanned_item(packet: dict, value: str) -> str | None:
    """The material a scan (or a typed code or name) names on this packet's checklist."""
    value = value.strip().lower()
    return next((m["code"] for m in packet["contents"] if value in (m["code"].lower(), m["name"].lower())), None)


def _checklist(packet: dict, event_id: str, checked: dict, *, errors: dict | None = None, status: int = 200):
    return make_response(render_template("office/checklist.html", packet=packet, event_id=event_id, checked=checked,
                                         confirmed=sum(1 for v in checked.values() if v), errors=errors or {}),
                         status)


@bp.post("/receive/confirm")
@role_required("officer")
def confirm_receipt():
    """The contents checked item by item (a scan of a material's barcode marks it 正常): sign for the
    packet once every item has its result, with what is missing or damaged."""
    number = typed(request.form.get("tracking_no"))
    event_id = request.form.get("event_id") or str(uuid.uuid4())
    if desks.receipt_of(g.db, g.actor.office_code, event_id):  # signed already (a double click)
        return redirect(url_for(".receive", last=event_id), 303)
    packet = desks.packet_to_receive(g.db, g.actor.office_code, number) if number else None
    if packet is None or packet["status"] not in RECEIVABLE:
        return _after_scan(number, event_id, _receipt_scan(number, event_id, None))
    checked = _checked(packet)
    item = request.form.get("item", "")
    if request.form.get("action") == "tick":  # a scan (or Enter) on the checklist: tick that item, sign nothing
        code = _scanned_item(packet, item) if item.strip() else None
        if code:
            checked[code] = "ok"
        errors = {"item": f"“{item.strip()}”不是本邮件的内件，请核对后重新扫描。"} if item.strip() and not code else {}
        return _checklist(packet, event_id, checked, errors=errors, status=422 if errors else 200)
    unchecked = [m["name"] for m in packet["contents"] if not checked[m["code"]]]
    if unchecked:
        return _checklist(packet, event_id, checked, status=422, errors={
            "_": f"还有 {len(unchecked)} 项未核对：{'、'.join(unchecked)}。请逐项核对（扫描材料条码或勾选结果）后再签收。"})
    contents = [{"code": code, "status": result} for code, result in checked.items()]
    return _after_scan(number, event_id, _receipt_scan(number, event_id, contents))


# -- a case ---------------------------------------------------------------------------------------

def _case_page(case_no: str, *, errors: dict | None = None, failed: str | None = None, form=None,
               status: int = 200):
    g.db.rollback()  # whatever a refused step left half-done is never committed by the page's own reads
    case = with_case_links(views.case_view(g.db, env(), g.actor, case_no))
    mine = case["owning_office"]["code"] == g.actor.office_code
    current = CaseStatus(case["status"])
    may = {"accept": states.can(current, CaseAction.ACCEPT),
           "supplement": states.can(current, CaseAction.REQUEST_SUPPLEMENT) and not case["supplement"],
           "reject": states.can(current, CaseAction.REJECT),
           "decide": states.can(current, CaseAction.DECIDE)} if mine else {}
    matter = g.db.get(Matter, case["matter_code"])
    row = lookups.load_case(g.db, case_no)
    joint = _joint(case, matter, current)
    if joint["pending"]:  # 多地联办: the last step's office decides once every other step is done
        may["decide"] = False
    if mine:  # 延期: a permit's decision period, once, while accepted (行政许可法 art. 42)
        may["extend"] = current == CaseStatus.ACCEPTED and may_extend(matter.type) and row.extended_at is None
    evaluation = views.evaluation_view(lookups.evaluation_of(g.db, row))
    follows_up = bool(evaluation and evaluation["follow_up"]
                      and evaluation["follow_up"]["office_code"] == g.actor.office_code)
    return make_response(render_template(
        "office/case.html", case=case, mine=mine, may=may, matter_materials=matter.materials, errors=errors or {},
        matter=matter, refusal=refusal_words(matter.type), refusal_notice=refusal_title(matter.type),
        extension=row if row.extended_at else None, max_extension=MAX_EXTENSION_DAYS,
        failed=failed, form=form or request.form, settings=env().settings, evaluation=evaluation,
        files=files_for_page(case_no), joint=joint,
        follows_up=follows_up, visit_methods=list(states.VISIT_METHODS.items())), status)


def _joint(case: dict, matter: Matter, current: CaseStatus) -> dict:
    """多地联办: the steps this officer's office may act on, with what each form asks for."""
    found = steps.matter_steps(matter)
    if not case["steps"]:
        return {"steps": [], "pending": False, "mine": {}}
    last = last_steps(found)
    by_code = {s.code: s for s in found}
    mine = {}
    for s in case["steps"]:
        if s["office"]["code"] != g.actor.office_code or current != CaseStatus.ACCEPTED:
            continue
        step = by_code[s["code"]]
        mine[s["code"]] = {"accept": s["status"] == "received",
                           "complete": s["status"] == "accepted" and s["code"] not in last,
                           "refuse": s["status"] in ("received", "accepted", "supplement"),
                           "supplement": s["status"] in ("received", "accepted") and not s["supplement"],
                           "files": [o for o in step.produces if o.travels == "file"],
                           "paper": [o for o in step.produces if o.paper]}
    pending = any(s["status"] != "done" and s["code"] not in last for s in case["steps"])
    return {"steps": case["steps"], "pending": pending, "mine": mine}


def _form(which: str, *names: str, lists: tuple[str, ...] = ()) -> dict:
    """A case form's fields without their prefix: the names the command (and the API's JSON) uses."""
    prefix = FORMS[which]
    data = {name: request.form[prefix + name] for name in names if prefix + name in request.form}
    data.update({name: request.form.getlist(prefix + name) for name in lists})
    return data


def _refused(case_no: str, which: str, e: Refused):
    """The case page again, each error at its field of form `which` (`materials[1]` at `materials`)."""
    found = e.by_field() if isinstance(e, Invalid) else {e.field or "_": e.message}
    errors: dict[str, str] = {}
    for field, message in found.items():
        name = re.split(r"[.\[]", field, maxsplit=1)[0]
        errors.setdefault("_" if name in ("_", "body") else FORMS[which] + name, message)
    return _case_page(case_no, errors=errors, failed=which, status=status_of(e))


@bp.get("/cases/<case_no>")
@role_required("officer")
def case(case_no):
    return _case_page(case_no)


def _act(case_no: str, form: str, use_case, *, then: str = ".case", said=None, anchor: str | None = None):
    """An officer's form on the case page: the form parsed and the use case run once (`once`), committed,
    then the case page (or `then`) with `said(made)` as the message; a refusal (every mistake in the form,
    or the use case's) shows the case page again with the errors at `form`."""
    def run():
        try:
            made = use_case()
        except Refused as e:
            return _refused(case_no, form, e)
        committed()
        if said:
            flash(said(made), "success")
        return redirect(url_for(then, case_no=case_no, _anchor=anchor), 303)
    return once(run)


@bp.post("/cases/<case_no>/accept")
@role_required("officer")
def accept(case_no):
    return _act(case_no, "accept", lambda: decisions.accept_case(g.db, env(), g.actor, case_no),
                said=lambda _: f"办件 {case_no} 已受理。请在办理时限内作出决定。")


@bp.post("/cases/<case_no>/supplement-request")
@role_required("officer")
def supplement_request(case_no):
    def request_it():
        command = parse(decisions.SupplementRequest, _form("supplement", "note", "due", lists=("materials",)))
        return decisions.request_supplement(g.db, env(), g.actor, case_no, command)

    def said(made):
        due = made.supplement_due
        return (f"已一次性告知补正，补正期限 {due.year}年{due.month}月{due.day}日。申请人将收到短信通知，"
                f"收件窗口可打印补正材料告知书。")
    return _act(case_no, "supplement", request_it, said=said)


@bp.post("/cases/<case_no>/reject")
@role_required("officer")
def reject(case_no):
    return _act(case_no, "reject", lambda: decisions.reject_case(
        g.db, env(), g.actor, case_no, parse(decisions.Rejection, _form("reject", "reason", "apply_to"))),
        then=".done")


@bp.post("/cases/<case_no>/extension")
@role_required("officer")
def extend(case_no):
    def extend_it():
        return extensions.extend_case(g.db, env(), g.actor, case_no,
                                      parse(extensions.Extension, _form("extend", "days", "reason", "approved_by")))

    def said(made):
        due = made.due_date
        return (f"办理期限已延长 {made.extension_days} 个工作日，承诺办结日期顺延至 {due.year}年{due.month}月{due.day}日。"
                "申请人将收到短信通知。")
    return _act(case_no, "extend", extend_it, said=said)


@bp.post("/cases/<case_no>/decision")
@role_required("officer")
def decide(case_no):
    data = _form("decide", "outcome", "note")
    if data.get("outcome") == "refused" and not (data.get("note") or "").strip():
        # the reasons are printed on the refusal's decision notice: the page asks for them (the API may not)
        return _refused(case_no, "decide", bad_request("不予许可（不予办理）的，请填写理由，将印在决定书上。", "note"))
    upload = request.files.get("dec_result_file")
    if upload is not None and upload.filename:
        data["result_file"], data["filename"] = upload.read(), upload.filename  # the bytes, not Base64 as in JSON
    return _act(case_no, "decide", lambda: decisions.decide_case(
        g.db, env(), g.actor, case_no, parse(decisions.Decision, data)), then=".done")


@bp.post("/cases/<case_no>/steps/<code>/accept")
@role_required("officer")
def step_accept(case_no, code):
    return _act(case_no, "step", lambda: steps.accept_step(g.db, env(), g.actor, case_no, code), anchor="joint",
                said=lambda _: "已受理本环节，请在环节期限内办理。")


@bp.post("/cases/<case_no>/steps/<code>/completion")
@role_required("officer")
def step_completion(case_no, code):
    def complete_it():
        files = [{"code": name.removeprefix("stp_file_"), "data": upload.read(), "filename": upload.filename}
                 for name, upload in request.files.items() if name.startswith("stp_file_") and upload.filename]
        command = parse(steps.StepCompletion, {"files": files, **_form("step", "note")})
        return steps.complete_step(g.db, env(), file_store(), g.actor, case_no, code, command)

    def said(made):
        _, row, packets = made
        sent = "；转递档案" + "、".join(p.tracking_no for p in packets) + "请打印面单后交寄" if packets else ""
        return f"“{row.name}”已完成，已转后续环节办理{sent}。"
    return _act(case_no, "step", complete_it, said=said, anchor="joint")


@bp.post("/cases/<case_no>/steps/<code>/supplement-request")
@role_required("officer")
def step_supplement(case_no, code):
    def request_it():
        command = parse(steps.StepSupplementRequest, _form("step_supplement", "note", "due", lists=("materials",)))
        return steps.request_step_supplement(g.db, env(), g.actor, case_no, code, command)
    return _act(case_no, "step_supplement", request_it, anchor="joint",
                said=lambda _: "已一次性告知补正，申请人将收到短信通知；补正材料由收件窗口寄来，签收后本环节继续计时。")


@bp.post("/cases/<case_no>/steps/<code>/refusal")
@role_required("officer")
def step_refusal(case_no, code):
    return _act(case_no, "step_refuse", lambda: decisions.refuse_step(
        g.db, env(), g.actor, case_no, code, parse(steps.StepRefusal, _form("step_refuse", "reason"))), then=".done")


@bp.post("/cases/<case_no>/follow-up")
@role_required("officer")
def follow_up(case_no):
    """整改 of a bad rating: what the office did about it closes the follow-up."""
    return _act(case_no, "follow_up", lambda: follow_ups.record_follow_up(
        g.db, env(), g.actor, case_no,
        parse(follow_ups.FollowUp, _form("follow_up", "note", "visit_method", "visited_at", "visit_answer"))),
        said=lambda _: f"办件 {case_no} 的差评整改情况已登记，监督人员可以看到。", anchor="evaluation")


@bp.get("/cases/<case_no>/done")
@role_required("officer")
def done(case_no):
    """The confirmation after a decision or a rejection: the case number large, and the label of the
    packet this office now sends (the paper result, or the originals going back)."""
    case = with_case_links(views.case_view(g.db, env(), g.actor, case_no))
    if case["owning_office"]["code"] != g.actor.office_code or case["status"] not in (
            CaseStatus.DECIDED.value, CaseStatus.RESULT_IN_TRANSIT.value, CaseStatus.REJECTED.value):
        return redirect(url_for(".case", case_no=case_no))
    kind = "return" if case["status"] == CaseStatus.REJECTED.value else "result"
    to_send = [p for p in case["packets"] if p["kind"] == kind and p["from_office"] == g.actor.office_code
               and p["status"] != PacketStatus.CANCELLED.value]
    files = desks.result_files(g.db, case_no) if case["result_delivery"]["method"] == "electronic" else []
    return render_template("office/done.html", case=case, packet=to_send[-1] if to_send else None, files=files,
                           settings=env().settings)
