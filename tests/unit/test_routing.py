"""Jurisdiction (owning_office) and routes (plan_route), on a hand-built directory and on the real one
built straight from config/data/*.csv (no database)."""
from __future__ import annotations

import pytest
import yaml

from routing.directory import Directory, Place, Post, RoutingError, owning_office, plan_route
from routing.reference import DATA_DIR


# ---------------------------------------------------------------------------------------------
# a small directory built by hand: Shanxi (Xinzhou, Taiyuan), Beijing
# ---------------------------------------------------------------------------------------------
def _small() -> Directory:
    places = [
        Place("140000", "山西省", "province", None, 37.8, 112.5),
        Place("140100", "太原市", "city", "140000", 37.8, 112.5),
        Place("140105", "小店区", "county", "140100", 37.7, 112.6),
        Place("140900", "忻州市", "city", "140000", 38.4, 112.7),
        Place("140902", "忻府区", "county", "140900", 38.4, 112.7),
        Place("140921", "定襄县", "county", "140900", 38.5, 112.9),
        Place("110000", "北京市", "province", None, 40.2, 116.4),
        Place("110105", "朝阳区", "county", "110000", 39.9, 116.5),
    ]
    posts = [
        Post("H140902", "忻府区政务服务中心", "hall", "140902"),
        Post("H140921", "定襄县政务服务中心", "hall", "140921"),
        Post("H110000", "北京市政务服务中心", "hall", "110000"),
        Post("D140902-GA", "忻府分局户政科", "department", "140902", "GA"),
        Post("D140921-GA", "定襄县户政科", "department", "140921", "GA"),
        Post("D140105-GA", "小店分局户政科", "department", "140105", "GA"),
        Post("D110105-GA", "朝阳分局户政科", "department", "110105", "GA"),
        Post("D140900-GZ", "忻州市公证处", "department", "140900", "GZ"),
        Post("D140100-GZ", "太原市公证处", "department", "140100", "GZ"),
        Post("D110000-GZ", "北京市长安公证处", "department", "110000", "GZ"),
        Post("D140000-SJ", "山西省市场监督管理局", "department", "140000", "SJ"),
        Post("D140000-XX", "山西省某厅", "department", "140000", "XX"),
        Post("D140921-BDC", "定襄县不动产登记中心", "department", "140921", "BDC"),
        Post("P140900", "忻州邮件处理中心", "hub", "140900", serves="140900"),
        Post("P140100", "太原邮件处理中心", "hub", "140100", serves="140100"),
        Post("P140000", "山西省邮件处理中心", "hub", "140100", serves="140000"),
        Post("P110000", "北京邮件处理中心", "hub", "110000", serves="110000"),
    ]
    return Directory({p.code: p for p in places}, {p.code: p for p in posts})


@pytest.fixture(scope="module")
def small() -> Directory:
    return _small()


@pytest.fixture(scope="module")
def matters() -> dict[str, dict]:
    with (DATA_DIR / "matters.yaml").open(encoding="utf-8") as f:
        return {m["code"]: m for m in yaml.safe_load(f)}


def _owner(directory, *, rule, department, level, **divisions) -> str:
    return owning_office(directory, rule=rule, department=department, level=level, **divisions).code


def _refusal(directory, **kwargs) -> RoutingError:
    with pytest.raises(RoutingError) as info:
        owning_office(directory, **kwargs)
    return info.value


# -- owning_office on the hand-built directory --------------------------------------------------
def test_a_county_level_household_matter_goes_to_the_county_of_the_household_registration(small):
    assert _owner(small, rule="household", department="GA", level="county", household_division="140105") \
        == "D140105-GA"


def test_a_city_level_household_matter_goes_to_the_city_of_the_households_county(small):
    assert _owner(small, rule="household", department="GZ", level="city", household_division="140921") \
        == "D140900-GZ"


def test_a_province_level_matter_goes_to_the_province_of_the_place(small):
    assert _owner(small, rule="household", department="XX", level="province", household_division="140921") \
        == "D140000-XX"


def test_a_subject_matter_follows_the_subjects_place_not_the_household(small):
    assert _owner(small, rule="subject", department="BDC", level="county",
                  household_division="140105", subject_division="140921") == "D140921-BDC"


def test_a_registration_matter_follows_the_organisations_registration_place(small):
    assert _owner(small, rule="registration", department="GA", level="county",
                  household_division="140105", registration_division="140902") == "D140902-GA"


def test_a_fixed_matter_goes_to_its_office_whatever_the_applicants_place(small):
    assert _owner(small, rule="fixed:D140000-SJ", department="SJ", level="province") == "D140000-SJ"
    assert _owner(small, rule="fixed:D140000-SJ", department="SJ", level="province",
                  household_division="110105") == "D140000-SJ"


