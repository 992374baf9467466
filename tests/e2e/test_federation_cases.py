"""A case collected in 忻州 (node 山西, 140000) for a 北京 office (node 北京, 110000): two installations in one
process, each with its own database and keys, their outboxes sent to each other's endpoint. The case is
handed over, received, accepted, decided and delivered across both, and both show the same timeline."""
from __future__ import annotations

import json

import pytest
from sqlmodel import select

from app.users import create_user
from config import clock
from config.database import make_engine, new_session
from tests.conftest import empty_database
from tests.databases import fresh_database
from tests.helpers import PASSWORD, intake_body, person, resident_id, scan
from tracking.federation import envelope, outbox
from tracking.federation.envelope import NodeKeys
from tracking.federation.peers import PeerSpec, save_peer
from tracking.federation.tables import InboundMessage
from tracking.model.sealing import Sealer, check_code_hash
from tracking.model.tables import Case, CaseEvent, Evaluation

URLS = {"140000": "http://shanxi.test", "110000": "http://beijing.test"}
ID_NUMBER = resident_id("11010519491231002")


@pytest.fixture(scope="module")
def urls(database_url, tmp_path_factory):
    from app.schema import upgrade
    from routing.reference import load_reference_data
    folder = tmp_path_factory.mktemp("nodes")
    with fresh_database(database_url, folder, "shanxi") as shanxi, fresh_database(database_url, folder, "beijing") as beijing:
        for url in (shanxi, beijing):
            engine = make_engine(url)
            upgrade(engine)
            with new_session(engine) as session:
                load_reference_data(session)
                session.commit()
            engine.dispose()
        yield {"140000": shanxi, "110000": beijing}


class Node:
    def __init__(self, app):
        self.app, self.client, self.tokens = app, app.test_client(), {}
        self.settings = app.config["TONGBAN"]
        self.engine = app.extensions["tongban"]["engine"]

    def session(self):
        return new_session(self.engine)

    def user(self, username, role, office=None, name=""):
        with self.session() as s:
            create_user(s, username, role, PASSWORD, office, name or username)
            s.commit()
        r = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        self.tokens[username] = r.json["token"]

    def post(self, path, body=None, as_=None):
        return self.client.post(path, json=body, headers={"Authorization": f"Bearer {self.tokens[as_]}"} if as_ else {})

    def get(self, path, as_=None):
        return self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[as_]}"} if as_ else {})

    def scan(self, as_, tracking_no, type_, at, office=None, **extra):
        r = self.post("/api/v1/scans", {"scans": [scan(tracking_no, type_, at, office, **extra)]}, as_=as_)
        assert r.status_code == 200 and r.json["results"][0]["status"] == "recorded", r.json


@pytest.fixture
def nodes(urls, tmp_path, frozen, monkeypatch):
    import app.users
    from app import create_app
    from werkzeug.security import generate_password_hash
    monkeypatch.setattr(app.users, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))
    made = {}
    # each node numbers its packets from its own S10 prefixes: both hold every packet of a shared case
    for node, prefix, s10 in (("140000", "14", ("EA", "EM")), ("110000", "11", ("EN", "EZ"))):
        made[node] = Node(create_app({
            "database_url": urls[node], "secret_key": "test-secret", "data_key": f"data-key-{node}",
            "chain_key": "test-chain-key", "instance_path": tmp_path / node, "node": node, "node_prefixes": (prefix,),
            "public_url": URLS[node], "s10_first_prefix": s10[0], "s10_last_prefix": s10[1]}))
        made[node].settings.scan_ahead_minutes = 60 * 24 * 366
        made[node].settings.token_hours = 24 * 366
    for node, other in (("140000", "110000"), ("110000", "140000")):
        keys = NodeKeys.from_settings(made[other].settings)
        with made[node].session() as s:
            save_peer(s, PeerSpec(node_id=other, name=other, base_url=URLS[other], signing_keys=[keys.signing_public],
                                  sealing_key=keys.sealing_public, prefixes=[other[:2]]), clock.now())
            s.commit()
    shanxi, beijing = made["140000"], made["110000"]
    shanxi.user("clerk", "clerk", "H140902", "王窗口")
    shanxi.user("courier", "courier", None, "李投递")
    beijing.user("officer", "officer", "D110105-GA", "赵办理")
    yield shanxi, beijing
    for node in made.values():
        empty_database(node.engine)
        node.engine.dispose()


