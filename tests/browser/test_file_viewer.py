"""Files shown in the page with no plug-in (issue 16): an electronic result, a real two-page PDF made with
reportlab, drawn by the vendored PDF.js into one canvas per page on the owning office's case page, under
the page's own Content-Security-Policy, with every request going to this service only."""
from __future__ import annotations

import base64
import io

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas as pdf_canvas

from tests.browser.conftest import sign_in
from tests.browser.test_csp import Watched
from tests.helpers import PASSWORD, intake_body, scan


def two_page_pdf() -> bytes:
    out = io.BytesIO()
    doc = pdf_canvas.Canvas(out, pagesize=A4)
    for n in (1, 2):
        doc.setFont("Helvetica-Bold", 36)
        doc.drawString(72, 720, f"Result page {n}")
        doc.rect(72, 400, 300, 200, stroke=1, fill=1)  # a black block: plenty of ink to find
        doc.showPage()
    doc.save()
    return out.getvalue()


@pytest.fixture
def decided(server, accounts, browser, frozen):
    """A case decided with an electronic result, moved along through the API with bearer tokens."""
    ctx = browser.new_context()

    def token(who: str) -> dict:
        made = ctx.request.post(f"{server}/api/v1/auth/token", data={"username": who, "password": PASSWORD}).json()
        return {"Authorization": f"Bearer {made['token']}"}

    clerk, officer = token("clerk"), token("officer")
    case = ctx.request.post(f"{server}/api/v1/cases", data=intake_body(result_delivery={"method": "electronic"}),
                            headers=clerk).json()
    for who, kind, at in ((clerk, "dispatched", "2026-03-02T09:30:00+08:00"),
                          (officer, "received", "2026-03-02T09:40:00+08:00")):
        frozen.set(at)
        r = ctx.request.post(f"{server}/api/v1/scans", data={"scans": [scan(case["tracking_no"], kind, at)]},
                             headers=who)
        assert r.json()["results"][0]["status"] == "recorded", r.text()
    frozen.set("2026-03-02T10:00:00+08:00")
    assert ctx.request.post(f"{server}/api/v1/cases/{case['case_no']}/accept", headers=officer).ok
    r = ctx.request.post(f"{server}/api/v1/cases/{case['case_no']}/decision", headers=officer, data={
        "outcome": "approved", "note": "准予", "result_file": base64.b64encode(two_page_pdf()).decode(),
        "filename": "结果.pdf"})
    assert r.ok, r.text()
    ctx.close()
    return case


def test_the_officer_sees_a_two_page_result_drawn_in_the_page_without_a_plug_in(server, decided, context, shots):
    watched = Watched(context)
    page = watched.page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, server, "officer")
    watched.visit(page, server, f"/office/cases/{decided['case_no']}")
    viewer = page.locator("[data-file-viewer][data-kind=pdf]")
    viewer.locator("canvas[data-rendered]").nth(1).wait_for()
    assert viewer.locator("canvas").count() == 2
    assert viewer.locator("[data-viewer-pages]").inner_text() == "2"
    # each canvas holds ink: some pixels are far from white
    inked = page.evaluate("""() => Array.from(document.querySelectorAll("[data-file-viewer] canvas")).map(c => {
        const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let dark = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] < 200) dark += 1;
        return dark; })""")
    assert len(inked) == 2 and all(n > 1000 for n in inked), inked
    page.locator("[data-file-viewer]").scroll_into_view_if_needed()
    page.screenshot(path=shots / "file-viewer-result.png", full_page=True)

    # keyboard: the pages box takes the focus, → goes to page 2, + zooms in
    page.focus("[data-viewer-canvas-box]")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('[data-viewer-page]').textContent === '2'")
    page.keyboard.press("+")
    page.wait_for_function("() => document.querySelector('[data-viewer-zoom]').textContent === '125%'")
    assert page.locator("[data-viewer-next]").is_disabled()

    assert watched.problems == []
    assert requests and all(url.startswith(server + "/") for url in requests), \
        [url for url in requests if not url.startswith(server + "/")]
    assert any(url.endswith("/static/vendor/pdfjs/pdf.worker.min.mjs") for url in requests)
