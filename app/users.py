"""Staff accounts and API tokens, and the admin's changes to accounts (each in the audit log).

Every way in (the token endpoint, the sign-in page, `flask users create`, the admin's pages) parses what
it received with `parse` into one of the commands below. The rules that read the database (a free
username, an office the role may belong to, an admin's own role) are checked while parsing, through the
`context=account_rules(...)` the caller passes, so that every mistake on a form is reported at once."""
from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, Optional

import pydantic
from pydantic import AfterValidator, BeforeValidator, Strict, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import delete, func
from sqlmodel import Field, Session, SQLModel, select
from werkzeug import security
from werkzeug.security import check_password_hash, generate_password_hash

from app import sessions
from app.audit import apply_changes, audit
from config import clock
from config.database import utc_column
from routing.tables import Office
from tracking.model.context import Actor
from tracking.model.errors import conflict, not_found
from tracking.model.inputs import INVALID_REQUEST, Command, Username, fold, optional, parse, text

ROLES = ("clerk", "officer", "courier", "supervisor", "admin")
STAFF_TITLES = {"clerk": "窗口工作人员", "officer": "办理人员", "courier": "寄递人员", "supervisor": "监督人员"}
ROLE_NAMES = {**STAFF_TITLES, "admin": "系统管理员"}  # what a refusal calls each role
MAX_USERNAME = 64  # the column's width
MIN_PASSWORD = 8
MAX_PASSWORD = 200  # hashing a megabyte of "password" is a cheap way to load the server


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=MAX_USERNAME)
    password_hash: str
    role: str
    office_code: Optional[str] = Field(default=None, foreign_key="office.code")
    name: str = ""
    active: bool = True
    created_at: datetime = Field(sa_column=utc_column(False))
    # a password an admin set or the service generated: its owner must choose their own at the next sign-in
    must_change_password: bool = False

    def actor(self, txn: str | None = None) -> Actor:
        return Actor(self.username, self.role, self.office_code, self.name, txn)

    # what Flask-Login asks of a signed-in user (the pages' session cookie)
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return session_id(self)


def session_id(user: User) -> str:
    """The id a page session carries: a new password (or a reset) ends every session signed in with the old one."""
    return f"{user.id}.{hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]}"


class ApiToken(SQLModel, table=True):
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    expires_at: datetime = Field(sa_column=utc_column(False))


# -- the commands -------------------------------------------------------------------------------------------------

def _fits_column(username: str) -> str:
    if len(username) > MAX_USERNAME:
        raise PydanticCustomError(INVALID_REQUEST, f"用户名不超过{MAX_USERNAME}个字符。")
    return username


def _password_given(value: Any) -> Any:
    if value == "":
        raise PydanticCustomError(INVALID_REQUEST, "请填写密码。")
    return value


def _long_enough(value: Any) -> Any:
    if isinstance(value, str) and len(value) < MIN_PASSWORD:
        raise PydanticCustomError(INVALID_REQUEST, f"密码至少{MIN_PASSWORD}位。")
    return value


def _role(value: Any) -> Any:
    if isinstance(value, str):
        value = fold(value)
        if not value:
            raise PydanticCustomError(INVALID_REQUEST, "请选择角色。")
        if value not in ROLES:
            raise PydanticCustomError(INVALID_REQUEST, f"角色应为{'、'.join(ROLE_NAMES[r] for r in ROLES)}之一。")
    return value


StaffUsername = Annotated[Username, AfterValidator(_fits_column),
                          pydantic.Field(json_schema_extra={"maxLength": MAX_USERNAME})]
# A password is taken exactly as typed: no folding, no stripping.
Password = Annotated[str, Strict(), StringConstraints(max_length=MAX_PASSWORD), BeforeValidator(_password_given)]
NewPassword = Annotated[str, Strict(), StringConstraints(max_length=MAX_PASSWORD), BeforeValidator(_long_enough)]
Role = Annotated[Literal[ROLES], BeforeValidator(_role)]
OfficeCode = optional(Annotated[text(32), AfterValidator(str.upper)])
"""An office code as typed (h140921 → H140921); empty means none."""
StaffName = text(MAX_USERNAME)


class Credentials(Command):
    """Sign-in, on the page or for an API token."""
    username: Username
    password: Password


def account_rules(session: Session, *, by: str | None = None, account: User | None = None) -> dict:
    """The parse context of NewUser and UserEdit: the database their rules read, the admin making the
    change and the account being edited."""
    return {"session": session, "by": by, "account": account}


