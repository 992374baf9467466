"""The applicant's tracking pages (/track): no account, phone-first."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("track", __name__, url_prefix="/track")


@bp.get("")
def form():
    return render_template("track/form.html")
