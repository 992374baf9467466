"""People's and organisations' identifiers, and masking for anything printed on a packet.

Resident ID numbers (GB 11643, ISO 7064 MOD 11-2), unified social credit codes
(GB 32100-2015), phone numbers, and the GB/T 41833-2022 masking of name, phone
and address on packet exteriors.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

_BEIJING = timezone(timedelta(hours=8))

# --- resident ID (居民身份证号码) -------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# [0-9], not \d: \d also matches full-width and other Unicode digits.
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# Province-level codes of GB/T 2260; 83 is the Taiwan residents' residence permit,
# which carries an ID number of the same form.
_PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)


def normalize_id_number(value: str) -> str:
    """Strip surrounding spaces and upper-case a trailing check character x."""
    value = value.strip()
    if value.endswith("x"):
        value = value[:-1] + "X"
    return value


def resident_id_check_char(first17: str) -> str:
    """Check character (0-9 or X) for the first 17 digits of a resident ID."""
    if not isinstance(first17, str) or not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError(f"expected 17 digits: {first17!r}")
    return _ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def is_valid_resident_id(value: str, *, today: date | None = None) -> bool:
    """An 18-character resident ID with a correct check character and a real birth date.

    `today` (default: today in Beijing) bounds the birth date; tests pin it.
    """
    if not isinstance(value, str):
        return False
    value = normalize_id_number(value)
    if not _ID_SHAPE.fullmatch(value):
        return False
    if int(value[:2]) not in _PROVINCE_CODES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if today is None:
        today = datetime.now(_BEIJING).date()
    if not date(1900, 1, 1) <= born <= today:
        return False
    return resident_id_check_char(value[:17]) == value[17]


# --- unified social credit code (统一社会信用代码) ---------------------------

_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_VALUE = {c: i for i, c in enumerate(_CREDIT_ALPHABET)}


def credit_code_check_char(first17: str) -> str:
    """Check character for the first 17 characters of a credit code (GB 32100-2015)."""
    if (
        not isinstance(first17, str)
        or len(first17) != 17
        or any(c not in _CREDIT_VALUE for c in first17)
    ):
        raise ValueError(f"expected 17 credit-code characters: {first17!r}")
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(value: str) -> bool:
    """18 characters of the credit-code alphabet with a correct check character."""
    if not isinstance(value, str):
        return False
    value = value.strip().upper()
    if len(value) != 18 or any(c not in _CREDIT_VALUE for c in value):
        return False
    return credit_code_check_char(value[:17]) == value[17]


# --- phones ------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"(0[0-9]{2,3})(-?)([0-9]{7,8})")
_PHONE_HIDDEN = 6


def is_valid_mobile(value: str) -> bool:
    """An 11-digit mainland mobile number."""
    return isinstance(value, str) and _MOBILE.fullmatch(value) is not None


def is_valid_landline(value: str) -> bool:
    """A landline with its area code, e.g. 0351-4041234 or 03514041234."""
    return isinstance(value, str) and _LANDLINE.fullmatch(value) is not None


# --- masking (GB/T 41833-2022) -------------------------------------------------


def mask_name(name: str) -> str:
    """Keep the first character, star the rest (at least one, at most three stars)."""
    name = name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * min(len(name) - 1, 3)


def mask_phone(phone: str) -> str:
    """Hide six digits: 13812345678 → 138******78, 0351-4041234 → 0351-******4."""
    compact = re.sub(r"\s+", "", phone)
    if is_valid_mobile(compact.replace("-", "")):
        digits = compact.replace("-", "")
        return digits[:3] + "*" * _PHONE_HIDDEN + digits[-2:]
    if is_valid_landline(compact):
        area, local = _split_landline(compact)
        # The first six local digits go: a 7-digit number keeps only its last digit.
        return f"{area}-{'*' * _PHONE_HIDDEN}{local[_PHONE_HIDDEN:]}"
    return _mask_digits(compact)


def _split_landline(value: str) -> tuple[str, str]:
    match = _LANDLINE.fullmatch(value)
    assert match is not None
    if match.group(2):
        return match.group(1), match.group(3)
    # Without a hyphen the split is ambiguous; only Beijing (010) and 02x use
    # three-digit area codes, every other area code has four.
    cut = 3 if value.startswith(("010", "02")) else 4
    return value[:cut], value[cut:]


def _mask_digits(value: str) -> str:
    """Unknown phone format: keep at most 3 leading and 2 trailing digits, hide ≥ 6."""
    digits = re.sub(r"[^0-9]", "", value)
    n = len(digits)
    hidden = min(n, max(_PHONE_HIDDEN, n - 5))
    tail = min(2, n - hidden)
    head = n - hidden - tail
    return digits[:head] + "*" * hidden + digits[n - tail:]


def mask_id_number(value: str) -> str:
    """18-character ID: first 6 and last 4 kept, 8 hidden; any other length is hidden more."""
    value = normalize_id_number(value)
    n = len(value)
    if n == 18:
        return value[:6] + "*" * 8 + value[-4:]
    # Old 15-digit numbers, passports and other documents: never show the whole.
    head, tail = min(6, n // 3), min(4, n // 4)
    return value[:head] + "*" * (n - head - tail) + value[n - tail:]


def mask_credit_code(value: str) -> str:
    """18-character credit code: first 8 and last 4 kept, 6 hidden."""
    return value[:8] + "*" * 6 + value[-4:]


_NUM = r"[0-9０-９]+"
_CN_NUM = r"[零〇一二三四五六七八九十百两]+"
_LETTER = r"[A-Za-zＡ-Ｚａ-ｚ]"
_DASH = r"[-－–—]"
# Where the building/unit/room part of an address starts. Everything from the
# earliest match on is cut.
_UNIT_MARKERS = re.compile(
    "|".join(
        [
            # building, unit, floor, room: 3号楼, 5栋, 2单元, 12层, 501室, 5楼
            rf"{_NUM}\s*(?:号楼|号栋|号幢|号房|栋|幢|座|单元|室|层|楼|房|户)",
            # the same in Chinese numerals (三号楼, 二单元), fewer suffixes: 百户村 is a village
            rf"{_CN_NUM}(?:号楼|号栋|号幢|栋|幢|单元|室|层|楼)",
            # 3#楼, 3#
            rf"{_NUM}\s*[#＃]",
            # A座, B栋, C幢
            rf"{_LETTER}\s*(?:座|栋|幢|单元)",
            # 2-301, 3-2-501; but not a house number like 12-1号 (12-1号楼 is a building)
            rf"{_NUM}(?:\s*{_DASH}\s*{_NUM})+(?![0-9０-９])(?!\s*号(?!楼|栋|幢|房|室))",
            # digits right after a house number or compound: 12号501, 8号院2-301
            rf"(?<=号){_LETTER}?{_NUM}",
            rf"(?<=号院)\s*{_LETTER}?{_NUM}",
            # a bare number at the end is a room: XX大厦 1201
            rf"(?<![0-9０-９]){_LETTER}?{_NUM}\s*$",
        ]
    )
)
_TRAILING_JUNK = " \t\u3000,，、;；:：-－–—#＃(（"


def mask_address(address: str) -> str:
    """Keep the address down to street and house number; drop building, unit and room."""
    address = address.strip()
    match = _UNIT_MARKERS.search(address)
    if match:
        address = address[: match.start()]
    return address.rstrip(_TRAILING_JUNK)
