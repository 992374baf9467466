"""The admin's edits of the reference data: offices and matters. An edited row is marked, so that loading
the reference data again leaves it as the admin left it."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from app.audit import apply_changes, audit, every_error
from routing.tables import Matter, Office
from tracking.model import identity
from tracking.model.errors import not_found

OFFICE_FIELDS = ("name", "address", "postcode", "phone", "active")
MATTER_FIELDS = ("name", "legal_days", "promised_days", "active")


def _edited(session: Session, by: str, row, kind: str, clean: dict, fields: tuple[str, ...]) -> dict:
    """Applies an admin's edit of a reference row: marked edited (init-db then leaves it alone) and
    audited, when anything changed. Returns the changes."""
    changes = apply_changes(row, clean, fields)
    if changes:
        row.edited = True
        session.add(row)
        audit(session, by, f"{kind}_updated", kind, row.code, changes)
    return changes


def update_office(session: Session, by: str, code: str, values: dict) -> dict:
    """An admin edits an office's name, address, postcode, phone or whether it is in service. The row is
    marked edited, so that loading the reference data again leaves it alone."""
    office = session.get(Office, code)
    if office is None:
        raise not_found("没有这个机构。")
    clean = {k: (values.get(k) or "").strip() for k in ("name", "address", "postcode", "phone")}
    clean["active"] = bool(values.get("active"))
    errors = {}
    if not clean["name"] or len(clean["name"]) > 100:
        errors["name"] = "请填写机构名称（不超过100个字）。"
    if len(clean["address"]) > 200:
        errors["address"] = "地址不超过200个字。"
    if clean["postcode"] and not (clean["postcode"].isdigit() and len(clean["postcode"]) == 6):
        errors["postcode"] = "邮政编码应为6位数字。"
    if clean["phone"] and not (identity.is_valid_landline(clean["phone"]) or identity.is_valid_mobile(clean["phone"])):
        errors["phone"] = "电话应为带区号的固定电话（如 0350-3033333）或11位手机号码。"
    if errors:
        raise every_error(errors)
    return _edited(session, by, office, "office", clean, OFFICE_FIELDS)


def update_matter(session: Session, by: str, code: str, values: dict) -> dict:
    """An admin edits a matter's name, time limits or whether windows may take it in; marked edited,
    as an office is. Cases already registered keep the due date they were given."""
    matter = session.get(Matter, code)
    if matter is None:
        raise not_found("没有这个事项。")
    errors, clean = {}, {"name": (values.get("name") or "").strip(), "active": bool(values.get("active"))}
    if not clean["name"] or len(clean["name"]) > 100:
        errors["name"] = "请填写事项名称（不超过100个字）。"
    for name, label in (("legal_days", "法定办结时限"), ("promised_days", "承诺办结时限")):
        text = str(values.get(name) or "").strip()
        if not text.isdigit() or not 1 <= int(text) <= 999:
            errors[name] = f"{label}应为1至999之间的整数（工作日）。"
        else:
            clean[name] = int(text)
    if "promised_days" in clean and "legal_days" in clean and clean["promised_days"] > clean["legal_days"]:
        errors["promised_days"] = f"承诺办结时限不能超过法定办结时限（{clean['legal_days']}个工作日）。"
    if errors:
        raise every_error(errors)
    return _edited(session, by, matter, "matter", clean, MATTER_FIELDS)


def list_offices(session: Session, kind: str | None = None, division_prefix: str | None = None,
                 q: str | None = None, active: bool | None = None, limit: int = 50,
                 offset: int = 0) -> tuple[list[Office], int]:
    """Offices by code, with how many match in all. A division code names its subdivisions' offices too
    (140900 is the city: its 1409xx offices)."""
    query = select(Office)
    if kind:
        query = query.where(Office.kind == kind)
    if division_prefix:
        while len(division_prefix) > 2 and division_prefix.endswith("00"):
            division_prefix = division_prefix[:-2]
        query = query.where(Office.division_code.startswith(division_prefix))
    if q:
        query = query.where(Office.name.contains(q, autoescape=True)
                            | Office.code.contains(q.upper(), autoescape=True))
    if active is not None:
        query = query.where(Office.active == active)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    return list(session.exec(query.order_by(Office.code).offset(offset).limit(limit))), total


def list_matters(session: Session, department: str | None = None, q: str | None = None,
                 active: bool | None = None) -> list[Matter]:
    query = select(Matter)
    if department:
        query = query.where(Matter.department == department)
    if q:
        query = query.where(Matter.name.contains(q, autoescape=True)
                            | Matter.code.contains(q.upper(), autoescape=True))
    if active is not None:
        query = query.where(Matter.active == active)
    return list(session.exec(query.order_by(Matter.code)))
