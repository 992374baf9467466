"""Electronic results after the decision (issue 16): the collecting window re-issues an expired download
link, and a third party checks the result's verification code on a public page, which says 已撤销 once the
owning office revokes it. No personal data ever reaches the verifier."""
from __future__ import annotations

import base64
import json
import re

from sqlmodel import select

from tests.e2e.steps import KEPT_PDF, PDF, accepted, assert_error, case_of, count, decide, rows
from tests.helpers import intake_body
from tracking.commands.notifications import message
from tracking.model import verification
from tracking.model.tables import AccessLog, CaseEvent, Notification, ResultFile

ELECTRONIC = {"method": "electronic"}
CODE = re.compile(r"验证码([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})")


def _decided(api, frozen) -> tuple[dict, dict]:
    case = accepted(api, intake_body(result_delivery=ELECTRONIC))
    frozen.set("2026-03-03T10:00:00+08:00")
    r = decide(api, case["case_no"], result_file=base64.b64encode(PDF).decode(), filename="张晓明-无犯罪记录证明.pdf")
    assert r.status_code == 200, r.json
    return case, r.json


def _sent(api, db, milestone: str) -> list[str]:
    """The applicant's messages of a milestone, as the transport gets them (links and codes in place)."""
    env = api.client.application.extensions["tongban"]["env"]
    notes = rows(db, select(Notification).where(Notification.audience == "applicant",
                                                Notification.milestone == milestone).order_by(Notification.id))
    return [message(db, env, n) for n in notes]


def _code(api, db) -> str:
    sent = _sent(api, db, "decided_electronic")
    found = CODE.search(sent[0])
    assert found, sent
    return found.group(1)


# -- re-issuing the download link -------------------------------------------------------------------

def test_the_window_re_issues_an_expired_link_and_only_the_new_one_opens_the_result(staff, frozen, db):
    api = staff
    case, decided = _decided(api, frozen)
    no, old = case["case_no"], decided["delivery_url"]
    frozen.set("2026-03-18T10:00:00+08:00")  # 15 days later: the first link has expired
    assert_error(api.client.get(old), 410, "link_expired")

    frozen.set("2026-03-18T10:05:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/result-link", None, as_="clerk")
    assert r.status_code == 201, r.json
    new = r.json["delivery_url"]
    assert new.startswith("/api/v1/deliveries/") and new != old
    assert r.json["expires_at"] == "2026-04-01T10:05:00+08:00"  # delivery_link_days from now

    # the applicant is told the new link, never the old one, with the verification code again
    sent = _sent(api, db, "result_link_reissued")
    assert len(sent) >= 1 and all(new in text and old not in text for text in sent), sent
    assert "2026年04月01日10时05分前有效" in sent[0] and _code(api, db) in sent[0]
    stored = rows(db, select(Notification).where(Notification.milestone == "result_link_reissued"))
    assert all(new.rsplit("/", 1)[1] not in n.text for n in stored)  # the stored row holds no working link

    assert_error(api.client.get(old), 410, "link_expired")  # expired stays expired
    got = api.client.get(new)
    assert got.status_code == 200 and got.data == KEPT_PDF
    view = case_of(api, no)
    assert view["status"] == "delivered"
    assert [e["type"] for e in view["events"]][-2:] == ["result_link_reissued", "delivered"]

    again = api.client.get(new)  # a second download delivers nothing more
    assert again.status_code == 200 and count(db, CaseEvent, CaseEvent.type == "delivered") == 1


def test_re_issuing_a_link_still_valid_retires_the_previous_one(staff, frozen, db):
    api = staff
    case, decided = _decided(api, frozen)
    frozen.set("2026-03-05T09:00:00+08:00")
    r = api.post(f"/api/v1/cases/{case['case_no']}/result-link", None, as_="clerk")
    assert r.status_code == 201
    assert_error(api.client.get(decided["delivery_url"]), 410, "link_replaced")
    assert api.client.get(r.json["delivery_url"]).status_code == 200
    # the decision's own message, should it go out only now, carries the current link too
    assert all(r.json["delivery_url"] in text for text in _sent(api, db, "decided_electronic"))


