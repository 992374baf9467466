"""Transit estimates (routing/transit.py) and route planning (routing/directory.plan_route) on the real
network, built straight from config/data/*.csv (no database), with the official working-day calendar."""
from __future__ import annotations

from datetime import date

import pytest
from geopy.distance import geodesic

from config.settings import Settings
from mailing.packets import route_stops
from routing.directory import Directory, Post, plan_route
from routing.transit import ServiceStandards, distance_km, leg_category, leg_days, schedule
from routing.workdays import WorkCalendar

DEFAULTS = ServiceStandards()


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.official()


def _posts(directory: Directory, *codes: str) -> list[Post]:
    return [directory.post(c) for c in codes]


def _codes(route: list[Post]) -> list[str]:
    return [p.code for p in route]


def _km(a: Post, b: Post) -> float:
    return geodesic((a.lat, a.lon), (b.lat, b.lon)).km


XINZHOU_TO_XIAODIAN = ("H140902", "P140900", "P140000", "P140100", "D140105-GA")
XINZHOU_TO_XIAN = ("H140902", "P140900", "P140000", "P610000", "P610100", "D610100-GZ")
XINZHOU_TO_BEIJING = ("H140902", "P140900", "P140000", "P110000", "D110000-GZ")
BEIJING_TO_XIAN = ("H110000", "P110000", "P610000", "P610100", "D610100-GZ")


# -- leg categories on real offices -----------------------------------------------------------------
@pytest.mark.parametrize("a, b, category", [
    ("H140902", "P140900", "same_city"),          # 忻府区 hall and the Xinzhou hub
    ("H140902", "D140902-GA", "same_city"),       # hall and department of the same county
    ("H140921", "D140900-GZ", "same_city"),       # a county of Xinzhou and the city's department
    ("P140000", "P140100", "same_city"),          # the provincial hub sits in Taiyuan
    ("P140100", "D140105-GA", "same_city"),       # Taiyuan hub and a Taiyuan district
    ("H110000", "D110105-GA", "same_city"),       # Beijing is a municipality: one city
    ("P110000", "D110000-GZ", "same_city"),
    ("H140902", "D140105-GA", "same_province"),   # Xinzhou and Taiyuan
    ("P140900", "P140000", "same_province"),
    ("P140200", "P140800", "same_province"),      # Datong and Yuncheng
    ("H140902", "D610100-GZ", "other_province"),  # Shanxi and Shaanxi
    ("P140000", "P110000", "other_province"),
    ("H110000", "D120000-GZ", "other_province"),  # two municipalities
    ("P130000", "P140000", "other_province"),
])
def test_a_leg_is_same_city_same_province_or_other_province_by_where_its_ends_lie(real, a, b, category):
    pa, pb = real.post(a), real.post(b)
    assert pa is not None and pb is not None
    assert leg_category(real, pa, pb) == category
    assert leg_category(real, pb, pa) == category


# -- leg days: the standard is a floor, distance beyond it takes longer --------------------------------
def test_a_short_leg_takes_the_standard_of_its_category(real):
    hall, hub, taiyuan = _posts(real, "H140902", "P140900", "P140000")
    assert _km(hall, hub) < 200            # 0.5 days at 400 km a day would be 200 km
    assert leg_days(real, hall, hub, DEFAULTS) == 0.5
    assert _km(hub, taiyuan) < 400
    assert leg_days(real, hub, taiyuan, DEFAULTS) == 1.0


def test_a_leg_between_provinces_takes_at_least_two_days_even_when_short(real):
    taiyuan, beijing = _posts(real, "P140000", "P110000")
    assert _km(taiyuan, beijing) < 800
    assert leg_days(real, taiyuan, beijing, DEFAULTS) == 2.0


