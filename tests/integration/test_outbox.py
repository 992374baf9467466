"""The federation outbox against a real receiver on a loopback port: signed reports delivered, a failing
endpoint retried with backoff, dead-lettered, replayed by the CLI and delivered; a refusal dead at once;
two workers draining one outbox send every message exactly once (SQLite and PostgreSQL alike)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from config.database import new_session
from tests.platform_receiver import Receiver
from tracking.federation.outbox import OutboxMessage, enqueue, send_due, urllib_transport

SECRET = "platform-shared-secret"


@pytest.fixture
def receiver():
    r = Receiver(SECRET).start()
    yield r
    r.stop()


@pytest.fixture
def platform_settings(settings, receiver):
    settings.platform_cases_url = receiver.url("/cases")
    settings.platform_secret = SECRET
    settings.federation_max_tries = 3
    settings.federation_retry_seconds = 30
    settings.federation_timeout_seconds = 2
    return settings


def _queue(engine, n: int = 1, url: str = "", kind: str = "platform", destination: str = "cases") -> list[str]:
    ids = [f"cases:TEST-{i:04d}:{i}" for i in range(n)]
    with new_session(engine) as session:
        for i, message_id in enumerate(ids):
            enqueue(session, destination_kind=kind, destination=destination, url=url, message_id=message_id,
                    type="case.report", payload={"case_no": f"TEST-{i:04d}", "status_text": "已收件", "n": i})
        session.commit()
    return ids


def _send(engine, settings, worker: str = "w1", now: datetime | None = None) -> dict:
    with new_session(engine) as session:
        return send_due(session, settings, urllib_transport(settings.federation_timeout_seconds), worker, now,
                        session.commit)


def _row(engine, message_id: str) -> OutboxMessage:
    with new_session(engine, read_only=True) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.message_id == message_id)).one()


def test_a_report_reaches_the_platform_signed_over_its_exact_bytes_and_is_marked_sent(engine, db, platform_settings,
                                                                                     receiver):
    [message_id] = _queue(engine, url=receiver.url("/cases"))
    assert _send(engine, platform_settings) == {"sent": 1, "retried": 0, "dead": 0}
    [got] = receiver.got
    assert got.signed and got.path == "/cases"
    assert got.json == {"case_no": "TEST-0000", "status_text": "已收件", "n": 0}
    assert got.headers["X-Tongban-Message-Id"] == message_id
    assert got.headers["Content-Type"].startswith("application/json")
    row = _row(engine, message_id)
    assert (row.status, row.attempts, row.last_status, row.claimed_by) == ("sent", 1, 200, None)
    assert _send(engine, platform_settings) == {"sent": 0, "retried": 0, "dead": 0}  # nothing sent twice
    assert len(receiver.got) == 1


def test_a_failing_endpoint_is_retried_with_backoff_dead_lettered_replayed_by_the_cli_and_delivered(
        engine, db, app, platform_settings, receiver, frozen):
    start = frozen.set("2026-03-02T09:00:00+08:00")
    [message_id] = _queue(engine, url=receiver.url("/cases"))
    receiver.otherwise = 500
    assert _send(engine, platform_settings)["retried"] == 1
    row = _row(engine, message_id)
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, 500)
    assert row.next_attempt_at == start + timedelta(seconds=30)
    assert "HTTP 500" in row.last_error
    assert _send(engine, platform_settings)["retried"] == 0  # not due before its backoff ends
    frozen.set("2026-03-02T09:00:30+08:00")
    assert _send(engine, platform_settings)["retried"] == 1
    assert _row(engine, message_id).next_attempt_at == start + timedelta(seconds=30 + 60)  # doubled
    frozen.set("2026-03-02T09:01:30+08:00")
    assert _send(engine, platform_settings)["dead"] == 1  # the third try was the last
    assert (_row(engine, message_id).status, _row(engine, message_id).attempts) == ("dead", 3)
    frozen.set("2026-03-02T10:00:00+08:00")
    assert _send(engine, platform_settings) == {"sent": 0, "retried": 0, "dead": 0}

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["federation", "pending"])
    assert listed.exit_code == 0, listed.output
    assert "已停止重试 1 条" in listed.output and message_id in listed.output and "HTTP 500" in listed.output
    replayed = runner.invoke(args=["federation", "replay", "--dead"])
    assert replayed.exit_code == 0 and "已重新排队 1 条" in replayed.output, replayed.output
    assert (_row(engine, message_id).status, _row(engine, message_id).attempts) == ("pending", 0)

    receiver.otherwise = 200
    assert _send(engine, platform_settings)["sent"] == 1
    assert _row(engine, message_id).status == "sent"
    assert len(receiver.got) == 4 and all(g.signed for g in receiver.got)
    assert {g.body for g in receiver.got} == {receiver.got[0].body}  # the same message every time
    assert runner.invoke(args=["federation", "pending"]).output.strip() == "没有待发送或已停止重试的消息。"
    unknown = runner.invoke(args=["federation", "replay", message_id, "no-such-message"])
    assert unknown.exit_code == 1 and "已送达，无需重发" in unknown.output and "没有这条消息" in unknown.output


@pytest.mark.parametrize("status, dead", [(400, True), (422, True), (408, False), (429, False), (503, False)])
def test_a_refusal_is_dead_at_once_and_a_passing_trouble_is_retried(engine, db, platform_settings, receiver,
                                                                   status, dead):
    [message_id] = _queue(engine, url=receiver.url("/cases"))
    receiver.answers = [status]
    _send(engine, platform_settings)
    row = _row(engine, message_id)
    assert (row.status, row.attempts, row.last_status) == ("dead" if dead else "pending", 1, status)
    assert '{"ok": false}' in row.last_error


def test_no_answer_at_all_is_retried_with_the_error_kept(engine, db, platform_settings, receiver):
    port = receiver.server.server_address[1]
    receiver.stop()
    [message_id] = _queue(engine, url=f"http://127.0.0.1:{port}/cases")
    assert _send(engine, platform_settings)["retried"] == 1
    row = _row(engine, message_id)
    assert row.status == "pending" and row.last_status is None and "URLError" in row.last_error
    receiver.start()  # a fresh server so the fixture can stop it


def test_a_platform_without_its_secret_keeps_the_message_waiting(engine, db, platform_settings, receiver):
    [message_id] = _queue(engine, url=receiver.url("/cases"))
    platform_settings.platform_secret = ""
    assert _send(engine, platform_settings)["retried"] == 1
    assert receiver.got == [] and "密钥未配置" in _row(engine, message_id).last_error


def test_two_workers_draining_one_outbox_send_every_message_exactly_once(engine, db, platform_settings, receiver):
    ids = _queue(engine, 30, url=receiver.url("/cases"))
    receiver.delay = 0.005  # long enough that the workers overlap on every message
    results, errors = {}, []

    def work(name):
        try:
            results[name] = _send(engine, platform_settings, worker=name)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    got = [g.headers["X-Tongban-Message-Id"] for g in receiver.got]
    assert sorted(got) == sorted(ids)  # each once, none lost
    assert sum(r["sent"] for r in results.values()) == 30
    assert all(r["sent"] > 0 for r in results.values()), results  # both took part
    with new_session(engine, read_only=True) as session:
        assert {row.status for row in session.exec(select(OutboxMessage))} == {"sent"}


def test_a_peer_message_goes_as_the_envelope_stamped_and_signed_again_for_each_attempt(engine, db, settings,
                                                                                       frozen, tmp_path):
    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tracking.federation import envelope
    settings.node, settings.federation_retry_seconds = "140000", 30
    settings.node_signing_key = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
    settings.node_sealing_key = base64.urlsafe_b64encode(bytes(range(1, 33))).decode().rstrip("=")
    peer = Receiver("", answers=[503]).start()
    try:
        frozen.set("2026-03-02T09:00:00+08:00")
        message = envelope.build(envelope.NodeKeys.from_settings(settings), to="110000", type="node.ping", body={})
        with new_session(engine) as session:
            enqueue(session, destination_kind="peer", destination="110000", url=peer.url("/api/v1/federation/messages"),
                    message_id=message["message_id"], type="node.ping", payload=message)
            session.commit()
        frozen.set("2026-03-02T09:10:00+08:00")
        assert _send(engine, settings)["retried"] == 1
        frozen.set("2026-03-02T09:20:00+08:00")
        assert _send(engine, settings)["sent"] == 1
        public = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()
        stamps = []
        for got in peer.got:
            sent = json.loads(got.body)
            unsigned = {k: v for k, v in sent.items() if k != "signature"}
            signature = base64.urlsafe_b64decode(sent["signature"] + "=" * (-len(sent["signature"]) % 4))
            public.verify(signature, json.dumps(unsigned, sort_keys=True, separators=(",", ":"),
                                                ensure_ascii=False).encode())  # raises if forged
            assert {k: v for k, v in unsigned.items() if k != "sent_at"} == \
                {k: v for k, v in message.items() if k not in ("sent_at", "signature")}
            stamps.append(sent["sent_at"])
        assert stamps == ["2026-03-02T09:10:00+08:00", "2026-03-02T09:20:00+08:00"]
    finally:
        peer.stop()