def test_the_tracking_page_offers_the_re_issued_link(staff, frozen):
    api = staff
    case, _ = _decided(api, frozen)
    frozen.set("2026-03-18T10:00:00+08:00")
    seen = api.client.get(f"/api/v1/track/{case['case_no']}?check={case['check_code']}").json["electronic_result"]
    assert seen["expired"] and seen["url"] is None
    r = api.post(f"/api/v1/cases/{case['case_no']}/result-link", None, as_="clerk")
    seen = api.client.get(f"/api/v1/track/{case['case_no']}?check={case['check_code']}").json["electronic_result"]
    assert seen["url"] == r.json["delivery_url"] and not seen["expired"] and not seen["revoked"]


def test_only_a_case_with_an_electronic_result_has_a_link_to_re_issue(staff, frozen, db):
    api = staff
    paper = accepted(api)
    assert_error(api.post(f"/api/v1/cases/{paper['case_no']}/result-link", None, as_="clerk"),
                 409, "no_electronic_result")
    waiting = accepted(api, intake_body(result_delivery=ELECTRONIC))
    assert_error(api.post(f"/api/v1/cases/{waiting['case_no']}/result-link", None, as_="clerk"),
                 409, "no_electronic_result")
    assert count(db, CaseEvent, CaseEvent.type == "result_link_reissued") == 0


# -- verification codes ------------------------------------------------------------------------------

def test_a_verification_code_comes_with_the_result_and_says_valid_without_personal_data(staff, frozen, db):
    api = staff
    case, _ = _decided(api, frozen)
    code = _code(api, db)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}", code)
    stored = rows(db, select(ResultFile))[0]
    assert verification.grouped(stored.verification_code) == code
    assert case_of(api, case["case_no"])["electronic_result"]["verification_code"] == code

    frozen.set("2026-03-20T10:00:00+08:00")
    r = api.client.get(f"/api/v1/verify/{code}")
    assert r.status_code == 200
    assert r.json == {"code": code, "status": "valid", "status_text": "有效", "matter": "无犯罪记录证明",
                      "issued_by": r.json["issued_by"], "issued_on": "2026-03-03", "revoked_on": None,
                      "case_no": r.json["case_no"], "sha256": stored.sha256}
    assert "小店" in r.json["issued_by"] and "公安" in r.json["issued_by"]
    assert r.json["case_no"] != case["case_no"] and r.json["case_no"].endswith(case["case_no"][-2:])
    text = json.dumps(r.json, ensure_ascii=False)
    for personal in ("张晓明", "13812345678", "平阳路", "502", case["check_code"], case["case_no"]):
        assert personal not in text, personal
    # typed by a person: lower case, without the hyphens, with spaces
    typed = code.replace("-", " ").lower()
    assert api.client.get(f"/api/v1/verify/{typed}").json["status"] == "valid"


def test_an_unknown_code_and_a_malformed_one_look_the_same(staff, frozen, db):
    api = staff
    _decided(api, frozen)
    code = _code(api, db)
    other = ("2" if code[0] != "2" else "3") + code[1:]
    answers = [api.client.get(f"/api/v1/verify/{c}") for c in (other, "0000-1111-OOOO-IIII", "short")]
    for r in answers:
        assert_error(r, 404, "not_found")
    assert len({r.json["error"]["message"] for r in answers}) == 1


def test_the_owning_office_revokes_a_result_and_the_public_page_says_so_without_the_reason(staff, frozen, db):
    api = staff
    case, decided = _decided(api, frozen)
    no, code = case["case_no"], _code(api, db)
    frozen.set("2026-03-06T15:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/result-revocation", {"reason": "申请人提交的材料系伪造"}, as_="officer")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "revoked" and r.json["verification_code"] == code
    assert r.json["revoked_at"] == "2026-03-06T15:00:00+08:00"

    seen = api.client.get(f"/api/v1/verify/{code}").json
    assert seen["status"] == "revoked" and seen["status_text"] == "已撤销" and seen["revoked_on"] == "2026-03-06"
    assert "伪造" not in json.dumps(seen, ensure_ascii=False)
    page = api.client.get(f"/verify/{code}")
    assert page.status_code == 200 and "已撤销" in page.text and "伪造" not in page.text and "张晓明" not in page.text

    stored = rows(db, select(ResultFile))[0]
    assert (stored.revoked_by, stored.revoke_reason) == ("officer", "申请人提交的材料系伪造")
    told = _sent(api, db, "result_revoked")
    assert told and code in told[0] and "伪造" in told[0]
    assert_error(api.client.get(decided["delivery_url"]), 410, "result_revoked")
    assert_error(api.post(f"/api/v1/cases/{no}/result-link", None, as_="clerk"), 409, "result_revoked")
    assert_error(api.post(f"/api/v1/cases/{no}/result-revocation", {"reason": "再次撤销"}, as_="officer"),
                 409, "already_revoked")
    assert case_of(api, no)["electronic_result"]["revoked_at"] == "2026-03-06T15:00:00+08:00"


