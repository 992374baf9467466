"""The law's clock over HTTP and the command line: each stage's due date, the overdue list, and the sweep
that deems acceptances, marks overdue stages and archives long-delivered cases.

Stage limits (working days, March 2026 has no public holiday, weekends are off):
dispatch intake + 1; receipt on the day the packet arrived (its expected arrival while it travels);
supplement notice receipt + 5; decision acceptance + 3 (无犯罪记录证明 promises 3 days); result dispatch
decision + 1. The outbound packet from 忻府区 to 小店区 police takes 2½ working days, rounded up to 3.
"""
from __future__ import annotations

from sqlmodel import select

from tests.helpers import permit_body
from tests.e2e.steps import assert_error, case_of, collect, delivered_electronically, packet_of, record, rows
from tracking.model.deadlines import STAGE_TITLES
from tracking.model.tables import Case, CaseEvent, Notification, OverdueMark

SWEPT_NOTHING = "视为受理 0 件，归档 0 件，承诺日期顺延 0 件，新增超期 0 项，发出通知 0 条。"


def stages(api, case_no: str, as_: str = "officer") -> list[tuple]:
    """(stage, due, done_at, overdue) for each of the five stages, in order."""
    found = case_of(api, case_no, as_)["deadlines"]
    for d in found:
        assert d["title"] == STAGE_TITLES[d["stage"]]
        assert d["office_code"] == ("H140902" if d["stage"] == "dispatch" else "D140105-GA"), d
    return [(d["stage"], d["due"], d["done_at"], d["overdue"]) for d in found]


def sweep(api, *args: str):
    return api.client.application.test_cli_runner().invoke(args=["sweep", *args])


def swept(api, as_of: str | None) -> str:
    result = sweep(api, *(["--as-of", as_of] if as_of else []))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def overdue_list(api, as_: str = "supervisor", query: str = "") -> dict:
    r = api.get(f"/api/v1/cases?overdue=true{query}", as_=as_)
    assert r.status_code == 200, r.get_json()
    return r.json


def events_of(db, case_no: str, type_: str) -> list[CaseEvent]:
    case = rows(db, select(Case).where(Case.case_no == case_no))[0]
    return rows(db, select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == type_)
                .order_by(CaseEvent.id))


# -- the deadlines on a case -------------------------------------------------------------------

def test_a_case_walked_through_every_stage_on_time_shows_each_due_date_and_when_it_was_done(staff, frozen):
    api = staff
    frozen.set("2026-03-05T09:00:00+08:00")  # Thursday
    case = collect(api)
    no, tn = case["case_no"], case["tracking_no"]
    assert stages(api, no) == [("dispatch", "2026-03-06", None, False), ("receipt", None, None, False),
                               ("supplement_notice", None, None, False), ("decision", None, None, False),
                               ("result_dispatch", None, None, False)]

    frozen.set("2026-03-05T16:30:00+08:00")
    record(api, tn, "dispatched", "2026-03-05T16:00:00+08:00", as_="clerk")
    # while it travels the office answers for its expected arrival: Fri 6, Mon 9, Mon 9, Tue 10 March
    assert stages(api, no)[:2] == [("dispatch", "2026-03-06", "2026-03-05T16:00:00+08:00", False),
                                   ("receipt", "2026-03-10", None, False)]

    frozen.set("2026-03-09T10:30:00+08:00")  # Monday: it came a day early
    record(api, tn, "received", "2026-03-09T10:00:00+08:00", as_="officer")
    assert stages(api, no)[1:3] == [("receipt", "2026-03-09", "2026-03-09T10:00:00+08:00", False),
                                    ("supplement_notice", "2026-03-16", None, False)]

    frozen.set("2026-03-10T11:00:00+08:00")
    assert api.post(f"/api/v1/cases/{no}/accept", as_="officer").json["status"] == "accepted"
    assert stages(api, no)[2:4] == [("supplement_notice", "2026-03-16", "2026-03-10T11:00:00+08:00", False),
                                    ("decision", "2026-03-13", None, False)]

    frozen.set("2026-03-13T16:00:00+08:00")  # Friday, the last day
    r = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "准予"}, as_="officer")
    assert r.status_code == 200, r.get_json()
    result = r.json["result_packet"]["tracking_no"]
    assert stages(api, no)[3:] == [("decision", "2026-03-13", "2026-03-13T16:00:00+08:00", False),
                                   ("result_dispatch", "2026-03-16", None, False)]

    frozen.set("2026-03-16T10:00:00+08:00")  # Monday
    record(api, result, "dispatched", "2026-03-16T09:30:00+08:00", as_="officer")
    assert stages(api, no) == [
        ("dispatch", "2026-03-06", "2026-03-05T16:00:00+08:00", False),
        ("receipt", "2026-03-09", "2026-03-09T10:00:00+08:00", False),
        ("supplement_notice", "2026-03-16", "2026-03-10T11:00:00+08:00", False),
        ("decision", "2026-03-13", "2026-03-13T16:00:00+08:00", False),
        ("result_dispatch", "2026-03-16", "2026-03-16T09:30:00+08:00", False)]
    assert overdue_list(api, query="&as_of=2026-12-31")["total"] == 0


