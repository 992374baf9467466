"""The officer's page by the kind of matter (issue 13 §2): a permit's extension form, the refusal that
must give its reasons, and the notices to print."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.e2e.steps import accepted, rows
from tests.helpers import permit_body
from tracking.model.tables import Case, CaseEvent


@pytest.fixture
def officer(staff, pages, frozen):
    pages.login("officer")
    return pages


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def saved(db, case_no: str) -> Case:
    return rows(db, select(Case).where(Case.case_no == case_no))[0]


def test_an_officer_extends_a_permit_once_from_the_case_page(staff, officer, db, frozen):
    case = accepted(staff, permit_body())
    no = case["case_no"]
    page = officer.get(f"/office/cases/{no}", as_="officer")
    assert "延长办理期限" in page.text and f"/office/cases/{no}/extension" in page.text
    assert f"/api/v1/cases/{no}/acceptance-notice.pdf" in page.text  # 受理通知书 to print

    missing = officer.post(f"/office/cases/{no}/extension", {"txn": "t-1", "ext_days": "5", "ext_reason": ""},
                           as_="officer")
    assert missing.status_code == 400 and "请填写延期理由" in words(missing.text)
    assert saved(db, no).extended_at is None

    due_before = saved(db, no).due_date
    r = officer.post(f"/office/cases/{no}/extension", {"txn": "t-2", "ext_days": "５", "ext_reason": "需要实地核查",
                                                       "ext_approved_by": "王建军"}, as_="officer")
    assert r.status_code == 303, r.text
    row = saved(db, no)
    assert (row.extension_days, row.extension_reason) == (5, "需要实地核查") and row.due_date > due_before
    after = officer.get(r.location, as_="officer")
    text = words(after.text)
    assert "办理期限已延长 5 个工作日" in text and f"/office/cases/{no}/extension" not in after.text


def test_a_public_service_case_offers_no_extension(staff, officer):
    case = accepted(staff)
    page = officer.get(f"/office/cases/{case['case_no']}", as_="officer")
    assert f"/office/cases/{case['case_no']}/extension" not in page.text


def test_refusing_on_the_page_asks_for_the_reasons_printed_on_the_decision_notice(staff, officer, db):
    case = accepted(staff, permit_body())
    no = case["case_no"]
    page = officer.get(f"/office/cases/{no}", as_="officer")
    assert "不予行政许可" in page.text and "不予许可决定书" in page.text
    r = officer.post(f"/office/cases/{no}/decision", {"txn": "t-3", "dec_outcome": "refused", "dec_note": " "},
                     as_="officer")
    assert r.status_code == 400 and "请填写理由" in words(r.text)
    assert saved(db, no).status == "accepted"
    assert rows(db, select(CaseEvent).where(CaseEvent.type == "decided")) == []

    r = officer.post(f"/office/cases/{no}/decision",
                     {"txn": "t-4", "dec_outcome": "refused", "dec_note": "房屋尚未办理首次登记"}, as_="officer")
    assert r.status_code == 303 and saved(db, no).outcome == "refused"
    done = officer.get(r.location, as_="officer")
    assert f"/api/v1/cases/{no}/decision-notice.pdf" in done.text
    case_page = officer.get(f"/office/cases/{no}", as_="officer")
    assert f"/api/v1/cases/{no}/decision-notice.pdf" in case_page.text and "不予许可决定书（PDF）" in case_page.text
