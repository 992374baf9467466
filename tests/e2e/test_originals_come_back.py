"""Originals come back with the result (issue 13 §3): every original that reached the owning office goes
back after the decision, in the paper result's packet or in a return packet for an electronic result,
unless the office keeps it by rule; and a copy certified against its original at the window (核验原件)
travels instead of the original where the matter allows it."""
from __future__ import annotations

import base64

from sqlmodel import select

from tests import pdfs
from tests.e2e.steps import PDF, assert_error, case_of, collect, packet_of, record, rows, track
from tests.helpers import intake_body, scan
from tracking.model.tables import Case, CaseEvent, Notification

DIPLOMA = "GZ-XLGZ-01"  # 学历公证: decided by 太原市 notary office (the applicant's household city)


def diploma_body(materials=None, **overrides) -> dict:
    materials = materials if materials is not None else [
        {"code": "application_form", "copies": 1, "original": True},
        {"code": "id_card", "copies": 1, "original": False},
        {"code": "diploma", "copies": 1, "original": True},
        {"code": "degree_cert", "copies": 1, "original": True}]
    return intake_body(matter_code=DIPLOMA, materials=materials, **overrides)


def mortgage_body(**overrides) -> dict:
    """不动产抵押登记 of a flat in 小店区, decided by its registration office, result electronic."""
    return intake_body(matter_code="BDC-DYDJ-01", subject={"division_code": "140105", "description": "平阳路12号"},
                       materials=[{"code": "application_form", "copies": 1, "original": True},
                                  {"code": "id_card", "copies": 1, "original": False},
                                  {"code": "property_cert", "copies": 1, "original": True},
                                  {"code": "main_debt_contract", "copies": 1, "original": True},
                                  {"code": "mortgage_contract", "copies": 1, "original": True}],
                       result_delivery={"method": "electronic"}, **overrides)


def accepted_at(api, body: dict, officer: str, contents: list | None = None) -> dict:
    """Collected on 2 March, signed for by `officer`'s office on 3 March (with a contents check if
    given), accepted."""
    case = collect(api, body)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    extra = {"contents": contents} if contents is not None else {}
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_=officer, **extra)
    r = api.post(f"/api/v1/cases/{case['case_no']}/accept", as_=officer)
    assert r.status_code == 200, r.get_json()
    return case


def test_a_paper_result_brings_back_every_original_the_office_does_not_keep(staff, pages, frozen, db):
    api = staff
    api.user("notary", "officer", "D140100-GZ")
    case = accepted_at(api, diploma_body(result_delivery={"method": "pickup"}), "notary")
    no = case["case_no"]

    frozen.set("2026-03-04T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "出具公证书"}, as_="notary")
    assert r.status_code == 200, r.get_json()
    # the diploma and degree certificate go back; the application form is the notary's record
    assert r.json["originals_returned"] == [{"code": "diploma", "name": "毕业证书", "copies": 1},
                                            {"code": "degree_cert", "name": "学位证书", "copies": 1}]
    assert "return_packet" not in r.json
    tn = r.json["result_packet"]["tracking_no"]
    packet = packet_of(api, tn, as_="notary")
    assert [(m["code"], m["original"], m.get("returned", False)) for m in packet["contents"]] == [
        ("result", True, False), ("diploma", True, True), ("degree_cert", True, True)]
    label = api.get(f"/api/v1/packets/{tn}/label.pdf", as_="notary")
    assert "内件：政务服务材料 3 件" in pdfs.text(label.data)

    events = rows(db, select(CaseEvent).where(CaseEvent.type == "decided"))
    assert events[0].data["originals_returned"] == [{"code": "diploma", "name": "毕业证书"},
                                                    {"code": "degree_cert", "name": "学位证书"}]
    notices = [n.text for n in rows(db, select(Notification).where(Notification.audience == "applicant"))]
    assert any("原件（毕业证书、学位证书）随结果一并退还" in t for t in notices), notices
    public = track(api, no, case["check_code"]).json
    assert "已办结：准予。原件（毕业证书、学位证书）退还申请人，随办理结果一并送达" in \
        [e["text"] for e in public["events"]]

    # at the window the clerk hands over the result and, item by item, the originals
    record(api, tn, "dispatched", "2026-03-04T11:00:00+08:00", as_="notary")
    frozen.set("2026-03-05T10:00:00+08:00")
    record(api, tn, "received", "2026-03-05T09:00:00+08:00", as_="clerk")
    pages.login("clerk")
    page = pages.get(f"/window/cases/{no}/handover", as_="clerk").text
    items = page.split('id="handover-items"')[1].split("</ul>")[0]
    assert "办理结果文书" in items and "毕业证书（原件，退还申请人）" in items and "学位证书（原件，退还申请人）" in items
    assert "公证申请表" not in items


def test_an_original_found_missing_on_receipt_is_not_promised_back(staff, frozen):
    api = staff
    api.user("notary", "officer", "D140100-GZ")
    contents = [{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "ok"},
                {"code": "diploma", "status": "ok"}, {"code": "degree_cert", "status": "missing"}]
    case = accepted_at(api, diploma_body(), "notary", contents)
    r = api.post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "refused", "note": "不予办理"},
                 as_="notary")
    assert r.status_code == 200, r.get_json()
    assert [m["code"] for m in r.json["originals_returned"]] == ["diploma"]  # refused or not, it goes back
    packet = packet_of(api, r.json["result_packet"]["tracking_no"], as_="notary")
    assert [m["code"] for m in packet["contents"]] == ["result", "diploma"]


