"""Staff accounts and API tokens, and the admin's changes to accounts (each in the audit log)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import ClassVar, Optional

from sqlalchemy import delete, func
from sqlmodel import Field, Session, SQLModel, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit import apply_changes, audit, every_error
from config import clock
from config.database import utc_column
from routing.tables import Office
from tracking.model.context import Actor
from tracking.model.errors import not_found
from tracking.model.errors import bad_request
from tracking.model.errors import conflict

ROLES = ("clerk", "officer", "courier", "supervisor", "admin")


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    password_hash: str
    role: str
    office_code: Optional[str] = Field(default=None, foreign_key="office.code")
    name: str = ""
    active: bool = True
    created_at: datetime = Field(sa_column=utc_column(False))

    def actor(self, txn: str | None = None) -> Actor:
        return Actor(self.username, self.role, self.office_code, self.name, txn)

    # what Flask-Login asks of a signed-in user (the pages' session cookie)
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        from app.web import session_id
        return session_id(self)


class ApiToken(SQLModel, table=True):
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    expires_at: datetime = Field(sa_column=utc_column(False))


class UserError(ValueError):
    """A refused account; `field` names the form field it concerns (the CLI shows only the message)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def create_user(session: Session, username: str, role: str, password: str,
                office_code: str | None = None, name: str = "") -> User:
    errors = account_errors(session, username, role, password, office_code)
    if errors:
        field, message = next(iter(errors.items()))
        raise UserError(message, field)
    user = User(username=username, password_hash=generate_password_hash(password), role=role,
                office_code=office_code, name=name, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def account_errors(session: Session, username: str, role: str, password: str,
                   office_code: str | None) -> dict[str, str]:
    """What is wrong with a new account, {field: message}, every field at once."""
    errors = {}
    if not username or len(username) > 64:
        errors["username"] = "用户名不能为空，且不超过64个字符。"
    elif session.exec(select(User).where(User.username == username)).first():
        errors["username"] = f"用户名 {username} 已存在。"
    if len(password) < 8:
        errors["password"] = "密码至少8位。"
    return {**errors, **role_office_errors(session, role, office_code)}


def role_office_errors(session: Session, role: str, office_code: str | None) -> dict[str, str]:
    """Which office each role may belong to (the same rule for a new account and an edited one)."""
    if not role:
        return {"role": "请选择角色。"}
    if role not in ROLES:
        return {"role": f"角色应为 {', '.join(ROLES)} 之一。"}
    office = session.get(Office, office_code) if office_code else None
    if office_code and office is None:
        return {"office_code": f"机构代码 {office_code} 不存在。"}
    if role == "clerk" and (office is None or office.kind != "hall"):
        return {"office_code": "窗口人员（clerk）必须属于一个政务服务大厅（机构代码以 H 开头）。"}
    if role == "officer" and (office is None or office.kind != "department"):
        return {"office_code": "办理人员（officer）必须属于一个办理部门（机构代码以 D 开头）。"}
    if role == "courier" and office is not None and office.kind != "hub":
        return {"office_code": "寄递人员（courier）只能属于邮件处理中心（机构代码以 P 开头），或不指定机构。"}
    return {}


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, expires_at=clock.now() + timedelta(hours=hours)))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.get(ApiToken, _digest(token))
    if row is None or clock.beijing(row.expires_at) <= clock.now():
        return None
    user = session.get(User, row.user_id)
    return user if user and user.active else None


def display_name(session: Session, username: str) -> str:
    """A staff member's name as printed (the username where no name was given)."""
    user = session.exec(select(User).where(User.username == username)).first()
    return user.name if user and user.name else username