def test_a_stage_done_after_its_due_date_stays_overdue_and_an_open_one_becomes_overdue_the_day_after(
        staff, frozen):
    api = staff
    case = collect(api)  # Monday 2 March: to be dispatched by Tuesday 3 March
    no, tn = case["case_no"], case["tracking_no"]
    frozen.set("2026-03-04T09:30:00+08:00")
    assert stages(api, no)[0] == ("dispatch", "2026-03-03", None, True)
    record(api, tn, "dispatched", "2026-03-04T09:00:00+08:00", as_="clerk")
    # from Wednesday: Thu 5, Fri 6, Fri 6, Mon 9 March
    assert stages(api, no)[:2] == [("dispatch", "2026-03-03", "2026-03-04T09:00:00+08:00", True),
                                   ("receipt", "2026-03-09", None, False)]

    frozen.set("2026-03-09T14:30:00+08:00")
    record(api, tn, "delivered", "2026-03-09T14:00:00+08:00", "D140105-GA", as_="courier")
    assert stages(api, no)[1] == ("receipt", "2026-03-09", None, False)
    frozen.set("2026-03-10T09:30:00+08:00")
    assert stages(api, no)[1] == ("receipt", "2026-03-09", None, True)  # handed in yesterday, not signed for
    record(api, tn, "received", "2026-03-10T09:00:00+08:00", as_="officer")
    assert stages(api, no)[1:3] == [("receipt", "2026-03-09", "2026-03-10T09:00:00+08:00", True),
                                    ("supplement_notice", "2026-03-17", None, False)]

    frozen.set("2026-03-18T10:00:00+08:00")
    assert stages(api, no)[2] == ("supplement_notice", "2026-03-17", None, True)
    assert api.post(f"/api/v1/cases/{no}/accept", as_="officer").status_code == 200
    assert stages(api, no)[2:4] == [("supplement_notice", "2026-03-17", "2026-03-18T10:00:00+08:00", True),
                                    ("decision", "2026-03-23", None, False)]


