"""Two installations as real processes: 山西 (140000) and 北京 (110000), each its own database and keys,
joined by the documented commands, serving on loopback ports. Messages go through 山西's outbox and are
sent by `flask --app app federation send` (and by a real Celery worker on Redis where the broker tests
run): the peer down and back, nothing lost or applied twice, in order; then what a hostile or clumsy
network does to signed envelopes posted straight at 北京's endpoint."""
from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlmodel import select

from config import clock
from tests.nodes import ROOT, two_nodes
from tracking.federation.envelope import NodeKeys, b64u, build, verify

BROKER = os.environ.get("TONGBAN_TEST_BROKER_URL")
RETRY_SECONDS = 1  # the first retry's wait, so a test can see a message go again


@pytest.fixture(scope="module")
def pair(database_url, tmp_path_factory):
    with two_nodes(database_url, tmp_path_factory.mktemp("nodes"),
                   extra_env={"TONGBAN_FEDERATION_RETRY_SECONDS": str(RETRY_SECONDS)}) as made:
        yield made


_numbers = itertools.count(901)


def case_ref(division: str = "140902") -> str:
    """A case number of its own for each test (the nodes live through the whole module)."""
    return f"{division}-20260302-{next(_numbers):04d}"


def sent_counts(output: str) -> tuple[int, int, int]:
    found = re.search(r"送达 (\d+) 条，稍后重试 (\d+) 条，停止重试 (\d+) 条", output)
    assert found, output
    return tuple(int(n) for n in found.groups())


def peers(node) -> list:
    from tracking.federation.tables import Peer
    with node.session() as session:
        return session.exec(select(Peer).order_by(Peer.node_id)).all()


def test_the_nodes_joined_by_the_commands_know_each_others_keys_and_addresses(pair):
    shanxi, beijing = pair
    for node, other in ((shanxi, beijing), (beijing, shanxi)):
        keys = other.keys()
        (peer,) = peers(node)
        assert (peer.node_id, peer.base_url, peer.prefixes, peer.active) == (other.node_id, other.base_url,
                                                                             list(other.prefixes), True)
        assert (peer.signing_keys, peer.sealing_key) == ([keys.signing_public], keys.sealing_public)


def test_messages_wait_while_the_peer_is_down_then_flow_each_applied_once_in_order(pair):
    shanxi, beijing = pair
    case = case_ref()
    beijing.stop()
    try:
        # the operator's ping, queued by its command, and a case's notes queued as the node does
        queued = shanxi.flask("federation", "ping", "110000").stdout
        ping = re.search(r"node\.ping (\S+)", queued).group(1)
        # queued out of their order: 北京 will hold the second until the first arrives
        notes = {seq: shanxi.enqueue(beijing, "case.note", {"text": f"第{seq}条"}, case_ref=case, seq=seq)
                 for seq in (2, 1, 3)}
        ours = [ping, *notes.values()]
        assert sent_counts(shanxi.flask("federation", "send").stdout) == (0, 4, 0)
        assert {m: shanxi.outbox()[m] for m in ours} == {m: ("pending", 1) for m in ours}
        pending = shanxi.flask("federation", "pending").stdout
        assert re.search(r"对端节点 110000（peer 110000）：待发送 4 条（其中发送失败待重试 4 条），已停止重试 0 条，"
                         r"最早未送达 \S+（已等待 0 分钟）", pending), pending
        for message_id in ours:
            line = next(line for line in pending.splitlines() if message_id in line)
            assert "待发送，已尝试 1 次" in line and "Connection refused" in line, line
    finally:
        beijing.start()
    time.sleep(RETRY_SECONDS + 0.2)
    assert sent_counts(shanxi.flask("federation", "send").stdout) == (4, 0, 0)
    assert {m: shanxi.outbox()[m] for m in ours} == {m: ("sent", 2) for m in ours}

    # the answer to the last note was lost: the claim ran out and the message goes again, same id
    from sqlalchemy import update

    from tracking.federation.outbox import OutboxMessage
    with shanxi.engine.begin() as conn:
        conn.execute(update(OutboxMessage).where(OutboxMessage.message_id == notes[3])
                     .values(status="pending", next_attempt_at=clock.now() - timedelta(seconds=1)))
    assert sent_counts(shanxi.flask("federation", "send").stdout) == (1, 0, 0)

    received = beijing.inbound(case)
    assert [(m.message_id, m.seq) for m in received] == [(notes[2], 2), (notes[1], 1), (notes[3], 3)]  # arrival
    assert all(m.status == "applied" for m in received)
    by_seq = {m.seq: m for m in received}
    # 2 came first and was held; it applied in the same moment as 1, its predecessor, and before 3
    assert by_seq[2].received_at < by_seq[1].received_at and by_seq[2].applied_at == by_seq[1].applied_at
    assert by_seq[1].applied_at <= by_seq[3].applied_at
    assert [by_seq[s].answer["result"] for s in (1, 2, 3)] == [{"case_ref": case, "seq": s} for s in (1, 2, 3)]
    (pong,) = [m for m in beijing.inbound() if m.message_id == ping]
    assert (pong.node, pong.type, pong.status, pong.answer["result"]) == ("140000", "node.ping", "applied",
                                                                          {"pong": "110000"})
    assert verify(pong.envelope, [shanxi.keys().signing_public])  # what arrived is what 山西's key signed


