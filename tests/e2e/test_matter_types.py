"""Rules by the kind of matter (issue 13 §2): the catalogue says each matter's type and legal basis; a
permit is deemed accepted after five silent working days and may be extended once, a notarization never;
the 受理通知书 and the refusal's decision notice cite the right law and remedy; a supplement not brought
by its due date ends the case as 视为撤回申请 and the originals go back.

March 2026 has no public holiday. The default intake (无犯罪记录证明) is a public service; permit_body()
is 户口迁移（购房落户）, a permit promised in 5 working days; 学历公证 is a notarization decided by the
太原市 notary office (the applicant's household city).
"""
from __future__ import annotations

import re

from sqlmodel import select

from mailing.tables import Packet
from tests import pdfs
from tests.e2e.steps import accepted, assert_error, case_of, collect, received, record, rows, track
from tests.helpers import intake_body, permit_body
from tracking.model.tables import Case, CaseEvent, Notification

NOTARY = "D140100-GZ"


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def notice(api, case_no: str, kind: str, as_: str = "officer") -> str:
    r = api.get(f"/api/v1/cases/{case_no}/{kind}-notice.pdf", as_=as_)
    assert r.status_code == 200, r.get_json()
    assert r.mimetype == "application/pdf"
    return flat(pdfs.text(r.data))


def sweep(api, as_of: str) -> str:
    result = api.client.application.test_cli_runner().invoke(args=["sweep", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def diploma_body() -> dict:
    return intake_body(matter_code="GZ-XLGZ-01", materials=[
        {"code": "application_form", "copies": 1, "original": True},
        {"code": "id_card", "copies": 1, "original": False},
        {"code": "diploma", "copies": 1, "original": True}])


def notary_case(api) -> dict:
    """A 学历公证 received by the notary office on Tuesday 3 March."""
    api.user("notary", "officer", NOTARY)
    case = collect(api, diploma_body())
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="notary")
    return case


def stage(view: dict, name: str) -> dict:
    return next(d for d in view["deadlines"] if d["stage"] == name)


# -- the catalogue ---------------------------------------------------------------------------

def test_every_matter_in_the_catalogue_says_its_type_and_the_law_it_is_decided_under(staff):
    r = staff.get("/api/v1/matters", as_="clerk")
    assert r.status_code == 200
    matters = {m["code"]: m for m in r.json["matters"]}
    titles = {"permit": "行政许可", "notarization": "公证", "confirmation": "行政确认", "public_service": "公共服务"}
    for m in matters.values():
        assert m["type"] in titles and m["type_text"] == titles[m["type"]], m
        assert m["legal_basis"].startswith("《"), m
    assert (matters["GA-HKQY-05"]["type"], matters["SJ-GYCP-01"]["type"]) == ("permit", "permit")
    assert "《中华人民共和国行政许可法》" in matters["HB-PWXK-01"]["legal_basis"]
    assert "《排污许可管理条例》" in matters["HB-PWXK-01"]["legal_basis"]
    assert matters["GZ-XLGZ-01"]["type"] == "notarization"
    assert matters["GZ-XLGZ-01"]["legal_basis"] == "《中华人民共和国公证法》《公证程序规则》"
    assert matters["BDC-DYDJ-01"]["type"] == "confirmation"
    assert matters["GA-WFZM-01"]["type"] == "public_service"


# -- deemed acceptance by type ------------------------------------------------------------------

def test_a_notarization_is_never_deemed_accepted_while_a_permit_received_the_same_day_is(staff, frozen):
    api = staff
    notary = notary_case(api)
    permit = received(api, permit_body())
    public = received(api)
    frozen.set("2026-03-11T01:00:00+08:00")  # six working days after receipt
    out = sweep(api, "2026-03-11")
    assert out.startswith("巡检完成（2026-03-11）：视为受理 1 件"), out
    assert case_of(api, permit["case_no"])["status"] == "accepted"
    for case, who in ((notary, "notary"), (public, "officer")):
        view = case_of(api, case["case_no"], who)
        assert (view["status"], view["deemed_accepted"]) == ("received", False)
        notice_stage = stage(view, "supplement_notice")  # the office is simply late, not overtaken by law
        assert (notice_stage["due"], notice_stage["overdue"], notice_stage.get("missed")) == ("2026-03-10", True, None)
        assert not [e for e in view["events"] if e["type"] == "accepted"]


# -- the 受理通知书 ------------------------------------------------------------------------------

def test_an_accepted_case_gets_an_acceptance_notice_citing_its_law_and_the_decision_date(staff, frozen, db):
    api = staff
    case = received(api, permit_body())
    no = case["case_no"]
    assert_error(api.get(f"/api/v1/cases/{no}/acceptance-notice.pdf", as_="officer"), 409, "not_accepted")
    frozen.set("2026-03-04T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/accept", as_="officer")
    assert r.status_code == 200 and r.json["due_date"] == "2026-03-11", r.get_json()  # Wed 4 + 5 working days
    for who in ("officer", "clerk"):
        text = notice(api, no, "acceptance", who)
        assert "受理通知书" in text and no in text and "户口迁移（购房落户）" in text, text
        assert "《中华人民共和国行政许可法》第三十二条" in text and "决定予以受理" in text, text
        assert "受理日期：2026年03月04日" in text and "2026年03月11日前作出决定" in text, text
        assert "行政许可事项" in text and "承诺办理时限为5个工作日" in text, text
        assert "《中华人民共和国户口登记条例》" in text, text


def test_a_notarization_acceptance_notice_cites_the_notarization_rules(staff, frozen):
    api = staff
    case = notary_case(api)
    assert api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="notary").status_code == 200
    text = notice(api, case["case_no"], "acceptance", "notary")
    assert "依照《公证程序规则》的规定，本机关决定予以受理" in text, text
    assert "行政许可" not in text, text