def test_a_long_leg_between_provinces_takes_its_distance_over_the_daily_kilometres(real):
    beijing, xian = _posts(real, "P110000", "P610000")
    km = geodesic((40.1851, 116.4105), (34.1066, 108.7917)).km  # offices.csv coordinates, about 955 km
    assert 900 < km < 1000
    assert leg_days(real, beijing, xian, DEFAULTS) == pytest.approx(km / 400)
    assert leg_days(real, beijing, xian, DEFAULTS) > 2.0
    assert leg_days(real, xian, beijing, DEFAULTS) == pytest.approx(km / 400, abs=1e-6)


def test_a_long_leg_within_a_province_takes_its_distance_over_the_daily_kilometres(real):
    datong, yuncheng = _posts(real, "P140200", "P140800")
    km = geodesic((39.8999, 113.7205), (35.1868, 111.0656)).km  # about 573 km
    assert km > 400
    assert leg_days(real, datong, yuncheng, DEFAULTS) == pytest.approx(km / 400)


def test_fewer_kilometres_a_day_make_a_leg_longer_than_its_standard(real):
    hall, hub = _posts(real, "H140902", "P140900")
    slow = ServiceStandards(km_per_day=50)
    assert leg_days(real, hall, hub, slow) == pytest.approx(_km(hall, hub) / 50)  # about 52.6 km: 1.05 days
    assert leg_days(real, hall, hub, slow) > 1.0


# -- distances ---------------------------------------------------------------------------------------
def test_the_distance_of_a_pair_is_computed_once_and_then_read_from_the_cache():
    # coordinates no real office has, so the pair cannot be in the cache yet
    a = Post("TEST-A", "测试甲", "hall", "140902", lat=38.123456, lon=112.654321)
    b = Post("TEST-B", "测试乙", "hub", "140900", lat=38.876543, lon=112.234567)
    before = distance_km.cache_info()
    first = distance_km(a, b)
    after_first = distance_km.cache_info()
    assert after_first.misses == before.misses + 1
    assert after_first.hits == before.hits
    second = distance_km(a, b)
    # an equal office built anew (Post is frozen) shares the entry
    third = distance_km(Post("TEST-A", "测试甲", "hall", "140902", lat=38.123456, lon=112.654321), b)
    after = distance_km.cache_info()
    assert after.misses == after_first.misses
    assert after.hits == after_first.hits + 2
    assert first == second == third
    assert first == pytest.approx(_km(a, b))


@pytest.mark.parametrize("a, b", [("H140902", "D140105-GA"), ("P110000", "P610000"), ("P140200", "P140800"),
                                  ("H140902", "P140900")])
def test_the_distance_is_the_same_both_ways_within_a_metre(real, a, b):
    pa, pb = real.post(a), real.post(b)
    there, back = distance_km(pa, pb), distance_km(pb, pa)
    assert abs(there - back) < 0.001
    assert there == pytest.approx(_km(pa, pb))


def test_two_offices_at_the_same_place_are_no_distance_apart(real):
    assert distance_km(real.post("P140000"), real.post("P140100")) == 0


# -- schedule ----------------------------------------------------------------------------------------
def test_a_route_within_the_province_is_scheduled_leg_by_leg_from_monday(real, cal):
    # H140902 -> P140900   same city,      52.6 km:  max(0.5, 0.13) = 0.5  cumulative 0.5 -> 1 working day
    # P140900 -> P140000   same province, 102.8 km:  max(1.0, 0.26) = 1.0  cumulative 1.5 -> 2
    # P140000 -> P140100   same city (both Taiyuan), 0 km: 0.5             cumulative 2.0 -> 2
    # P140100 -> D140105-GA same city,     34.7 km:  0.5                   cumulative 2.5 -> 3
    # from Monday 2 March 2026: Tue 3, Wed 4, Wed 4, Thu 5
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 3, 2), DEFAULTS)
    assert plan.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 4), date(2026, 3, 5)]
    assert plan.arrival == date(2026, 3, 5)
    assert plan.provisional is False


