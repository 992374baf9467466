"""Crafted input never gets a 500: every request an attacker can shape (deep nesting, the wrong JSON
type, unreadable characters, NUL bytes, absurd dates and numbers, huge bodies) is answered with a 4xx
in the contract's error shape, and the documented limits hold (README, "Limits")."""
from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from config import clock
from mailing.tables import PacketEvent
from tests.e2e.steps import CJK, assert_error, collect, received, scans
from tests.helpers import intake_body, scan

NESTED = 100_000
UNREADABLE = ("\ud800", "a\x00b")                 # a lone surrogate; a NUL, which PostgreSQL refuses
NOT_TEXT = ([], {}, ["x"], {"x": "y"})             # where text belongs (once an "unhashable" TypeError)
ANYTHING = (*UNREADABLE, *NOT_TEXT, None, True, 10**30, -1, 2.5, "", "x" * 20_000)


def assert_refused(r, statuses=(400, 404, 409, 413, 422)) -> dict:
    """A 4xx in the contract's shape: {"error": {"code", "message" in Chinese, …}}."""
    assert r.status_code in statuses, (r.status_code, r.get_data(as_text=True)[:500])
    body = r.get_json()
    assert isinstance(body, dict) and list(body) == ["error"], body
    assert isinstance(body["error"]["code"], str) and CJK.search(body["error"]["message"]), body
    return body["error"]


def nodes(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON body (object values and list items), as a path of keys and indices."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (*path, i)
            yield from nodes(item, (*path, i))


def replaced(body: Any, path: tuple, new: Any) -> Any:
    copy = json.loads(json.dumps(body))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return copy


def text_places(body: Any) -> list[tuple]:
    """The paths of the body's text values."""
    out = []
    for path in nodes(body):
        node = body
        for key in path:
            node = node[key]
        if isinstance(node, str):
            out.append(path)
    return out


_addresses = itertools.count(1)


def post(api, path: str, body: Any, as_: str | None = None):
    """JSON as a client may send it: ASCII with escapes, so a lone surrogate travels as \\ud800. Public
    calls come from ever new addresses, so that the per-client limit never answers in the body's place."""
    if as_ is None:
        n = next(_addresses)
        api.client.environ_base["REMOTE_ADDR"] = f"10.200.{n // 256 % 256}.{n % 256}"
    return api.post_raw(path, json.dumps(body), as_=as_)


def deep(kind: str) -> str:
    return "[" * NESTED + "]" * NESTED if kind == "list" else '{"a":' * NESTED + "1" + "}" * NESTED


# -- deep nesting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["list", "object"])
def test_deeply_nested_json_is_refused_before_it_is_parsed_signed_in_or_not(staff, kind):
    api = staff
    case = collect(api)
    for path, as_ in [("/api/v1/auth/token", None), (f"/api/v1/track/{case['case_no']}/evaluation", None),
                      ("/api/v1/cases", "clerk"), ("/api/v1/scans", "courier"), ("/api/v1/manifests", "clerk"),
                      (f"/api/v1/cases/{case['case_no']}/reject", "officer")]:
        error = assert_error(api.post_raw(path, deep(kind), as_=as_), 400, "invalid_request", "body")
        assert "嵌套" in error["message"], error


def test_nesting_within_the_limit_is_read_and_past_it_refused(staff):
    from app.api import MAX_DEPTH
    api = staff
    # a body nested exactly to the limit is JSON like any other (here: not credentials)
    at_limit = '{"username": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + ', "password": "x"}'
    assert assert_error(api.post_raw("/api/v1/auth/token", at_limit), 400, "invalid_request")["field"] == "username"
    past = '{"username": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + ', "password": "x"}'
    assert "嵌套" in assert_error(api.post_raw("/api/v1/auth/token", past), 400, "invalid_request")["message"]
    # brackets inside strings are text, not nesting
    quoted = json.dumps({"username": "[" * 10_000, "password": "{" * 100})
    assert_error(api.post_raw("/api/v1/auth/token", quoted), 400, "invalid_request", "username")


# -- every place of every body: the wrong type, unreadable characters, absurd values ------------------

