"""The inbound endpoint of the federation (docs/federation.md): no staff account, the message's
signature says which node sent it. Parse the JSON, call one use case, answer."""
from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from app.api import _nested_within_limit
from app.audit import audit
from app.federation_links import PREFIX
from app.web import csrf
from config import clock
from tracking.federation import directory as node_directory
from tracking.federation import inbox, peers
from tracking.federation.envelope import NODE_ID, NodeKeys
from tracking.federation.peers import PeerSpec
from tracking.federation.tables import Peer
from tracking.model.errors import bad_request, not_found

bp = Blueprint("federation", __name__, url_prefix=PREFIX)


def _message() -> dict:
    try:
        data = json.loads(request.get_data())
    except (ValueError, RecursionError):
        raise bad_request("请求内容应为 JSON 对象。", "body") from None
    if not isinstance(data, dict):
        raise bad_request("请求内容应为 JSON 对象。", "body")
    if not _nested_within_limit(data):
        raise bad_request("请求内容嵌套过深。", "body")
    return data


@bp.post("/messages")
def messages():
    raw, settings = _message(), current_app.config["TONGBAN"]
    try:
        received = inbox.receive(g.db, settings, raw, clock.now())
    except IntegrityError:
        # the same message id (or case and seq) was committed meanwhile by a concurrent delivery:
        # the second look finds it and answers as a repeat
        g.db.rollback()
        received = inbox.receive(g.db, settings, raw, clock.now())
    return jsonify(received.answer), received.status


@bp.get("/directory")
def directory():
    """This node's offices, signed: a peer loads them (`federation directory sync`); the signature, not an
    account, is what makes them believed."""
    settings = current_app.config["TONGBAN"]
    if not settings.node:
        raise not_found("本系统是单一安装，不是协同节点，没有机构目录。")
    asking = request.args.get("node") or None
    if asking is not None and not re.fullmatch(NODE_ID, asking):
        raise bad_request("请求方节点编号格式不对。", "node")
    message = node_directory.published(g.db, settings, NodeKeys.from_settings(settings), asking, clock.now())
    return jsonify(message)


def messages_url(base_url: str) -> str:
    """Where a peer listening at `base_url` takes messages (docs/federation.md §5)."""
    return f"{base_url.rstrip('/')}{bp.url_prefix}/messages"


def save_peer(session, by: str, spec: PeerSpec) -> tuple[Peer, dict, bool]:
    """A peer added or changed from the file or the admin's form, with its row in the admin audit log
    (keys decide whose messages are believed: every change is on record)."""
    peer, changes, created = peers.save_peer(session, spec, clock.now())
    if changes:
        audit(session, by, "peer_created" if created else "peer_updated", "peer", peer.node_id, changes)
    return peer, changes, created


def init_app(app) -> None:
    csrf.exempt(bp)  # a node posts JSON with no cookie: the signature is its proof
    app.register_blueprint(bp)
