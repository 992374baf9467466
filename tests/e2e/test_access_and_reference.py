"""Who sees what: personal data in full for the two offices (and logged), masked for supervisors; reference data."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.e2e.steps import assert_error, case_of, collect, count, rows
from tests.helpers import intake_body, person, resident_id
from tracking.model.tables import AccessLog, CaseEvent

ID_NUMBER = resident_id()


def test_staff_of_the_two_offices_see_the_applicant_in_full_and_each_read_is_logged(staff, frozen, db):
    api = staff
    case = collect(api)
    no = case["case_no"]
    events_before = count(db, CaseEvent)

    for who in ("clerk", "officer"):
        view = case_of(api, no, as_=who)
        assert view["applicant"]["name"] == "张晓明"
        assert view["applicant"]["id_number"] == ID_NUMBER and view["applicant"]["phone"] == "13812345678"
        assert view["result_address"] == "太原市小店区平阳路12号3单元502室"
        assert view["packets"][0]["tracking_no"] == case["tracking_no"]
        assert view["events"][0]["type"] == "collected"
    assert "check_code" not in case_of(api, no, as_="officer")

    logged = rows(db, select(AccessLog).order_by(AccessLog.id))
    assert [(a.username, a.role, a.office_code, a.case_no) for a in logged] == [
        ("clerk", "clerk", "H140902", no), ("officer", "officer", "D140105-GA", no),
        ("officer", "officer", "D140105-GA", no)]
    assert count(db, CaseEvent) == events_before  # reads are not part of the case's timeline
    assert [e["type"] for e in case_of(api, no)["events"]] == ["collected"]


def test_a_supervisor_sees_the_case_with_the_applicant_masked_and_nothing_is_logged(staff, frozen, db):
    api = staff
    case = collect(api)
    r = api.get(f"/api/v1/cases/{case['case_no']}", as_="supervisor")
    assert r.status_code == 200
    assert r.json["applicant"] == {"kind": "person", "name": "张**", "id_number": "140105********1234",
                                   "phone": "138******78"}
    text = r.data.decode()
    for personal in ("张晓明", ID_NUMBER, "13812345678", "平阳路12号", case["check_code"]):
        assert personal not in text, personal
    assert count(db, AccessLog) == 0


def test_a_city_supervisor_sees_the_cases_of_that_city_and_no_other(staff, frozen):
    api = staff
    api.user("supervisor_xz", "supervisor", "H140900")  # 忻州市: the collecting hall's city
    api.user("supervisor_jz", "supervisor", "H140700")  # 晋中市: neither office's city
    case = collect(api)
    view = case_of(api, case["case_no"], as_="supervisor_xz")
    assert view["applicant"]["name"] == "张**"
    assert api.get("/api/v1/cases", as_="supervisor_xz").json["total"] == 1
    assert_error(api.get(f"/api/v1/cases/{case['case_no']}", as_="supervisor_jz"), 403, "forbidden")
    assert api.get("/api/v1/cases", as_="supervisor_jz").json["total"] == 0


def test_staff_of_other_offices_may_not_see_a_case(staff, frozen, db):
    api = staff
    api.user("clerk_ty", "clerk", "H140100")
    api.user("officer_yz", "officer", "D140106-GA")
    case = collect(api)
    for who in ("clerk_ty", "officer_yz", "courier"):
        assert_error(api.get(f"/api/v1/cases/{case['case_no']}", as_=who), 403, "forbidden")
    assert count(db, AccessLog) == 0
    assert_error(api.get(f"/api/v1/cases/{case['case_no']}"), 401, "unauthorized")


def test_the_case_list_holds_only_the_cases_the_office_may_see(staff, frozen):
    api = staff
    api.user("clerk_ty", "clerk", "H140100")
    ours = [collect(api)["case_no"], collect(api)["case_no"]]
    theirs = collect(api, intake_body(applicant=person(id_number=resident_id("14090219900101123"),
                                                       division_code="140902")), as_="clerk_ty")
    assert theirs["owning_office"]["code"] == "D140902-GA"

    def listed(who, query=""):
        r = api.get(f"/api/v1/cases{query}", as_=who)
        assert r.status_code == 200, r.json
        return r.json

    mine = listed("clerk")
    assert sorted(c["case_no"] for c in mine["cases"]) == sorted(ours)
    assert mine["total"] == 2 and mine["page"] == 1 and mine["per_page"] == 50
    assert all(c["applicant"]["name"] == "张**" for c in mine["cases"])
    assert sorted(c["case_no"] for c in listed("officer")["cases"]) == sorted(ours)
    assert [c["case_no"] for c in listed("clerk_ty")["cases"]] == [theirs["case_no"]]
    assert listed("supervisor")["total"] == 3
    assert listed("clerk", "?status=in_transit")["total"] == 0
    assert listed("clerk", "?status=collected")["total"] == 2
    page = listed("clerk", "?per_page=1&page=2")
    assert page["total"] == 2 and len(page["cases"]) == 1 and page["page"] == 2
    assert_error(api.get("/api/v1/cases?status=lost-in-space", as_="clerk"), 400, "invalid_request", "status")


def test_offices_are_filtered_by_kind_and_by_division_prefix(staff, frozen):
    api = staff
    hubs = api.get("/api/v1/offices?kind=hub", as_="clerk").json["offices"]
    assert hubs and all(o["kind"] == "hub" for o in hubs)
    assert {"P140000", "P140100", "P140900"} <= {o["code"] for o in hubs}

    xinzhou = api.get("/api/v1/offices?division=1409", as_="clerk").json["offices"]
    assert xinzhou and all(o["division_code"].startswith("1409") for o in xinzhou)
    codes = {o["code"] for o in xinzhou}
    assert {"H140902", "D140902-GA", "P140900"} <= codes and "D140105-GA" not in codes
    hall = next(o for o in xinzhou if o["code"] == "H140902")
    assert hall["name"] == "忻州市忻府区政务服务中心" and hall["kind"] == "hall"
    assert set(hall) >= {"code", "name", "kind", "division_code", "address", "postcode", "phone", "lat", "lon",
                         "departments"}
    police = next(o for o in xinzhou if o["code"] == "D140902-GA")
    assert police["departments"] and police["departments"][0]["code"] == "GA"

    both = api.get("/api/v1/offices?kind=hub&division=1409", as_="clerk").json["offices"]
    assert [o["code"] for o in both] == ["P140900"]
    assert_error(api.get("/api/v1/offices?kind=shop", as_="clerk"), 400, "invalid_request", "kind")
    assert_error(api.get("/api/v1/offices"), 401, "unauthorized")


@pytest.mark.parametrize("prefix", ["1410", "141000"])  # 临汾市; 吕梁市 is 1411
def test_a_division_prefix_ending_in_zero_keeps_to_its_own_codes(staff, frozen, prefix):
    offices = staff.get(f"/api/v1/offices?division={prefix}", as_="clerk").json["offices"]
    codes = {o["code"] for o in offices}
    assert {"H141000", "P141000"} <= codes
    assert all(o["division_code"].startswith("1410") for o in offices), \
        sorted(o["code"] for o in offices if not o["division_code"].startswith("1410"))[:5]


def test_matters_are_found_by_mode_and_text(staff, frozen):
    api = staff
    found = api.get("/api/v1/matters?mode=proxy&q=户口", as_="clerk").json["matters"]
    assert {m["code"] for m in found} == {"GA-HKQY-01", "GA-HKQY-02", "GA-HKQY-03", "GA-HKQY-04", "GA-HKQY-05"}
    assert all("户口" in m["name"] and "proxy" in m["modes"] for m in found)
    move = next(m for m in found if m["code"] == "GA-HKQY-01")
    assert move["department"] == "GA" and move["level"] == "county" and move["jurisdiction"] == "subject"
    assert move["applicant_kinds"] == ["person"] and move["result_types"] == ["paper"]
    assert (move["legal_days"], move["promised_days"]) == (20, 5)
    assert {"code": "application_form", "name": "户口迁移申请表", "original": True, "required": True,
            "kept": True, "certified_copy": False} in move["materials"]  # the form stays with the office

    proxy = {m["code"] for m in api.get("/api/v1/matters?mode=proxy", as_="clerk").json["matters"]}
    assert "GA-WFZM-01" in proxy and "RS-ZGRZ-01" not in proxy and "YB-YDJY-01" not in proxy
    assert [m["code"] for m in api.get("/api/v1/matters?q=gjj-dw", as_="clerk").json["matters"]] == ["GJJ-DW-01"]


def test_the_openapi_document_describes_every_path_these_tests_use(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"].startswith("3.")
    used = {
        "/api/v1/auth/token": {"post"}, "/api/v1/offices": {"get"}, "/api/v1/matters": {"get"},
        "/api/v1/cases": {"get", "post"}, "/api/v1/cases/{case_no}": {"get"},
        "/api/v1/cases/{case_no}/accept": {"post"}, "/api/v1/cases/{case_no}/supplement-requests": {"post"},
        "/api/v1/cases/{case_no}/supplements": {"post"}, "/api/v1/cases/{case_no}/reject": {"post"},
        "/api/v1/cases/{case_no}/withdraw": {"post"}, "/api/v1/cases/{case_no}/decision": {"post"},
        "/api/v1/cases/{case_no}/handover-to-applicant": {"post"}, "/api/v1/packets/{tracking_no}": {"get"},
        "/api/v1/scans": {"post"}, "/api/v1/track/{number}": {"get"},
        "/api/v1/track/{case_no}/evaluation": {"post"}, "/api/v1/deliveries/{token}": {"get"},
        "/api/v1/openapi.json": {"get"},
    }
    for path, methods in used.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), (path, set(doc["paths"][path]))


def test_every_api_route_the_app_serves_is_in_the_openapi_document(client):
    """Nothing the service answers is left out of the description clients generate code from."""
    doc = client.get("/api/v1/openapi.json").json
    served: dict[str, set[str]] = {}
    for rule in client.application.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        paths = [rule.rule]
        for name, converter in rule._converters.items():  # any(a, b) stands for one path per choice
            choices = getattr(converter, "items", None)
            if choices:
                pattern = re.compile(rf"<any\([^)]*\):{name}>")
                paths = [pattern.sub(choice, p) for p in paths for choice in sorted(choices)]
        for path in paths:
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", path)
            served.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    for path, methods in served.items():
        documented = doc["paths"].get(path)
        assert documented is not None, f"{path} is served but not documented"
        assert methods <= set(documented), (path, methods, set(documented))
