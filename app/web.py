"""What every page shares: sign-in (Flask-Login), CSRF on every form (Flask-WTF), sessions that
expire, role checks, error pages, and the filters templates use."""
from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import date, datetime, timedelta
from functools import wraps

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request,
                   session, url_for)
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from app import idempotency
from app.users import Credentials, User, authenticate, session_id
from config import clock
from tracking.model.errors import Refused
from tracking.model.inputs import Invalid, from_form, parse
from tracking.model.states import CaseStatus

bp = Blueprint("web", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

HOME = {"clerk": "window.home", "officer": "office.home", "supervisor": "supervise.home", "admin": "admin.home"}
ROLE_TITLES = {"clerk": "窗口人员", "officer": "办理人员", "courier": "寄递人员", "supervisor": "监督人员",
               "admin": "系统管理员"}


@login_manager.user_loader
def _load_user(value: str):
    user_id = value.partition(".")[0]
    user = g.db.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or session_id(user) != value:
        return None
    return user


def role_required(*roles: str):
    """Signed in, and in one of `roles`; anyone else gets the 403 page."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            g.actor = current_user.actor(request.form.get("txn") or None)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def env():
    """What every use case needs besides the session (settings, sealer, calendar)."""
    return current_app.extensions["tongban"]["env"]


def committed() -> None:
    """After a page's change: commit, end the transaction, and send the notifications it queued
    (as the API's `changes` does)."""
    from app.tasks import send_notifications
    g.db.commit()  # ends the transaction (an in-process task opens its own); the page may still render after
    send_notifications.delay()


def once(run):
    """A form that creates something, posted twice (a double click, a reload after a lost answer),
    creates it once: its hidden `txn` names the submission, and a second post with the same `txn`
    goes where the first went. `run` commits and answers with a redirect; any other answer (the form
    again, with errors) frees the `txn` for a corrected post."""
    key = request.form.get("txn")
    if not key:
        return run()
    who, path = current_user.username, request.path
    fields = sorted((k, v) for k, v in request.form.items(multi=True) if k != "csrf_token")
    digest = idempotency.body_digest(json.dumps(fields, ensure_ascii=False).encode())
    replay = idempotency.claim(g.db, who, path, key, digest)
    if replay is not None:
        return redirect(replay[1]["location"], 303)
    try:
        answer = make_response(run())
    except BaseException:
        g.db.rollback()
        idempotency.settle(g.db, who, path, key, 500, None)
        raise
    if answer.status_code in (302, 303):
        idempotency.settle(g.db, who, path, key, 303, {"location": answer.location})
    else:
        g.db.rollback()
        idempotency.settle(g.db, who, path, key, 500, None)
    return answer


def typed(value: str | None) -> str:
    """A number as a scanner or a person typed it (tracking number, case number, check code, ID number):
    full-width characters folded (NFKC, as phone keyboards type them), spaces dropped, letters upper-case."""
    return "".join(unicodedata.normalize("NFKC", value or "").split()).upper()


def new_txn() -> str:
    return uuid.uuid4().hex


def field_errors(e: Refused) -> dict[str, str]:
    """A refusal as the errors of a form: {field or "_": message}, for the summary and the field."""
    return {e.field or "_": e.message}


# -- sign-in ---------------------------------------------------------------------------------

@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    endpoint = HOME.get(current_user.role)
    return redirect(url_for(endpoint)) if endpoint else render_template("courier.html")


@bp.route("/login", methods=["GET", "POST"])
def login():
    errors, username = {}, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            user = authenticate(g.db, parse(Credentials, from_form(request.form, ("username", "password"))))
        except Invalid as e:
            user, errors = None, e.by_field()
        if user is None:
            errors = errors or {"password": "用户名或密码错误，或账号已停用。"}
        else:
            session.clear()
            session.permanent = True
            login_user(user)
            session["signed_in_at"] = session["seen_at"] = clock.now().timestamp()
            target = request.args.get("next", "")
            # only a path on this site: never an open redirect
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("web.index")
            return redirect(target)
    return render_template("login.html", errors=errors, username=username), 400 if errors else 200


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("web.login"))


# -- sessions that expire ----------------------------------------------------------------------

def _expire_session():
    """Idle for longer than the setting, or signed in longer than a shift: signed out. Measured on the
    service's clock, so the rule holds (and is tested) whatever the cookie's own lifetime says."""
    if request.blueprint in ("api", "static") or "_user_id" not in session:
        return
    settings = current_app.config["TONGBAN"]
    now = clock.now().timestamp()
    idle = now - session.get("seen_at", 0) > settings.session_idle_minutes * 60
    long = now - session.get("signed_in_at", 0) > settings.session_max_hours * 3600
    if idle or long:
        logout_user()
        session.clear()
        flash("登录已超时，请重新登录。", "info")
        return
    session["seen_at"] = now


def _not_cached(response):
    """Pages carry personal data, check codes, one-time passwords: no browser or proxy keeps them.
    Static files and documents that set their own policy are left alone."""
    if request.blueprint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# -- template helpers ----------------------------------------------------------------------------

def _moment(value):
    """A date or time as a view gives it: a date, an aware datetime, or either in ISO text."""
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def _when(value) -> str:
    if not value:
        return ""
    value = _moment(value)
    if isinstance(value, datetime):
        return clock.beijing(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _day(value) -> str:
    if not value:
        return ""
    value = _moment(value)
    if isinstance(value, datetime):
        value = clock.beijing(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def _status_text(value: str) -> str:
    try:
        return CaseStatus(value).title
    except ValueError:
        return value


def init_app(app) -> None:
    settings = app.config["TONGBAN"]
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
                      WTF_CSRF_TIME_LIMIT=settings.session_max_hours * 3600,
                      SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"))
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    app.before_request(_expire_session)
    app.after_request(_not_cached)
    app.add_template_filter(_when, "when")
    app.add_template_filter(_day, "day")
    app.add_template_filter(_status_text, "status_text")
    app.jinja_env.globals.update(ROLE_TITLES=ROLE_TITLES, HOME=HOME, new_txn=new_txn)
    app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def _csrf(e):
        if request.path.startswith("/api/"):
            from flask import jsonify
            return jsonify({"error": {"code": "csrf_failed", "message": "页面已过期，请刷新后重试。"}}), 400
        return render_template("error.html", title="页面已过期",
                               message="表单已过期或来源不明（CSRF 校验失败），请返回刷新页面后重试。"), 400


def page_error(status: int, title: str, message: str):
    return render_template("error.html", title=title, message=message), status
