"""多地联办 across two installations (issue 18, the cross-province variant), as real processes with their own
databases (SQLite files, or fresh PostgreSQL databases when the suite runs on PostgreSQL): a household move
from 北京市朝阳区 to 太原市小店区, taken at 小店区's hall (node 山西). 太原 approves and its 准予迁入证明 goes to
北京 as a file inside the message; 北京 (node 北京) moves the household out, its 户口迁移证 comes back as a file
and the 户籍档案 as a transfer packet across the gateways; 太原 registers the move and decides the case. Every
message goes through the outboxes and `federation send`, over HTTP."""
from __future__ import annotations

import base64
import urllib.request

import pytest
from sqlmodel import select

from mailing.tables import Packet
from tests.e2e.steps import PDF
from tests.e2e.test_federation_case_processes import call, scan, send, sign_in
from tests.helpers import intake_body, person, resident_id
from tests.nodes import OWN_RANGES, two_nodes
from tracking.model.tables import AccessLog, CaseFile, CaseStep

APPLICANT = person(id_number=resident_id("11010519900307123"), division_code="110105", address="北京市朝阳区建国路1号")
MATERIALS = [{"code": "application_form", "copies": 1, "original": True},
             {"code": "id_card", "copies": 1, "original": False},
             {"code": "hukou_book", "copies": 1, "original": True},
             {"code": "spouse_hukou_book", "copies": 1, "original": False},
             {"code": "marriage_cert", "copies": 1, "original": False}]


def move_body() -> dict:
    return intake_body(matter_code="GA-HKQY-01", applicant=APPLICANT, materials=MATERIALS,
                       subject={"division_code": "140105", "description": "投靠配偶：太原市小店区平阳路12号"})


def _file(name: str) -> dict:
    return {"code": name, "filename": f"{name}.pdf", "data": base64.b64encode(PDF).decode()}


def steps_at(node, token: str, case_no: str) -> dict:
    status, case = call(node, "GET", f"/api/v1/cases/{case_no}", token=token)
    assert status == 200, case
    return {s["code"]: s for s in case["steps"]}


def opened(node, token: str, file_id: int) -> bytes:
    request = urllib.request.Request(f"{node.base_url}/api/v1/files/{file_id}",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=20) as answer:
        assert answer.status == 200
        return answer.read()


@pytest.fixture(scope="module")
def pair(database_url, tmp_path_factory):
    with two_nodes(database_url, tmp_path_factory.mktemp("joint-nodes"), node_env=OWN_RANGES) as made:
        yield made


