import json
import time
from datetime import date, timedelta

import pytest

from routing.workdays import WorkCalendar, YearSpec, parse_year_file


@pytest.fixture(scope="module")
def cal():
    return WorkCalendar.official()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


YEAR_2027 = {
    "year": 2027,
    "holidays": {
        "2027-01-01": "元旦",
        "2027-02-05": "春节",
        "2027-02-08": "春节",
    },
    "workdays": {"2027-02-07": "春节调休"},
}


# --- the official calendar -------------------------------------------------------


def test_official_covers_chinese_calendars_years(cal):
    assert {2004, 2020, 2025, 2026} <= cal.official_years
    assert 2027 not in cal.official_years
    assert isinstance(cal.official_years, frozenset)
    assert cal.is_official(date(2026, 12, 31))
    assert not cal.is_official(date(2027, 1, 1))


def test_official_without_extra_is_built_once(cal):
    assert WorkCalendar.official() is cal


def test_national_day_2025_is_off_with_adjusted_weekends_on(cal):
    assert all(not cal.is_working_day(d) for d in days(date(2025, 10, 1), date(2025, 10, 8)))
    assert cal.is_working_day(date(2025, 9, 28))   # Sunday, 调休上班
    assert cal.is_working_day(date(2025, 10, 11))  # Saturday, 调休上班
    assert cal.is_working_day(date(2025, 9, 30))
    assert cal.is_working_day(date(2025, 10, 9))
    assert cal.holidays[date(2025, 10, 1)] == "国庆节"
    assert cal.holidays[date(2025, 10, 6)] == "中秋"


def test_spring_festival_2026_is_off_15_to_23_february(cal):
    assert all(not cal.is_working_day(d) for d in days(date(2026, 2, 15), date(2026, 2, 23)))
    assert cal.holidays[date(2026, 2, 17)] == "春节"
    assert cal.is_working_day(date(2026, 2, 13))
    assert cal.is_working_day(date(2026, 2, 24))


def test_spring_festival_2026_adjusted_saturdays_are_working_days(cal):
    for saturday in (date(2026, 2, 14), date(2026, 2, 28)):
        assert saturday.weekday() == 5
        assert cal.is_working_day(saturday)
        assert cal.workdays[saturday] == "春节"


def test_ordinary_weekends_are_off_and_weekdays_on(cal):
    assert not cal.is_working_day(date(2025, 11, 15))  # Saturday
    assert not cal.is_working_day(date(2025, 11, 16))  # Sunday
    assert cal.is_working_day(date(2025, 11, 17))      # Monday


def test_one_working_day_after_30_september_2025_is_9_october(cal):
    assert cal.add_working_days(date(2025, 9, 30), 1) == (date(2025, 10, 9), False)


def test_an_adjusted_weekend_working_day_counts(cal):
    # Friday 26 September → Sunday 28 (调休上班) is the next working day
    assert cal.add_working_days(date(2025, 9, 26), 1) == (date(2025, 9, 28), False)
    # Friday 10 October → Saturday 11 (调休上班)
    assert cal.add_working_days(date(2025, 10, 10), 1) == (date(2025, 10, 11), False)


def test_add_zero_working_days_is_start(cal):
    assert cal.add_working_days(date(2025, 10, 3), 0) == (date(2025, 10, 3), False)


def test_add_working_days_refuses_negative(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 10, 3), -1)


def test_twenty_working_days_across_national_day_2025(cal):
    # 30 Sep (start, not counted); 9,10,11 Oct; then 13–17, 20–24, 27–31 Oct; 3,4 Nov
    assert cal.add_working_days(date(2025, 9, 30), 20) == (date(2025, 11, 4), False)


def test_years_beyond_the_official_calendar_count_monday_to_friday_and_are_provisional(cal):
    assert cal.is_working_day(date(2027, 1, 1))       # would be 元旦, but 2027 is not loaded
    assert not cal.is_working_day(date(2027, 1, 2))   # Saturday
    # Thursday 31 Dec 2026 + 2 → Fri 1 Jan, Mon 4 Jan 2027
    assert cal.add_working_days(date(2026, 12, 31), 2) == (date(2027, 1, 4), True)


