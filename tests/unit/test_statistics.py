"""The supervisor's arithmetic, without a database: periods, medians per stage, ratings, overdue counts,
tables and CSV."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from tracking.reads import statistics as st

BJ = timezone(timedelta(hours=8))
MARCH = st.Period(date(2026, 3, 1), date(2026, 3, 31))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def facts(no: str = "1", matter: str = "M1", collecting: str = "H1", owning: str = "D1", **times) -> st.CaseFacts:
    base = {"created_at": at("2026-03-02T09:00:00")}
    base.update(times)
    return st.CaseFacts(no, matter, collecting, owning, "accepted", base["created_at"].date(), **base)


# -- the period ----------------------------------------------------------------------------------

def test_the_default_period_is_the_last_thirty_days_today_included():
    assert st.default_period(date(2026, 3, 31)) == st.Period(date(2026, 3, 2), date(2026, 3, 31))


def test_a_period_holds_the_beijing_days_from_its_first_to_its_last():
    p = st.Period(date(2026, 3, 2), date(2026, 3, 3))
    assert at("2026-03-02T00:00:00") in p and at("2026-03-03T23:59:59") in p
    assert at("2026-03-01T23:59:59") not in p and at("2026-03-04T00:00:00") not in p
    assert datetime(2026, 3, 1, 16, 0) in p          # naive from SQLite: UTC, so 00:00 on 2 March in Beijing
    assert datetime(2026, 3, 1, 15, 59) not in p
    assert date(2026, 3, 3) in p and None not in p


@pytest.mark.parametrize("since, until, expected", [
    ("2026-03-01", "2026-03-10", (date(2026, 3, 1), date(2026, 3, 10))),
    ("", "2026-03-10", (date(2026, 2, 9), date(2026, 3, 10))),
    (None, None, (date(2026, 2, 4), date(2026, 3, 5))),
])
def test_a_period_is_read_from_the_form_with_missing_ends_filled_in(since, until, expected):
    period, errors = st.parse_period(since, until, date(2026, 3, 5))
    assert errors == {} and (period.since, period.until) == expected


@pytest.mark.parametrize("since, until, field, words", [
    ("1.3.2026", "", "since", "年-月-日"),
    ("", "tomorrow", "until", "年-月-日"),
    ("2026-03-10", "2026-03-01", "since", "不能晚于"),
    ("2024-01-01", "2026-03-01", "since", "最长"),
])
def test_a_period_that_is_not_one_is_refused_with_the_field_named(since, until, field, words):
    period, errors = st.parse_period(since, until, date(2026, 3, 5))
    assert list(errors) == [field] and words in errors[field]
    assert period == st.default_period(date(2026, 3, 5))


# -- medians ---------------------------------------------------------------------------------------

def test_the_median_of_an_odd_and_an_even_number_of_values_and_of_none():
    assert st.median([7, 1, 4]) == 4
    assert st.median([23, 44]) == 33.5
    assert st.median([]) is None


def test_hours_between_times_read_in_any_time_zone():
    assert st.hours_between(at("2026-03-02T09:00:00"), at("2026-03-03T08:30:00")) == 23.5
    assert st.hours_between(datetime(2026, 3, 2, 1, 0), at("2026-03-02T10:00:00")) == 1  # naive is UTC


def test_each_finished_stage_has_its_end_and_its_hours():
    f = facts(dispatched_at=at("2026-03-02T10:00:00"), received_at=at("2026-03-03T09:00:00"),
              accepted_at=at("2026-03-03T11:00:00"), decided_at=at("2026-03-05T09:00:00"))
    assert st.intervals(f) == [("collection_dispatch", at("2026-03-02T10:00:00"), 1.0),
                               ("transit", at("2026-03-03T09:00:00"), 23.0),
                               ("receipt_accept", at("2026-03-03T11:00:00"), 2.0),
                               ("accept_decide", at("2026-03-05T09:00:00"), 46.0)]


def test_an_acceptance_deemed_by_law_has_no_receipt_to_acceptance_time():
    f = facts(dispatched_at=at("2026-03-02T10:00:00"), received_at=at("2026-03-03T09:00:00"),
              accepted_at=at("2026-03-03T09:00:00"), deemed_accepted=True, decided_at=at("2026-03-12T09:00:00"))
    assert [stage for stage, _, _ in st.intervals(f)] == ["collection_dispatch", "transit", "accept_decide"]


def test_median_times_by_office_count_each_stage_to_the_office_that_answers_for_it():
    cases = [facts("1", dispatched_at=at("2026-03-02T10:00:00"), received_at=at("2026-03-03T09:00:00"),
                   accepted_at=at("2026-03-03T11:00:00")),
             facts("2", dispatched_at=at("2026-03-02T13:00:00"), received_at=at("2026-03-04T09:00:00"),
                   accepted_at=at("2026-03-04T10:00:00")),
             facts("3", collecting="H2", dispatched_at=at("2026-03-02T16:00:00"))]
    assert st.median_times(cases, MARCH, st.by_office) == {
        "H1": {"collection_dispatch": (2.5, 2), "transit": (33.5, 2)},
        "H2": {"collection_dispatch": (7.0, 1)},
        "D1": {"receipt_accept": (1.5, 2)}}
    assert st.median_times(cases, MARCH) == {"": {"collection_dispatch": (4.0, 3), "transit": (33.5, 2),
                                                  "receipt_accept": (1.5, 2)}}
    assert set(st.median_times(cases, MARCH, st.by_matter)) == {"M1"}


def test_a_stage_counts_in_the_period_it_ended_in():
    f = facts(created_at=at("2026-02-27T15:00:00"), dispatched_at=at("2026-03-02T10:00:00"))
    assert st.median_times([f], st.Period(date(2026, 2, 1), date(2026, 2, 28))) == {}
    assert st.median_times([f], MARCH) == {"": {"collection_dispatch": (67.0, 1)}}


def test_overall_medians_name_every_stage_even_without_figures():
    found = st.overall_medians([facts(dispatched_at=at("2026-03-02T09:45:00"))], MARCH)
    assert found[0] == ("collection_dispatch", "收件→寄出", 0.8, 1)
    assert [(stage, value, n) for stage, _, value, n in found[1:]] == [
        ("transit", None, 0), ("receipt_accept", None, 0), ("accept_decide", None, 0), ("decide_deliver", None, 0)]


# -- ratings --------------------------------------------------------------------------------------

def rating(score: int, owning: str = "D1", matter: str = "M1", follow_up: str | None = None) -> st.Rating:
    return st.Rating(at("2026-03-04T10:00:00"), "1", score, "", matter, owning, follow_up)


def test_ratings_are_counted_averaged_and_the_bad_share_is_the_scores_of_two_and_less():
    ratings = [rating(5), rating(4), rating(2, follow_up="open"), rating(1, follow_up="done")]
    assert st.summarise(ratings) == st.RatingSummary(count=4, average=3.0, bad_share=50.0, open_follow_ups=1)
    assert st.summarise([]) == st.RatingSummary(0, None, None, 0)
    assert st.summarise([rating(5), rating(4), rating(4)]).average == 4.33


def test_ratings_by_office_the_most_rated_first():
    ratings = [rating(5, "D2"), rating(1, "D1", follow_up="open"), rating(3, "D1")]
    assert st.summarise_by(ratings, lambda r: r.owning_office) == [
        ("D1", st.RatingSummary(2, 2.0, 50.0, 1)), ("D2", st.RatingSummary(1, 5.0, 0.0, 0))]


def test_the_score_distribution_lists_every_score_from_five_down():
    assert st.score_distribution([rating(5), rating(1), rating(5)]) == [(5, 2), (4, 0), (3, 0), (2, 0), (1, 1)]


# -- overdue -------------------------------------------------------------------------------------

def overdue(no: str, stage: str, office: str) -> st.OverdueItem:
    return st.OverdueItem(no, "M1", "collected", "H1", "D1", stage, office, date(2026, 3, 3), 8)


def test_overdue_stages_are_counted_by_responsible_office_and_stage():
    items = [overdue("1", "dispatch", "H1"), overdue("2", "receipt", "D1"), overdue("3", "receipt", "D1"),
             overdue("3", "supplement_notice", "D1")]
    counts = st.overdue_counts(items)
    assert counts["H1"] == {"dispatch": 1, "receipt": 0, "supplement_notice": 0, "decision": 0, "result_dispatch": 0,
                            "follow_up": 0}
    assert counts["D1"]["receipt"] == 2 and counts["D1"]["supplement_notice"] == 1
    assert st.stage_totals(items) == {"dispatch": 1, "receipt": 2, "supplement_notice": 1, "decision": 0,
                                      "result_dispatch": 0, "follow_up": 0}
    assert [i.case_no for i in st.filter_overdue(items, "receipt", "D1")] == ["2", "3"]
    assert [i.case_no for i in st.filter_overdue(items, office="H1")] == ["1"]
    assert items[0].stage_title == "寄出申请材料"


def test_the_overdue_tables_end_with_a_total_row():
    names = st.Names({"H1": "忻府区政务服务中心", "D1": "小店分局户政科"}, {"M1": "无犯罪记录证明"})
    items = [overdue("1", "dispatch", "H1"), overdue("2", "receipt", "D1"), overdue("3", "receipt", "D1")]
    tables = st.overdue_tables(items, items[:1], names)
    assert tables["counts"].rows == [["小店分局户政科", "D1", 0, 2, 0, 0, 0, 0, 2],
                                     ["忻府区政务服务中心", "H1", 1, 0, 0, 0, 0, 0, 1], ["合计", "", 1, 2, 0, 0, 0, 0, 3]]
    assert tables["cases"].rows == [["1", "无犯罪记录证明", "已收件", "寄出申请材料", "忻府区政务服务中心", "2026-03-03", 8,
                                     "忻府区政务服务中心", "小店分局户政科"]]
    assert st.overdue_tables([], [], names)["counts"].rows == []


def test_a_missed_follow_up_is_a_stage_of_its_own_on_the_board_counted_to_the_office_it_is_routed_to():
    names = st.Names({"H1": "忻府区政务服务中心", "D1": "小店分局户政科"}, {"M1": "无犯罪记录证明"})
    items = [overdue("1", "follow_up", "H1"), overdue("2", "follow_up", "D1"), overdue("2", "decision", "D1")]
    assert st.stage_totals(items)["follow_up"] == 2 and st.overdue_counts(items)["H1"]["follow_up"] == 1
    assert items[0].stage_title == "差评整改"
    tables = st.overdue_tables(items, items[:1], names)
    assert tables["counts"].header[-2:] == ["差评整改", "合计"]
    assert tables["counts"].rows[-1] == ["合计", "", 0, 0, 0, 1, 0, 2, 3]
    assert tables["cases"].rows[0][3:5] == ["差评整改", "忻府区政务服务中心"]


# -- the rates and the reach ---------------------------------------------------------------------

def test_the_on_time_rate_counts_the_decisions_of_the_period_made_by_the_promised_date():
    cases = [facts("1", decided_at=at("2026-03-10T17:00:00"), due_date=date(2026, 3, 10)),   # on the day: on time
             facts("2", decided_at=at("2026-03-11T09:00:00"), due_date=date(2026, 3, 10)),   # a day late
             facts("3", decided_at=at("2026-02-27T09:00:00"), due_date=date(2026, 3, 10)),   # another period
             facts("4", due_date=date(2026, 3, 10))]                                           # not decided
    assert st.on_time_rate(cases, MARCH) == (2, 1, 50.0)
    assert st.on_time_rate([], MARCH) == (0, 0, None)
    assert facts("5", decided_at=at("2026-03-10T23:30:00"), due_date=date(2026, 3, 10)).decided_on_time


def test_the_follow_up_rate_is_the_bad_ratings_followed_up_over_the_bad_ratings():
    ratings = [rating(1, follow_up="done"), rating(2, follow_up="open"), rating(2, follow_up="open"), rating(5)]
    assert st.follow_up_rate(ratings) == (3, 1, 33.3)
    assert st.follow_up_rate([rating(4)]) == (0, 0, None)


def test_cross_province_and_in_province_volumes_are_counted_over_the_cases_registered_in_the_period():
    cases = [facts("1", cross_province=True), facts("2"), facts("3"),
             facts("4", created_at=at("2026-02-20T09:00:00"), cross_province=True)]
    assert st.scope_volumes(cases, MARCH) == [("跨省通办", 1), ("省内通办", 2)]
    table = st.scope_table(cases, MARCH)
    assert table.header == ["范围", "收件量", "占比（%）"]
    assert table.rows == [["跨省通办", 1, 33.3], ["省内通办", 2, 66.7]]


def test_the_rates_table_puts_decisions_under_the_owning_office_and_bad_ratings_under_the_office_routed_to():
    names = st.Names({"H1": "忻府区政务服务中心", "D1": "小店分局户政科"}, {"M1": "无犯罪记录证明"})
    cases = [facts("1", decided_at=at("2026-03-10T10:00:00"), due_date=date(2026, 3, 12)),
             facts("2", decided_at=at("2026-03-13T10:00:00"), due_date=date(2026, 3, 12))]
    window = st.Rating(at("2026-03-14T10:00:00"), "2", 1, "", "M1", "D1", "done", "已致歉", None, "H1", "window")
    ratings = [window, st.Rating(at("2026-03-14T10:00:00"), "1", 2, "", "M1", "D1", "open", None, None, "D1")]
    table = st.rates_table(cases, ratings, MARCH, "office", names)
    assert table.header == ["单位", "单位代码", "办结数", "按期办结数", "按期办结率（%）", "差评数", "已整改", "差评整改率（%）"]
    assert table.rows == [["小店分局户政科", "D1", 2, 1, 50.0, 1, 0, 0.0],
                          ["忻府区政务服务中心", "H1", 0, 0, None, 1, 1, 100.0],
                          ["合计", "", 2, 1, 50.0, 2, 1, 50.0]]
    by_matter = st.rates_table(cases, ratings, MARCH, "matter", names)
    assert by_matter.rows[0] == ["无犯罪记录证明", "M1", 2, 1, 50.0, 2, 1, 50.0]
    assert "差评整改率（%）" in st.to_csv(table).decode("utf-8-sig").splitlines()[0]


# -- CSV -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, cell", [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"), ("+86 138", "'+86 138"), ("-1", "'-1"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("很好", "很好"), ("a=b", "a=b"), (-3, -3), (2.5, 2.5), (None, ""), (True, "是"),
])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_made_text(value, cell):
    assert st.csv_cell(value) == cell


@pytest.mark.parametrize("value", [
    "＝SUM(A1:A9)", "＋86 138", "－1", "＠cmd", "|calc", "｜calc", "\rx", "\nx", " =1+1", "\u3000＝1+1", "﹦1+1",
])
def test_full_width_signs_pipes_and_leading_spaces_cannot_start_a_formula(value):
    assert st.csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["１２３", "　很好", "a|b", "备注：=不是公式"])
def test_other_text_is_left_as_it_was(value):
    assert st.csv_cell(value) == value


def test_csv_is_utf8_with_a_byte_order_mark_and_a_chinese_header():
    table = st.Table("t", "表", ["单位", "件数"], [["忻府区", 3], ["=cmd|' /C calc'!A0", None]])
    data = st.to_csv(table)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["单位", "件数"], ["忻府区", "3"], ["'=cmd|' /C calc'!A0", ""]]
    assert data.endswith(b"\r\n")


def test_a_median_from_buckets_is_the_middle_of_the_bucket_of_each_middle_value():
    def unit(bucket):
        return float(bucket), bucket + 1.0
    assert st.histogram_median({}, unit) is None
    assert st.histogram_median({0: 1, 3: 1, 5: 1}, unit) == (3.5, 3)
    assert st.histogram_median({0: 1, 3: 1, 5: 1, 9: 1}, unit) == (4.5, 4)   # (3.5 + 5.5) / 2
    assert st.histogram_median({2: 4}, unit) == (2.5, 4)


def test_the_medians_per_office_and_matter_are_within_ten_per_cent_and_half_an_hour():
    """The buckets per office and matter widen by 20% each (GROUP_MEDIAN_PRECISION): whatever the values,
    the median from their buckets is within 10% of the exact one, plus half an hour."""
    import random
    import statistics
    from collections import Counter

    from tracking.model.rollups import GROUP_EDGES, group_bucket_bounds, group_bucket_of
    rng = random.Random(17)
    for _ in range(500):
        values = [rng.choice((rng.uniform(0, 2), rng.uniform(0, 48), rng.expovariate(1 / 300)))
                  for _ in range(rng.randint(1, 41))]
        for v in values:
            low, high = group_bucket_bounds(group_bucket_of(v))
            assert low <= v < high
        found, count = st.histogram_median(Counter(group_bucket_of(v) for v in values), group_bucket_bounds)
        exact = statistics.median(values)
        assert count == len(values) and abs(found - exact) <= 0.1 * exact + 0.5 + 1e-9
    assert group_bucket_bounds(group_bucket_of(GROUP_EDGES[-1] * 2))[0] == GROUP_EDGES[-1]  # the open last one
