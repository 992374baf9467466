"""The courier's phone page (/courier) at 390 px: the phone's camera reads a real label (Chromium's fake
camera plays a video made from the label PDF the app prints), scans wait in the browser's IndexedDB while
offline and go out as one batch when the network returns (resent safely: `duplicate`, never a second row),
a failed delivery with its reason, a delivery with its signer; and the page fetches nothing from any host
but the app (the barcode decoder and its WebAssembly come from the app's own /static).
"""
from __future__ import annotations

import json
from datetime import datetime

import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlmodel import select

from mailing.tables import Manifest, Packet, PacketEvent
from tests.browser.conftest import CHROMIUM, sign_in
from tests.browser.test_tracking_phone import page_width, small_targets
from tests.e2e import conftest as e2e
from tests.e2e.steps import case_of, collect, rows
from tests.e2e.test_agents import _result_on_the_road

api, staff = e2e.api, e2e.staff

WIDTH = 390
CAMERA_WAIT = 30_000  # ms: a slow machine compiles the decoder's WebAssembly before the first frame is read
FRAME = (640, 480)
# Chromium sets this up on the console when the page's policy blocks something; checked on every page
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI); });"""


# -- a camera that films a real label ------------------------------------------------------------------

def label_frame(pdf: bytes, tracking_no: str) -> Image.Image:
    """The label as a phone held over its barcode sees it: the PDF rendered, cropped around its Code 128
    with a margin, fitted into a 640 × 480 frame."""
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=4).to_pil().convert("RGB")
    [code] = [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.Code128]
    assert code.text == tracking_no  # the label the app printed carries the packet's number
    p = code.position
    xs, ys = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x], \
        [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
    margin = (max(xs) - min(xs)) // 6
    crop = image.crop((max(min(xs) - margin, 0), max(min(ys) - 2 * margin, 0),
                       min(max(xs) + margin, image.width), min(max(ys) + 2 * margin, image.height)))
    crop.thumbnail(FRAME)
    frame = Image.new("RGB", FRAME, "white")
    frame.paste(crop, ((FRAME[0] - crop.width) // 2, (FRAME[1] - crop.height) // 2))
    assert [b.text for b in zxingcpp.read_barcodes(frame)] == [tracking_no]
    return frame


def write_y4m(frame: Image.Image, path, frames: int = 10) -> None:
    """YUV4MPEG2, 4:2:0 (what Chromium's --use-file-for-fake-video-capture plays, looping)."""
    y, cb, cr = frame.convert("YCbCr").split()
    half = (frame.width // 2, frame.height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + planes)


class Phone:
    """A courier's phone: Chromium with a fake camera filming `frame`, 390 px wide, every request and
    every policy violation or script error of its pages written down."""

    def __init__(self, browser, server: str, video, frozen_at: str):
        self.server = server
        self.browser = browser.browser_type.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage",
                  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  f"--use-file-for-fake-video-capture={video}"])
        self.context = self.browser.new_context(viewport={"width": WIDTH, "height": 844}, device_scale_factor=2,
                                                is_mobile=True, has_touch=True, locale="zh-CN")
        self.context.set_default_timeout(20_000)
        self.context.grant_permissions(["camera"], origin=server)
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.context.new_page()
        # a failed load is written down by its address (the browser's own /favicon.ico aside)
        self.page.on("console", lambda m: self.problems.append(m.text)
                     if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        self.page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}")
                     if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.at(frozen_at)

    def at(self, when: str) -> None:
        """The phone's clock: the server's clock is pinned, the phone's follows it (scans carry it)."""
        self.page.clock.set_fixed_time(datetime.fromisoformat(when))

    def open(self, username: str = "courier"):
        sign_in(self.page, self.server, username)
        self.page.goto(f"{self.server}/courier")
        expect(self.page.locator("#scanner")).to_be_visible()
        return self.page

    def elsewhere(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(self.server + "/")]

    def close(self):
        self.context.close()
        self.browser.close()


