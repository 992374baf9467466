"""Postage over HTTP: an office's monthly statement (CSV for Excel, PDF for the finance department's file)
shows each packet it paid for with the case, and the total; the supervisor's statistics show postage per
paying office and per matter; the window's, the owning office's and the supervisor's pages lead to it.

Prices are the shipped tariff's (config/data/postage.yaml): 忻府区 → 小店区 is within the province, 10.00 for
up to 500 g; a result from 小店区 police to an address in 小店区 is within the city, 8.00."""
from __future__ import annotations

import csv
import io
import re

from sqlmodel import select

from mailing import postage
from mailing.tables import Packet
from tests import pdfs
from tests.e2e.steps import accepted, assert_error, collect, decide, record, rows
from tests.helpers import intake_body

XINFU_HALL, XINFU = "H140902", "忻州市忻府区政务服务中心"
POLICE, POLICE_NAME = "D140105-GA", "太原市公安局小店分局户政科"


def statement(api, office: str, month: str = "2026-03", fmt: str = "csv", as_: str = "clerk"):
    return api.get(f"/api/v1/offices/{office}/postage?month={month}&format={fmt}", as_=as_)


def csv_rows(r) -> list[list[str]]:
    assert r.status_code == 200, r.get_json()
    assert r.mimetype == "text/csv" and r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
    assert r.data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))


def by_tracking_no(table: list[list[str]]) -> dict[str, dict[str, str]]:
    header = table[0]
    return {row[1]: dict(zip(header, row)) for row in table[1:] if row[0] != "合计"}


def total(table: list[list[str]]) -> dict[str, str]:
    last = table[-1]
    assert last[0] == "合计", last
    return dict(zip(table[0], last))


def dispatched(api, body: dict | None = None, at: str = "2026-03-02T10:00:00+08:00") -> dict:
    case = collect(api, body)
    record(api, case["tracking_no"], "dispatched", at, as_="clerk")
    return case


def page_text(r) -> str:
    assert r.status_code == 200, r.text
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))


# -- the statement --------------------------------------------------------------------------------------------

def test_the_windows_statement_lists_the_cases_packet_with_its_postage_and_the_total(staff, frozen):
    first, second = dispatched(staff), dispatched(staff)
    table = csv_rows(statement(staff, XINFU_HALL))
    assert table[0] == ["交寄日期", "邮件号", "办件编号", "事项", "事项编码", "邮件类型", "寄出单位", "寄达", "重量（克）",
                        "邮资（元）", "计费方式"]
    lines = by_tracking_no(table)
    assert set(lines) == {first["tracking_no"], second["tracking_no"]}
    line = lines[first["tracking_no"]]
    assert line == {"交寄日期": "2026-03-02", "邮件号": first["tracking_no"], "办件编号": first["case_no"],
                    "事项": "无犯罪记录证明", "事项编码": "GA-WFZM-01", "邮件类型": "申请材料", "寄出单位": XINFU,
                    "寄达": POLICE_NAME, "重量（克）": "70", "邮资（元）": "10.00", "计费方式": "按资费标准计算"}
    assert total(table)["邮资（元）"] == "20.00" and total(table)["重量（克）"] == "140"
    assert total(table)["邮件号"] == "2 件"


def test_the_pdf_statement_reads_the_cases_packet_and_the_total(staff, frozen):
    case = dispatched(staff)
    r = statement(staff, XINFU_HALL, fmt="pdf", as_="supervisor")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.headers["Cache-Control"] == "no-store"
    assert pdfs.embedded_fonts(r.data) >= 1 and not pdfs.uses_unembedded_fonts(r.data)
    text = pdfs.text(r.data)
    for words in ("邮资结算清单", XINFU, "2026年03月", "2026-03-01 至 2026-03-31", case["tracking_no"], case["case_no"],
                  "无犯罪记录证明", "申请材料", "10.00", "合计：邮件 1 件，重量 70 克，邮资 10.00 元", "按资费标准计算"):
        assert words in text, words


def test_the_owning_office_pays_for_the_result_and_the_window_does_not(staff, frozen):
    case = accepted(staff)
    result = decide(staff, case["case_no"]).json["result_packet"]["tracking_no"]
    frozen.set("2026-03-04T09:00:00+08:00")
    record(staff, result, "dispatched", "2026-03-04T10:00:00+08:00", as_="officer")
    police = by_tracking_no(csv_rows(statement(staff, POLICE, as_="officer")))
    assert set(police) == {result}
    assert police[result]["邮件类型"] == "办理结果" and police[result]["邮资（元）"] == "8.00"
    assert police[result]["办件编号"] == case["case_no"]
    assert police[result]["寄达"] == "太原市小店区（个人地址）"  # a home address: its district, never the street
    assert result not in by_tracking_no(csv_rows(statement(staff, XINFU_HALL)))


def test_only_packets_handed_over_in_the_month_are_listed(staff, frozen):
    never_sent = collect(staff)                                         # made, still at the window: no postage owed
    march = dispatched(staff, at="2026-03-31T23:30:00+08:00")           # late on the last day, Beijing time
    april = dispatched(staff, at="2026-04-01T00:10:00+08:00")
    assert set(by_tracking_no(csv_rows(statement(staff, XINFU_HALL, "2026-03")))) == {march["tracking_no"]}
    assert set(by_tracking_no(csv_rows(statement(staff, XINFU_HALL, "2026-04")))) == {april["tracking_no"]}
    assert never_sent["tracking_no"] not in by_tracking_no(csv_rows(statement(staff, XINFU_HALL, "2026-03")))


