"""Reports to the platforms (issue 14, "Platforms"): 办件信息 on intake and every change of status, 好差评 on
a rating and its follow-up, queued in the change's own transaction, sent signed by `flask federation send`
to a receiver that checks every signature itself; personal data leaves masked only. Supervisors see the
health of each link on /supervise/links and GET /api/v1/federation/links."""
from __future__ import annotations

import pytest
from sqlmodel import select

from app.openapi import openapi_document
from tests.e2e.steps import accepted, rated
from tests.e2e.test_openapi import Conformance
from tests.e2e.test_pages_supervise import page_text
from tests.helpers import intake_body, person, resident_id
from tests.platform_receiver import Receiver
from tracking.federation import platforms
from tracking.federation.outbox import OutboxMessage

SECRET = "shared-platform-secret"


@pytest.fixture
def receiver(client):
    r = Receiver(SECRET).start()
    settings = client.application.config["TONGBAN"]
    settings.platform_cases_url = r.url("/province/cases")
    settings.platform_cross_province_url = r.url("/national/cases")
    settings.platform_ratings_url = r.url("/ratings")
    settings.platform_secret = SECRET
    yield r
    r.stop()
    platforms.configure(None)  # later tests in this process report nowhere unless they say so


def _outbox(db) -> list[OutboxMessage]:
    db.rollback()
    return list(db.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def _send(client) -> str:
    result = client.application.test_cli_runner().invoke(args=["federation", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def test_each_change_of_a_case_and_its_rating_is_reported_signed_and_masked(staff, frozen, db, receiver, client):
    api = staff
    case = rated(api, frozen, score=2, comment="等了很久才有人处理")
    r = api.post(f"/api/v1/cases/{case['case_no']}/follow-up",
                 {"note": "已电话回访申请人并致歉，改进了分拣流程", "visit_method": "phone", "visit_answer": "表示理解"},
                 as_="officer")
    assert r.status_code == 200, r.get_json()

    rows = _outbox(db)
    cases = [row for row in rows if row.destination == "cases"]
    assert [row.payload["status"] for row in cases] == [
        "collected", "in_transit", "received", "accepted", "decided", "delivered", "closed"]
    assert all(row.type == "case.report" and row.status == "pending" for row in cases)
    assert not [row for row in rows if row.destination == "cross_province"]  # 忻州 to 太原: one province
    ratings = [row for row in rows if row.destination == "ratings"]
    assert [row.payload["follow_up"]["status"] for row in ratings] == ["open", "done"]
    assert len({row.message_id for row in rows}) == len(rows)

    out = _send(client)
    assert f"送达 {len(rows)} 条" in out
    assert len(receiver.got) == len(rows) and all(g.signed for g in receiver.got)
    assert {row.status for row in _outbox(db)} == {"sent"}
    by_path = {}
    for got in receiver.got:
        by_path.setdefault(got.path, []).append(got.json)

    accepted_report = next(p for p in by_path["/province/cases"] if p["status"] == "accepted")
    assert accepted_report["case_no"] == case["case_no"] and accepted_report["status_text"] == "已受理"
    assert accepted_report["collecting_office"]["code"] == "H140902" and accepted_report["collecting_office"]["name"]
    assert accepted_report["owning_office"]["code"] == "D140105-GA"
    assert accepted_report["national_matter_code"] is None and accepted_report["cross_province"] is False
    assert accepted_report["times"]["intake"] and accepted_report["times"]["accepted"]
    assert accepted_report["times"]["decided"] is None
    delivered = next(p for p in by_path["/province/cases"] if p["status"] == "delivered")
    assert delivered["times"]["decided"] and delivered["times"]["delivered"]
    assert delivered["result_type"] == "electronic" and delivered["outcome"] == "approved"
    assert delivered["applicant"]["name"] != "张晓明" and "*" in delivered["applicant"]["name"]

    opened, done = by_path["/ratings"]
    assert (opened["score"], opened["score_text"], opened["stage"], opened["comment"]) == (
        2, "不满意", "office", "等了很久才有人处理")
    assert opened["follow_up"]["status"] == "open" and opened["follow_up"]["rectification"] is None
    assert done["follow_up"]["rectification"] == "已电话回访申请人并致歉，改进了分拣流程"
    assert done["follow_up"]["return_visit"]["method"] == "phone"
    assert done["follow_up"]["return_visit"]["answer"] == "表示理解"

    everything = b"".join(g.body for g in receiver.got).decode("utf-8")
    for secret in ("张晓明", resident_id(), "13812345678", "平阳路12号3单元502室", case["check_code"]):
        assert secret not in everything


def test_a_cross_province_case_is_also_reported_to_the_national_zone(staff, db, receiver, client):
    beijing = person(id_number=resident_id("11010519491231002"), division_code="110105",
                     address="北京市朝阳区建国路1号")
    r = staff.post("/api/v1/cases", intake_body(applicant=beijing, result_delivery={
        "method": "mail", "address": "北京市朝阳区建国路1号", "division_code": "110105"}), as_="clerk")
    assert r.status_code == 201, r.get_json()
    rows = _outbox(db)
    assert sorted(row.destination for row in rows) == ["cases", "cross_province"]
    assert all(row.payload["cross_province"] is True for row in rows)
    _send(client)
    assert sorted(g.path for g in receiver.got) == ["/national/cases", "/province/cases"]
    assert all(g.signed for g in receiver.got)


def test_nothing_is_queued_for_a_platform_not_configured(staff, db, client):
    accepted(staff)
    assert _outbox(db) == []


def test_supervisors_see_what_waits_fails_and_is_dead_on_each_link(staff, frozen, db, receiver, client, pages):
    api = staff
    accepted(api)  # collected, in transit, received, accepted: four reports for the province
    links = {link["destination"]: link for link in api.get("/api/v1/federation/links", as_="supervisor").json["links"]}
    assert set(links) == {"cases", "cross_province", "ratings"}  # configured links show even when quiet
    assert (links["cases"]["waiting"], links["cases"]["failing"], links["cases"]["dead"]) == (4, 0, 0)
    assert links["cases"]["oldest_unsent_at"].endswith("+08:00") and links["ratings"]["waiting"] == 0

    receiver.answers = [500, 400]  # the first report fails for now, the second is refused for good
    _send(client)
    r = api.get("/api/v1/federation/links", as_="supervisor")
    Conformance(openapi_document()).check(r, "get", "/federation/links", 200)
    link = next(link for link in r.json["links"] if link["destination"] == "cases")
    assert (link["waiting"], link["failing"], link["dead"], link["sent"]) == (1, 1, 1, 2)
    assert link["title"] == "省一体化平台（办件信息）" and link["oldest_unsent_seconds"] is not None

    pages.login("supervisor")
    text = page_text(pages.get("/supervise/links", as_="supervisor"))
    assert "对接状态" in text and "省一体化平台（办件信息）" in text and "好差评系统" in text
    assert "有 1 条链路存在发送失败或已停止重试的消息" in text
    home = page_text(pages.get("/supervise", as_="supervisor"))
    assert "对接状态" in home
    assert api.get("/api/v1/federation/links", as_="clerk").status_code == 403