@pytest.fixture
def phone_with_label(browser, server, staff, frozen, tmp_path):
    """A phone whose camera films the label of `tracking_no` (its PDF as the app prints it)."""
    made = []

    def make(tracking_no: str, at: str = "2026-03-02T09:30:00+08:00", printed_by: str = "clerk") -> Phone:
        pdf = staff.get(f"/api/v1/packets/{tracking_no}/label.pdf", as_=printed_by)
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        video = tmp_path / f"{tracking_no}.y4m"
        write_y4m(label_frame(pdf.data, tracking_no), video)
        frozen.set(at)
        made.append(Phone(browser, server, video, at))
        return made[-1]
    yield make
    for phone in made:
        phone.close()


def on_sheet(api, *cases) -> str:
    r = api.post("/api/v1/manifests", {"to_party": "courier:courier",
                                       "tracking_nos": [c["tracking_no"] for c in cases]}, as_="clerk")
    assert r.status_code == 201, r.get_json()
    return r.json["manifest_no"]


def events(db, tracking_no: str) -> list[PacketEvent]:
    return rows(db, select(PacketEvent).join(Packet, Packet.id == PacketEvent.packet_id)
                .where(Packet.tracking_no == tracking_no).order_by(PacketEvent.id))


def status_of(db, tracking_no: str) -> str:
    return rows(db, select(Packet.status).where(Packet.tracking_no == tracking_no))[0]


def overflowing(page) -> list[str]:
    """Elements of the page whose right edge passes the phone's."""
    return page.evaluate("""width => Array.from(document.querySelectorAll("main *"))
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > width + 0.5)
        .map(e => e.outerHTML.slice(0, 60))""", WIDTH)


def result_line(page, number: str):
    return page.locator(f'#results li[data-number="{number}"]')


# -- the tests -------------------------------------------------------------------------------------------

def test_the_camera_reads_a_real_label_and_the_pick_up_is_recorded(phone_with_label, staff, db, frozen, shots):
    case = collect(staff)
    sheet_no = on_sheet(staff, case)
    number = case["tracking_no"]
    phone = phone_with_label(number)
    page = phone.open()
    # the day: the sheet waiting at the hall, with the packet on it
    pickup = page.locator(f"#sheet-{sheet_no}")
    expect(pickup).to_contain_text(number)
    expect(pickup).to_contain_text("忻府区")
    assert page_width(page) <= WIDTH and overflowing(page) == []
    # a radio button is tapped through its label, which is the target measured
    assert small_targets(page, "#scanner input:not([type=hidden]):not([type=radio]), #scanner button, #scanner select, "
                               "#scanner label.choice") == []
    page.screenshot(path=shots / "courier-01-day.png", full_page=True)

    expect(page.locator("input[name=mode][value=dispatched]")).to_be_checked()  # 揽收 first
    page.tap("#camera-start")
    # the decoder's WebAssembly loads, then frames are read until the label's barcode is
    expect(page.locator("#camera-status")).to_contain_text(f"已识别：{number}", timeout=CAMERA_WAIT)
    line = result_line(page, number)
    expect(line).to_have_attribute("data-status", "recorded", timeout=CAMERA_WAIT)
    expect(line).to_contain_text("已记录")
    expect(page.locator(f'[data-tracking-no="{number}"] .scan-state')).to_contain_text("已扫描")
    page.screenshot(path=shots / "courier-02-camera-scan.png", full_page=True)
    page.tap("#camera-stop")

    # the packet moved, scanned by the courier, and the sheet was handed over with it
    assert status_of(db, number) == "dispatched"
    [event] = events(db, number)
    assert (event.type, event.actor, event.role) == ("dispatched", "courier", "courier")
    assert rows(db, select(Manifest.handed_over_at).where(Manifest.manifest_no == sheet_no))[0] is not None
    assert case_of(staff, case["case_no"], as_="clerk")["status"] == "in_transit"
    # Chromium on Linux has no BarcodeDetector of its own: the app's vendored decoder read the label
    assert page.evaluate("'BarcodeDetector' in window") is False
    assert page.get_attribute("#scanner", "data-detector") == "vendored"

    # at the city's hub: the hub named on the page (a courier of no hub says which one)
    hub = case["route"][1]
    frozen.set("2026-03-02T09:40:00+08:00")
    phone.at("2026-03-02T09:40:00+08:00")
    page.check("input[name=mode][value=arrived_hub]")
    page.select_option("#hub", hub["office_code"])
    page.fill("#scan-number", number)
    page.tap("#record")
    line = page.locator("#results li", has_text=f"到达处理中心 {hub['name']}")
    expect(line).to_have_attribute("data-status", "recorded")
    arrived = events(db, number)[-1]
    assert (arrived.type, arrived.office_code, arrived.actor) == ("arrived_hub", hub["office_code"], "courier")
    assert phone.problems == []