def _bodies(api) -> list[tuple[str, str, dict, bool]]:
    """(path, who, a valid body, True when any change of a text value must be refused)."""
    case = collect(api)
    no = case["case_no"]
    return [
        ("/api/v1/auth/token", None, {"username": "clerk", "password": "test-password-1"}, True),
        ("/api/v1/cases", "clerk", intake_body(note="带齐材料"), True),
        (f"/api/v1/cases/{no}/withdraw", "clerk", {"reason": "申请人撤回"}, True),
        (f"/api/v1/cases/{no}/reject", "officer", {"reason": "不属于本机关", "apply_to": "迎泽区公安分局",
                                                   "apply_to_office": "D140106-GA"}, True),
        (f"/api/v1/cases/{no}/supplement-requests", "officer",
         {"materials": ["id_card"], "note": "复印件不清", "due": "2026-03-20"}, True),
        (f"/api/v1/cases/{no}/decision", "officer", {"outcome": "approved", "note": "准予", "filename": "a.pdf"},
         True),
        (f"/api/v1/cases/{no}/supplements", "clerk", {"materials": [{"code": "id_card", "copies": 1}]}, True),
        (f"/api/v1/cases/{no}/handover-to-applicant", "clerk",
         {"identity_check": {"method": "face", "passed": True}}, True),
        (f"/api/v1/cases/{no}/follow-up", "officer", {"note": "已联系申请人并说明情况"}, True),
        (f"/api/v1/track/{no}/evaluation", None, {"check": case["check_code"], "score": 5, "comment": "好"}, True),
        ("/api/v1/manifests", "clerk", {"to_party": "courier:courier", "tracking_nos": [case["tracking_no"]]}, True),
        (f"/api/v1/packets/{case['tracking_no']}/replacement", "clerk", {"materials": ["id_card"]}, True),
    ]


def test_no_value_anywhere_in_a_body_gets_a_500_and_unreadable_or_mistyped_text_is_refused(staff, frozen):
    api = staff
    for path, who, body, strict in _bodies(api):
        for place in nodes(body):
            for value in ANYTHING:
                r = post(api, path, replaced(body, place, value), who)
                if r.status_code < 400:
                    continue  # e.g. a blank note; what matters is that nothing breaks
                assert_refused(r, (400, 401, 403, 404, 409, 422, 429))
        if strict:
            for place in text_places(body):
                for value in (*UNREADABLE, *NOT_TEXT):
                    r = post(api, path, replaced(body, place, value), who)
                    assert r.status_code in (400, 401, 404, 422), (path, place, value, r.status_code, r.get_json())
                    assert_refused(r, (400, 401, 404, 422))


def test_unreadable_text_in_a_name_is_refused_at_the_field(staff):
    api = staff
    for value in UNREADABLE:
        body = intake_body()
        body["applicant"]["name"] = "张" + value
        assert_error(post(api, "/api/v1/cases", body, "clerk"), 400, "invalid_request", "applicant.name")


def test_every_place_of_a_scan_is_judged_on_its_own_and_never_sinks_the_batch(staff, frozen):
    api = staff
    case = collect(api)
    good = scan(case["tracking_no"], "dispatched", "2026-03-02T09:00:00+08:00", note="交寄",
                contents=[{"code": "id_card", "status": "ok"}])
    for place in nodes(good):
        for value in ANYTHING:
            bad = replaced(good, place, value)
            r = post(api, "/api/v1/scans", {"scans": [bad]}, "courier")
            assert r.status_code == 200, (place, value, r.status_code, r.get_data(as_text=True)[:300])
            result = r.json["results"][0]
            if result["status"] == "rejected":
                assert CJK.search(result["error"]["message"]) and result["error"]["code"], result
    for place in text_places(good):
        for value in (*UNREADABLE, *NOT_TEXT):
            bad = replaced(good, place, value)
            result = post(api, "/api/v1/scans", {"scans": [bad]}, "courier").json["results"][0]
            assert result["status"] == "rejected", (place, value, result)
    # the batch itself in the wrong shape
    for batch in ([1, "a", None, []], "scans", {"a": 1}, [], None):
        r = api.post("/api/v1/scans", {"scans": batch}, as_="courier")
        if r.status_code != 200:
            assert_refused(r, (400,))
        else:
            assert all(item["status"] == "rejected" for item in r.json["results"]), r.json