def test_the_carriers_amount_is_the_one_the_statement_shows(staff, frozen, db):
    case = dispatched(staff)
    db.rollback()
    packet = db.exec(select(Packet).where(Packet.tracking_no == case["tracking_no"])).one()
    postage.charged_by_carrier(packet, 1260, 240)
    db.add(packet)
    db.commit()
    table = csv_rows(statement(staff, XINFU_HALL))
    line = by_tracking_no(table)[case["tracking_no"]]
    assert (line["邮资（元）"], line["重量（克）"], line["计费方式"]) == ("12.60", "240", "承运商计费")
    assert total(table)["邮资（元）"] == "12.60"


def test_a_month_without_postage_gives_an_empty_statement_with_a_zero_total(staff, frozen):
    table = csv_rows(statement(staff, XINFU_HALL, "2026-01"))
    assert len(table) == 2 and total(table)["邮资（元）"] == "0.00"
    text = pdfs.text(statement(staff, XINFU_HALL, "2026-01", "pdf").data)
    assert "本月没有由本单位支付邮资的已交寄邮件" in text and "邮资 0.00 元" in text


def test_a_statement_asked_for_wrongly_is_refused_in_words_a_clerk_reads(staff, frozen):
    assert_error(statement(staff, XINFU_HALL, month="2026-13"), 400, "invalid_request", "month")
    assert_error(statement(staff, XINFU_HALL, fmt="xlsx"), 400, "invalid_request", "format")
    assert_error(statement(staff, "H999999"), 404, "not_found")
    assert_error(statement(staff, POLICE, as_="clerk"), 403, "forbidden")       # another office's money
    assert_error(statement(staff, XINFU_HALL, as_="courier"), 403, "forbidden")


# -- the supervisor's statistics -----------------------------------------------------------------------------

def test_the_statistics_show_postage_per_paying_office_and_per_matter(staff, frozen, pages):
    dispatched(staff)
    dispatched(staff, intake_body(matter_code="GA-HJZM-01"))
    case = accepted(staff)
    result = decide(staff, case["case_no"]).json["result_packet"]["tracking_no"]
    record(staff, result, "dispatched", "2026-03-04T10:00:00+08:00", as_="officer")
    frozen.set("2026-03-05T09:00:00+08:00")
    pages.login("supervisor")
    query = "since=2026-03-01&until=2026-03-31"
    text = page_text(pages.get(f"/supervise/stats?{query}", as_="supervisor"))
    assert "邮资（按支付单位）" in text and "邮资（按事项）" in text

    offices = list(csv.reader(io.StringIO(pages.get(f"/supervise/stats?{query}&format=csv&table=postage_office",
                                                    as_="supervisor").data.decode("utf-8-sig"))))
    assert offices[0] == ["支付单位", "单位代码", "邮件数", "邮资（元）", "其中承运商计费（元）"]
    assert offices[1:] == [[XINFU, XINFU_HALL, "3", "30.00", "0.00"], [POLICE_NAME, POLICE, "1", "8.00", "0.00"],
                           ["合计", "", "4", "38.00", "0.00"]]
    matters = list(csv.reader(io.StringIO(pages.get(f"/supervise/stats?{query}&format=csv&table=postage_matter",
                                                    as_="supervisor").data.decode("utf-8-sig"))))
    assert [row[:4] for row in matters[1:]] == [["无犯罪记录证明", "GA-WFZM-01", "3", "28.00"],
                                                 ["开具户籍类证明", "GA-HJZM-01", "1", "10.00"],
                                                 ["合计", "", "4", "38.00"]]


def test_the_pages_lead_to_the_offices_statement(staff, frozen, pages):
    case = dispatched(staff)
    for who in ("clerk", "officer", "supervisor"):
        pages.login(who)
    home = pages.get("/window", as_="clerk")
    assert f'action="/api/v1/offices/{XINFU_HALL}/postage"' in home.text and "邮资结算清单" in page_text(home)
    assert f'action="/api/v1/offices/{POLICE}/postage"' in pages.get("/office", as_="officer").text
    # the form as the browser sends it: the page's sign-in opens the API's statement
    r = pages.get(f"/api/v1/offices/{XINFU_HALL}/postage?month=&format=csv", as_="clerk")
    assert case["tracking_no"] in r.data.decode("utf-8-sig")

    stats = pages.get("/supervise/stats?since=2026-03-01&until=2026-03-31", as_="supervisor")
    assert f'<option value="{XINFU_HALL}">' in stats.text
    r = pages.get(f"/supervise/postage?office={XINFU_HALL}&month=2026-03&format=pdf", as_="supervisor")
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/api/v1/offices/{XINFU_HALL}/postage?month=2026-03&format=pdf")
    pdf = pages.get(r.headers["Location"], as_="supervisor")
    assert pdf.mimetype == "application/pdf" and case["case_no"] in pdfs.text(pdf.data)


def test_packets_made_before_postage_was_kept_are_in_no_statement(staff, frozen, db):
    case = dispatched(staff)
    db.rollback()
    packet = db.exec(select(Packet).where(Packet.tracking_no == case["tracking_no"])).one()
    packet.postage_cents = packet.postage_payer = packet.postage_source = packet.weight_grams = None
    db.add(packet)
    db.commit()
    table = csv_rows(statement(staff, XINFU_HALL))
    assert by_tracking_no(table) == {} and total(table)["邮资（元）"] == "0.00"
    assert rows(db, select(Packet.postage_cents).where(Packet.id == packet.id)) == [None]
