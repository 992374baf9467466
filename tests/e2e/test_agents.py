"""委托代办 and who took the result (issue 13 §4): a person applying through an agent, the 授权委托书,
both identity checks, the agent collecting at the window, a home delivery's signer, and the courier's
delivery list with full addresses (each read on the access log)."""
from __future__ import annotations

from sqlmodel import select

from routing.tables import Matter
from tests import pdfs
from tests.e2e.steps import accepted, assert_error, case_of, collect, decide, record, rows, scans, track
from tests.helpers import intake_body, person, resident_id, scan
from tracking.model.tables import AccessLog, Case, CaseEvent

AGENT_ID = resident_id("14090219850612451")
AGENT = {"name": "李建国", "id_type": "resident_id", "id_number": AGENT_ID, "phone": "13934567890",
         "relation": "relative"}
APPLICANT_CHECK = {"method": "id_copy", "passed": True}
POA = {"code": "power_of_attorney", "copies": 1, "original": True}
MATERIALS = [{"code": "application_form", "copies": 1, "original": True},
             {"code": "id_card", "copies": 1, "original": False}]
PICKUP = {"method": "pickup"}


def agent_body(**overrides) -> dict:
    """无犯罪记录证明 for 张晓明, handed in at 忻府区 by his relative 李建国 with a power of attorney."""
    return intake_body(**{"applicant": person(agent=AGENT), "applicant_identity_check": APPLICANT_CHECK,
                          "materials": MATERIALS + [POA], **overrides})


def test_a_person_applies_through_an_agent_with_both_identity_checks_and_the_power_of_attorney(staff, db):
    created = collect(staff, agent_body())
    assert created["applicant"]["name"] == "张**"
    assert created["applicant"]["agent"] == {"name": "李**", "id_number": "140902********" + AGENT_ID[-4:],
                                             "phone": "139******90", "relation": "relative",
                                             "relation_text": "亲属"}
    view = case_of(staff, created["case_no"], as_="clerk")
    assert view["applicant"]["agent"] == AGENT  # sealed with the applicant, opened for the two offices
    assert view["identity_check"] == {"method": "id_card_reader", "passed": True, "of": "agent",
                                      "applicant": APPLICANT_CHECK}
    assert view["applicant_identity_check"] == APPLICANT_CHECK
    assert {"code": "power_of_attorney", "name": "授权委托书（委托他人代办时）", "copies": 1, "original": True} \
        in view["materials"]
    stored = rows(db, select(Case).where(Case.case_no == created["case_no"]))[0]
    assert stored.applicant_masked["agent"]["name"] == "李**" and "李建国" not in str(stored.applicant_sealed)

    receipt = staff.get(created["receipt_url"], as_="clerk")
    assert receipt.status_code == 200
    printed = pdfs.text(receipt.data)
    assert "代办人" in printed and "李**" in printed and "亲属" in printed and "李建国" not in printed

    # a person in person: no agent anywhere, the check is the applicant's own
    alone = case_of(staff, collect(staff)["case_no"], as_="clerk")
    assert "agent" not in alone["applicant"] and alone["applicant_identity_check"] is None


def test_an_agents_application_is_refused_without_the_power_of_attorney_or_the_applicants_check(staff):
    error = assert_error(staff.post("/api/v1/cases", agent_body(materials=MATERIALS), as_="clerk"),
                         422, "missing_material")
    assert error["materials"] == ["power_of_attorney"] and "授权委托书" in error["message"]
    copy = agent_body(materials=MATERIALS + [{**POA, "original": False}])
    assert_error(staff.post("/api/v1/cases", copy, as_="clerk"), 422, "missing_material")

    unchecked = agent_body()
    del unchecked["applicant_identity_check"]
    assert_error(staff.post("/api/v1/cases", unchecked, as_="clerk"), 400, "invalid_request",
                 "applicant_identity_check")
    failed = agent_body(applicant_identity_check={"method": "face", "passed": False})
    assert_error(staff.post("/api/v1/cases", failed, as_="clerk"), 422, "identity_check_failed",
                 "applicant_identity_check")
    odd = agent_body(applicant=person(agent={**AGENT, "relation": "邻居"}))
    assert_error(staff.post("/api/v1/cases", odd, as_="clerk"), 400, "invalid_request", "applicant.agent.relation")
    # the relation may be written as the clerk says it
    spoken = collect(staff, agent_body(applicant=person(agent={**AGENT, "relation": "朋友"})))
    assert spoken["applicant"]["agent"]["relation"] == "friend"


