"""Papercuts a new user met at the window (issue 13 §6): places typed by name or beyond the service's
reach, numbers typed without dashes, an applicant without a receipt found by ID number or phone, phones
typed with full-width digits or +86, `make run PORT=…`, and the provincial hall collecting cases."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from sqlmodel import select

from tests.e2e.steps import assert_error, collect, rows
from tests.e2e.test_pages_intake import (
    WFZM,
    check_page,
    error_next_to,
    hidden_fields,
    register,
    wfzm_form,
)
from tests.helpers import (
    intake_body,
    org_intake_body,
    organisation,
    person,
    resident_id,
)
from tracking.model.tables import AccessLog, Case

ROOT = Path(__file__).resolve().parents[2]
OTHER_ID = resident_id("14090219850612451")


def text(r) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))


@pytest.fixture
def clerk(staff, pages, frozen):
    pages.login("clerk")
    return pages


def stored(db, case_no: str) -> Case:
    return rows(db, select(Case).where(Case.case_no == case_no))[0]


# -- 1. places by name, and places the service does not reach yet --------------------------------

def test_the_api_takes_places_by_their_names(staff, db):
    body = intake_body(applicant=person(division_code="太原市小店区"),
                       result_delivery={"method": "mail", "address": "忻州市忻府区和平街8号",
                                        "division_code": "忻州市忻府区"})
    case = stored(db, collect(staff, body)["case_no"])
    assert case.owning_office == "D140105-GA" and case.result_division == "140902"


def test_the_intake_page_takes_places_by_their_names(clerk):
    form = wfzm_form(**{"applicant.division_code": "太原市小店区", "result_delivery.division_code": "忻州市忻府区"})
    fields = hidden_fields(check_page(clerk, form).text)
    assert fields["applicant.division_code"] == "140105" and fields["result_delivery.division_code"] == "140902"


def test_a_code_of_an_area_not_covered_yet_says_so_rather_than_not_found(staff, clerk):
    error = assert_error(staff.post("/api/v1/cases", intake_body(applicant=person(division_code="310101")),
                                    as_="clerk"), 422, "no_owning_office", "applicant.division_code")
    assert "暂未开通" in error["message"] and "未找到" not in error["message"]
    mail_there = {"method": "mail", "address": "石家庄市裕华区槐安路1号", "division_code": "130108"}
    assert collect(staff, intake_body(result_delivery=mail_there))  # 石家庄's districts are covered
    mail_there["division_code"] = "130602"                             # 保定 is not, yet
    error = assert_error(staff.post("/api/v1/cases", intake_body(result_delivery=mail_there), as_="clerk"),
                         400, "invalid_request", "result_delivery.division_code")
    assert "“130602”所在地区暂未开通通办服务" in error["message"]
    r = clerk.post(WFZM, wfzm_form(**{"applicant.division_code": "310101"}), as_="clerk")
    shown = error_next_to(r.text, "applicant-division_code")
    assert "“310101”所在地区暂未开通通办服务" in shown and "未找到" not in shown
    r = clerk.post(WFZM, wfzm_form(**{"applicant.division_code": "140199"}), as_="clerk")  # a mistyped 太原 code
    assert "未找到“140199”" in error_next_to(r.text, "applicant-division_code")


# -- 2. numbers typed without dashes or with spaces ------------------------------------------------

@pytest.mark.parametrize("shape", [lambda n: n.replace("-", ""), lambda n: n.replace("-", " "),
                                   lambda n: n.replace("-", "").translate(str.maketrans("0123456789", "０１２３４５６７８９"))])
def test_a_case_number_typed_without_dashes_or_with_spaces_is_found_at_the_window_and_on_track(clerk, staff,
                                                                                              shape):
    case = collect(staff)
    r = clerk.get("/window/find", query_string={"no": shape(case["case_no"])}, as_="clerk")
    assert r.status_code == 302 and r.location.endswith(f"/window/cases/{case['case_no']}")
    phone = clerk.app.test_client()
    page = phone.get("/track", query_string={"no": shape(case["case_no"]), "check": case["check_code"]})
    assert page.status_code == 200 and case["case_no"] in text(page) and "无犯罪记录证明" in text(page)


# -- 3. an applicant without the receipt, found by ID number or phone ------------------------------

def searches(db, username="clerk") -> list[tuple[str, str]]:
    return [(row.case_no, row.what) for row in rows(db, select(AccessLog).where(
        AccessLog.username == username, AccessLog.what.like("search:%")).order_by(AccessLog.id))]


def test_the_window_finds_an_applicants_cases_by_id_number_and_writes_the_search_to_the_access_log(clerk, staff,
                                                                                                 db):
    first, second = collect(staff), collect(staff)
    other = collect(staff, intake_body(applicant=person(id_number=OTHER_ID, phone="13900001111", name="李四")))
    typed = resident_id()[:6] + " " + resident_id()[6:14] + " " + resident_id()[14:].lower()
    r = clerk.get("/window/find", query_string={"no": typed}, as_="clerk")
    assert r.status_code == 200
    page = text(r)
    assert "按证件号码查找办件" in page and "共 2 件" in page
    assert first["case_no"] in page and second["case_no"] in page and other["case_no"] not in page
    assert f'href="/window/cases/{first["case_no"]}"' in r.text
    assert sorted(searches(db)) == sorted([(first["case_no"], "search:id_number"),
                                           (second["case_no"], "search:id_number")])


def test_the_window_finds_an_applicants_cases_by_phone_typed_any_way(clerk, staff, db):
    mine = collect(staff)
    other = collect(staff, intake_body(applicant=person(id_number=OTHER_ID, phone="13900001111", name="李四")))
    assert stored(db, mine["case_no"]).phone_hash not in (None, stored(db, other["case_no"]).phone_hash)
    for typed in ("13812345678", "+86 138 1234 5678", "１３８ １２３４ ５６７８"):
        r = clerk.get("/window/find", query_string={"no": typed}, as_="clerk")
        page = text(r)
        assert r.status_code == 200 and "按手机号码查找办件" in page, typed
        assert mine["case_no"] in page and other["case_no"] not in page, typed
    assert searches(db) == [(mine["case_no"], "search:phone")] * 3


def test_a_search_finding_nothing_is_logged_too_and_says_so(clerk, staff, db):
    collect(staff)
    r = clerk.get("/window/find", query_string={"no": "13700000000"}, as_="clerk")
    assert r.status_code == 200 and "没有找到该手机号码在本窗口收件的办件" in text(r)
    assert searches(db) == [("", "search:phone")]
    r = clerk.get("/window/find", query_string={"no": "EA999999999CN"}, as_="clerk")
    assert r.status_code == 404 and "未找到“EA999999999CN”" in text(r)


def test_the_search_sees_only_the_cases_of_the_clerks_own_hall(clerk, staff, pages, db):
    case = collect(staff)
    staff.user("clerk_ty", "clerk", "H140100")
    pages.login("clerk_ty")
    r = pages.get("/window/find", query_string={"no": resident_id()}, as_="clerk_ty")
    assert r.status_code == 200 and case["case_no"] not in text(r) and "共 0 件" in text(r)
    assert searches(db, "clerk_ty") == [("", "search:id_number")]


def test_an_organisation_is_found_by_its_credit_code_and_its_phone(clerk, staff):
    case = collect(staff, org_intake_body())
    for typed in (organisation()["credit_code"], "0351-4041234"):
        r = clerk.get("/window/find", query_string={"no": typed}, as_="clerk")
        assert r.status_code == 200 and case["case_no"] in text(r), typed


# -- 7. phones typed with full-width digits or +86 -------------------------------------------------

def test_phones_with_full_width_digits_or_plus_86_are_taken_by_the_api_and_the_page(staff, clerk, db):
    body = org_intake_body(applicant=organisation(
        phone="０３５１－４０４１２３４",
        agent=person(name="李建国", id_number=OTHER_ID, phone="＋８６ １３９ ３４５６ ７８９０", division_code="140902")))
    case = collect(staff, body)
    applicant = staff.get(f"/api/v1/cases/{case['case_no']}", as_="clerk").json["applicant"]
    assert applicant["phone"] == "0351-4041234" and applicant["agent"]["phone"] == "13934567890"
    case_no = register(clerk, wfzm_form(**{"applicant.phone": "+86 １３８－１２３４－５６７８"})).rsplit("/", 1)[-1]
    assert staff.get(f"/api/v1/cases/{case_no}", as_="clerk").json["applicant"]["phone"] == "13812345678"


# -- 10. the provincial hall ----------------------------------------------------------------------

def test_the_provincial_hall_collects_cases_for_the_counties(staff):
    halls = staff.get("/api/v1/offices?kind=hall&division=14", as_="clerk").json["offices"]
    assert {(o["code"], o["name"], o["division_code"]) for o in halls} >= {("H140000", "山西省政务服务中心", "140000")}
    staff.user("clerk_sx", "clerk", "H140000")
    case = collect(staff, as_="clerk_sx")
    assert case["case_no"].startswith("140000-") and case["collecting_office"]["name"] == "山西省政务服务中心"
    assert [stop["office_code"] for stop in case["route"]][:2] == ["H140000", "P140000"]
    assert case["owning_office"]["code"] == "D140105-GA"


# -- 9. make run PORT=… ---------------------------------------------------------------------------

def _make_run(tmp_path, **env) -> list[str]:
    """`make run PORT=5101` with a stand-in venv whose flask writes down how it was called: the recipe as
    written, run to its end at once (no server)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    calls = tmp_path / "calls.txt"
    for name, body in (("python", "exit 0"), ("flask", f'echo "$TONGBAN_PUBLIC_URL $*" >> "{calls}"')):
        (venv / "bin" / name).write_text(f"#!/bin/sh\n{body}\n")
        (venv / "bin" / name).chmod(0o755)
    (venv / ".runtime").touch()
    environ = {k: v for k, v in os.environ.items() if k not in ("TONGBAN_PUBLIC_URL", "PORT", "MAKEFLAGS")}
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "run", "PORT=5101", f"VENV={venv}"],
                          env={**environ, **env}, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return calls.read_text().splitlines()


