"""窗口 pages (/window): the collecting window's desk, its cases, pick-ups and the packets leaving it."""
from __future__ import annotations

import re

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for

from app.addresses import with_case_links, with_packet_links
from app.http_errors import status_of
from app.pages.files import files_for_page, upload_from_form
from app.pages.manifests import packets_page
from app.web import committed, env, once, role_required, typed
from tracking.commands import carriers as carrier_commands
from tracking.commands import case_files, decisions, follow_ups
from tracking.model import lookups, states
from tracking.model.errors import Refused
from tracking.model.inputs import Invalid, from_form, parse
from tracking.model.states import CaseStatus
from tracking.reads import carriers as carrier_reads
from tracking.reads import desks, views

bp = Blueprint("window", __name__, url_prefix="/window")

PER_PAGE = 25
CHECK_METHODS = [("id_card_reader", "身份证读卡器"), ("face", "人脸识别"), ("manual", "人工核验证件")]



# -- the desk ------------------------------------------------------------------------------------

def _home(errors=None, number="", status=200):
    desk = desks.window_desk(g.db, env(), g.actor)
    desk["sheets"] = len(desks.sheets_from(g.db, g.actor.office_code, "open"))
    carrier = carrier_reads.office_pickups(g.db, env().settings, g.actor.office_code)
    return make_response(render_template("window/home.html", desk=desk, errors=errors or {}, number=number,
                                         carrier=carrier), status)


@bp.get("")
@role_required("clerk")
def home():
    return _home()


@bp.post("/carrier-pickup")
@role_required("clerk")
def carrier_pickup():
    """预约揽收: the office's carrier is asked to collect what is booked and waiting here."""
    def run():
        try:
            made = carrier_commands.request_pickup(g.db, env(), g.actor, carrier_commands.PickupRequest())
        except Refused as e:
            g.db.rollback()
            return _home({"carrier": e.message}, status=status_of(e))
        committed()
        flash(f"已向承运方预约揽收 {len(made.tracking_nos)} 件邮件，请备好邮件等候揽收员上门。", "success")
        return redirect(url_for("window.home"), 303)
    return once(run)


@bp.get("/find")
@role_required("clerk")
def find():
    """A case number or a packet's tracking number, typed or scanned: that case's page. The applicant's
    ID number (or credit code) or phone: their cases at this window, the search on the access log."""
    number = typed(request.args.get("no"))
    if not number:
        return _home({"no": "请输入或扫描办件编号、邮件号，或申请人的证件号码、手机号码。"}, status=400)
    case_no = desks.find_case_no(g.db, number)
    if case_no is not None:
        return redirect(url_for("window.case", case_no=case_no))
    found = desks.applicant_cases(g.db, env(), g.actor, number)
    if found is None:
        return _home({"no": f"未找到“{number}”，请核对办件编号、邮件号、证件号码或手机号码。"}, number, 404)
    return render_template("window/found.html", found=found, number=number)


@bp.get("/exceptions")
@role_required("clerk")
def exceptions():
    return render_template("window/exceptions.html", rows=desks.recent_exceptions(g.db, g.actor),
                           days=desks.EXCEPTION_DAYS)


@bp.route("/packets", methods=["GET", "POST"])
@role_required("clerk")
def packets():
    return packets_page()


# -- cases ---------------------------------------------------------------------------------------

