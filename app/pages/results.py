"""Electronic results after the decision: the public verification page (/verify), the window's re-issue of
the download link and the owning office's revocation (buttons on their case pages, cases/_result.html).
The same use cases and reads as the API (app.api: result-link, result-revocation, verify)."""
from __future__ import annotations

import mimetypes

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.ratelimit import rate_limited
from app.web import committed, env, once, role_required, typed
from tracking.commands import results
from tracking.model import verification
from tracking.model.errors import Kind, Refused
from tracking.model.inputs import parse
from tracking.reads import results as result_reads

# the viewer's modules must be served as JavaScript (a module script refuses any other type)
mimetypes.add_type("text/javascript", ".mjs")

bp = Blueprint("results", __name__)


@bp.after_request
def _private(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- the public verification page --------------------------------------------------------------

@bp.get("/verify")
def verify_form():
    code = typed(request.args.get("code"))
    if "code" not in request.args:
        return render_template("verify/form.html", code="", errors={})
    if not code:
        return render_template("verify/form.html", code="", errors={"code": "请输入验证码。"}), 400
    return _verified(code)


@bp.get("/verify/<code>")
def verify(code):
    return _verified(typed(code))


def _verified(code: str):
    try:
        rate_limited("verify")
        answer = result_reads.verify(g.db, code)
    except Refused as e:
        if e.kind == Kind.TOO_MANY:
            return render_template("verify/form.html", code=code, errors={"_": e.message}), 429
        return render_template("verify/form.html", code=code, errors={"code": e.message}), 404
    return render_template("verify/result.html", result=answer)


# -- the window and the owning office ---------------------------------------------------------------

@bp.post("/window/cases/<case_no>/result-link")
@role_required("clerk")
def reissue(case_no):
    """重新发送下载链接: the applicant gets a new link by SMS; the previous one stops working."""
    def run():
        made = results.reissue_link(g.db, env(), g.actor, case_no)
        until = made.delivery.expires
        committed()
        flash(f"已重新发送电子结果下载链接，新链接 {until:%Y年%m月%d日%H时%M分} 前有效，此前的链接已失效。", "success")
        return redirect(url_for("window.case", case_no=case_no) + "#result", 303)
    return once(run)


@bp.post("/office/cases/<case_no>/result-revocation")
@role_required("officer")
def revoke(case_no):
    """撤销电子结果, with the reason (told to the applicant, not shown on the public page)."""
    def run():
        stored = results.revoke_result(g.db, env(), g.actor, case_no,
                                       parse(results.Revocation, {"reason": request.form.get("reason", "")}))
        code = verification.grouped(stored.verification_code)
        committed()
        flash(f"电子结果（验证码 {code}）已撤销，公开验证页将显示“已撤销”。", "success")
        return redirect(url_for("office.case", case_no=case_no) + "#result", 303)
    return once(run)