def test_a_route_to_xian_crosses_the_province_through_both_gateways(real, cal):
    # H140902 -> P140900    same city        0.5   cumulative 0.5 -> 1  Tue 3
    # P140900 -> P140000    same province    1.0   cumulative 1.5 -> 2  Wed 4
    # P140000 -> P610000    other province, 532 km: max(2.0, 1.33) = 2.0  cumulative 3.5 -> 4  Fri 6
    # P610000 -> P610100    same city, 0 km  0.5   cumulative 4.0 -> 4  Fri 6
    # P610100 -> D610100-GZ same city, 0 km  0.5   cumulative 4.5 -> 5  Mon 9 (the weekend is off)
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAN), date(2026, 3, 2), DEFAULTS)
    assert plan.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 6),
                          date(2026, 3, 6), date(2026, 3, 9)]
    assert plan.arrival == date(2026, 3, 9)
    assert plan.provisional is False


def test_a_route_to_beijing_crosses_the_province(real, cal):
    # 0.5, 1.0, then Taiyuan -> Beijing 432 km: max(2.0, 1.08) = 2.0, then 0.5 (same place)
    # cumulative 0.5, 1.5, 3.5, 4.0 -> 1, 2, 4, 4 working days: Tue 3, Wed 4, Fri 6, Fri 6
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_BEIJING), date(2026, 3, 2), DEFAULTS)
    assert plan.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 6), date(2026, 3, 6)]
    assert plan.arrival == date(2026, 3, 6)


def test_a_long_leg_pushes_the_later_stops_back(real, cal):
    # H110000 -> P110000 0.5; Beijing -> Xi'an 955 km: 955/400 = 2.39 (> 2.0); then 0.5, 0.5
    # cumulative 0.5, 2.89, 3.39, 3.89 -> 1, 3, 4, 4: Tue 3, Thu 5, Fri 6, Fri 6
    # (with the standard alone it would be 0.5, 2.5, 3.0, 3.5 -> Tue 3, Thu 5, Thu 5, Fri 6)
    plan = schedule(real, cal, _posts(real, *BEIJING_TO_XIAN), date(2026, 3, 2), DEFAULTS)
    assert plan.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 6)]
    assert plan.arrival == date(2026, 3, 6)


def test_a_schedule_starting_on_a_saturday_counts_from_the_next_working_day(real, cal):
    # leg days 1, 2, 2, 3 working days after Saturday 7 March: Mon 9, Tue 10, Tue 10, Wed 11
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 3, 7), DEFAULTS)
    assert plan.stops == [date(2026, 3, 7), date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 10),
                          date(2026, 3, 11)]
    assert plan.arrival == date(2026, 3, 11)


def test_a_schedule_starting_on_a_holiday_counts_from_the_first_working_day_after_it(real, cal):
    # 1 October 2026 (National Day, off until 7 October): 1, 2, 2, 3 working days -> Thu 8, Fri 9, Fri 9,
    # Sat 10 (an adjusted working day)
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 10, 1), DEFAULTS)
    assert plan.stops == [date(2026, 10, 1), date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 9),
                          date(2026, 10, 10)]
    assert plan.provisional is False


def test_a_schedule_across_national_day_skips_the_holiday_and_counts_the_adjusted_saturday(real, cal):
    # from Wed 30 September: 1 -> Thu 8 Oct (1–7 Oct off), 2 -> Fri 9, 3 -> Sat 10 (调休上班)
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 9, 30), DEFAULTS)
    assert plan.stops == [date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 9),
                          date(2026, 10, 10)]
    assert plan.arrival == date(2026, 10, 10)


def test_a_schedule_across_national_day_to_another_province(real, cal):
    # H140902 -> D610100-GZ: 1, 2, 4, 4, 5 working days after Tue 29 September:
    # Wed 30 Sep, Thu 8 Oct, Sat 10 Oct, Sat 10 Oct, Mon 12 Oct
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAN), date(2026, 9, 29), DEFAULTS)
    assert plan.stops == [date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 10),
                          date(2026, 10, 10), date(2026, 10, 12)]
    assert plan.arrival == date(2026, 10, 12)


def test_a_schedule_across_the_mid_autumn_break(real, cal):
    # from Thu 24 September: Fri 25 – Sun 27 off; 1 -> Mon 28, 2 -> Tue 29, 3 -> Wed 30
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 9, 24), DEFAULTS)
    assert plan.stops == [date(2026, 9, 24), date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 29),
                          date(2026, 9, 30)]


