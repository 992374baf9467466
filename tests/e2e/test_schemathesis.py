"""schemathesis against the OpenAPI document the service serves, in-process (WSGI, no network): for
every operation a fixed, derandomised budget of generated requests, valid and invalid, signed in as
the role that may call it. Every answer is below 500, has a status the document lists for that
operation and a body its schema allows, and every 4xx carries the contract's error shape."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from app.openapi import PREFIX, PUBLIC, ROUTES, Route
from tests.e2e.steps import CJK, collect

EXAMPLES = 25  # per operation: about 800 requests in all, about a minute of work on SQLite
# a sign-in spends a password hash's time on purpose, known name or not
FEWER = {("post", "/auth/token"): 10}

# who calls what: the role that gets past "who may" to the parsing and the rules behind it
CLERK_ACTIONS = ("/cases", "/withdraw", "/supplements", "/handover-to-applicant", "/manifests", "/replacement",
                 "/cancel", ".pdf", ".zpl")


def caller(route: Route) -> str | None:
    if route.who == PUBLIC:
        return None
    if route.path.endswith(("/scans", "/receipt")):
        return "courier"
    if route.path.endswith(CLERK_ACTIONS) or route.path.startswith("/manifests/"):
        return "clerk"
    return "supervisor" if route.method == "get" else "officer"


def operation_strategy(app, route: Route):
    """Requests for one operation, valid and (where it takes any input) invalid ones."""
    operation = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", app)[PREFIX + route.path][route.method]
    modes = [GenerationMode.POSITIVE]
    if route.body is not None or route.query or "{" in route.path:
        modes.append(GenerationMode.NEGATIVE)
    return st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))


def assert_error_shape(response) -> None:
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], error
    assert isinstance(error.get("message"), str) and CJK.search(error["message"]), error


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_every_answer_is_documented_and_no_request_gets_a_500(app, staff, frozen, route):
    collect(staff)  # a case and its packet, so that some generated numbers find something
    who = caller(route)
    token = {"Authorization": f"Bearer {staff.tokens[who]}"} if who else {}

    @given(case=operation_strategy(app, route))
    @settings(max_examples=FEWER.get((route.method, route.path), EXAMPLES), derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def each(case):
        response = case.call(headers={**(case.headers or {}), **token})
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                 response_schema_conformance])
        if 400 <= response.status_code < 500:
            assert_error_shape(response)

    each()
