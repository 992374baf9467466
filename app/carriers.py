"""Carriers at the edge: the endpoint each carrier pushes its tracking events to (no staff account: the
carrier's signature says it is the carrier), and the staff's request for a pick-up at the hall."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, g, request

from app.api import _edge, body, creating, staff
from app.web import csrf, env
from mailing.carriers import BadPush, carrier, names
from tracking.commands import carriers as use_cases
from tracking.model.errors import not_found
from tracking.model.inputs import parse

bp = Blueprint("carriers", __name__, url_prefix="/api/v1/carriers")
bp.before_request(_edge)  # what the API refuses before any view reads a body, refused here too


@bp.post("/<name>/events")
def events(name):
    """A carrier's push: verified, every event kept (once), the known ones recorded as custody events;
    answered in the carrier's own format (its retry logic reads it)."""
    settings = current_app.config["TONGBAN"]
    if name not in names(settings) or name == "own":
        raise not_found("没有这个承运方的轨迹推送地址。")
    adapter = carrier(settings, name)
    try:
        push = adapter.read_push(request.get_data(), dict(request.headers))
    except BadPush as e:
        body, content_type = adapter.push_answer(None, {}, str(e))
        return Response(body, e.status, content_type=content_type)
    heard = use_cases.record_carrier_events(g.db, env(), name, push.events)
    g.db.commit()
    body, content_type = adapter.push_answer(push, {h.event_id: True for h in heard})
    return Response(body, 200, content_type=content_type)


@bp.post("/pickups")
@staff
@creating
def pickups():
    """预约揽收: the office's carrier is asked to collect what is booked and waiting at the hall."""
    made = use_cases.request_pickup(g.db, env(), g.actor, parse(use_cases.PickupRequest, body(optional=True)))
    g.db.commit()
    return {"request_id": made.request_id, "carrier": made.carrier, "office_code": made.office_code,
            "tracking_nos": made.tracking_nos, "status": "pending"}, 202


def init_app(app) -> None:
    csrf.exempt(bp)  # a carrier signs its pushes; staff use tokens, or a page session with its CSRF header (api.staff)
    app.register_blueprint(bp)
