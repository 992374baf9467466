"""Printing over HTTP: mailing labels (PDF and ZPL), the applicant's receipt, and the two notices.

Every document is read the way a printer's customer would: the barcodes are decoded from the
rendered page at the thermal printers' 203 dpi, and the text is what a PDF reader extracts.
"""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests import pdfs
from tests.e2e.steps import accepted, assert_error, case_of, collect, decide, received, record, rows
from tests.helpers import intake_body, resident_id
from tracking.model.tables import AccessLog

LABEL_SIZES = {"100x150": (100, 150), "100x180": (100, 180), "76x130": (76, 130)}
PICKUP = {"method": "pickup"}
MATTER = "无犯罪记录证明"  # the name of GA-WFZM-01: it must never be seen on the outside of a packet
OWNER = "D140105-GA"
SUPPLEMENT = {"materials": ["id_card", "application_form"], "note": "身份证复印件不清晰", "due": "2026-03-20"}


def flat(text: str) -> str:
    """Extracted text without the line breaks and spaces the layout put in."""
    return re.sub(r"\s+", "", text)


def public_url(api) -> str:
    return api.client.application.config["TONGBAN"].public_url


def office(api, code: str) -> dict:
    found = [o for o in api.get("/api/v1/offices", as_="clerk").json["offices"] if o["code"] == code]
    assert len(found) == 1, code
    return found[0]


def pdf(api, path: str, as_: str) -> bytes:
    r = api.get(path, as_=as_)
    assert r.status_code == 200, r.get_json()
    assert r.mimetype == "application/pdf"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.data.startswith(b"%PDF")
    return r.data


def label(api, tracking_no: str, as_: str, size: str | None = None) -> bytes:
    return pdf(api, f"/api/v1/packets/{tracking_no}/label.pdf" + (f"?size={size}" if size else ""), as_)


def assert_size_mm(data: bytes, expected: tuple[float, float], page: int = 0) -> None:
    w, h = pdfs.page_size_mm(data, page)
    assert abs(w - expected[0]) < 0.5 and abs(h - expected[1]) < 0.5, ((w, h), expected)


def assert_label_of(api, data: bytes, tracking_no: str, case_no: str, kind_title: str) -> str:
    """The label a sorter reads: the number in bars and in the QR, the kind, the case, never the matter."""
    assert pdfs.code128(data) == [tracking_no]
    assert pdfs.qr(data) == [f"{public_url(api)}/track/{tracking_no}"]
    text = flat(pdfs.text(data))
    assert tracking_no in text and kind_title in text, text
    assert "政务服务材料" in text and case_no in text, text
    assert MATTER not in text, text
    return text


# -- labels ------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [None, *LABEL_SIZES])
def test_a_label_comes_in_every_roll_size_and_scans_to_its_tracking_number_and_tracking_page(staff, frozen,
                                                                                             size):
    api = staff
    case = collect(api)
    data = label(api, case["tracking_no"], "clerk", size)
    assert pdfs.pages(data) == 1
    assert_size_mm(data, LABEL_SIZES[size or "100x150"])
    assert pdfs.code128(data) == [case["tracking_no"]]
    assert pdfs.qr(data) == [public_url(api) + "/track/" + case["tracking_no"]]


def test_the_outbound_packet_gets_a_label_at_the_window_and_at_the_owning_office(staff, frozen):
    api = staff
    case = collect(api)
    assert case["label_url"] == f"/api/v1/packets/{case['tracking_no']}/label.pdf"
    for who in ("clerk", "officer"):
        text = assert_label_of(api, label(api, case["tracking_no"], who), case["tracking_no"], case["case_no"],
                               "申请材料")
        owner, hall = office(api, OWNER), office(api, "H140902")
        assert owner["name"] in text and owner["phone"] in text  # to the owning office, in full
        assert hall["name"] in text and hall["phone"] in text  # from the window, in full


def test_a_supplement_packet_gets_a_label(staff, frozen):
    api = staff
    case = received(api)
    no = case["case_no"]
    assert api.post(f"/api/v1/cases/{no}/supplement-requests", SUPPLEMENT, as_="officer").status_code == 200
    r = api.post(f"/api/v1/cases/{no}/supplements", {"materials": ["id_card", "application_form"]}, as_="clerk")
    assert r.status_code == 201, r.get_json()
    assert r.json["kind"] == "supplement"
    tn = r.json["tracking_no"]
    text = assert_label_of(api, label(api, tn, "clerk"), tn, no, "补正材料")
    assert office(api, OWNER)["name"] in text
    assert "政务服务材料2件" in text  # two documents inside