def test_a_matter_whose_originals_are_all_kept_sends_the_result_alone(staff, frozen):
    api = staff
    case = accepted_at(api, intake_body(), "officer")  # 无犯罪记录证明: the application form is kept
    r = api.post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "approved"}, as_="officer")
    assert r.status_code == 200, r.get_json()
    assert r.json["originals_returned"] == []
    packet = packet_of(api, r.json["result_packet"]["tracking_no"], as_="officer")
    assert [m["code"] for m in packet["contents"]] == ["result"]


def test_an_electronic_result_sends_the_originals_back_in_a_return_packet_to_the_window(staff, frozen, db):
    api = staff
    api.user("registrar", "officer", "D140105-BDC")
    case = accepted_at(api, mortgage_body(), "registrar")
    no = case["case_no"]
    r = api.post(f"/api/v1/cases/{no}/decision",
                 {"outcome": "approved", "result_file": base64.b64encode(PDF).decode()}, as_="registrar")
    assert r.status_code == 200, r.get_json()
    assert "delivery_url" in r.json and "result_packet" not in r.json
    assert [m["code"] for m in r.json["originals_returned"]] == ["property_cert", "main_debt_contract"]
    back = packet_of(api, r.json["return_packet"]["tracking_no"], as_="registrar")
    assert back["kind"] == "return" and back["from_office"] == "D140105-BDC" and back["to_office"] == "H140902"
    assert [(m["code"], m["original"]) for m in back["contents"]] == [("property_cert", True),
                                                                      ("main_debt_contract", True)]
    public = track(api, no, case["check_code"]).json
    assert "已办结：准予。原件（不动产权证书、主债权合同）退还申请人，另行寄回" in [e["text"] for e in public["events"]]
    assert any(s["text"].startswith("退还的原件送达") for s in public["next"]), public["next"]
    page = api.client.get(f"/track?no={no}&check={case['check_code']}").text
    assert "原件（不动产权证书、主债权合同）退还申请人，另行寄回" in page
    notices = [n.text for n in rows(db, select(Notification).where(Notification.audience == "applicant"))]
    assert any(f"将通过邮件{back['tracking_no']}退回" in t and "不动产权证书" in t for t in notices), notices


def test_a_certified_copy_stands_in_for_the_original_and_stays_out_of_every_packet_back(staff, frozen, db):
    api = staff
    api.user("notary", "officer", "D140100-GZ")
    body = diploma_body([{"code": "application_form", "copies": 1, "original": True},
                         {"code": "id_card", "copies": 1, "original": False},
                         {"code": "diploma", "copies": 1, "original": False, "certified": True}])
    frozen.set("2026-03-02T09:15:00+08:00")
    case = accepted_at(api, body, "notary")
    no = case["case_no"]

    stored = rows(db, select(Case).where(Case.case_no == no))[0]
    diploma = next(m for m in stored.materials if m["code"] == "diploma")
    assert diploma["original"] is False and diploma["certified"] is True
    assert diploma["certified_by"] == "clerk" and diploma["certified_at"] == "2026-03-02T09:15:00+08:00"
    outbound = packet_of(api, case["tracking_no"], as_="notary")
    assert {"code": "diploma", "name": "毕业证书", "copies": 1, "original": False, "certified": True,
            "certified_by": "clerk"} in outbound["contents"]

    receipt = pdfs.text(api.get(f"/api/v1/cases/{no}/receipt.pdf", as_="clerk").data)
    receipt = receipt.replace("\r", "").replace("\n", "")  # a narrow column wraps its words
    assert "复印件（已核验原件）" in receipt
    assert "核验人：clerk（忻州市忻府区政务服务中心）" in receipt  # by name and office

    r = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved"}, as_="notary")
    assert r.json["originals_returned"] == []  # the original never left the applicant
    assert [m["code"] for m in packet_of(api, r.json["result_packet"]["tracking_no"], as_="notary")["contents"]] \
        == ["result"]


