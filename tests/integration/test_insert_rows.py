"""The driver-level insert a scanner's batch writes its rows with (config.database.insert_rows) stores what a
Core insert of the same rows stores: times as aware UTC, JSON, the columns' constant defaults for what a row
leaves out; rows whose keys differ each keep their own."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select

from config import clock
from config.database import insert_rows
from tests.helpers import intake_command
from tests.integration.test_use_cases import CLERK
from tracking.commands.intake import register_case
from tracking.model.tables import Notification

COLUMNS = ("audience", "office_code", "text", "created_at", "next_attempt_at", "channel", "milestone", "params",
           "status", "attempts", "claimed_until")


def _rows(db, case_id: int, text: str) -> list[tuple]:
    db.expire_all()
    return [tuple(getattr(n, c) for c in COLUMNS) for n in db.exec(
        select(Notification).where(Notification.case_id == case_id, Notification.text.startswith(text))
        .order_by(Notification.id)).scalars()]


def test_rows_read_back_as_a_core_insert_of_the_same_rows_reads_back(db, env):
    case_id = register_case(db, env, CLERK, intake_command(db)).case.id
    at = clock.now()
    made = [dict(case_id=case_id, audience="applicant", office_code=None, text=f"{{prefix}} {i}",
                 created_at=at + timedelta(seconds=i), next_attempt_at=(at.astimezone(timezone(timedelta(hours=8))) if i
                                                                        else at),
                 channel="sms", milestone="received", params={"n": i, "名": "张三", "list": [1, None]})
            for i in range(3)]  # `status` and `attempts` left out: their defaults ('pending', 0) are filled
    insert_rows(db, Notification.__table__, [r | {"text": r["text"].format(prefix="driver")} for r in made])
    db.execute(insert(Notification.__table__), [r | {"text": r["text"].format(prefix="core")} for r in made])
    db.commit()
    driver, core = _rows(db, case_id, "driver"), _rows(db, case_id, "core")
    assert driver == [c[:2] + (c[2].replace("core", "driver"),) + c[3:] for c in core] and len(driver) == 3
    first = driver[0]
    assert first[3] == at and first[3].tzinfo is not None  # aware, the same instant
    assert first[7] == {"n": 0, "名": "张三", "list": [1, None]} and first[8:10] == ("pending", 0)
    assert isinstance(first[3], datetime) and first[10] is None


def test_rows_whose_keys_differ_each_keep_their_own(db, env):
    case_id = register_case(db, env, CLERK, intake_command(db)).case.id
    at = clock.now()
    base = dict(case_id=case_id, audience="office", office_code="D140105-GA", text="mixed", created_at=at,
                next_attempt_at=at, channel="log", params={})
    insert_rows(db, Notification.__table__, [base, base | {"attempts": 4, "status": "dead"}])
    db.commit()
    assert [(r[8], r[9]) for r in _rows(db, case_id, "mixed")] == [("pending", 0), ("dead", 4)]