# -- NUL bytes at the edge: query and path parameters, headers ---------------------------------------

QUERIES = ["/api/v1/offices?kind={v}", "/api/v1/offices?division={v}", "/api/v1/matters?q={v}",
           "/api/v1/matters?mode={v}", "/api/v1/cases?status={v}", "/api/v1/cases?office={v}",
           "/api/v1/cases?stage={v}", "/api/v1/cases?id_number={v}", "/api/v1/cases?as_of={v}",
           "/api/v1/cases?page={v}", "/api/v1/exceptions?since={v}", "/api/v1/exceptions?reason={v}"]
PATHS = ["/api/v1/cases/{v}", "/api/v1/packets/{v}", "/api/v1/manifests/{v}", "/api/v1/track/{v}?check=123456",
         "/api/v1/deliveries/{v}", "/api/v1/packets/{v}/label.pdf", "/api/v1/cases/{v}/receipt.pdf"]


@pytest.mark.parametrize("address", QUERIES + PATHS)
def test_a_nul_byte_in_a_query_or_path_parameter_is_refused_at_the_edge(staff, address):
    r = staff.get(address.format(v="EA%00"), as_="supervisor")
    assert_error(r, 400, "invalid_request")


def test_a_nul_byte_in_a_path_parameter_of_a_change_is_refused_at_the_edge(staff):
    api = staff
    for path in ["/api/v1/cases/%00/accept", "/api/v1/track/%00/evaluation", "/api/v1/manifests/%00/receipt"]:
        assert_error(api.post(path, {"check": "1", "score": 5}, as_="officer"), 400, "invalid_request")


def test_a_nul_byte_in_an_idempotency_key_is_refused(staff):
    api = staff
    r = api.post("/api/v1/cases", intake_body(), as_="clerk", key="k\x00")
    assert_error(r, 400, "invalid_request")


# -- dates and numbers out of any plausible range ---------------------------------------------------------

@pytest.mark.parametrize("address", ["/api/v1/cases?as_of={d}", "/api/v1/cases?overdue=true&as_of={d}",
                                     "/api/v1/exceptions?since={d}", "/api/v1/exceptions?until={d}"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"])
def test_a_date_far_from_now_in_a_query_is_refused(staff, address, day):
    assert_error(staff.get(address.format(d=day), as_="supervisor"), 400, "invalid_request")


def test_a_plausible_date_in_a_query_is_answered(staff):
    assert staff.get("/api/v1/exceptions?since=2020-01-01&until=2099-12-31", as_="supervisor").status_code == 200
    assert staff.get("/api/v1/cases?overdue=true&as_of=2030-06-30", as_="supervisor").status_code == 200


@pytest.mark.parametrize("due", ["0001-01-01", "9999-12-31"])
def test_a_supplement_due_date_far_from_now_is_refused(staff, frozen, due):
    api = staff
    case = received(api)
    r = api.post(f"/api/v1/cases/{case['case_no']}/supplement-requests", {"materials": ["id_card"], "due": due},
                 as_="officer")
    assert_error(r, 400, "invalid_request", "due")


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "0001-01-01T00:00:00",
                                "1899-12-31T12:00:00+08:00"])
def test_a_scan_time_out_of_any_range_is_refused_per_scan(staff, frozen, at):
    api = staff
    case = collect(api)
    results = scans(api, [scan(case["tracking_no"], "dispatched", at)], as_="clerk")
    assert results[0]["status"] == "rejected" and results[0]["error"]["field"] == "at", results


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page=100001", "page=1e9", "page=abc",
                                   "per_page=x"])
def test_an_absurd_page_is_refused(staff, query):
    error = assert_error(staff.get(f"/api/v1/cases?{query}", as_="supervisor"), 400, "invalid_request")
    assert error["field"] in ("page", "per_page")


