"""POST /api/v1/federation/messages on a node (山西, 140000) with a peer (北京, 110000) whose keys the test
makes: every refusal, a repeat answered as the first time, a case's messages applied in order (held until
the gap fills), key rotation; the key and peers-load commands; the admin's peer pages and their audit."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlmodel import select

from app.audit import AdminAudit
from config import clock
from tests.e2e.conftest import csrf_token
from tests.helpers import PASSWORD
from tracking.federation.envelope import NodeKeys, build, restamp, unb64u, verify
from tracking.federation.peers import PeerSpec, owner_of, save_peer
from tracking.federation.tables import InboundMessage, Peer

URL = "/api/v1/federation/messages"


@pytest.fixture
def node(db, tmp_path, database_url, frozen):
    from app import create_app
    app = create_app({"database_url": database_url, "secret_key": "test-secret", "data_key": "test-data-key",
                      "instance_path": tmp_path, "node": "140000", "node_prefixes": ("14",)})
    app.config["TESTING"] = True
    yield app
    app.extensions["tongban"]["engine"].dispose()


@pytest.fixture
def beijing(db):
    keys = NodeKeys("110000", Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
    register(db, [keys.signing_public], keys.sealing_public)
    return keys


def register(db, signing_keys: list[str], sealing_key: str, active: bool = True):
    save_peer(db, PeerSpec(node_id="110000", name="北京市", base_url="http://127.0.0.1:9", signing_keys=signing_keys,
                           sealing_key=sealing_key, prefixes=["11"], active=active), clock.now())
    db.commit()


def post(app, message, raw: bytes | None = None):
    return app.test_client().post(URL, data=raw if raw is not None else json.dumps(message, ensure_ascii=False),
                                  content_type="application/json")


def note(keys, seq, case_ref="140902-20260302-0001", **kw):
    return build(keys, to="140000", type="case.note", body={"text": f"第{seq}条"}, case_ref=case_ref, seq=seq, **kw)


def rows(db):
    db.rollback()
    return [(m.seq, m.status) for m in db.exec(select(InboundMessage).order_by(InboundMessage.seq))]


def test_a_ping_from_a_registered_peer_is_answered_with_this_nodes_id(node, beijing, db):
    r = post(node, build(beijing, to="140000", type="node.ping", body={}))
    assert r.status_code == 200, r.json
    assert r.json["status"] == "applied" and r.json["result"] == {"pong": "140000"}
    db.rollback()
    stored = db.exec(select(InboundMessage)).one()
    assert (stored.node, stored.type, stored.status) == ("110000", "node.ping", "applied")


def test_every_refusal_has_its_code_and_stores_nothing(node, beijing, db, frozen):
    def refused(message, status, code, raw=None):
        r = post(node, message, raw)
        assert (r.status_code, r.json["error"]["code"]) == (status, code), r.json
        assert "message" in r.json["error"]
    good = build(beijing, to="140000", type="node.ping", body={})
    refused(None, 400, "invalid_request", raw=b"{not json")
    refused({**good, "seq": 0}, 400, "invalid_request")
    refused({k: v for k, v in good.items() if k != "signature"}, 400, "invalid_request")
    stranger = NodeKeys("120000", Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
    refused(build(stranger, to="140000", type="node.ping", body={}), 401, "unknown_node")
    tampered = note(beijing, 1)
    refused({**tampered, "body": {"text": "改过的内容"}}, 401, "bad_signature")
    wrong_key = NodeKeys("110000", Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
    refused(build(wrong_key, to="140000", type="node.ping", body={}), 401, "bad_signature")
    refused(build(beijing, to="140000", type="node.ping", body={}, now=clock.now() - timedelta(minutes=6)),
            401, "stale_message")
    refused(build(beijing, to="140000", type="node.ping", body={}, now=clock.now() + timedelta(minutes=6)),
            401, "stale_message")
    refused(build(beijing, to="120000", type="node.ping", body={}), 403, "wrong_recipient")
    refused(build(beijing, to="140000", type="case.unheard_of", body={}), 422, "unknown_message_type")
    refused(build(beijing, to="140000", type="node.ping", body={}, case_ref="X", seq=1), 400, "invalid_request")
    refused(build(beijing, to="140000", type="case.note", body={"text": 5}, case_ref="X", seq=1),
            400, "invalid_request")
    assert rows(db) == []


def test_a_peer_that_is_switched_off_is_unknown(node, beijing, db):
    register(db, [beijing.signing_public], beijing.sealing_public, active=False)
    r = post(node, build(beijing, to="140000", type="node.ping", body={}))
    assert (r.status_code, r.json["error"]["code"]) == (401, "unknown_node")


def test_a_repeated_message_is_answered_as_the_first_time_and_applied_once(node, beijing, db, frozen):
    first = note(beijing, 1)
    r1 = post(node, first)
    frozen.set("2026-03-02T09:30:00+08:00")  # a retry half an hour later: same id, its own time
    r2 = post(node, restamp(first, beijing.signing))
    assert r1.status_code == r2.status_code == 200 and r1.json == r2.json
    assert rows(db) == [(1, "applied")]
    # the original, replayed outside its window, is refused: the time bounds replays
    r3 = post(node, first)
    assert (r3.status_code, r3.json["error"]["code"]) == (401, "stale_message")
    # another message that reuses the case's number
    r4 = post(node, note(beijing, 1))
    assert (r4.status_code, r4.json["error"]["code"]) == (409, "sequence_reused")


def test_messages_that_arrive_early_are_held_and_applied_in_order_when_the_gap_fills(node, beijing, db):
    three, two, one, five = note(beijing, 3), note(beijing, 2), note(beijing, 1), note(beijing, 5)
    r = post(node, three)
    assert (r.status_code, r.json) == (202, {"status": "held", "message_id": three["message_id"]})
    assert post(node, five).status_code == 202
    assert post(node, two).status_code == 202
    assert rows(db) == [(2, "held"), (3, "held"), (5, "held")]
    r = post(node, one)
    assert r.status_code == 200 and r.json["result"] == {"case_ref": "140902-20260302-0001", "seq": 1}
    assert rows(db) == [(1, "applied"), (2, "applied"), (3, "applied"), (5, "held")]
    applied = db.exec(select(InboundMessage).where(InboundMessage.status == "applied")
                      .order_by(InboundMessage.seq)).all()
    assert [m.applied_at for m in applied] == sorted(m.applied_at for m in applied)
    # a repeat of a message that was held and has since been applied gets its applied answer
    again = post(node, restamp(three, beijing.signing))
    assert again.status_code == 200 and again.json["result"]["seq"] == 3
    assert post(node, note(beijing, 4)).status_code == 200
    assert rows(db)[-2:] == [(4, "applied"), (5, "applied")]


def test_a_node_that_was_not_first_to_speak_about_a_case_is_not_a_party(node, beijing, db):
    assert post(node, note(beijing, 1, case_ref="110105-20260302-0009")).status_code == 200
    tianjin = NodeKeys("120000", Ed25519PrivateKey.generate(), X25519PrivateKey.generate())
    save_peer(db, PeerSpec(node_id="120000", base_url="http://127.0.0.1:9", signing_keys=[tianjin.signing_public],
                           sealing_key=tianjin.sealing_public, prefixes=["12"]), clock.now())
    db.commit()
    r = post(node, build(tianjin, to="140000", type="case.note", body={}, case_ref="110105-20260302-0009", seq=2))
    assert (r.status_code, r.json["error"]["code"]) == (403, "not_a_party")
    assert rows(db) == [(1, "applied")]


def test_a_case_held_here_hears_only_from_the_node_of_its_offices(node, beijing, staff, db, frozen):
    # a case collected at 忻府区 for 小店区: both offices are this node's, so 北京 has no part in it
    from tests.helpers import intake_body
    case = staff.post("/api/v1/cases", intake_body(), as_="clerk").json
    r = post(node, note(beijing, 1, case_ref=case["case_no"]))
    assert (r.status_code, r.json["error"]["code"]) == (403, "not_a_party")


def test_during_a_key_rotation_both_keys_are_accepted_and_after_it_only_the_new(node, beijing, db):
    new = NodeKeys("110000", Ed25519PrivateKey.generate(), beijing.sealing)
    register(db, [beijing.signing_public, new.signing_public], beijing.sealing_public)
    assert post(node, build(beijing, to="140000", type="node.ping", body={})).status_code == 200
    assert post(node, build(new, to="140000", type="node.ping", body={})).status_code == 200
    register(db, [new.signing_public], beijing.sealing_public)
    r = post(node, build(beijing, to="140000", type="node.ping", body={}))
    assert (r.status_code, r.json["error"]["code"]) == (401, "bad_signature")
    assert post(node, build(new, to="140000", type="node.ping", body={})).status_code == 200


def test_the_owner_of_a_division_is_the_longest_prefix(node, beijing, db):
    settings = node.config["TONGBAN"]
    assert owner_of(db, settings, "110105").node_id == "110000"
    assert owner_of(db, settings, "140902") is None  # this node's own
    assert owner_of(db, settings, "410100") is None  # nobody's: stays local
    save_peer(db, PeerSpec(node_id="140900", base_url="http://127.0.0.1:9", signing_keys=[beijing.signing_public],
                           sealing_key=beijing.sealing_public, prefixes=["1409"]), clock.now())
    assert owner_of(db, settings, "140902").node_id == "140900" and owner_of(db, settings, "140105") is None


# -- the commands --------------------------------------------------------------------------------------

def test_the_key_command_prints_the_node_and_public_keys_that_verify_its_signatures(node):
    out = node.test_cli_runner().invoke(args=["federation", "key"])
    assert out.exit_code == 0, out.output
    lines = dict(line.split(": ", 1) for line in out.output.strip().splitlines())
    assert lines["node_id"] == "140000" and lines["prefixes"] == "14"
    assert len(unb64u(lines["signing_key"])) == 32 and len(unb64u(lines["sealing_key"])) == 32
    own = NodeKeys.from_settings(node.config["TONGBAN"])
    assert verify(build(own, to="110000", type="node.ping", body={}), [lines["signing_key"]])
    # generated once into the instance folder, private to the service
    path = node.config["TONGBAN"].instance_path / "node_signing_key"
    assert path.stat().st_mode & 0o077 == 0


def test_peers_load_reads_yaml_or_json_adds_and_updates_and_audits(node, beijing, db, tmp_path):
    runner = node.test_cli_runner()
    yaml_file = tmp_path / "peers.yaml"
    yaml_file.write_text(f"""peers:
  - node_id: "120000"
    name: 天津市
    base_url: http://127.0.0.1:8012/
    signing_keys: [{beijing.signing_public}]
    sealing_key: {beijing.sealing_public}
    prefixes: ["12"]