def test_scans_made_offline_wait_in_the_phone_and_go_out_once_as_one_batch(phone_with_label, staff, db, shots):
    first, second = collect(staff), collect(staff)
    on_sheet(staff, first, second)
    phone = phone_with_label(first["tracking_no"])
    page = phone.open()

    phone.context.set_offline(True)
    for case in (first, second):
        page.fill("#scan-number", case["tracking_no"].lower())  # typed by hand, as a phone keyboard does
        page.tap("#record")
        expect(result_line(page, case["tracking_no"])).to_have_attribute("data-status", "queued")
    expect(page.locator("#queue")).to_be_visible()
    expect(page.locator("#queue")).to_contain_text("待上传 2 条")
    assert events(db, first["tracking_no"]) == [] and events(db, second["tracking_no"]) == []
    page.screenshot(path=shots / "courier-03-offline-queue.png", full_page=True)

    # back online: one batch with both scans; the server records them, but its answer never arrives
    sent: list[dict] = []

    def answer_lost(route):
        sent.append(json.loads(route.request.post_data))
        route.fetch()
        route.abort("internetdisconnected")
    page.route("**/api/v1/scans", answer_lost)
    phone.context.set_offline(False)
    expect(page.locator("#queue-why")).to_contain_text("网络不通")
    expect(page.locator("#queue")).to_contain_text("待上传 2 条")
    assert [[s["tracking_no"] for s in batch["scans"]] for batch in sent] == [
        [first["tracking_no"], second["tracking_no"]]]
    ids = [s["event_id"] for s in sent[0]["scans"]]
    assert len(set(ids)) == 2
    assert [(e.event_id, e.type) for e in events(db, first["tracking_no"]) + events(db, second["tracking_no"])] == \
        [(ids[0], "dispatched"), (ids[1], "dispatched")]

    # the next time the page opens it sends the same scans again: duplicates, no second row
    page.unroute("**/api/v1/scans")
    page.reload()
    for case in (first, second):
        line = result_line(page, case["tracking_no"])
        expect(line).to_have_attribute("data-status", "duplicate")
        expect(line).to_contain_text("重复上传")
    expect(page.locator("#queue")).to_be_hidden()
    assert [e.event_id for e in events(db, first["tracking_no"]) + events(db, second["tracking_no"])] == ids
    assert status_of(db, first["tracking_no"]) == status_of(db, second["tracking_no"]) == "dispatched"
    page.screenshot(path=shots / "courier-04-sent-after-reconnect.png", full_page=True)
    assert page.evaluate("""() => new Promise(resolve => { const open = indexedDB.open("tongban-courier");
        open.onsuccess = () => { const all = open.result.transaction("scans").objectStore("scans").getAll();
                                 all.onsuccess = () => resolve(all.result.length); }; })""") == 0
    assert phone.problems == []


