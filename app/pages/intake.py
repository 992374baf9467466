"""收件登记: the window's intake flow (/window/intake)."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.web import role_required

bp = Blueprint("intake", __name__, url_prefix="/window/intake")


@bp.get("")
@role_required("clerk")
def start():
    return render_template("intake/start.html")
