"""`flask --app app backup PATH` while scans are being recorded, `flask --app app restore PATH` into a fresh
database: every scan acknowledged before the backup began is there, nothing is half-written, every chain
verifies. A restore never writes over a database that has tables."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from config import clock
from tests.databases import fresh_database, is_postgres
from tests.helpers import PASSWORD, intake_body

WRITERS, PACKETS_PER_WRITER = 4, 3


def _token(client, username: str) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


@pytest.fixture
def staff(app, db):
    from app.users import create_user
    for username, role, office in (("clerk", "clerk", "H140902"), ("courier", "courier", None),
                                   ("officer", "officer", "D140105-GA")):
        create_user(db, username, role, PASSWORD, office, username)
    db.commit()
    client = app.test_client()
    return {u: _token(client, u) for u in ("clerk", "courier", "officer")}


class Acknowledged:
    """Event ids the service answered `recorded` for, in the order the answers came."""

    def __init__(self):
        self.ids, self.lock, self.enough = [], threading.Lock(), threading.Event()

    def add(self, results: list[dict], batch: list[dict], enough_at: int) -> None:
        with self.lock:
            self.ids += [scan["event_id"] for scan, r in zip(batch, results) if r["status"] == "recorded"]
            if len(self.ids) >= enough_at:
                self.enough.set()

    def so_far(self) -> set[str]:
        with self.lock:
            return set(self.ids)


def _journey(case: dict) -> list[tuple[str, dict]]:
    """(who scans, the scan) along a packet's route: the hall hands it over, the courier takes it through
    every hub, the owning office signs for it."""
    at = clock.now() - timedelta(minutes=30)
    stops = [s["office_code"] for s in case["route"]]

    def scan(type_, office=None, minutes=0):
        return {"event_id": str(uuid.uuid4()), "tracking_no": case["tracking_no"], "type": type_,
                "at": (at + timedelta(minutes=minutes)).isoformat(), "office_code": office}
    steps = [("clerk", scan("dispatched", stops[0]))]
    for i, hub in enumerate(stops[1:-1]):
        steps += [("courier", scan("arrived_hub", hub, 2 * i + 1)), ("courier", scan("departed_hub", hub, 2 * i + 2))]
    return steps + [("officer", scan("received", stops[-1], 2 * len(stops)))]


def _writer(app, tokens, cases, acknowledged, enough_at, errors):
    """Scans its packets step by step, one batch per step across its packets, each batch sent twice
    (the second answer must be `duplicate` for every scan the first recorded)."""
    try:
        client = app.test_client()
        journeys = [_journey(c) for c in cases]
        for step in range(max(len(j) for j in journeys)):
            by_actor: dict[str, list[dict]] = {}
            for journey in journeys:
                if step < len(journey):
                    by_actor.setdefault(journey[step][0], []).append(journey[step][1])
            for actor, batch in by_actor.items():
                first = client.post("/api/v1/scans", json={"scans": batch}, headers=tokens[actor])
                assert first.status_code == 200, first.get_json()
                acknowledged.add(first.get_json()["results"], batch, enough_at)
                again = client.post("/api/v1/scans", json={"scans": batch}, headers=tokens[actor])
                assert again.status_code == 200, again.get_json()
                for r1, r2 in zip(first.get_json()["results"], again.get_json()["results"]):
                    if r1["status"] == "recorded":
                        assert r2["status"] == "duplicate", (r1, r2)
    except Exception as e:  # noqa: BLE001 -- a thread cannot fail the test: the main thread reports it
        errors.append(e)


def _check_restored(url: str, acknowledged: set[str]) -> int:
    """Every acknowledged scan present, every packet's state its last event's, every chain whole."""
    from config.database import make_engine, new_session
    from mailing.chain import verify_rows
    from mailing.tables import Packet, PacketEvent
    from tracking.model.tables import Case, CaseEvent
    engine = make_engine(url)
    try:
        with new_session(engine, read_only=True) as s:
            stored = set(s.exec(select(PacketEvent.event_id)).all())
            assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)}"
            for packet in s.exec(select(Packet)).all():
                events = s.exec(select(PacketEvent).where(PacketEvent.packet_id == packet.id)
                                .order_by(PacketEvent.id)).all()
                assert verify_rows(events, packet.last_hash), packet.tracking_no
                assert packet.status == (events[-1].status_after if events else "created"), packet.tracking_no
            for case in s.exec(select(Case)).all():
                events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
                assert verify_rows(events, case.last_hash), case.case_no
                assert case.status == events[-1].status_after, case.case_no
            return len(stored)
    finally:
        engine.dispose()


def test_a_backup_made_under_concurrent_scans_restores_every_acknowledged_scan(app, staff, database_url,
                                                                            tmp_path):
    from app import create_app
    client = app.test_client()
    cases = []
    for _ in range(WRITERS * PACKETS_PER_WRITER):
        r = client.post("/api/v1/cases", json=intake_body(), headers=staff["clerk"])
        assert r.status_code == 201, r.get_json()
        cases.append(r.get_json())
    total = sum(len(_journey(c)) for c in cases)
    acknowledged, errors = Acknowledged(), []
    writers = [threading.Thread(target=_writer, args=(app, staff, cases[i::WRITERS], acknowledged, total // 3, errors))
               for i in range(WRITERS)]
    for w in writers:
        w.start()
    assert acknowledged.enough.wait(120), errors
    before = acknowledged.so_far()  # answered `recorded` before the backup began
    assert len(before) < total  # and the writers are still at work
    backup = tmp_path / "backups" / "tongban.backup"
    made = app.test_cli_runner().invoke(args=["backup", str(backup)])
    for w in writers:
        w.join(120)
    assert not errors, errors
    assert made.exit_code == 0, made.output
    assert ("pg_dump -Fc" if is_postgres(database_url) else "SQLite 在线备份") in made.output
    assert "数据密钥" in made.output
    assert len(acknowledged.so_far()) == total  # every scan of the run was recorded once, in the end
    assert backup.stat().st_mode & 0o777 == 0o600
    assert not backup.with_name(backup.name + ".part").exists()
    assert b"test-data-key" not in backup.read_bytes()  # the key stays apart

    with fresh_database(database_url, tmp_path, "restored") as url:
        restored = create_app({"database_url": url, "secret_key": "test-secret", "data_key": "test-data-key",
                               "instance_path": tmp_path})
        done = restored.test_cli_runner().invoke(args=["restore", str(backup)])
        restored.extensions["tongban"]["engine"].dispose()
        assert done.exit_code == 0, done.output
        assert len(before) <= _check_restored(url, before) <= total


def test_a_restore_is_refused_for_a_database_that_has_tables(app, staff, tmp_path):
    from sqlalchemy import func

    from app.users import User
    from config.database import new_session
    backup = tmp_path / "tongban.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup)]).exit_code == 0
    refused = app.test_cli_runner().invoke(args=["restore", str(backup)])
    assert refused.exit_code == 1
    assert "目标数据库不是空的" in refused.output and "新建一个空数据库" in refused.output
    with new_session(app.extensions["tongban"]["engine"], read_only=True) as s:
        assert s.exec(select(func.count()).select_from(User)).one() == 3  # untouched


def test_a_restore_refuses_a_file_that_is_no_backup_for_this_database(app, database_url, tmp_path):
    from app import create_app
    junk = tmp_path / "notes.txt"
    junk.write_text("这不是备份", encoding="utf-8")
    with fresh_database(database_url, tmp_path, "empty") as url:
        target = create_app({"database_url": url, "secret_key": "test-secret", "data_key": "test-data-key",
                             "instance_path": tmp_path})
        refused = target.test_cli_runner().invoke(args=["restore", str(junk)])
        target.extensions["tongban"]["engine"].dispose()
    assert refused.exit_code == 1 and "不是" in refused.output and "备份" in refused.output
