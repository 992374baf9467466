"""交接清单: handover sheets built, printed, voided and counted by windows and offices (/manifests)."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.web import role_required

bp = Blueprint("manifests", __name__, url_prefix="/manifests")


@bp.get("")
@role_required("clerk", "officer")
def index():
    return render_template("manifests/index.html")
