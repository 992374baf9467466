"""The OpenAPI document at /api/v1/openapi.json: valid OpenAPI 3.1, complete (every endpoint the service
serves, and every one it ever listed), and true: real answers, good and refused, validate against the
schema the document gives for their endpoint and status, so the description cannot drift from the code."""
from __future__ import annotations

import base64
import copy
import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.e2e.steps import PDF, accepted, collect, decide, received, scans
from tests.helpers import intake_body, person, scan, unknown_tracking_no

# Every endpoint the hand-kept table listed before the document was generated: none may go missing.
LISTED_BEFORE = {
    ("post", "/auth/token"), ("get", "/offices"), ("get", "/matters"), ("post", "/cases"), ("get", "/cases"),
    ("get", "/cases/{case_no}"), ("post", "/cases/{case_no}/withdraw"), ("post", "/cases/{case_no}/accept"),
    ("post", "/cases/{case_no}/supplement-requests"), ("post", "/cases/{case_no}/reject"),
    ("post", "/cases/{case_no}/decision"), ("post", "/cases/{case_no}/follow-up"),
    ("post", "/cases/{case_no}/supplements"), ("post", "/cases/{case_no}/handover-to-applicant"),
    ("get", "/packets/{tracking_no}"), ("get", "/packets/{tracking_no}/label.pdf"),
    ("get", "/packets/{tracking_no}/label.zpl"), ("get", "/cases/{case_no}/receipt.pdf"),
    ("get", "/cases/{case_no}/supplement-notice.pdf"), ("get", "/cases/{case_no}/rejection-notice.pdf"),
    ("post", "/manifests"), ("get", "/manifests/{manifest_no}"), ("get", "/manifests/{manifest_no}.pdf"),
    ("get", "/manifests/{manifest_no}/labels.pdf"), ("post", "/packets/{tracking_no}/replacement"),
    ("post", "/scans"), ("post", "/manifests/{manifest_no}/receipt"), ("post", "/manifests/{manifest_no}/cancel"),
    ("get", "/exceptions"), ("get", "/track/{number}"), ("post", "/track/{case_no}/evaluation"),
    ("get", "/deliveries/{token}"), ("get", "/openapi.json"),
}


@pytest.fixture
def document(client) -> dict:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json


