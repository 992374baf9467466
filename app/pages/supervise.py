"""监督 pages (/supervise)."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.web import role_required

bp = Blueprint("supervise", __name__, url_prefix="/supervise")


@bp.get("")
@role_required("supervisor")
def home():
    return render_template("supervise/home.html")
