"""A cross-province case between two installations running as real processes, each with its own database
(SQLite files, or fresh PostgreSQL databases when the suite runs on PostgreSQL): collected at 忻州 (node
山西) for 北京市公安局朝阳分局 (node 北京), handed over, received, accepted and decided in 北京, the result
carried home and delivered in 山西 — every message through the outboxes and `federation send`, over HTTP."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from tests.helpers import PASSWORD, intake_body, person, resident_id
from tests.nodes import OWN_RANGES, two_nodes

BEIJING_TIME = timezone(timedelta(hours=8))
APPLICANT = person(id_number=resident_id("11010519491231002"), division_code="110105", address="北京市朝阳区建国路1号")


def call(node, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{node.base_url}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def sign_in(node, username: str, role: str, office: str | None, name: str) -> str:
    node.flask("users", "create", username, "--role", role, "--password", PASSWORD, "--name", name,
               *(["--office", office] if office else []))
    status, answer = call(node, "POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD})
    assert status == 200, answer
    return answer["token"]


def scan(node, token: str, tracking_no: str, type_: str, office: str | None = None, **extra) -> None:
    at = (datetime.now(BEIJING_TIME) - timedelta(seconds=1)).isoformat(timespec="seconds")
    status, answer = call(node, "POST", "/api/v1/scans", {"scans": [
        {"event_id": str(uuid.uuid4()), "tracking_no": tracking_no, "type": type_, "at": at, "office_code": office,
         **extra}]}, token)
    assert status == 200 and answer["results"][0]["status"] == "recorded", answer


def send(*nodes) -> None:
    """Each node's outbox sent by its own `federation send` process, until both are empty."""
    for _ in range(3):
        for node in nodes:
            node.flask("federation", "send")
        if not any(status == "pending" for node in nodes for status, _ in node.outbox().values()):
            return
    raise AssertionError({node.node_id: node.outbox() for node in nodes})


@pytest.fixture(scope="module")
def pair(database_url, tmp_path_factory):
    with two_nodes(database_url, tmp_path_factory.mktemp("case-nodes"), node_env=OWN_RANGES) as made:
        yield made


def test_a_cross_province_case_runs_end_to_end_between_two_installations(pair):
    shanxi, beijing = pair
    clerk = sign_in(shanxi, "xinfu-clerk", "clerk", "H140902", "王敏")
    courier = sign_in(shanxi, "taiyuan-courier", "courier", None, "赵师傅")
    officer = sign_in(beijing, "chaoyang-officer", "officer", "D110105-GA", "刘洋")

    status, case = call(shanxi, "POST", "/api/v1/cases", intake_body(applicant=APPLICANT), clerk)
    assert status == 201, case
    assert case["owning_office"]["code"] == "D110105-GA" and case["due_date_estimated"] is True
    no, check, outbound = case["case_no"], case["check_code"], case["tracking_no"]
    send(shanxi, beijing)
    status, mirrored = call(beijing, "GET", f"/api/v1/cases/{no}", token=officer)
    assert status == 200, mirrored
    assert mirrored["applicant"]["id_number"] == APPLICANT["id_number"]  # unsealed for the deciding office
    assert (mirrored["status"], mirrored["collecting_office"]["code"]) == ("collected", "H140902")

    scan(shanxi, clerk, outbound, "dispatched")
    send(shanxi, beijing)
    scan(beijing, officer, outbound, "received")
    assert call(beijing, "POST", f"/api/v1/cases/{no}/accept", token=officer)[0] == 200
    status, decided = call(beijing, "POST", f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "准予"},
                           officer)
    assert status == 200, decided
    result = decided["result_packet"]["tracking_no"]
    assert "EN" <= result[:2] <= "EZ"  # numbered from 北京's own range
    scan(beijing, officer, result, "dispatched")
    send(shanxi, beijing)
    status, seen = call(shanxi, "GET", f"/api/v1/cases/{no}", token=clerk)
    assert status == 200 and seen["status"] == "result_in_transit" and seen["due_date_estimated"] is False, seen

    scan(shanxi, courier, result, "out_for_delivery", "P140100")
    scan(shanxi, courier, result, "delivered", signer={"relation": "self"})
    send(shanxi, beijing)

    here = call(shanxi, "GET", f"/api/v1/track/{no}?check={check}")
    there = call(beijing, "GET", f"/api/v1/track/{no}?check={check}")
    assert here[0] == there[0] == 200, (here, there)
    assert here[1]["status"] == there[1]["status"] == "delivered"
    assert here[1]["events"] == there[1]["events"]  # the applicant reads one story on either side
    assert [e["type"] for e in there[1]["events"]][0] == "collected"
    wrong = "000000" if check != "000000" else "111111"
    assert call(beijing, "GET", f"/api/v1/track/{no}?check={wrong}")[0] == 404

    # each message applied once, in order, and nothing left waiting or dead on either side
    for node, other in ((shanxi, beijing), (beijing, shanxi)):
        received = node.inbound(no)
        assert received and all(m.status == "applied" for m in received)
        assert [m.seq for m in received] == list(range(1, len(received) + 1))
        assert {status for status, _ in other.outbox().values()} == {"sent"}