@pytest.mark.skipif(not BROKER, reason="TONGBAN_TEST_BROKER_URL not set: no broker to test against")
def test_a_celery_worker_on_the_broker_sends_the_outbox_and_retries_a_peer_that_is_down(pair):
    from celery import Celery
    shanxi, beijing = pair
    queue = f"nodes-{uuid.uuid4().hex[:8]}"  # this worker only: others on the same broker never take our task
    worker = subprocess.Popen([sys.executable, "-m", "celery", "--app", "app.celery_app", "worker", "--pool", "solo",
                               "--queues", queue, "--without-gossip", "--without-mingle", "--without-heartbeat",
                               "--loglevel", "WARNING"], cwd=ROOT, env=shanxi.env(TONGBAN_BROKER_URL=BROKER),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sender = Celery(broker=BROKER)
    case = case_ref()

    def run_task_until(wanted):
        sender.send_task("app.tasks.send_federation", queue=queue)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if wanted(shanxi.outbox()):
                return
            time.sleep(0.2)
        raise AssertionError(f"the worker did not get there: {shanxi.outbox()}")
    try:
        beijing.stop()
        try:
            ids = [shanxi.enqueue(beijing, "case.note", {"text": "经由任务队列"}, case_ref=case, seq=seq)
                   for seq in (1, 2)]
            run_task_until(lambda box: all(box[m] == ("pending", 1) for m in ids))
        finally:
            beijing.start()
        time.sleep(RETRY_SECONDS + 0.2)
        run_task_until(lambda box: all(box[m] == ("sent", 2) for m in ids))
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        sender.close()
    assert [(m.message_id, m.seq, m.status) for m in beijing.inbound(case)] == [(ids[0], 1, "applied"),
                                                                                 (ids[1], 2, "applied")]


def test_a_hostile_or_clumsy_network_meets_the_endpoint_of_a_running_node(pair):
    shanxi, beijing = pair
    keys = shanxi.keys()  # 山西's real key, read from its instance folder
    case = case_ref()

    def note(seq, **kw):
        return build(keys, to="110000", type="case.note", body={"text": f"第{seq}条"}, case_ref=case, seq=seq, **kw)

    def refused(message, status, code):
        got = beijing.post(message)
        assert (got[0], got[1]["error"]["code"]) == (status, code), got
    before = len(beijing.inbound())

    # reordered: 3 and 2 wait for 1; sent twice: the same envelope again gets the first answer
    third, first, second = note(3), note(1), note(2)
    assert beijing.post(third) == (202, {"status": "held", "message_id": third["message_id"]})
    assert beijing.post(third)[0] == 202
    assert beijing.post(first)[0] == 200
    applied = beijing.post(second)
    assert applied == (200, {"status": "applied", "message_id": second["message_id"],
                             "result": {"case_ref": case, "seq": 2}})
    assert beijing.post(second) == applied and beijing.post(first)[0] == 200
    # the held one, asked again now, answers as applied
    assert beijing.post(third)[1]["status"] == "applied"
    assert [(m.seq, m.status) for m in beijing.inbound(case)] == [(3, "applied"), (1, "applied"), (2, "applied")]

    # delayed within the window: accepted; a captured message replayed after it: refused as stale
    assert beijing.post(note(4, now=clock.now() - timedelta(minutes=4)))[0] == 200
    refused(note(5, now=clock.now() - timedelta(minutes=6)), 401, "stale_message")
    refused(note(5, now=clock.now() + timedelta(minutes=6)), 401, "stale_message")

    # a tampered body, and a message signed by a key 北京 does not list for 山西
    tampered = note(5)
    refused({**tampered, "body": {"text": "改过的内容"}}, 401, "bad_signature")
    stranger = NodeKeys("140000", Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
    refused(build(stranger, to="110000", type="case.note", body={}, case_ref=case, seq=5), 401, "bad_signature")
    refused(build(NodeKeys("990000", stranger.signing, stranger.sealing), to="110000", type="node.ping", body={}),
            401, "unknown_node")
    assert len(beijing.inbound()) == before + 4  # nothing refused was stored
    assert beijing.post(tampered)[0] == 200  # the untouched original still goes through

    # a third node has no part in a case 山西 spoke of; 山西 none in one 天津 spoke of first
    tianjin = NodeKeys("120000", Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
    shanxi_entry = {"node_id": "140000", "name": "山西省", "base_url": shanxi.base_url,
                    "signing_keys": [keys.signing_public], "sealing_key": keys.sealing_public, "prefixes": ["14"]}
    tianjin_entry = {"node_id": "120000", "name": "天津市", "base_url": "http://127.0.0.1:9",
                     "signing_keys": [tianjin.signing_public], "sealing_key": tianjin.sealing_public,
                     "prefixes": ["12"]}
    new = Ed25519PrivateKey.generate()
    switched = NodeKeys("140000", new, keys.sealing)
    new_public = switched.signing_public
    # the rotation begins: 北京 lists 山西's old and new keys (and learns of 天津)
    beijing.load_peers([{**shanxi_entry, "signing_keys": [keys.signing_public, new_public]}, tianjin_entry])
    try:
        refused(build(tianjin, to="110000", type="case.note", body={}, case_ref=case, seq=1), 403, "not_a_party")
        theirs = case_ref("120101")
        assert beijing.post(build(tianjin, to="110000", type="case.note", body={}, case_ref=theirs, seq=1))[0] == 200
        refused(build(keys, to="110000", type="case.note", body={}, case_ref=theirs, seq=1), 403, "not_a_party")

        # during the change-over either key is good, and 山西's outbox signs with the new one
        assert beijing.post(note(6))[0] == 200
        assert beijing.post(build(switched, to="110000", type="case.note", body={}, case_ref=case, seq=7))[0] == 200
        queued = shanxi.enqueue(beijing, "case.note", {"text": "新密钥"}, case_ref=case, seq=8)
        assert sent_counts(shanxi.flask("federation", "send", TONGBAN_NODE_SIGNING_KEY=b64u(new.private_bytes_raw()))
                           .stdout) == (1, 0, 0)
        (arrived,) = [m for m in beijing.inbound(case) if m.message_id == queued]
        assert verify(arrived.envelope, [new_public]) and not verify(arrived.envelope, [keys.signing_public])
        # the change-over ends: the old key no longer speaks for 山西
        beijing.load_peers([{**shanxi_entry, "signing_keys": [new_public]}])
        refused(note(9), 401, "bad_signature")
        assert beijing.post(build(switched, to="110000", type="case.note", body={}, case_ref=case, seq=9))[0] == 200
    finally:
        beijing.load_peers([shanxi_entry])


def make(tmp_path, *args: str) -> list[str]:
    """`make ARGS…` with a stand-in venv whose flask writes down its node settings and arguments."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    record = 'echo "node=$TONGBAN_NODE prefixes=$TONGBAN_NODE_PREFIXES instance=$TONGBAN_INSTANCE_PATH ' \
             f'url=$TONGBAN_PUBLIC_URL | $*" >> "{calls}"'
    for name, body in (("python", "exit 0"), ("flask", record)):
        (venv / "bin" / name).write_text(f"#!/bin/sh\n{body}\n")
        (venv / "bin" / name).chmod(0o755)
    (venv / ".runtime").touch()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_") and k not in ("PORT", "MAKEFLAGS")}
    done = subprocess.run(["make", "-s", "-C", str(ROOT), *args, f"VENV={venv}"], env=environ, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return calls.read_text().splitlines()


def test_make_run_with_a_node_keeps_it_apart_and_plain_make_run_stays_one_installation(tmp_path):
    calls = make(tmp_path, "run", "NODE=110000", "PORT=5002")
    assert [c.split(" | ")[0] for c in calls] == ["node=110000 prefixes=11 instance=instance/110000 url="] * 2 + [
        "node=110000 prefixes=11 instance=instance/110000 url=http://127.0.0.1:5002"]
    assert [c.split(" | ")[1] for c in calls] == ["init-db", "demo", "run --host 127.0.0.1 --port 5002"]
    plain = make(tmp_path, "run")
    assert [c.split(" | ")[0] for c in plain] == ["node= prefixes= instance= url="] * 2 + [
        "node= prefixes= instance= url=http://127.0.0.1:5000"]
    assert make(tmp_path, "flask", "NODE=140000", "PORT=5001", "ARGS=federation key --peers-file") == [
        "node=140000 prefixes=14 instance=instance/140000 url=http://127.0.0.1:5001 | federation key --peers-file"]
