"""交接清单: handover sheets built, printed, voided and counted by windows and offices (/manifests)."""
from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from sqlmodel import select

from app.addresses import with_manifest_links
from app.http_errors import status_of
from app.users import User, courier_name, staff_label
from app.web import committed, env, field_errors, once, role_required, typed
from tracking.commands import custody, manifests
from tracking.model import lookups
from tracking.model.errors import Refused
from tracking.model.inputs import Invalid, parse
from tracking.reads import desks, views

bp = Blueprint("manifests", __name__, url_prefix="/manifests")

TABS = [("open", "待交接"), ("handed_over", "已交接"), ("cancelled", "已作废"), ("arriving", "交给本机构的清单")]


def _numbers(*groups) -> list[str]:
    """Tracking numbers from ticked boxes and scans, as a scanner types them, each once, in order."""
    seen: dict[str, None] = {}
    for group in groups:
        for value in group:
            value = typed(value)
            if value:
                seen.setdefault(value)
    return list(seen)


def _form_errors(e: Refused) -> dict[str, str]:
    """A refusal as this form's errors: the courier picker stands for `to_party`, the list of packets
    for each of its numbers."""
    found = e.by_field() if isinstance(e, Invalid) else {e.field or "_": e.message}
    named = {}
    for field, message in found.items():
        name = field.split("[")[0]
        named.setdefault("courier" if name == "to_party" else name, message)
    return named


def _couriers() -> list[dict]:
    """The active couriers to pick from, each shown by name (and office), never by username."""
    users = g.db.exec(select(User).where(User.role == "courier", User.active == True)  # noqa: E712
                      .order_by(User.name, User.username))
    return [{"username": u.username, "label": staff_label(g.db, u.username)} for u in users]


def packets_page():
    """Packets waiting to leave this office; the ticked and scanned ones go on a new sheet for a courier.
    Served at /window/packets for the window and /manifests/new for offices."""
    office = g.actor.office_code
    errors, chosen, courier, faulty, elsewhere = {}, None, request.form.get("courier", ""), [], []

    def add():
        """A scan added without building the sheet (Enter in the scan field without the page's script):
        only a packet waiting here is ticked; any other number is an error at once and is not added."""
        nonlocal chosen
        chosen = set(_numbers(request.form.getlist("tracking_nos")))
        scanned = typed(request.form.get("scan", ""))
        if scanned and scanned in {p["tracking_no"] for p in desks.waiting_to_leave(g.db, office)}:
            chosen.add(scanned)
        elif scanned:
            errors["scan"] = f"{scanned} 不是本机构待发的邮件（或已在其他未交接的清单上），未加入。请核对后重新扫描。"
        return _render(422 if errors else 200)

    def run():
        nonlocal chosen, faulty, elsewhere
        numbers = _numbers(request.form.getlist("tracking_nos"), [request.form.get("scan", "")])
        chosen = set(numbers)
        if not numbers:
            errors["tracking_nos"] = "请至少勾选或扫描一个邮件。"
        if not courier:
            errors["courier"] = "请选择接收邮件的寄递人员。"
        if errors:
            return _render(400)
        try:
            command = parse(manifests.NewManifest, {"to_party": f"courier:{courier}", "tracking_nos": numbers})
            made = manifests.create_manifest(g.db, g.actor, command, lambda name: courier_name(g.db, name))
        except Refused as e:
            g.db.rollback()
            errors.update(_form_errors(e))
            faulty = e.extra.get("tracking_nos", [])
            elsewhere = e.extra.get("manifests", [])
            return _render(status_of(e))
        number = made.manifest_no
        committed()
        flash(f"交接清单 {number} 已生成。请打印清单和面单，由寄递人员核对签字后扫描清单交接。", "success")
        return redirect(url_for("manifests.sheet", manifest_no=number), 303)

    def _render(status=200):
        waiting = desks.waiting_to_leave(g.db, office)
        if chosen is None:
            ticked = set() if request.args.get("tick") == "none" else {p["tracking_no"] for p in waiting}
        else:
            ticked = chosen
        couriers = _couriers()
        default = courier or (couriers[0]["username"] if len(couriers) == 1 else "")
        return make_response(render_template("manifests/packets.html", waiting=waiting, ticked=ticked,
                                             couriers=couriers, courier=default, errors=errors, faulty=faulty,
                                             elsewhere=elsewhere), status)

    if request.method == "POST":
        return add() if request.form.get("add") else once(run)
    return _render()


