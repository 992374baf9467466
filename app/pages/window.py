"""窗口 pages (/window)."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.web import role_required

bp = Blueprint("window", __name__, url_prefix="/window")


@bp.get("")
@role_required("clerk")
def home():
    return render_template("window/home.html")
