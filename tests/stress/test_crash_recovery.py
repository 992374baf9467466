"""Concurrent writers and crashes (issue 12, §8): the service under gunicorn on PostgreSQL, 8 writers
sending scan batches with duplicates, a worker killed with SIGKILL mid-run, then the master (and the
workers it leaves behind), the service started again; every writer retries what got no answer, as an
offline scanner does. Then: 0 acknowledged scans lost, 0 doubled, every chain intact.

Bounded: 8 writers × 3 packets, about 200 scans, well under a minute here."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from config import clock
from tests.databases import fresh_database
from tests.helpers import PASSWORD, intake_body

WRITERS, PACKETS_PER_WRITER = 8, 3
DEADLINE = 90  # seconds for the whole run: a hang fails the test instead of CI
KEYS = {"TONGBAN_SECRET_KEY": "stress-secret", "TONGBAN_DATA_KEY": "stress-data-key",
        "TONGBAN_CHAIN_KEY": "stress-chain-key"}
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """gunicorn as `make serve` runs it, on a free loopback port, started again after a crash."""

    def __init__(self, url: str, folder: Path):
        self.port, self.folder, self.process = _free_port(), folder, None
        self.env = {**os.environ, **KEYS, "TONGBAN_DATABASE_URL": url, "TONGBAN_INSTANCE_PATH": str(folder)}
        self.env.pop("TONGBAN_BROKER_URL", None)  # tasks run eagerly, as in the embedded default

    def start(self) -> None:
        log = (self.folder / "gunicorn.log").open("ab")
        self.process = subprocess.Popen(
            # --preload: the app is imported once and forked, so a new worker serves at once (what is
            # tested is what a kill leaves in the database, not how long a worker takes to import)
            [str(GUNICORN), "--workers", "4", "--bind", f"127.0.0.1:{self.port}", "--timeout", "20",
             "--graceful-timeout", "2", "--no-control-socket", "--preload", "app:create_app()"],
            env=self.env, stdout=log, stderr=log, cwd=Path(__file__).resolve().parents[2])
        until = time.monotonic() + 45
        while time.monotonic() < until:
            try:  # any answer will do: the writers may keep every worker busy meanwhile
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=10).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not answer: " + (self.folder / "gunicorn.log").read_text()[-2000:])

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def kill_worker(self) -> int:
        pid = self.workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def crash(self) -> None:
        """SIGKILL to the master, then to the workers it leaves behind: the whole service dies at once."""
        orphans = self.workers()
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in orphans:  # gone before the next master binds the port
            while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


def _post(port: int, path: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json",
                                                             **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _journey(case: dict) -> list[tuple[str, dict]]:
    at = clock.now() - timedelta(minutes=30)
    stops = [s["office_code"] for s in case["route"]]

    def scan(type_, office, minutes):
        return {"event_id": str(uuid.uuid4()), "tracking_no": case["tracking_no"], "type": type_,
                "at": (at + timedelta(minutes=minutes)).isoformat(), "office_code": office}
    steps = [("clerk", scan("dispatched", stops[0], 0))]
    for i, hub in enumerate(stops[1:-1]):
        steps += [("courier", scan("arrived_hub", hub, 2 * i + 1)), ("courier", scan("departed_hub", hub, 2 * i + 2))]
    return steps + [("officer", scan("received", stops[-1], 2 * len(stops)))]


class Ledger:
    """What the writers were told: every answer per event id, and how many were acknowledged."""

    def __init__(self):
        self.lock, self.answers, self.acknowledged = threading.Lock(), {}, set()

    def add(self, batch: list[dict], results: list[dict]) -> None:
        with self.lock:
            for scan, result in zip(batch, results):
                self.answers.setdefault(scan["event_id"], []).append(result["status"])
                if result["status"] in ("recorded", "duplicate"):  # both mean: it is stored
                    self.acknowledged.add(scan["event_id"])

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def _writer(service, tokens, cases, ledger, errors, stop_at):
    """Sends its packets' scans step by step; each batch carries the previous batch's scans again
    (duplicates), and a batch without an answer (connection reset, 5xx) is sent again until answered."""
    try:
        journeys, previous = [_journey(c) for c in cases], {}
        for step in range(max(len(j) for j in journeys)):
            by_actor: dict[str, list[dict]] = {}
            for journey in journeys:
                if step < len(journey):
                    by_actor.setdefault(journey[step][0], []).append(journey[step][1])
            for actor, fresh in by_actor.items():
                batch = fresh + previous.get(actor, [])
                while True:
                    if time.monotonic() > stop_at:
                        raise AssertionError("the writer ran out of time")
                    try:
                        status, body = _post(service.port, "/api/v1/scans", {"scans": batch}, tokens[actor])
                    except (OSError, http.client.HTTPException):  # the worker or the master died mid-batch, maybe
                        # mid-answer (IncompleteRead): as a scanner, send it again
                        time.sleep(0.1)
                        continue
                    if status >= 500:
                        time.sleep(0.1)
                        continue
                    assert status == 200, body
                    ledger.add(batch, body["results"])
                    break
                previous[actor] = fresh
    except Exception as e:  # noqa: BLE001 -- a thread cannot fail the test: the main thread reports it
        errors.append(e)


def test_no_acknowledged_scan_is_lost_or_doubled_when_workers_and_the_master_are_killed(tmp_path):
    from app.schema import upgrade
    from app.users import create_user
    from config.database import make_engine, new_session
    from mailing.chain import use_key, verify_rows
    from mailing.tables import Packet, PacketEvent
    from routing.reference import load_reference_data
    from tracking.model.tables import Case, CaseEvent

    began = time.monotonic()
    with fresh_database(os.environ["TONGBAN_DATABASE_URL"], tmp_path, "stress") as url:
        engine = make_engine(url)
        upgrade(engine)
        with new_session(engine) as s:
            load_reference_data(s)
            for username, role, office in (("clerk", "clerk", "H140902"), ("courier", "courier", None),
                                           ("officer", "officer", "D140105-GA")):
                create_user(s, username, role, PASSWORD, office, username)
            s.commit()
        service = Service(url, tmp_path)
        service.start()
        try:
            tokens = {u: _post(service.port, "/api/v1/auth/token", {"username": u, "password": PASSWORD})[1]["token"]
                      for u in ("clerk", "courier", "officer")}
            with ThreadPoolExecutor(WRITERS) as pool:
                made = list(pool.map(lambda _: _post(service.port, "/api/v1/cases", intake_body(), tokens["clerk"]),
                                     range(WRITERS * PACKETS_PER_WRITER)))
            assert all(status == 201 for status, _ in made), made
            cases = [case for _, case in made]
            total = sum(len(_journey(c)) for c in cases)

            ledger, errors, stop_at = Ledger(), [], began + DEADLINE
            writers = [threading.Thread(target=_writer, args=(service, tokens, cases[i::WRITERS], ledger, errors,
                                                              stop_at)) for i in range(WRITERS)]
            for w in writers:
                w.start()
            while ledger.count() < total // 3 and time.monotonic() < stop_at and not errors:
                time.sleep(0.01)
            killed = service.kill_worker()  # mid-batch: eight writers keep requests in flight
            while ledger.count() < 2 * total // 3 and time.monotonic() < stop_at and not errors:
                time.sleep(0.01)
            service.crash()
            service.start()
            for w in writers:
                w.join(max(1, stop_at - time.monotonic()))
            assert not errors, errors
            assert not any(w.is_alive() for w in writers), "writers still running at the deadline"
            assert killed not in service.workers()
        finally:
            service.stop()

        use_key(KEYS["TONGBAN_CHAIN_KEY"])  # verify as the service linked
        with new_session(engine, read_only=True) as s:
            stored = s.exec(select(PacketEvent.event_id, func.count()).group_by(PacketEvent.event_id)).all()
            doubled = [event_id for event_id, n in stored if n > 1]
            lost = ledger.acknowledged - {event_id for event_id, _ in stored}
            assert (len(lost), len(doubled)) == (0, 0), (sorted(lost), doubled)
            assert len(ledger.acknowledged) == total  # every scan was answered in the end
            # a scan answered `recorded` once is never `recorded` again (its repeats say `duplicate`)
            assert all(statuses.count("recorded") <= 1 for statuses in ledger.answers.values())
            for packet in s.exec(select(Packet)).all():
                events = s.exec(select(PacketEvent).where(PacketEvent.packet_id == packet.id)
                                .order_by(PacketEvent.id)).all()
                assert verify_rows(events, packet.last_hash), packet.tracking_no
                assert packet.status == events[-1].status_after == "received", packet.tracking_no
            for case in s.exec(select(Case)).all():
                events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
                assert verify_rows(events, case.last_hash), case.case_no
                assert case.status == "received", case.case_no
        engine.dispose()
    assert time.monotonic() - began < 120


@pytest.fixture(autouse=True)
def _gunicorn_installed():
    if not GUNICORN.exists():
        pytest.fail(f"gunicorn is not installed in the virtualenv ({GUNICORN}): make setup")