def test_the_stages_count_the_official_calendar_across_the_may_day_holiday(staff, frozen):
    """1–5 May 2026 are off and Saturday 9 May is a working day (劳动节调休)."""
    api = staff
    frozen.set("2026-04-30T09:00:00+08:00")  # Thursday, the last working day before the holiday
    case = collect(api)
    no, tn = case["case_no"], case["tracking_no"]
    record(api, tn, "dispatched", "2026-04-30T16:00:00+08:00", as_="clerk")
    packet = packet_of(api, tn)
    assert [(s["office_code"], s["expected"]) for s in packet["route"]] == [
        ("H140902", "2026-04-30"), ("P140900", "2026-05-06"), ("P140000", "2026-05-07"), ("P140100", "2026-05-07"),
        ("D140105-GA", "2026-05-08")]
    assert stages(api, no)[:2] == [("dispatch", "2026-05-06", "2026-04-30T16:00:00+08:00", False),
                                   ("receipt", "2026-05-08", None, False)]
    assert overdue_list(api, query="&as_of=2026-05-05")["total"] == 0  # holidays never make a stage late

    frozen.set("2026-05-08T10:30:00+08:00")
    record(api, tn, "received", "2026-05-08T10:00:00+08:00", as_="officer")
    frozen.set("2026-05-09T10:00:00+08:00")  # Saturday, a working day
    assert api.post(f"/api/v1/cases/{no}/accept", as_="officer").status_code == 200
    frozen.set("2026-05-13T15:00:00+08:00")
    decided = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "准予"}, as_="officer")
    assert decided.status_code == 200, decided.get_json()
    assert stages(api, no) == [
        ("dispatch", "2026-05-06", "2026-04-30T16:00:00+08:00", False),
        ("receipt", "2026-05-08", "2026-05-08T10:00:00+08:00", False),
        ("supplement_notice", "2026-05-14", "2026-05-09T10:00:00+08:00", False),  # 9, 11, 12, 13, 14 May
        ("decision", "2026-05-13", "2026-05-13T15:00:00+08:00", False),           # 11, 12, 13 May
        ("result_dispatch", "2026-05-14", None, False)]
    later = overdue_list(api, query="&as_of=2026-05-15")
    assert [(c["case_no"], c["stages"]) for c in later["cases"]] == [(no, ["result_dispatch"])]


def test_the_stages_are_counted_in_beijing_days_even_just_after_midnight(staff, frozen):
    api = staff
    frozen.set("2026-03-03T00:20:00+08:00")  # Tuesday in Beijing, still Monday in UTC
    case = collect(api, permit_body())  # a permit: only a permit is deemed accepted
    no, tn = case["case_no"], case["tracking_no"]
    assert stages(api, no)[0] == ("dispatch", "2026-03-04", None, False)
    frozen.set("2026-03-05T00:40:00+08:00")
    record(api, tn, "dispatched", "2026-03-05T00:30:00+08:00", as_="clerk")
    assert stages(api, no)[:2] == [("dispatch", "2026-03-04", "2026-03-05T00:30:00+08:00", True),
                                   ("receipt", "2026-03-10", None, False)]  # counted from Thursday 5 March
    assert overdue_list(api)["as_of"] == "2026-03-05"
    frozen.set("2026-03-10T00:50:00+08:00")
    record(api, tn, "received", "2026-03-10T00:40:00+08:00", as_="officer")
    assert stages(api, no)[1:3] == [("receipt", "2026-03-10", "2026-03-10T00:40:00+08:00", False),
                                    ("supplement_notice", "2026-03-17", None, False)]
    frozen.set("2026-03-18T00:10:00+08:00")
    assert [(c["case_no"], c["stages"]) for c in overdue_list(api)["cases"]] == [(no, ["supplement_notice"])]
    assert swept(api, None).startswith("巡检完成（2026-03-18）：视为受理 1 件")


def test_a_rejected_case_leaves_its_open_stages_moot_never_overdue(staff, frozen):
    api = staff
    case = collect(api)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    frozen.set("2026-03-04T10:00:00+08:00")
    assert api.post(f"/api/v1/cases/{case['case_no']}/reject", {"reason": "不属于本机关管辖"},
                    as_="officer").status_code == 200
    frozen.set("2026-04-30T10:00:00+08:00")
    assert stages(api, case["case_no"])[2:] == [
        ("supplement_notice", "2026-03-10", "2026-03-04T10:00:00+08:00", False),
        ("decision", None, None, False), ("result_dispatch", None, None, False)]
    assert overdue_list(api)["total"] == 0


# -- the overdue list ---------------------------------------------------------------------------

