"""The supervisor's charts: SVG drawn from plain data, parseable, accessible, with every text escaped."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from labels import charts

NS = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{NS}text")]


def test_a_bar_chart_is_an_image_named_by_its_title_and_described_with_its_numbers():
    svg = parsed(charts.bar_chart([("忻州市忻府区政务服务中心", 12), ("太原市政务服务中心", 3)], title="收件量（按收件单位）",
                                  chart_id="volumes", unit=" 件"))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "volumes-title volumes-desc"
    assert svg.find(f"{NS}title").text == "收件量（按收件单位）"
    assert svg.find(f"{NS}desc").text == "共 2 项。忻州市忻府区政务服务中心：12 件；太原市政务服务中心：3 件。"
    assert texts(svg) == ["忻州市忻府区政务服务中心", "12 件", "太原市政务服务中心", "3 件"]


def test_bars_are_as_long_as_their_values_the_largest_the_longest():
    svg = parsed(charts.bar_chart([("甲", 10), ("乙", 5), ("丙", 0)], title="t", chart_id="c"))
    widths = [float(r.get("width")) for r in svg.iter(f"{NS}rect")]
    assert widths[0] > 0 and widths[1] == widths[0] / 2 and widths[2] == 0


def test_a_long_label_is_shortened_on_the_chart_and_kept_whole_in_its_tooltip():
    name = "山西省太原市小店区市场监督管理局登记注册科"
    svg = parsed(charts.bar_chart([(name, 1)], title="t", chart_id="c"))
    assert texts(svg)[0] == name[:charts.LABEL_CHARS - 1] + "…"
    assert svg.find(f"{NS}g/{NS}title").text == f"{name}：1"


def test_text_from_the_database_is_escaped_and_characters_xml_forbids_are_dropped():
    evil = '<script>alert("x")</script> & \x07co'
    svg_text = charts.bar_chart([(evil, 1)], title=evil, chart_id='x" onload="alert(1)', unit="<u>")
    assert "<script>" not in svg_text and "onload=\"" not in svg_text
    svg = parsed(svg_text)
    assert svg.find(f"{NS}title").text == '<script>alert("x")</script> & co'
    assert svg.get("id") == "x--onload--alert-1-"
    assert texts(svg)[1] == "1<u>"


def test_values_are_written_with_the_decimals_asked_for():
    svg = parsed(charts.bar_chart([("收件→寄出", 4.25), ("受理→办结", 46)], title="t", chart_id="c", unit=" 小时",
                                  decimals=1))
    assert texts(svg)[1::2] == ["4.2 小时", "46.0 小时"]


def test_an_empty_chart_says_there_is_no_data():
    for svg in (charts.bar_chart([], title="收件量", chart_id="c"), charts.column_chart([], title="评价", chart_id="d")):
        root = parsed(svg)
        assert root.get("role") == "img" and texts(root) == ["暂无数据"]


def test_a_column_chart_draws_the_scores_in_order_with_their_colours():
    rows = [("非常满意", 3), ("满意", 1), ("基本满意", 0), ("不满意", 2), ("非常不满意", 1)]
    colors = [charts.BRAND] * 3 + [charts.ALERT] * 2
    svg = parsed(charts.column_chart(rows, title="评价等级分布", chart_id="scores", colors=colors))
    assert [r.get("fill") for r in svg.iter(f"{NS}rect")] == colors
    heights = [float(r.get("height")) for r in svg.iter(f"{NS}rect")]
    assert heights[0] == max(heights) and heights[2] == 0 and heights[3] == 2 * heights[1]
    assert texts(svg) == ["3", "非常满意", "1", "满意", "0", "基本满意", "2", "不满意", "1", "非常不满意"]


def test_labels_are_placed_by_an_estimate_of_their_width():
    assert charts.text_width("忻州", 10) == 20
    assert charts.text_width("ab12", 10) == 24
    assert charts.text_width("→（", 10) == 20