""", encoding="utf-8")
    out = runner.invoke(args=["federation", "peers", "load", str(yaml_file)])
    assert out.exit_code == 0, out.output
    assert "新增 1" in out.output
    json_file = tmp_path / "peers.json"
    json_file.write_text(json.dumps({"peers": [{"node_id": "120000", "name": "天津市", "base_url": "http://127.0.0.1:8012",
                                                "signing_keys": [beijing.signing_public],
                                                "sealing_key": beijing.sealing_public, "prefixes": ["12", "13"]}]}))
    out = runner.invoke(args=["federation", "peers", "load", str(json_file)])
    assert out.exit_code == 0 and "修改 1" in out.output, out.output
    db.rollback()
    peer = db.get(Peer, "120000")
    assert (peer.base_url, peer.prefixes, peer.name) == ("http://127.0.0.1:8012", ["12", "13"], "天津市")
    logged = db.exec(select(AdminAudit).where(AdminAudit.target_kind == "peer").order_by(AdminAudit.id)).all()
    assert [(a.action, a.actor) for a in logged] == [("peer_created", "命令行"), ("peer_updated", "命令行")]
    assert logged[1].changes == {"prefixes": [["12"], ["12", "13"]]}
    bad = tmp_path / "bad.yaml"
    bad.write_text("peers:\n  - node_id: '130000'\n    base_url: ftp://x\n    signing_keys: [short]\n"
                   "    sealing_key: short\n    prefixes: [a]\n", encoding="utf-8")
    out = runner.invoke(args=["federation", "peers", "load", str(bad)])
    assert out.exit_code != 0 and "base_url" in out.output and "signing_keys" in out.output
    assert db.get(Peer, "130000") is None


# -- the admin's pages ----------------------------------------------------------------------------------

def test_an_admin_adds_and_changes_a_peer_on_the_pages_and_each_change_is_audited(node, beijing, db, api):
    api.user("root", "admin")
    client = node.test_client()
    page = client.get("/login")
    assert client.post("/login", data={"username": "root", "password": PASSWORD,
                                       "csrf_token": csrf_token(page.text)}).status_code == 302
    listing = client.get("/admin/peers")
    assert listing.status_code == 200 and "110000" in listing.text and "140000" in listing.text
    own = NodeKeys.from_settings(node.config["TONGBAN"])
    assert own.signing_public in listing.text  # this node's keys, to give to a peer
    form = client.get("/admin/peers/new")
    bad = client.post("/admin/peers/new", data={"csrf_token": csrf_token(form.text), "node_id": "120000",
                                                "base_url": "nowhere", "signing_keys": "x", "sealing_key": "",
                                                "prefixes": ""})
    assert bad.status_code == 400 and "field-error" in bad.text
    r = client.post("/admin/peers/new", data={"csrf_token": csrf_token(form.text), "node_id": "120000",
                                              "name": "天津市", "base_url": "http://127.0.0.1:8012",
                                              "signing_keys": beijing.signing_public,
                                              "sealing_key": beijing.sealing_public, "prefixes": "12，13",
                                              "active": "yes"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/peers/120000")
    edit = client.get("/admin/peers/120000/edit")
    r = client.post("/admin/peers/120000/edit", data={
        "csrf_token": csrf_token(edit.text), "name": "天津市", "base_url": "http://127.0.0.1:8012",
        "signing_keys": beijing.signing_public + "\n" + NodeKeys("x", Ed25519PrivateKey.generate(),
                                                                 beijing.sealing).signing_public,
        "sealing_key": beijing.sealing_public, "prefixes": "12, 13"})  # the box left unticked: switched off
    assert r.status_code == 303
    db.rollback()
    peer = db.get(Peer, "120000")
    assert (len(peer.signing_keys), peer.prefixes, peer.active) == (2, ["12", "13"], False)
    logged = db.exec(select(AdminAudit).where(AdminAudit.target_id == "120000").order_by(AdminAudit.id)).all()
    assert [(a.action, a.actor) for a in logged] == [("peer_created", "root"), ("peer_updated", "root")]
    assert set(logged[1].changes) == {"signing_keys", "active"}
    shown = client.get("/admin/peers/120000")
    assert "修改协同节点" in shown.text and "天津市" in shown.text
    assert "协同节点" in client.get("/admin/audit?kind=peer").text


def test_a_clerk_may_not_see_the_peer_pages(node, staff):
    client = node.test_client()
    page = client.get("/login")
    client.post("/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    assert client.get("/admin/peers").status_code == 403


def test_the_endpoints_answers_match_the_openapi_document(node, beijing):
    from tests.e2e.test_openapi import Conformance
    conforms = Conformance(node.test_client().get("/api/v1/openapi.json").json)
    path = "/federation/messages"
    conforms.check(post(node, note(beijing, 2)), "post", path, 202)
    conforms.check(post(node, note(beijing, 1)), "post", path, 200)
    conforms.check(post(node, {"node": 1}), "post", path, 400)
    conforms.check(post(node, {**note(beijing, 3), "seq": 4}), "post", path, 401)
    conforms.check(post(node, build(beijing, to="140000", type="case.what", body={})), "post", path, 422)
    conforms.check(post(node, note(beijing, 2)), "post", path, 409)
