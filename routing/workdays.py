"""The official working-day calendar: weekends off except adjusted working days (调休上班),
public holidays off.

The years `chinese_calendar` knows are built in; later years are loaded at run time
from a published-year file (`parse_year_file`). Days of a year with no official
calendar count Monday to Friday, and answers that depend on them say so.
"""
from __future__ import annotations

import functools
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WEEKDAY_NAMES = "一二三四五六日"


@dataclass(frozen=True)
class YearSpec:
    """One published year: its holidays and its adjusted weekend working days."""
    year: int
    holidays: dict[date, str]   # date -> holiday name (e.g. 春节)
    workdays: dict[date, str]   # adjusted weekend working days -> reason


def parse_year_file(text: str) -> YearSpec:
    """Parse a published-year file; ValueError (in Chinese) says what is wrong.

    Format: {"year": 2027, "holidays": {"2027-01-01": "元旦", ...},
    "workdays": {"2027-02-07": "春节调休", ...}}; "workdays" may be left out.
    """
    try:
        data = json.loads(text.lstrip("\ufeff"), object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise ValueError(f"日历文件不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("日历文件应为一个 JSON 对象，包含 year、holidays、workdays")
    unknown = set(data) - {"year", "holidays", "workdays"}
    if unknown:
        raise ValueError(f"日历文件有未知的字段：{'、'.join(sorted(unknown))}")
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 9999:
        raise ValueError(f"year 应为四位年份整数，实际为 {year!r}")
    if "holidays" not in data:
        raise ValueError("日历文件缺少 holidays（放假日期）")
    holidays = _parse_days(data["holidays"], year, "holidays", "放假")
    if not holidays:
        raise ValueError(f"{year} 年的 holidays（放假日期）为空")
    workdays = _parse_days(data.get("workdays", {}), year, "workdays", "调休上班")
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise ValueError(f"{_days_text(both)} 同时出现在放假日期和调休上班日期中")
    weekdays = sorted(d for d in workdays if d.weekday() < 5)
    if weekdays:
        shown = "、".join(f"{d.isoformat()}（星期{_WEEKDAY_NAMES[d.weekday()]}）" for d in weekdays)
        raise ValueError(f"调休上班日期应为周六或周日：{shown} 不是")
    return YearSpec(year, holidays, workdays)


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"日历文件中 {key} 出现了不止一次")
        result[key] = value
    return result


def _parse_days(raw: object, year: int, field: str, meaning: str) -> dict[date, str]:
    if not isinstance(raw, dict):
        raise ValueError(f"{field}（{meaning}）应为对象：{{\"YYYY-MM-DD\": \"名称\"}}")
    days: dict[date, str] = {}
    for key, name in raw.items():
        try:
            if not _ISO_DATE.fullmatch(key):
                raise ValueError
            day = date.fromisoformat(key)
        except ValueError:
            raise ValueError(f"{field}（{meaning}）中的 {key!r} 不是 YYYY-MM-DD 格式的日期") from None
        if day.year != year:
            raise ValueError(f"{field}（{meaning}）中的日期 {key} 不在 {year} 年内")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{field}（{meaning}）中 {key} 的名称应为非空文字")
        days[day] = name.strip()
    return days


def _days_text(days: list[date]) -> str:
    return "、".join(d.isoformat() for d in days)


class WorkCalendar:
    """Working days: official data for `official_years`, Monday to Friday for any other year."""

    def __init__(
        self, holidays: dict[date, str], workdays: dict[date, str], official_years: set[int]
    ) -> None:
        self.official_years: frozenset[int] = frozenset(official_years)
        stray = sorted(d for d in (*holidays, *workdays) if d.year not in self.official_years)
        if stray:
            raise ValueError(f"日期 {_days_text(stray[:5])} 所在年份不在官方日历年份中")
        both = sorted(set(holidays) & set(workdays))
        if both:
            raise ValueError(f"{_days_text(both[:5])} 同时出现在放假日期和调休上班日期中")
        self.holidays: Mapping[date, str] = MappingProxyType(dict(holidays))
        self.workdays: Mapping[date, str] = MappingProxyType(dict(workdays))
        # Only the days that differ from Monday–Friday matter for counting.
        self._off_weekdays = sorted(d.toordinal() for d in holidays if d.weekday() < 5)
        self._on_weekends = sorted(d.toordinal() for d in workdays if d.weekday() >= 5)

    @classmethod
    def official(cls, extra: Iterable[YearSpec] = ()) -> WorkCalendar:
        """chinese_calendar's years, plus `extra` years (which replace its data for those years)."""
        extra = list(extra)
        if not extra:
            return _builtin_calendar()
        holidays, workdays, years = _chinese_calendar_data()
        replaced = {spec.year: spec for spec in extra}  # a later spec for a year wins
        holidays = {d: n for d, n in holidays.items() if d.year not in replaced}
        workdays = {d: n for d, n in workdays.items() if d.year not in replaced}
        for spec in replaced.values():
            holidays.update(spec.holidays)
            workdays.update(spec.workdays)
        return cls(holidays, workdays, set(years) | set(replaced))

    def is_official(self, d: date) -> bool:
        """Whether d's year is covered by an official calendar."""
        return d.year in self.official_years

    def is_working_day(self, d: date) -> bool:
        """Official data where covered; otherwise Monday to Friday."""
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def add_working_days(self, start: date, n: int) -> tuple[date, bool]:
        """The n-th working day after start (start not counted), and whether it is provisional.

        Provisional means some day counted over, in (start, result], lies in a year
        without an official calendar.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = start
        one = timedelta(days=1)
        while n:
            day += one
            if self.is_working_day(day):
                n -= 1
        if day == start:
            return day, False
        years = range((start + one).year, day.year + 1)
        return day, any(y not in self.official_years for y in years)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 if end <= start."""
        if end <= start:
            return 0
        lo, hi = start.toordinal(), end.toordinal()
        return (
            _weekdays_through(hi) - _weekdays_through(lo)
            - (bisect_right(self._off_weekdays, hi) - bisect_right(self._off_weekdays, lo))
            + (bisect_right(self._on_weekends, hi) - bisect_right(self._on_weekends, lo))
        )

    def next_working_day(self, d: date) -> date:
        """The first working day on or after d."""
        one = timedelta(days=1)
        while not self.is_working_day(d):
            d += one
        return d


def _weekdays_through(ordinal: int) -> int:
    """Mondays to Fridays among ordinals 1..ordinal (ordinal 1, 0001-01-01, is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


@functools.cache
def _chinese_calendar_data() -> tuple[dict[date, str], dict[date, str], frozenset[int]]:
    # Imported here so that importing this module stays cheap and the data is built once.
    from chinese_calendar import constants

    chinese = {h.value: h.chinese for h in constants.Holiday}

    def name(value: object) -> str:
        # The data holds the English enum values ("Spring Festival"); show 春节.
        english = str(getattr(value, "value", value))
        return chinese.get(english, english)

    holidays = {d: name(n) for d, n in constants.holidays.items()}
    workdays = {d: name(n) for d, n in constants.workdays.items()}
    years = frozenset(d.year for d in (*holidays, *workdays))
    return holidays, workdays, years


@functools.cache
def _builtin_calendar() -> WorkCalendar:
    holidays, workdays, years = _chinese_calendar_data()
    return WorkCalendar(holidays, workdays, set(years))
