"""Materials travel as files first (issue 16): the window uploads each material's scan, the owning office
reviews the case online at once, a supplement is asked and answered as a file, and paper travels only where an
original must be seen. Over HTTP, on the local disk store; the same path runs on an S3-compatible store."""
from __future__ import annotations

import base64
import io
import uuid

import pytest
from PIL import Image
from sqlmodel import select

from mailing.tables import Packet
from tests import pdfs
from tests.e2e.steps import PDF, assert_error, case_of, collect, count, record, rows
from tests.e2e.test_openapi import Conformance
from tests.helpers import intake_body
from tests.s3_server import s3_server, s3_settings  # noqa: F401  (fixtures)
from tests.scans_made import jpeg_photo, pdf_scan, pdf_with_javascript, png_scan
from tracking.files.storage import storage_for
from tracking.model.tables import AccessLog, Case, CaseEvent, CaseFile

ALL_FILES = [{"code": "application_form", "copies": 1, "original": True, "travels": "file"},
             {"code": "id_card", "copies": 1, "original": False, "travels": "file"}]
ORIGINAL_BY_POST = [{"code": "application_form", "copies": 1, "original": True},  # travels: paper (the default)
                    {"code": "id_card", "copies": 1, "original": False, "travels": "file"}]


def upload(api, case_no: str, material_code: str, data: bytes, filename: str, *, as_: str = "clerk",
           key: str | None = None, **fields):
    headers = api._headers(as_, key)
    form = {"material_code": material_code, "file": (io.BytesIO(data), filename), **fields}
    return api.client.post(f"/api/v1/cases/{case_no}/files", data=form, headers=headers,
                           content_type="multipart/form-data")


def uploaded(api, case_no: str, material_code: str, data: bytes, filename: str, **fields) -> dict:
    r = upload(api, case_no, material_code, data, filename, **fields)
    assert r.status_code == 201, r.get_json()
    return r.json


@pytest.fixture(params=["local", "s3"])
def store(request, app):
    """CI covers both stores: the local disk (the default) and an S3-compatible server on loopback."""
    settings = app.config["TONGBAN"]
    if request.param == "s3":
        for name, value in request.getfixturevalue("s3_settings").items():
            setattr(settings, name, value)
    app.extensions["tongban"].pop("file_store", None)
    return storage_for(settings)


def files_only_case(api, frozen) -> dict:
    """无犯罪记录证明 with both materials as scans and an electronic result, collected on Monday 2 March."""
    frozen.set("2026-03-02T09:00:00+08:00")
    return collect(api, intake_body(materials=ALL_FILES, result_delivery={"method": "electronic"}))


# -- (a) every material a file: no packet at all -------------------------------------------------------

