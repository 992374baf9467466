"""Staff accounts and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import ClassVar, Optional

from sqlmodel import Field, Session, SQLModel, select
from werkzeug.security import check_password_hash, generate_password_hash

from config import clock
from config.database import utc_column
from routing.tables import Office
from tracking.context import Actor

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
    pass


def create_user(session: Session, username: str, role: str, password: str,
                office_code: str | None = None, name: str = "") -> User:
    if role not in ROLES:
        raise UserError(f"角色应为 {', '.join(ROLES)} 之一。")
    if not username or len(username) > 64:
        raise UserError("用户名不能为空，且不超过64个字符。")
    if len(password) < 8:
        raise UserError("密码至少8位。")
    if session.exec(select(User).where(User.username == username)).first():
        raise UserError(f"用户名 {username} 已存在。")
    office = session.get(Office, office_code) if office_code else None
    if office_code and office is None:
        raise UserError(f"机构代码 {office_code} 不存在。")
    if role == "clerk" and (office is None or office.kind != "hall"):
        raise UserError("窗口人员（clerk）必须指定一个政务服务大厅（--office H……）。")
    if role == "officer" and (office is None or office.kind != "department"):
        raise UserError("办理人员（officer）必须指定一个办理部门（--office D……）。")
    if role == "courier" and office is not None and office.kind != "hub":
        raise UserError("寄递人员（courier）只能指定邮件处理中心（--office P……）。")
    user = User(username=username, password_hash=generate_password_hash(password), role=role,
                office_code=office_code, name=name, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


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
