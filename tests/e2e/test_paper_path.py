"""The whole paper path over HTTP: intake to evaluation."""
from __future__ import annotations


from tests.helpers import intake_body, scan


def test_a_case_travels_from_window_to_office_and_back_to_the_applicants_door(staff, frozen, db):
    api = staff
    r = api.post("/api/v1/cases", intake_body(), as_="clerk", key="intake-1")
    assert r.status_code == 201, r.json
    case = r.json
    assert case["status"] == "collected"
    assert case["case_no"].startswith("140902-20260302-")
    assert case["owning_office"]["code"] == "D140105-GA"
    assert [s["office_code"] for s in case["route"]] == ["H140902", "P140900", "P140000", "P140100", "D140105-GA"]
    assert len(case["check_code"]) == 6 and case["check_code"].isdigit()
    # not accepted yet: 3 promised working days after the expected receipt (Thursday 5 March)
    assert case["due_date"] == "2026-03-10" and case["due_date_estimated"] is True
    assert case["expected_result_date"] == "2026-03-12"  # sent Wednesday 11 March, at the door the next day
    no, tn = case["case_no"], case["tracking_no"]

    batch = [scan(tn, "dispatched", "2026-03-02T10:00:00+08:00")]
    assert api.post("/api/v1/scans", {"scans": batch}, as_="clerk").json["results"][0]["status"] == "recorded"
    hubs = ["P140900", "P140000", "P140100"]
    batch = []
    for i, hub in enumerate(hubs):
        batch += [scan(tn, "arrived_hub", f"2026-03-02T1{2 + i}:00:00+08:00", hub),
                  scan(tn, "departed_hub", f"2026-03-02T1{2 + i}:30:00+08:00", hub)]
    results = api.post("/api/v1/scans", {"scans": batch}, as_="courier").json["results"]
    assert [r["status"] for r in results] == ["recorded"] * 6, results
    r = api.post("/api/v1/scans", {"scans": [scan(tn, "received", "2026-03-03T09:00:00+08:00",
                                                  contents=[{"code": "application_form", "status": "ok"},
                                                            {"code": "id_card", "status": "ok"}])]}, as_="officer")
    assert r.json["results"][0]["status"] == "recorded", r.json
    assert api.get(f"/api/v1/cases/{no}", as_="officer").json["status"] == "received"

    assert api.post(f"/api/v1/cases/{no}/accept", as_="officer").json["status"] == "accepted"
    r = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "准予"}, as_="officer")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "decided"
    result_tn = r.json["result_packet"]["tracking_no"]
    for s in [scan(result_tn, "dispatched", "2026-03-04T10:00:00+08:00", "D140105-GA"),
              scan(result_tn, "arrived_hub", "2026-03-04T12:00:00+08:00", "P140100"),
              scan(result_tn, "out_for_delivery", "2026-03-05T08:00:00+08:00", "P140100"),
              scan(result_tn, "delivered", "2026-03-05T10:00:00+08:00")]:
        who = "officer" if s["type"] == "dispatched" else "courier"
        assert api.post("/api/v1/scans", {"scans": [s]}, as_=who).json["results"][0]["status"] == "recorded"
    frozen.set("2026-03-05T12:00:00+08:00")
    track = api.get(f"/api/v1/track/{no}?check={case['check_code']}")
    assert track.status_code == 200
    assert track.json["status"] == "delivered" and track.json["status_text"] == "已送达"
    texts = [e["text"] for e in track.json["events"]]
    assert texts[0] == "窗口已收件，材料待寄出" and "办理结果已送达" in texts
    body = str(track.json)
    assert "张晓明" not in body and "13812345678" not in body and "502" not in body

    r = api.post(f"/api/v1/track/{no}/evaluation", {"check": case["check_code"], "score": 5, "comment": "很方便"})
    assert r.status_code == 201 and r.json["status"] == "closed"
    again = api.post(f"/api/v1/track/{no}/evaluation", {"check": case["check_code"], "score": 4})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_evaluated"


def test_staff_find_an_applicants_cases_by_id_number_and_see_what_is_overdue(staff, frozen, db):
    from tests.helpers import person, resident_id
    api = staff
    first = api.post("/api/v1/cases", intake_body(), as_="clerk").json
    other = resident_id("14010519851112002")
    api.post("/api/v1/cases", intake_body(applicant=person(name="李娜", id_number=other)), as_="clerk")
    found = api.get(f"/api/v1/cases?id_number={resident_id()}", as_="clerk").json
    assert [c["case_no"] for c in found["cases"]] == [first["case_no"]] and found["total"] == 1
    assert found["cases"][0]["applicant"]["name"] == "张**"  # lists show masked data only
    assert api.get("/api/v1/cases?overdue=true", as_="clerk").json["total"] == 0
    # to be sent by 3 March; on 6 March both are overdue, and a supervisor can look ahead with as_of
    ahead = api.get("/api/v1/cases?overdue=true&as_of=2026-03-06", as_="supervisor").json
    assert ahead["total"] == 2 and all(c["overdue"] for c in ahead["cases"])
    frozen.set("2026-03-06T09:00:00+08:00")
    api.login("clerk")
    assert api.get("/api/v1/cases?overdue=true", as_="clerk").json["total"] == 2


def test_a_city_supervisor_sees_the_citys_cases_masked_and_no_others(staff, frozen):
    api = staff
    case = api.post("/api/v1/cases", intake_body(), as_="clerk").json  # 忻府区 (忻州) → 小店区 (太原)
    api.user("xinzhou-sup", "supervisor", "H140900")
    api.user("datong-sup", "supervisor", "H140200")
    seen = api.get(f"/api/v1/cases/{case['case_no']}", as_="xinzhou-sup")
    assert seen.status_code == 200
    assert seen.json["applicant"]["name"] == "张**" and "id_number" in seen.json["applicant"]
    from tests.helpers import resident_id
    assert seen.json["applicant"]["id_number"] == resident_id()[:6] + "*" * 8 + resident_id()[-4:]
    assert api.get("/api/v1/cases", as_="xinzhou-sup").json["total"] == 1
    assert api.get(f"/api/v1/cases/{case['case_no']}", as_="datong-sup").status_code == 403
    assert api.get("/api/v1/cases", as_="datong-sup").json["total"] == 0