def test_a_result_mailed_home_and_a_result_for_pickup_both_get_labels(staff, frozen):
    api = staff
    home = accepted(api)
    r = decide(api, home["case_no"])
    assert r.status_code == 200, r.get_json()
    tn = r.json["result_packet"]["tracking_no"]
    assert r.json["result_packet"]["label_url"] == f"/api/v1/packets/{tn}/label.pdf"
    text = assert_label_of(api, label(api, tn, "officer"), tn, home["case_no"], "办理结果")
    assert "（投递）" in text  # a home address: the delivering division, not an office

    pickup = accepted(api, intake_body(result_delivery=PICKUP))
    r = decide(api, pickup["case_no"])
    assert r.status_code == 200, r.get_json()
    tn = r.json["result_packet"]["tracking_no"]
    for who in ("officer", "clerk"):
        text = assert_label_of(api, label(api, tn, who), tn, pickup["case_no"], "办理结果")
        hall = office(api, "H140902")
        assert hall["name"] in text and hall["phone"] in text and hall["address"] in text


def test_materials_sent_back_after_a_reject_or_a_withdrawal_get_a_return_label(staff, frozen):
    api = staff
    rejected = received(api, intake_body(result_delivery=PICKUP))
    r = api.post(f"/api/v1/cases/{rejected['case_no']}/reject", {"reason": "不属于本机关管辖"}, as_="officer")
    assert r.status_code == 200, r.get_json()
    tn = r.json["return_packet"]["tracking_no"]
    assert_label_of(api, label(api, tn, "officer"), tn, rejected["case_no"], "退回材料")

    withdrawn = collect(api)
    record(api, withdrawn["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-02T11:00:00+08:00")
    r = api.post(f"/api/v1/cases/{withdrawn['case_no']}/withdraw", {"reason": "申请人决定暂不办理"}, as_="clerk")
    assert r.status_code == 200, r.get_json()
    tn = r.json["return_packet"]["tracking_no"]
    text = assert_label_of(api, label(api, tn, "officer"), tn, withdrawn["case_no"], "退回材料")
    assert "张**" in text and "张晓明" not in text and "3单元" not in text, text  # back to the applicant's home


def test_a_label_to_the_applicants_home_masks_the_person_and_prints_the_offices_in_full(staff, frozen):
    api = staff
    case = accepted(api)
    r = decide(api, case["case_no"])
    tn = r.json["result_packet"]["tracking_no"]
    text = flat(pdfs.text(label(api, tn, "officer")))
    assert "张**" in text and "138******78" in text, text
    assert "太原市小店区平阳路12号" in text, text
    for private in ("张晓明", "13812345678", "3单元", "502", resident_id(), case["check_code"]):
        assert private not in text, (private, text)
    owner = office(api, OWNER)  # the sender
    assert owner["name"] in text and owner["phone"] in text and owner["address"] in text, text

    zpl = api.get(f"/api/v1/packets/{tn}/label.zpl", as_="officer").text
    assert "张**" in zpl and "138******78" in zpl
    for private in ("张晓明", "13812345678", "3单元", "502室", resident_id()):
        assert private not in zpl, private


@pytest.mark.parametrize("size", ["200x300", "A4", "100X150", ""])
def test_an_unknown_label_size_is_refused_with_the_sizes_there_are(staff, frozen, size):
    api = staff
    case = collect(api)
    error = assert_error(api.get(f"/api/v1/packets/{case['tracking_no']}/label.pdf?size={size}", as_="clerk"),
                         400, "invalid_request", "size")
    assert sorted(error["allowed"]) == sorted(LABEL_SIZES)


def test_an_unknown_tracking_number_has_no_label(staff, frozen):
    from tests.helpers import unknown_tracking_no
    api = staff
    for kind in ("label.pdf", "label.zpl"):
        assert_error(api.get(f"/api/v1/packets/{unknown_tracking_no()}/{kind}", as_="clerk"), 404, "not_found")


def test_no_label_is_printed_once_the_owning_office_has_signed_for_the_packet(staff, frozen):
    api = staff
    case = received(api)
    for kind in ("label.pdf", "label.zpl"):
        for who in ("clerk", "officer"):
            assert_error(api.get(f"/api/v1/packets/{case['tracking_no']}/{kind}", as_=who), 409,
                         "label_unavailable")


def test_no_label_is_printed_for_a_packet_reported_lost(staff, frozen):
    api = staff
    case = collect(api)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, case["tracking_no"], "exception", "2026-03-02T12:00:00+08:00", "P140900", as_="courier",
           reason="lost")
    assert api.get(f"/api/v1/packets/{case['tracking_no']}", as_="clerk").json["status"] == "lost"
    for kind in ("label.pdf", "label.zpl"):
        assert_error(api.get(f"/api/v1/packets/{case['tracking_no']}/{kind}", as_="clerk"), 409,
                     "label_unavailable")


