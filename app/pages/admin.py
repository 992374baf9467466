"""管理 pages (/admin): accounts, offices, matters, and the log of every change an admin made.

Each view parses the form into a command (every mistake at once, shown next to its field), calls one
function of app.users or app.reference_admin (which writes the audit row in the same transaction), then
commits."""
from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from sqlmodel import select

from app import reference_admin as reference
from app import sign_ins
from app import users as accounts
from app.audit import AUDIT_ACTIONS, TARGET_KINDS, audit_log
from app.reference_admin import MatterEdit, OfficeEdit
from app.users import ROLES, NewUser, PasswordReset, User, UserEdit, account_rules
from app.web import ROLE_TITLES, committed, once, role_required
from routing.matter_types import TYPE_TITLES
from routing.reference import invalidate_directory
from routing.tables import Department, Division, Matter, Office
from tracking.model.errors import not_found
from tracking.model.inputs import Invalid, from_form, parse

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
OFFICE_KINDS = {"hall": "政务服务大厅", "department": "办理部门", "hub": "邮件处理中心"}
FIELD_LABELS = {"username": "用户名", "name": "名称", "role": "角色", "office_code": "所属机构", "active": "启用",
                "password": "密码", "address": "地址", "postcode": "邮政编码", "phone": "电话",
                "legal_days": "法定办结时限", "promised_days": "承诺办结时限", "locked": "登录锁定",
                "base_url": "服务地址", "signing_keys": "签名公钥", "sealing_key": "加密公钥", "prefixes": "负责区划",
                "notify_phone": "接收通知的手机号码", "notify_email": "接收通知的电子邮箱"}
PASSWORD_WAYS = {"generated": "已改为系统生成的临时密码", "chosen": "已改为管理员设定的密码",
                 "own": "本人已改为自己的密码"}
MODES = {"online": "全程网办", "proxy": "异地代收代办", "joint": "多地联办"}
JURISDICTIONS = {"household": "户籍地", "subject": "事项所在地（如不动产所在地、迁入地、参保地）",
                 "registration": "登记地"}
APPLICANT_KINDS = {"person": "个人", "organisation": "单位"}
RESULT_TYPES = {"paper": "纸质", "electronic": "电子"}
LEVELS = {"county": "县级", "city": "市级", "province": "省级"}


def _form(names: tuple[str, ...]) -> dict:
    """The form's fields as the command takes them; the "active" box is ticked when it says yes."""
    data = from_form(request.form, names)
    if "active" in names:
        data["active"] = request.form.get("active") == "yes"
    return data


def _page() -> int:
    value = request.args.get("page", "1")
    return max(int(value), 1) if value.isdigit() else 1


