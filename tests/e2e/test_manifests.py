"""Handover sheets (交接清单): made whole or not at all, printed with every packet's barcode, closed
when the packets leave, and their labels printed in one go from the API or the command line."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from mailing.tables import Manifest, ManifestItem
from tests import pdfs
from tests.e2e.steps import accepted, assert_error, collect, count, decide, record, rows
from tests.helpers import tracking_no_with_bad_check_digit, unknown_tracking_no

COURIER = "courier:courier"
MANIFEST_NO = re.compile(r"JJ-H140902-20260302-(\d{3})")


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def packets(api, n: int) -> list[str]:
    """`n` outbound packets waiting at the 忻府区 window."""
    return [collect(api)["tracking_no"] for _ in range(n)]


def make(api, tracking_nos: list[str], to_party: str = COURIER, *, as_: str = "clerk", key: str | None = None):
    return api.post("/api/v1/manifests", {"to_party": to_party, "tracking_nos": tracking_nos}, as_=as_, key=key)


def made(api, tracking_nos: list[str], to_party: str = COURIER, **kw) -> dict:
    r = make(api, tracking_nos, to_party, **kw)
    assert r.status_code == 201, r.get_json()
    return r.json


def pdf(api, path: str, as_: str) -> bytes:
    r = api.get(path, as_=as_)
    assert r.status_code == 200, r.get_json()
    assert r.mimetype == "application/pdf" and r.headers["Cache-Control"] == "no-store"
    return r.data


def assert_size_mm(data: bytes, expected: tuple[float, float], page: int = 0) -> None:
    w, h = pdfs.page_size_mm(data, page)
    assert abs(w - expected[0]) < 0.5 and abs(h - expected[1]) < 0.5, ((w, h), expected)


def one_label_per_page(data: bytes) -> list[str]:
    """The tracking number each page scans to, page by page (one barcode a page)."""
    found = []
    for page in range(pdfs.pages(data)):
        bars = pdfs.code128(data, page)
        assert len(bars) == 1, (page, bars)
        found.append(bars[0])
    return found


def manifest_rows(db) -> list[Manifest]:
    return rows(db, select(Manifest).order_by(Manifest.id))


# -- making a sheet ----------------------------------------------------------------------------

def test_a_clerk_hands_twenty_packets_to_a_courier_on_one_sheet_that_lists_every_barcode(staff, frozen, db):
    api = staff
    numbers = packets(api, 20)
    m = made(api, numbers)
    assert MANIFEST_NO.fullmatch(m["manifest_no"]), m["manifest_no"]
    assert m["count"] == 20 and m["pieces"] == 40  # each intake holds two documents
    assert m["pdf_url"] == f"/api/v1/manifests/{m['manifest_no']}.pdf"
    assert m["labels_url"] == f"/api/v1/manifests/{m['manifest_no']}/labels.pdf"
    assert m["from_office"] == "H140902" and m["to_party"] == COURIER and m["handed_over_at"] is None
    assert [p["tracking_no"] for p in m["packets"]] == numbers

    stored = manifest_rows(db)
    assert [(s.manifest_no, s.from_office, s.created_by) for s in stored] == [(m["manifest_no"], "H140902", "clerk")]
    assert count(db, ManifestItem, ManifestItem.manifest_id == stored[0].id) == 20

    sheet = pdf(api, m["pdf_url"], "clerk")
    n = pdfs.pages(sheet)
    assert n >= 2, n
    assert m["manifest_no"] in pdfs.code128(sheet, 0)
    scanned = [code for page in range(n) for code in pdfs.code128(sheet, page) if code != m["manifest_no"]]
    assert scanned == numbers  # every packet, in the order given, each once
    text = flat(pdfs.text(sheet))
    assert "合计：邮件20个，材料40件" in text, text
    assert "交接清单" in text and "忻州市忻府区政务服务中心" in text and "courier" in text, text
    assert "制单时间2026-03-0209:00" in text, text  # Beijing time


def test_the_labels_of_a_sheet_come_one_page_per_packet_in_the_order_given(staff, frozen):
    api = staff
    numbers = packets(api, 3)
    order = [numbers[2], numbers[0], numbers[1]]
    m = made(api, order)
    labels = pdf(api, m["labels_url"], "clerk")
    assert one_label_per_page(labels) == order
    assert_size_mm(labels, (100, 150))

    small = pdf(api, m["labels_url"] + "?size=76x130", "courier")
    assert one_label_per_page(small) == order
    for page in range(3):
        assert_size_mm(small, (76, 130), page)
    error = assert_error(api.get(m["labels_url"] + "?size=A4", as_="clerk"), 400, "invalid_request", "size")
    assert sorted(error["allowed"]) == ["100x150", "100x180", "76x130"]


def test_a_sheet_is_made_whole_or_not_at_all(staff, frozen, db):
    api = staff
    a, b, c = packets(api, 3)
    first = made(api, [a])
    r = make(api, [b, a, c])
    error = assert_error(r, 409, "already_on_manifest")
    assert error["tracking_nos"] == [a] and error["manifests"] == [first["manifest_no"]]
    assert [s.manifest_no for s in manifest_rows(db)] == [first["manifest_no"]]
    assert count(db, ManifestItem) == 1

    second = made(api, [b, c])  # the others were left free
    assert second["count"] == 2 and second["manifest_no"] != first["manifest_no"]
    assert MANIFEST_NO.fullmatch(first["manifest_no"]).group(1) == "001"
    assert MANIFEST_NO.fullmatch(second["manifest_no"]).group(1) == "002"


def test_a_sheet_is_handed_over_when_its_first_packet_is_scanned_out(staff, frozen):
    api = staff
    a, b = packets(api, 2)
    m = made(api, [a, b])
    record(api, a, "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    view = api.get(f"/api/v1/manifests/{m['manifest_no']}", as_="clerk")
    assert view.status_code == 200, view.get_json()
    assert view.json["handed_over_at"] == "2026-03-02T10:00:00+08:00"
    assert {p["tracking_no"]: p["status"] for p in view.json["packets"]} == {a: "dispatched", b: "created"}

    error = assert_error(make(api, [a]), 409, "not_at_office")
    assert error["tracking_nos"] == [a]


def test_a_sheet_can_be_handed_to_another_office_whose_staff_may_then_read_it(staff, frozen):
    api = staff
    api.user("clerk_xd", "clerk", "H140105")
    m = made(api, packets(api, 2), "office:D140105-GA")
    assert m["to_party"] == "office:D140105-GA" and m["to_party_name"] == "太原市公安局小店分局户政科"
    sheet = pdf(api, m["pdf_url"], "officer")
    assert "太原市公安局小店分局户政科" in flat(pdfs.text(sheet))
    assert api.get(f"/api/v1/manifests/{m['manifest_no']}", as_="officer").status_code == 200
    for who in ("clerk_xd", "courier", "supervisor"):
        assert_error(api.get(m["pdf_url"], as_=who), 403, "forbidden")
        assert_error(api.get(m["labels_url"], as_=who), 403, "forbidden")


def test_only_the_courier_named_on_a_sheet_may_read_it_besides_the_office_that_made_it(staff, frozen):
    api = staff
    api.user("courier2", "courier")
    m = made(api, packets(api, 1))
    assert pdfs.code128(pdf(api, m["pdf_url"], "courier"), 0)[0] == m["manifest_no"]
    assert_error(api.get(m["pdf_url"], as_="courier2"), 403, "forbidden")
    assert_error(api.get(m["pdf_url"], as_="officer"), 403, "forbidden")
    assert_error(api.get(m["pdf_url"]), 401, "unauthorized")
    assert_error(api.get("/api/v1/manifests/JJ-H140902-20260302-999.pdf", as_="clerk"), 404, "not_found")


def test_the_same_idempotency_key_makes_one_sheet(staff, frozen, db):
    api = staff
    numbers = packets(api, 2)
    first = made(api, numbers, key="sheet-1")
    again = made(api, numbers, key="sheet-1")
    assert again["manifest_no"] == first["manifest_no"] and again["count"] == 2
    assert len(manifest_rows(db)) == 1 and count(db, ManifestItem) == 2


# -- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("to_party", ["courier:nobody", "courier:clerk", "courier:supervisor", "office:NOPE",
                                      "office:H140902"])
def test_a_sheet_for_a_party_that_does_not_exist_is_refused(staff, frozen, db, to_party):
    api = staff
    assert_error(make(api, packets(api, 1), to_party), 422, "unknown_party", "to_party")
    assert manifest_rows(db) == []


@pytest.mark.parametrize("to_party", ["courier", "bus:courier", "", 42, None])
def test_a_malformed_party_is_refused(staff, frozen, db, to_party):
    api = staff
    assert_error(make(api, packets(api, 1), to_party), 400, "invalid_request", "to_party")
    assert manifest_rows(db) == []


def test_a_list_of_tracking_numbers_must_be_non_empty_and_without_repeats(staff, frozen, db):
    api = staff
    a, b = packets(api, 2)
    assert_error(make(api, []), 400, "invalid_request", "tracking_nos")
    assert_error(api.post("/api/v1/manifests", {"to_party": COURIER}, as_="clerk"), 400, "invalid_request",
                 "tracking_nos")
    error = assert_error(make(api, [a, b, a]), 400, "invalid_request", "tracking_nos")
    assert error["tracking_nos"] == [a]
    assert manifest_rows(db) == []


def test_a_sheet_request_reports_every_problem_at_once(staff, frozen, db):
    api = staff
    r = api.post("/api/v1/manifests", {"to_party": "bus:courier", "tracking_nos": []}, as_="clerk")
    error = assert_error(r, 400, "invalid_request", "to_party")
    assert [e["field"] for e in error["errors"]] == ["to_party", "tracking_nos"]
    assert manifest_rows(db) == []


def test_numbers_are_read_as_typed_so_the_same_packet_typed_twice_is_a_repeat(staff, frozen, db):
    api = staff
    a, b = packets(api, 2)
    typed = " " + a.lower()[:5] + " " + a.lower()[5:]
    error = assert_error(make(api, [a, typed]), 400, "invalid_request", "tracking_nos")
    assert error["tracking_nos"] == [a] and "邮件号重复" in error["message"]
    full_width = b.translate(str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                           "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"))
    m = made(api, [typed, full_width])
    assert [p["tracking_no"] for p in m["packets"]] == [a, b]


def test_a_sheet_with_a_misread_or_unknown_tracking_number_is_refused(staff, frozen, db):
    api = staff
    (a,) = packets(api, 1)
    bad = tracking_no_with_bad_check_digit()
    error = assert_error(make(api, [a, bad]), 422, "invalid_tracking_no", "tracking_nos")
    assert error["tracking_nos"] == [bad]
    unknown = unknown_tracking_no()
    error = assert_error(make(api, [a, unknown]), 422, "unknown_packet", "tracking_nos")
    assert error["tracking_nos"] == [unknown]
    assert manifest_rows(db) == []


def test_a_clerk_cannot_hand_over_a_packet_leaving_another_office(staff, frozen, db):
    api = staff
    case = accepted(api)
    result = decide(api, case["case_no"]).json["result_packet"]["tracking_no"]  # leaves D140105-GA
    (a,) = packets(api, 1)
    error = assert_error(make(api, [a, result]), 403, "forbidden")
    assert error["tracking_nos"] == [result]
    assert manifest_rows(db) == []
    m = made(api, [result], as_="officer")  # its own office may
    assert m["from_office"] == "D140105-GA"


def test_couriers_and_supervisors_make_no_sheets(staff, frozen, db):
    api = staff
    numbers = packets(api, 1)
    for who in ("courier", "supervisor"):
        assert_error(make(api, numbers, as_=who), 403, "forbidden")
    assert manifest_rows(db) == []


# -- the command line --------------------------------------------------------------------------

def test_the_labels_print_command_writes_every_label_of_a_sheet(staff, frozen, tmp_path):
    api = staff
    numbers = packets(api, 3)
    m = made(api, numbers)
    runner = api.client.application.test_cli_runner()
    out = tmp_path / "labels.pdf"
    result = runner.invoke(args=["labels", "print", "--manifest", m["manifest_no"], "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert one_label_per_page(data) == numbers
    assert_size_mm(data, (100, 150))
    assert not (tmp_path / "labels.pdf.part").exists()

    small = tmp_path / "small.pdf"
    result = runner.invoke(args=["labels", "print", "--manifest", m["manifest_no"], "--out", str(small),
                                 "--size", "76x130"])
    assert result.exit_code == 0, result.output
    data = small.read_bytes()
    assert pdfs.pages(data) == 3
    for page in range(3):
        assert_size_mm(data, (76, 130), page)


def test_the_labels_print_command_refuses_an_unknown_sheet_in_chinese(staff, frozen, tmp_path):
    runner = staff.client.application.test_cli_runner()
    out = tmp_path / "none.pdf"
    result = runner.invoke(args=["labels", "print", "--manifest", "JJ-H140902-20260302-404", "--out", str(out)])
    assert result.exit_code != 0
    assert "未找到该交接清单" in result.output, result.output
    assert not out.exists()