def test_no_label_is_printed_for_a_result_delivered_at_the_door_or_a_packet_cancelled_by_a_withdrawal(staff,
                                                                                                     frozen):
    api = staff
    case = accepted(api)
    tn = decide(api, case["case_no"]).json["result_packet"]["tracking_no"]
    record(api, tn, "dispatched", "2026-03-04T10:00:00+08:00", as_="officer")
    record(api, tn, "out_for_delivery", "2026-03-05T08:00:00+08:00", "P140100", as_="courier")
    record(api, tn, "delivered", "2026-03-05T10:00:00+08:00", as_="courier")
    assert_error(api.get(f"/api/v1/packets/{tn}/label.pdf", as_="officer"), 409, "label_unavailable")

    withdrawn = collect(api)
    r = api.post(f"/api/v1/cases/{withdrawn['case_no']}/withdraw", {"reason": "申请人决定暂不办理"}, as_="clerk")
    assert r.status_code == 200 and r.json["return_packet"] is None, r.get_json()
    assert_error(api.get(f"/api/v1/packets/{withdrawn['tracking_no']}/label.pdf", as_="clerk"), 409,
                 "label_unavailable")


def test_only_staff_of_the_packets_two_offices_print_its_label(staff, frozen):
    api = staff
    api.user("clerk_xd", "clerk", "H140105")
    api.user("officer_yz", "officer", "D140106-GA")
    case = collect(api)
    tn = case["tracking_no"]
    for kind in ("label.pdf", "label.zpl"):
        for who in ("clerk_xd", "officer_yz", "supervisor"):
            assert_error(api.get(f"/api/v1/packets/{tn}/{kind}", as_=who), 403, "forbidden")
        assert_error(api.get(f"/api/v1/packets/{tn}/{kind}"), 401, "unauthorized")


# -- ZPL ---------------------------------------------------------------------------------------

def test_a_zpl_label_is_one_utf8_format_with_the_tracking_number_in_code_128(staff, frozen):
    api = staff
    case = collect(api)
    tn = case["tracking_no"]
    r = api.get(f"/api/v1/packets/{tn}/label.zpl", as_="clerk")
    assert r.status_code == 200, r.get_json()
    assert r.mimetype == "text/plain" and r.headers["Cache-Control"] == "no-store"
    zpl = r.text
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    assert "^CI28" in zpl
    assert re.findall(r"\^BC[^^]*\^FD([^^]*)\^FS", zpl) == [tn]
    assert f"MA,{public_url(api)}/track/{tn}" in zpl  # the QR's data
    assert "E:SIMSUN.TTF" in zpl  # the printer font by default
    assert case["case_no"] in zpl and "政务服务材料" in zpl and MATTER not in zpl
    assert "申请材料" in zpl

    api.client.application.config["TONGBAN"].zpl_font = "E:NOTOSANSCJK.TTF"
    zpl = api.get(f"/api/v1/packets/{tn}/label.zpl", as_="officer").text
    assert "E:NOTOSANSCJK.TTF" in zpl and "SIMSUN" not in zpl


# -- the receipt -------------------------------------------------------------------------------

def test_the_window_prints_the_applicants_receipt_on_a4_and_a5_and_each_print_is_logged(staff, frozen, db):
    api = staff
    case = collect(api)
    no = case["case_no"]
    assert case["receipt_url"] == f"/api/v1/cases/{no}/receipt.pdf"
    owner = office(api, OWNER)
    masked = resident_id()[:6] + "*" * 8 + resident_id()[-4:]
    for size, mm in ((None, (210, 297)), ("A4", (210, 297)), ("A5", (148, 210))):
        data = pdf(api, case["receipt_url"] + (f"?size={size}" if size else ""), "clerk")
        assert_size_mm(data, mm)
        text = flat(pdfs.text(data))
        assert case["check_code"] in text, text
        assert masked in text and resident_id() not in text, text
        assert "张晓明" in text and MATTER in text and owner["name"] in text, text
        assert "无犯罪记录证明申请表" in text and "居民身份证" in text, text
        assert "收件时间2026年03月02日09:00" in text, text  # Beijing time
        # not accepted yet: 3 promised working days from the expected receipt on Thursday 5 March
        assert "预计办结2026年03月10日" in text and "结果预计2026年03月12日送达" in text, text
        assert pdfs.code128(data) == [no]
        assert pdfs.qr(data) == [f"{public_url(api)}/track/{no}"]
    logged = rows(db, select(AccessLog).where(AccessLog.what == "receipt"))
    assert [(a.case_no, a.username, a.office_code) for a in logged] == [(no, "clerk", "H140902")] * 3