def test_a_revocation_needs_its_reason(staff, frozen, db):
    api = staff
    case, _ = _decided(api, frozen)
    assert_error(api.post(f"/api/v1/cases/{case['case_no']}/result-revocation", {}, as_="officer"),
                 400, "invalid_request", "reason")
    assert rows(db, select(ResultFile))[0].revoked_at is None


def test_the_public_verification_page_finds_a_code_typed_into_its_form(staff, frozen, db):
    api = staff
    _decided(api, frozen)
    code = _code(api, db)
    form = api.client.get("/verify")
    assert form.status_code == 200 and "电子结果验证" in form.text
    found = api.client.get("/verify", query_string={"code": code.replace("-", "")})
    assert found.status_code == 200 and "结果有效" in found.text and "无犯罪记录证明" in found.text
    missing = api.client.get("/verify", query_string={"code": "ABCD-EFGH-JKLM-NPQR"})
    assert missing.status_code == 404 and "未找到该验证码" in missing.text


def test_verification_is_rate_limited_like_tracking(staff, frozen, db):
    api = staff
    _decided(api, frozen)
    code = _code(api, db)
    limit = api.client.application.config["TONGBAN"].track_rate_per_minute
    answers = [api.client.get(f"/api/v1/verify/{code}").status_code for _ in range(limit + 1)]
    assert answers[:limit] == [200] * limit
    assert_error(api.client.get(f"/api/v1/verify/{code}"), 429, "too_many_requests")


# -- the staff see the result in the page --------------------------------------------------------------

def test_the_staff_of_the_two_offices_open_the_result_in_the_page_and_each_read_is_logged(staff, frozen, db):
    api = staff
    case, _ = _decided(api, frozen)
    no = case["case_no"]
    view = case_of(api, no)["electronic_result"]
    assert view["file_url"] == f"/api/v1/cases/{no}/result-file"
    for who in ("officer", "clerk"):
        got = api.get(view["file_url"], as_=who)
        assert got.status_code == 200 and got.data == KEPT_PDF and got.mimetype == "application/pdf"
        assert got.headers["Content-Disposition"].startswith("inline")
    logged = rows(db, select(AccessLog.username).where(AccessLog.what == "result_file", AccessLog.case_no == no))
    assert sorted(logged) == ["clerk", "officer"]
    assert case_of(api, no)["status"] == "decided"  # looking is not delivering
    assert case_of(api, no, as_="supervisor")["electronic_result"]["file_url"] is None
    assert_error(api.get(view["file_url"], as_="supervisor"), 403, "forbidden")


def test_the_window_re_issues_and_the_office_revokes_from_their_case_pages(staff, pages, frozen, db):
    api = staff
    case, decided = _decided(api, frozen)
    no = case["case_no"]
    frozen.set("2026-03-20T09:00:00+08:00")  # the link has expired
    pages.login("clerk")
    pages.login("officer")
    page = pages.get(f"/window/cases/{no}", as_="clerk")
    assert "重新发送下载链接" in page.text and _code(api, db) in page.text and "已过期" in page.text
    r = pages.post(f"/window/cases/{no}/result-link", {"txn": "reissue-1"}, as_="clerk", csrf_from=f"/window/cases/{no}")
    assert r.status_code == 303 and r.location.endswith(f"/window/cases/{no}#result")
    assert count(db, CaseEvent, CaseEvent.type == "result_link_reissued") == 1
    assert "已重新发送电子结果下载链接" in pages.get(f"/window/cases/{no}", as_="clerk").text

    office = pages.get(f"/office/cases/{no}", as_="officer")
    assert "撤销电子结果" in office.text and f'data-url="/api/v1/cases/{no}/result-file"' in office.text
    assert "重新发送下载链接" not in office.text
    r = pages.post(f"/office/cases/{no}/result-revocation", {"txn": "revoke-1", "reason": "决定已依法撤销"},
                   as_="officer", csrf_from=f"/office/cases/{no}")
    assert r.status_code == 303
    assert rows(db, select(ResultFile))[0].revoke_reason == "决定已依法撤销"
    assert "已撤销" in pages.get(f"/office/cases/{no}", as_="officer").text
