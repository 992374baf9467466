"""管理 pages for the federation's peers (/admin/peers): the list, one peer with its change history, and
a form to add or change one. Each save is written to the admin audit log in the same transaction."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from app.audit import audit_log
from app.federation import save_peer
from app.pages.admin import _audit_rows
from app.web import committed, role_required
from tracking.federation.envelope import NodeKeys
from tracking.federation.peers import PeerSpec, list_peers
from tracking.federation.tables import Peer
from tracking.model.errors import not_found
from tracking.model.inputs import Invalid, parse

bp = Blueprint("peers", __name__, url_prefix="/admin/peers")
FIELDS = ("node_id", "name", "base_url", "signing_keys", "sealing_key", "prefixes")


def _own_node() -> dict | None:
    settings = current_app.config["TONGBAN"]
    if not settings.node:
        return None
    keys = NodeKeys.from_settings(settings)
    return {"node": keys.node, "signing_key": keys.signing_public, "sealing_key": keys.sealing_public,
            "prefixes": "、".join(settings.node_prefixes) or "（未设置）"}


@bp.get("")
@role_required("admin")
def peers():
    return render_template("admin/peers.html", rows=list_peers(g.db), own=_own_node())


@bp.get("/<code>")
@role_required("admin")
def peer(code: str):
    row = _get(code)
    history, _total = audit_log(g.db, kind="peer", target_id=row.node_id, limit=20)
    return render_template("admin/peer.html", peer=row, history=_audit_rows(history))


@bp.route("/new", methods=["GET", "POST"])
@role_required("admin")
def new_peer():
    if request.method == "GET":
        return _form(None, {"active": True}, {})
    return _save(None)


@bp.route("/<code>/edit", methods=["GET", "POST"])
@role_required("admin")
def edit_peer(code: str):
    row = _get(code)
    if request.method == "GET":
        form = {"node_id": row.node_id, "name": row.name, "base_url": row.base_url,
                "signing_keys": "\n".join(row.signing_keys), "sealing_key": row.sealing_key,
                "prefixes": ", ".join(row.prefixes), "active": row.active}
        return _form(row, form, {})
    return _save(row)


def _save(row: Peer | None):
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    form["active"] = request.form.get("active") == "yes"
    if row is not None:
        form["node_id"] = row.node_id  # the id names the peer: a new id is a new peer
    data = {**form, "signing_keys": form["signing_keys"].split(),
            "prefixes": [p for p in re.split(r"[\s,，、]+", form["prefixes"]) if p]}
    try:
        spec = parse(PeerSpec, data)
    except Invalid as e:
        errors = {field.split(".")[0].split("[")[0]: message for field, message in e.by_field().items()}
        return _form(row, form, errors, 400)
    if row is None and g.db.get(Peer, spec.node_id) is not None:
        return _form(row, form, {"node_id": "这个节点已经登记过，请在列表中找到它再修改。"}, 400)
    peer_row, changes, created = save_peer(g.db, g.actor.username, spec)
    node_id = peer_row.node_id
    committed()
    flash(("已新增协同节点 " + node_id + "。") if created else
          ("已保存协同节点的修改。" if changes else "没有修改任何内容。"), "success" if changes else "info")
    return redirect(url_for("peers.peer", code=node_id), 303)


def _form(row: Peer | None, form: dict, errors: dict, status: int = 200):
    return render_template("admin/peer_form.html", peer=row, form=form, errors=errors), status


def _get(code: str) -> Peer:
    row = g.db.get(Peer, code)
    if row is None:
        raise not_found("没有这个协同节点。")
    return row
