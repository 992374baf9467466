"""Handover sheets on the pages: the window's packets waiting to leave, a sheet made from the ticked and
scanned ones, printed, voided, handed to a courier (the courier's scan, through the API) and counted on
arrival by the office it was made out to."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlmodel import select

from mailing.tables import Manifest, ManifestItem, Packet
from tests import pdfs
from tests.e2e.steps import case_of, collect, count, rows, scans

TO_OFFICE = "office:D140105-GA"


def text(r) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))


@pytest.fixture
def clerk(staff, pages, frozen):
    pages.login("clerk")
    return pages


def sheet_nos(db) -> list[str]:
    return [m.manifest_no for m in rows(db, select(Manifest).order_by(Manifest.id))]


def items(db, manifest_no: str) -> list[str]:
    manifest = rows(db, select(Manifest).where(Manifest.manifest_no == manifest_no))[0]
    return [p.tracking_no for p in rows(db, select(Packet).join(ManifestItem, ManifestItem.packet_id == Packet.id)
                                        .where(ManifestItem.manifest_id == manifest.id)
                                        .order_by(ManifestItem.position))]


def hand_over(api, manifest_no: str, at: str = "2026-03-02T16:00:00+08:00", *, as_: str = "courier") -> dict:
    """The courier scans the signed sheet's barcode: every packet on it is handed over."""
    result = scans(api, [{"event_id": str(uuid.uuid4()), "manifest_no": manifest_no, "type": "dispatched",
                          "at": at, "office_code": None}], as_=as_)[0]
    assert result["status"] == "recorded", result
    return result


def test_the_packets_waiting_to_leave_are_listed_with_their_case_and_addressee(clerk, staff):
    a, b = collect(staff), collect(staff)
    r = clerk.get("/window/packets", as_="clerk")
    assert r.status_code == 200
    page = text(r)
    assert "待发邮件（2 件）" in page
    for case in (a, b):
        assert case["tracking_no"] in page and case["case_no"] in page
    assert "申请材料" in page and "太原市公安局小店分局户政科" in page
    # all ticked by default, a scan field that ticks what it reads, and the courier to hand them to
    assert r.text.count('name="tracking_nos" value="EA') == 2 and r.text.count(" checked") == 2
    assert 'data-scan-list="scanned"' in r.text and '<ul id="scanned" class="scan-list" data-name="tracking_nos">' in r.text
    assert ">courier</option>" in r.text and "（courier）" not in page  # by name, never（username）
    # ready for scanning one by one: nothing ticked
    assert " checked" not in clerk.get("/window/packets?tick=none", as_="clerk").text


def test_the_sheet_holds_exactly_the_ticked_and_scanned_packets(clerk, staff, db):
    a, b, c = collect(staff), collect(staff), collect(staff)
    r = clerk.post("/window/packets", {"txn": "t1", "tracking_nos": [a["tracking_no"]],
                                       "scan": " " + c["tracking_no"].lower(), "courier": "courier"}, as_="clerk")
    assert r.status_code == 303
    [number] = sheet_nos(db)
    assert r.location.endswith(f"/manifests/{number}")
    assert items(db, number) == [a["tracking_no"], c["tracking_no"]]
    page = clerk.get(r.location, as_="clerk")
    shown = text(page)
    assert f"交接清单 {number} 已生成" in shown and "待交接" in shown and "寄递人员 courier" in shown
    assert a["tracking_no"] in shown and c["tracking_no"] in shown and b["tracking_no"] not in shown
    assert f"/api/v1/manifests/{number}.pdf" in page.text and f"/api/v1/manifests/{number}/labels.pdf" in page.text
    printed = clerk.get(f"/api/v1/manifests/{number}.pdf", as_="clerk")
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    assert number in re.sub(r"\s+", "", pdfs.text(printed.data))
    # what is left to send: only b
    left = text(clerk.get("/window/packets", as_="clerk"))
    assert "待发邮件（1 件）" in left and b["tracking_no"] in left and a["tracking_no"] not in left
    # the same form posted again (a double click) makes no second sheet
    again = clerk.post("/window/packets", {"txn": "t1", "tracking_nos": [a["tracking_no"]],
                                           "scan": " " + c["tracking_no"].lower(), "courier": "courier"}, as_="clerk")
    assert again.status_code == 303 and again.location.endswith(number)
    assert sheet_nos(db) == [number]


def test_a_packet_already_on_an_open_sheet_is_refused_clearly_and_nothing_is_made(clerk, staff, db):
    a, b = collect(staff), collect(staff)
    r = staff.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [a["tracking_no"]]},
                   as_="clerk")
    first = r.json["manifest_no"]
    # the page no longer offers a, but a scanner may still read its label
    r = clerk.post("/window/packets", {"txn": "t2", "tracking_nos": [b["tracking_no"]], "scan": a["tracking_no"],
                                       "courier": "courier"}, as_="clerk")
    assert r.status_code == 409
    page = text(r)
    assert "请更正以下问题" in page and f"这些邮件已在未交接的清单上：{a['tracking_no']}" in page
    assert f'href="/manifests/{first}"' in r.text and "请先作废原清单" in page
    assert sheet_nos(db) == [first] and count(db, ManifestItem) == 1
    # the choice is kept: b still ticked, a listed as scanned, the courier still chosen
    assert f'value="{b["tracking_no"]}" id="tn-{b["tracking_no"]}" checked' in r.text
    assert f'name="tracking_nos" value="{a["tracking_no"]}"' in r.text
    assert '<option value="courier" selected>' in r.text