def _pages(total: int, page: int) -> dict:
    """What the pager under a long list needs: this page, the last, and the query to keep."""
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return {"page": page, "last": max((total + PER_PAGE - 1) // PER_PAGE, 1), "total": total, "args": args}


def _office_names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return {o.code: o.name for o in g.db.exec(select(Office).where(Office.code.in_(codes)))}


def _office_choices() -> list[Office]:
    """Offices a staff account can belong to, for the form's suggestion list."""
    return list(g.db.exec(select(Office).where(Office.active == True).order_by(Office.code)))  # noqa: E712


def _audit_lines(row) -> list[tuple[str, str, str]]:
    """A change as a clerk reads it: (field, old, new) in Chinese."""
    def shown(name, value):
        if value is None or value == "":
            return "（空）"
        if isinstance(value, bool):
            return "是" if value else "否"
        if name == "role":
            return ROLE_TITLES.get(value, value)
        if name == "password":
            return PASSWORD_WAYS.get(value, "已更改")
        if isinstance(value, list):  # a peer's keys or prefixes
            return "、".join(map(str, value)) or "（空）"
        return str(value)
    lines = []
    for name, (old, new) in row.changes.items():
        label = "姓名" if name == "name" and row.target_kind == "user" else FIELD_LABELS.get(name, name)
        # no old value (a new account, a password): only the new one is shown
        lines.append((label, "—" if old is None else shown(name, old), shown(name, new)))
    return lines


def _audit_rows(rows) -> list[dict]:
    targets = {"user": "admin.user", "office": "admin.office", "matter": "admin.matter", "peer": "peers.peer"}
    by_name = {}
    usernames = {r.target_id for r in rows if r.target_kind == "user"}
    if usernames:
        by_name = {u.username: u.id for u in g.db.exec(select(User).where(User.username.in_(usernames)))}
    shown = []
    for r in rows:
        if r.target_kind == "user":
            link = url_for(targets["user"], user_id=by_name[r.target_id]) if r.target_id in by_name else None
        else:
            link = url_for(targets[r.target_kind], code=r.target_id)
        shown.append({"row": r, "action": AUDIT_ACTIONS.get(r.action, r.action),
                      "kind": TARGET_KINDS.get(r.target_kind, r.target_kind), "link": link,
                      "lines": _audit_lines(r)})
    return shown


@bp.context_processor
def _labels():
    return {"OFFICE_KINDS": OFFICE_KINDS, "FIELD_LABELS": FIELD_LABELS}


# -- home ------------------------------------------------------------------------------------------

@bp.get("")
@role_required("admin")
def home():
    counts = {
        "users": len(g.db.exec(select(User.id).where(User.active == True)).all()),  # noqa: E712
        "disabled": len(g.db.exec(select(User.id).where(User.active == False)).all()),  # noqa: E712
        "offices_edited": len(g.db.exec(select(Office.code).where(Office.edited == True)).all()),  # noqa: E712
        "matters": len(g.db.exec(select(Matter.code).where(Matter.active == True)).all()),  # noqa: E712
    }
    recent, _total = audit_log(g.db, limit=5)
    return render_template("admin/home.html", counts=counts, recent=_audit_rows(recent))


# -- accounts --------------------------------------------------------------------------------------

@bp.get("/users")
@role_required("admin")
def users():
    role = request.args.get("role", "")
    office = request.args.get("office", "").strip().upper()
    state = request.args.get("active", "")
    q = request.args.get("q", "").strip()
    rows = accounts.list_users(g.db, role=role if role in ROLES else None, office_prefix=office or None,
                               active={"yes": True, "no": False}.get(state), q=q or None)
    return render_template("admin/users.html", rows=rows, names=_office_names(u.office_code for u in rows),
                           role=role, office=office, state=state, q=q, roles=ROLES)


@bp.route("/users/new", methods=["GET", "POST"])
@role_required("admin")
def new_user():
    form = {k: request.form.get(k, "") for k in ("username", "name", "role", "office_code")}
    if request.method == "GET":
        return _user_form(form, {})

    def run():
        try:
            new = parse(NewUser, _form(("username", "name", "role", "office_code", "password")),
                        context=account_rules(g.db))
        except Invalid as e:
            return _user_form(form, e.by_field(), 400)
        user = accounts.add_user(g.db, g.actor.username, new)
        user_id, username = user.id, user.username
        committed()
        flash(f"已新建账号 {username}。请把用户名和密码当面告知本人。", "success")
        return redirect(url_for("admin.user", user_id=user_id), 303)
    return once(run)


def _user_form(form: dict, errors: dict, status: int = 200):
    # a response, not a (body, status) pair: once() reads the answer's status
    return make_response(render_template("admin/user_new.html", form=form, errors=errors, roles=ROLES,
                                         offices=_office_choices()), status)


@bp.get("/users/<int:user_id>")
@role_required("admin")
def user(user_id: int):
    account = _get(User, user_id)
    office = g.db.get(Office, account.office_code) if account.office_code else None
    history, _total = audit_log(g.db, kind="user", target_id=account.username, limit=20)
    return render_template("admin/user.html", user=account, office=office, history=_audit_rows(history),
                           tokens=accounts.token_count(g.db, account), locked_at=sign_ins.locked_since(g.db, account))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def edit_user(user_id: int):
    account = _get(User, user_id)
    if request.method == "GET":
        form = {"name": account.name, "role": account.role, "office_code": account.office_code or ""}
        return _edit_user_form(account, form, {})
    form = {k: request.form.get(k, "") for k in ("name", "role", "office_code")}
    try:
        edit = parse(UserEdit, _form(("name", "role", "office_code")),
                     context=account_rules(g.db, by=g.actor.username, account=account))
    except Invalid as e:
        return _edit_user_form(account, form, e.by_field(), 400)
    changes = accounts.update_user(g.db, g.actor.username, account, edit)
    username = account.username
    committed()
    flash(f"已保存账号 {username} 的修改。" if changes else "没有修改任何内容。", "success" if changes else "info")
    return redirect(url_for("admin.user", user_id=user_id), 303)


def _edit_user_form(account: User, form: dict, errors: dict, status: int = 200):
    return render_template("admin/user_edit.html", user=account, form=form, errors=errors, roles=ROLES,
                           offices=_office_choices()), status


@bp.route("/users/<int:user_id>/disable", methods=["GET", "POST"])
@role_required("admin")
def disable_user(user_id: int):
    account = _get(User, user_id)
    if request.method == "GET":  # a page to confirm: it signs the person out at once
        return render_template("admin/user_disable.html", user=account,
                               own=account.username == g.actor.username)
    accounts.disable_user(g.db, g.actor.username, user_id)  # a refusal shows as the error page
    username = account.username
    committed()
    flash(f"账号 {username} 已停用：本人已被退出登录，接口令牌已作废。", "success")
    return redirect(url_for("admin.user", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/enable")
@role_required("admin")
def enable_user(user_id: int):
    account = accounts.enable_user(g.db, g.actor.username, user_id)
    username = account.username
    committed()
    flash(f"账号 {username} 已重新启用，本人可用原密码登录。", "success")
    return redirect(url_for("admin.user", user_id=user_id), 303)


@bp.post("/users/<int:user_id>/unlock")
@role_required("admin")
def unlock_user(user_id: int):
    account = _get(User, user_id)
    unlocked = sign_ins.unlock_user(g.db, g.actor.username, account)
    username = account.username
    committed()
    flash(f"账号 {username} 已解锁，本人可再次登录。" if unlocked else f"账号 {username} 未被锁定。",
          "success" if unlocked else "info")
    return redirect(url_for("admin.user", user_id=user_id), 303)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@role_required("admin")
def reset_password(user_id: int):
    account = _get(User, user_id)
    way = request.form.get("way", "generate")
    if request.method == "GET":
        return render_template("admin/user_password.html", user=account, way=way, errors={})
    try:
        reset = parse(PasswordReset, _form(("way", "password", "password_again")))
    except Invalid as e:
        return render_template("admin/user_password.html", user=account, way=way, errors=e.by_field()), 400
    password = accounts.reset_password(g.db, g.actor.username, user_id, reset)
    username, name = account.username, account.name
    committed()
    if reset.way == "choose":
        flash(f"账号 {username} 的密码已重置，本人原有的登录和接口令牌均已失效。", "success")
        return redirect(url_for("admin.user", user_id=user_id), 303)
    # the temporary password is shown on this answer only: stored nowhere (and, as every page, not cached)
    return render_template("admin/user_password_done.html", user_id=user_id, username=username, name=name,
                           password=password)


# -- offices ---------------------------------------------------------------------------------------

@bp.get("/offices")
@role_required("admin")
def offices():
    kind = request.args.get("kind", "")
    division = request.args.get("division", "").strip()
    q = request.args.get("q", "").strip()
    state = request.args.get("active", "")
    page = _page()
    rows, total = reference.list_offices(g.db, kind=kind if kind in OFFICE_KINDS else None,
                                        division_prefix=division if division.isdigit() else None, q=q or None,
                                        active={"yes": True, "no": False}.get(state),
                                        limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template("admin/offices.html", rows=rows, kind=kind, division=division, q=q, state=state,
                           paging=_pages(total, page), bad_division=bool(division) and not division.isdigit())


@bp.get("/offices/<code>")
@role_required("admin")
def office(code: str):
    row = _get(Office, code)
    division = g.db.get(Division, row.division_code)
    department = g.db.get(Department, row.department) if row.department else None
    staff = list(g.db.exec(select(User).where(User.office_code == row.code).order_by(User.username)))
    history, _total = audit_log(g.db, kind="office", target_id=row.code, limit=20)
    return render_template("admin/office.html", office=row, division=division, department=department, staff=staff,
                           serves=g.db.get(Division, row.serves) if row.serves else None,
                           history=_audit_rows(history))


@bp.route("/offices/<code>/edit", methods=["GET", "POST"])
@role_required("admin")
def edit_office(code: str):
    row = _get(Office, code)
    if request.method == "GET":
        form = {k: getattr(row, k) for k in reference.OFFICE_FIELDS}
        return render_template("admin/office_edit.html", office=row, form=form, errors={})
    form = _form(reference.OFFICE_FIELDS)
    try:
        edit = parse(OfficeEdit, form)
    except Invalid as e:
        return render_template("admin/office_edit.html", office=row, form=form, errors=e.by_field()), 400
    changes = reference.update_office(g.db, g.actor.username, code, edit)
    committed()
    invalidate_directory()  # routing picks up a renamed or retired office now, not in a minute
    if set(changes) - set(reference.NOTIFY_FIELDS):
        flash("已保存机构信息的修改。以后重新载入基础数据时，这条记录保持管理员修改后的样子。", "success")
    else:
        flash("已保存接收通知的联系方式。" if changes else "没有修改任何内容。", "success" if changes else "info")
    return redirect(url_for("admin.office", code=code), 303)


# -- matters ---------------------------------------------------------------------------------------

@bp.get("/matters")
@role_required("admin")
def matters():
    department = request.args.get("department", "")
    q = request.args.get("q", "").strip()
    state = request.args.get("active", "")
    rows = reference.list_matters(g.db, department=department or None, q=q or None,
                                 active={"yes": True, "no": False}.get(state))
    departments = list(g.db.exec(select(Department).order_by(Department.code)))
    return render_template("admin/matters.html", rows=rows, departments=departments, department=department,
                           q=q, state=state, names={d.code: d.name for d in departments})


@bp.get("/matters/<code>")
@role_required("admin")
def matter(code: str):
    row = _get(Matter, code)
    department = g.db.get(Department, row.department)
    history, _total = audit_log(g.db, kind="matter", target_id=row.code, limit=20)
    return render_template("admin/matter.html", matter=row, department=department, history=_audit_rows(history),
                           MODES=MODES, JURISDICTIONS=JURISDICTIONS, APPLICANT_KINDS=APPLICANT_KINDS,
                           TYPES=TYPE_TITLES,
                           RESULT_TYPES=RESULT_TYPES, LEVELS=LEVELS)


@bp.route("/matters/<code>/edit", methods=["GET", "POST"])
@role_required("admin")
def edit_matter(code: str):
    row = _get(Matter, code)
    if request.method == "GET":
        form = {k: getattr(row, k) for k in reference.MATTER_FIELDS}
        return render_template("admin/matter_edit.html", matter=row, form=form, errors={})
    form = _form(("name", "legal_days", "promised_days", "active"))
    try:
        edit = parse(MatterEdit, form)
    except Invalid as e:
        return render_template("admin/matter_edit.html", matter=row, form=form, errors=e.by_field()), 400
    changes = reference.update_matter(g.db, g.actor.username, code, edit)
    committed()
    flash("已保存事项的修改。已收件的办件仍按收件时的承诺时限计算。" if changes else "没有修改任何内容。",
          "success" if changes else "info")
    return redirect(url_for("admin.matter", code=code), 303)


# -- the audit log ---------------------------------------------------------------------------------

@bp.get("/audit")
@role_required("admin")
def audit():
    kind = request.args.get("kind", "")
    actor = request.args.get("actor", "").strip()
    page = _page()
    rows, total = audit_log(g.db, kind=kind if kind in TARGET_KINDS else None, actor=actor or None,
                                     limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    admins = list(g.db.exec(select(User.username).where(User.role == "admin").order_by(User.username)))
    return render_template("admin/audit.html", rows=_audit_rows(rows), kind=kind, actor=actor, admins=admins,
                           kinds=TARGET_KINDS, paging=_pages(total, page))


def _get(model, key):
    row = g.db.get(model, key)
    if row is None:
        raise not_found({User: "没有这个账号。", Office: "没有这个机构。", Matter: "没有这个事项。"}[model])
    return row