def test_pages_within_the_limits_are_answered_and_per_page_is_capped(staff):
    r = staff.get("/api/v1/cases?page=100000&per_page=99999999999999999999", as_="supervisor")
    assert r.status_code == 200 and r.json["page"] == 100000 and r.json["per_page"] == 200, r.json


# -- sizes -----------------------------------------------------------------------------------------------

def test_a_ten_megabyte_note_is_refused_and_no_case_is_made(staff, db):
    from tracking.model.tables import Case
    api = staff
    r = api.post("/api/v1/cases", intake_body(note="注" * 10_000_000), as_="clerk")
    error = assert_error(r, 400, "invalid_request", "note")
    assert "500" in error["message"]
    db.rollback()
    assert db.exec(select(Case)).first() is None


def test_a_body_over_the_size_limit_gets_a_413_in_the_error_shape(staff, app):
    api = staff
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    r = api.post_raw("/api/v1/cases", b" " * size, as_="clerk")
    assert_error(r, 413, "invalid_request")
    r = api.post_raw("/api/v1/auth/token", b" " * size)
    assert_error(r, 413, "invalid_request")


def test_batches_are_bounded(staff):
    from tracking.commands.custody import MAX_SCANS
    from tracking.commands.manifests import MAX_PACKETS
    api = staff
    one = scan("EA000000005CN", "dispatched", "2026-03-02T09:00:00+08:00")
    assert_error(api.post("/api/v1/scans", {"scans": [one] * (MAX_SCANS + 1)}, as_="courier"), 400,
                 "invalid_request", "scans")
    r = api.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": ["EA000000005CN"] *
                                       (MAX_PACKETS + 1)}, as_="clerk")
    assert_error(r, 400, "invalid_request", "tracking_nos")


# -- scans at implausible times ------------------------------------------------------------------------

@pytest.fixture
def plausibility(app):
    """The shipped defaults, which the e2e fixture widens for tests that script days ahead of the clock."""
    from config.settings import Settings
    settings, defaults = app.config["TONGBAN"], Settings()
    assert (defaults.scan_ahead_minutes, defaults.scan_behind_days) == (10, 365)
    settings.scan_ahead_minutes, settings.scan_behind_days = defaults.scan_ahead_minutes, defaults.scan_behind_days
    return settings


def test_a_scan_ahead_of_the_clock_or_long_past_is_refused_on_its_own(staff, frozen, plausibility, db):
    api = staff
    case = collect(api)
    now = clock.now().astimezone(clock.BEIJING)

    def at(delta: timedelta) -> str:
        return (now + delta).isoformat()

    ahead = scan(case["tracking_no"], "dispatched", at(timedelta(minutes=11)))
    long_ago = scan(case["tracking_no"], "dispatched", at(-timedelta(days=366)))
    good = scan(case["tracking_no"], "dispatched", at(timedelta(minutes=9)))  # a scanner's clock runs fast
    results = scans(api, [ahead, long_ago, good], as_="clerk")
    for result in results[:2]:
        assert result["status"] == "rejected", result
        assert result["error"]["code"] == "implausible_time" and result["error"]["field"] == "at", result
        assert CJK.search(result["error"]["message"])
    assert results[2]["status"] == "recorded", results[2]
    db.rollback()
    recorded = [e.event_id for e in db.exec(select(PacketEvent))]
    assert recorded == [good["event_id"]]


def test_a_scan_a_year_old_within_the_window_is_still_recorded(staff, frozen, plausibility):
    api = staff
    case = collect(api)
    frozen.set("2027-03-01T09:00:00+08:00")
    result = scans(api, [scan(case["tracking_no"], "dispatched", "2026-03-02T09:00:00+08:00")], as_="clerk")[0]
    assert result["status"] == "recorded", result


def test_the_window_follows_the_settings(staff, frozen, plausibility):
    api = staff
    case = collect(api)
    plausibility.scan_ahead_minutes = 60 * 24
    ahead = (datetime.fromisoformat("2026-03-02T09:00:00+08:00") + timedelta(hours=23)).isoformat()
    assert scans(api, [scan(case["tracking_no"], "dispatched", ahead)], as_="clerk")[0]["status"] == "recorded"