def courier_name(session: Session, username: str) -> str | None:
    """An active courier's display name, None for anyone else."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active or user.role != "courier":
        return None
    return user.name or user.username


USER_FIELDS = ("username", "name", "role", "office_code", "active")
_TEMPORARY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"  # nothing read as 0/O or 1/l/I


def _account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("没有这个账号。")
    return user


def _end_api_tokens(session: Session, user: User) -> int:
    return session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0


def add_user(session: Session, by: str, username: str, role: str, password: str, office_code: str | None,
             name: str = "") -> User:
    """An admin adds an account: create_user's rules, every broken one reported at once, and the audit row."""
    username, name, office_code = username.strip(), name.strip(), (office_code or "").strip().upper() or None
    errors = account_errors(session, username, role, password, office_code)
    if len(name) > 64:
        errors["name"] = "姓名不超过64个字符。"
    if errors:
        raise every_error(errors)
    user = create_user(session, username, role, password, office_code, name)
    audit(session, by, "user_created", "user", user.username,
          {f: [None, getattr(user, f)] for f in USER_FIELDS})
    return user


def update_user(session: Session, by: str, user_id: int, name: str, role: str, office_code: str | None) -> dict:
    """An admin changes an account's name, role or office; returns the changes as audited."""
    user = _account(session, user_id)
    name, office_code = name.strip(), (office_code or "").strip().upper() or None
    errors = role_office_errors(session, role, office_code)
    if len(name) > 64:
        errors["name"] = "姓名不超过64个字符。"
    if user.username == by and role != user.role:
        errors.setdefault("role", "不能更改自己的角色（请另一位管理员操作）。")
    if errors:
        raise every_error(errors)
    changes = apply_changes(user, {"name": name, "role": role, "office_code": office_code}, USER_FIELDS)
    if changes:
        session.add(user)
        audit(session, by, "user_updated", "user", user.username, changes)
    return changes


def disable_user(session: Session, by: str, user_id: int) -> User:
    """The account can no longer sign in; its page sessions end (an inactive user is not loaded) and its
    API tokens are deleted."""
    user = _account(session, user_id)
    if user.username == by:
        raise conflict("own_account", "不能停用自己的账号。")
    _end_api_tokens(session, user)
    if user.active:
        user.active = False
        session.add(user)
        audit(session, by, "user_disabled", "user", user.username, {"active": [True, False]})
    return user


def enable_user(session: Session, by: str, user_id: int) -> User:
    user = _account(session, user_id)
    if not user.active:
        user.active = True
        session.add(user)
        audit(session, by, "user_enabled", "user", user.username, {"active": [False, True]})
    return user


def temporary_password() -> str:
    """12 characters in three groups, easy to read out: about 69 bits."""
    chars = "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(12))
    return "-".join(chars[i:i + 4] for i in range(0, 12, 4))


def reset_password(session: Session, by: str, user_id: int, password: str | None = None) -> str:
    """Sets the password the admin typed, or a temporary one (returned, to be shown once). Every page
    session (its id carries a digest of the hash) and API token of the account ends."""
    user = _account(session, user_id)
    generated = password is None
    if generated:
        password = temporary_password()
    elif len(password) < 8:
        raise bad_request("密码至少8位。", "password")
    user.password_hash = generate_password_hash(password)
    session.add(user)
    _end_api_tokens(session, user)
    # the audit says that it changed and how, never the password
    audit(session, by, "password_reset", "user", user.username,
          {"password": [None, "generated" if generated else "chosen"]})
    return password


# -- the admin's list of accounts -------------------------------------------------------------------------------

def list_users(session: Session, role: str | None = None, office_prefix: str | None = None,
               active: bool | None = None, q: str | None = None) -> list[User]:
    query = select(User)
    if role:
        query = query.where(User.role == role)
    if office_prefix:
        query = query.where(User.office_code.startswith(office_prefix))
    if active is not None:
        query = query.where(User.active == active)
    if q:
        query = query.where(User.username.contains(q, autoescape=True) | User.name.contains(q, autoescape=True))
    return list(session.exec(query.order_by(User.username)))


def token_count(session: Session, user: User) -> int:
    """The API tokens an account holds that have not expired."""
    return session.exec(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.expires_at > clock.now())).one()