def test_the_overdue_list_shows_what_is_late_by_a_date_stage_by_stage_and_only_to_offices_that_may_see_it(
        staff, frozen):
    api = staff
    api.user("clerk_ty", "clerk", "H140100")
    waiting = collect(api)                                            # dispatch due Tue 3 March
    travelling = collect(api)                                         # receipt due Thu 5 March
    record(api, travelling["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    signed = collect(api)                                             # supplement notice due Tue 10 March
    record(api, signed["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    elsewhere = collect(api, as_="clerk_ty")                          # another hall's, dispatch due 3 March
    assert elsewhere["owning_office"]["code"] == "D140105-GA"
    frozen.set("2026-03-03T09:30:00+08:00")
    record(api, signed["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")

    today = overdue_list(api)
    assert today["total"] == 0 and today["cases"] == [] and today["as_of"] == "2026-03-03"

    def listed(answer):
        return [(c["case_no"], c["stages"]) for c in answer["cases"]]

    by_wed = overdue_list(api, query="&as_of=2026-03-04")
    assert by_wed["as_of"] == "2026-03-04" and by_wed["total"] == 2
    assert listed(by_wed) == [(elsewhere["case_no"], ["dispatch"]), (waiting["case_no"], ["dispatch"])]
    first = by_wed["cases"][1]
    assert first["overdue"] is True and first["status"] == "collected"
    assert first["overdue_stages"] == [{"stage": "dispatch", "title": "寄出申请材料", "due": "2026-03-03",
                                        "done_at": None, "overdue": True, "office_code": "H140902"}]

    assert packet_of(api, travelling["tracking_no"])["late"] is False
    by_fri = overdue_list(api, query="&as_of=2026-03-06")
    # the longest overdue first, then the newest
    assert listed(by_fri) == [(elsewhere["case_no"], ["dispatch"]), (waiting["case_no"], ["dispatch"]),
                              (travelling["case_no"], ["receipt"])]
    assert by_fri["cases"][2]["overdue_stages"] == [
        {"stage": "receipt", "title": "签收申请材料", "due": "2026-03-05", "done_at": None, "overdue": True,
         "office_code": "D140105-GA"}]

    by_wed_week = overdue_list(api, query="&as_of=2026-03-11")
    assert by_wed_week["total"] == 4
    assert listed(by_wed_week) == [(elsewhere["case_no"], ["dispatch"]), (waiting["case_no"], ["dispatch"]),
                                   (travelling["case_no"], ["receipt"]), (signed["case_no"], ["supplement_notice"])]
    assert [s["due"] for s in by_wed_week["cases"][3]["overdue_stages"]] == ["2026-03-10"]
    receipt_only = overdue_list(api, query="&as_of=2026-03-11&stage=receipt")
    assert receipt_only["total"] == 1 and listed(receipt_only) == [(travelling["case_no"], ["receipt"])]
    dispatch_only = overdue_list(api, query="&as_of=2026-03-11&stage=dispatch")
    assert listed(dispatch_only) == [(elsewhere["case_no"], ["dispatch"]), (waiting["case_no"], ["dispatch"])]

    # each office sees its own cases only
    assert listed(overdue_list(api, "clerk", "&as_of=2026-03-11")) == listed(by_wed_week)[1:]  # not elsewhere's
    assert listed(overdue_list(api, "clerk_ty", "&as_of=2026-03-11")) == [(elsewhere["case_no"], ["dispatch"])]
    assert listed(overdue_list(api, "officer", "&as_of=2026-03-11")) == listed(by_wed_week)
    assert_error(api.get(f"/api/v1/cases/{waiting['case_no']}", as_="clerk_ty"), 403, "forbidden")
    api.user("supervisor_xz", "supervisor", "H140902")   # 忻州: the cases collected there
    api.user("supervisor_dt", "supervisor", "P140200")   # 大同: none of these
    assert listed(overdue_list(api, "supervisor_xz", "&as_of=2026-03-11")) == listed(by_wed_week)[1:]
    assert overdue_list(api, "supervisor_dt", "&as_of=2026-03-11")["total"] == 0

    frozen.set("2026-03-06T09:00:00+08:00")  # the packet is not in by its expected Thursday
    assert packet_of(api, travelling["tracking_no"])["late"] is True
    assert packet_of(api, signed["tracking_no"])["late"] is False  # signed for on Tuesday

    assert_error(api.get("/api/v1/cases?overdue=true&stage=lunch", as_="supervisor"), 400, "invalid_request",
                 "stage")
    assert_error(api.get("/api/v1/cases?overdue=true&as_of=11.03.2026", as_="supervisor"), 400,
                 "invalid_request", "as_of")


# -- the sweep ---------------------------------------------------------------------------------

def test_the_sweep_deems_a_case_accepted_five_working_days_after_receipt_and_changes_nothing_the_second_time(
        staff, frozen, db):
    api = staff
    case = collect(api, permit_body())  # 户口迁移 is a permit (行政许可), promised in 5 working days
    no = case["case_no"]
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")

    frozen.set("2026-03-10T18:00:00+08:00")  # the fifth working day after receipt: still the office's time
    assert swept(api, "2026-03-10") == "巡检完成（2026-03-10）：" + SWEPT_NOTHING
    assert case_of(api, no)["status"] == "received"

    frozen.set("2026-03-11T01:00:00+08:00")
    before = len(rows(db, select(CaseEvent)))
    out = swept(api, "2026-03-11")
    # deemed accepted as of receipt (Tue 3 March), so the decision was due Tue 10 March: overdue at once
    assert out == ("巡检完成（2026-03-11）：视为受理 1 件，归档 0 件，承诺日期顺延 0 件，新增超期 1 项，"
                   "发出通知 3 条。"), out
    view = case_of(api, no)
    assert view["status"] == "accepted" and view["deemed_accepted"] is True
    assert view["accepted_at"] == view["received_at"] == "2026-03-03T09:00:00+08:00"
    accepted = [e for e in view["events"] if e["type"] == "accepted"]
    assert len(accepted) == 1
    assert (accepted[0]["actor"], accepted[0]["role"], accepted[0]["status"]) == ("system", "system", "accepted")
    assert accepted[0]["data"]["deemed"] is True and accepted[0]["data"]["as_of"] == "2026-03-03T09:00:00+08:00"
    notice, decision = view["deadlines"][2], view["deadlines"][3]
    assert (notice["due"], notice["done_at"], notice["overdue"], notice.get("missed")) == (
        "2026-03-10", None, True, True)
    assert (decision["due"], decision["done_at"], decision["overdue"]) == ("2026-03-10", None, True)
    marked = events_of(db, no, "stage_overdue")
    assert [(e.actor, e.office_code, e.data) for e in marked] == [
        ("system", "D140105-GA", {"stage": "decision", "due": "2026-03-10", "as_of": "2026-03-11"})]
    told = [n.text for n in rows(db, select(Notification).where(Notification.audience == "applicant"))]
    assert any(no in t and "视为受理" in t and "2026年03月03日" in t for t in told), told
    assert len(rows(db, select(CaseEvent))) == before + 2
    assert all(n.sent_at is not None for n in rows(db, select(Notification)))

    frozen.set("2026-03-11T02:00:00+08:00")
    assert swept(api, None) == "巡检完成（2026-03-11）：" + SWEPT_NOTHING  # today by default: nothing new
    assert len(rows(db, select(CaseEvent))) == before + 2
    assert len(rows(db, select(OverdueMark))) == 1


def test_after_a_supplement_the_sweep_moves_the_promised_date_and_deems_acceptance_from_the_supplements_receipt(
        staff, frozen, db):
    api = staff
    # a permit, promised in 5 working days from the expected receipt, Thursday 5 March → Thursday 12 March
    case = collect(api, permit_body())
    no = case["case_no"]
    assert case["due_date"] == "2026-03-12" and case["due_date_estimated"] is True
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    record(api, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    frozen.set("2026-03-04T10:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"]}, as_="officer")
    # received early, on Tuesday 3 March: the estimate counts from there → Tuesday 10 March
    assert r.status_code == 200 and r.json["due_date"] == "2026-03-10", r.get_json()
    assert r.json["due_date_estimated"] is True

    # outstanding on Thursday 5 and Friday 6 March: the estimate moves two working days
    frozen.set("2026-03-06T20:00:00+08:00")
    assert swept(api, "2026-03-06") == ("巡检完成（2026-03-06）：视为受理 0 件，归档 0 件，承诺日期顺延 1 件，"
                                        "新增超期 0 项，发出通知 0 条。")
    assert case_of(api, no)["due_date"] == "2026-03-12"
    assert swept(api, "2026-03-06") == "巡检完成（2026-03-06）：" + SWEPT_NOTHING

    frozen.set("2026-03-09T08:00:00+08:00")
    r = api.post(f"/api/v1/cases/{no}/supplements", {"materials": ["id_card"]}, as_="clerk")
    assert r.status_code == 201, r.get_json()
    record(api, r.json["tracking_no"], "dispatched", "2026-03-09T08:10:00+08:00", as_="clerk")
    frozen.set("2026-03-09T09:30:00+08:00")
    record(api, r.json["tracking_no"], "received", "2026-03-09T09:00:00+08:00", as_="officer")
    # not accepted yet: counted from the supplement's receipt, Monday 9 March (5, 6 March were outstanding)
    assert case_of(api, no)["due_date"] == "2026-03-16"

    frozen.set("2026-03-16T20:00:00+08:00")  # five working days after the supplement arrived
    assert swept(api, "2026-03-16") == "巡检完成（2026-03-16）：" + SWEPT_NOTHING
    frozen.set("2026-03-17T01:00:00+08:00")
    assert swept(api, "2026-03-17") == ("巡检完成（2026-03-17）：视为受理 1 件，归档 0 件，承诺日期顺延 0 件，"
                                        "新增超期 1 项，发出通知 3 条。")
    view = case_of(api, no)
    assert view["status"] == "accepted" and view["deemed_accepted"] is True
    assert view["accepted_at"] == "2026-03-09T09:00:00+08:00"
    # from the deemed acceptance: the promise is now the decision stage's due date, no longer an estimate
    assert view["due_date"] == "2026-03-16" and view["due_date_estimated"] is False
    accepted = [e for e in view["events"] if e["type"] == "accepted"]
    assert len(accepted) == 1 and accepted[0]["actor"] == "system"
    assert accepted[0]["data"]["deemed"] is True and accepted[0]["data"]["as_of"] == "2026-03-09T09:00:00+08:00"
    by_stage = {d["stage"]: (d["due"], d["done_at"], d["overdue"]) for d in view["deadlines"]}
    assert by_stage["supplement_notice"] == ("2026-03-10", "2026-03-04T10:00:00+08:00", False)
    assert by_stage["decision"] == ("2026-03-16", None, True)
    assert [e.data for e in events_of(db, no, "stage_overdue")] == [
        {"stage": "decision", "due": "2026-03-16", "as_of": "2026-03-17"}]


def test_the_sweep_marks_an_overdue_stage_once_and_again_only_when_its_due_date_moves(staff, frozen, db):
    api = staff
    idle = collect(api)                                   # never dispatched: the window is late from Wed 4 March
    moving = collect(api)
    record(api, moving["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")  # due Thu 5 March

    frozen.set("2026-03-06T01:00:00+08:00")
    assert swept(api, "2026-03-06") == ("巡检完成（2026-03-06）：视为受理 0 件，归档 0 件，承诺日期顺延 2 件，"
                                        "新增超期 2 项，发出通知 2 条。")  # both late: their estimates move
    marks = [(m.stage, m.due.isoformat(), m.office_code)
             for m in rows(db, select(OverdueMark).order_by(OverdueMark.id))]
    assert marks == [("dispatch", "2026-03-03", "H140902"), ("receipt", "2026-03-05", "D140105-GA")]
    assert [(e.actor, e.office_code, e.data) for e in events_of(db, idle["case_no"], "stage_overdue")] == [
        ("system", "H140902", {"stage": "dispatch", "due": "2026-03-03", "as_of": "2026-03-06"})]
    assert [e.data for e in events_of(db, moving["case_no"], "stage_overdue")] == [
        {"stage": "receipt", "due": "2026-03-05", "as_of": "2026-03-06"}]
    window = [n.text for n in rows(db, select(Notification).where(Notification.office_code == "H140902"))]
    office = [n.text for n in rows(db, select(Notification).where(Notification.office_code == "D140105-GA"))]
    assert any(idle["case_no"] in t and "寄出申请材料" in t and "2026年03月03日" in t for t in window), window
    assert any(moving["case_no"] in t and "签收申请材料" in t and "2026年03月05日" in t for t in office), office

    assert swept(api, "2026-03-07") == "巡检完成（2026-03-07）：" + SWEPT_NOTHING

    # the courier hands it in on Monday: the office now answers for that day
    frozen.set("2026-03-09T14:30:00+08:00")
    record(api, moving["tracking_no"], "delivered", "2026-03-09T14:00:00+08:00", "D140105-GA", as_="courier")
    assert packet_of(api, moving["tracking_no"])["late"] is True  # arrived after Thursday 5 March
    # the idle case is still not sent: its estimate moves with each working day
    assert swept(api, "2026-03-09") == "巡检完成（2026-03-09）：" + SWEPT_NOTHING.replace("顺延 0 件", "顺延 1 件")
    assert swept(api, "2026-03-10") == ("巡检完成（2026-03-10）：视为受理 0 件，归档 0 件，承诺日期顺延 1 件，"
                                        "新增超期 1 项，发出通知 1 条。")
    assert [e.data for e in events_of(db, moving["case_no"], "stage_overdue")] == [
        {"stage": "receipt", "due": "2026-03-05", "as_of": "2026-03-06"},
        {"stage": "receipt", "due": "2026-03-09", "as_of": "2026-03-10"}]
    assert len(events_of(db, idle["case_no"], "stage_overdue")) == 1
    assert swept(api, "2026-03-11") == "巡检完成（2026-03-11）：" + SWEPT_NOTHING.replace("顺延 0 件", "顺延 1 件")
    assert case_of(api, idle["case_no"])["due_date"] == "2026-03-16"  # from today, Wednesday 11 March


def test_the_sweep_archives_a_case_thirty_days_after_delivery(staff, frozen, db):
    api = staff
    case = delivered_electronically(api, frozen)  # decided Tuesday 3 March, downloaded Wednesday 4 March
    sent = case_of(api, case["case_no"])["deadlines"][4]
    assert (sent["stage"], sent["due"], sent["done_at"], sent["overdue"]) == (
        "result_dispatch", "2026-03-04", "2026-03-03T10:00:00+08:00", False)  # an electronic result goes out at once
    frozen.set("2026-04-02T01:00:00+08:00")
    assert swept(api, "2026-04-02") == "巡检完成（2026-04-02）：" + SWEPT_NOTHING
    assert case_of(api, case["case_no"])["status"] == "delivered"

    frozen.set("2026-04-03T01:00:00+08:00")
    assert swept(api, "2026-04-03") == ("巡检完成（2026-04-03）：视为受理 0 件，归档 1 件，承诺日期顺延 0 件，"
                                        "新增超期 0 项，发出通知 0 条。")
    view = case_of(api, case["case_no"])
    assert view["status"] == "closed" and view["status_text"] == "已归档"
    closed = view["events"][-1]
    assert (closed["type"], closed["actor"], closed["role"], closed["data"]) == (
        "closed", "system", "system", {"after_days": 30})
    assert swept(api, "2026-04-04") == "巡检完成（2026-04-04）：" + SWEPT_NOTHING


def test_the_sweep_refuses_a_date_it_cannot_read_with_a_clear_message(staff, frozen, db):
    api = staff
    collect(api)
    for bad in ("2026-02-30", "11.03.2026", "tomorrow"):
        result = sweep(api, "--as-of", bad)
        assert result.exit_code != 0, result.output
        assert "--as-of 应为 YYYY-MM-DD 格式的日期" in result.output, result.output
    assert rows(db, select(OverdueMark)) == []
