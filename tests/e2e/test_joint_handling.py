"""多地联办 (issue 18) over HTTP: one acceptance at a 太原 hall, a household move from 忻州 approved by 太原,
moved out by 忻州 (the 迁移证 as a file, the 户籍档案 as a packet), registered by 太原, one result to the
applicant; a refusal at the middle step ends the case and sends the originals back; a pension transfer whose
two offices work side by side. Runs on SQLite and on PostgreSQL (TONGBAN_DATABASE_URL)."""
from __future__ import annotations

import base64

import pytest
from sqlmodel import select

from mailing.tables import Packet
from tests.e2e.steps import PDF, assert_error, case_of, count, record, rows, track
from tests.helpers import intake_body, person, resident_id
from tests.pdfs import code128, text as pdf_text
from tracking.model.tables import AccessLog, CaseStep, Notification

MOVE_MATERIALS = [{"code": "application_form", "copies": 1, "original": True},
                  {"code": "id_card", "copies": 1, "original": False},
                  {"code": "hukou_book", "copies": 1, "original": True},  # the 户口簿 itself, for the 落户
                  {"code": "spouse_hukou_book", "copies": 1, "original": False},
                  {"code": "marriage_cert", "copies": 1, "original": False}]


def move_body(**overrides) -> dict:
    """户口迁移（投靠配偶）: 张晓明, registered in 忻府区, moves to his spouse in 小店区; taken at 小店区's hall."""
    body = intake_body(matter_code="GA-HKQY-01",
                       applicant=person(id_number=resident_id("14090219900307123"), division_code="140902",
                                        address="忻州市忻府区和平街5号"),
                       subject={"division_code": "140105", "description": "投靠配偶：太原市小店区平阳路12号"},
                       materials=MOVE_MATERIALS,
                       result_delivery={"method": "mail", "address": "太原市小店区平阳路12号3单元502室",
                                        "division_code": "140105"})
    body.update(overrides)
    return body


@pytest.fixture
def offices(api):
    """The 太原 hall's clerk, 小店区 police (迁入地), 忻府区 police (迁出地), a courier."""
    api.user("clerk_ty", "clerk", "H140105")
    api.user("officer", "officer", "D140105-GA")
    api.user("officer_xz", "officer", "D140902-GA")
    api.user("courier", "courier")
    return api


def _file(name: str) -> dict:
    return {"code": name, "filename": f"{name}.pdf", "data": base64.b64encode(PDF).decode()}


def _steps(api, case_no: str, as_: str = "officer") -> dict:
    return {s["code"]: s for s in case_of(api, case_no, as_=as_)["steps"]}


def accepted_move(api, frozen) -> dict:
    """Collected on Monday 2 March, received and accepted by 小店区 police on the 3rd."""
    r = api.post("/api/v1/cases", move_body(), as_="clerk_ty")
    assert r.status_code == 201, r.get_json()
    case = r.json
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk_ty")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    frozen.set("2026-03-03T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer")
    assert r.status_code == 200, r.get_json()
    return case


def approved_move(api, frozen) -> dict:
    case = accepted_move(api, frozen)
    frozen.set("2026-03-04T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/steps/approve/completion",
                 {"files": [_file("move_permit")], "note": "符合投靠配偶迁入条件"}, as_="officer")
    assert r.status_code == 201, r.get_json()
    return case