def test_a_matter_whose_checklist_lacks_the_power_of_attorney_still_needs_one_from_an_agent(staff, db):
    matter = db.get(Matter, "GA-WFZM-01")
    listed = list(matter.materials)
    matter.materials = [m for m in listed if m["code"] != "power_of_attorney"]
    db.add(matter)
    db.commit()
    try:
        assert_error(staff.post("/api/v1/cases", agent_body(materials=MATERIALS), as_="clerk"),
                     422, "missing_material")
        created = collect(staff, agent_body())
        materials = case_of(staff, created["case_no"], as_="clerk")["materials"]
        assert materials[-1] == {"code": "power_of_attorney", "name": "授权委托书", "copies": 1, "original": True}
        # without an agent the code is not on this matter's list
        assert_error(staff.post("/api/v1/cases", intake_body(materials=MATERIALS + [POA]), as_="clerk"),
                     422, "unknown_material")
    finally:  # the reference data outlives the test
        matter = db.get(Matter, "GA-WFZM-01")
        matter.materials = listed
        db.add(matter)
        db.commit()


def _ready_for_pickup(api, frozen, body: dict) -> dict:
    case = accepted(api, body)
    frozen.set("2026-03-03T10:00:00+08:00")
    result = decide(api, case["case_no"]).json["result_packet"]["tracking_no"]
    record(api, result, "dispatched", "2026-03-03T11:00:00+08:00", as_="officer")
    frozen.set("2026-03-04T09:30:00+08:00")
    record(api, result, "received", "2026-03-04T09:00:00+08:00", as_="clerk")
    assert case_of(api, case["case_no"], as_="clerk")["status"] == "ready_for_pickup"
    return case


def test_the_registered_agent_collects_the_result_at_the_window_and_nobody_else(staff, frozen, pages):
    case = _ready_for_pickup(staff, frozen, agent_body(result_delivery=PICKUP))
    no = case["case_no"]
    check = {"method": "id_card_reader", "passed": True}
    stranger = {"relation": "agent", "name": "王五", "id_number": resident_id("14010519800101001")}
    error = assert_error(staff.post(f"/api/v1/cases/{no}/handover-to-applicant",
                                    {"identity_check": check, "collector": stranger}, as_="clerk"),
                         422, "collector_not_allowed", "collector")
    assert "代办人" in error["message"]
    assert case_of(staff, no, as_="clerk")["status"] == "ready_for_pickup"

    r = staff.post(f"/api/v1/cases/{no}/handover-to-applicant",
                   {"identity_check": check, "collector": {"relation": "agent", "name": "李建国",
                                                           "id_number": AGENT_ID}}, as_="clerk")
    assert r.status_code == 200 and r.json["status"] == "delivered", r.json
    last = case_of(staff, no, as_="clerk")["events"][-1]
    assert last["type"] == "delivered"
    assert last["data"]["collector"] == {"relation": "agent", "name": "李建国",
                                         "id_number": "140902********" + AGENT_ID[-4:], "identity_check": check}
    texts = [e["text"] for e in track(staff, no, case["check_code"]).json["events"]]
    assert "办理结果已送达，已由李**代收" in texts and not any("李建国" in t for t in texts)
    pages.login("clerk")  # the window's own record of who took it
    page = pages.get(f"/window/cases/{no}", as_="clerk").text
    assert f"代办人 李建国（证件 140902********{AGENT_ID[-4:]}）" in page


def test_a_case_without_an_agent_is_collected_by_the_applicant_alone(staff, frozen):
    case = _ready_for_pickup(staff, frozen, intake_body(result_delivery=PICKUP))
    no = case["case_no"]
    check = {"method": "id_card_reader", "passed": True}
    assert_error(staff.post(f"/api/v1/cases/{no}/handover-to-applicant",
                            {"identity_check": check, "collector": {"relation": "agent", "name": "李建国"}},
                            as_="clerk"), 422, "collector_not_allowed", "collector.relation")
    assert staff.post(f"/api/v1/cases/{no}/handover-to-applicant", {"identity_check": check},
                      as_="clerk").status_code == 200
    assert "办理结果已送达，已由本人签收" in [e["text"] for e in track(staff, no, case["check_code"]).json["events"]]


def _result_on_the_road(api, frozen) -> tuple[dict, str, str]:
    """A mail result handed by the owning office to the courier on a sheet: (case, result, sheet)."""
    case = accepted(api)
    frozen.set("2026-03-03T10:00:00+08:00")
    result = decide(api, case["case_no"]).json["result_packet"]["tracking_no"]
    sheet = api.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [result]}, as_="officer")
    assert sheet.status_code == 201, sheet.get_json()
    sheet_no = sheet.json["manifest_no"]
    handed = scans(api, [{"event_id": "sheet-1", "manifest_no": sheet_no, "type": "dispatched",
                          "at": "2026-03-03T11:00:00+08:00"}], as_="courier")[0]
    assert handed["status"] == "recorded", handed
    return case, result, sheet_no