def test_a_receipt_in_an_unknown_paper_size_is_refused(staff, frozen, db):
    api = staff
    case = collect(api)
    error = assert_error(api.get(case["receipt_url"] + "?size=A3", as_="clerk"), 400, "invalid_request", "size")
    assert sorted(error["allowed"]) == ["A4", "A5"]
    assert rows(db, select(AccessLog).where(AccessLog.what == "receipt")) == []


def test_only_the_collecting_window_prints_the_receipt(staff, frozen, db):
    api = staff
    api.user("clerk_xd", "clerk", "H140105")
    case = collect(api)
    for who in ("officer", "clerk_xd", "supervisor", "courier"):
        assert_error(api.get(case["receipt_url"], as_=who), 403, "forbidden")
    assert_error(api.get(case["receipt_url"]), 401, "unauthorized")
    assert rows(db, select(AccessLog).where(AccessLog.what == "receipt")) == []


# -- the notices -------------------------------------------------------------------------------

def test_a_supplement_notice_lists_what_is_missing_and_by_when_once_it_was_asked_for(staff, frozen, db):
    api = staff
    case = received(api)
    no = case["case_no"]
    url = f"/api/v1/cases/{no}/supplement-notice.pdf"
    assert_error(api.get(url, as_="officer"), 409, "no_supplement_request")
    assert_error(api.get(url, as_="clerk"), 409, "no_supplement_request")

    assert api.post(f"/api/v1/cases/{no}/supplement-requests", SUPPLEMENT, as_="officer").status_code == 200
    owner = office(api, OWNER)
    for who in ("officer", "clerk"):
        text = flat(pdfs.text(pdf(api, url, who)))
        assert "补正材料告知书" in text and no in text, text
        assert "居民身份证" in text and "无犯罪记录证明申请表" in text, text
        assert "2026年03月20日" in text, text
        assert owner["name"] in text, text
        assert SUPPLEMENT["note"] in text, text
    logged = rows(db, select(AccessLog).where(AccessLog.what == "supplement_notice"))
    assert [(a.case_no, a.username) for a in logged] == [(no, "officer"), (no, "clerk")]


def test_a_notice_is_printed_only_by_the_cases_two_offices(staff, frozen):
    api = staff
    api.user("officer_yz", "officer", "D140106-GA")
    case = received(api)
    no = case["case_no"]
    api.post(f"/api/v1/cases/{no}/supplement-requests", SUPPLEMENT, as_="officer")
    for who in ("officer_yz", "supervisor", "courier"):
        assert_error(api.get(f"/api/v1/cases/{no}/supplement-notice.pdf", as_=who), 403, "forbidden")


def test_a_rejection_notice_gives_the_reason_and_where_to_apply_instead(staff, frozen):
    api = staff
    case = received(api)
    no = case["case_no"]
    url = f"/api/v1/cases/{no}/rejection-notice.pdf"
    assert_error(api.get(url, as_="officer"), 409, "not_rejected")

    instead = office(api, "D140106-GA")
    body = {"reason": "申请人户籍在迎泽区，不属于本机关管辖", "apply_to": "太原市公安局迎泽分局",
            "apply_to_office": "D140106-GA"}
    r = api.post(f"/api/v1/cases/{no}/reject", body, as_="officer")
    assert r.status_code == 200, r.get_json()
    returned = r.json["return_packet"]["tracking_no"]
    for who in ("officer", "clerk"):
        text = flat(pdfs.text(pdf(api, url, who)))
        assert "不予受理告知书" in text and no in text, text
        assert body["reason"] in text, text
        assert f"请向{body['apply_to']}提出申请" in text, text
        assert instead["name"] in text and instead["phone"] in text, text
        assert office(api, OWNER)["name"] in text, text
        assert returned in text, text  # the originals come back in this packet


def test_a_reject_naming_an_unknown_office_to_apply_to_changes_nothing(staff, frozen):
    api = staff
    case = received(api)
    no = case["case_no"]
    r = api.post(f"/api/v1/cases/{no}/reject", {"reason": "不属于本机关管辖", "apply_to": "太原市公安局",
                                                 "apply_to_office": "D999999-XX"}, as_="officer")
    assert_error(r, 422, "unknown_office", "apply_to_office")
    view = case_of(api, no)
    assert view["status"] == "received"
    assert [p["kind"] for p in view["packets"]] == ["outbound"]
    assert_error(api.get(f"/api/v1/cases/{no}/rejection-notice.pdf", as_="officer"), 409, "not_rejected")