def served(app) -> set[tuple[str, str]]:
    """(method, path) of every route under /api/v1, written as the document writes paths: `{name}` for
    a parameter, one path per choice of an any(...) converter."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        paths = [rule.rule]
        for name, converter in rule._converters.items():
            for_each = getattr(converter, "items", None)
            if for_each:
                pattern = re.compile(rf"<any\([^)]*\):{name}>")
                paths = [pattern.sub(choice, p) for p in paths for choice in sorted(for_each)]
        for path in paths:
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", path).removeprefix("/api/v1")
            found |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def documented(document: dict) -> set[tuple[str, str]]:
    return {(method, path.removeprefix("/api/v1")) for path, item in document["paths"].items() for method in item}


# -- the document itself ------------------------------------------------------------------------------------

def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_endpoint_the_old_table_listed_is_still_there(document):
    assert LISTED_BEFORE - documented(document) == set()


def test_the_document_lists_exactly_the_routes_the_app_serves(document, app):
    assert served(app) - documented(document) == set(), "served but not documented"
    assert documented(document) - served(app) == set(), "documented but not served"


def test_every_path_parameter_query_and_security_is_declared(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            declared = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
            for name in re.findall(r"{(\w+)}", path):
                assert ("path", name) in declared, (method, path, name)
            staff = operation["security"] == [{"bearer": []}]
            unauthorized = "unauthorized" in operation["responses"].get("401", {}).get("description", "")
            assert staff == unauthorized, (method, path)
            if "requestBody" in operation:
                assert "invalid_request" in operation["responses"]["400"]["description"], (method, path)
    cases = document["paths"]["/api/v1/cases"]
    assert {p["name"] for p in cases["get"]["parameters"]} >= {"status", "office", "overdue", "as_of", "page"}
    assert "Idempotency-Key" in {p["name"] for p in cases["post"]["parameters"]}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_request_bodies_come_from_the_command_models(document):
    schemas = document["components"]["schemas"]
    body = document["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CaseIntake"}
    assert {"matter_code", "applicant", "materials", "identity_check", "result_delivery"} <= \
        set(schemas["CaseIntake"]["required"])
    # a field a person must fill in is required, whatever default the model keeps for its own message
    assert "outcome" in schemas["Decision"]["required"] and "score" in schemas["Evaluation"]["required"]
    assert "default" not in schemas["Decision"]["properties"]["outcome"]


# -- real answers against it -----------------------------------------------------------------------------

class Conformance:
    """Checks answers against the document's schema for their endpoint and status. The component
    schemas are closed for the check (no field besides those listed), so an answer that grows a field
    the document does not describe fails here too, while the served document stays open to clients."""

    def __init__(self, document: dict):
        self.document = document
        self.components = copy.deepcopy(document["components"]["schemas"])
        for schema in self.components.values():
            if "properties" in schema and "additionalProperties" not in schema:
                schema["additionalProperties"] = False
        self.seen: set[tuple[str, str, int]] = set()

    def check(self, r, method: str, path: str, expected: int) -> None:
        assert r.status_code == expected, (method, path, r.status_code, r.get_json())
        operation = self.document["paths"]["/api/v1" + path][method]
        status = str(r.status_code)
        assert status in operation["responses"], (method, path, status, r.get_json())
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": {"schemas": self.components}},
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(r.get_json())]
        assert problems == [], (method, path, status, problems)
        self.seen.add((method, path, r.status_code))


@pytest.fixture
def conforms(document):
    return Conformance(document)


def test_the_answers_along_a_paper_case_match_the_document(staff, frozen, conforms):
    api, check = staff, conforms.check
    r = api.client.post("/api/v1/auth/token", json={"username": "Clerk ", "password": "test-password-1"})
    check(r, "post", "/auth/token", 200)
    check(api.get("/api/v1/offices?kind=hall&division=140900", as_="clerk"), "get", "/offices", 200)
    check(api.get("/api/v1/matters?mode=proxy", as_="clerk"), "get", "/matters", 200)

    r = api.post("/api/v1/cases", intake_body(), as_="clerk", key="intake-1")
    assert r.status_code == 201
    check(r, "post", "/cases", 201)
    case = r.json
    no, tracking_no = case["case_no"], case["tracking_no"]
    check(api.get(f"/api/v1/cases/{no}", as_="clerk"), "get", "/cases/{case_no}", 200)
    check(api.get("/api/v1/cases", as_="clerk"), "get", "/cases", 200)
    check(api.get("/api/v1/cases?overdue=true&as_of=2026-06-01", as_="supervisor"), "get", "/cases", 200)
    check(api.get(f"/api/v1/packets/{tracking_no}", as_="clerk"), "get", "/packets/{tracking_no}", 200)

    # a batch: recorded, a duplicate, and two rejected (a bad check digit, a packet not yet sent)
    first = scan(tracking_no, "dispatched", "2026-03-02T10:00:00+08:00")
    batch = [first, first, scan("EA000000000CN", "dispatched", "2026-03-02T10:00:00+08:00"),
             scan(collect(api)["tracking_no"], "received", "2026-03-02T11:00:00+08:00")]
    r = api.post("/api/v1/scans", {"scans": batch}, as_="clerk")
    assert [s["status"] for s in r.json["results"]] == ["recorded", "duplicate", "rejected", "rejected"]
    check(r, "post", "/scans", 200)
    r = api.post("/api/v1/scans", {"scans": [scan(tracking_no, "exception", "2026-03-02T12:00:00+08:00",
                                                  "P140900", reason="damaged", note="外包装破损")]}, as_="courier")
    check(r, "post", "/scans", 200)
    r = api.post("/api/v1/scans", {"scans": [scan(tracking_no, "received", "2026-03-03T09:00:00+08:00",
                                                  contents=[{"code": "application_form", "status": "ok"}])]},
                 as_="officer")
    check(r, "post", "/scans", 200)
    check(api.get("/api/v1/exceptions", as_="supervisor"), "get", "/exceptions", 200)
    check(api.get(f"/api/v1/packets/{tracking_no}", as_="officer"), "get", "/packets/{tracking_no}", 200)

    check(api.post(f"/api/v1/cases/{no}/accept", as_="officer"), "post", "/cases/{case_no}/accept", 200)
    r = decide(api, no)
    check(r, "post", "/cases/{case_no}/decision", 200)
    result = r.json["result_packet"]["tracking_no"]
    check(api.get(f"/api/v1/cases/{no}", as_="officer"), "get", "/cases/{case_no}", 200)
    check(api.get(f"/api/v1/track/{no}?check={case['check_code']}"), "get", "/track/{number}", 200)

    record = [scan(result, "dispatched", "2026-03-04T10:00:00+08:00"),
              scan(result, "delivered", "2026-03-05T10:00:00+08:00")]
    assert [s["status"] for s in scans(api, record, as_="courier")] == ["recorded", "recorded"]
    check(api.get(f"/api/v1/track/{tracking_no}?check={case['check_code']}"), "get", "/track/{number}", 200)
    r = api.post(f"/api/v1/track/{no}/evaluation", {"check": case["check_code"], "score": 2, "comment": "慢"})
    check(r, "post", "/track/{case_no}/evaluation", 201)
    r = api.post(f"/api/v1/cases/{no}/follow-up", {"note": "已电话回访，说明原因"}, as_="officer")
    check(r, "post", "/cases/{case_no}/follow-up", 200)


def test_the_answers_of_the_side_paths_match_the_document(staff, frozen, conforms):
    api, check = staff, conforms.check
    # supplement requested, then sent by the window
    case = received(api)
    no = case["case_no"]
    r = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"], "note": "复印件不清"},
                 as_="officer")
    check(r, "post", "/cases/{case_no}/supplement-requests", 200)
    r = api.post(f"/api/v1/cases/{no}/supplements", {"materials": ["id_card"]}, as_="clerk")
    check(r, "post", "/cases/{case_no}/supplements", 201)
    check(api.get(f"/api/v1/track/{no}?check={case['check_code']}"), "get", "/track/{number}", 200)

    # rejected and withdrawn: each with the packet the originals go back in
    r = api.post(f"/api/v1/cases/{received(api)['case_no']}/reject", {"reason": "不属于本机关职权范围"},
                 as_="officer")
    check(r, "post", "/cases/{case_no}/reject", 200)
    r = api.post(f"/api/v1/cases/{collect(api)['case_no']}/withdraw", {"reason": "申请人不再需要"}, as_="clerk")
    check(r, "post", "/cases/{case_no}/withdraw", 200)

    # an electronic result
    electronic = accepted(api, intake_body(result_delivery={"method": "electronic"}))
    frozen.set("2026-03-03T10:00:00+08:00")
    r = decide(api, electronic["case_no"], result_file=base64.b64encode(PDF).decode())
    check(r, "post", "/cases/{case_no}/decision", 200)
    check(api.get(f"/api/v1/track/{electronic['case_no']}?check={electronic['check_code']}"),
          "get", "/track/{number}", 200)
    frozen.set("2026-03-18T10:00:00+08:00")  # past the link's 14 days
    check(api.client.get(r.json["delivery_url"]), "get", "/deliveries/{token}", 410)

    # a paper result picked up at the window
    pickup = accepted(api, intake_body(result_delivery={"method": "pickup"}))
    result = decide(api, pickup["case_no"]).json["result_packet"]["tracking_no"]
    scans(api, [scan(result, "dispatched", "2026-03-18T11:00:00+08:00")], as_="officer")
    scans(api, [scan(result, "received", "2026-03-19T11:00:00+08:00", "H140902")], as_="clerk")
    r = api.post(f"/api/v1/cases/{pickup['case_no']}/handover-to-applicant",
                 {"identity_check": {"method": "id_card_reader", "passed": True}}, as_="clerk")
    check(r, "post", "/cases/{case_no}/handover-to-applicant", 200)


def test_the_answers_about_handover_sheets_match_the_document(staff, frozen, conforms):
    api, check = staff, conforms.check
    a, b, c = (collect(api) for _ in range(3))
    r = api.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [a["tracking_no"],
                                                                                      b["tracking_no"]]}, as_="clerk")
    check(r, "post", "/manifests", 201)
    manifest_no = r.json["manifest_no"]
    check(api.get(f"/api/v1/manifests/{manifest_no}", as_="courier"), "get", "/manifests/{manifest_no}", 200)
    r = api.post("/api/v1/scans", {"scans": [{"event_id": "sheet-1", "manifest_no": manifest_no, "type": "dispatched",
                                              "at": "2026-03-02T10:00:00+08:00"}]}, as_="clerk")
    check(r, "post", "/scans", 200)
    frozen.set("2026-03-02T14:00:00+08:00")
    r = api.post(f"/api/v1/manifests/{manifest_no}/receipt",
                 {"office_code": "P140900", "tracking_nos": [a["tracking_no"], c["tracking_no"]]}, as_="courier")
    assert r.json["missing"] == [b["tracking_no"]]
    check(r, "post", "/manifests/{manifest_no}/receipt", 200)

    other = api.post("/api/v1/manifests", {"to_party": "office:D140105-GA", "tracking_nos": [c["tracking_no"]]},
                     as_="clerk").json
    check(api.post(f"/api/v1/manifests/{other['manifest_no']}/cancel", as_="clerk"),
          "post", "/manifests/{manifest_no}/cancel", 200)

    # a lost packet sent again
    lost = collect(api)["tracking_no"]
    scans(api, [scan(lost, "dispatched", "2026-03-02T15:00:00+08:00"),
                scan(lost, "exception", "2026-03-02T16:00:00+08:00", reason="lost")], as_="clerk")
    check(api.post(f"/api/v1/packets/{lost}/replacement", as_="clerk"),
          "post", "/packets/{tracking_no}/replacement", 201)


def test_a_refusal_of_every_kind_matches_the_document(staff, frozen, conforms, app):
    api, check = staff, conforms.check
    case = collect(api)
    no = case["case_no"]

    r = api.post("/api/v1/cases", intake_body(applicant=person(phone="12", id_number="1")), as_="clerk")
    assert r.status_code == 422 and len(r.json["error"]["errors"]) >= 2  # every field at once
    check(r, "post", "/cases", 422)
    r = api.post("/api/v1/cases", {"matter_code": 5}, as_="clerk")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_request"
    check(r, "post", "/cases", 400)
    check(api.post_raw("/api/v1/scans", b"{not json", as_="courier"), "post", "/scans", 400)
    check(api.client.post("/api/v1/auth/token", json={"username": "clerk"}), "post", "/auth/token", 400)
    check(api.client.post("/api/v1/auth/token", json={"username": "clerk", "password": "wrong-one"}),
          "post", "/auth/token", 401)
    check(api.get("/api/v1/cases"), "get", "/cases", 401)  # no token: 401
    check(api.get("/api/v1/cases?as_of=tomorrow", as_="clerk"), "get", "/cases", 400)
    check(api.get("/api/v1/offices?kind=shop", as_="clerk"), "get", "/offices", 400)
    check(api.post("/api/v1/cases", intake_body(), as_="officer"), "post", "/cases", 403)  # 403
    check(api.get("/api/v1/cases/140902-20260302-9999", as_="clerk"), "get", "/cases/{case_no}", 404)  # 404
    check(api.get(f"/api/v1/packets/{unknown_tracking_no()}", as_="courier"), "get", "/packets/{tracking_no}", 404)
    check(api.post(f"/api/v1/cases/{no}/accept", as_="officer"), "post", "/cases/{case_no}/accept", 409)  # 409
    check(api.get(f"/api/v1/packets/{case['tracking_no']}/label.pdf?size=A0", as_="clerk"),
          "get", "/packets/{tracking_no}/label.pdf", 400)  # 400 with `allowed`
    check(api.get(f"/api/v1/track/{no}?check=000000"), "get", "/track/{number}", 404)  # 404

    # the same key with another body: 422
    api.post("/api/v1/cases", intake_body(), as_="clerk", key="k-1")
    check(api.post("/api/v1/cases", intake_body(note="另一件"), as_="clerk", key="k-1"), "post", "/cases", 422)

    r = api.post(f"/api/v1/track/{no}/evaluation", {"check": case["check_code"], "score": 5})
    check(r, "post", "/track/{case_no}/evaluation", 409)  # 409: not delivered yet
    settings, rate = app.config["TONGBAN"], app.config["TONGBAN"].track_rate_per_minute
    settings.track_rate_per_minute = 1
    try:
        api.get(f"/api/v1/track/{no}?check={case['check_code']}")
        check(api.get(f"/api/v1/track/{no}?check={case['check_code']}"), "get", "/track/{number}", 429)  # 429
    finally:
        settings.track_rate_per_minute = rate
    assert {status for _m, _p, status in conforms.seen} >= {400, 401, 403, 404, 409, 422, 429}
