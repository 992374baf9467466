"""`flask --app app audit verify [--case NO]` walks every case and packet chain and names each event that was
edited, inserted or deleted behind the service's back, including by someone who recomputed the hashes
with plain SHA-256 (they lack the chain key); an untouched database verifies clean."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import text
from sqlmodel import select

from config.database import new_session
from mailing.chain import _default, row_payload
from mailing.tables import Packet, PacketEvent
from tests.e2e.steps import accepted
from tracking.model.tables import Case, CaseEvent


@pytest.fixture
def two_cases(staff, frozen, db):
    """Two accepted cases: each with the case chain collected → in_transit → received → accepted and an
    outbound packet chain dispatched → received."""
    return [accepted(staff)["case_no"], accepted(staff)["case_no"]]


def verify(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def events(engine, table, owner_column, owner_id: int) -> list:
    with new_session(engine) as s:
        return s.exec(select(table).where(owner_column == owner_id).order_by(table.id)).all()


def case_id(db, case_no: str) -> int:
    db.rollback()
    return db.exec(select(Case.id).where(Case.case_no == case_no)).one()


def packet_of_case(db, case_no: str) -> Packet:
    db.rollback()
    return db.exec(select(Packet).join(Case, Case.id == Packet.case_id).where(Case.case_no == case_no)).one()


def sql(db, statement: str, **params) -> None:
    db.execute(text(statement), params)
    db.commit()


def plain_sha256(prev_hash: str, payload: dict) -> str:
    """The hash as it was before the chain was keyed: anyone with the database can compute it."""
    body = json.dumps({**payload, "prev_hash": prev_hash}, sort_keys=True, ensure_ascii=False, default=_default)
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def test_an_untouched_database_verifies_clean(app, two_cases, db):
    result = verify(app)
    assert result.exit_code == 0, result.output
    n_events = len(db.exec(select(CaseEvent)).all()) + len(db.exec(select(PacketEvent)).all())
    assert result.output.strip() == f"核验完成：办件 2 件、邮件 2 件、事件 {n_events} 条；哈希链完好。"


def test_an_edited_event_is_reported_as_edited_with_its_case_and_event(app, engine, two_cases, db):
    first, second = two_cases
    received = events(engine, CaseEvent, CaseEvent.case_id, case_id(db, second))[2]
    assert received.type == "received"
    sql(db, "UPDATE caseevent SET office_code = 'H140921' WHERE id = :i", i=received.id)
    result = verify(app)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 2, result.output
    assert lines[0].startswith(f"办件 {second} 事件 #{received.id} received ")
    assert "：edited，记录被改动" in lines[0]
    assert lines[1].endswith("发现 1 处异常。")
    assert first not in result.output


def test_a_deleted_event_is_reported_where_the_chain_breaks(app, engine, two_cases, db):
    no = two_cases[0]
    collected, in_transit, received, _ = events(engine, CaseEvent, CaseEvent.case_id, case_id(db, no))
    sql(db, "DELETE FROM caseevent WHERE id = :i", i=in_transit.id)
    result = verify(app)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"办件 {no} 事件 #{received.id} received ")
    assert lines[0].endswith(f"：deleted，记录缺失（哈希链在此断开），此前应接在事件 #{collected.id} 之后")
    assert len(lines) == 2


def test_a_deleted_last_event_is_caught_by_the_head_kept_on_the_packet(app, engine, two_cases, db):
    packet = packet_of_case(db, two_cases[1])
    dispatched, received = events(engine, PacketEvent, PacketEvent.packet_id, packet.id)
    sql(db, "DELETE FROM packetevent WHERE id = :i", i=received.id)
    result = verify(app)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[0] == (
        f"邮件 {packet.tracking_no} 最后一条事件之后：deleted，记录缺失（哈希链在此断开），此前应接在事件 #{dispatched.id} 之后")


def test_an_inserted_event_is_reported_as_inserted(app, engine, two_cases, db):
    packet = packet_of_case(db, two_cases[0])
    last = events(engine, PacketEvent, PacketEvent.packet_id, packet.id)[-1]
    forged = {**row_payload(last), "event_id": "forged-1", "type": "exception", "reason": "lost",
              "status_after": "lost", "actor": "mallory", "contents": None}
    digest = plain_sha256(packet.last_hash, forged)
    sql(db, "INSERT INTO packetevent (event_id, packet_id, type, status_after, at, recorded_at, actor, role, "
            "office_code, note, reason, contents, client_txn, prev_hash, hash) "
            "SELECT 'forged-1', packet_id, 'exception', 'lost', at, recorded_at, 'mallory', role, office_code, note, "
            "'lost', NULL, client_txn, :prev, :hash FROM packetevent WHERE id = :i",
        prev=packet.last_hash, hash=digest, i=last.id)
    inserted = db.exec(select(PacketEvent.id).where(PacketEvent.event_id == "forged-1")).one()
    result = verify(app)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"邮件 {packet.tracking_no} 事件 #{inserted} exception ")
    assert "：inserted，记录为插入（不在哈希链上）" in lines[0]
    assert len(lines) == 2


def test_events_rechained_with_plain_sha256_by_someone_without_the_key_are_each_reported(app, engine, two_cases, db):
    no = two_cases[1]
    the_case = case_id(db, no)
    rows = events(engine, CaseEvent, CaseEvent.case_id, the_case)
    # the attacker moves the receipt to another office and recomputes the chain from there on, head included
    sql(db, "UPDATE caseevent SET office_code = 'H140921' WHERE id = :i", i=rows[2].id)
    rows = events(engine, CaseEvent, CaseEvent.case_id, the_case)
    prev = rows[1].hash
    for row in rows[2:]:
        prev_next = plain_sha256(prev, row_payload(row))
        sql(db, "UPDATE caseevent SET prev_hash = :p, hash = :h WHERE id = :i", p=prev, h=prev_next, i=row.id)
        prev = prev_next
    sql(db, 'UPDATE "case" SET last_hash = :h WHERE id = :i', h=prev, i=the_case)

    result = verify(app)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 3 and lines[-1].endswith("发现 2 处异常。")
    for row, line in zip(rows[2:], lines):  # received, accepted: each re-hashed event, nothing else
        assert line.startswith(f"办件 {no} 事件 #{row.id} {row.type} ") and "：edited，" in line, line


def test_one_case_is_verified_with_its_packets_alone(app, engine, two_cases, db):
    first, second = two_cases
    packet = packet_of_case(db, second)
    sql(db, "UPDATE packetevent SET actor = 'mallory' WHERE packet_id = :p", p=packet.id)
    clean = verify(app, "--case", first)
    assert clean.exit_code == 0, clean.output
    assert clean.output.strip().startswith("核验完成：办件 1 件、邮件 1 件、事件 6 条")
    broken = verify(app, "--case", second.replace("-", ""))  # read as every number is
    assert broken.exit_code == 1
    assert broken.output.count(f"邮件 {packet.tracking_no} 事件 #") == 2
    unknown = verify(app, "--case", "140902-20260302-9999")
    assert unknown.exit_code != 0 and "未找到该办件。" in unknown.output
