"""Scans ingested through the service, in batches of 500, against a raw `executemany` of the same rows.

    .venv/bin/python -m bench.scans [--database-url URL] [--rounds 3] [--scans 5000]

Each round takes packets of its own (registered beforehand, never scanned) and takes each through its
life in five scans: the hall's `dispatched`, a courier's `arrived_hub` and `departed_hub` at the first
hub of its route and `out_for_delivery`, the addressed office's `received` (with its case effects:
dispatch, receipt, the office told, the promise recomputed). The scans go in batches of 500, each
parsed as the API parses it, recorded by `custody.record_scans` and committed, as a request does.
Right after, in the same round, the same PacketEvent rows (read back as stored, event ids prefixed) are
inserted into the same table by the driver's `executemany`, 500 a transaction, and deleted again
untimed. The median over rounds of each side and of the per-round ratio is reported.

Without --database-url a temporary SQLite file; with one (PostgreSQL), an empty database to upgrade.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import make_url

from app.addresses import WebAddresses
from config import clock
from config.database import make_engine, new_session
from config.settings import Settings
from routing.reference import load_reference_data
from tracking.commands import custody, intake
from tracking.model.context import Actor, Env
from tracking.model.inputs import parse

BATCH = 500
SCANS_PER_PACKET = 5
CLERK = Actor("bench-clerk", "clerk", "H140902")
OFFICER = Actor("bench-officer", "officer", "D140105-GA")
COURIER = Actor("bench-courier", "courier")
RATIO_TARGET, SQLITE_TARGET = 0.3, 5000
COLUMNS = ("event_id", "packet_id", "type", "status_after", "at", "recorded_at", "actor", "role", "office_code",
           "note", "reason", "contents", "client_txn", "prev_hash", "hash")


@contextmanager
def _database(database_url: str | None):
    if database_url:
        yield database_url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'scans.db'}"


def _register(session, env: Env, count: int) -> list[tuple[str, str]]:
    """`count` cases, each with its outbound packet: (tracking_no, first hub of its route)."""
    from bench.deadlines import _intake
    made = []
    with clock.pinned(datetime(2026, 3, 2, 10, tzinfo=clock.BEIJING)):
        for i in range(count):
            packet = intake.register_case(session, env, CLERK, _intake(session, i)).packet
            session.commit()
            hub = next(item["office_code"] for item in packet.route[1:-1])
            made.append((packet.tracking_no, hub))
    return made


def _stages(packets: list[tuple[str, str]]) -> list[tuple[Actor, list[dict]]]:
    """The round's scans as batches of one actor each, stage by stage."""
    start = datetime(2026, 3, 2, 12, tzinfo=clock.BEIJING)

    def scan(number: str, type_: str, hours: int, office: str | None = None) -> dict:
        item = {"event_id": str(uuid.uuid4()), "tracking_no": number, "type": type_,
                "at": (start + timedelta(hours=hours)).isoformat()}
        return item | ({"office_code": office} if office else {})
    stages = [(CLERK, [scan(n, "dispatched", 0) for n, _ in packets]),
              (COURIER, [scan(n, "arrived_hub", 5, hub) for n, hub in packets]),
              (COURIER, [scan(n, "departed_hub", 8, hub) for n, hub in packets]),
              (COURIER, [scan(n, "out_for_delivery", 20) for n, _ in packets]),
              (OFFICER, [scan(n, "received", 24) for n, _ in packets])]
    return [(actor, scans[i:i + BATCH]) for actor, scans in stages for i in range(0, len(scans), BATCH)]


def _ours(engine, env: Env, batches: list[tuple[Actor, list[dict]]]) -> float:
    """Seconds to parse, record and commit every batch, as the API does; every scan must be recorded."""
    t0 = time.perf_counter()
    for actor, scans in batches:
        with new_session(engine) as session:
            results = custody.record_scans(session, env, actor, parse(custody.ScanBatch, {"scans": scans}))
            session.commit()
        bad = [r for r in results if r.status != "recorded"]
        assert not bad, bad[:3]
    return time.perf_counter() - t0


