"""The audit log of the admin's changes (accounts, offices, matters): written in the same transaction as
each change, with every field's old and new value."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Column, Index, func
from sqlmodel import Field, Session, SQLModel, select

from config import clock
from config.database import utc_column


class AdminAudit(SQLModel, table=True):
    """One change an admin made to an account, an office or a matter: who, when, and each field's old
    and new value ({field: [old, new]}). Never a password or its hash."""
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=utc_column(False))
    actor: str = Field(max_length=64, index=True)
    action: str = Field(max_length=32)  # see AUDIT_ACTIONS
    target_kind: str = Field(max_length=16)  # user | office | matter | peer
    target_id: str = Field(max_length=64)
    changes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    __table_args__ = (Index("admin_audit_target", "target_kind", "target_id"),)


AUDIT_ACTIONS = {"user_created": "新建账号", "user_updated": "修改账号", "user_disabled": "停用账号",
                 "user_enabled": "启用账号", "password_reset": "重置密码", "password_changed": "本人修改密码",
                 "user_unlocked": "解除登录锁定",
                 "office_updated": "修改机构",
                 "matter_updated": "修改事项",
                 "peer_created": "新增协同节点", "peer_updated": "修改协同节点"}
TARGET_KINDS = {"user": "账号", "office": "机构", "matter": "事项", "peer": "协同节点"}


def audit(session: Session, by: str, action: str, kind: str, target_id: str, changes: dict) -> AdminAudit:
    row = AdminAudit(at=clock.now(), actor=by, action=action, target_kind=kind, target_id=str(target_id),
                     changes=changes)
    session.add(row)
    return row


def apply_changes(obj, values: dict, fields: tuple[str, ...]) -> dict:
    """Sets the fields that differ; returns {field: [old, new]} for them."""
    changes = {}
    for name in fields:
        if name in values and getattr(obj, name) != values[name]:
            changes[name] = [getattr(obj, name), values[name]]
            setattr(obj, name, values[name])
    return changes


def audit_log(session: Session, kind: str | None = None, actor: str | None = None, target_id: str | None = None,
              limit: int = 50, offset: int = 0) -> tuple[list[AdminAudit], int]:
    """The admin's changes, newest first, and how many there are in all."""
    query = select(AdminAudit)
    if kind:
        query = query.where(AdminAudit.target_kind == kind)
    if actor:
        query = query.where(AdminAudit.actor == actor)
    if target_id:
        query = query.where(AdminAudit.target_id == target_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(AdminAudit.at.desc(), AdminAudit.id.desc()).offset(offset).limit(limit))
    return list(rows), total