def test_a_schedule_counts_sunday_20_september_2026_as_a_working_day(real, cal):
    # from Fri 18 September: Sat 19 off, Sun 20 调休上班; 1 -> Sun 20, 2 -> Mon 21, 3 -> Tue 22
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 9, 18), DEFAULTS)
    assert plan.stops == [date(2026, 9, 18), date(2026, 9, 20), date(2026, 9, 21), date(2026, 9, 21),
                          date(2026, 9, 22)]


def test_the_last_mile_to_a_home_adds_a_same_city_leg_after_the_last_hub(real, cal):
    # a result from 小店区公安 to a home in 忻府区 ends at the Xinzhou hub:
    # D140105-GA -> P140100 0.5 (34.7 km), P140100 -> P140000 0.5 (0 km), P140000 -> P140900 1.0 (103 km)
    # cumulative 0.5, 1.0, 2.0 -> Tue 3, Tue 3, Wed 4; the last mile 2.0 + 0.5 = 2.5 -> 3 -> Thu 5
    stops = route_stops(real, real.post("D140105-GA"), None, "140902")
    assert _codes(stops) == ["D140105-GA", "P140100", "P140000", "P140900"]
    home = schedule(real, cal, stops, date(2026, 3, 2), DEFAULTS, last_mile=True)
    assert home.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 3), date(2026, 3, 4)]
    assert home.arrival == date(2026, 3, 5)
    office = schedule(real, cal, stops, date(2026, 3, 2), DEFAULTS)
    assert office.stops == home.stops
    assert office.arrival == date(2026, 3, 4)


def test_half_a_leg_and_half_a_last_mile_make_one_working_day_not_two(real, cal):
    # H140902 -> P140900 is 0.5 day; the last mile another 0.5: exactly 1.0 -> 1 working day -> Tue 3
    plan = schedule(real, cal, _posts(real, "H140902", "P140900"), date(2026, 3, 2), DEFAULTS, last_mile=True)
    assert plan.stops == [date(2026, 3, 2), date(2026, 3, 3)]
    assert plan.arrival == date(2026, 3, 3)
    # and two half-day legs are one day as well: H140902 -> P140900 -> D140902-GA, Tue 3
    whole = schedule(real, cal, _posts(real, "H140902", "P140900", "D140902-GA"), date(2026, 3, 2), DEFAULTS)
    assert whole.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 3)]


def test_a_schedule_in_a_year_without_an_official_calendar_is_provisional(real, cal):
    assert 2031 not in cal.official_years
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2031, 3, 3), DEFAULTS)
    assert plan.provisional is True
    # Monday to Friday: Mon 3 March 2031 + 1, 2, 2, 3
    assert plan.stops == [date(2031, 3, 3), date(2031, 3, 4), date(2031, 3, 5), date(2031, 3, 5), date(2031, 3, 6)]


def test_a_schedule_running_into_an_unofficial_year_is_provisional(real, cal):
    # Wed 30 Dec 2026 + 1 -> Thu 31 (official), + 2 -> Fri 1 Jan 2027 (no official calendar yet)
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 12, 30), DEFAULTS)
    assert plan.stops[1] == date(2026, 12, 31)
    assert plan.provisional is True


def test_a_schedule_inside_an_official_year_is_not_provisional(real, cal):
    assert schedule(real, cal, _posts(real, *XINZHOU_TO_XIAN), date(2026, 6, 1), DEFAULTS).provisional is False


def test_a_last_mile_running_into_an_unofficial_year_is_provisional(real, cal):
    # D140105-GA -> ... -> P140900 is 2.0 days: Mon 28 Dec 2026 -> Wed 30 Dec; the last mile 2.5 -> 3 -> Thu 31;
    # from Tue 29: stops end Thu 31, the last mile reaches Fri 1 Jan 2027
    stops = route_stops(real, real.post("D140105-GA"), None, "140902")
    assert schedule(real, cal, stops, date(2026, 12, 28), DEFAULTS, last_mile=True).provisional is False
    late = schedule(real, cal, stops, date(2026, 12, 29), DEFAULTS, last_mile=True)
    assert late.stops[-1] == date(2026, 12, 31)
    assert late.arrival == date(2027, 1, 1)
    assert late.provisional is True


