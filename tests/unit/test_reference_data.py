"""The reference data files in config/data agree with each other and with the
office code scheme (see config/data/README.md). No database: plain csv/yaml."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parents[2] / "config" / "data"

SHANXI = "140000"
OTHER_CAPITALS = {"110000", "120000", "130100", "150100", "410100", "610100"}
CAPITAL_OF = {"110000": "110000", "120000": "120000", "130000": "130100",
              "140000": "140100", "150000": "150100", "410000": "410100",
              "610000": "610100"}

LEVELS = {"county", "city", "province"}
MODES = {"online", "proxy", "joint"}
APPLICANT_KINDS = {"person", "organisation"}
RESULT_TYPES = {"paper", "electronic"}
PER_CASE_RULES = {"household", "subject", "registration"}
OFFICE_KINDS = {"hall", "department", "hub"}
OFFICE_COLUMNS = ["code", "name", "kind", "division_code", "department", "serves",
                  "address", "postcode", "phone", "lat", "lon"]

PHONE = re.compile(r"^0\d{2,3}-\d{7,8}$")
POSTCODE = re.compile(r"^\d{6}$")
HALL_CODE = re.compile(r"^H(\d{6})$")
DEPARTMENT_CODE = re.compile(r"^D(\d{6})-([A-Z]+)$")
HUB_CODE = re.compile(r"^P(\d{6})$")
MATTER_CODE = re.compile(r"^([A-Z]+)-[A-Z0-9]+-\d{2}$")
MATERIAL_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def read_csv(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def divisions() -> dict[str, dict]:
    return {row["code"]: row for row in read_csv("divisions.csv")}


@pytest.fixture(scope="module")
def departments() -> dict[str, dict]:
    return {row["code"]: row for row in read_csv("departments.csv")}


@pytest.fixture(scope="module")
def office_rows() -> list[dict]:
    return read_csv("offices.csv")


@pytest.fixture(scope="module")
def offices(office_rows) -> dict[str, dict]:
    return {row["code"]: row for row in office_rows}


@pytest.fixture(scope="module")
def matters() -> list[dict]:
    with (DATA / "matters.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def divisions_at_level(divisions: dict[str, dict], level: str) -> set[str]:
    """County: every county-level row. City: every city row plus the
    municipalities (Beijing, Tianjin), which stand in for the city level.
    Province: every province row."""
    codes = {c for c, r in divisions.items() if r["level"] == level}
    if level == "city":
        codes |= {r["parent_code"] for r in divisions.values()
                  if r["level"] == "county" and divisions[r["parent_code"]]["level"] == "province"}
    return codes


# ---------------------------------------------------------------- divisions


def test_every_division_parent_exists(divisions):
    for code, row in divisions.items():
        if row["level"] == "province":
            assert row["parent_code"] == "", code
        else:
            assert row["parent_code"] in divisions, code


def test_municipalities_stand_in_for_the_city_level(divisions):
    assert divisions_at_level(divisions, "city") >= {"110000", "120000", "140100", "130100"}
    assert "130000" not in divisions_at_level(divisions, "city")


# ---------------------------------------------------------------- departments


def test_departments_have_short_uppercase_codes_and_names(departments):
    assert departments
    for code, row in departments.items():
        assert re.fullmatch(r"[A-Z]{2,4}", code), code
        assert row["name"].strip(), code


def test_every_department_is_used_by_a_matter(departments, matters):
    assert set(departments) == {m["department"] for m in matters}


# ---------------------------------------------------------------- matters


def test_matter_codes_are_unique_and_prefixed_with_their_department(matters):
    codes = Counter(m["code"] for m in matters)
    assert not [c for c, n in codes.items() if n > 1]
    for m in matters:
        match = MATTER_CODE.match(m["code"])
        assert match, m["code"]
        assert match.group(1) == m["department"], m["code"]


def test_every_matter_has_a_known_department_and_valid_enumerations(matters, departments):
    for m in matters:
        code = m["code"]
        assert m["name"].strip(), code
        assert m["department"] in departments, code
        assert m["level"] in LEVELS, code
        assert m["modes"] and set(m["modes"]) <= MODES, code
        assert len(set(m["modes"])) == len(m["modes"]), code
        assert m["applicant_kinds"] and set(m["applicant_kinds"]) <= APPLICANT_KINDS, code
        assert m["result_types"] and set(m["result_types"]) <= RESULT_TYPES, code
        rule = m["jurisdiction"]
        assert rule in PER_CASE_RULES or rule.startswith("fixed:"), code


def test_promised_days_are_within_the_legal_limit(matters):
    for m in matters:
        assert isinstance(m["legal_days"], int) and isinstance(m["promised_days"], int), m["code"]
        assert 1 <= m["promised_days"] <= m["legal_days"], m["code"]


def test_materials_have_unique_snake_case_codes_and_boolean_flags(matters):
    for m in matters:
        assert m["materials"], m["code"]
        codes = [mat["code"] for mat in m["materials"]]
        assert len(codes) == len(set(codes)), m["code"]
        for mat in m["materials"]:
            assert {"code", "name", "original", "required"} <= set(mat) <= \
                {"code", "name", "original", "required", "kept", "certified_copy"}, (m["code"], mat)
            assert MATERIAL_CODE.match(mat["code"]), (m["code"], mat["code"])
            assert str(mat["name"]).strip(), (m["code"], mat["code"])
            assert isinstance(mat["original"], bool), (m["code"], mat["code"])
            assert isinstance(mat["required"], bool), (m["code"], mat["code"])
        assert any(mat["required"] for mat in m["materials"]), m["code"]


def test_only_originals_are_kept_or_replaceable_by_a_certified_copy_and_never_both(matters):
    for m in matters:
        for mat in m["materials"]:
            for flag in ("kept", "certified_copy"):
                assert mat.get(flag, False) in (True, False), (m["code"], mat)
                assert not mat.get(flag) or mat["original"], (m["code"], mat["code"], flag)
            assert not (mat.get("kept") and mat.get("certified_copy")), (m["code"], mat["code"])


def test_the_catalogue_says_which_originals_come_back_and_which_the_office_keeps(matters):
    by_code = {m["code"]: {mat["code"]: mat for mat in m["materials"]} for m in matters}
    diploma = by_code["GZ-XLGZ-01"]
    assert not diploma["diploma"].get("kept") and diploma["diploma"]["certified_copy"] is True
    assert diploma["application_form"]["kept"] is True  # the notary's file
    assert by_code["SJ-QYBG-01"]["business_licence"]["kept"] is True  # the old licence is surrendered
    assert by_code["RS-SBK-01"]["old_card"]["kept"] is True
    assert not by_code["BDC-DYDJ-01"]["property_cert"].get("kept")  # seen, annotated and returned
    # every matter's application or registration form is the office's record
    for m, materials in by_code.items():
        for code in ("application_form", "registration_form", "power_of_attorney"):
            if code in materials and materials[code]["original"]:
                assert materials[code].get("kept") is True, (m, code)


def test_the_catalogue_is_large_enough_and_mixed(matters):
    proxy = [m for m in matters if "proxy" in m["modes"]]
    assert len(matters) >= 22
    assert len(proxy) >= 20
    assert len([m for m in proxy if "organisation" in m["applicant_kinds"]]) >= 3
    assert len([m for m in proxy if "person" in m["applicant_kinds"]]) >= 10
    assert len(matters) - len(proxy) >= 2, "some matters must not be proxy eligible"
    rules = Counter(m["jurisdiction"].split(":")[0] for m in matters)
    assert rules["household"] >= 1
    assert rules["subject"] >= 1
    assert rules["registration"] >= 2
    assert rules["fixed"] >= 1
    result_sets = {tuple(sorted(m["result_types"])) for m in matters}
    assert {("paper",), ("electronic",), ("electronic", "paper")} <= result_sets


def test_five_household_move_situations_are_separate_matters(matters):
    moves = [m for m in matters if m["name"].startswith("户口迁移")]
    assert len(moves) >= 5
    assert all(m["department"] == "GA" and "proxy" in m["modes"] for m in moves)


# ---------------------------------------------------------------- offices


def test_offices_file_has_the_expected_columns(office_rows):
    with (DATA / "offices.csv").open(encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == OFFICE_COLUMNS
    assert office_rows


def test_office_codes_are_unique_and_sorted(office_rows):
    codes = [o["code"] for o in office_rows]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)


def test_office_codes_follow_the_scheme(offices, departments):
    for code, o in offices.items():
        assert o["kind"] in OFFICE_KINDS, code
        assert o["name"].strip() and o["address"].strip(), code
        if o["kind"] == "hall":
            match = HALL_CODE.match(code)
            assert match and match.group(1) == o["division_code"], code
            assert o["department"] == "" and o["serves"] == "", code
        elif o["kind"] == "department":
            match = DEPARTMENT_CODE.match(code)
            assert match, code
            assert match.group(1) == o["division_code"], code
            assert match.group(2) == o["department"], code
            assert o["department"] in departments, code
            assert o["serves"] == "", code
        else:
            match = HUB_CODE.match(code)
            assert match and match.group(1) == o["serves"], code
            assert o["department"] == "", code


def test_every_division_code_referenced_exists(offices, divisions, matters):
    for code, o in offices.items():
        assert o["division_code"] in divisions, code
        if o["serves"]:
            assert o["serves"] in divisions, code
    for m in matters:
        if m["jurisdiction"].startswith("fixed:"):
            match = DEPARTMENT_CODE.match(m["jurisdiction"].split(":", 1)[1])
            assert match and match.group(1) in divisions, m["code"]


def test_office_points_are_their_divisions_points(offices, divisions):
    for code, o in offices.items():
        division = divisions[o["division_code"]]
        assert re.fullmatch(r"-?\d+\.\d{4}", o["lat"]) and re.fullmatch(r"-?\d+\.\d{4}", o["lon"]), code
        assert float(o["lat"]) == pytest.approx(float(division["lat"]), abs=1e-4), code
        assert float(o["lon"]) == pytest.approx(float(division["lon"]), abs=1e-4), code


def test_phones_and_postcodes_are_well_formed(offices):
    for code, o in offices.items():
        assert PHONE.match(o["phone"]), (code, o["phone"])
        assert POSTCODE.match(o["postcode"]), (code, o["postcode"])


def test_shanxi_offices_use_shanxi_area_and_postal_codes(offices):
    shanxi_area_codes = {"0349", "0350", "0351", "0352", "0353", "0354", "0355",
                         "0356", "0357", "0358", "0359"}
    for code, o in offices.items():
        if o["division_code"].startswith("14"):
            assert o["phone"].split("-")[0] in shanxi_area_codes, code
            assert o["postcode"][:2] in {"03", "04"}, code


def test_every_shanxi_division_and_other_capital_has_a_hall(offices, divisions):
    expected = {c for c, r in divisions.items()
                if c.startswith("14") and r["level"] in ("city", "county")}
    assert len(expected) == 128
    expected |= OTHER_CAPITALS
    halls = {o["division_code"] for o in offices.values() if o["kind"] == "hall"}
    assert expected <= halls


def test_the_provincial_hall_is_among_the_offices(offices):
    hall = offices["H140000"]
    assert hall["name"] == "山西省政务服务中心" and hall["kind"] == "hall"
    assert hall["division_code"] == SHANXI
    assert hall["address"].startswith("太原市") and hall["phone"].startswith("0351-")
    assert hall["postcode"] == "030000"


def test_department_offices_exist_wherever_a_matter_may_be_decided(offices, divisions, matters):
    missing = []
    for m in matters:
        if m["jurisdiction"] not in PER_CASE_RULES:
            continue
        for division_code in sorted(divisions_at_level(divisions, m["level"])):
            office_code = f"D{division_code}-{m['department']}"
            if office_code not in offices:
                missing.append((m["code"], office_code))
    assert not missing, missing[:10]


def test_fixed_jurisdiction_offices_exist_and_match_the_matter(offices, divisions, matters):
    fixed = [m for m in matters if m["jurisdiction"].startswith("fixed:")]
    assert fixed
    for m in fixed:
        office_code = m["jurisdiction"].split(":", 1)[1]
        assert office_code in offices, m["code"]
        o = offices[office_code]
        assert o["kind"] == "department", m["code"]
        assert o["department"] == m["department"], m["code"]
        assert divisions[o["division_code"]]["level"] == m["level"], m["code"]


def test_department_offices_are_only_where_matters_need_them(offices, divisions, matters):
    needed = set()
    for m in matters:
        if m["jurisdiction"] in PER_CASE_RULES:
            needed |= {f"D{c}-{m['department']}" for c in divisions_at_level(divisions, m["level"])}
        else:
            needed.add(m["jurisdiction"].split(":", 1)[1])
    departments = {c for c, o in offices.items() if o["kind"] == "department"}
    assert departments == needed


def test_every_hub_and_gateway_exists(offices, divisions):
    expected = {}
    for code, row in divisions.items():
        if row["level"] == "city":
            expected[f"P{code}"] = code                 # city hub sits in its city
        elif row["level"] == "province":
            expected[f"P{code}"] = CAPITAL_OF[code]     # provincial hub / gateway sits in the capital
    assert "P140000" in expected and "P140100" in expected and "P110000" in expected
    for hub_code, division_code in expected.items():
        assert hub_code in offices, hub_code
        hub = offices[hub_code]
        assert hub["kind"] == "hub", hub_code
        assert hub["serves"] == hub_code[1:], hub_code
        assert hub["division_code"] == division_code, hub_code
    assert len([o for o in offices.values() if o["kind"] == "hub"]) == 22


def test_offices_file_is_what_the_build_script_writes(tmp_path, monkeypatch):
    """offices.csv is generated: editing it by hand would be lost."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_offices", DATA / "build_offices.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target = tmp_path / "offices.csv"
    monkeypatch.setattr(module, "OFFICES", target)
    module.main()
    assert target.read_text(encoding="utf-8") == (DATA / "offices.csv").read_text(encoding="utf-8")