def test_a_beijing_district_with_a_city_level_matter_goes_to_the_municipality(small):
    assert _owner(small, rule="household", department="GZ", level="city", household_division="110105") \
        == "D110000-GZ"


def test_a_beijing_district_with_a_county_level_matter_goes_to_the_district(small):
    assert _owner(small, rule="household", department="GA", level="county", household_division="110105") \
        == "D110105-GA"


def test_a_subject_matter_without_a_subject_is_refused_with_missing_subject(small):
    e = _refusal(small, rule="subject", department="BDC", level="county", household_division="140921")
    assert (e.code, e.field) == ("missing_subject", "subject")


def test_a_household_matter_without_a_household_division_has_no_owning_office(small):
    e = _refusal(small, rule="household", department="GA", level="county")
    assert (e.code, e.field) == ("no_owning_office", "applicant.division_code")


def test_a_registration_matter_without_a_registration_place_has_no_owning_office(small):
    e = _refusal(small, rule="registration", department="GA", level="county", household_division="140902")
    assert (e.code, e.field) == ("no_owning_office", "applicant.division_code")


def test_a_place_without_that_department_has_no_owning_office(small):
    e = _refusal(small, rule="subject", department="BDC", level="county", subject_division="140902")
    assert (e.code, e.field) == ("no_owning_office", "subject.division_code")


def test_an_unknown_division_has_no_owning_office(small):
    assert _refusal(small, rule="household", department="GA", level="county",
                    household_division="149999").code == "no_owning_office"


def test_a_county_level_matter_for_a_city_division_has_no_owning_office(small):
    assert _refusal(small, rule="household", department="GA", level="county",
                    household_division="140900").code == "no_owning_office"


def test_a_fixed_matter_whose_office_is_not_listed_has_no_owning_office(small):
    assert _refusal(small, rule="fixed:D149999-SJ", department="SJ", level="province").code == "no_owning_office"


def test_an_unknown_rule_is_a_programming_error():
    with pytest.raises(ValueError):
        owning_office(_small(), rule="nearest", department="GA", level="county", household_division="140105")


# -- owning_office on the real directory ---------------------------------------------------------
@pytest.mark.parametrize("matter, divisions, office", [
    ("GA-WFZM-01", {"household_division": "140105"}, "D140105-GA"),                         # household, county
    ("GZ-XLGZ-01", {"household_division": "140921"}, "D140900-GZ"),                         # household, city
    ("GZ-XLGZ-01", {"household_division": "110105"}, "D110000-GZ"),                         # Beijing district
    ("GZ-XLGZ-01", {"household_division": "120101"}, "D120000-GZ"),                         # Tianjin district
    ("GZ-XLGZ-01", {"household_division": "130102"}, "D130100-GZ"),                         # Hebei county
    ("GA-HJZM-01", {"household_division": "110105"}, "D110105-GA"),                         # Beijing, county level
    ("BDC-DYDJ-01", {"household_division": "140105", "subject_division": "140921"}, "D140921-BDC"),  # subject
    ("GJJ-TQ-01", {"household_division": "140105", "subject_division": "140902"}, "D140900-GJJ"),
    ("RS-DWCB-01", {"registration_division": "140105"}, "D140100-RS"),                      # registration, city
    ("SJ-QYBG-01", {"registration_division": "140902"}, "D140902-SJ"),                      # registration, county
    ("SJ-GYCP-01", {"registration_division": "140902"}, "D140000-SJ"),                      # fixed
])
def test_the_real_catalogue_finds_the_office_each_rule_names(real, matters, matter, divisions, office):
    m = matters[matter]
    assert _owner(real, rule=m["jurisdiction"], department=m["department"], level=m["level"],
                  **divisions) == office


def test_the_real_catalogue_asks_for_a_subject_where_the_rule_is_subject(real, matters):
    m = matters["BDC-DYDJ-01"]
    e = _refusal(real, rule=m["jurisdiction"], department=m["department"], level=m["level"],
                 household_division="140105")
    assert e.code == "missing_subject"


def test_every_per_case_matter_finds_an_owning_office_for_every_county_level_division(real, matters):
    counties = [p.code for p in real.places.values() if p.level == "county"]
    assert len(counties) > 150
    missing = []
    for m in matters.values():
        if m["jurisdiction"].startswith("fixed:"):
            assert real.post(m["jurisdiction"].split(":", 1)[1]) is not None, m["code"]
            continue
        for code in counties:
            try:
                owning_office(real, rule=m["jurisdiction"], department=m["department"], level=m["level"],
                              household_division=code, subject_division=code, registration_division=code)
            except RoutingError:
                missing.append((m["code"], code))
    assert missing == []


