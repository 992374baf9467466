"""寄递人员 pages (/courier): the courier's day on a phone: the pick-ups (open handover sheets made out to
them) and home deliveries, a scanner in the page (camera or typed number: pick-up, hub, out for delivery,
delivery with its signer, failed delivery with its reason) whose scans wait in the browser while offline
(app/static/courier.js, POST /api/v1/scans), and, without the script, the delivery form with its signer."""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from sqlmodel import select

from app.http_errors import status_of
from app.web import PAGE_POLICY, committed, env, once, role_required
from config import clock
from mailing.states import ScanType
from routing.tables import Office
from tracking.commands import custody
from tracking.model.errors import Refused
from tracking.model.inputs import Invalid, parse
from tracking.reads import deliveries

bp = Blueprint("courier", __name__, url_prefix="/courier")

SIGNERS = [("self", "本人签收"), ("proxy", "他人代收")]
# what the page's scanner records: the scan types a courier sends, in the order of a packet's journey
SCAN_MODES = [(ScanType.DISPATCHED, "揽收（交寄）"), (ScanType.ARRIVED_HUB, "到达处理中心"),
              (ScanType.DEPARTED_HUB, "离开处理中心"), (ScanType.OUT_FOR_DELIVERY, "派送中"),
              (ScanType.DELIVERED, "妥投"), (ScanType.EXCEPTION, "未妥投")]
FAILURES = [("refused", "收件人拒收"), ("address_unknown", "地址不详，无法投递")]
# The vendored decoder (static/vendor/barcode-detector) is WebAssembly: this page alone may compile it.
# Nothing else is loosened: scripts, the .wasm and the scans' address are all this service's own.
COURIER_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")


def _hubs() -> list[tuple[str, str]]:
    """The hubs a courier may name for a hub scan, by name."""
    hubs = select(Office).where(Office.kind == "hub", Office.active == True).order_by(Office.code)  # noqa: E712
    return [(o.code, o.name) for o in g.db.exec(hubs)]


def landing(errors=None, failed: str = "", status: int = 200):
    """The courier's home page: the day's pick-ups, and what they carry to people's doors, addresses in
    full (each read logged)."""
    found = deliveries.courier_today(g.db, env(), g.actor)
    g.db.commit()  # the access log rows, whatever the page answers
    answer = make_response(render_template(
        "courier.html", found=found, errors=errors or {}, failed=failed,
        form=request.form if request.method == "POST" else {}, signers=SIGNERS, modes=SCAN_MODES,
        failures=FAILURES, hubs=_hubs()), status)
    answer.headers["Content-Security-Policy"] = COURIER_POLICY
    return answer


@bp.get("")
@role_required("courier")
def home():
    return landing()


@bp.post("/deliveries/<tracking_no>")
@role_required("courier")
def deliver(tracking_no):
    """妥投 at the door, with who signed: the same scan a handheld scanner sends."""
    def run():
        relation = request.form.get("relation") or "self"
        signer = {"relation": relation, "name": request.form.get("signer_name", "").strip() or None}
        scan = {"event_id": request.form.get("txn") or uuid.uuid4().hex, "tracking_no": tracking_no,
                "type": "delivered", "at": clock.iso(clock.now()), "signer": signer}
        try:
            batch = parse(custody.ScanBatch, {"scans": [scan]}, context=custody.scan_context(env().settings))
            result = custody.record_scans(g.db, env(), g.actor, batch)[0]
        except Refused as e:
            g.db.rollback()
            return landing({"_": e.message}, tracking_no, status_of(e))
        if result.status == "rejected":
            g.db.rollback()
            error = result.error
            message = error.errors[0].message if isinstance(error, Invalid) else error.message
            return landing({"_": message}, tracking_no, status_of(error))
        committed()
        who = "本人签收" if relation == "self" else f"{signer['name']}代收"
        flash(f"邮件 {tracking_no} 已妥投（{who}）。", "success")
        return redirect(url_for("courier.home"), 303)
    return once(run)