def _rules(info: ValidationInfo) -> dict:
    if not info.context or "session" not in info.context:
        raise RuntimeError("parse account commands with context=account_rules(session)")
    return info.context


def _office_for_role(code: str | None, info: ValidationInfo) -> str | None:
    """Which office each role may belong to: the same rule for a new account and an edited one."""
    office = _rules(info)["session"].get(Office, code) if code else None
    if code and office is None:
        raise PydanticCustomError("unknown_office", f"机构代码 {code} 不存在。")
    role = info.data.get("role")  # absent when the role itself was refused
    if role == "clerk" and (office is None or office.kind != "hall"):
        raise PydanticCustomError("office_not_allowed", "窗口人员必须属于一个政务服务大厅（机构代码以 H 开头）。")
    if role == "officer" and (office is None or office.kind != "department"):
        raise PydanticCustomError("office_not_allowed", "办理人员必须属于一个办理部门（机构代码以 D 开头）。")
    if role == "courier" and office is not None and office.kind != "hub":
        raise PydanticCustomError("office_not_allowed",
                                  "寄递人员只能属于邮件处理中心（机构代码以 P 开头），或不指定机构。")
    return code


class NewUser(Command):
    """A staff account to create (the admin's page, `flask users create`)."""
    username: StaffUsername
    password: NewPassword
    role: Role
    office_code: OfficeCode = pydantic.Field(default=None, validate_default=True)  # the rule runs when it is left out
    name: StaffName = ""

    @field_validator("username")
    @classmethod
    def _free(cls, username: str, info: ValidationInfo) -> str:
        session = _rules(info)["session"]
        if session.exec(select(User.id).where(User.username == username)).first() is not None:
            raise PydanticCustomError("username_taken", f"用户名 {username} 已存在。")
        return username

    @field_validator("office_code")
    @classmethod
    def _office(cls, code: str | None, info: ValidationInfo) -> str | None:
        return _office_for_role(code, info)


class UserEdit(Command):
    """An admin changes an account's name, role or office."""
    name: StaffName = ""
    role: Role
    office_code: OfficeCode = pydantic.Field(default=None, validate_default=True)

    @field_validator("role")
    @classmethod
    def _not_own(cls, role: str, info: ValidationInfo) -> str:
        rules = _rules(info)
        account = rules["account"]
        if account is not None and account.username == rules["by"] and role != account.role:
            raise PydanticCustomError("own_role", "不能更改自己的角色（请另一位管理员操作）。")
        return role

    @field_validator("office_code")
    @classmethod
    def _office(cls, code: str | None, info: ValidationInfo) -> str | None:
        return _office_for_role(code, info)