def test_a_certified_copy_is_refused_where_the_matter_needs_the_original(staff, frozen):
    api = staff
    form = {"code": "application_form", "copies": 1, "original": False, "certified": True}
    r = api.post("/api/v1/cases", diploma_body([form, {"code": "id_card", "copies": 1, "original": False},
                                                {"code": "diploma", "copies": 1, "original": True}]), as_="clerk")
    error = assert_error(r, 422, "missing_material")
    assert "公证申请表（原件）" in error["message"]

    # an original the office keeps (not required here) cannot be a certified copy either
    body = intake_body(materials=[{"code": "application_form", "copies": 1, "original": True},
                                  {"code": "id_card", "copies": 1, "original": False},
                                  {"code": "power_of_attorney", "copies": 1, "original": False, "certified": True}])
    assert_error(api.post("/api/v1/cases", body, as_="clerk"), 422, "certified_copy_not_allowed",
                 "materials[2].certified")

    both = {"code": "diploma", "copies": 1, "original": True, "certified": True}
    r = api.post("/api/v1/cases", diploma_body([{"code": "application_form", "copies": 1, "original": True},
                                                {"code": "id_card", "copies": 1, "original": False}, both]),
                 as_="clerk")
    assert_error(r, 400, "invalid_request", "materials[2].certified")


def test_the_catalogue_says_which_originals_are_kept_and_which_may_be_certified_copies(staff):
    matters = staff.get("/api/v1/matters?q=学历公证", as_="clerk").json["matters"]
    materials = {m["code"]: m for m in matters[0]["materials"]}
    assert materials["diploma"]["kept"] is False and materials["diploma"]["certified_copy"] is True
    assert materials["application_form"]["kept"] is True and materials["application_form"]["certified_copy"] is False
    assert materials["id_card"]["kept"] is False and materials["id_card"]["certified_copy"] is False


def test_the_intake_page_offers_a_certified_copy_for_originals_the_matter_allows(staff, pages, frozen, db):
    from tests.e2e.test_pages_intake import hidden_fields, wfzm_form
    pages.login("clerk")
    path = f"/window/intake/{DIPLOMA}"
    page = pages.get(path, as_="clerk").text
    diploma = page.split('id="materials-diploma-original"')[1].split("</select>")[0]
    assert '<option value="certified"' in diploma and "复印件（已核验原件）" in diploma
    form = page.split('id="materials-application_form-original"')[1].split("</select>")[0]
    assert 'value="certified"' not in form

    data = wfzm_form(**{"materials.diploma.received": "1", "materials.diploma.original": "certified",
                        "materials.diploma.copies": "1", "result_delivery.method": "pickup",
                        "result_delivery.address": None, "result_delivery.division_code": None})
    check = pages.post(path, data, as_="clerk")
    assert check.status_code == 200, check.text
    assert "复印件（已核验原件） 1 份" in check.text
    r = pages.post(path + "/confirm", hidden_fields(check.text), as_="clerk")
    assert r.status_code == 303, r.text
    stored = rows(db, select(Case))[0]
    assert [m for m in stored.materials if m["code"] == "diploma"][0]["certified_by"] == "clerk"


def test_a_supplement_may_bring_a_certified_copy_where_the_matter_allows_and_it_is_not_sent_back(staff, frozen):
    api = staff
    api.user("notary", "officer", "D140100-GZ")
    contents = [{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "ok"},
                {"code": "diploma", "status": "ok"}, {"code": "degree_cert", "status": "missing"}]
    case = collect(api, diploma_body())
    no = case["case_no"]
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="notary", contents=contents)
    r = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["degree_cert", "application_form"]},
                 as_="notary")
    assert r.status_code == 200, r.get_json()

    refused = api.post(f"/api/v1/cases/{no}/supplements", {"materials": [
        {"code": "degree_cert", "certified": True}, {"code": "application_form", "certified": True}]}, as_="clerk")
    assert_error(refused, 422, "certified_copy_not_allowed", "materials[1].certified")  # the form: original only
    r = api.post(f"/api/v1/cases/{no}/supplements", {"materials": [
        {"code": "degree_cert", "certified": True}, {"code": "application_form", "original": True}]}, as_="clerk")
    assert r.status_code == 201, r.get_json()
    sent = packet_of(api, r.json["tracking_no"], as_="clerk")["contents"]
    degree = next(m for m in sent if m["code"] == "degree_cert")
    assert (degree["original"], degree["certified"], degree["certified_by"]) == (False, True, "clerk")
    assert degree["certified_at"].startswith("2026-03-02")
