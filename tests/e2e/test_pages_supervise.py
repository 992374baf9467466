"""The supervisor's pages: the overdue board, statistics with charts, ratings and exceptions, every table
also as CSV — and only ever over the cases of the supervisor's own city.

Dates as in test_network_deadlines: March 2026 has no public holiday; the outbound packet from 忻府区 to
小店区 police is expected three working days after dispatch; the supplement notice is due five working days
after receipt."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.steps import accepted, collect, delivered_electronically, record
from tests.helpers import scan

XINFU_HALL, XINFU = "H140902", "忻州市忻府区政务服务中心"
POLICE, POLICE_NAME = "D140105-GA", "太原市公安局小店分局户政科"
DATONG_HALL, DATONG = "H140200", "大同市政务服务中心"
SVG_NS = "{http://www.w3.org/2000/svg}"


def signed_in(pages, *names: str):
    for name in names:
        pages.login(name)
    return pages


def page_text(r) -> str:
    """What a person reads: the page without its tags."""
    assert r.status_code == 200, r.text
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))


def csv_rows(r) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith("attachment; filename=")
    assert r.data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def three_cases_overdue_by_wednesday_week(api, frozen) -> dict[str, dict]:
    """Collected on Monday 2 March at 忻府区: one never sent (dispatch due Tue 3), one sent and still
    travelling (receipt due Thu 5), one signed for on Tue 3 with no notice since (notice due Tue 10)."""
    waiting = collect(api)
    travelling = collect(api)
    record(api, travelling["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    signed = collect(api)
    record(api, signed["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T09:30:00+08:00")
    record(api, signed["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    return {"waiting": waiting, "travelling": travelling, "signed": signed}


# -- who may look --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/supervise", "/supervise/stats", "/supervise/ratings", "/supervise/exceptions",
                                  "/supervise/stats?format=csv&table=volume_collecting"])
def test_a_clerk_and_an_officer_are_refused_the_supervisor_pages_and_a_stranger_is_sent_to_sign_in(
        staff, pages, path):
    signed_in(pages, "clerk", "officer")
    for who in ("clerk", "officer"):
        r = pages.get(path, as_=who)
        assert r.status_code == 403, (who, r.status_code)
    r = pages.app.test_client().get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_the_pages_only_read_a_post_is_not_accepted(staff, pages):
    signed_in(pages, "supervisor")
    assert pages.post("/supervise", {}, as_="supervisor").status_code == 405
    assert pages.get("/supervise", as_="supervisor").status_code == 200


def test_each_page_names_the_four_parts_in_its_navigation(staff, pages):
    signed_in(pages, "supervisor")
    for path in ("/supervise", "/supervise/stats", "/supervise/ratings", "/supervise/exceptions"):
        text = page_text(pages.get(path, as_="supervisor"))
        for item in ("超期看板", "统计", "评价", "异常件"):
            assert item in text, (path, item)


# -- the overdue board ---------------------------------------------------------------------------

def test_the_board_counts_the_cases_overdue_at_each_stage_by_the_office_that_answers_for_it(staff, frozen, pages):
    api = staff
    cases = three_cases_overdue_by_wednesday_week(api, frozen)
    signed_in(pages, "supervisor")

    today = page_text(pages.get("/supervise", as_="supervisor"))
    assert "没有超期未办的办件" in today and "截至 2026年3月3日" in today

    r = pages.get("/supervise?as_of=2026-03-11", as_="supervisor")
    text = page_text(r)
    assert "预计到 2026年3月11日" in text and "共有 3 件办件在 3 个环节超期未办" in text
    cards = re.findall(r'<span class="card__number">(\d+)</span>([^<]+)</a>', r.text)
    assert cards == [("1", "寄出申请材料"), ("1", "签收申请材料"), ("1", "一次性告知补正"), ("0", "作出决定"),
                     ("0", "寄出办理结果"), ("0", "差评整改")]
    for c in cases.values():
        assert c["case_no"] in text

    counts = csv_rows(pages.get("/supervise?as_of=2026-03-11&format=csv&table=counts", as_="supervisor"))
    assert counts == [["负责单位", "单位代码", "寄出申请材料", "签收申请材料", "一次性告知补正", "作出决定", "寄出办理结果", "差评整改",
                       "合计"],
                      [POLICE_NAME, POLICE, "0", "1", "1", "0", "0", "0", "2"],
                      [XINFU, XINFU_HALL, "1", "0", "0", "0", "0", "0", "1"],
                      ["合计", "", "1", "1", "1", "0", "0", "0", "3"]]

    listed = csv_rows(pages.get("/supervise?as_of=2026-03-11&format=csv&table=cases", as_="supervisor"))
    assert listed[0] == ["办件编号", "事项", "办件状态", "超期环节", "负责单位", "应完成日期", "已超期（天）", "收件单位", "办理单位"]
    assert [(row[0], row[3], row[4], row[5], row[6]) for row in listed[1:]] == [
        (cases["waiting"]["case_no"], "寄出申请材料", XINFU, "2026-03-03", "8"),
        (cases["travelling"]["case_no"], "签收申请材料", POLICE_NAME, "2026-03-05", "6"),
        (cases["signed"]["case_no"], "一次性告知补正", POLICE_NAME, "2026-03-10", "1")]
    assert listed[1][2] == "已收件" and listed[1][7] == XINFU and listed[1][8] == POLICE_NAME


def test_the_board_list_is_filtered_by_stage_and_by_office(staff, frozen, pages):
    cases = three_cases_overdue_by_wednesday_week(staff, frozen)
    signed_in(pages, "supervisor")

    def listed(query):
        rows = csv_rows(pages.get(f"/supervise?as_of=2026-03-11&format=csv&table=cases&{query}", as_="supervisor"))
        return [row[0] for row in rows[1:]]

    assert listed("stage=receipt") == [cases["travelling"]["case_no"]]
    assert listed(f"office={POLICE}") == [cases["travelling"]["case_no"], cases["signed"]["case_no"]]
    assert listed(f"office={XINFU_HALL}&stage=dispatch") == [cases["waiting"]["case_no"]]
    assert listed(f"office={XINFU_HALL}&stage=receipt") == []
    text = page_text(pages.get("/supervise?as_of=2026-03-11&stage=receipt", as_="supervisor"))
    assert cases["travelling"]["case_no"] in text and cases["waiting"]["case_no"] not in text
    assert "超期办件（已筛选）：1 项" in text


def test_a_date_that_is_not_a_date_is_named_at_the_top_and_beside_the_field(staff, frozen, pages):
    signed_in(pages, "supervisor")
    r = pages.get("/supervise?as_of=11.03.2026&stage=lunch", as_="supervisor")
    text = page_text(r)
    assert "请更正以下问题" in text and "查看日期：请按 年-月-日 填写日期" in text
    assert "超期环节：请从列表中选择环节" in text
    assert 'class="field-error"' in r.text and "截至 2026年3月2日" in text  # shown for today instead
    assert 'value="11.03.2026"' in r.text  # what was typed stays in the field, to be corrected
    stats = page_text(pages.get("/supervise/stats?since=2026-03-10&until=2026-03-01", as_="supervisor"))
    assert "开始日期：开始日期不能晚于结束日期" in stats


# -- scope -----------------------------------------------------------------------------------------

def test_a_city_supervisor_never_sees_another_citys_cases_on_the_board_in_the_stats_or_in_csv(
        staff, frozen, pages):
    api = staff
    api.user("clerk_dt", "clerk", DATONG_HALL)
    ours = collect(api)                        # 忻府区 → 小店区: 忻州 and 太原 see it
    theirs = collect(api, as_="clerk_dt")      # 大同 → 小店区: 大同 and 太原 see it
    api.user("supervisor_xz", "supervisor", "H140900")
    api.user("supervisor_dt", "supervisor", DATONG_HALL)
    signed_in(pages, "supervisor_xz", "supervisor_dt", "supervisor")

    for who, mine, other, hall in (("supervisor_xz", ours, theirs, XINFU), ("supervisor_dt", theirs, ours, DATONG)):
        board = pages.get("/supervise?as_of=2026-03-04", as_=who)
        assert mine["case_no"] in board.text and other["case_no"] not in board.text, who
        rows = csv_rows(pages.get("/supervise?as_of=2026-03-04&format=csv&table=cases", as_=who))
        assert [row[0] for row in rows[1:]] == [mine["case_no"]], who
        stats = page_text(pages.get("/supervise/stats?since=2026-03-01&until=2026-03-02", as_=who))
        assert re.search(r"\b1 收件量", stats), who
        volume = csv_rows(pages.get("/supervise/stats?since=2026-03-01&until=2026-03-02&format=csv"
                                    "&table=volume_collecting", as_=who))
        assert volume[1:] == [[hall, mine["collecting_office"]["code"], "1"]], who

    whole = csv_rows(pages.get("/supervise?as_of=2026-03-04&format=csv&table=cases", as_="supervisor"))
    assert sorted(row[0] for row in whole[1:]) == sorted([ours["case_no"], theirs["case_no"]])


# -- statistics -----------------------------------------------------------------------------------

def three_timed_cases(api, frozen):
    """All collected Monday 2 March 09:00. Sent after 1, 4 and 7 hours; the first two signed for after
    23 and 44 hours on the road, and accepted 2 and 1 hours after receipt; the first decided 46 hours
    after acceptance."""
    frozen.set("2026-03-02T09:00:00+08:00")
    first, second, third = collect(api), collect(api), collect(api)
    record(api, first["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    record(api, second["tracking_no"], "dispatched", "2026-03-02T13:00:00+08:00", as_="clerk")
    record(api, third["tracking_no"], "dispatched", "2026-03-02T16:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T11:00:00+08:00")
    record(api, first["tracking_no"], "received", "2026-03-03T09:00:00+08:00", as_="officer")
    assert api.post(f"/api/v1/cases/{first['case_no']}/accept", as_="officer").status_code == 200
    frozen.set("2026-03-04T10:00:00+08:00")
    record(api, second["tracking_no"], "received", "2026-03-04T09:00:00+08:00", as_="officer")
    assert api.post(f"/api/v1/cases/{second['case_no']}/accept", as_="officer").status_code == 200
    frozen.set("2026-03-05T09:00:00+08:00")
    r = api.post(f"/api/v1/cases/{first['case_no']}/decision", {"outcome": "approved", "note": "准予"}, as_="officer")
    assert r.status_code == 200, r.get_json()
    return first, second, third


def test_the_median_time_of_each_stage_is_the_one_computed_by_hand(staff, frozen, pages):
    three_timed_cases(staff, frozen)
    signed_in(pages, "supervisor")
    period = "since=2026-03-01&until=2026-03-05"

    overall = csv_rows(pages.get(f"/supervise/stats?{period}&format=csv&table=medians_overall", as_="supervisor"))
    assert overall == [["环节", "中位数（小时）", "约合（天）", "件数"],
                       ["收件→寄出", "4.0", "0.2", "3"],            # 1, 4, 7 hours
                       ["寄出→签收（途中）", "33.5", "1.4", "2"],     # 23 and 44 hours
                       ["签收→受理", "1.5", "0.1", "2"],             # 2 and 1 hours
                       ["受理→办结", "46.0", "1.9", "1"],
                       ["办结→送达", "", "", "0"]]

    by_office = csv_rows(pages.get(f"/supervise/stats?{period}&format=csv&table=medians", as_="supervisor"))
    assert by_office[0][:4] == ["负责单位", "单位代码", "收件→寄出（中位数，小时）", "收件→寄出（件数）"]
    assert by_office[1:] == [[POLICE_NAME, POLICE, "", "0", "", "0", "1.5", "2", "46.0", "1", "", "0"],
                             [XINFU, XINFU_HALL, "4.0", "3", "33.5", "2", "", "0", "", "0", "", "0"]]
    by_matter = csv_rows(pages.get(f"/supervise/stats?{period}&by=matter&format=csv&table=medians",
                                   as_="supervisor"))
    assert by_matter[1][1:] == ["GA-WFZM-01", "4.0", "3", "33.5", "2", "1.5", "2", "46.0", "1", "", "0"]

    # a stage belongs to the period it ended in: only the decision ended on 5 March
    later = csv_rows(pages.get("/supervise/stats?since=2026-03-05&until=2026-03-05&format=csv&table=medians_overall",
                               as_="supervisor"))
    assert [row[3] for row in later[1:]] == ["0", "0", "0", "1", "0"]

    volumes = csv_rows(pages.get(f"/supervise/stats?{period}&by=matter&format=csv&table=volume_matter",
                                 as_="supervisor"))
    assert volumes == [["事项", "事项编码", "收件量"], ["无犯罪记录证明", "GA-WFZM-01", "3"]]


def test_the_charts_are_svg_images_with_their_labels_and_a_table_beside_each(staff, frozen, pages):
    three_timed_cases(staff, frozen)
    signed_in(pages, "supervisor")
    r = pages.get("/supervise/stats?since=2026-03-01&until=2026-03-05", as_="supervisor")
    charts = {svg.get("id"): svg for svg in svgs(r.text)}
    assert set(charts) == {"chart-volume_collecting", "chart-volume_owning", "chart-volume_scope", "chart-medians",
                           "chart-scores", "chart-rates"}
    for svg in charts.values():
        assert svg.get("role") == "img" and svg.find(f"{SVG_NS}title").text
    medians = " ".join(charts["chart-medians"].itertext())
    for label in ("收件→寄出", "寄出→签收（途中）", "签收→受理", "受理→办结", "4.0 小时", "33.5 小时"):
        assert label in medians, label
    assert "办结→送达" not in medians  # no case got there yet: no bar rather than a bar of nothing
    assert XINFU[:13] in " ".join(charts["chart-volume_collecting"].itertext())
    assert "非常不满意" in " ".join(charts["chart-scores"].itertext())
    text = page_text(r)
    for caption in ("收件量（按收件单位）", "收件量（按办理单位）", "各环节用时中位数（全部，单位：小时）", "评价等级分布",
                    "好差评（按办理单位）"):
        assert caption in text, caption
    assert 'href="http' not in r.text and "<script" not in r.text.split("</head>")[1]


def test_ratings_are_counted_averaged_and_the_bad_share_and_open_follow_ups_shown(staff, frozen, pages):
    api = staff
    good = delivered_electronically(api, frozen)
    bad = delivered_electronically(api, frozen)
    for case, score, comment in ((good, 5, "很快"), (bad, 1, '=HYPERLINK("http://x","点")')):
        r = api.post(f"/api/v1/track/{case['case_no']}/evaluation",
                     {"check": case["check_code"], "score": score, "comment": comment})
        assert r.status_code == 201, r.get_json()
    signed_in(pages, "supervisor")

    stats = pages.get("/supervise/stats?since=2026-03-01&until=2026-03-04", as_="supervisor")
    assert re.findall(r'<span class="card__number">([^<]+)</span>', stats.text)[1:] == ["2", "3.0", "1", "100.0%", "0.0%"]
    summary = csv_rows(pages.get("/supervise/stats?since=2026-03-01&until=2026-03-04&format=csv&table=ratings",
                                 as_="supervisor"))
    assert summary == [["办理单位", "单位代码", "评价数", "平均分", "差评占比（%）", "待整改"],
                       [POLICE_NAME, POLICE, "2", "3.0", "50.0", "1"]]
    scores = csv_rows(pages.get("/supervise/stats?since=2026-03-01&until=2026-03-04&format=csv&table=scores",
                                as_="supervisor"))
    assert [row[2] for row in scores[1:]] == ["1", "0", "0", "0", "1"]

    text = page_text(pages.get("/supervise/ratings?since=2026-03-01&until=2026-03-04", as_="supervisor"))
    assert "1 分 非常不满意" in text and "5 分 非常满意" in text and "待整改" in text and "很快" in text
    only_bad = csv_rows(pages.get("/supervise/ratings?since=2026-03-01&until=2026-03-04&bad=1&format=csv",
                                  as_="supervisor"))
    assert only_bad[0] == ["评价时间", "办件编号", "分值", "评价等级", "事项", "办理单位", "评价内容", "整改状态",
                           "整改情况", "整改时间", "评价环节", "整改单位"]
    assert len(only_bad) == 2
    row = only_bad[1]
    assert row[1] == bad["case_no"] and row[2] == "1" and row[7] == "待整改"
    assert row[6] == '\'=HYPERLINK("http://x","点")', "a formula in a comment is exported as text"


def test_csv_of_an_unknown_table_is_not_found(staff, pages):
    signed_in(pages, "supervisor")
    assert pages.get("/supervise/stats?format=csv&table=secrets", as_="supervisor").status_code == 404


# -- exceptions ------------------------------------------------------------------------------------

def test_the_exceptions_page_lists_the_problems_on_the_road_of_the_cities_cases(staff, frozen, pages):
    api = staff
    case = collect(api)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-03T10:00:00+08:00")
    r = api.post("/api/v1/scans", {"scans": [scan(case["tracking_no"], "exception", "2026-03-03T09:00:00+08:00",
                                                  "P140200", reason="damaged", note="外包装破损")]}, as_="courier")
    assert r.json["results"][0]["status"] == "recorded", r.get_json()
    api.user("supervisor_dt", "supervisor", DATONG_HALL)
    signed_in(pages, "supervisor", "supervisor_dt")

    text = page_text(pages.get("/supervise/exceptions", as_="supervisor"))
    assert case["tracking_no"] in text and "破损" in text and "外包装破损" in text
    assert "继续寄递" in text  # what to do next
    rows = csv_rows(pages.get("/supervise/exceptions?format=csv", as_="supervisor"))
    assert rows[1][:5] == ["2026-03-03 09:00", case["tracking_no"], case["case_no"], "破损", "外包装破损"]
    assert csv_rows(pages.get("/supervise/exceptions?format=csv&reason=lost", as_="supervisor"))[1:] == []
    assert case["tracking_no"] not in pages.get("/supervise/exceptions", as_="supervisor_dt").text

    refused = page_text(pages.get("/supervise/exceptions?reason=weather", as_="supervisor"))
    assert "异常原因：异常原因无效" in refused


def test_an_accepted_case_is_not_on_the_board_and_the_board_reads_its_stage_counts(staff, frozen, pages):
    accepted(staff)
    signed_in(pages, "supervisor")
    text = page_text(pages.get("/supervise?as_of=2026-03-04", as_="supervisor"))
    assert "没有超期未办的办件" in text