def test_a_count_ending_in_an_official_year_is_not_provisional(cal):
    assert cal.add_working_days(date(2026, 12, 28), 3) == (date(2026, 12, 31), False)


def test_an_extra_year_makes_2027_official():
    cal = WorkCalendar.official([parse_year_file(json.dumps(YEAR_2027))])
    assert cal.is_official(date(2027, 6, 1))
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.is_working_day(date(2027, 2, 7))       # Sunday, 调休上班
    assert not cal.is_working_day(date(2027, 2, 8))
    assert cal.add_working_days(date(2026, 12, 31), 1) == (date(2027, 1, 4), False)
    assert cal.add_working_days(date(2027, 2, 4), 1) == (date(2027, 2, 7), False)
    # chinese_calendar's own years are still there
    assert not cal.is_working_day(date(2025, 10, 1))


def test_an_extra_year_replaces_chinese_calendars_data_for_that_year():
    spec = YearSpec(2026, {date(2026, 3, 2): "测试假日"}, {})
    cal = WorkCalendar.official([spec])
    assert not cal.is_working_day(date(2026, 3, 2))
    assert cal.is_working_day(date(2026, 2, 17))      # chinese_calendar's 春节 is gone
    assert not cal.is_working_day(date(2026, 2, 14))  # and so is its adjusted Saturday
    assert not WorkCalendar.official().is_working_day(date(2026, 2, 17))


def test_working_days_between_counts_the_half_open_interval(cal):
    assert cal.working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    assert cal.working_days_between(date(2025, 9, 26), date(2025, 10, 11)) == 6  # 28, 29, 30 Sep; 9, 10, 11 Oct
    assert cal.working_days_between(date(2025, 10, 9), date(2025, 10, 9)) == 0
    assert cal.working_days_between(date(2025, 10, 9), date(2025, 10, 1)) == 0


def test_working_days_between_agrees_with_add_working_days(cal):
    start = date(2025, 9, 1)
    for n in (1, 5, 20, 60, 250, 400):
        end, _ = cal.add_working_days(start, n)
        assert cal.working_days_between(start, end) == n


def test_working_days_between_agrees_with_day_by_day_counting(cal):
    start = date(2025, 12, 20)
    for end in days(date(2025, 12, 20), date(2027, 3, 1)):
        expected = sum(cal.is_working_day(d) for d in days(start + timedelta(1), end))
        if end == start:
            expected = 0
        assert cal.working_days_between(start, end) == expected, end


def test_next_working_day(cal):
    assert cal.next_working_day(date(2025, 10, 1)) == date(2025, 10, 9)
    assert cal.next_working_day(date(2025, 10, 9)) == date(2025, 10, 9)
    assert cal.next_working_day(date(2025, 9, 27)) == date(2025, 9, 28)
    assert cal.next_working_day(date(2027, 1, 2)) == date(2027, 1, 4)


def test_adding_sixty_working_days_is_fast(cal):
    began = time.perf_counter()
    for _ in range(100):
        cal.add_working_days(date(2025, 9, 1), 60)
    assert (time.perf_counter() - began) / 100 < 0.002


def test_constructor_refuses_days_outside_its_official_years():
    with pytest.raises(ValueError):
        WorkCalendar({date(2030, 1, 1): "元旦"}, {}, {2029})


def test_a_plain_calendar_is_monday_to_friday():
    cal = WorkCalendar({}, {}, set())
    assert cal.add_working_days(date(2025, 10, 1), 3) == (date(2025, 10, 6), True)


# --- the published-year file ------------------------------------------------------


