import re
from datetime import date

import pytest

from tracking.model.identity import credit_code_check_char, is_valid_credit_code, is_valid_landline, is_valid_mobile, is_valid_resident_id, mask_address, mask_id_number, mask_name, mask_phone, normalize_id_number, resident_id_check_char

TODAY = date(2026, 11, 28)


# --- resident ID ---------------------------------------------------------------


def test_check_char_of_the_gb_11643_example_is_x():
    assert resident_id_check_char("11010519491231002") == "X"


def test_check_char_is_computed_by_iso_7064_mod_11_2():
    # Σ digit×weight mod 11 → "10X98765432"
    assert resident_id_check_char("14010519900307123") == "4"
    assert resident_id_check_char("00000000000000000") == "1"


@pytest.mark.parametrize("bad", ["1401051990030712", "140105199003071234", "1401051990030712a", "１４０１０５１９９００３０７１２３"])
def test_check_char_refuses_anything_but_17_digits(bad):
    with pytest.raises(ValueError):
        resident_id_check_char(bad)


def test_normalize_strips_and_uppercases_a_trailing_x():
    assert normalize_id_number("  14010519900307104x \n") == "14010519900307104X"
    assert normalize_id_number("140105199003071234") == "140105199003071234"


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002X",
        "14010519900307104X",
        "14010519900307104x",     # lower-case x is normalised
        " 140105199003071234 ",
        "14010520000229102X",     # 29 February of a leap year
        "140105190001011237",     # 1 January 1900
        "14010520261128123X",     # born TODAY
        "830000199003071230",     # Taiwan residents' residence permit
    ],
)
def test_valid_resident_ids_are_accepted(value):
    assert is_valid_resident_id(value, today=TODAY)


@pytest.mark.parametrize(
    "value, why",
    [
        ("140105199003071235", "wrong check char"),
        ("14010519900307104Y", "check char neither digit nor X"),
        ("140105199003071X34", "X in the middle"),
        ("X40105199003071234", "X at the start"),
        ("14010519900307123", "17 characters"),
        ("1401051990030712344", "19 characters"),
        ("140105202502301238", "30 February"),
        ("140105190002291234", "1900 was not a leap year"),
        ("440524188001010014", "born 1880, before 1900 (check char is right)"),
        ("140105189912311232", "born 1899"),
        ("140105202612011231", "born after the pinned today"),
        ("190105199003071233", "19 is no province"),
        ("990105199003071232", "99 is no province"),
        ("１４０１０５１９９００３０７１２３４", "full-width digits"),
        ("", "empty"),
    ],
)
def test_invalid_resident_ids_are_refused(value, why):
    assert not is_valid_resident_id(value, today=TODAY), why


def test_a_birth_date_in_the_future_is_refused():
    assert is_valid_resident_id("140105202612011231", today=date(2026, 12, 1))
    assert not is_valid_resident_id("140105202612011231", today=date(2026, 11, 30))


def test_is_valid_resident_id_uses_today_by_default():
    assert is_valid_resident_id("11010519491231002X")
    assert not is_valid_resident_id("14010520990101123X")  # right check char, born 2099


def test_is_valid_resident_id_refuses_non_strings():
    assert not is_valid_resident_id(None)
    assert not is_valid_resident_id(140105199003071234)


# --- credit code ---------------------------------------------------------------


def test_credit_code_example_is_valid():
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert is_valid_credit_code("91350100M000100Y43")


def test_credit_code_is_upper_cased_and_stripped_first():
    assert is_valid_credit_code(" 91350100m000100y43 ")


def test_credit_code_check_char_wraps_31_to_0():
    # Σ value×weight ≡ 0 (mod 31) gives 31 − 0 = 31 → "0"
    assert credit_code_check_char("00000000000000000") == "0"
    assert is_valid_credit_code("000000000000000000")


@pytest.mark.parametrize(
    "value",
    [
        "91350100M000100Y44",   # corrupted check char
        "91350100M000100Y34",   # two characters swapped
        "91350100N000100Y43",   # one character changed
        "91350100I000100Y43",   # I is not in the alphabet
        "91350100O000100Y43",   # neither is O
        "91350100M000100Y4",    # 17 characters
        "91350100M000100Y433",  # 19 characters
        "",
        None,
    ],
)
def test_corrupted_credit_codes_are_refused(value):
    assert not is_valid_credit_code(value)


def test_credit_code_check_char_refuses_letters_outside_the_alphabet():
    with pytest.raises(ValueError):
        credit_code_check_char("91350100S000100Y4")
    with pytest.raises(ValueError):
        credit_code_check_char("91350100M000100Y")


# --- phones --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["13812345678", "19912345678", "16612345678"])
def test_mobiles_are_accepted(value):
    assert is_valid_mobile(value)


