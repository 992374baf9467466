"""多地联办 in a real browser (issue 18): a clerk in 太原 sees a household move's steps and their offices before
registering it; 小店区's police accept the case and finish their step with the 准予迁入证明; 忻州's police find
the step on their desk, accept it and finish it, sending the 户籍档案 as a packet; the applicant's phone shows
every step with its office. A screenshot at each step."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_paper_path import Scanner
from tests.helpers import PASSWORD, resident_id
from tests.scans_made import pdf_scan

MONDAY = "2026-03-02"
ID = resident_id("14090219880512302")


def test_a_household_move_shows_its_steps_at_the_window_the_offices_and_on_the_phone(
        server, db, browser, context, phone, shots, frozen, tmp_path, monkeypatch):
    import app.users
    from werkzeug.security import generate_password_hash
    monkeypatch.setattr(app.users, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))
    for username, role, office, name in [("clerk_ty", "clerk", "H140105", "孙丽"),
                                         ("officer", "officer", "D140105-GA", "李建国"),
                                         ("officer_xz", "officer", "D140902-GA", "郭强")]:
        app.users.create_user(db, username, role, PASSWORD, office, name)
    db.commit()
    frozen.set(f"{MONDAY}T09:00:00+08:00")

    # -- the window in 太原: the steps before anything is registered -------------------------------------
    clerk = context.new_page()
    sign_in(clerk, server, "clerk_ty")
    clerk.goto(f"{server}/window/intake/GA-HKQY-01")
    steps = clerk.locator("#joint-steps li").all_inner_texts()
    assert [s.split("：")[0] for s in steps] == ["迁入地", "迁出地", "迁入地"], steps
    assert "办理迁出登记" in steps[1]
    clerk.fill("#applicant-name", "刘芳")
    clerk.fill("#applicant-id_number", ID)
    clerk.fill("#applicant-phone", "13912345678")
    clerk.fill("#applicant-address", "太原市小店区平阳路12号")
    clerk.fill("#applicant-division_code", "140902")
    clerk.fill("#subject-division_code", "140105")
    for code in ("application_form", "id_card", "hukou_book", "spouse_hukou_book", "marriage_cert"):
        clerk.check(f"#materials-{code}-received")
    clerk.check("#identity_check-passed")
    clerk.check("input[name='result_delivery.method'][value=pickup]")
    clerk.screenshot(path=shots / "joint-01-intake-form.png", full_page=True)
    with clerk.expect_navigation():
        clerk.click("button:has-text('下一步：核对信息')")
    planned = clerk.locator("#joint-steps li").all_inner_texts()
    assert planned == ["迁入地 太原市公安局小店分局户政科：准予迁入审批", "迁出地 忻州市公安局忻府分局户政科：办理迁出登记",
                       "迁入地 太原市公安局小店分局户政科：落户登记"], planned
    clerk.screenshot(path=shots / "joint-02-intake-check.png", full_page=True)
    clerk.click("button:has-text('确认登记')")
    clerk.wait_for_url(re.compile(r"/window/intake/done/"))
    case_no = clerk.inner_text("#case-no").strip()
    check_code = clerk.inner_text("#check-code").strip()
    tracking_no = clerk.inner_text(".intake-tracking-no").strip()

    # the packet reaches 小店区's police (their scanner talks to the API)
    window = Scanner(browser, server, "clerk_ty")
    window.scan(frozen, "dispatched", f"{MONDAY}T10:00:00+08:00", tracking_no=tracking_no)
    frozen.set("2026-03-03T08:59:00+08:00")  # a token of the day it is used
    xiaodian = Scanner(browser, server, "officer")
    xiaodian.scan(frozen, "received", "2026-03-03T09:00:00+08:00", tracking_no=tracking_no)

    # -- 小店区's police: accept the case, finish the first step with its document ------------------------
    frozen.set("2026-03-03T10:00:00+08:00")
    officer = context.new_page()
    sign_in(officer, server, "officer")
    officer.goto(f"{server}/office/cases/{case_no}")
    with officer.expect_navigation():
        officer.click("#accept button:has-text('受理')")
    joint = officer.locator("#joint")
    expect(joint).to_contain_text("办理中")
    expect(officer.locator("#decide")).to_have_count(0)  # not before the other steps are done
    permit = tmp_path / "准予迁入证明.pdf"
    permit.write_bytes(pdf_scan(title="move permit"))
    officer.set_input_files("#stp_file_move_permit", str(permit))
    officer.fill("#stp_note", "符合投靠配偶迁入条件")
    officer.screenshot(path=shots / "joint-03-office-step.png", full_page=True)
    with officer.expect_navigation():
        officer.click("#step-complete-approve button:has-text('完成本环节')")
    assert "“准予迁入审批”已完成" in officer.inner_text("main")

    # -- 忻州's police: the step is on their desk; accept it, finish it, the archive goes as a packet -------
    frozen.set("2026-03-04T10:00:00+08:00")
    xinzhou = context.new_page()
    sign_in(xinzhou, server, "officer_xz")
    xinzhou.goto(f"{server}/office")
    desk = xinzhou.locator("#joint + p + .table-wrap")
    expect(desk).to_contain_text(case_no)
    expect(desk).to_contain_text("迁出地：办理迁出登记")
    xinzhou.screenshot(path=shots / "joint-04-desk.png", full_page=True)
    xinzhou.click(f"#joint + p + .table-wrap >> text={case_no}")
    xinzhou.wait_for_url(re.compile(rf"/office/cases/{case_no}"))
    # the 准予迁入证明 is there to read
    expect(xinzhou.locator("#joint a", has_text="准予迁入证明")).to_have_count(1)
    with xinzhou.expect_navigation():
        xinzhou.click("#step-accept-move_out button:has-text('受理本环节')")
    cert = tmp_path / "户口迁移证.pdf"
    cert.write_bytes(pdf_scan(title="migration certificate"))
    xinzhou.set_input_files("#stp_file_migration_cert", str(cert))
    with xinzhou.expect_navigation():
        xinzhou.click("#step-complete-move_out button:has-text('完成本环节')")
    said = xinzhou.inner_text("main")
    assert "“办理迁出登记”已完成" in said and "转递档案" in said, said
    xinzhou.screenshot(path=shots / "joint-05-archive-sent.png", full_page=True)

    # -- the applicant's phone: every step with its office -------------------------------------------------
    mobile = phone.new_page()
    mobile.goto(f"{server}/track/{case_no}")
    mobile.fill("#check", check_code)
    with mobile.expect_navigation():
        mobile.tap("button:has-text('查询')")
    titles = mobile.locator("#joint-steps .timeline__title").all_inner_texts()
    assert titles == ["迁入地 太原市公安局小店分局户政科：准予迁入审批", "迁出地 忻州市公安局忻府分局户政科：办理迁出登记",
                      "迁入地 太原市公安局小店分局户政科：落户登记"], titles
    states = mobile.locator("#joint-steps .timeline__meta").all_inner_texts()
    assert states[0].startswith("已完成") and states[1].startswith("已完成") and states[2].startswith("待转递档案送达")
    events = mobile.locator(".timeline__title").all_inner_texts()
    assert "迁出地 忻州市公安局忻府分局户政科：已开具户口迁移证，户籍档案已寄往迁入地" in events
    assert "刘芳" not in mobile.inner_text("main")
    mobile.screenshot(path=shots / "joint-06-phone.png", full_page=True)
    for scanner in (window, xiaodian):
        scanner.close()
