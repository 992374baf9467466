"""账号 pages (/account): every signed-in staff member changes their own password here, and someone
whose password an admin set or the service generated is sent here before anything else."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user

from app import users
from app.users import MIN_PASSWORD, PasswordChange
from tracking.model.inputs import Invalid, from_form, parse

bp = Blueprint("account", __name__, url_prefix="/account")

LABELS = {"current": "当前密码", "password": "新密码", "password_again": "再次输入新密码"}


def _form(errors: dict, status: int = 200):
    return render_template("account/password.html", errors=errors, labels=LABELS, min_length=MIN_PASSWORD,
                           forced=current_user.must_change_password), status


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "GET":
        return _form({})
    try:
        change = parse(PasswordChange, from_form(request.form, tuple(LABELS)))
    except Invalid as e:
        return _form(e.by_field(), 400)
    user = current_user._get_current_object()
    if not users.change_own_password(g.db, user, change, keep_session=session.get("sid")):
        return _form({"current": "当前密码不正确。"}, 400)
    login_user(user)  # the cookie's user id carries a digest of the password hash: this session goes on
    g.db.commit()
    flash("密码已修改。您在其他设备上的登录已全部退出。", "success")
    return redirect(url_for("web.index"), 303)
