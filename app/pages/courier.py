"""寄递人员 pages (/courier): the courier's delivery list on a phone, and recording a home delivery with its
signer. Hub and pick-up scans stay on the handheld scanner (POST /api/v1/scans)."""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for

from app.http_errors import status_of
from app.web import committed, env, once, role_required
from config import clock
from tracking.commands import custody
from tracking.model.errors import Refused
from tracking.model.inputs import Invalid, parse
from tracking.reads import deliveries

bp = Blueprint("courier", __name__, url_prefix="/courier")

SIGNERS = [("self", "本人签收"), ("proxy", "他人代收")]


def landing(errors=None, failed: str = "", status: int = 200):
    """The courier's home page: what they carry to people's doors, addresses in full (each read logged)."""
    found = deliveries.courier_deliveries(g.db, env(), g.actor)
    g.db.commit()  # the access log rows, whatever the page answers
    return make_response(render_template("courier.html", found=found, errors=errors or {}, failed=failed,
                                         form=request.form if request.method == "POST" else {},
                                         signers=SIGNERS), status)


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