def _recorded_rows(engine, event_ids: list[str]) -> list[tuple]:
    """The rows the service stored, as the driver reads them, event ids made new for the copy."""
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    rows = []
    with engine.connect() as conn:
        for i in range(0, len(event_ids), BATCH):
            part = event_ids[i:i + BATCH]
            rows += [("raw:" + r[0],) + tuple(r[1:]) for r in conn.exec_driver_sql(
                f"SELECT {', '.join(COLUMNS)} FROM packetevent WHERE event_id IN ({', '.join([mark] * len(part))}) "
                "ORDER BY id", tuple(part))]
    return rows


def _raw(engine, rows: list[tuple]) -> float:
    """Seconds to insert `rows` with the driver's executemany, 500 a transaction; removed afterwards."""
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    sql = f"INSERT INTO packetevent ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * len(COLUMNS))})"
    if engine.dialect.name != "sqlite":
        from psycopg.types.json import Json
        at = COLUMNS.index("contents")
        rows = [r[:at] + (None if r[at] is None else Json(r[at]),) + r[at + 1:] for r in rows]
    with engine.connect() as conn:
        t0 = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            with conn.begin():
                conn.connection.dbapi_connection.cursor().executemany(sql, rows[i:i + BATCH])
        took = time.perf_counter() - t0
        with conn.begin():
            conn.exec_driver_sql("DELETE FROM packetevent WHERE event_id LIKE 'raw:%%'"
                                 if mark == "%s" else "DELETE FROM packetevent WHERE event_id LIKE 'raw:%'")
    return took


def measure(database_url: str | None = None, *, rounds: int = 3, scans: int = 5000) -> list[dict]:
    """Rows {figure, ours, ours_unit, baseline, ratio, target, met}: the ratio to the raw executemany, and
    (SQLite) the absolute rate."""
    per_round = max(1, scans // SCANS_PER_PACKET)
    with _database(database_url) as url, tempfile.TemporaryDirectory() as instance:
        settings = Settings.from_env(env={}, overrides={"database_url": url, "instance_path": Path(instance)})
        engine = make_engine(url)
        from app.schema import upgrade
        upgrade(engine)
        env = Env(settings, WebAddresses(settings))
        with new_session(engine) as session:
            load_reference_data(session)
            session.commit()
            packets = _register(session, env, per_round * rounds)
        ours, base, ratios = [], [], []
        for r in range(rounds):
            batches = _stages(packets[r * per_round:(r + 1) * per_round])
            count = sum(len(b) for _, b in batches)
            took = _ours(engine, env, batches)
            rows = _recorded_rows(engine, [s["event_id"] for _, b in batches for s in b])
            assert len(rows) == count, (len(rows), count)  # one event a scan: nothing misrouted
            raw = _raw(engine, rows)
            ours.append(count / took)
            base.append(len(rows) / raw)
            ratios.append((count / took) / (len(rows) / raw))
        engine.dispose()
    backend = make_url(url).get_backend_name()
    name = "SQLite" if backend == "sqlite" else "PostgreSQL"
    ratio = statistics.median(ratios)
    figure = f"scans through the service, batches of {BATCH} ({name})"
    out = [{"figure": figure, "ours": round(statistics.median(ours)), "ours_unit": "scans/s",
            "baseline": f"raw executemany of the same rows: {statistics.median(base):,.0f} rows/s",
            "ratio": round(ratio, 3), "target": f">= {RATIO_TARGET}x", "met": ratio >= RATIO_TARGET}]
    if backend == "sqlite":
        rate = statistics.median(ours)
        out.append({"figure": f"scans through the service, batches of {BATCH} (SQLite, absolute)",
                    "ours": round(rate), "ours_unit": "scans/s", "baseline": "—", "ratio": None,
                    "target": f">= {SQLITE_TARGET:,}/s", "met": rate >= SQLITE_TARGET})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scans", type=int, default=5000)
    args = parser.parse_args(argv)
    for row in measure(args.database_url, rounds=args.rounds, scans=args.scans):
        ratio = "" if row["ratio"] is None else f", ratio {row['ratio']}x"
        print(f"{row['figure']}: {row['ours']:,} {row['ours_unit']}; baseline {row['baseline']}{ratio}; "
              f"target {row['target']}: {'met' if row['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
