"""Secrets at rest: what the database (and the log) holds never gives away a check code, a download link or
a result file, the key files and the SQLite file are the service's alone, and migration 0007 converts what
an earlier release stored: files and answers sealed, links taken out of texts, chains keyed (breaks kept)."""
from __future__ import annotations

import base64
import io
import hashlib
import json
import logging
import stat
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

from app.schema import upgrade
from config.database import make_engine, new_session
from config.settings import Settings
from mailing.chain import _default
from routing.reference import invalidate_directory, load_reference_data
from tests.helpers import intake_body, intake_command, scan
from tests.scans_made import pdf_scan
from tracking.commands import custody, decisions
from tracking.commands.intake import register_case
from tracking.commands.notifications import log_transport, message, send_pending
from tracking.model.context import Actor
from tracking.model.inputs import parse
from tracking.model.records import DELIVERY_LINK
from tracking.model.tables import Case, Notification
from tracking.reads.chains import walk_chains

CLERK = Actor("clerk_xf", "clerk", "H140902", "李窗口")
OFFICER = Actor("officer_xd", "officer", "D140105-GA", "赵办理")
PDF = pdf_scan(title="result")


def raw(session, table: str) -> str:
    """Every stored value of a table, as the database holds it, in one string."""
    rows = session.execute(text(f"SELECT * FROM {table}")).all()
    return " ".join(v.decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v)
                    for row in rows for v in (bytes(x) if isinstance(x, memoryview) else x for x in row))


def decided_electronically(session, env, frozen):
    """A case with an electronic result, decided: (its intake, the decision)."""
    out = register_case(session, env, CLERK, intake_command(session, intake_body(
        result_delivery={"method": "electronic"})))
    session.commit()
    for actor, type_, at in ((CLERK, "dispatched", "2026-03-02T10:00:00+08:00"),
                             (OFFICER, "received", "2026-03-03T09:00:00+08:00")):
        frozen.set(at)
        custody.record_scans(session, env, actor, parse(custody.ScanBatch, {"scans": [
            scan(out.packet.tracking_no, type_, at)]}))
        session.commit()
    decisions.accept_case(session, env, OFFICER, out.case.case_no)
    frozen.set("2026-03-03T10:00:00+08:00")
    decided = decisions.decide_case(session, env, OFFICER, out.case.case_no, parse(decisions.Decision, {
        "outcome": "approved", "result_file": base64.b64encode(PDF).decode(), "filename": "结果.pdf"}))
    session.commit()
    return out, decided


# -- result files, notifications, idempotent answers -------------------------------------------------
def test_a_result_file_is_checked_stored_sealed_in_the_file_store_and_downloads_as_kept(db, env, frozen):
    from pathlib import Path

    import pikepdf
    _, decided = decided_electronically(db, env, frozen)
    row, key, size, sha = db.execute(text("SELECT data, storage_key, size, sha256 FROM resultfile")).one()
    assert row is None and key  # not in the database: in the file store
    kept = (Path(env.settings.files_path) / key).read_bytes()
    assert b"%PDF" not in kept and PDF not in kept  # sealed at rest
    got = decisions.download_result(db, env, decided.delivery.token)
    assert got.sha256 == sha == hashlib.sha256(got.data).hexdigest() and len(got.data) == size
    with pikepdf.open(io.BytesIO(got.data)) as pdf:  # the checked file: the same pages, rewritten
        assert len(pdf.pages) == 1


def test_no_notification_row_nor_the_log_holds_the_download_link_or_the_check_code(db, env, frozen, caplog):
    intake, decided = decided_electronically(db, env, frozen)
    token = decided.delivery.token
    stored = raw(db, "notification")
    assert token not in stored and intake.check_code not in stored
    note = db.exec(select(Notification).where(Notification.result_file_id.is_not(None))).one()
    assert DELIVERY_LINK in note.text
    # the message as a gateway sends it carries the working link, made at send time
    assert message(db, env, note) == note.text.replace(DELIVERY_LINK, env.addresses.delivery(token))
    sent = []
    with caplog.at_level(logging.INFO, logger="tongban.notifications"):
        assert send_pending(db, env, transport=lambda n, t: (sent.append(t), log_transport(n, t))) >= 2
    assert any(env.addresses.delivery(token) in t for t in sent)
    assert DELIVERY_LINK in caplog.text and token not in caplog.text and intake.check_code not in caplog.text


def test_an_idempotent_answer_is_stored_sealed_and_replayed_whole(client, db):
    from app.users import create_user
    create_user(db, "clerk_xf", "clerk", "pw-secret-123", "H140902", "李窗口")
    db.commit()
    token = client.post("/api/v1/auth/token", json={"username": "clerk_xf", "password": "pw-secret-123"}).json["token"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "intake-1"}
    first = client.post("/api/v1/cases", json=intake_body(), headers=headers)
    assert first.status_code == 201, first.json
    db.rollback()
    assert first.json["check_code"] not in raw(db, "idempotentrequest")
    again = client.post("/api/v1/cases", json=intake_body(), headers=headers)
    assert (again.status_code, again.json) == (201, first.json)


# -- files only the service reads ------------------------------------------------------------------
def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_keys_the_instance_folder_and_the_sqlite_file_are_created_private(tmp_path):
    instance = tmp_path / "instance"
    settings = Settings.from_env(env={}, instance_path=instance)
    assert mode(instance) == 0o700
    for name in ("secret_key", "data_key", "chain_key"):
        assert mode(instance / name) == 0o600, name
    again = Settings.from_env(env={}, instance_path=instance)  # generated once, then reused
    assert (again.secret_key, again.data_key, again.chain_key) == \
        (settings.secret_key, settings.data_key, settings.chain_key)
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    try:
        for name in ("tongban.db", "tongban.db-wal", "tongban.db-shm"):
            assert mode(instance / name) == 0o600, name
    finally:
        engine.dispose()