def test_parse_year_file_reads_the_documented_format():
    spec = parse_year_file(json.dumps(YEAR_2027, ensure_ascii=False))
    assert spec == YearSpec(
        2027,
        {date(2027, 1, 1): "元旦", date(2027, 2, 5): "春节", date(2027, 2, 8): "春节"},
        {date(2027, 2, 7): "春节调休"},
    )


def test_parse_year_file_allows_no_workdays_and_a_bom():
    spec = parse_year_file("\ufeff" + json.dumps({"year": 2027, "holidays": {"2027-01-01": "元旦"}}))
    assert spec.workdays == {}


def with_change(**changes) -> str:
    return json.dumps({**YEAR_2027, **changes}, ensure_ascii=False)


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"year": 2027, "holidays": {', "JSON"),
        ("[2027]", "JSON 对象"),
        (with_change(year="2027"), "year"),
        (with_change(holidays={"2026-12-31": "元旦"}), "不在 2027 年内"),
        (with_change(workdays={"2028-01-02": "调休"}), "不在 2027 年内"),
        (with_change(workdays={"2027-01-01": "调休"}), "同时出现"),
        (with_change(workdays={"2027-02-09": "春节调休"}), "周六或周日"),
        (with_change(holidays={"2027/01/01": "元旦"}), "YYYY-MM-DD"),
        (with_change(holidays={"2027-02-30": "春节"}), "YYYY-MM-DD"),
        (with_change(holidays={"2027-01-01": ""}), "名称"),
        (with_change(holidays={}), "为空"),
        (with_change(holidays=["2027-01-01"]), "应为对象"),
        ('{"year": 2027, "holidays": {"2027-01-01": "元旦", "2027-01-01": "元旦"}}', "不止一次"),
        (json.dumps({"year": 2027}), "缺少 holidays"),
        (with_change(holiday={}), "未知的字段"),
    ],
)
def test_parse_year_file_refuses_bad_files_with_a_chinese_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_year_file(text)


# --- the official calendar around Mid-Autumn and National Day 2026 ------------------


def test_mid_autumn_and_national_day_2026_are_off_with_their_adjusted_weekends_on(cal):
    assert all(not cal.is_working_day(d) for d in days(date(2026, 9, 25), date(2026, 9, 27)))
    assert all(not cal.is_working_day(d) for d in days(date(2026, 10, 1), date(2026, 10, 7)))
    assert cal.holidays[date(2026, 9, 25)] == "中秋"
    assert cal.holidays[date(2026, 10, 1)] == "国庆节"
    assert date(2026, 9, 20).weekday() == 6 and cal.is_working_day(date(2026, 9, 20))   # Sunday, 调休上班
    assert date(2026, 10, 10).weekday() == 5 and cal.is_working_day(date(2026, 10, 10))  # Saturday, 调休上班
    assert not cal.is_working_day(date(2026, 9, 19))   # the Saturday before stays off
    assert not cal.is_working_day(date(2026, 10, 11))  # the Sunday after stays off
    for d in (date(2026, 9, 24), date(2026, 9, 28), date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9)):
        assert cal.is_working_day(d), d


def test_one_working_day_after_30_september_2026_is_8_october(cal):
    assert cal.add_working_days(date(2026, 9, 30), 1) == (date(2026, 10, 8), False)


def test_the_adjusted_saturday_10_october_2026_counts(cal):
    assert cal.add_working_days(date(2026, 10, 9), 1) == (date(2026, 10, 10), False)
    assert cal.add_working_days(date(2026, 9, 30), 3) == (date(2026, 10, 10), False)  # 8, 9, 10 October
    assert cal.add_working_days(date(2026, 10, 10), 1) == (date(2026, 10, 12), False)  # Sunday 11 stays off


def test_one_working_day_after_24_september_2026_is_28_september(cal):
    # Friday 25 to Sunday 27 September: 中秋
    assert cal.add_working_days(date(2026, 9, 24), 1) == (date(2026, 9, 28), False)