# -- plan_route ------------------------------------------------------------------------------------
def _codes(route) -> list[str]:
    return [p.code for p in route]


def test_a_route_in_the_same_city_goes_hall_city_hub_office(small):
    route = plan_route(small, small.post("H140921"), small.post("D140902-GA"))
    assert _codes(route) == ["H140921", "P140900", "D140902-GA"]


def test_a_route_to_another_city_of_the_province_goes_through_the_provincial_hub(small):
    route = plan_route(small, small.post("H140902"), small.post("D140105-GA"))
    assert _codes(route) == ["H140902", "P140900", "P140000", "P140100", "D140105-GA"]


def test_a_route_to_beijing_goes_through_both_provincial_hubs_without_a_duplicate(small):
    route = plan_route(small, small.post("H140902"), small.post("D110000-GZ"))
    assert _codes(route) == ["H140902", "P140900", "P140000", "P110000", "D110000-GZ"]


@pytest.mark.parametrize("origin, destination, expected", [
    ("H140921", "D140902-GA", ["H140921", "P140900", "D140902-GA"]),
    ("H140100", "D140100-GZ", ["H140100", "P140100", "D140100-GZ"]),
    ("H140902", "D140105-GA", ["H140902", "P140900", "P140000", "P140100", "D140105-GA"]),
    ("H140802", "D140900-GJJ", ["H140802", "P140800", "P140000", "P140900", "D140900-GJJ"]),
    ("H140902", "D110000-GZ", ["H140902", "P140900", "P140000", "P110000", "D110000-GZ"]),
    ("H140902", "D110105-GA", ["H140902", "P140900", "P140000", "P110000", "D110105-GA"]),
    ("H140902", "D130100-GZ", ["H140902", "P140900", "P140000", "P130000", "P130100", "D130100-GZ"]),
    ("H110000", "D140105-GA", ["H110000", "P110000", "P140000", "P140100", "D140105-GA"]),
    ("H120000", "D110000-GZ", ["H120000", "P120000", "P110000", "D110000-GZ"]),
    ("H130100", "D610100-GZ", ["H130100", "P130100", "P130000", "P610000", "P610100", "D610100-GZ"]),
])
def test_a_route_on_the_real_network_goes_through_the_expected_hubs(real, origin, destination, expected):
    assert _codes(plan_route(real, real.post(origin), real.post(destination))) == expected


def test_a_route_includes_both_ends_and_never_repeats_a_stop(real):
    halls = [p for p in real.posts.values() if p.kind == "hall"]
    depts = [p for p in real.posts.values() if p.kind == "department"]
    for origin in halls[::7]:
        for destination in depts[::11]:
            codes = _codes(plan_route(real, origin, destination))
            assert codes[0] == origin.code and codes[-1] == destination.code
            assert len(codes) == len(set(codes)), codes
            assert all(real.post(c).kind == "hub" for c in codes[1:-1]), codes


@pytest.mark.parametrize("origin, destination, expected", [
    ("H140902", "D140000-SJ", ["H140902", "P140900", "P140000", "D140000-SJ"]),
    ("H140105", "D140000-SJ", ["H140105", "P140100", "P140000", "D140000-SJ"]),
    ("H110000", "D140000-SJ", ["H110000", "P110000", "P140000", "D140000-SJ"]),
    ("D140000-SJ", "H140902", ["D140000-SJ", "P140000", "P140900", "H140902"]),
])
def test_a_route_to_or_from_a_provincial_department_goes_through_the_provincial_hub(real, origin, destination,
                                                                                    expected):
    assert _codes(plan_route(real, real.post(origin), real.post(destination))) == expected


def test_a_result_goes_back_along_the_mirror_of_the_outbound_route(real):
    there = _codes(plan_route(real, real.post("H140902"), real.post("D110105-GA")))
    back = _codes(plan_route(real, real.post("D110105-GA"), real.post("H140902")))
    assert back == list(reversed(there))


def test_a_division_is_named_with_the_units_above_it_and_found_by_any_such_name(real):
    assert real.full_name("140105") == "山西省太原市小店区"
    for text in ("140105", "小店区", "太原市小店区", "山西省太原市小店区"):
        assert real.find_places(text) == ["140105"], text
    assert len(real.find_places("城区")) > 1  # 阳泉 and 晋城 each have one
    assert real.find_places("149999") == [] and real.find_places("小店") == []