def test_the_courier_sees_the_full_address_of_their_deliveries_and_each_read_is_logged(staff, frozen, db):
    staff.user("courier_jz", "courier", "P140700")
    case, result, sheet_no = _result_on_the_road(staff, frozen)
    label = pdfs.text(staff.get(f"/api/v1/packets/{result}/label.pdf", as_="officer").data)
    assert "3单元502室" not in label and "13812345678" not in label  # the label stays masked

    r = staff.get("/api/v1/courier/deliveries", as_="courier")
    assert r.status_code == 200, r.get_json()
    [item] = r.json["deliveries"]
    assert item["tracking_no"] == result and item["case_no"] == case["case_no"] and item["manifest_no"] == sheet_no
    assert item["addressee"] == {"name": "张晓明", "phone": "13812345678", "address": "太原市小店区平阳路12号3单元502室",
                                 "division_code": "140105", "division": "太原市小店区"}
    logged = rows(db, select(AccessLog).where(AccessLog.case_no == case["case_no"],
                                              AccessLog.what == "delivery_address"))
    assert [(row.username, row.role) for row in logged] == [("courier", "courier")]

    assert staff.get("/api/v1/courier/deliveries", as_="courier_jz").json["deliveries"] == []
    assert_error(staff.get("/api/v1/courier/deliveries", as_="clerk"), 403, "forbidden")

    # delivered with its signer: off the list, and the timeline says who took it
    done = scans(staff, [scan(result, "delivered", "2026-03-04T10:00:00+08:00",
                              signer={"relation": "proxy", "name": "王秀英"})], as_="courier")[0]
    assert done["status"] == "recorded", done
    assert staff.get("/api/v1/courier/deliveries", as_="courier").json["deliveries"] == []
    event = rows(db, select(CaseEvent).where(CaseEvent.type == "delivered"))[-1]
    assert event.data["signer"] == {"relation": "proxy", "name": "王秀英"}
    packet_events = staff.get(f"/api/v1/packets/{result}", as_="courier").json["events"]
    assert packet_events[-1]["note"] == "王**代收"  # every courier reads it: masked
    texts = [e["text"] for e in track(staff, case["case_no"], case["check_code"]).json["events"]]
    assert "办理结果已送达，已由王**代收" in texts and not any("王秀英" in t for t in texts)


def test_a_signer_belongs_to_a_delivery_and_a_proxy_gives_a_name(staff, frozen):
    case, result, _ = _result_on_the_road(staff, frozen)
    nameless, early = scans(staff, [
        scan(result, "delivered", "2026-03-04T10:00:00+08:00", signer={"relation": "proxy"}),
        scan(result, "out_for_delivery", "2026-03-04T08:00:00+08:00", signer={"relation": "self"})],
        as_="courier")
    assert nameless["status"] == "rejected" and nameless["error"]["code"] == "invalid_request"
    assert nameless["error"]["field"] == "signer.name"
    assert early["status"] == "rejected" and early["error"]["field"] == "signer"
    assert scans(staff, [scan(result, "delivered", "2026-03-04T10:00:00+08:00", signer={"relation": "self"})],
                 as_="courier")[0]["status"] == "recorded"
    texts = [e["text"] for e in track(staff, case["case_no"], case["check_code"]).json["events"]]
    assert "办理结果已送达，已由本人签收" in texts


def test_the_courier_page_lists_the_deliveries_and_records_one_with_its_signer(staff, pages, frozen, db):
    case, result, _ = _result_on_the_road(staff, frozen)
    frozen.set("2026-03-04T10:00:00+08:00")  # delivered the next morning
    pages.login("courier")
    page = pages.get("/", as_="courier")
    assert page.status_code == 200
    assert "太原市小店区平阳路12号3单元502室" in page.text and "13812345678" in page.text and "张晓明" in page.text
    assert "扫描设备" in page.text

    refused = pages.post(f"/courier/deliveries/{result}", {"relation": "proxy", "signer_name": ""}, as_="courier",
                         csrf_from="/courier")
    assert refused.status_code == 400 and "代收人姓名" in refused.text
    r = pages.post(f"/courier/deliveries/{result}", {"relation": "proxy", "signer_name": "王秀英"}, as_="courier",
                   csrf_from="/courier")
    assert r.status_code == 303, r.text
    assert "王秀英代收" in pages.get("/courier", as_="courier").text
    assert case_of(staff, case["case_no"], as_="officer")["status"] == "delivered"
    event = rows(db, select(CaseEvent).where(CaseEvent.type == "delivered"))[-1]
    assert event.data["signer"] == {"relation": "proxy", "name": "王秀英"} and event.actor == "courier"