def test_a_household_move_from_xinzhou_is_taken_in_taiyuan_and_handled_by_both_offices(offices, frozen, db):
    api = offices
    r = api.post("/api/v1/cases", move_body(), as_="clerk_ty")
    assert r.status_code == 201, r.get_json()
    case = r.json
    # the materials go to the first step's office, the 迁入地 (the hall's own county: it may own a step)
    assert case["owning_office"]["code"] == "D140105-GA"
    steps = _steps(api, case["case_no"], as_="clerk_ty")
    assert [(s["place"], s["office"]["code"], s["status"]) for s in steps.values()] == [
        ("迁入地", "D140105-GA", "waiting"), ("迁出地", "D140902-GA", "waiting"), ("迁入地", "D140105-GA", "waiting")]
    # one receipt listing the steps
    receipt = api.get(case["receipt_url"], as_="clerk_ty")
    text = pdf_text(receipt.data)
    assert "准予迁入审批" in text and "办理迁出登记" in text and "忻州市公安局忻府分局户政科" in text

    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk_ty")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    frozen.set("2026-03-03T10:00:00+08:00")
    accepted = api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer").json
    # the promise runs along the whole chain: 5 + 3 + 2 working days from the acceptance
    assert accepted["due_date"] == "2026-03-17"
    steps = _steps(api, case["case_no"])
    assert steps["approve"]["status"] == "accepted" and steps["approve"]["due"] == "2026-03-10"
    # the last office cannot decide before the steps before it are done
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "approved"}, as_="officer"),
                 409, "steps_pending")
    # 忻州 cannot act on a step it does not own, nor on its own before it starts
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/steps/approve/completion", {"files": []},
                          as_="officer_xz"), 403, "forbidden")
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/steps/move_out/accept", as_="officer_xz"),
                 409, "invalid_transition")
    # a step's document is required
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/steps/approve/completion", {"files": []},
                          as_="officer"), 422, "missing_step_output")

    frozen.set("2026-03-04T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/steps/approve/completion",
                 {"files": [_file("move_permit")], "note": "符合投靠配偶迁入条件"}, as_="officer")
    assert r.status_code == 201, r.get_json()
    assert r.json["step"]["status"] == "done" and r.json["transfer_packets"] == []
    # the case now waits on 忻州, which sees it, its files and who read them
    detail = case_of(api, case["case_no"], as_="officer_xz")
    assert detail["owning_office"]["code"] == "D140902-GA"
    moving_out = {s["code"]: s for s in detail["steps"]}["move_out"]
    assert moving_out["status"] == "received" and moving_out["due"] == "2026-03-09"
    permit = next(o for o in {s["code"]: s for s in detail["steps"]}["approve"]["outputs"] if o["code"] == "move_permit")
    opened = api.get(f"/api/v1/files/{permit['file_id']}", as_="officer_xz")
    assert opened.status_code == 200 and opened.data.startswith(b"%PDF")
    assert count(db, AccessLog, AccessLog.what == f"file:{permit['file_id']}", AccessLog.username == "officer_xz") == 1
    assert "联办" in rows(db, select(Notification.text).where(Notification.office_code == "D140902-GA"))[-1]

    assert api.post(f"/api/v1/cases/{case['case_no']}/steps/move_out/accept", as_="officer_xz").status_code == 200
    frozen.set("2026-03-05T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/steps/move_out/completion",
                 {"files": [_file("migration_cert")], "note": "已开具迁移证"}, as_="officer_xz")
    assert r.status_code == 201, r.get_json()
    # the 户籍档案 goes as paper: a packet from 忻府区 police to 小店区 police, with its label
    (archive,) = r.json["transfer_packets"]
    assert archive["kind"] == "transfer"
    packet = rows(db, select(Packet).where(Packet.tracking_no == archive["tracking_no"]))[0]
    assert (packet.from_office, packet.to_office) == ("D140902-GA", "D140105-GA")
    assert [c["code"] for c in packet.contents] == ["hukou_archive"]
    label = api.get(archive["label_url"], as_="officer_xz")
    assert label.status_code == 200 and archive["tracking_no"] in code128(label.data)  # a scanner reads it
    assert _steps(api, case["case_no"])["settle"]["status"] == "awaiting"

    record(api, archive["tracking_no"], "dispatched", "2026-03-05T11:00:00+08:00", as_="officer_xz")
    record(api, archive["tracking_no"], "received", "2026-03-06T09:00:00+08:00", as_="officer")
    settle = _steps(api, case["case_no"])["settle"]
    assert settle["status"] == "received" and settle["due"] == "2026-03-10"
    frozen.set("2026-03-06T10:00:00+08:00")
    assert api.post(f"/api/v1/cases/{case['case_no']}/steps/settle/accept", as_="officer").status_code == 200
    r = api.post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "approved", "note": "已落户"}, as_="officer")
    assert r.status_code == 200, r.get_json()
    result = r.json["result_packet"]["tracking_no"]
    assert all(s["status"] == "done" for s in _steps(api, case["case_no"]).values())
    record(api, result, "dispatched", "2026-03-06T15:00:00+08:00", as_="officer")
    record(api, result, "delivered", "2026-03-08T11:00:00+08:00", as_="courier")

    # the applicant: one number, one check code, one timeline naming each step and office
    view = track(api, case["case_no"], case["check_code"]).json
    assert view["status"] == "delivered"
    texts = [e["text"] for e in view["events"]]
    assert "迁入地 太原市公安局小店分局户政科：已准予迁入，准予迁入证明已电子传递至迁出地" in texts
    assert "迁出地 忻州市公安局忻府分局户政科：已开具户口迁移证，户籍档案已寄往迁入地" in texts
    assert any(t.startswith("迁入地 太原市公安局小店分局户政科：落户登记，已办结") for t in texts)
    assert [(s["place"], s["office"]["name"], s["status"]) for s in view["steps"]][1] == (
        "迁出地", "忻州市公安局忻府分局户政科", "done")
    assert "outputs" not in view["steps"][0]  # no file of a step is public
    assert rows(db, select(CaseStep.status).where(CaseStep.code == "settle")) == ["done"]