def test_a_key_and_a_database_an_earlier_release_left_readable_are_made_private(tmp_path):
    tmp_path.joinpath("data_key").write_text("old-key")
    tmp_path.joinpath("tongban.db").write_bytes(b"")
    for name in ("data_key", "tongban.db"):
        tmp_path.joinpath(name).chmod(0o644)
    settings = Settings.from_env(env={}, instance_path=tmp_path)
    assert settings.data_key == "old-key" and mode(tmp_path / "data_key") == 0o600
    make_engine(settings.database_url).dispose()
    assert mode(tmp_path / "tongban.db") == 0o600


def test_a_chain_key_from_the_environment_is_used_and_no_file_is_written(tmp_path):
    settings = Settings.from_env(env={"TONGBAN_CHAIN_KEY": "from-env"}, instance_path=tmp_path)
    assert settings.chain_key == "from-env" and not (tmp_path / "chain_key").exists()


# -- migration 0007 on a database an earlier release filled ------------------------------------------
@pytest.fixture
def scratch(database_url, tmp_path):
    """An empty database of its own, on the same kind of server as the run's."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
        yield engine
        engine.dispose()
        return
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    server = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name}"))
    server.dispose()


def _migrate(engine, settings, direction: str, revision: str) -> None:
    from app import schema
    getattr(schema, direction)(engine, revision, settings=settings)


def _plain_chain_holds(session, table: str, owner: str) -> bool:
    """The chains as release 0006 hashed them: plain SHA-256."""
    rows = session.execute(text(f"SELECT * FROM {table} ORDER BY {owner}, id")).mappings().all()
    prev = {}
    for row in rows:
        payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
        for k in ("at", "recorded_at"):  # read back raw: as the model's column type reads it
            payload[k] = _as_utc(payload[k])
        for k in ("data", "contents"):
            if isinstance(payload.get(k), str):
                payload[k] = json.loads(payload[k])
        body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=_default)
        if row["prev_hash"] != prev.get(row[owner], "") or \
                hashlib.sha256((row["prev_hash"] + "\n" + body).encode()).hexdigest() != row["hash"]:
            return False
        prev[row[owner]] = row["hash"]
    return True


def _as_utc(value):
    from datetime import datetime, timezone
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def test_migration_0007_seals_and_rechains_what_an_earlier_release_stored(scratch, settings, env, frozen):
    upgrade(scratch, settings=settings)
    with new_session(scratch) as s:
        load_reference_data(s)
        s.commit()
    invalidate_directory()
    with new_session(scratch) as s:
        intake, decided = decided_electronically(s, env, frozen)
        from app.idempotency import claim, settle
        assert claim(s, env.sealer, "clerk_xf", "/api/v1/cases", "k1", "digest") is None
        settle(s, env.sealer, "clerk_xf", "/api/v1/cases", "k1", 201, {"check_code": intake.check_code})
        # the result as a release before the file store (0021) kept it: its sealed bytes in the row
        s.execute(text("UPDATE resultfile SET data = :d, storage_key = NULL, sha256 = :h, size = :n"),
                  {"d": env.sealer.seal_bytes(PDF), "h": hashlib.sha256(PDF).hexdigest(), "n": len(PDF)})
        s.commit()
    other_case = intake.case.id

    # back to release 0006: files and answers in clear, chains plain SHA-256, the link in the message
    _migrate(scratch, settings, "downgrade", "0006")
    link = env.addresses.delivery(decided.delivery.token)
    with new_session(scratch) as s:
        assert PDF.decode("latin-1") in raw(s, "resultfile") and intake.check_code in raw(s, "idempotentrequest")
        assert _plain_chain_holds(s, "caseevent", "case_id") and _plain_chain_holds(s, "packetevent", "packet_id")
        s.execute(text("UPDATE notification SET text = :t WHERE text LIKE :p"),
                  {"t": f"您的办件已办结，电子结果下载链接：{link}（14天内有效）", "p": f"%{DELIVERY_LINK}%"})
        # and someone edits an event then: the upgrade must not vouch for it
        s.execute(text("UPDATE caseevent SET actor = 'mallory' WHERE type = 'accepted' AND case_id = :c"),
                  {"c": other_case})
        s.commit()

    _migrate(scratch, settings, "upgrade", "head")
    with new_session(scratch) as s:
        assert "%PDF" not in raw(s, "resultfile") and intake.check_code not in raw(s, "idempotentrequest")
        assert decided.delivery.token not in raw(s, "notification")
        note = s.exec(select(Notification).where(Notification.result_file_id.is_not(None))).one()
        assert DELIVERY_LINK in note.text and message(s, env, note).count(link) == 1
        assert decisions.download_result(s, env, decided.delivery.token).data == PDF
        from app.idempotency import claim
        assert claim(s, env.sealer, "clerk_xf", "/api/v1/cases", "k1", "digest") == \
            (201, {"check_code": intake.check_code})
        case_no = s.get(Case, other_case).case_no
        found = [(b.chain, b.number, b.kind, b.event.type) for b in walk_chains(s)]
    assert found == [("case", case_no, "edited", "accepted")]  # the rest is keyed and intact
    invalidate_directory()
