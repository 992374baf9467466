import pytest

from mailing.s10 import (
    WEIGHTS,
    check_digit,
    is_valid_tracking_no,
    make_tracking_no,
    next_prefix,
    prefix_range,
)


def test_weights_are_the_upu_s10_weights():
    assert WEIGHTS == (8, 6, 4, 2, 3, 5, 9, 7)


@pytest.mark.parametrize(
    "serial, expected",
    [
        # 4·8+7·6+3·4+1·2+2·3+4·5+8·9+2·7 = 200; 200 mod 11 = 2; 11−2 = 9
        ("47312482", "9"),
        # 1·8+2·6+3·4+4·2+5·3+6·5+7·9+8·7 = 204; 204 mod 11 = 6; 11−6 = 5
        ("12345678", "5"),
        # 8·7 = 56; 56 mod 11 = 1; 11−1 = 10 → 0
        ("00000008", "0"),
        # 0; 11−0 = 11 → 5
        ("00000000", "5"),
        # 1·8+2·7 = 22; 22 mod 11 = 0; 11 → 5
        ("10000002", "5"),
    ],
)
def test_check_digit_matches_hand_computed_vectors(serial, expected):
    assert check_digit(serial) == expected


def test_check_digit_ten_becomes_zero():
    assert check_digit("00000008") == "0"
    assert make_tracking_no("EA", 8) == "EA000000080CN"


def test_check_digit_eleven_becomes_five():
    assert check_digit("10000002") == "5"
    assert make_tracking_no("EA", 0) == "EA000000005CN"


@pytest.mark.parametrize("serial", ["1234567", "123456789", "1234567a", "１２３４５６７８", "", " 12345678"])
def test_check_digit_refuses_anything_but_eight_ascii_digits(serial):
    with pytest.raises(ValueError):
        check_digit(serial)


def test_make_tracking_no_pads_the_serial_and_appends_check_digit_and_country():
    assert make_tracking_no("RR", 47312482, "GB") == "RR473124829GB"
    assert make_tracking_no("EA", 12345678) == "EA123456785CN"
    assert make_tracking_no("EZ", 99_999_999).startswith("EZ99999999")


@pytest.mark.parametrize(
    "prefix, serial, country",
    [
        ("ea", 1, "CN"),
        ("E", 1, "CN"),
        ("EAA", 1, "CN"),
        ("E1", 1, "CN"),
        ("EA", -1, "CN"),
        ("EA", 100_000_000, "CN"),
        ("EA", "12", "CN"),
        ("EA", True, "CN"),
        ("EA", 1.0, "CN"),
        ("EA", 1, "cn"),
        ("EA", 1, "CHN"),
    ],
)
def test_make_tracking_no_refuses_bad_input(prefix, serial, country):
    with pytest.raises(ValueError):
        make_tracking_no(prefix, serial, country)


def test_every_made_number_is_valid():
    for serial in (0, 1, 8, 9, 47312482, 99_999_999, *range(1000, 1100)):
        assert is_valid_tracking_no(make_tracking_no("EA", serial))


@pytest.mark.parametrize(
    "value",
    [
        "EA000000006CN",   # wrong check digit
        "EA473124828CN",   # 8 where 9 is due
        "ea000000005cn",
        "EA000000005C",
        "EA00000005CN",
        "EA0000000005CN",
        "E1000000005CN",
        "EA000000005CN\n",
        " EA000000005CN",
        "EA 000000005CN",
        "ＥＡ000000005CN",
        "EA００００００００5CN",
        "",
        None,
        12345,
    ],
)
def test_invalid_tracking_numbers_are_refused(value):
    assert not is_valid_tracking_no(value)


def test_valid_tracking_numbers_are_accepted():
    assert is_valid_tracking_no("EA000000005CN")
    assert is_valid_tracking_no("RR473124829GB")


def test_next_prefix_steps_the_second_letter_then_carries():
    assert next_prefix("EA") == "EB"
    assert next_prefix("EZ") == "FA"
    assert next_prefix("AA") == "AB"


def test_next_prefix_refuses_zz_and_bad_prefixes():
    for bad in ("ZZ", "ea", "E", "E1"):
        with pytest.raises(ValueError):
            next_prefix(bad)


def test_prefix_range_is_inclusive_and_crosses_letters():
    assert prefix_range("EA", "EA") == ["EA"]
    assert prefix_range("EX", "FB") == ["EX", "EY", "EZ", "FA", "FB"]
    assert len(prefix_range("AA", "ZZ")) == 676


def test_prefix_range_refuses_a_reversed_or_bad_range():
    with pytest.raises(ValueError):
        prefix_range("EA", "CN")
    with pytest.raises(ValueError):
        prefix_range("EA", "e1")