class PasswordReset(Command):
    """A temporary password made up by the service, or one the admin typed twice."""
    way: Literal["generate", "choose"] = "generate"
    password: Optional[str] = pydantic.Field(default=None, validate_default=True)
    password_again: Optional[str] = pydantic.Field(default=None, validate_default=True)

    @field_validator("password")
    @classmethod
    def _chosen(cls, password: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("way") != "choose":
            return None
        if len(password or "") < MIN_PASSWORD:  # nothing typed is not "make one up"
            raise PydanticCustomError(INVALID_REQUEST, f"密码至少{MIN_PASSWORD}位。")
        if len(password) > MAX_PASSWORD:
            raise PydanticCustomError(INVALID_REQUEST, f"密码不超过{MAX_PASSWORD}位。")
        return password

    @field_validator("password_again")
    @classmethod
    def _alike(cls, again: str | None, info: ValidationInfo) -> None:
        password = info.data.get("password")  # absent when the password itself was refused
        if info.data.get("way") == "choose" and password is not None and again != password:
            raise PydanticCustomError(INVALID_REQUEST, "两次输入的密码不一致。")
        return None  # compared, not kept


class PasswordChange(Command):
    """Staff change their own password: the current one, and the new one typed twice."""
    current: Password
    password: NewPassword
    password_again: str = ""

    @field_validator("password")
    @classmethod
    def _new(cls, password: str, info: ValidationInfo) -> str:
        if password == info.data.get("current"):  # a temporary password kept would stay known to the admin
            raise PydanticCustomError(INVALID_REQUEST, "新密码不能与当前密码相同。")
        return password

    @field_validator("password_again")
    @classmethod
    def _alike(cls, again: str, info: ValidationInfo) -> str:
        password = info.data.get("password")  # absent when the password itself was refused
        if password is not None and again != password:
            raise PydanticCustomError(INVALID_REQUEST, "两次输入的新密码不一致。")
        return again


# -- signing in and tokens ----------------------------------------------------------------------------------------

def authenticate(session: Session, credentials: Credentials) -> User | None:
    user = session.exec(select(User).where(User.username == credentials.username)).first()
    # an unknown or disabled name costs the same hashing time as a known one: the timing names no account
    known = check_password_hash(user.password_hash if user else _dummy_hash(), credentials.password)
    if user is None or not user.active or not known:
        return None
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash of no one's password, made the way passwords are (werkzeug's default, not a test's cheaper one)."""
    return security.generate_password_hash(secrets.token_urlsafe(16))


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


def staff_label(session: Session, username: str) -> str:
    """A staff member as others see them: "王敏（忻州市忻府区政务服务中心）", the name and the office (the
    role where no name was given), never the username; a courier without an office is their name alone."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        return username
    name = user.name or STAFF_TITLES.get(user.role, "工作人员")
    office = session.get(Office, user.office_code) if user.office_code else None
    return f"{name}（{office.name}）" if office else name


def courier_name(session: Session, username: str) -> str | None:
    """An active courier's display name, None for anyone else."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active or user.role != "courier":
        return None
    return user.name or user.username


# -- making and changing accounts ---------------------------------------------------------------------------------

USER_FIELDS = ("username", "name", "role", "office_code", "active")
_TEMPORARY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"  # nothing read as 0/O or 1/l/I


def _insert(session: Session, new: NewUser) -> User:
    user = User(username=new.username, password_hash=generate_password_hash(new.password), role=new.role,
                office_code=new.office_code, name=new.name, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def create_user(session: Session, username: str, role: str, password: str, office_code: str | None = None,
                name: str = "") -> User:
    """An account made by `flask users create`, the demo or a test: NewUser's rules, no audit row (no admin
    made it). Raises `Invalid` with every broken rule."""
    fields = {"username": username, "role": role, "password": password, "office_code": office_code, "name": name}
    return _insert(session, parse(NewUser, fields, context=account_rules(session)))


def _account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("没有这个账号。")
    return user


def _end_api_tokens(session: Session, user: User) -> int:
    return session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0


def add_user(session: Session, by: str, new: NewUser) -> User:
    """An admin adds an account (parsed with `account_rules(session)`); the audit row says so."""
    user = _insert(session, new)
    user.must_change_password = True  # the admin knows it: the owner chooses their own at the first sign-in
    audit(session, by, "user_created", "user", user.username,
          {f: [None, getattr(user, f)] for f in USER_FIELDS})
    return user


def update_user(session: Session, by: str, user: User, edit: UserEdit) -> dict:
    """An admin changes an account's name, role or office (parsed with `account_rules(session, by=by,
    account=user)`); returns the changes as audited."""
    changes = apply_changes(user, edit.model_dump(), USER_FIELDS)
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
    sessions.end_all(session, user.id)
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


def reset_password(session: Session, by: str, user_id: int, reset: PasswordReset) -> str:
    """Sets the password the admin typed, or a temporary one (returned, to be shown once). Every page
    session (its id carries a digest of the hash) and API token of the account ends."""
    user = _account(session, user_id)
    password = reset.password if reset.way == "choose" else temporary_password()
    user.password_hash = generate_password_hash(password)
    user.must_change_password = True  # someone else knows it
    session.add(user)
    _end_api_tokens(session, user)
    sessions.end_all(session, user.id)
    # the audit says that it changed and how, never the password
    audit(session, by, "password_reset", "user", user.username,
          {"password": [None, "chosen" if reset.way == "choose" else "generated"]})
    return password


def change_own_password(session: Session, user: User, change: PasswordChange, keep_session: str | None) -> bool:
    """Staff choose their own password; False (nothing changed) when the current one is wrong. Every other
    page session and every API token of the account ends; the session `keep_session` goes on."""
    if not check_password_hash(user.password_hash, change.current):
        return False
    user.password_hash = generate_password_hash(change.password)
    user.must_change_password = False
    session.add(user)
    _end_api_tokens(session, user)
    sessions.end_all(session, user.id, keep=keep_session)
    audit(session, user.username, "password_changed", "user", user.username, {"password": [None, "own"]})
    return True


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
