"""UPU S10 tracking numbers (邮件号), e.g. ``EA000000005CN``.

Two service letters, an 8-digit serial, a check digit, and the ISO country code.
"""
from __future__ import annotations

import re
import string

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

# [0-9], not \d: \d also matches full-width and other Unicode digits.
_SERIAL = re.compile(r"[0-9]{8}")
_LETTERS2 = re.compile(r"[A-Z]{2}")
_TRACKING_NO = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_ALPHABET = string.ascii_uppercase


def check_digit(serial: str) -> str:
    """The S10 check digit of an 8-digit serial."""
    if not isinstance(serial, str) or not _SERIAL.fullmatch(serial):
        raise ValueError(f"S10 serial must be 8 digits: {serial!r}")
    c = 11 - sum(int(d) * w for d, w in zip(serial, WEIGHTS)) % 11
    if c == 10:
        return "0"
    if c == 11:
        return "5"
    return str(c)


def make_tracking_no(prefix: str, serial: int, country: str = "CN") -> str:
    """Tracking number from its service prefix, serial (0..99999999) and country code."""
    _require_letters(prefix, "prefix")
    _require_letters(country, "country")
    # bool is an int subclass; True as a serial is a bug, not serial 1.
    if not isinstance(serial, int) or isinstance(serial, bool) or not 0 <= serial <= 99_999_999:
        raise ValueError(f"S10 serial must be an integer 0..99999999: {serial!r}")
    digits = f"{serial:08d}"
    return f"{prefix}{digits}{check_digit(digits)}{country}"


def is_valid_tracking_no(value: str) -> bool:
    """Exact S10 format with a correct check digit."""
    if not isinstance(value, str) or not _TRACKING_NO.fullmatch(value):
        return False
    return check_digit(value[2:10]) == value[10]


def next_prefix(prefix: str) -> str:
    """The following two-letter prefix: 'EA' → 'EB', 'EZ' → 'FA'."""
    index = _prefix_index(prefix)
    if index == 26 * 26 - 1:
        raise ValueError("no prefix after 'ZZ'")
    return _prefix_at(index + 1)


def prefix_range(first: str, last: str) -> list[str]:
    """All prefixes from first to last, both included."""
    start, stop = _prefix_index(first), _prefix_index(last)
    if start > stop:
        raise ValueError(f"prefix range is empty: {first!r} > {last!r}")
    return [_prefix_at(i) for i in range(start, stop + 1)]


def _require_letters(value: str, what: str) -> None:
    if not isinstance(value, str) or not _LETTERS2.fullmatch(value):
        raise ValueError(f"S10 {what} must be 2 uppercase letters A-Z: {value!r}")


def _prefix_index(prefix: str) -> int:
    _require_letters(prefix, "prefix")
    return _ALPHABET.index(prefix[0]) * 26 + _ALPHABET.index(prefix[1])


def _prefix_at(index: int) -> str:
    high, low = divmod(index, 26)
    return _ALPHABET[high] + _ALPHABET[low]
