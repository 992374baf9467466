"""A scanner's batch is applied as one: its rows read with a few queries whatever its size, each refused
scan reported and the others kept, a batch sent again all duplicates, and a refusal found only after a
scan wrote its rows (the contents check) applied scan by scan with the same answers."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from mailing.s10 import make_tracking_no
from mailing.tables import Packet, PacketEvent
from tests.helpers import intake_command, scan
from tests.integration.test_use_cases import CLERK, COURIER, OFFICER, record_scans
from tracking.commands.intake import register_case
from tracking.model.tables import Case, Notification


def _packets(db, env, count: int) -> list[str]:
    numbers = []
    for _ in range(count):
        numbers.append(register_case(db, env, CLERK, intake_command(db)).packet.tracking_no)
        db.commit()
    return numbers


def _events(db, numbers: list[str]) -> int:
    return db.scalar(select(func.count()).select_from(PacketEvent).join(Packet, Packet.id == PacketEvent.packet_id)
                   .where(Packet.tracking_no.in_(numbers)))


@contextmanager
def _statements(engine):
    seen: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many):
        if "counter WHERE name" in statement:
            return  # the reference data's version, asked again every 2 s however long a batch takes (a busy machine)
        seen.append(statement.split(None, 1)[0].upper())
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_bad_scan_in_the_middle_is_refused_alone_and_the_others_are_stored(db, env, frozen):
    numbers = _packets(db, env, 5)
    batch = [scan(n, "dispatched", "2026-03-02T11:00:00+08:00") for n in numbers]
    batch[2] = scan(numbers[2], "received", "2026-03-02T11:00:00+08:00")  # a hall does not sign for it
    batch.insert(3, scan(make_tracking_no("EZ", 99999999), "dispatched", "2026-03-02T11:00:00+08:00"))  # unknown number
    results = record_scans(db, env, CLERK, batch)
    assert [r.status for r in results] == ["recorded", "recorded", "rejected", "rejected", "recorded", "recorded"]
    assert results[2].error.code == "wrong_office" and results[3].error.code == "unknown_packet"
    db.expire_all()
    stored = {p.tracking_no: p.status for p in db.scalars(select(Packet).where(Packet.tracking_no.in_(numbers)))}
    assert stored == {n: "created" if n == numbers[2] else "dispatched" for n in numbers}
    assert _events(db, numbers) == 4
    cases = db.scalars(select(Case).join(Packet, Packet.case_id == Case.id).where(Packet.tracking_no.in_(numbers))).all()
    assert sorted(c.status for c in cases) == ["collected"] + ["in_transit"] * 4


def test_a_batch_sent_again_is_all_duplicates_and_adds_nothing(db, env, frozen):
    numbers = _packets(db, env, 3)
    batch = [scan(n, "dispatched", "2026-03-02T11:00:00+08:00") for n in numbers]
    assert [r.status for r in record_scans(db, env, CLERK, batch)] == ["recorded"] * 3
    rows, told = _events(db, numbers), db.scalar(select(func.count()).select_from(Notification))
    assert [r.status for r in record_scans(db, env, CLERK, batch)] == ["duplicate"] * 3
    assert _events(db, numbers) == rows
    assert db.scalar(select(func.count()).select_from(Notification)) == told


def test_scans_of_one_packet_in_one_batch_follow_each_other(db, env, frozen):
    number = _packets(db, env, 1)[0]
    record_scans(db, env, CLERK, [scan(number, "dispatched", "2026-03-02T11:00:00+08:00")])
    results = record_scans(db, env, COURIER, [  # sent in any order: applied by time
        scan(number, "departed_hub", "2026-03-02T16:00:00+08:00", "P140900"),
        scan(number, "arrived_hub", "2026-03-02T14:00:00+08:00", "P140900"),
        scan(number, "departed_hub", "2026-03-02T17:00:00+08:00", "P140900")])
    assert [r.status for r in results] == ["recorded", "recorded", "rejected"]
    assert [r.packet_status for r in results[:2]] == ["departed_hub", "arrived_hub"]


def test_a_refusal_after_the_rows_are_written_is_rolled_back_alone(db, env, frozen):
    """The contents check refuses an unknown material once the event is written: the batch is applied
    again scan by scan, and the answers are the same as ever."""
    numbers = _packets(db, env, 3)
    record_scans(db, env, CLERK, [scan(n, "dispatched", "2026-03-02T11:00:00+08:00") for n in numbers])
    batch = [scan(n, "received", "2026-03-04T10:00:00+08:00") for n in numbers]
    batch[1]["contents"] = [{"code": "no_such_material", "status": "ok"}]
    results = record_scans(db, env, OFFICER, batch)
    assert [r.status for r in results] == ["recorded", "rejected", "recorded"]
    assert results[1].error.code == "unknown_material"
    db.expire_all()
    stored = {p.tracking_no: p.status for p in db.scalars(select(Packet).where(Packet.tracking_no.in_(numbers)))}
    assert stored == {numbers[0]: "received", numbers[1]: "dispatched", numbers[2]: "received"}
    assert _events(db, numbers) == 5


@pytest.mark.parametrize("kind", ["dispatched", "arrived_hub"])
def test_the_statements_of_a_batch_do_not_grow_with_its_size(db, env, engine, frozen, kind):
    """No look-up per scan: a batch of 100 en-route scans reads with as many SELECTs as a batch of 10, and
    no savepoint per scan."""
    numbers = _packets(db, env, 110)
    if kind == "arrived_hub":
        record_scans(db, env, CLERK, [scan(n, "dispatched", "2026-03-02T11:00:00+08:00") for n in numbers])
    actor = CLERK if kind == "dispatched" else COURIER
    office = None if kind == "dispatched" else "P140900"
    counts = []
    for part in (numbers[:10], numbers[10:]):
        with _statements(engine) as seen:
            results = record_scans(db, env, actor, [scan(n, kind, "2026-03-02T14:00:00+08:00", office)
                                                    for n in part])
        assert {r.status for r in results} == {"recorded"}
        counts.append(seen)
    small, large = counts
    # the batch's reads are a handful of queries whatever its size (the calendar, the directory and the
    # matters come from the process's copies: routing.reference), and its writes one statement per table
    reads = large.count("SELECT") - small.count("SELECT")
    assert reads <= 0, (small.count("SELECT"), large.count("SELECT"))
    assert large.count("INSERT") == small.count("INSERT"), (small.count("INSERT"), large.count("INSERT"))
    assert small.count("SAVEPOINT") == large.count("SAVEPOINT") == 1  # one for the batch, none per scan


def test_rows_written_together_chain_and_derive_as_one_by_one(db, env, frozen):
    """A batch writes its custody events, case events and notifications with one insert each, hashed in
    Python: every chain still verifies, the stored stage deadlines agree with the pure functions, and each
    addressed office is told once of its incoming packet, as when scans came one at a time."""
    from tracking.model import stage_store
    from tracking.reads.chains import walk_chains
    numbers = _packets(db, env, 4)
    hubs = {n: db.scalar(select(Packet).where(Packet.tracking_no == n)).route[1]["office_code"] for n in numbers}
    record_scans(db, env, CLERK, [scan(n, "dispatched", "2026-03-02T11:00:00+08:00") for n in numbers])
    for type_, at in (("arrived_hub", "2026-03-02T15:00:00+08:00"), ("departed_hub", "2026-03-02T18:00:00+08:00")):
        assert {r.status for r in record_scans(db, env, COURIER, [scan(n, type_, at, hubs[n]) for n in numbers])} \
            == {"recorded"}
    record_scans(db, env, COURIER, [scan(n, "out_for_delivery", "2026-03-03T08:00:00+08:00") for n in numbers])
    results = record_scans(db, env, OFFICER, [scan(n, "received", "2026-03-03T10:00:00+08:00") for n in numbers])
    assert [r.packet_status for r in results] == ["received"] * 4
    db.expire_all()
    assert list(walk_chains(db)) == []
    assert stage_store.check(db, env.settings) == []
    assert _events(db, numbers) == 5 * 4
    cases = db.scalars(select(Case).join(Packet, Packet.case_id == Case.id).where(Packet.tracking_no.in_(numbers))).all()
    assert {c.status for c in cases} == {"received"}
    told = db.scalars(select(Notification).where(Notification.milestone == "incoming_packet")).all()
    assert sorted(n.params["tracking_no"] for n in told) == sorted(numbers)
    assert {(n.status, n.attempts, n.audience) for n in told} == {("pending", 0, "office")}