def test_make_run_serves_on_the_port_given_and_points_links_at_it(tmp_path):
    calls = _make_run(tmp_path)
    assert calls[-1] == "http://127.0.0.1:5101 run --host 127.0.0.1 --port 5101"
    assert [c.split()[-1] for c in calls[:-1]] == ["init-db", "demo"]


def test_make_run_keeps_a_public_url_that_is_set(tmp_path):
    calls = _make_run(tmp_path, TONGBAN_PUBLIC_URL="https://tongban.example.cn")
    assert calls[-1] == "https://tongban.example.cn run --host 127.0.0.1 --port 5101"


def test_the_upgrade_gives_every_earlier_case_the_hash_of_its_applicants_phone(database_url, tmp_path):
    """Migration 0009 over a released database: each case is found by its applicant's phone."""
    import json

    from app import create_app
    from app.schema import upgrade
    from config.database import make_engine
    from tests.databases import fresh_database
    from tests.integration.test_upgrade_from_release import (
        CHAIN_KEY,
        RELEASES,
        load_release,
    )
    from tracking.model.sealing import Sealer
    fixture = json.loads((RELEASES / "0005" / "tables.json").read_text(encoding="utf-8"))
    with fresh_database(database_url, tmp_path, "release0005phones") as url:
        engine = make_engine(url)
        upgrade(engine, fixture["revision"])
        load_release(engine, fixture["tables"])
        app = create_app({"database_url": url, "instance_path": tmp_path, "chain_key": CHAIN_KEY, **fixture["keys"]})
        upgrade(engine, settings=app.config["TONGBAN"])
        sealer = Sealer(fixture["keys"]["data_key"])
        with engine.connect() as conn:
            cases = conn.exec_driver_sql('SELECT applicant_sealed, phone_hash FROM "case"').all()
        app.extensions["tongban"]["engine"].dispose()
        engine.dispose()
    assert cases and all(found == sealer.lookup_hash(sealer.open(sealed)["phone"]) for sealed, found in cases)
