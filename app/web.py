"""What every page shares: sign-in (Flask-Login), CSRF on every form (Flask-WTF), sessions kept on the
server that expire or end, temporary passwords changed first, security headers, role checks, error pages,
and the filters templates use."""
from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import date, datetime, timedelta
from functools import wraps

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request,
                   session, url_for)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from app import idempotency, sessions
from app.http_errors import status_of
from app.ratelimit import rate_limited
from app.sign_ins import sign_in
from app.users import Credentials, User, session_id, staff_label
from config import clock
from tracking.model.errors import Kind, Refused
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


def file_store():
    """The store of uploaded files the settings choose (local disk or S3-compatible), made once per app."""
    extension = current_app.extensions["tongban"]
    if "file_store" not in extension:
        from tracking.files.storage import storage_for
        extension["file_store"] = storage_for(extension["env"].settings)
    return extension["file_store"]


def committed() -> None:
    """After a page's change: commit, end the transaction, and send the notifications it queued
    (as the API's `changes` does)."""
    from app.tasks import after_change
    g.db.commit()  # ends the transaction (an in-process task opens its own); the page may still render after
    after_change()


def writes(view):
    """A GET that changes state (a result's first download moves its case on): its request gets a session
    that may write, as a POST's does, instead of one that only reads."""
    view.writes = True
    return view


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
    replay = idempotency.claim(g.db, env().sealer, who, path, key, digest)
    if replay is not None:
        return redirect(replay[1]["location"], 303)
    try:
        answer = make_response(run())
    except BaseException:
        g.db.rollback()
        idempotency.settle(g.db, env().sealer, who, path, key, 500, None)
        raise
    if answer.status_code in (302, 303):
        idempotency.settle(g.db, env().sealer, who, path, key, 303, {"location": answer.location})
    else:
        g.db.rollback()
        idempotency.settle(g.db, env().sealer, who, path, key, 500, None)
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
    if endpoint:
        return redirect(url_for(endpoint))
    if current_user.role == "courier":  # a courier lands on their delivery list (app.pages.courier)
        return current_app.view_functions["courier.home"]()
    return render_template("courier.html", found={"deliveries": [], "count": 0}, errors={}, form={}, signers=[])


@bp.route("/login", methods=["GET", "POST"])
def login():
    errors, username = {}, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            rate_limited("sign_in")
            user = sign_in(g.db, parse(Credentials, from_form(request.form, ("username", "password"))),
                           request.remote_addr or "?", current_app.config["TONGBAN"].sign_in_lock_after)
        except Invalid as e:
            user, errors = None, e.by_field()
        except Refused as e:  # waiting, or locked: said on the form, with the status it has in the API
            return render_template("login.html", errors={"password": e.message}, username=username), status_of(e)
        if user is None:
            errors = errors or {"password": "用户名或密码错误，或账号已停用。"}
        else:
            session.clear()
            session.permanent = True
            login_user(user)
            session["sid"] = sessions.begin(g.db, user.id)
            target = request.args.get("next", "")
            # only a path on this site: never an open redirect
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("web.index")
            return redirect(target)
    return render_template("login.html", errors=errors, username=username), 400 if errors else 200


@bp.post("/logout")
def logout():
    row = _session_row()
    if row is not None:
        sessions.end(g.db, row)  # the cookie, even a copy of it, opens nothing any more
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("web.login"))


# -- sessions that expire ----------------------------------------------------------------------

def _session_row() -> sessions.StaffSession | None:
    """The live server-side row of this request's page session, if any."""
    user_id = str(session.get("_user_id", "")).partition(".")[0]
    return sessions.live(g.db, session.get("sid"), int(user_id)) if user_id.isdigit() else None