def test_configured_standards_change_the_schedule(real, cal):
    # same_city 1, same_province 2, other_province 3: 1, 1+2=3, 3+1=4, 4+1=5 working days from Mon 2 March:
    # Tue 3, Thu 5, Fri 6, Mon 9
    slower = ServiceStandards(same_city=1, same_province=2, other_province=3, km_per_day=400)
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 3, 2), slower)
    assert plan.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 9)]
    assert plan.arrival == date(2026, 3, 9)


def test_configured_other_province_standard_moves_the_arrival_in_another_province(real, cal):
    # other_province 4 instead of 2: cumulative 0.5, 1.5, 5.5, 6.0, 6.5 -> 1, 2, 6, 6, 7 from Mon 2 March:
    # Tue 3, Wed 4, Tue 10, Tue 10, Wed 11
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAN), date(2026, 3, 2), ServiceStandards(other_province=4))
    assert plan.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 10),
                          date(2026, 3, 10), date(2026, 3, 11)]


def test_fewer_kilometres_a_day_in_the_settings_make_every_long_leg_longer(real, cal):
    # km_per_day 100: 52.6 km -> 0.53, 102.8 km -> 1.03, 0 km -> 0.5, 34.7 km -> 0.5
    # cumulative 0.53, 1.55, 2.05, 2.55 -> 1, 2, 3, 3: Tue 3, Wed 4, Thu 5, Thu 5
    plan = schedule(real, cal, _posts(real, *XINZHOU_TO_XIAODIAN), date(2026, 3, 2), ServiceStandards(km_per_day=100))
    assert plan.stops == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 5)]


def test_service_standards_come_from_the_tongban_transit_settings(tmp_path):
    settings = Settings.from_env(env={"TONGBAN_TRANSIT_SAME_CITY_DAYS": "1",
                                      "TONGBAN_TRANSIT_SAME_PROVINCE_DAYS": "2",
                                      "TONGBAN_TRANSIT_OTHER_PROVINCE_DAYS": "3.5",
                                      "TONGBAN_TRANSIT_KM_PER_DAY": "250",
                                      "TONGBAN_SECRET_KEY": "s", "TONGBAN_DATA_KEY": "d"},
                                 instance_path=tmp_path)
    assert ServiceStandards.from_settings(settings) == ServiceStandards(same_city=1, same_province=2,
                                                                        other_province=3.5, km_per_day=250)
    defaults = Settings.from_env(env={"TONGBAN_SECRET_KEY": "s", "TONGBAN_DATA_KEY": "d"}, instance_path=tmp_path)
    assert ServiceStandards.from_settings(defaults) == ServiceStandards(0.5, 1.0, 2.0, 400.0)


def test_a_one_stop_schedule_arrives_on_its_start_day_or_after_the_last_mile(real, cal):
    hall = real.post("H140902")
    plan = schedule(real, cal, [hall], date(2026, 3, 2), DEFAULTS)
    assert plan.stops == [date(2026, 3, 2)] and plan.arrival == date(2026, 3, 2)
    assert schedule(real, cal, [hall], date(2026, 3, 2), DEFAULTS, last_mile=True).arrival == date(2026, 3, 3)


# -- plan_route --------------------------------------------------------------------------------------
def test_a_route_in_the_same_city_does_not_go_through_the_provincial_hub(real):
    route = _codes(plan_route(real, real.post("H140902"), real.post("D140902-GA")))
    assert route == ["H140902", "P140900", "D140902-GA"]
    assert "P140000" not in route


