"""Reference data tables: divisions, departments, offices, matters, loaded calendar years."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from config.database import utc_column


class Division(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=6)
    name: str
    level: str  # province | city | county
    parent_code: Optional[str] = Field(default=None, max_length=6)
    lat: float
    lon: float


class Department(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=8)
    name: str


class Office(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=24)
    name: str
    kind: str  # hall | department | hub
    division_code: str = Field(index=True, max_length=6)
    department: Optional[str] = Field(default=None, max_length=8)
    serves: Optional[str] = Field(default=None, max_length=6)
    address: str = ""
    postcode: str = ""
    phone: str = ""
    # where the office hears of incoming packets and overdue stages (an on-duty mobile, a mailbox); empty: the log
    notify_phone: str = Field(default="", sa_column_kwargs={"server_default": ""})
    notify_email: str = Field(default="", sa_column_kwargs={"server_default": ""})
    lat: float
    lon: float
    active: bool = True
    edited: bool = False  # an admin changed it: init-db leaves it alone


class Matter(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=32)
    name: str
    department: str
    # permit | notarization | confirmation | public_service (routing.matter_types): decides the matter's rules
    type: str = Field(default="public_service", max_length=16, sa_column_kwargs={"server_default": "public_service"})
    legal_basis: str = Field(default="", sa_column_kwargs={"server_default": ""})  # the statutes cited on notices
    level: str
    modes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    jurisdiction: str
    applicant_kinds: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    legal_days: int
    promised_days: int
    result_types: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    materials: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # 多地联办: the steps under one acceptance (routing.steps); empty: one office handles the matter
    steps: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    active: bool = True
    edited: bool = False


class CalendarYear(SQLModel, table=True):
    """A published year of official holidays loaded with `calendar load`."""
    year: int = Field(primary_key=True)
    holidays: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    workdays: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    loaded_at: datetime = Field(sa_column=utc_column(False))
