"""Materials as files, in a real browser (issue 16): the clerk registers a case whose materials all travel as
scans, uploads a real PDF and a real JPEG from the intake's confirmation page (a refused file is shown next to its
material), and the officer at the owning office sees the case on the desk at once, with thumbnails, and opens
the scan in the page."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.helpers import resident_id
from tests.scans_made import jpeg_photo, pdf_scan, pdf_with_javascript


def test_the_window_uploads_the_scans_and_the_office_reviews_them_in_the_page(server, accounts, browser, context,
                                                                               shots, frozen):
    frozen.set("2026-03-02T09:00:00+08:00")
    clerk = context.new_page()
    sign_in(clerk, server, "clerk")
    clerk.goto(f"{server}/window/intake/GA-WFZM-01")
    clerk.fill("#applicant-name", "张晓明")
    clerk.fill("#applicant-id_number", resident_id())
    clerk.fill("#applicant-phone", "13812345678")
    clerk.fill("#applicant-division_code", "140105")
    for code in ("application_form", "id_card"):
        clerk.check(f"#materials-{code}-received")
        clerk.select_option(f"#materials-{code}-travels", "file")  # 扫描件: nothing goes by post
    clerk.select_option("#materials-application_form-original", "1")
    clerk.check("#identity_check-passed")
    clerk.check("input[name='result_delivery.method'][value=mail]")
    clerk.fill("#result_delivery-address", "太原市小店区平阳路12号3单元502室")
    clerk.fill("#result_delivery-division_code", "140105")
    with clerk.expect_navigation():
        clerk.click("button:has-text('下一步：核对信息')")
    answers = clerk.inner_text("main")
    assert "扫描件" in answers and "无需寄送" in answers, answers
    clerk.click("button:has-text('确认登记')")
    clerk.wait_for_url(re.compile(r"/window/intake/done/"))
    case_no = clerk.inner_text("#case-no").strip()
    assert "全部材料以扫描件提交" in clerk.inner_text("main")
    assert clerk.locator("#label-frame").count() == 0  # no packet, no label

    # a scan that runs a script is refused, next to its material, and nothing is kept
    clerk.set_input_files("#file-input-application_form", files=[
        {"name": "申请表.pdf", "mimeType": "application/pdf", "buffer": pdf_with_javascript()}])
    clerk.click("#file-application_form button:has-text('上传')")
    expect(clerk.locator("#file-application_form-error")).to_contain_text("脚本")
    assert clerk.locator("#file-application_form img").count() == 0

    clerk.set_input_files("#file-input-application_form", files=[
        {"name": "申请表.pdf", "mimeType": "application/pdf", "buffer": pdf_scan(2, "application")}])
    clerk.click("#file-application_form button:has-text('上传')")
    clerk.wait_for_url(re.compile(r"/window/intake/done/.*#files$"))
    thumbnail = clerk.locator("#file-application_form img").first
    expect(thumbnail).to_be_visible()
    assert clerk.evaluate("img => img.complete && img.naturalWidth > 0", thumbnail.element_handle())
    assert "2 页" in clerk.inner_text("#file-application_form")

    clerk.set_input_files("#file-input-id_card", files=[
        {"name": "身份证.jpg", "mimeType": "image/jpeg", "buffer": jpeg_photo()}])
    clerk.click("#file-id_card button:has-text('上传')")
    clerk.wait_for_url(re.compile(r"#files$"))
    expect(clerk.locator("#file-id_card img").first).to_be_visible()
    assert "每项材料都已有扫描件" in clerk.inner_text("#files")
    clerk.screenshot(path=shots / "files-01-window-uploaded.png", full_page=True)

    # the owning office: on the desk at once, with the scans
    office_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    office_ctx.set_default_timeout(15_000)
    officer = office_ctx.new_page()
    sign_in(officer, server, "officer")
    officer.goto(f"{server}/office")
    row = officer.locator("#received ~ .table-wrap tr", has_text=case_no).first
    expect(row).to_be_visible()
    expect(row.locator("img").first).to_be_visible()
    officer.click(f"a:has-text('{case_no}')")
    officer.wait_for_url(re.compile(rf"/office/cases/{case_no}$"))
    files = officer.locator("#files")
    expect(files.locator("img")).to_have_count(2)
    officer.screenshot(path=shots / "files-02-office-case.png", full_page=True)

    files.locator("#file-application_form a.file-thumb").first.click()
    officer.wait_for_url(re.compile(r"/files/\d+$"))
    viewer = officer.locator("[data-file-viewer]")
    expect(viewer).to_be_visible()
    expect(viewer.locator("canvas").first).to_be_visible()  # drawn in the page, no plug-in
    officer.screenshot(path=shots / "files-03-office-viewer.png", full_page=True)
    opened = office_ctx.request.get(server + viewer.get_attribute("data-url"))
    assert opened.ok and opened.body().startswith(b"%PDF-")
    assert opened.headers["cache-control"] == "no-store"
    office_ctx.close()
