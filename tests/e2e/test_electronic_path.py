"""An electronic result (网络送达): a file with the decision, a signed link that expires after 14 days."""
from __future__ import annotations

import base64

from sqlmodel import select

from mailing.tables import Packet
from tests.e2e.steps import KEPT_PDF, PDF, accepted, assert_error, case_of, count, decide, rows
from tests.helpers import intake_body
from tracking.commands.notifications import message
from tracking.model.tables import CaseEvent, Notification, ResultFile

ELECTRONIC = {"method": "electronic"}


def _decided(api, frozen) -> tuple[dict, str]:
    case = accepted(api, intake_body(result_delivery=ELECTRONIC))
    frozen.set("2026-03-03T10:00:00+08:00")
    r = decide(api, case["case_no"], result_file=base64.b64encode(PDF).decode(), filename="无犯罪记录证明.pdf")
    assert r.status_code == 200, r.json
    return case, r.json["delivery_url"]


def test_an_electronic_decision_without_its_result_file_is_refused(staff, frozen, db):
    api = staff
    case = accepted(api, intake_body(result_delivery=ELECTRONIC))
    r = decide(api, case["case_no"])
    assert_error(r, 400, "invalid_request", "result_file")
    r = decide(api, case["case_no"], result_file="这不是Base64!")
    assert_error(r, 400, "invalid_request", "result_file")
    assert case_of(api, case["case_no"])["status"] == "accepted"
    assert count(db, ResultFile) == 0


def test_an_electronic_result_is_delivered_by_a_signed_link_and_the_first_download_delivers_the_case(
        staff, frozen, db):
    api = staff
    case, url = _decided(api, frozen)
    no = case["case_no"]
    view = case_of(api, no)
    assert view["status"] == "decided" and view["outcome"] == "approved"
    assert url.startswith("/api/v1/deliveries/")
    assert count(db, Packet, Packet.kind == "result") == 0  # nothing to post
    notices = rows(db, select(Notification).where(Notification.audience == "applicant"))
    assert not any(url.rsplit("/", 1)[1] in n.text for n in notices)  # the stored row holds no working link
    env = api.client.application.extensions["tongban"]["env"]
    sent = [message(db, env, n) for n in notices]  # the message as sent carries it
    assert any(url in t and "14天内有效" in t for t in sent), sent

    frozen.set("2026-03-05T08:00:00+08:00")
    first = api.client.get(url)
    assert first.status_code == 200
    assert first.data == KEPT_PDF and first.mimetype == "application/pdf"
    view = case_of(api, no)
    assert view["status"] == "delivered" and view["status_text"] == "已送达"
    assert view["delivered_at"] == "2026-03-05T08:00:00+08:00"
    assert view["events"][-1]["type"] == "delivered" and view["events"][-1]["data"] == {"how": "electronic"}

    frozen.set("2026-03-16T08:00:00+08:00")  # still within the 14 days
    again = api.client.get(url)
    assert again.status_code == 200 and again.data == KEPT_PDF
    assert count(db, CaseEvent, CaseEvent.type == "delivered") == 1


def test_the_decision_answer_says_when_the_link_expires(staff, frozen):
    api = staff
    case = accepted(api, intake_body(result_delivery=ELECTRONIC))
    frozen.set("2026-03-03T10:00:00+08:00")
    r = decide(api, case["case_no"], result_file=base64.b64encode(PDF).decode())
    assert r.json["delivery_expires"] == "2026-03-17T10:00:00+08:00"
    assert "result_packet" not in r.json


def test_a_forged_delivery_link_is_not_found(staff, frozen):
    api = staff
    case, url = _decided(api, frozen)
    token = url.rsplit("/", 1)[1]
    body, mac = token.split(".")
    forged_mac = mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB")
    other_file = base64.urlsafe_b64encode(b"999.4102444800").decode().rstrip("=")
    for bad in (f"{body}.{forged_mac}", f"{other_file}.{mac}", "not-a-token", token + "x"):
        r = api.client.get(f"/api/v1/deliveries/{bad}")
        assert_error(r, 404, "not_found")
    assert case_of(api, case["case_no"])["status"] == "decided"


def test_an_expired_delivery_link_answers_gone(staff, frozen):
    api = staff
    case, url = _decided(api, frozen)
    frozen.set("2026-03-18T10:00:00+08:00")  # 15 days after the decision
    r = api.client.get(url)
    assert_error(r, 410, "link_expired")
    assert case_of(api, case["case_no"])["status"] == "decided"


def test_a_decision_reports_every_mistake_at_once_in_words_an_officer_reads(staff, frozen, db):
    api = staff
    case = accepted(api, intake_body(result_delivery=ELECTRONIC))
    r = api.post(f"/api/v1/cases/{case['case_no']}/decision",
                 {"outcome": "maybe", "note": "长" * 501, "result_file": "这不是Base64!"}, as_="officer")
    error = assert_error(r, 400, "invalid_request", "outcome")
    assert error["message"] == "请选择办理结果：准予或不予。"
    assert [(e["field"], e["code"]) for e in error["errors"]] == [
        ("outcome", "invalid_request"), ("note", "invalid_request"), ("result_file", "invalid_request")]
    assert case_of(api, case["case_no"])["status"] == "accepted"
    assert count(db, ResultFile) == 0


def test_a_result_file_over_the_limit_is_refused_by_rule(staff, frozen, monkeypatch):
    from tracking.commands import decisions
    monkeypatch.setattr(decisions, "MAX_RESULT_BYTES", len(PDF) - 1)
    case = accepted(staff, intake_body(result_delivery=ELECTRONIC))
    r = decide(staff, case["case_no"], result_file=base64.b64encode(PDF).decode())
    assert_error(r, 422, "result_file_size", "result_file")


def test_the_page_and_the_api_say_the_same_about_a_decision_without_an_outcome_or_a_file(staff, pages, frozen):
    case = accepted(staff, intake_body(result_delivery=ELECTRONIC))
    no = case["case_no"]
    pages.login("officer")
    for data in ({"note": "准予"}, {"outcome": "approved", "note": "准予"}):
        api = staff.post(f"/api/v1/cases/{no}/decision", data, as_="officer")
        said = assert_error(api, 400, "invalid_request")["message"]
        form = {f"dec_{name}": value for name, value in data.items()}
        page = pages.post(f"/office/cases/{no}/decision", {"txn": f"d-{len(data)}", **form}, as_="officer")
        assert page.status_code == 400 and f'<p class="field-error">{said}</p>' in page.text, said
    assert "approved" not in said and "Base64" not in said
    assert case_of(staff, no)["status"] == "accepted"