def test_a_matter_whose_materials_are_all_files_runs_to_an_electronic_result_without_any_packet(staff, frozen, db,
                                                                                                store, client):
    conforms = Conformance(client.get("/api/v1/openapi.json").json)
    case = files_only_case(staff, frozen)
    no = case["case_no"]
    assert case["tracking_no"] is None and case["label_url"] is None and case["route"] == []
    receipt = pdfs.text(staff.get(case["receipt_url"], as_="clerk").data)
    assert "扫描件上传" in receipt and "纸质材料不寄送" in receipt
    assert count(db, Packet, Packet.case_id == select(Case.id).where(Case.case_no == no).scalar_subquery()) == 0

    frozen.set("2026-03-02T09:10:00+08:00")
    first = upload(staff, no, "application_form", pdf_scan(2, "application"), "申请表.pdf")
    conforms.check(first, "post", "/cases/{case_no}/files", 201)
    first = first.json
    assert first["received"] is False and first["status"] == "collected"
    [form] = first["files"]
    assert (form["material_code"], form["pages"], form["content_type"]) == ("application_form", 2, "application/pdf")
    frozen.set("2026-03-02T09:12:00+08:00")
    second = uploaded(staff, no, "id_card", jpeg_photo(), "身份证.jpg")
    assert second["received"] is True and second["status"] == "received"

    # the office sees it at once: the law's clock runs from the last upload
    detail = case_of(staff, no)
    assert detail["received_at"] == "2026-03-02T09:12:00+08:00"
    stages = {s["stage"]: s for s in detail["deadlines"]}
    assert stages["dispatch"]["done_at"] == stages["receipt"]["done_at"] == "2026-03-02T09:12:00+08:00"
    assert stages["supplement_notice"]["due"] == "2026-03-09" and not any(s["overdue"] for s in stages.values())
    listing = staff.get(f"/api/v1/cases/{no}/files", as_="officer")
    conforms.check(listing, "get", "/cases/{case_no}/files", 200)
    assert listing.json["complete"] is True
    assert [m["travels"] for m in listing.json["materials"]] == ["file", "file"]
    viewed = staff.get(form["url"], as_="officer")
    assert viewed.status_code == 200 and viewed.mimetype == "application/pdf" and viewed.data.startswith(b"%PDF-")
    assert viewed.headers["Cache-Control"] == "no-store" and "inline" in viewed.headers["Content-Disposition"]
    thumbnail = staff.get(form["thumbnail_url"], as_="officer")
    assert thumbnail.status_code == 200 and Image.open(io.BytesIO(thumbnail.data)).format == "PNG"

    # a supplement asked and answered as a file
    frozen.set("2026-03-03T10:00:00+08:00")
    r = staff.post(f"/api/v1/cases/{no}/supplement-requests", {"materials": ["id_card"], "note": "照片不清晰"},
                   as_="officer")
    assert r.status_code == 200 and r.json["status"] == "supplement_requested"
    frozen.set("2026-03-04T11:00:00+08:00")
    answered = uploaded(staff, no, "id_card", png_scan(), "身份证（重新扫描）.png", purpose="supplement")
    assert answered["received"] is True and answered["status"] == "received"
    assert case_of(staff, no)["supplement"]["received_at"] == "2026-03-04T11:00:00+08:00"

    # accepted and decided electronically, before any paper could have arrived
    frozen.set("2026-03-04T14:00:00+08:00")
    r = staff.post(f"/api/v1/cases/{no}/accept", as_="officer")
    assert r.status_code == 200 and (r.json["status"], r.json["status_text"]) == ("accepted", "已受理")
    r = staff.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "准予",
                                                     "result_file": base64.b64encode(PDF).decode()}, as_="officer")
    assert r.status_code == 200, r.get_json()
    assert r.json["status"] == "decided" and r.json["delivery_url"] and "result_packet" not in r.json

    db.rollback()
    case_row = db.exec(select(Case).where(Case.case_no == no)).one()
    assert count(db, Packet, Packet.case_id == case_row.id) == 0
    files = rows(db, select(CaseFile).where(CaseFile.case_id == case_row.id).order_by(CaseFile.id))
    assert [(f.material_code, f.purpose) for f in files] == [("application_form", "material"), ("id_card", "material"),
                                                             ("id_card", "supplement")]
    # every view is on the access log: who, when, which file
    viewed_rows = rows(db, select(AccessLog.what, AccessLog.username).where(AccessLog.case_no == no))
    assert (f"file:{form['id']}", "officer") in viewed_rows and (f"thumbnail:{form['id']}", "officer") in viewed_rows
    assert ("files", "officer") in viewed_rows
    received = rows(db, select(CaseEvent).where(CaseEvent.case_id == case_row.id, CaseEvent.type == "received"))
    assert [e.data.get("supplement", False) for e in received] == [False, True]
    # kept in the store the settings name, sealed: the bytes there are not the scan
    for f in files:
        assert store.exists(f.storage_key) and store.exists(f.thumbnail_key)
        assert not store.get(f.storage_key).startswith((b"%PDF", b"\xff\xd8", b"\x89PNG"))


def test_one_scan_split_by_page_ranges_becomes_a_file_for_each_material(staff, frozen, db):
    case = files_only_case(staff, frozen)
    made = uploaded(staff, case["case_no"], "application_form,id_card", pdf_scan(3, "both"), "整份材料.pdf",
                    pages="1-2,3")
    assert [(f["material_code"], f["pages"]) for f in made["files"]] == [("application_form", 2), ("id_card", 1)]
    assert made["received"] is True


def test_the_same_scan_twice_is_stored_once_and_the_idempotency_key_answers_once(staff, frozen, db, app):
    case = files_only_case(staff, frozen)
    scan_ = pdf_scan(1, "same")
    key = str(uuid.uuid4())
    first = upload(staff, case["case_no"], "application_form", scan_, "a.pdf", key=key)
    again = upload(staff, case["case_no"], "application_form", scan_, "a.pdf", key=key)
    assert first.status_code == again.status_code == 201 and first.json == again.json
    other = uploaded(staff, case["case_no"], "id_card", scan_, "b.pdf")
    db.rollback()
    kept = rows(db, select(CaseFile).order_by(CaseFile.id))
    assert len(kept) == 2 and kept[0].sha256 == kept[1].sha256 == other["files"][0]["sha256"]
    assert kept[0].storage_key == kept[1].storage_key  # one stored object for both rows


# -- (b) one original by post, the rest as files --------------------------------------------------------