# -- the refusal's decision notice -----------------------------------------------------------------

REASON = "所购房屋尚未办理不动产权首次登记，不符合购房落户条件"


def test_a_refused_permit_gets_a_decision_notice_with_its_reasons_and_review_or_lawsuit(staff, frozen):
    api = staff
    case = accepted(api, permit_body())
    no = case["case_no"]
    url = f"/api/v1/cases/{no}/decision-notice.pdf"
    assert_error(api.get(url, as_="officer"), 409, "not_refused")
    frozen.set("2026-03-05T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "refused", "note": REASON}, as_="officer")
    assert r.status_code == 200, r.get_json()
    for who in ("officer", "clerk"):
        text = notice(api, no, "decision", who)
        assert "不予许可决定书" in text and no in text, text
        assert "本机关决定不予行政许可" in text and f"理由：{REASON}" in text, text
        assert "六十日内依法申请行政复议" in text and "六个月内依法向人民法院提起行政诉讼" in text, text
        assert "复查" not in text, text
        assert "2026年03月05日" in text, text


def test_a_refused_notarization_names_review_by_the_notary_office_not_a_lawsuit(staff, frozen):
    api = staff
    case = notary_case(api)
    no = case["case_no"]
    assert api.post(f"/api/v1/cases/{no}/accept", as_="notary").status_code == 200
    r = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "refused"}, as_="notary")  # the API keeps note optional
    assert r.status_code == 200, r.get_json()
    text = notice(api, no, "decision", "notary")
    assert "不予办理公证决定书" in text and "本机关决定不予办理公证" in text, text
    assert "《中华人民共和国公证法》第三十九条" in text and "申请复查" in text, text
    assert "行政诉讼" not in text and "不予许可" not in text, text
    assert "理由：本机关未另行说明理由" in text, text


def test_an_approved_case_has_no_refusal_notice(staff, frozen):
    api = staff
    case = accepted(api)
    assert api.post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "approved"}, as_="officer").status_code == 200
    assert_error(api.get(f"/api/v1/cases/{case['case_no']}/decision-notice.pdf", as_="officer"), 409, "not_refused")


# -- extension (延期) --------------------------------------------------------------------------

EXTENSION = {"days": 5, "reason": "需要到房屋所在地实地核查", "approved_by": "王建军"}


def test_an_extension_moves_the_promise_and_the_decision_stage_tells_the_applicant_and_is_given_once(
        staff, frozen, db):
    api = staff
    case = received(api, permit_body())
    no = case["case_no"]
    url = f"/api/v1/cases/{no}/extension"
    assert_error(api.post(url, EXTENSION, as_="officer"), 409, "invalid_transition")  # not accepted yet
    frozen.set("2026-03-04T10:00:00+08:00")
    assert api.post(f"/api/v1/cases/{no}/accept", as_="officer").status_code == 200
    assert stage(case_of(api, no), "decision")["due"] == "2026-03-11"

    frozen.set("2026-03-09T15:00:00+08:00")
    r = api.post(url, EXTENSION, as_="officer")
    assert r.status_code == 200, r.get_json()
    assert r.json["due_date"] == "2026-03-18" and r.json["status"] == "accepted"  # five more working days
    assert r.json["extension"] == {"days": 5, "reason": EXTENSION["reason"], "extended_at": "2026-03-09T15:00:00+08:00"}
    view = case_of(api, no)
    assert view["due_date"] == "2026-03-18" and stage(view, "decision")["due"] == "2026-03-18"
    extended = [e for e in view["events"] if e["type"] == "extended"]
    assert len(extended) == 1 and extended[0]["actor"] == "officer"
    assert extended[0]["data"] == {"days": 5, "reason": EXTENSION["reason"], "approved_by": "王建军",
                                   "due_before": "2026-03-11", "due_date": "2026-03-18"}
    told = [n.text for n in rows(db, select(Notification).where(Notification.audience == "applicant"))]
    assert any(no in t and "延长5个工作日" in t and "2026年03月18日" in t and EXTENSION["reason"] in t
               for t in told), told
    timeline = track(api, no, case["check_code"]).json
    assert any(e["type"] == "extended" and e["text"].endswith("延长5个工作日") for e in timeline["events"]), timeline
    assert "延长5个工作日" in notice(api, no, "acceptance")

    assert_error(api.post(url, {**EXTENSION, "days": 3}, as_="officer"), 409, "already_extended")
    assert case_of(api, no)["due_date"] == "2026-03-18"