def test_a_route_in_taiyuan_does_not_go_through_the_provincial_hub_although_it_sits_there(real):
    assert _codes(plan_route(real, real.post("H140105"), real.post("D140105-GA"))) == \
        ["H140105", "P140100", "D140105-GA"]


def test_a_route_to_another_city_of_the_province_goes_through_the_provincial_hub(real):
    assert _codes(plan_route(real, real.post("H140902"), real.post("D140105-GA"))) == list(XINZHOU_TO_XIAODIAN)


def test_a_route_to_another_province_goes_through_both_provincial_gateways(real):
    assert _codes(plan_route(real, real.post("H140902"), real.post("D610100-GZ"))) == list(XINZHOU_TO_XIAN)
    assert _codes(plan_route(real, real.post("H140902"), real.post("D110000-GZ"))) == list(XINZHOU_TO_BEIJING)


@pytest.mark.parametrize("hub, office, expected", [
    # misrouted to the Datong hub: back through the provincial hub to Taiyuan
    ("P140200", "D140105-GA", ["P140200", "P140000", "P140100", "D140105-GA"]),
    # at its own city hub: straight to the office
    ("P140900", "D140902-GA", ["P140900", "D140902-GA"]),
    # at the Xinzhou hub, bound for Xi'an
    ("P140900", "D610100-GZ", ["P140900", "P140000", "P610000", "P610100", "D610100-GZ"]),
    # misrouted to Beijing: from the Beijing gateway back to Shanxi
    ("P110000", "D140105-GA", ["P110000", "P140000", "P140100", "D140105-GA"]),
    # at the provincial hub, bound for a Taiyuan office: the city hub next
    ("P140000", "D140105-GA", ["P140000", "P140100", "D140105-GA"]),
])
def test_a_route_re_planned_at_a_hub_starts_there(real, hub, office, expected):
    assert _codes(plan_route(real, real.post(hub), real.post(office))) == expected


@pytest.mark.parametrize("hub, office, expected", [
    # a packet at the Shanxi provincial hub bound for another province goes on to that province's gateway,
    # not down to the Taiyuan city hub and back up
    ("P140000", "D110000-GZ", ["P140000", "P110000", "D110000-GZ"]),
    ("P140000", "D140902-GA", ["P140000", "P140900", "D140902-GA"]),
    # misrouted to the Shaanxi provincial hub, bound for Taiyuan
    ("P610000", "D140105-GA", ["P610000", "P140000", "P140100", "D140105-GA"]),
])
def test_a_route_re_planned_at_a_provincial_hub_never_visits_it_twice(real, hub, office, expected):
    codes = _codes(plan_route(real, real.post(hub), real.post(office)))
    assert len(codes) == len(set(codes)), codes
    assert codes == expected


def test_every_hub_to_every_department_sampled_starts_at_the_hub_and_never_repeats_a_stop(real):
    hubs = [p for p in real.posts.values() if p.kind == "hub"]
    depts = [p for p in real.posts.values() if p.kind == "department"][::13]
    repeats = []
    for hub in hubs:
        for dept in depts:
            codes = _codes(plan_route(real, hub, dept))
            assert codes[0] == hub.code and codes[-1] == dept.code
            if len(codes) != len(set(codes)):
                repeats.append(codes)
    assert repeats == [], f"{len(repeats)} routes repeat a stop, e.g. {repeats[:3]}"


def test_a_re_planned_route_is_scheduled_from_the_day_of_the_scan_at_the_hub(real, cal):
    # misrouted to Datong, scanned there Wed 4 March: P140200 -> P140000 same province (Datong-Taiyuan 250 km,
    # max(1.0, 0.62) = 1.0), P140000 -> P140100 0.5, P140100 -> D140105-GA 0.5:
    # cumulative 1.0, 1.5, 2.0 -> 1, 2, 2: Thu 5, Fri 6, Fri 6
    route = plan_route(real, real.post("P140200"), real.post("D140105-GA"))
    assert _km(real.post("P140200"), real.post("P140000")) < 400
    plan = schedule(real, cal, route, date(2026, 3, 4), DEFAULTS)
    assert plan.stops == [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 6)]
