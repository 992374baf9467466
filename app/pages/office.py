"""办理 pages (/office)."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.web import role_required

bp = Blueprint("office", __name__, url_prefix="/office")


@bp.get("")
@role_required("officer")
def home():
    return render_template("office/home.html")
