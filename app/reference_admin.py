"""The admin's edits of the reference data: offices and matters, parsed into OfficeEdit and MatterEdit. An
edited row is marked, so that loading the reference data again leaves it as the admin left it."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator, BeforeValidator, Strict, StringConstraints, TypeAdapter, ValidationError, ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import func
from sqlmodel import Session, select

from app.audit import apply_changes, audit
from routing.reference import reference_changed
from routing.tables import Matter, Office
from tracking.model.errors import not_found
from tracking.model.inputs import (INVALID_REQUEST, Command, MobilePhone, OptionalEmail, Phone, StrictFlag, fold,
                                   integer, text)

# where the office hears of incoming packets and overdue stages: not reference data (offices.csv has no such
# columns, so loading it again leaves them alone), and setting them does not mark the row edited
NOTIFY_FIELDS = ("notify_phone", "notify_email")
OFFICE_FIELDS = ("name", "address", "postcode", "phone", "active", *NOTIFY_FIELDS)
MATTER_FIELDS = ("name", "legal_days", "promised_days", "active")

_PHONE = TypeAdapter(Phone)
_MOBILE = TypeAdapter(MobilePhone)


def _required_name(message: str) -> Any:
    """A required name of at most 100 characters, refused with one message for both. Only stripped: NFKC
    would turn the full-width brackets of "定襄县政务服务中心（新址）" into ASCII."""
    def check(value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value or len(value) > 100:
                raise PydanticCustomError(INVALID_REQUEST, message)
        return value
    return Annotated[str, Strict(), StringConstraints(max_length=100), BeforeValidator(check)]


def _postcode(value: Any) -> Any:
    if isinstance(value, str):
        value = fold(value)
        if value and not (value.isascii() and value.isdigit() and len(value) == 6):
            raise PydanticCustomError(INVALID_REQUEST, "邮政编码应为6位数字。")
    return value


def _office_phone(value: Any) -> Any:
    """Empty, or a landline with its area code or a mobile, written as Phone writes it (0350-6021234)."""
    if isinstance(value, str) and fold(value):
        try:
            return _PHONE.validate_python(value)
        except ValidationError:
            raise PydanticCustomError("invalid_phone",
                                      "电话应为带区号的固定电话（如 0350-3033333）或11位手机号码。") from None
    return value


def _notify_phone(value: Any) -> Any:
    """Empty, or a mobile (an SMS goes to no landline), written as MobilePhone writes it."""
    if isinstance(value, str) and fold(value):
        try:
            return _MOBILE.validate_python(value)
        except ValidationError:
            raise PydanticCustomError("invalid_phone", "接收通知的手机号码应为11位手机号码（短信不能发到固定电话）。") from None
    return value


class OfficeEdit(Command):
    """An admin's edit of an office: what is printed on labels and sheets, and whether it is in service."""
    name: _required_name("请填写机构名称（不超过100个字）。")
    address: Annotated[str, Strict(), StringConstraints(strip_whitespace=True, max_length=200)] = ""
    postcode: Annotated[text(6), BeforeValidator(_postcode)] = ""
    phone: Annotated[text(20), BeforeValidator(_office_phone)] = ""
    active: StrictFlag = False
    notify_phone: Annotated[text(20), BeforeValidator(_notify_phone)] = ""
    notify_email: Annotated[OptionalEmail, AfterValidator(lambda address: address or "")] = ""


class MatterEdit(Command):
    """An admin's edit of a matter: its name, time limits (working days) and whether windows take it in."""
    name: _required_name("请填写事项名称（不超过100个字）。")
    legal_days: integer(1, 999, "法定办结时限应为1至999之间的整数（工作日）。")
    promised_days: integer(1, 999, "承诺办结时限应为1至999之间的整数（工作日）。")
    active: StrictFlag = False

    @field_validator("promised_days")
    @classmethod
    def _within_legal(cls, promised: int, info: ValidationInfo) -> int:
        legal = info.data.get("legal_days")  # absent when it was refused itself
        if legal is not None and promised > legal:
            raise PydanticCustomError("promised_beyond_legal",
                                      f"承诺办结时限不能超过法定办结时限（{legal}个工作日）。")
        return promised


def _edited(session: Session, by: str, row, kind: str, clean: dict, fields: tuple[str, ...],
            own: tuple[str, ...] = ()) -> dict:
    """Applies an admin's edit of a reference row: audited when anything changed, and marked edited
    (init-db then leaves it alone) when a field the reference data holds changed, not only the row's `own`
    fields. Returns the changes."""
    changes = apply_changes(row, clean, fields)
    if changes:
        if set(changes) - set(own):
            row.edited = True
        session.add(row)
        audit(session, by, f"{kind}_updated", kind, row.code, changes)
        reference_changed(session)  # every process's cached offices and matters follow the edit
    return changes


def update_office(session: Session, by: str, code: str, edit: OfficeEdit) -> dict:
    """An admin edits an office's name, address, postcode, phone or whether it is in service (the row is
    marked edited, so that loading the reference data again leaves it alone), or where it hears of
    incoming packets and overdue stages."""
    office = session.get(Office, code)
    if office is None:
        raise not_found("没有这个机构。")
    return _edited(session, by, office, "office", edit.model_dump(), OFFICE_FIELDS, own=NOTIFY_FIELDS)


def update_matter(session: Session, by: str, code: str, edit: MatterEdit) -> dict:
    """An admin edits a matter's name, time limits or whether windows may take it in; marked edited,
    as an office is. Cases already registered keep the due date they were given."""
    matter = session.get(Matter, code)
    if matter is None:
        raise not_found("没有这个事项。")
    return _edited(session, by, matter, "matter", edit.model_dump(), MATTER_FIELDS)


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