def test_a_refusal_at_the_middle_step_ends_the_case_and_sends_the_originals_back(offices, frozen, db):
    api = offices
    case = approved_move(api, frozen)
    assert api.post(f"/api/v1/cases/{case['case_no']}/steps/move_out/accept", as_="officer_xz").status_code == 200
    r = api.post(f"/api/v1/cases/{case['case_no']}/steps/move_out/refusal", {"reason": "申请人户籍信息与户口簿不符"},
                 as_="officer_xz")
    assert r.status_code == 200, r.get_json()
    assert r.json["status"] == "rejected" and r.json["reason"] == "申请人户籍信息与户口簿不符"
    back = r.json["return_packet"]
    packet = rows(db, select(Packet).where(Packet.tracking_no == back["tracking_no"]))[0]
    # the originals go back from the office that holds them (太原, the first step), to the applicant
    assert packet.kind == "return" and packet.from_office == "D140105-GA"
    assert [c["code"] for c in packet.contents] == ["hukou_book"]
    steps = _steps(api, case["case_no"])
    assert (steps["move_out"]["status"], steps["settle"]["status"]) == ("refused", "stopped")
    view = track(api, case["case_no"], case["check_code"]).json
    assert view["refusal"]["reason"] == "申请人户籍信息与户口簿不符"
    assert "行政复议" in view["refusal"]["remedies"]
    assert any(e["text"].startswith("迁出地 忻州市公安局忻府分局户政科：不予行政许可") for e in view["events"])
    # nothing more happens to an ended case
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/steps/settle/accept", as_="officer"),
                 409, "invalid_transition")


def test_a_move_within_one_county_stays_with_one_office(offices, frozen, db):
    """户籍地 and 迁入地 in 小店区: one office does every step, so the case has none (as before)."""
    api = offices
    api.user("clerk", "clerk", "H140902")
    body = move_body(applicant=person(division_code="140105"))
    r = api.post("/api/v1/cases", body, as_="clerk")
    assert r.status_code == 201, r.get_json()
    assert case_of(api, r.json["case_no"])["steps"] == []


def test_a_joint_case_needs_the_divisions_its_steps_are_chosen_by(offices):
    api = offices
    body = move_body(applicant=person(division_code=None))
    assert_error(api.post("/api/v1/cases", body, as_="clerk_ty"), 422, "no_owning_office")


def test_a_pension_transfer_runs_with_two_offices_side_by_side(api, frozen, db):
    """养老保险关系转移接续 from 忻州 to 太原, taken at 小店区's hall: 太原 reviews while 忻州 issues the record;
    太原 continues it when both are done and 忻州's file has arrived."""
    api.user("clerk_ty", "clerk", "H140105")
    api.user("officer_ty", "officer", "D140100-RS")
    api.user("officer_xz", "officer", "D140900-RS")
    body = intake_body(matter_code="RS-YLZY-01", applicant=person(division_code="140105"),
                       subject={"division_code": "140105", "origin_division_code": "140902",
                                "description": "由忻州转入太原"},
                       materials=[{"code": "application_form", "copies": 1, "original": True},
                                  {"code": "id_card", "copies": 1, "original": False}],
                       result_delivery={"method": "electronic"})
    r = api.post("/api/v1/cases", body, as_="clerk_ty")
    assert r.status_code == 201, r.get_json()
    case = r.json
    assert case["owning_office"]["code"] == "D140100-RS"
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk_ty")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer_ty")
    frozen.set("2026-03-03T10:00:00+08:00")
    assert api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer_ty").status_code == 200
    steps = _steps(api, case["case_no"], as_="officer_ty")
    # both run from the acceptance, each at its own office
    assert (steps["review"]["status"], steps["certificate"]["status"], steps["continue"]["status"]) == (
        "accepted", "received", "waiting")
    assert steps["certificate"]["office"]["code"] == "D140900-RS"
    assert case_of(api, case["case_no"], as_="officer_xz")["case_no"] == case["case_no"]
    # the promise: the longer of the two (15) and then 15: 30 working days
    assert case_of(api, case["case_no"], as_="officer_ty")["due_date"] == "2026-04-15"

    assert api.post(f"/api/v1/cases/{case['case_no']}/steps/certificate/accept", as_="officer_xz").status_code == 200
    r = api.post(f"/api/v1/cases/{case['case_no']}/steps/certificate/completion",
                 {"files": [_file("contribution_record")]}, as_="officer_xz")
    assert r.status_code == 201, r.get_json()
    (insurance_file,) = r.json["transfer_packets"]
    # continue waits for the review too
    assert _steps(api, case["case_no"], as_="officer_ty")["continue"]["status"] == "waiting"
    r = api.post(f"/api/v1/cases/{case['case_no']}/steps/review/completion",
                 {"files": [_file("acceptance_letter")]}, as_="officer_ty")
    assert r.status_code == 201, r.get_json()
    assert _steps(api, case["case_no"], as_="officer_ty")["continue"]["status"] == "awaiting"
    record(api, insurance_file["tracking_no"], "dispatched", "2026-03-04T10:00:00+08:00", as_="officer_xz")
    record(api, insurance_file["tracking_no"], "received", "2026-03-05T10:00:00+08:00", as_="officer_ty")
    assert _steps(api, case["case_no"], as_="officer_ty")["continue"]["status"] == "received"
    assert api.post(f"/api/v1/cases/{case['case_no']}/steps/continue/accept", as_="officer_ty").status_code == 200
    r = api.post(f"/api/v1/cases/{case['case_no']}/decision",
                 {"outcome": "approved", "result_file": base64.b64encode(PDF).decode()}, as_="officer_ty")
    assert r.status_code == 200, r.get_json()
    assert r.json["delivery_url"]