@pytest.mark.parametrize(
    "value", ["12812345678", "1381234567", "138123456789", "138-1234-5678", "+8613812345678", "１３８１２３４５６７８", "03514041234", None]
)
def test_non_mobiles_are_refused(value):
    assert not is_valid_mobile(value)


@pytest.mark.parametrize("value", ["0351-4041234", "03514041234", "010-12345678", "01012345678", "0351-40412345"])
def test_landlines_with_area_code_are_accepted(value):
    assert is_valid_landline(value)


@pytest.mark.parametrize("value", ["4041234", "351-4041234", "0351-404123", "0351-404123456", "0351--4041234", "13812345678", None])
def test_landlines_without_area_code_or_wrong_length_are_refused(value):
    assert not is_valid_landline(value)


# --- masking -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, masked",
    [("张", "*"), ("张三", "张*"), ("张小三", "张**"), ("欧阳小明", "欧***"), ("阿卜杜拉·买买提", "阿***"), (" 李四 ", "李*"), ("", "")],
)
def test_mask_name_keeps_only_the_first_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "phone, masked",
    [
        ("13812345678", "138******78"),
        ("138 1234 5678", "138******78"),
        ("010-12345678", "010-******78"),
        ("01012345678", "010-******78"),
        ("0351-40412345", "0351-******45"),
        # a 7-digit local number keeps only one digit, so that six stay hidden
        ("0351-4041234", "0351-******4"),
        ("03514041234", "0351-******4"),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    "phone",
    ["13812345678", "0351-4041234", "03514041234", "010-12345678", "0351-40412345", "+86 138 1234 5678", "400-810-8888", "12345", "95599"],
)
def test_mask_phone_always_hides_at_least_six_digits(phone):
    digits = re.sub(r"[^0-9]", "", phone)
    masked = mask_phone(phone)
    shown = re.sub(r"[^0-9]", "", masked)
    assert masked.count("*") >= min(6, len(digits))
    assert len(shown) <= len(digits) - min(6, len(digits))


def test_mask_id_number_keeps_first_six_and_last_four():
    assert mask_id_number("14010519900307104X") == "140105********104X"
    assert mask_id_number("14010519900307104x") == "140105********104X"


@pytest.mark.parametrize("value", ["14010519900307104X", "140105900307123", "G12345678", "1234", "1"])
def test_mask_id_number_never_returns_the_whole_number(value):
    masked = mask_id_number(value)
    assert masked != value
    assert "*" in masked
    assert len(masked) == len(value)


def test_mask_id_number_hides_the_birth_date():
    assert "19900307" not in mask_id_number("14010519900307104X")


@pytest.mark.parametrize(
    "address, masked",
    [
        ("太原市小店区幸福路12号3号楼2单元501室", "太原市小店区幸福路12号"),
        ("忻州市忻府区和平街8号院2-301", "忻州市忻府区和平街8号院"),
        ("幸福路12号501", "幸福路12号"),
        ("幸福路12号3-2-501", "幸福路12号"),
        ("幸福路12-1号3单元502", "幸福路12-1号"),
        ("幸福路12号院5号楼", "幸福路12号院"),
        ("阳光小区5栋1单元1201", "阳光小区"),
        ("阳光小区5幢302室", "阳光小区"),
        ("阳光小区3#楼2-501", "阳光小区"),
        ("阳光小区三号楼二单元501", "阳光小区"),
        ("国贸大厦A座1201", "国贸大厦"),
        ("国贸大厦 1201", "国贸大厦"),
        ("国贸大厦B1201", "国贸大厦"),
        ("国贸大厦12层1201", "国贸大厦"),
        ("国贸大厦5楼", "国贸大厦"),
        ("人民路100弄5号1201室", "人民路100弄5号"),
        ("迎泽大街１２号３号楼", "迎泽大街１２号"),
        ("幸福路12号，5栋", "幸福路12号"),
        ("郑州市二七区大学路12号", "郑州市二七区大学路12号"),
        ("和平街8号院", "和平街8号院"),
        ("幸福路12-13号", "幸福路12-13号"),
    ],
)
def test_mask_address_cuts_the_building_unit_and_room(address, masked):
    assert mask_address(address) == masked


@pytest.mark.parametrize(
    "address, room",
    [
        ("太原市小店区幸福路12号3号楼2单元501室", "501"),
        ("忻州市忻府区和平街8号院2-301", "301"),
        ("幸福路12号3-2-501", "501"),
        ("阳光小区5栋1单元1201", "1201"),
        ("国贸大厦A座1201", "1201"),
        ("国贸大厦 1201", "1201"),
        ("幸福路12号807", "807"),
        ("阳光小区3#楼2-501", "501"),
        ("阳光小区11栋602号房", "602"),
    ],
)
def test_mask_address_never_keeps_the_room_number(address, room):
    assert room not in mask_address(address)