def test_a_sheet_needs_a_packet_and_a_courier(clerk, staff, db):
    collect(staff)
    r = clerk.post("/window/packets", {"txn": "t3"}, as_="clerk")
    assert r.status_code == 400
    page = text(r)
    assert "请至少勾选或扫描一个邮件" in page and "请选择接收邮件的寄递人员" in page
    assert sheet_nos(db) == []


def test_a_sheet_posted_without_the_csrf_token_is_refused(clerk, staff, db):
    a = collect(staff)
    r = clerk.clients["clerk"].post("/window/packets", data={"tracking_nos": a["tracking_no"], "courier": "courier"})
    assert r.status_code == 400 and "CSRF" in text(r)
    assert sheet_nos(db) == []


def test_the_sheet_page_shows_when_the_courier_took_it_over(clerk, staff, db):
    a = collect(staff)
    clerk.post("/window/packets", {"txn": "t4", "tracking_nos": [a["tracking_no"]], "courier": "courier"},
               as_="clerk")
    [number] = sheet_nos(db)
    hand_over(staff, number)
    page = text(clerk.get(f"/manifests/{number}", as_="clerk"))
    assert "已交接" in page and "2026-03-02 16:00（寄递人员扫描清单）" in page
    assert "寄递人员扫描清单，邮件已交接" in page and "已交寄" in page
    assert "作废此清单" not in page
    assert case_of(staff, a["case_no"])["status"] == "in_transit"
    listed = text(clerk.get("/manifests?state=handed_over", as_="clerk"))
    assert number in listed and "已交接" in listed
    assert number not in text(clerk.get("/manifests", as_="clerk"))
    # voiding now is refused with the reason, on the sheet's page
    r = clerk.post(f"/manifests/{number}/cancel", {}, as_="clerk")
    assert r.status_code == 409 and "该交接清单已交接，不能再更改或作废" in text(r)


def test_an_open_sheet_is_voided_and_its_packets_wait_again(clerk, staff, db):
    a = collect(staff)
    clerk.post("/window/packets", {"txn": "t5", "tracking_nos": [a["tracking_no"]], "courier": "courier"},
               as_="clerk")
    [number] = sheet_nos(db)
    assert "作废此清单" in text(clerk.get(f"/manifests/{number}", as_="clerk"))
    r = clerk.post(f"/manifests/{number}/cancel", {}, as_="clerk", follow_redirects=True)
    assert f"交接清单 {number} 已作废" in text(r)
    assert rows(db, select(Manifest))[0].cancelled_at is not None
    assert number in text(clerk.get("/manifests?state=cancelled", as_="clerk"))
    assert a["tracking_no"] in text(clerk.get("/window/packets", as_="clerk"))


def test_a_clerk_sees_only_the_sheets_of_their_own_hall(clerk, staff, pages, db):
    staff.user("clerk_ty", "clerk", "H140100")
    theirs = collect(staff, as_="clerk_ty")
    r = staff.post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [theirs["tracking_no"]]},
                   as_="clerk_ty")
    number = r.json["manifest_no"]
    assert number not in text(clerk.get("/manifests", as_="clerk"))
    r = clerk.get(f"/manifests/{number}", as_="clerk")
    assert r.status_code == 403 and "您无权查看该交接清单" in text(r)


def test_the_office_a_sheet_was_made_out_to_counts_what_arrived(staff, pages, frozen, db):
    a, b, c = collect(staff), collect(staff), collect(staff)
    r = staff.post("/api/v1/manifests", {"to_party": TO_OFFICE, "tracking_nos": [a["tracking_no"], b["tracking_no"]]},
                   as_="clerk")
    number = r.json["manifest_no"]
    hand_over(staff, number, as_="clerk")       # handed to the office's own messenger at the window
    staff.post("/api/v1/scans", {"scans": [{"event_id": str(uuid.uuid4()), "tracking_no": c["tracking_no"],
                                            "type": "dispatched", "at": "2026-03-02T16:00:00+08:00"}]}, as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    pages.login("officer")

    arriving = text(pages.get("/manifests?state=arriving", as_="officer"))
    assert number in arriving and "忻州市忻府区政务服务中心" in arriving and "待清点" in arriving
    sheet = pages.get(f"/manifests/{number}", as_="officer")
    assert "清点到达的邮件" in text(sheet) and 'data-scan-list="arrived"' in sheet.text
    assert "作废此清单" not in text(sheet)       # not the officer's sheet to void

    r = pages.post(f"/manifests/{number}/receipt", {"txn": "c0"}, as_="officer")
    assert r.status_code == 400 and "请逐件扫描到达的邮件" in text(r)

    r = pages.post(f"/manifests/{number}/receipt", {"txn": "c1", "tracking_nos": [a["tracking_no"]],
                                                     "scan": c["tracking_no"]}, as_="officer", follow_redirects=True)
    page = text(r)
    assert "已确认接收 1 件，有 2 件不符" in page
    assert "实收：1 件" in page
    assert f"清单有而实物未到：{b['tracking_no']}" in page
    assert f"实物到达但不在清单上：{c['tracking_no']}" in page
    assert "清点到达的邮件" not in page
    assert case_of(staff, a["case_no"])["status"] == "received"
    assert case_of(staff, b["case_no"])["status"] == "in_transit"
    assert rows(db, select(Manifest).where(Manifest.manifest_no == number))[0].confirmed_at is not None


def test_officers_reach_the_sheets_but_not_the_window(staff, pages):
    pages.login("officer")
    r = pages.get("/manifests", as_="officer")
    assert r.status_code == 200 and "交接清单" in text(r)
    assert pages.get("/window/packets", as_="officer").status_code == 403
    assert pages.get("/manifests/new", as_="officer").status_code == 200
