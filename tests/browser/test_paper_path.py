"""The whole paper path clicked through in a real browser, as the people on it would.

The clerk at 忻府区 registers a 无犯罪记录证明 for a resident of 太原市小店区 (keyboard first, as at a window
with a barcode scanner), hands the packet to the courier on a sheet; the courier's scanner moves it through
the hubs (the API, as a handheld scanner talks to it); the officer at 小店区公安 scans it in, checks the
contents, accepts and decides; the result goes back by post; the applicant follows it all on a phone from
the receipt's QR code and evaluates the service. A screenshot at each step, numbered in order.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import pdfs
from tests.browser.conftest import sign_in
from tests.helpers import PASSWORD, resident_id

MONDAY = "2026-03-02"


class Scanner:
    """A courier's handheld scanner: the API with the courier's bearer token."""

    def __init__(self, browser, server: str, username: str):
        self.ctx = browser.new_context()
        self.server = server
        r = self.ctx.request.post(f"{server}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert r.ok, r.text()
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}

    def get(self, path: str) -> dict:
        r = self.ctx.request.get(self.server + path, headers=self.headers)
        assert r.ok, r.text()
        return r.json()

    def scan(self, frozen, type_: str, at: str, office_code: str | None = None, **number) -> dict:
        """One scan at `at` (the service's clock moves there too), that must be recorded."""
        import uuid
        frozen.set(at)
        r = self.ctx.request.post(f"{self.server}/api/v1/scans", headers=self.headers, data={"scans": [
            {"event_id": str(uuid.uuid4()), "type": type_, "at": at, "office_code": office_code, **number}]})
        assert r.ok, r.text()
        result = r.json()["results"][0]
        assert result["status"] == "recorded", result
        return result

    def close(self):
        self.ctx.close()


def pdf(context, server: str, url: str) -> bytes:
    """A document as the signed-in person's browser fetches it (the page session's cookie)."""
    r = context.request.get(server + url)
    assert r.ok, (url, r.status)
    assert r.headers["content-type"].startswith("application/pdf")
    body = r.body()
    assert body.startswith(b"%PDF"), body[:20]
    return body


def test_a_paper_case_goes_from_the_window_to_the_office_and_back_to_the_applicants_phone(
        server, accounts, browser, context, phone, shots, frozen):
    frozen.set(f"{MONDAY}T09:00:00+08:00")

    # -- the window: 王敏 registers the application ---------------------------------------------------
    clerk = context.new_page()
    sign_in(clerk, server, "clerk")
    clerk.click("header nav >> text=收件登记")
    clerk.wait_for_url(re.compile(r"/window/intake$"))
    expect(clerk.locator("#q")).to_be_focused()  # the search field is ready to type in
    clerk.keyboard.type("无犯罪记录证明")
    clerk.keyboard.press("Enter")
    clerk.wait_for_url(re.compile(r"/window/intake\?q="))
    assert "找到 1 个可异地代收的事项" in clerk.inner_text("main")
    assert "GA-WFZM-01" in clerk.inner_text("table")
    clerk.screenshot(path=shots / "01-intake-search.png", full_page=True)
    # the first match has the focus: Enter opens it
    expect(clerk.locator("table a", has_text="无犯罪记录证明")).to_be_focused()
    clerk.keyboard.press("Enter")
    clerk.wait_for_url(re.compile(r"/window/intake/GA-WFZM-01$"))
    assert clerk.inner_text("h1") == "无犯罪记录证明"
    expect(clerk.locator("#applicant-name")).to_be_focused()

    clerk.keyboard.type("张晓明")
    clerk.fill("#applicant-id_number", resident_id())
    clerk.fill("#applicant-phone", "138 1234 5678")
    clerk.fill("#applicant-address", "太原市小店区平阳路12号3单元502室")
    clerk.fill("#applicant-division_code", "140105")
    clerk.check("#materials-application_form-received")
    clerk.check("#materials-id_card-received")
    assert clerk.is_checked("input[name='identity_check.method'][value=id_card_reader]")  # the usual way, preset
    clerk.check("#identity_check-passed")
    clerk.check("input[name='result_delivery.method'][value=mail]")
    clerk.fill("#result_delivery-address", "太原市小店区平阳路12号3单元502室")
    clerk.fill("#result_delivery-division_code", "140105")
    clerk.screenshot(path=shots / "02-intake-form.png", full_page=True)
    with clerk.expect_navigation():
        clerk.click("button:has-text('下一步：核对信息')")

    # check your answers: nothing registered yet, and where the case will go
    answers = clerk.inner_text("main")
    for text in ["张晓明", resident_id(), "13812345678", "山西省太原市小店区（140105）", "无犯罪记录证明申请表",
                 "原件 1 份", "居民身份证", "复印件 1 份", "身份证读卡器读取", "邮寄送达", "太原市公安局小店分局户政科",
                 "预计办结日期", "2026年3月10日", "结果预计送达", "2026年3月12日", "忻府区"]:
        assert text in answers, text
    clerk.screenshot(path=shots / "03-intake-check.png", full_page=True)
    confirm = clerk.locator("button:has-text('确认登记')")
    expect(confirm).to_be_focused()  # Enter confirms
    clerk.keyboard.press("Enter")
    clerk.wait_for_url(re.compile(r"/window/intake/done/"))

    # the confirmation: the numbers large, read off the page, and the documents framed to print
    case_no = clerk.inner_text("#case-no").strip()
    check_code = clerk.inner_text("#check-code").strip()
    tracking_no = clerk.inner_text(".intake-tracking-no").strip()
    assert re.fullmatch(r"140902-20260302-\d{4}", case_no), case_no
    assert re.fullmatch(r"\d{6}", check_code), check_code
    assert re.fullmatch(r"[A-Z]{2}\d{9}CN", tracking_no), tracking_no
    assert clerk.inner_text("h1") == "收件登记完成"
    done = clerk.inner_text("main")
    assert "预计在 2026年3月10日 前办结" in done and "预计 2026年3月12日 送达" in done, done
    receipt_url = clerk.get_attribute("#receipt-frame", "src")
    label_url = clerk.get_attribute("#label-frame", "src")
    assert receipt_url == f"/api/v1/cases/{case_no}/receipt.pdf"
    assert label_url == f"/api/v1/packets/{tracking_no}/label.pdf"
    clerk.screenshot(path=shots / "04-intake-done.png", full_page=True)

    receipt = pdf(context, server, receipt_url)
    receipt_text = pdfs.text(receipt)
    assert case_no in receipt_text and check_code in receipt_text and "无犯罪记录证明" in receipt_text
    [track_url] = pdfs.qr(receipt)  # the QR code the applicant's phone opens
    assert track_url == f"{server}/track/{case_no}"
    label = pdf(context, server, label_url)
    assert tracking_no in pdfs.text(label).replace(" ", "")
    assert tracking_no in pdfs.code128(label)

    # -- the window: the packet goes on a handover sheet for the courier ---------------------------------
    frozen.set(f"{MONDAY}T09:20:00+08:00")
    clerk.click("header nav >> text=待发邮件")
    clerk.wait_for_url(re.compile(r"/window/packets$"))
    clerk.click("text=全部取消勾选，改为逐件扫描")
    clerk.wait_for_url(re.compile(r"/window/packets\?tick=none$"))
    box = clerk.locator(f"#tn-{tracking_no}")
    assert not box.is_checked()
    expect(clerk.locator("#scan")).to_be_focused()
    clerk.keyboard.type(tracking_no.lower())  # a scanner in lower case still finds it
    clerk.keyboard.press("Enter")
    assert box.is_checked()
    assert clerk.input_value("#scan") == ""  # ready for the next scan
    assert f"已扫描 {tracking_no}，共 1 件" in clerk.inner_text("#scanned-status")
    clerk.select_option("#courier", "courier")
    clerk.screenshot(path=shots / "05-packets-scanned.png", full_page=True)
    clerk.click("button:has-text('生成交接清单')")
    clerk.wait_for_url(re.compile(r"/manifests/[A-Z0-9-]+$"))
    manifest_no = clerk.url.rsplit("/", 1)[1]
    sheet = clerk.inner_text("main")
    assert f"交接清单 {manifest_no} 已生成" in clerk.inner_text(".flash, main")
    assert "待交接" in sheet and "赵师傅" in sheet and tracking_no in sheet and "1 件" in sheet
    clerk.screenshot(path=shots / "06-handover-sheet.png", full_page=True)
    sheet_pdf_url = clerk.get_attribute("a:has-text('打印交接清单')", "href")
    assert manifest_no in pdfs.text(pdf(context, server, sheet_pdf_url)).replace(" ", "")

    # -- the courier's scanner: the sheet handed over, the packet through the hubs ----------------------
    courier = Scanner(browser, server, "courier")
    handed = courier.scan(frozen, "dispatched", f"{MONDAY}T10:00:00+08:00", manifest_no=manifest_no)
    assert [p["status"] for p in handed["packets"]] == ["recorded"]
    route = [stop["office_code"] for stop in courier.get(f"/api/v1/packets/{tracking_no}")["route"]]
    assert route[0] == "H140902" and route[-1] == "D140105-GA"
    for i, hub in enumerate(route[1:-1]):
        courier.scan(frozen, "arrived_hub", f"{MONDAY}T{11 + i}:00:00+08:00", hub, tracking_no=tracking_no)
        courier.scan(frozen, "departed_hub", f"{MONDAY}T{11 + i}:30:00+08:00", hub, tracking_no=tracking_no)
    courier.scan(frozen, "out_for_delivery", f"{MONDAY}T14:00:00+08:00", "D140105-GA", tracking_no=tracking_no)

    # -- the owning office: 李建国 scans it in, checks the contents, accepts and decides ------------------
    frozen.set(f"{MONDAY}T14:30:00+08:00")
    office_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    office_ctx.set_default_timeout(15_000)
    officer = office_ctx.new_page()
    sign_in(officer, server, "officer")
    assert officer.url.endswith("/office")
    arrived = officer.inner_text("#arrived + p + .table-wrap")
    assert tracking_no in arrived and case_no in arrived and "忻府区" in arrived
    officer.screenshot(path=shots / "07-office-desk.png", full_page=True)
    officer.click("a:has-text('扫描签收邮件')")
    officer.wait_for_url(re.compile(r"/office/receive$"))
    expect(officer.locator("#tracking_no")).to_be_focused()
    officer.keyboard.type(tracking_no)
    with officer.expect_navigation():
        officer.keyboard.press("Enter")
    assert officer.inner_text("h1") == f"核对内件：{tracking_no}"
    checklist = officer.inner_text("table.checklist")
    assert "无犯罪记录证明申请表" in checklist and "居民身份证" in checklist
    # each item confirmed: the scanner reads the barcode on each document (issue 13 §6.4)
    expect(officer.locator("#item")).to_be_focused()
    for code in ("application_form", "id_card"):
        officer.keyboard.type(code)
        officer.keyboard.press("Enter")
    assert "已核对 2 / 2 项" in officer.inner_text("#checked-count")
    officer.screenshot(path=shots / "08-office-checklist.png", full_page=True)
    officer.click("button:has-text('确认签收')")
    officer.wait_for_url(re.compile(r"/office/receive\?last="))
    assert "已签收" in officer.inner_text(".panel") and tracking_no in officer.inner_text(".panel")
    officer.screenshot(path=shots / "09-office-received.png", full_page=True)

    officer.click(f".panel >> text={case_no}")
    officer.wait_for_url(re.compile(rf"/office/cases/{case_no}$"))
    with officer.expect_navigation():
        officer.click("#accept button:has-text('受理')")
    assert f"办件 {case_no} 已受理" in officer.inner_text("body")
    assert "已受理" in officer.inner_text("h1")
    officer.screenshot(path=shots / "10-office-accepted.png", full_page=True)
    officer.check("input[name=dec_outcome][value=approved]")
    officer.fill("#dec_note", "经核查，申请人无犯罪记录，准予出具证明。")
    officer.click("#decide button:has-text('办结')")
    officer.wait_for_url(re.compile(rf"/office/cases/{case_no}/done$"))
    assert officer.inner_text("h1") == "已办结：准予"
    result_no = officer.inner_text("main strong.mono").strip()
    assert re.fullmatch(r"[A-Z]{2}\d{9}CN", result_no) and result_no != tracking_no
    result_label = officer.get_attribute("#label-frame", "src")
    assert result_label == f"/api/v1/packets/{result_no}/label.pdf"
    officer.screenshot(path=shots / "11-office-decided.png", full_page=True)
    label = pdf(office_ctx, server, result_label)
    label_text = pdfs.text(label).replace(" ", "")
    # to the applicant's door, the person masked on the outside of the packet (GB/T 41833)
    assert result_no in label_text and "张**" in label_text and "张晓明" not in label_text, label_text
    office_ctx.close()

    # -- the courier brings the result to the applicant's door -----------------------------------------
    back = [stop["office_code"] for stop in courier.get(f"/api/v1/packets/{result_no}")["route"]]
    assert back[0] == "D140105-GA"
    courier.scan(frozen, "dispatched", f"{MONDAY}T15:00:00+08:00", "D140105-GA", tracking_no=result_no)
    for i, hub in enumerate(back[1:-1]):
        courier.scan(frozen, "arrived_hub", f"{MONDAY}T15:{10 + 20 * i}:00+08:00", hub, tracking_no=result_no)
        courier.scan(frozen, "departed_hub", f"{MONDAY}T15:{20 + 20 * i}:00+08:00", hub, tracking_no=result_no)
    courier.scan(frozen, "out_for_delivery", f"{MONDAY}T16:00:00+08:00", back[-1], tracking_no=result_no)
    courier.scan(frozen, "delivered", f"{MONDAY}T17:00:00+08:00", None, tracking_no=result_no)
    courier.close()

    # -- the applicant, on a phone, from the receipt's QR code ------------------------------------------
    frozen.set(f"{MONDAY}T18:00:00+08:00")
    mobile = phone.new_page()
    mobile.goto(track_url)
    assert mobile.input_value("#no") == case_no
    expect(mobile.locator("#check")).to_be_focused()  # the number is filled in: the code is asked
    mobile.screenshot(path=shots / "12-track-code.png", full_page=True)
    mobile.keyboard.type(check_code)
    with mobile.expect_navigation():
        mobile.tap("button:has-text('查询')")
    assert mobile.inner_text(".track-status__text") == "已送达"
    steps = mobile.locator(".timeline__item:not(.timeline__item--future) .timeline__title").all_inner_texts()
    for text in ["窗口已收件，材料待寄出", "申请材料已寄出", "途经 3 个邮件处理中心", "申请材料派送中",
                 "办理部门已核对材料", "办理部门已签收材料", "办理部门已受理", "已办结：准予", "办理结果已寄出",
                 "办理结果派送中", "办理结果已送达"]:
        assert text in steps, "\n".join([text, "--"] + steps)
    assert steps.index("窗口已收件，材料待寄出") < steps.index("办理部门已受理") < steps.index("办理结果已送达")
    hubs = mobile.locator(".timeline__item--hubs").first
    assert not hubs.locator(".timeline__hubs").is_visible()  # folded until tapped
    hubs.locator("summary").tap()
    assert "申请材料到达太原邮件处理中心" in hubs.locator(".timeline__hubs").inner_text()
    page_text = mobile.inner_text("main")
    assert "张晓明" not in page_text and "13812345678" not in page_text  # nothing personal on the public page
    mobile.screenshot(path=shots / "13-track-timeline.png", full_page=True)

    mobile.check("input[name=score][value='5']")
    mobile.fill("#comment", "在家门口就办成了，很方便。")
    mobile.tap("button:has-text('提交评价')")
    mobile.wait_for_url(re.compile(rf"/track/{case_no}/evaluated$"))
    assert mobile.inner_text("h1") == "感谢您的评价"
    assert "非常满意" in mobile.inner_text(".panel")
    mobile.screenshot(path=shots / "14-track-thanks.png", full_page=True)
    mobile.click("a:has-text('查看办件进度')")
    expect(mobile.locator("#check")).to_be_focused()
    mobile.keyboard.type(check_code)
    with mobile.expect_navigation():
        mobile.keyboard.press("Enter")
    assert "您已于" in mobile.inner_text(".track-evaluation") and "非常满意" in mobile.inner_text(".track-evaluation")