def test_the_statistics_count_joint_cases_by_matter_and_by_pair_of_offices(offices, pages, frozen, db):
    import csv
    import io
    api = offices
    approved_move(api, frozen)
    api.user("supervisor", "supervisor")
    pages.login("supervisor")

    def exported(table: str) -> list[list[str]]:
        r = pages.get(f"/supervise/stats?since=2026-03-01&until=2026-03-06&format=csv&table={table}", as_="supervisor")
        assert r.status_code == 200, r.text
        return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))

    assert exported("joint_matter") == [["事项", "事项编码", "收件量"], ["户口迁移（投靠配偶）", "GA-HKQY-01", "1"]]
    assert exported("joint_pairs") == [["交出单位", "接续单位", "办件数"],
                                       ["太原市公安局小店分局户政科", "忻州市公安局忻府分局户政科", "1"],
                                       ["忻州市公安局忻府分局户政科", "太原市公安局小店分局户政科", "1"]]
    page = pages.get("/supervise/stats?since=2026-03-01&until=2026-03-06", as_="supervisor").text
    assert 'id="joint"' in page and "多地联办收件量（按事项）" in page


def test_a_step_asks_once_for_a_supplement_and_its_clock_waits_for_the_applicant(offices, frozen, db):
    api = offices
    case = approved_move(api, frozen)  # accepted 3 March, the promise 17 March; 忻州's step due 9 March
    assert api.post(f"/api/v1/cases/{case['case_no']}/steps/move_out/accept", as_="officer_xz").status_code == 200
    r = api.post(f"/api/v1/cases/{case['case_no']}/steps/move_out/supplement-request",
                 {"materials": ["residence_proof"], "note": "请补交合法稳定住所证明"}, as_="officer_xz")
    assert r.status_code == 200, r.get_json()
    assert r.json["step"]["status"] == "supplement"
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/steps/move_out/supplement-request",
                          {"materials": ["id_card"]}, as_="officer_xz"), 409, "invalid_transition")
    texts = rows(db, select(Notification.text).where(Notification.audience == "applicant"))
    assert any("迁出地（忻州市公安局忻府分局户政科）环节需补正材料：合法稳定住所证明" in t for t in texts), texts
    # the applicant brings it to the hall in 太原, which sends it to 忻州 (not to the first office)
    frozen.set("2026-03-09T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/supplements",
                 {"materials": [{"code": "residence_proof", "copies": 1, "original": False}]}, as_="clerk_ty")
    assert r.status_code == 201, r.get_json()
    sent = rows(db, select(Packet).where(Packet.tracking_no == r.json["tracking_no"]))[0]
    assert (sent.kind, sent.from_office, sent.to_office) == ("supplement", "H140105", "D140902-GA")
    record(api, sent.tracking_no, "dispatched", "2026-03-09T11:00:00+08:00", as_="clerk_ty")
    record(api, sent.tracking_no, "received", "2026-03-10T09:00:00+08:00", as_="officer_xz")
    step = _steps(api, case["case_no"], as_="officer_xz")["move_out"]
    # asked on the 4th, received on the 10th: four working days the applicant took, not the office
    assert step["status"] == "accepted" and step["due"] == "2026-03-13"
    assert case_of(api, case["case_no"], as_="officer_xz")["due_date"] == "2026-03-23"
    view = track(api, case["case_no"], case["check_code"]).json
    assert "迁出地 忻州市公安局忻府分局户政科：已收到补正材料，继续办理" in [e["text"] for e in view["events"]]


def test_a_withdrawal_stops_the_steps_still_to_do(offices, frozen, db):
    api = offices
    case = approved_move(api, frozen)
    r = api.post(f"/api/v1/cases/{case['case_no']}/withdraw", {"reason": "申请人决定暂不迁移"}, as_="clerk_ty")
    assert r.status_code == 200, r.get_json()
    steps = _steps(api, case["case_no"])
    assert [s["status"] for s in steps.values()] == ["done", "stopped", "stopped"]
    assert case_of(api, case["case_no"])["steps"][1]["office"]["code"] == "D140902-GA"