def _check_session():
    """A page cookie opens pages (and the API) only while its session's row on the server is live: not
    ended (signed out, a new password, a reset, a disabled account), not idle for longer than the setting
    and not older than a shift. Measured on the service's clock, so the rule holds (and is tested) whatever
    the cookie's own lifetime says."""
    if request.blueprint == "static" or "_user_id" not in session:
        return
    settings = current_app.config["TONGBAN"]
    row = _session_row()
    if row is not None and not sessions.expired(row, timedelta(minutes=settings.session_idle_minutes),
                                                timedelta(hours=settings.session_max_hours)):
        if request.blueprint != "api":  # a person at a page is active; a script reading the API is not
            if sessions.touch(g.db, row):
                g.db.commit()  # kept whatever the page answers
        return
    logout_user()
    session.clear()
    if row is not None:  # expired (a session that ended elsewhere just asks for a sign-in)
        sessions.end(g.db, row)
        g.db.commit()
        if request.blueprint != "api":
            flash("登录已超时，请重新登录。", "info")


# What someone with a temporary password may open before choosing their own.
PASSWORD_FIRST = ("account.password", "web.logout", "static")


def _password_first():
    """A password an admin set or the service generated is changed before anything else is opened."""
    # no page session, no one signed in (the service sets no remember-me cookie): the public API and
    # pages ask nothing of the user store
    if request.endpoint in PASSWORD_FIRST or "_user_id" not in session or not current_user.is_authenticated:
        return None
    if not current_user.must_change_password:
        return None
    if request.blueprint == "api":
        raise Refused(Kind.FORBIDDEN, "password_change_required", "请先在页面上修改临时密码，再使用本系统。")
    return redirect(url_for("account.password"))


# Pages run only the scripts and styles under /static (no inline script, no on… handler, no style
# attribute): injected markup runs nothing. Pages frame nothing but the service's own documents and are
# framed by nobody.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Documents (PDF labels, receipts, sheets) are framed by the service's own pages for printing, so they
# allow the same origin only. No other directive: Chromium's PDF viewer is itself a plugin frame that
# `default-src 'none'` on the PDF would block.
DOCUMENT_POLICY = "frame-ancestors 'self'"


def _answer_headers(response):
    """What every answer carries: the security policy of its kind (below), and, but for static files,
    Cache-Control: no-store (pages carry personal data, check codes, one-time passwords: no browser or proxy
    keeps them). A header the view set itself is kept (documents their own cache policy, public tracking a
    stricter Referrer-Policy). Added to the list, not set: werkzeug's set and setdefault scan the list and
    raise and catch a KeyError for a header not there yet, a few microseconds each on every answer."""
    if response.mimetype == "text/html":
        policy, framing = PAGE_POLICY, "DENY"
    elif response.mimetype == "application/json":
        policy, framing = API_POLICY, "DENY"
    else:
        policy, framing = DOCUMENT_POLICY, "SAMEORIGIN"
    headers = response.headers
    present = {key.lower() for key, _ in headers}
    wanted = [("Content-Security-Policy", policy), ("X-Frame-Options", framing), ("Referrer-Policy", "same-origin")]
    if request.blueprint != "static":
        wanted.append(("Cache-Control", "no-store"))
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    if "x-content-type-options" in present:
        headers["X-Content-Type-Options"] = "nosniff"
    else:
        headers.add("X-Content-Type-Options", "nosniff")
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


def _person(username: str | None) -> str:
    """{{ e.actor|person }}: a staff member by name and office, never by username (read once a request)."""
    if not username:
        return ""
    known = g.setdefault("people", {})
    if username not in known:
        known[username] = staff_label(g.db, username)
    return known[username]


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, whose signer is made only for a request that brings the cookie: the
    public look-ups (no cookie) skip it, about a tenth of a kept tracking answer's time."""

    def open_session(self, app, request):
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        """An empty session left empty sets no cookie and adds no `Vary: Cookie` (Flask adds it once the
        session is looked at, as every request's sign-in check does): the answer did not depend on a
        cookie, and nothing but static files is kept by a cache anyway (_answer_headers)."""
        if session or session.modified:
            super().save_session(app, session, response)


def init_app(app) -> None:
    settings = app.config["TONGBAN"]
    app.session_interface = _CookieSessions()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
                      WTF_CSRF_TIME_LIMIT=settings.session_max_hours * 3600,
                      SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"))
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    app.before_request(_check_session)
    app.before_request(_password_first)
    app.after_request(_answer_headers)
    app.add_template_filter(_when, "when")
    app.add_template_filter(_day, "day")
    app.add_template_filter(_status_text, "status_text")
    app.add_template_filter(_person, "person")
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