def test_a_household_move_from_beijing_is_handled_by_both_installations(pair):
    shanxi, beijing = pair
    clerk = sign_in(shanxi, "xiaodian-clerk", "clerk", "H140105", "王敏")
    officer_ty = sign_in(shanxi, "xiaodian-officer", "officer", "D140105-GA", "李强")
    courier = sign_in(shanxi, "taiyuan-courier", "courier", None, "赵师傅")
    officer_bj = sign_in(beijing, "chaoyang-officer", "officer", "D110105-GA", "刘洋")

    status, case = call(shanxi, "POST", "/api/v1/cases", move_body(), clerk)
    assert status == 201, case
    no, check, outbound = case["case_no"], case["check_code"], case["tracking_no"]
    assert case["owning_office"]["code"] == "D140105-GA"  # the first step, at 太原
    # 北京 holds the case from the start (handed over with its steps), though 太原 answers for it now
    send(shanxi, beijing)
    steps = steps_at(beijing, officer_bj, no)
    assert [(s["office"]["code"], s["status"]) for s in steps.values()] == [
        ("D140105-GA", "waiting"), ("D110105-GA", "waiting"), ("D140105-GA", "waiting")]

    scan(shanxi, clerk, outbound, "dispatched")
    scan(shanxi, officer_ty, outbound, "received")
    assert call(shanxi, "POST", f"/api/v1/cases/{no}/accept", token=officer_ty)[0] == 200
    status, done = call(shanxi, "POST", f"/api/v1/cases/{no}/steps/approve/completion",
                        {"files": [_file("move_permit")], "note": "符合投靠配偶迁入条件"}, officer_ty)
    assert status == 201, done
    send(shanxi, beijing)

    # 北京 now answers for the case and opens 太原's 准予迁入证明 from its own store, logged
    status, there = call(beijing, "GET", f"/api/v1/cases/{no}", token=officer_bj)
    assert status == 200 and there["owning_office"]["code"] == "D110105-GA", there
    steps = {s["code"]: s for s in there["steps"]}
    assert (steps["approve"]["status"], steps["move_out"]["status"]) == ("done", "received")
    (permit,) = [o for o in steps["approve"]["outputs"] if o["code"] == "move_permit"]
    assert opened(beijing, officer_bj, permit["file_id"]).startswith(b"%PDF")
    with beijing.session() as session:
        assert session.exec(select(CaseFile.office_code).where(CaseFile.id == permit["file_id"])).one() == "D140105-GA"
        assert session.exec(select(AccessLog.id).where(AccessLog.what == f"file:{permit['file_id']}",
                                                       AccessLog.username == "chaoyang-officer")).all()

    assert call(beijing, "POST", f"/api/v1/cases/{no}/steps/move_out/accept", token=officer_bj)[0] == 200
    status, done = call(beijing, "POST", f"/api/v1/cases/{no}/steps/move_out/completion",
                        {"files": [_file("migration_cert")], "note": "已开具迁移证"}, officer_bj)
    assert status == 201, done
    (archive,) = done["transfer_packets"]
    archive_no = archive["tracking_no"]
    assert "EN" <= archive_no[:2] <= "EZ"  # numbered from 北京's own range
    scan(beijing, officer_bj, archive_no, "dispatched")
    send(shanxi, beijing)

    # 太原 sees the step done, 北京's 户口迁移证 as its own file, and waits for the archive
    steps = steps_at(shanxi, officer_ty, no)
    assert (steps["move_out"]["status"], steps["settle"]["status"]) == ("done", "awaiting")
    (cert,) = [o for o in steps["move_out"]["outputs"] if o["code"] == "migration_cert"]
    assert opened(shanxi, officer_ty, cert["file_id"]).startswith(b"%PDF")
    scan(shanxi, officer_ty, archive_no, "received")
    steps = steps_at(shanxi, officer_ty, no)
    assert steps["settle"]["status"] == "received"
    assert call(shanxi, "POST", f"/api/v1/cases/{no}/steps/settle/accept", token=officer_ty)[0] == 200
    status, decided = call(shanxi, "POST", f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "已落户"},
                           officer_ty)
    assert status == 200, decided
    result = decided["result_packet"]["tracking_no"]
    scan(shanxi, officer_ty, result, "dispatched")
    scan(shanxi, courier, result, "out_for_delivery", "P140100")
    scan(shanxi, courier, result, "delivered", signer={"relation": "self"})
    send(shanxi, beijing)

    # both installations: every step done, the archive received at 太原, one story for the applicant
    for node, token in ((shanxi, officer_ty), (beijing, officer_bj)):
        assert {s["status"] for s in steps_at(node, token, no).values()} == {"done"}
        with node.session() as session:
            assert sorted(session.exec(select(CaseStep.status)).all()) == ["done"] * 3
        with node.session() as session:
            archived = session.exec(select(Packet).where(Packet.tracking_no == archive_no)).one()
            assert (archived.kind, archived.from_office, archived.to_office, archived.status) == (
                "transfer", "D110105-GA", "D140105-GA", "received")
    status, seen = call(beijing, "GET", f"/api/v1/cases/{no}", token=officer_bj)
    assert status == 200 and seen["status"] == "delivered", seen
    here = call(shanxi, "GET", f"/api/v1/track/{no}?check={check}")
    there = call(beijing, "GET", f"/api/v1/track/{no}?check={check}")
    assert here[0] == there[0] == 200, (here, there)
    assert here[1]["status"] == there[1]["status"] == "delivered"
    texts = [e["text"] for e in here[1]["events"]]
    assert "迁出地 北京市公安局朝阳分局户政科：已开具户口迁移证，户籍档案已寄往迁入地" in texts
    assert any(t.startswith("迁入地 太原市公安局小店分局户政科：落户登记，已办结") for t in texts)
    assert [e["text"] for e in there[1]["events"]] == texts

    for node, other in ((shanxi, beijing), (beijing, shanxi)):
        received = node.inbound(no)
        assert received and all(m.status == "applied" for m in received)
        assert [m.seq for m in received] == list(range(1, len(received) + 1))
        assert {status for status, _ in other.outbox().values()} == {"sent"}