def transport(nodes_by_url, log):
    def post(url, body, headers):
        for node in nodes_by_url:
            if url.startswith(URLS[node.settings.node]):
                r = node.client.post(url.removeprefix(URLS[node.settings.node]), data=body,
                                     content_type="application/json")
                log.append((node.settings.node, json.loads(body), r.status_code, r.get_json()))
                return r.status_code, r.get_data(as_text=True)
        raise ConnectionError(url)
    return post


def pump(*nodes):
    """Sends every due message of both outboxes until none is left; answers what was delivered."""
    log = []
    for _ in range(5):
        sent = 0
        for node in nodes:
            with node.session() as s:
                sent += outbox.send_due(s, node.settings, transport(nodes, log), "test", None, s.commit)["sent"]
        if not sent:
            break
    assert all(status in (200, 202) for *_, status, _ in log), log
    return log


def case_row(node, case_no):
    with node.session() as s:
        return s.exec(select(Case).where(Case.case_no == case_no)).one()


def timeline(node, case_no, check):
    r = node.get(f"/api/v1/track/{case_no}?check={check}")
    assert r.status_code == 200, r.json
    return r.json


def events(node, case_no):
    with node.session() as s:
        case = s.exec(select(Case).where(Case.case_no == case_no)).one()
        return [(e.type, e.status_after, e.at, e.office_code, e.actor) for e in
                s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


def collect(shanxi):
    applicant = person(id_number=ID_NUMBER, division_code="110105", address="北京市朝阳区建国路1号")
    r = shanxi.post("/api/v1/cases", intake_body(applicant=applicant), as_="clerk")
    assert r.status_code == 201, r.json
    return r.json


def test_a_case_runs_end_to_end_across_two_nodes_and_both_show_the_same_timeline(nodes, frozen):
    shanxi, beijing = nodes
    case = collect(shanxi)
    case_no, check, tn = case["case_no"], case["check_code"], case["tracking_no"]
    log = pump(shanxi, beijing)
    handover = log[0][1]
    assert (log[0][0], handover["type"], handover["seq"], handover["node"]) == ("110000", "case.handed_over", 1, "140000")
    # signed by 山西's key, as the receiver checks it independently
    assert envelope.verify(handover, [NodeKeys.from_settings(shanxi.settings).signing_public])
    # personal data never readable in the message; the check code only as its slow hash
    text = json.dumps(handover, ensure_ascii=False)
    assert ID_NUMBER not in text and "建国路" not in text and check not in text.replace(case_no, "")
    assert handover["body"]["check_code_hash"] == check_code_hash(check, case_no)

    mirrored = case_row(beijing, case_no)
    assert (mirrored.owning_office, mirrored.collecting_office, mirrored.status) == ("D110105-GA", "H140902", "collected")
    assert mirrored.check_code_sealed == "" and mirrored.check_code_hash == check_code_hash(check, case_no)
    # sealed at rest with 北京's own key, and found by 北京's own keyed hash
    sealer = Sealer("data-key-110000")
    assert sealer.open(mirrored.applicant_sealed)["id_number"] == ID_NUMBER
    assert mirrored.id_hash == sealer.lookup_hash(ID_NUMBER) != case_row(shanxi, case_no).id_hash

    # 山西's part of the route, then 北京's officer signs for the packet, accepts and decides
    shanxi.scan("clerk", tn, "dispatched", "2026-03-02T10:00:00+08:00")
    shanxi.scan("courier", tn, "arrived_hub", "2026-03-02T16:00:00+08:00", "P140900")
    pump(shanxi, beijing)
    frozen.set("2026-03-04T09:00:00+08:00")
    beijing.scan("officer", tn, "received", "2026-03-04T09:00:00+08:00")
    assert beijing.post(f"/api/v1/cases/{case_no}/accept", as_="officer").status_code == 200
    frozen.set("2026-03-05T09:00:00+08:00")
    r = beijing.post(f"/api/v1/cases/{case_no}/decision", {"outcome": "approved", "note": "准予"}, as_="officer")
    assert r.status_code == 200, r.json
    result_tn = r.json["result_packet"]["tracking_no"]
    beijing.scan("officer", result_tn, "dispatched", "2026-03-05T10:00:00+08:00")
    pump(shanxi, beijing)
    assert case_row(shanxi, case_no).status == "result_in_transit"
    assert case_row(shanxi, case_no).accepted_at is not None
    # the result comes home on 山西's side of the network
    frozen.set("2026-03-06T09:00:00+08:00")
    shanxi.scan("courier", result_tn, "out_for_delivery", "2026-03-06T08:00:00+08:00", "P140100")
    shanxi.scan("courier", result_tn, "delivered", "2026-03-06T10:00:00+08:00", signer={"relation": "self"})
    pump(shanxi, beijing)

    assert case_row(shanxi, case_no).status == case_row(beijing, case_no).status == "delivered"
    assert events(shanxi, case_no) == events(beijing, case_no)
    assert [e[0] for e in events(beijing, case_no)] == ["collected", "in_transit", "received", "accepted", "decided",
                                                         "result_in_transit", "delivered"]
    # the applicant tracks on either node with the same check code and reads the same steps
    on_shanxi, on_beijing = timeline(shanxi, case_no, check), timeline(beijing, case_no, check)
    assert on_shanxi["events"] == on_beijing["events"]
    assert on_beijing["status"] == "delivered"
    assert beijing.get(f"/api/v1/track/{case_no}?check=000000" if check != "000000" else
                       f"/api/v1/track/{case_no}?check=111111").status_code == 404
    # nothing echoed back: each node's events went out once, each message applied once
    for node in nodes:
        with node.session() as s:
            assert all(m.status == "applied" for m in s.exec(select(InboundMessage)))
            assert not s.exec(select(outbox.OutboxMessage).where(outbox.OutboxMessage.status != "sent")).all()


def _queued(node):
    with node.session() as s:
        return [m.payload for m in s.exec(select(outbox.OutboxMessage).order_by(outbox.OutboxMessage.id))]


def _post(node, message, signing):
    r = node.client.post("/api/v1/federation/messages", data=json.dumps(envelope.restamp(message, signing)),
                         content_type="application/json")
    return r.status_code, r.get_json()


def test_messages_reordered_or_repeated_apply_once_in_order(nodes):
    shanxi, beijing = nodes
    case = collect(shanxi)
    shanxi.scan("clerk", case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00")
    first, second = _queued(shanxi)
    signing = NodeKeys.from_settings(shanxi.settings).signing
    assert _post(beijing, second, signing)[0] == 202  # ahead of the handover: held
    status, answer = _post(beijing, first, signing)
    assert status == 200 and answer["result"]["case_no"] == case["case_no"]
    assert case_row(beijing, case["case_no"]).status == "in_transit"
    assert _post(beijing, second, signing)[0] == 200  # a repeat: the applied answer again
    assert [e[0] for e in events(beijing, case["case_no"])] == ["collected", "in_transit"]


def test_a_peer_cannot_act_on_a_stage_it_does_not_own(nodes):
    shanxi, beijing = nodes
    case = collect(shanxi)
    pump(shanxi, beijing)
    keys = NodeKeys.from_settings(shanxi.settings)
    state = {"case_no": case["case_no"], "status": "accepted"}
    item = {"kind": "case", "type": "accepted", "status_after": "accepted", "at": clock.iso(clock.now()),
            "recorded_at": clock.iso(clock.now()), "actor": "clerk", "role": "clerk"}
    for office in ("D110105-GA", None):  # 北京's office, or no office at all: 受理 is 北京's stage
        message = envelope.build(keys, to="110000", type="case.events", case_ref=case["case_no"], seq=2,
                                 body={"case": state, "packets": [], "events": [{**item, "office_code": office}]})
        r = beijing.client.post("/api/v1/federation/messages", json=message)
        assert (r.status_code, r.json["error"]["code"]) == (403, "not_a_party"), r.json
    assert case_row(beijing, case["case_no"]).status == "collected"


def test_each_node_sweeps_only_the_stages_of_its_own_offices_and_tells_the_other(nodes, frozen):
    shanxi, beijing = nodes
    case = collect(shanxi)
    case_no = case["case_no"]
    shanxi.scan("clerk", case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00")  # on time
    pump(shanxi, beijing)
    frozen.set("2026-03-20T09:00:00+08:00")  # never signed for in 北京: its receipt stage is late
    for node in (shanxi, beijing):
        swept = node.app.test_cli_runner().invoke(args=["sweep", "--as-of", "2026-03-20"])
        assert swept.exit_code == 0, swept.output
    pump(shanxi, beijing)  # every message accepted: neither node spoke for the other's office

    def marks(node):
        return [(office, actor) for type_, _, _, office, actor in events(node, case_no) if type_ == "stage_overdue"]
    assert marks(beijing) == [("D110105-GA", "system")]  # marked where the office is, once
    assert marks(shanxi) == marks(beijing)  # and told to the collecting side
    assert events(shanxi, case_no) == events(beijing, case_no)


def test_each_node_reports_the_shared_case_to_its_own_platform_and_only_the_collecting_one_to_the_national_zone(
        nodes, frozen):
    shanxi, beijing = nodes
    for node in (shanxi, beijing):
        node.settings.platform_cases_url = f"http://platform-{node.settings.node}.test/cases"
        node.settings.platform_cross_province_url = "http://zone.test/cross-province"
        node.settings.platform_secret = "platform-secret"
    case = collect(shanxi)
    case_no = case["case_no"]
    pump(shanxi, beijing)
    shanxi.scan("clerk", case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00")
    pump(shanxi, beijing)
    frozen.set("2026-03-04T09:00:00+08:00")
    beijing.scan("officer", case["tracking_no"], "received", "2026-03-04T09:00:00+08:00")
    assert beijing.post(f"/api/v1/cases/{case_no}/accept", as_="officer").status_code == 200
    pump(shanxi, beijing)

    def reported(node):
        with node.session() as s:
            rows = s.exec(select(outbox.OutboxMessage).where(outbox.OutboxMessage.destination_kind == "platform")
                          .order_by(outbox.OutboxMessage.id)).all()
            return [(m.destination, m.payload["status"]) for m in rows if m.payload["case_no"] == case_no]
    statuses = ["collected", "in_transit", "received", "accepted"]
    # each province's platform hears of every change, whichever side made it
    assert [s for d, s in reported(shanxi) if d == "cases"] == statuses
    assert [s for d, s in reported(beijing) if d == "cases"] == statuses
    # the national zone hears of it once: from the node that collected it
    assert [s for d, s in reported(shanxi) if d == "cross_province"] == statuses
    assert [d for d, _ in reported(beijing) if d == "cross_province"] == []


def test_a_bad_rating_made_on_one_node_is_followed_up_by_the_owning_office_on_the_other(nodes, frozen):
    shanxi, beijing = nodes
    case = collect(shanxi)
    case_no, check, tn = case["case_no"], case["check_code"], case["tracking_no"]
    shanxi.scan("clerk", tn, "dispatched", "2026-03-02T10:00:00+08:00")
    pump(shanxi, beijing)
    frozen.set("2026-03-04T09:00:00+08:00")
    beijing.scan("officer", tn, "received", "2026-03-04T09:00:00+08:00")
    assert beijing.post(f"/api/v1/cases/{case_no}/accept", as_="officer").status_code == 200
    result = beijing.post(f"/api/v1/cases/{case_no}/decision", {"outcome": "approved", "note": "准予"},
                          as_="officer").json["result_packet"]["tracking_no"]
    beijing.scan("officer", result, "dispatched", "2026-03-04T10:00:00+08:00")
    pump(shanxi, beijing)
    frozen.set("2026-03-05T12:00:00+08:00")
    shanxi.scan("courier", result, "out_for_delivery", "2026-03-05T08:00:00+08:00", "P140100")
    shanxi.scan("courier", result, "delivered", "2026-03-05T10:00:00+08:00", signer={"relation": "self"})
    pump(shanxi, beijing)

    # rated on 山西's tracking page, about 北京's handling: the follow-up is 北京's office's
    r = shanxi.post(f"/api/v1/track/{case_no}/evaluation",
                    {"check": check, "score": 1, "comment": "办理太慢", "stage": "office"})
    assert r.status_code == 201, r.json
    pump(shanxi, beijing)
    with beijing.session() as s:
        rating = s.exec(select(Evaluation).join(Case).where(Case.case_no == case_no)).one()
        assert (rating.score, rating.comment, rating.follow_up_office, rating.follow_up_status) == \
            (1, "办理太慢", "D110105-GA", "open")
    frozen.set("2026-03-09T10:00:00+08:00")
    r = beijing.post(f"/api/v1/cases/{case_no}/follow-up",
                     {"note": "已核实办理环节延误原因并整改，电话回访申请人。", "visit_method": "phone",
                      "visit_answer": "满意"}, as_="officer")
    assert r.status_code == 200, r.json
    pump(shanxi, beijing)
    with shanxi.session() as s:
        rating = s.exec(select(Evaluation).join(Case).where(Case.case_no == case_no)).one()
        assert (rating.follow_up_status, rating.visit_method, rating.followed_up_by) == ("done", "phone", "officer")
    # the applicant reads the answer on either node
    for node in (shanxi, beijing):
        answer = timeline(node, case_no, check)["evaluation"]["follow_up"]
        assert (answer["status"], answer["note"]) == ("done", "已核实办理环节延误原因并整改，电话回访申请人。")
    assert events(shanxi, case_no) == events(beijing, case_no)
    assert case_row(shanxi, case_no).status == case_row(beijing, case_no).status