@bp.get("/cases")
@role_required("clerk")
def cases():
    status = request.args.get("status") or None
    if status not in {s.value for s in CaseStatus}:
        status = None
    overdue = request.args.get("overdue") in ("1", "true", "on")
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    found = views.list_cases(g.db, env(), g.actor, status=status, office=None, page=page, per_page=PER_PAGE,
                             overdue=overdue)
    pages = max(1, -(-found["total"] // PER_PAGE))
    return render_template("window/cases.html", found=found, status=status, overdue=overdue, page=page,
                           pages=pages, statuses=[(s.value, s.title) for s in CaseStatus])


@bp.get("/pickups")
@role_required("clerk")
def pickups():
    id_number = typed(request.args.get("id_number"))
    id_hash = env().sealer.lookup_hash(id_number) if id_number else None
    found = views.list_cases(g.db, env(), g.actor, status=CaseStatus.READY_FOR_PICKUP.value,
                             office=g.actor.office_code, page=1, per_page=200, id_hash=id_hash)
    return render_template("window/pickups.html", found=found, id_number=id_number)


def _lost_to_replace(case: dict) -> list[dict]:
    """Lost packets this window sent that no replacement follows yet."""
    replaced = {p["replaces"] for p in case["packets"] if p["replaces"] and p["status"] != "cancelled"}
    return [p for p in case["packets"] if p["status"] == "lost" and p["from_office"] == g.actor.office_code
            and p["tracking_no"] not in replaced]


def _case_page(case_no: str, template: str = "window/case.html", errors=None, status: int = 200, **extra):
    case = with_case_links(views.case_view(g.db, env(), g.actor, case_no))
    # the scans (issue 16): the case's own while the office has not them all, a supplement's once asked
    current = CaseStatus(case["status"])
    extra.setdefault("upload", "material" if current in case_files.MATERIAL_UPLOADS else
                     "supplement" if current in case_files.SUPPLEMENT_UPLOADS else None)
    extra.setdefault("files", files_for_page(case_no))
    extra.setdefault("file_errors", {})
    form = request.form if request.method == "POST" else {}
    # a bad rating routed to this window (its own fault, or the post's) is followed up from here
    evaluation = views.evaluation_view(lookups.evaluation_of(g.db, lookups.load_case(g.db, case_no)))
    follows_up = bool(evaluation and evaluation["follow_up"]
                      and evaluation["follow_up"]["office_code"] == g.actor.office_code)
    return make_response(render_template(template, case=case, errors=errors or {}, form=form,
                                         lost=_lost_to_replace(case), check_methods=CHECK_METHODS,
                                         evaluation=evaluation, follows_up=follows_up,
                                         visit_methods=list(states.VISIT_METHODS.items()), **extra), status)


@bp.get("/cases/<case_no>")
@role_required("clerk")
def case(case_no):
    return _case_page(case_no)


@bp.post("/cases/<case_no>/files")
@role_required("clerk")
def case_files_upload(case_no):
    """A material's (or a supplement's) scan uploaded from the case page."""
    errors = upload_from_form(case_no)
    if errors:
        return _case_page(case_no, file_errors=errors, status=422)
    return redirect(url_for(".case", case_no=case_no, _anchor="files"), 303)


def _errors(e: Refused, fields: dict[str, str]) -> dict[str, str]:
    """A refusal as the page's errors: each path the command reported ("materials[1].copies",
    "identity_check.method") at the page's field for it or for the nearest path above it, else at the top."""
    found = e.by_field() if isinstance(e, Invalid) else {e.field or "": e.message}
    errors: dict[str, str] = {}
    for path, message in found.items():
        while path and path not in fields:
            path = re.sub(r"(\.[^.\[]+|\[[0-9]+\])$", "", path) if re.search(r"[.\[]", path) else ""
        errors.setdefault(fields.get(path, "_"), message)
    return errors


@bp.post("/cases/<case_no>/supplement")
@role_required("clerk")
def supplement(case_no):
    """The materials the owning office asked for, brought by the applicant: a supplement packet."""
    def run():
        given = [{"code": code, "copies": request.form.get(f"copies-{code}", "1"),
                  "original": request.form.get(f"original-{code}") == "yes"}
                 for code in request.form.getlist("materials")]
        try:
            made = decisions.send_supplement(g.db, env(), g.actor, case_no,
                                             parse(decisions.SupplementSending, {"materials": given}))
        except Refused as e:
            g.db.rollback()
            return _case_page(case_no, errors=_errors(e, {"materials": "materials"}), status=status_of(e))
        number = made.packet.tracking_no
        committed()
        flash(f"补正材料已制单，邮件号 {number}。请打印面单贴在信封上，随今天的交接清单寄出。", "success")
        return redirect(url_for("window.packet", case_no=case_no, tracking_no=number), 303)
    return once(run)


@bp.route("/cases/<case_no>/withdraw", methods=["GET", "POST"])
@role_required("clerk")
def withdraw(case_no):
    if request.method == "GET":
        return _case_page(case_no, "window/withdraw.html")

    def run():
        try:
            made = decisions.withdraw_case(g.db, env(), g.actor, case_no,
                                           parse(decisions.Withdrawal, from_form(request.form, ["reason"])))
        except Refused as e:
            g.db.rollback()
            return _case_page(case_no, "window/withdraw.html", errors=_errors(e, {"reason": "reason"}),
                              status=status_of(e))
        number = made.return_packet.tracking_no if made.return_packet else None
        committed()
        if number:
            flash(f"办件已撤回。已寄出的材料将由办理部门装入退回件 {number} 寄回，请留意。", "success")
        else:
            flash("办件已撤回。材料尚未寄出，请将材料当面退还申请人。", "success")
        return redirect(url_for("window.case", case_no=case_no), 303)
    return once(run)


@bp.route("/cases/<case_no>/handover", methods=["GET", "POST"])
@role_required("clerk")
def handover(case_no):
    """Handing the paper result to the applicant, after checking who they are."""
    if request.method == "GET":
        return _case_page(case_no, "window/handover.html")

    def run():
        passed = {"yes": True, "no": False}.get(request.form.get("passed"))  # None: neither was chosen
        check = {"method": request.form.get("method"), "passed": passed}
        # who collects: the applicant, or the agent registered at intake (their ID is the one checked)
        collector = {"relation": request.form.get("collector") or "self"}
        try:
            decisions.hand_over(g.db, env(), g.actor, case_no,
                                parse(decisions.Handover, {"identity_check": check, "collector": collector}))
        except Refused as e:
            g.db.rollback()
            errors = _errors(e, {"identity_check.method": "method", "identity_check.passed": "passed",
                                 "identity_check": "passed", "collector": "collector",
                                 "collector.relation": "collector"})  # a check that failed: at its result
            return _case_page(case_no, "window/handover.html", errors=errors, status=status_of(e))
        committed()
        flash("办理结果已交付代办人，办件已送达。" if collector["relation"] == "agent" else
              "办理结果已交付申请人，办件已送达。", "success")
        return redirect(url_for("window.case", case_no=case_no), 303)
    return once(run)


@bp.post("/cases/<case_no>/packets/<tracking_no>/replacement")
@role_required("clerk")
def replacement(case_no, tracking_no):
    """Copies of everything a lost packet held, sent again and linked to it."""
    def run():
        try:
            made = decisions.send_replacement(g.db, env(), g.actor, tracking_no, decisions.Replacement())
        except Refused as e:
            g.db.rollback()
            return _case_page(case_no, errors={"_": e.message}, status=status_of(e))
        number = made.packet.tracking_no
        committed()
        flash(f"补寄件已制单，邮件号 {number}（补寄丢失邮件 {tracking_no.upper()}）。请打印面单，随交接清单寄出。", "success")
        return redirect(url_for("window.packet", case_no=case_no, tracking_no=number), 303)
    return once(run)


# the follow-up form's fields carry a prefix, as on the office's case page (one partial for both)
FOLLOW_UP_FIELDS = {name: f"fu_{name}" for name in ("note", "visit_method", "visited_at", "visit_answer")}


@bp.get("/follow-ups")
@role_required("clerk")
def follow_ups_list():
    """Bad ratings routed to this window (the rater or a supervisor named the window or the post)."""
    return render_template("window/follow_ups.html", rows=desks.open_follow_ups(g.db, g.actor.office_code))


@bp.post("/cases/<case_no>/follow-up")
@role_required("clerk")
def follow_up(case_no):
    """整改 of a bad rating routed to this window: the return visit and what was done close it."""
    def run():
        data = {name: request.form[field] for name, field in FOLLOW_UP_FIELDS.items() if field in request.form}
        try:
            follow_ups.record_follow_up(g.db, env(), g.actor, case_no, parse(follow_ups.FollowUp, data))
        except Refused as e:
            g.db.rollback()
            return _case_page(case_no, errors=_errors(e, FOLLOW_UP_FIELDS), status=status_of(e), failed="follow_up")
        committed()
        flash(f"办件 {case_no} 的差评整改情况已登记，监督人员可以看到。", "success")
        return redirect(url_for("window.case", case_no=case_no, _anchor="evaluation"), 303)
    return once(run)


@bp.get("/cases/<case_no>/packets/<tracking_no>")
@role_required("clerk")
def packet(case_no, tracking_no):
    """A packet just made at the window: its number large and its label ready to print."""
    found = with_packet_links(views.packet_for_staff(g.db, g.actor, tracking_no))
    if found["case_no"] != case_no:
        return redirect(url_for("window.packet", case_no=found["case_no"], tracking_no=found["tracking_no"]))
    return render_template("window/packet.html", packet=found, case_no=case_no)
