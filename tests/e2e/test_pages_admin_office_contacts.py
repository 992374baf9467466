"""The admin gives an office the phone and mailbox where it hears of incoming packets and overdue stages
(Office.notify_phone / notify_email): checked, logged old and new as any office edit, and used by the next
message to that office. Not reference data: setting them leaves the row refreshed by the reference data."""
from __future__ import annotations

import pytest
from sqlmodel import select

from routing.tables import Office
from tests.e2e.steps import collect, record, rows
from tests.e2e.test_pages_admin import admin, audit_rows, text_of  # noqa: F401 (admin is a fixture)
from tracking.commands.notifications import recipient
from tracking.model.tables import Notification

OWNER = "D140105-GA"  # the owning office of the cases tests.helpers.intake_body makes


@pytest.fixture
def kept(db):
    """The office edited here is put back as it was."""
    before = db.get(Office, OWNER).model_dump()
    db.rollback()
    yield
    db.rollback()
    office = db.get(Office, OWNER)
    for name, value in before.items():
        setattr(office, name, value)
    db.add(office)
    db.commit()


def _form(office: Office, **changes) -> dict:
    """The edit form as the page fills it in, with `changes` typed over it."""
    return {"name": office.name, "address": office.address, "postcode": office.postcode, "phone": office.phone,
            "active": "yes", "notify_phone": office.notify_phone, "notify_email": office.notify_email, **changes}


def _office(db) -> Office:
    [office] = rows(db, select(Office).where(Office.code == OWNER))
    return office


def test_the_edit_page_offers_the_office_contacts_for_messages(admin, db, kept):
    page = admin.get(f"/admin/offices/{OWNER}/edit", as_="admin").text
    assert 'name="notify_phone"' in page and 'name="notify_email"' in page
    assert "接收通知的手机号码" in page and "来件提醒" in page


def test_an_office_is_given_a_duty_phone_and_a_mailbox_logged_old_and_new(admin, db, kept):
    office = _office(db)
    r = admin.post(f"/admin/offices/{OWNER}/edit",
                   _form(office, notify_phone="+86 139 0000 1111", notify_email=" GA-Duty@XD.Gov.CN "), as_="admin")
    assert r.status_code == 303
    page = admin.get(r.headers["Location"], as_="admin").text
    assert "已保存接收通知的联系方式。" in page
    words = text_of(page)
    assert "接收通知的手机号码 13900001111" in words and "接收通知的电子邮箱 GA-Duty@xd.gov.cn" in words
    saved = _office(db)
    assert (saved.notify_phone, saved.notify_email) == ("13900001111", "GA-Duty@xd.gov.cn")
    assert saved.edited is False  # the reference data still refreshes its name and address
    [row] = audit_rows(db)
    assert (row.actor, row.action, row.target_kind, row.target_id) == ("admin", "office_updated", "office", OWNER)
    assert row.changes == {"notify_phone": ["", "13900001111"], "notify_email": ["", "GA-Duty@xd.gov.cn"]}
    history = text_of(admin.get(f"/admin/offices/{OWNER}", as_="admin").text)
    assert "接收通知的手机号码" in history and "13900001111" in history

    # cleared again: back to the log only, and logged
    r = admin.post(f"/admin/offices/{OWNER}/edit", _form(saved, notify_phone="", notify_email=""), as_="admin")
    assert r.status_code == 303
    assert (_office(db).notify_phone, _office(db).notify_email) == ("", "")
    assert audit_rows(db)[-1].changes == {"notify_phone": ["13900001111", ""],
                                          "notify_email": ["GA-Duty@xd.gov.cn", ""]}


def test_a_landline_or_a_wrong_mailbox_is_refused_next_to_the_fields(admin, db, kept):
    office = _office(db)
    before = office.model_dump()
    r = admin.post(f"/admin/offices/{OWNER}/edit",
                   _form(office, notify_phone="0351-4041234", notify_email="duty@"), as_="admin")
    assert r.status_code == 400
    for field, words in (("notify_phone", "接收通知的手机号码应为11位手机号码（短信不能发到固定电话）。"),
                         ("notify_email", "电子邮箱格式不正确，请核对；没有电子邮箱可不填。")):
        assert f'href="#{field}"' in r.text and r.text.count(words) == 2  # in the summary and at the field
    assert 'value="0351-4041234"' in r.text  # what was typed stays
    assert _office(db).model_dump() == before and audit_rows(db) == []


def test_changing_the_name_as_well_marks_the_office_edited(admin, db, kept):
    office = _office(db)
    r = admin.post(f"/admin/offices/{OWNER}/edit",
                   _form(office, name=office.name + "（新址）", notify_phone="13900001111"), as_="admin")
    assert r.status_code == 303
    assert "以后重新载入基础数据时" in admin.get(r.headers["Location"], as_="admin").text
    assert _office(db).edited is True


def test_the_next_incoming_packet_is_told_to_the_contacts_the_admin_gave(admin, db, kept, frozen):
    r = admin.post(f"/admin/offices/{OWNER}/edit",
                   _form(_office(db), notify_phone="13900001111", notify_email="ga-duty@xd.gov.cn"), as_="admin")
    assert r.status_code == 303
    case = collect(admin.api)
    record(admin.api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    told = rows(db, select(Notification).where(Notification.office_code == OWNER).order_by(Notification.channel))
    assert [(n.channel, n.milestone) for n in told] == [("email", "incoming_packet"), ("sms", "incoming_packet")]
    assert case["tracking_no"] in told[0].text and "忻府区" in told[0].text
    env = admin.api.client.application.extensions["tongban"]["env"]
    assert [recipient(db, env, n) for n in told] == ["ga-duty@xd.gov.cn", "13900001111"]
