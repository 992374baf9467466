"""Steps the e2e tests share: moving a case along over HTTP, and checking answers the way a client does."""
from __future__ import annotations

import re

from sqlmodel import select

from tests.helpers import intake_body, scan
from tests.scans_made import pdf_scan
from tracking.files.checks import FileLimits, check_file

CJK = re.compile(r"[\u4e00-\u9fff]")
PDF = pdf_scan(title="result")  # a real PDF: results go through the same checks as scans
# what the applicant downloads: the checked file, rewritten (the same upload always gives the same bytes)
KEPT_PDF = check_file(PDF, "result.pdf", FileLimits(max_bytes=20 * 2**20, max_pages=100, max_pixels=40_000_000)).data


def assert_error(r, status: int, code: str, field: str | None = None) -> dict:
    """The contract's error shape: {"error": {"code", "message", ["field"]}}, the message in Chinese."""
    body = r.get_json()
    assert r.status_code == status, (r.status_code, body)
    assert isinstance(body, dict) and list(body) == ["error"], body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and CJK.search(error["message"]), error
    if field is not None:
        assert error.get("field") == field, error
    return error


def rows(db, query) -> list:
    """Rows as the database holds them now (the test's session starts a fresh snapshot)."""
    db.rollback()
    return list(db.exec(query))


def count(db, table, *where) -> int:
    return len(rows(db, select(table).where(*where)))


def collect(api, body: dict | None = None, *, as_: str = "clerk", key: str | None = None) -> dict:
    r = api.post("/api/v1/cases", body or intake_body(), as_=as_, key=key)
    assert r.status_code == 201, r.get_json()
    return r.json


def scans(api, batch: list[dict], *, as_: str) -> list[dict]:
    r = api.post("/api/v1/scans", {"scans": batch}, as_=as_)
    assert r.status_code == 200, r.get_json()
    assert len(r.json["results"]) == len(batch)
    return r.json["results"]


def record(api, tracking_no: str, type_: str, at: str, office_code: str | None = None, *, as_: str,
           **extra) -> dict:
    """One scan that must be recorded."""
    result = scans(api, [scan(tracking_no, type_, at, office_code, **extra)], as_=as_)[0]
    assert result["status"] == "recorded", result
    return result


def case_of(api, case_no: str, as_: str = "officer") -> dict:
    r = api.get(f"/api/v1/cases/{case_no}", as_=as_)
    assert r.status_code == 200, r.get_json()
    return r.json


def packet_of(api, tracking_no: str, as_: str = "courier") -> dict:
    r = api.get(f"/api/v1/packets/{tracking_no}", as_=as_)
    assert r.status_code == 200, r.get_json()
    return r.json


def track(api, number: str, check: str | None):
    return api.get(f"/api/v1/track/{number}" + (f"?check={check}" if check is not None else ""))


def received(api, body: dict | None = None, *, day: str = "2026-03-02", next_day: str = "2026-03-03") -> dict:
    """A case whose outbound packet went out on `day` and was signed for by the owning office on `next_day`."""
    case = collect(api, body)
    record(api, case["tracking_no"], "dispatched", f"{day}T10:00:00+08:00", as_="clerk")
    record(api, case["tracking_no"], "received", f"{next_day}T09:00:00+08:00", as_="officer")
    return case


def accepted(api, body: dict | None = None, **days) -> dict:
    case = received(api, body, **days)
    r = api.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer")
    assert r.status_code == 200 and r.json["status"] == "accepted", r.get_json()
    return case


def decide(api, case_no: str, **extra):
    return api.post(f"/api/v1/cases/{case_no}/decision", {"outcome": "approved", "note": "准予", **extra},
                    as_="officer")


def delivered_electronically(api, frozen) -> dict:
    """A case decided on 3 March with an electronic result downloaded on 4 March: status `delivered`."""
    import base64
    case = accepted(api, intake_body(result_delivery={"method": "electronic"}))
    frozen.set("2026-03-03T10:00:00+08:00")
    r = decide(api, case["case_no"], result_file=base64.b64encode(PDF).decode())
    assert r.status_code == 200, r.get_json()
    frozen.set("2026-03-04T10:00:00+08:00")
    assert api.client.get(r.json["delivery_url"]).status_code == 200
    assert case_of(api, case["case_no"])["status"] == "delivered"
    return case


def rated(api, frozen, score: int = 2, comment: str = "等了很久才有人处理") -> dict:
    """A case delivered on 4 March and rated on 5 March at nine (scores 1–2 open a follow-up)."""
    case = delivered_electronically(api, frozen)
    frozen.set("2026-03-05T09:00:00+08:00")
    r = api.post(f"/api/v1/track/{case['case_no']}/evaluation",
                 {"check": case["check_code"], "score": score, "comment": comment})
    assert r.status_code == 201, r.get_json()
    return case