def test_an_original_by_post_makes_acceptance_conditional_until_its_packet_is_received_and_checked(staff, frozen, db):
    frozen.set("2026-03-02T09:00:00+08:00")
    case = collect(staff, intake_body(materials=ORIGINAL_BY_POST))
    no, tracking_no = case["case_no"], case["tracking_no"]
    packet = rows(db, select(Packet).where(Packet.tracking_no == tracking_no))[0]
    assert [m["code"] for m in packet.contents] == ["application_form"]  # only what is in the packet

    uploaded(staff, no, "application_form", pdf_scan(1, "form"), "申请表.pdf")
    assert uploaded(staff, no, "id_card", jpeg_photo(), "id.jpg")["received"] is True
    record(staff, tracking_no, "dispatched", "2026-03-02T16:00:00+08:00", as_="clerk")  # moves the case no more
    assert case_of(staff, no)["status"] == "received"

    frozen.set("2026-03-03T09:00:00+08:00")
    r = staff.post(f"/api/v1/cases/{no}/accept", as_="officer")
    assert r.status_code == 200 and (r.json["status"], r.json["status_text"]) == ("accepted", "已受理（待原件核验）")
    assert [f["code"] for f in case_of(staff, no)["flags"]] == ["awaiting_originals"]
    error = assert_error(staff.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved"}, as_="officer"),
                         409, "originals_not_arrived")
    assert "申请表" in error["message"] or "原件" in error["message"]

    record(staff, tracking_no, "received", "2026-03-04T09:00:00+08:00", as_="officer",
           contents=[{"code": "application_form", "status": "ok"}])
    detail = case_of(staff, no)
    assert detail["flags"] == [] and detail["status"] == "accepted" and detail["status_text"] == "已受理"
    events = {e["type"]: e["data"] for e in detail["events"]}
    assert events["paper_compared"]["matched"] is True and events["originals_arrived"]["materials"] == ["application_form"]
    assert detail["accepted_at"] == "2026-03-03T09:00:00+08:00"  # the acceptance stands as of the files
    r = staff.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "准予"}, as_="officer")
    assert r.status_code == 200 and r.json["status"] == "decided"