def test_a_failed_delivery_is_recorded_with_its_reason_and_then_the_delivery_with_its_signer(
        phone_with_label, staff, db, frozen, shots):
    case, result, _ = _result_on_the_road(staff, frozen)  # the result, picked up by the courier on 3 March
    phone = phone_with_label(result, "2026-03-04T09:00:00+08:00", printed_by="officer")
    page = phone.open()
    expect(page.locator(f"#d-{result}")).to_contain_text("太原市小店区平阳路12号3单元502室")

    page.check("input[name=mode][value=out_for_delivery]")
    page.fill("#scan-number", result)
    page.tap("#record")
    expect(result_line(page, result)).to_have_attribute("data-status", "recorded")

    # at the building nobody knows the addressee. Without a reason nothing is recorded and the page says why
    frozen.set("2026-03-04T09:10:00+08:00")
    phone.at("2026-03-04T09:10:00+08:00")
    page.check("input[name=mode][value=exception]")
    expect(page.locator("#reason-field")).to_be_visible()
    page.fill("#scan-number", result)
    page.tap("#record")
    expect(page.locator("#reason-error")).to_have_text("请选择未妥投的原因。")
    assert page_width(page) <= WIDTH
    page.check("input[name=reason][value=address_unknown]")
    page.tap("#record")
    expect(page.locator("#results li[data-status=recorded]")).to_have_count(2)
    expect(page.locator("#results li").first).to_contain_text("未妥投：地址不详，无法投递")
    page.screenshot(path=shots / "courier-05-failed-delivery.png", full_page=True)
    failed = events(db, result)[-1]
    assert (failed.type, failed.reason, failed.actor) == ("exception", "address_unknown", "courier")
    packet = rows(db, select(Packet).where(Packet.tracking_no == result))[0]
    assert packet.failed_attempts == 1 and packet.status == "out_for_delivery"

    # the courier phones the addressee, who sends a neighbour down for it: a proxy needs a name
    frozen.set("2026-03-04T09:25:00+08:00")
    phone.at("2026-03-04T09:25:00+08:00")
    page.check("input[name=mode][value=delivered]")
    page.check("input[name=relation][value=proxy]")
    page.fill("#scan-number", result)
    page.tap("#record")
    expect(page.locator("#signer-name-error")).to_have_text("他人代收的，请填写代收人姓名。")
    page.fill("#signer-name", "王秀英")
    page.tap("#record")
    expect(page.locator("#results li[data-status=recorded]")).to_have_count(3)
    expect(page.locator("#results li").first).to_contain_text("妥投（王秀英代收）")
    delivered = events(db, result)[-1]
    assert (delivered.type, delivered.note) == ("delivered", "王**代收")
    assert case_of(staff, case["case_no"])["status"] == "delivered"
    assert phone.problems == []


def test_the_page_asks_nothing_of_any_host_but_the_app_and_its_decoder_is_its_own(phone_with_label, staff):
    case = collect(staff)
    on_sheet(staff, case)
    phone = phone_with_label(case["tracking_no"])
    # anything addressed elsewhere is stopped here (and written down), so none could go unnoticed
    blocked: list[str] = []
    phone.context.route(lambda url: not url.startswith(phone.server + "/"),
                        lambda route: (blocked.append(route.request.url), route.abort()))
    page = phone.open()
    page.tap("#camera-start")
    expect(result_line(page, case["tracking_no"])).to_have_attribute("data-status", "recorded", timeout=CAMERA_WAIT)
    assert blocked == [] and phone.elsewhere() == []
    static = [url[len(phone.server):] for url in phone.requests if "/static/" in url]
    assert "/static/vendor/barcode-detector/barcode-detector.js" in static
    assert "/static/vendor/barcode-detector/zxing_reader.wasm" in static
    # the decoder's WebAssembly runs under the page's policy, which allows it and nothing more
    response = page.request.get(f"{phone.server}/courier")
    assert "script-src 'self' 'wasm-unsafe-eval';" in response.headers["content-security-policy"]
    assert phone.problems == []