def test_the_adjusted_sunday_20_september_2026_counts(cal):
    assert cal.add_working_days(date(2026, 9, 18), 1) == (date(2026, 9, 20), False)
    assert cal.add_working_days(date(2026, 9, 19), 1) == (date(2026, 9, 20), False)


def test_five_working_days_across_both_breaks_of_autumn_2026(cal):
    # from Thu 24 Sep: 28, 29, 30 Sep; 8, 9 Oct
    assert cal.add_working_days(date(2026, 9, 24), 5) == (date(2026, 10, 9), False)
    # from Tue 29 Sep: 30 Sep; 8, 9, 10 (Sat), 12 Oct
    assert cal.add_working_days(date(2026, 9, 29), 5) == (date(2026, 10, 12), False)


def test_counting_from_inside_national_day_2026_starts_after_it(cal):
    assert cal.add_working_days(date(2026, 10, 1), 1) == (date(2026, 10, 8), False)
    assert cal.add_working_days(date(2026, 10, 4), 2) == (date(2026, 10, 9), False)
    assert cal.next_working_day(date(2026, 10, 3)) == date(2026, 10, 8)
    assert cal.next_working_day(date(2026, 9, 25)) == date(2026, 9, 28)


def test_working_days_between_across_the_autumn_2026_breaks(cal):
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert cal.working_days_between(date(2026, 9, 24), date(2026, 9, 27)) == 0
    # (24 Sep, 12 Oct]: 28, 29, 30 Sep; 8, 9, 10, 12 Oct
    assert cal.working_days_between(date(2026, 9, 24), date(2026, 10, 12)) == 7
    # (18 Sep, 21 Sep]: Sunday 20 (调休上班) and Monday 21
    assert cal.working_days_between(date(2026, 9, 18), date(2026, 9, 21)) == 2
    # the whole of September and October 2026: 22 weekdays - 1 (25 Sep) + 1 (20 Sep) in September;
    # 22 weekdays - 5 (1, 2, 5, 6, 7 Oct) + 1 (10 Oct) in October
    assert cal.working_days_between(date(2026, 8, 31), date(2026, 10, 31)) == 22 + 18


# --- Beijing dates ------------------------------------------------------------------


def test_the_beijing_date_of_an_evening_in_utc_is_the_next_day():
    from datetime import datetime, timezone

    from config.clock import beijing_date
    assert beijing_date(datetime(2026, 9, 30, 17, 0, tzinfo=timezone.utc)) == date(2026, 10, 1)
    assert beijing_date(datetime(2026, 9, 30, 15, 59, 59, tzinfo=timezone.utc)) == date(2026, 9, 30)
    assert beijing_date(datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc)) == date(2026, 10, 1)
    # SQLite hands back naive datetimes: they are UTC
    assert beijing_date(datetime(2026, 9, 30, 17, 0)) == date(2026, 10, 1)


def test_an_evening_in_utc_on_30_september_2026_counts_from_national_day(cal):
    from datetime import datetime, timezone

    from config.clock import beijing_date
    start = beijing_date(datetime(2026, 9, 30, 17, 0, tzinfo=timezone.utc))  # 01:00 on 1 October in Beijing
    assert not cal.is_working_day(start)
    assert cal.add_working_days(start, 1) == (date(2026, 10, 8), False)
    morning = beijing_date(datetime(2026, 9, 30, 1, 0, tzinfo=timezone.utc))  # 09:00 on 30 September
    assert cal.working_days_between(morning, date(2026, 10, 8)) == 1


def test_the_frozen_clock_gives_todays_beijing_date():
    from datetime import datetime, timezone

    from config import clock
    try:
        clock.freeze(datetime(2026, 9, 30, 16, 30, tzinfo=timezone.utc))
        assert clock.beijing_date() == date(2026, 10, 1)
        clock.freeze(datetime.fromisoformat("2026-10-10T23:59:00+08:00"))
        assert clock.beijing_date() == date(2026, 10, 10)
    finally:
        clock.freeze(None)