def test_the_contents_check_records_when_the_paper_does_not_match_the_files(staff, frozen, db):
    frozen.set("2026-03-02T09:00:00+08:00")
    case = collect(staff, intake_body(materials=[{"code": "application_form", "copies": 1, "original": True},
                                                 {"code": "id_card", "copies": 1, "original": False}]))
    no = case["case_no"]
    uploaded(staff, no, "id_card", jpeg_photo(), "id.jpg")  # the form's scan never came: only its paper
    record(staff, case["tracking_no"], "dispatched", "2026-03-02T16:00:00+08:00", as_="clerk")
    record(staff, case["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer",
           contents=[{"code": "application_form", "status": "ok"}, {"code": "id_card", "status": "ok"}])
    compared = [e for e in case_of(staff, no)["events"] if e["type"] == "paper_compared"]
    assert compared[0]["data"]["matched"] is False
    assert [m["code"] for m in compared[0]["data"]["without_file"]] == ["application_form"]


# -- (c) files made to deceive are refused, and nothing of the case changes --------------------------------

def _bomb() -> bytes:
    """A PNG of 20000 × 20000 one-colour pixels: a few hundred kilobytes that would unpack to 400 megapixels."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000), 1).save(out, "PNG", optimize=True)
    return out.getvalue()


MALICIOUS = {
    "a PDF with JavaScript": (pdf_with_javascript, "申请表.pdf", "pdf_active_content"),
    "a polyglot (a picture with a PDF after it)": (lambda: jpeg_photo() + pdf_scan(1), "photo.jpg",
                                                   "file_type_mismatch"),
    "a decompression bomb": (_bomb, "scan.png", "image_too_large"),
    "a wrong extension": (jpeg_photo, "申请表.pdf", "file_type_mismatch"),
    "a program": (lambda: b"MZ\x90\x00" + b"\x00" * 200, "申请表.pdf", "file_type_unsupported"),
}


@pytest.mark.parametrize("what", sorted(MALICIOUS))
def test_a_malicious_upload_is_refused_with_its_code_and_the_case_is_unchanged(staff, frozen, db, what):
    make, filename, code = MALICIOUS[what]
    case = files_only_case(staff, frozen)
    no = case["case_no"]
    before = case_of(staff, no, as_="clerk")
    error = assert_error(upload(staff, no, "application_form", make(), filename), 422, code, "file")
    assert error["message"]
    after = case_of(staff, no, as_="clerk")
    assert (after["status"], after["events"]) == (before["status"], before["events"])
    assert count(db, CaseFile) == 0


def test_uploads_are_refused_for_a_material_not_on_the_case_and_for_another_hall(staff, frozen, db):
    case = files_only_case(staff, frozen)
    assert_error(upload(staff, case["case_no"], "property_cert", pdf_scan(), "x.pdf"), 422, "unknown_material",
                 "material_code")
    assert_error(upload(staff, case["case_no"], "id_card", pdf_scan(), "x.pdf", as_="officer"), 403, "forbidden")
    assert_error(upload(staff, case["case_no"], "id_card", pdf_scan(), "x.pdf", purpose="supplement"), 409,
                 "invalid_transition")
    assert count(db, CaseFile) == 0


# -- retention ---------------------------------------------------------------------------------------

def test_the_sweep_removes_an_ended_cases_files_after_the_retention_period(staff, frozen, db, app, store):
    case = files_only_case(staff, frozen)
    no = case["case_no"]
    form = uploaded(staff, no, "application_form", pdf_scan(1, "kept"), "a.pdf")["files"][0]
    uploaded(staff, no, "id_card", jpeg_photo(), "b.jpg")
    r = staff.post(f"/api/v1/cases/{no}/withdraw", {"reason": "申请人撤回"}, as_="clerk")
    assert r.status_code == 200 and r.json["return_packet"] is None  # nothing had left on paper

    runner = app.test_cli_runner()
    assert runner.invoke(args=["sweep", "--as-of", "2026-08-28"]).exit_code == 0  # 179 days after
    assert staff.get(form["url"], as_="officer").status_code == 200
    assert runner.invoke(args=["sweep", "--as-of", "2026-08-29"]).exit_code == 0  # 180 days after
    assert_error(staff.get(form["url"], as_="officer"), 410, "file_removed")
    db.rollback()
    kept = rows(db, select(CaseFile))
    assert all(f.removed_at is not None and "保存期限" in f.removed_reason for f in kept)
    assert not any(store.exists(f.storage_key) or store.exists(f.thumbnail_key) for f in kept)
    removed = [e for e in case_of(staff, no)["events"] if e["type"] == "files_removed"]
    assert removed and removed[0]["data"]["files"] == 2


def test_a_scan_another_case_still_keeps_is_not_deleted_with_the_first_case(staff, frozen, db, app, store):
    same = pdf_scan(1, "the same form")
    gone_case, kept_case = files_only_case(staff, frozen), files_only_case(staff, frozen)
    first = uploaded(staff, gone_case["case_no"], "application_form", same, "a.pdf")["files"][0]
    second = uploaded(staff, kept_case["case_no"], "application_form", same, "a.pdf")["files"][0]
    assert staff.post(f"/api/v1/cases/{gone_case['case_no']}/withdraw", {"reason": "申请人撤回"},
                      as_="clerk").status_code == 200
    assert app.test_cli_runner().invoke(args=["sweep", "--as-of", "2026-08-29"]).exit_code == 0
    assert_error(staff.get(first["url"], as_="officer"), 410, "file_removed")
    again = staff.get(second["url"], as_="officer")
    assert again.status_code == 200 and again.data.startswith(b"%PDF-")
    db.rollback()
    [kept] = rows(db, select(CaseFile).where(CaseFile.removed_at.is_(None)))
    assert kept.id == second["id"] and store.exists(kept.storage_key)


# -- the pages: the confirmation page uploads, a refusal is shown at its material -----------------------

def test_the_confirmation_page_uploads_a_scan_and_shows_a_refusal_next_to_its_material(staff, pages, frozen, db):
    case = files_only_case(staff, frozen)
    pages.login("clerk")
    done = f"/window/intake/done/{case['case_no']}"
    page = pages.get(done, as_="clerk")
    assert page.status_code == 200 and "材料扫描件" in page.text and 'accept="application/pdf,image/jpeg,image/png"' in page.text
    r = pages.post(f"{done}/files", {"material_code": "id_card", "purpose": "material",
                                     "file": (io.BytesIO(pdf_with_javascript()), "身份证.pdf")}, as_="clerk",
                   csrf_from=done, content_type="multipart/form-data")
    assert r.status_code == 422 and 'id="file-id_card-error"' in r.text and "脚本" in r.text
    assert count(db, CaseFile) == 0
    r = pages.post(f"{done}/files", {"material_code": "id_card", "purpose": "material",
                                     "file": (io.BytesIO(jpeg_photo()), "身份证.jpg")}, as_="clerk",
                   csrf_from=done, content_type="multipart/form-data")
    assert r.status_code == 303 and r.headers["Location"].endswith("#files")
    page = pages.get(done, as_="clerk")
    [made] = rows(db, select(CaseFile))
    assert f"/api/v1/files/{made.id}/thumbnail.png" in page.text and "1 页" in page.text