def test_only_a_permit_may_be_extended_and_only_by_one_to_ten_working_days(staff, frozen, db):
    api = staff
    api.user("officer_yz", "officer", "D140106-GA")
    public = accepted(api)
    error = assert_error(api.post(f"/api/v1/cases/{public['case_no']}/extension", EXTENSION, as_="officer"),
                         422, "extension_not_allowed")
    assert "公共服务" in error["message"]
    permit = accepted(api, permit_body())
    url = f"/api/v1/cases/{permit['case_no']}/extension"
    assert_error(api.post(url, {**EXTENSION, "days": 11}, as_="officer"), 400, "invalid_request", "days")
    assert_error(api.post(url, {**EXTENSION, "days": 0}, as_="officer"), 400, "invalid_request", "days")
    assert_error(api.post(url, {"days": 5}, as_="officer"), 400, "invalid_request", "reason")
    assert_error(api.post(url, EXTENSION, as_="officer_yz"), 403, "forbidden")
    assert_error(api.post(url, EXTENSION, as_="clerk"), 403, "forbidden")
    for no in (public["case_no"], permit["case_no"]):
        found = rows(db, select(Case).where(Case.case_no == no))[0]
        assert (found.extension_days, found.extended_at) == (0, None)


# -- 逾期未补正 ---------------------------------------------------------------------------------

def test_a_supplement_not_brought_by_its_due_date_ends_the_case_as_deemed_withdrawn_and_the_originals_go_back(
        staff, frozen, db):
    api = staff
    late = received(api)
    brought = received(api)
    frozen.set("2026-03-04T10:00:00+08:00")
    for case in (late, brought):
        r = api.post(f"/api/v1/cases/{case['case_no']}/supplement-requests",
                     {"materials": ["id_card"], "due": "2026-03-10"}, as_="officer")
        assert r.status_code == 200, r.get_json()
    r = api.post(f"/api/v1/cases/{brought['case_no']}/supplements", {"materials": ["id_card"]}, as_="clerk")
    assert r.status_code == 201, r.get_json()

    frozen.set("2026-03-10T20:00:00+08:00")  # the last day: still the applicant's
    assert "撤回" not in sweep(api, "2026-03-10")
    assert case_of(api, late["case_no"])["status"] == "supplement_requested"

    frozen.set("2026-03-11T01:00:00+08:00")
    out = sweep(api, "2026-03-11")
    assert out.endswith("逾期未补正视为撤回 1 件。"), out
    view = case_of(api, late["case_no"])
    assert (view["status"], view["status_text"]) == ("deemed_withdrawn", "视为撤回申请")
    assert view["reason"] == "逾期未补正，视为撤回申请"
    ended = [e for e in view["events"] if e["type"] == "deemed_withdrawn"]
    assert len(ended) == 1 and (ended[0]["actor"], ended[0]["role"]) == ("system", "system")
    assert ended[0]["data"] == {"supplement_due": "2026-03-10", "as_of": "2026-03-11"}
    # the materials that reached the owning office go back as after a withdrawal, to the applicant's address
    found = rows(db, select(Case).where(Case.case_no == late["case_no"]))[0]
    back = rows(db, select(Packet).where(Packet.case_id == found.id, Packet.kind == "return"))
    assert len(back) == 1 and back[0].from_office == "D140105-GA" and back[0].to_office is None
    assert sorted(m["code"] for m in back[0].contents) == ["application_form", "id_card"]
    told = [n.text for n in rows(db, select(Notification).where(Notification.case_id == found.id,
                                                                Notification.audience == "applicant"))]
    assert any("视为撤回申请" in t and back[0].tracking_no in t for t in told), told
    timeline = track(api, late["case_no"], late["check_code"]).json
    assert timeline["status_text"] == "视为撤回申请" and timeline["evaluable"] is True
    assert any(e["type"] == "deemed_withdrawn" and "视为撤回申请" in e["text"] for e in timeline["events"])
    assert all(not d["overdue"] for d in view["deadlines"] if d["stage"] in ("decision", "result_dispatch"))

    # collected at the window in time: the office will receive it, the case goes on
    assert case_of(api, brought["case_no"])["status"] == "supplement_requested"
    before = len(rows(db, select(CaseEvent)))
    assert "撤回" not in sweep(api, "2026-03-12")
    assert len(rows(db, select(Packet).where(Packet.kind == "return"))) == 1
    assert case_of(api, late["case_no"])["status"] == "deemed_withdrawn"
    assert len(rows(db, select(CaseEvent).where(CaseEvent.type == "deemed_withdrawn"))) == 1
    assert len(rows(db, select(CaseEvent))) >= before