@bp.route("/new", methods=["GET", "POST"])
@role_required("clerk", "officer")
def new():
    return packets_page()


@bp.get("")
@role_required("clerk", "officer")
def index():
    tab = request.args.get("state", "open")
    if tab not in dict(TABS):
        tab = "open"
    office = g.actor.office_code
    sheets = desks.sheets_to(g.db, office) if tab == "arriving" else desks.sheets_from(g.db, office, tab)
    return render_template("manifests/index.html", tabs=TABS, tab=tab, sheets=sheets)


def _sheet(manifest_no: str):
    made, packets = lookups.view_manifest(g.db, g.actor, manifest_no)
    return made, with_manifest_links(views.manifest_answer(made, packets))


def _render_sheet(manifest_no: str, errors=None, scanned=(), status=200):
    made, sheet = _sheet(manifest_no)
    office = g.actor.office_code
    history = desks.sheet_history(g.db, made)
    counting = made.to_party == f"office:{office}" and made.handed_over_at is not None \
        and made.cancelled_at is None and made.confirmed_at is None
    return make_response(render_template("manifests/sheet.html", sheet=sheet, history=history,
                                         maker=staff_label(g.db, made.created_by),
                                         mine=made.from_office == office, counting=counting,
                                         errors=errors or {}, scanned=list(scanned)), status)


@bp.get("/<manifest_no>")
@role_required("clerk", "officer")
def sheet(manifest_no):
    return _render_sheet(manifest_no)


@bp.post("/<manifest_no>/cancel")
@role_required("clerk", "officer")
def cancel(manifest_no):
    try:
        made = manifests.cancel_manifest(g.db, g.actor, manifest_no)
    except Refused as e:
        g.db.rollback()
        return _render_sheet(manifest_no, field_errors(e), status=status_of(e))
    number = made.manifest_no
    committed()
    flash(f"交接清单 {number} 已作废，清单上的邮件可重新制作清单。", "success")
    return redirect(url_for("manifests.sheet", manifest_no=number), 303)


@bp.post("/<manifest_no>/receipt")
@role_required("clerk", "officer")
def receipt(manifest_no):
    """Counting an arrived sheet: every packet scanned on arrival against the sheet."""
    scanned = _numbers(request.form.getlist("tracking_nos"), [request.form.get("scan", "")])

    def run():
        if not scanned and request.form.get("none_arrived") != "yes":
            return _render_sheet(manifest_no, {"scan": "请逐件扫描到达的邮件；一件都没有到达时，请勾选“没有邮件到达”。"},
                                 scanned, 400)
        try:
            count = parse(custody.ManifestCount, {"office_code": g.actor.office_code, "tracking_nos": scanned})
            counted = custody.confirm_manifest_receipt(g.db, env(), g.actor, manifest_no, count)
        except Refused as e:
            g.db.rollback()
            field = "scan" if (e.field or "").startswith("tracking_nos") else "_"
            return _render_sheet(manifest_no, {field: e.message}, scanned, status_of(e))
        committed()
        trouble = len(counted.missing) + len(counted.extra)
        flash(f"已确认接收 {counted.received} 件" + (f"，有 {trouble} 件不符，请查看清点结果。" if trouble else "，与清单相符。"),
              "warning" if trouble else "success")
        return redirect(url_for("manifests.sheet", manifest_no=manifest_no.upper()), 303)

    return once(run)
