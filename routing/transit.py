"""Transit estimates: the working days each leg of a route takes, and when a packet should be where.

A leg takes at least the service standard for where its two ends lie (same city, same
province, other province) and longer when the distance needs it (`km_per_day`).
Distances are geodesic and computed once per pair of offices per process.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date

from geopy.distance import geodesic

from routing.directory import Directory, Post
from routing.workdays import WorkCalendar

_EPSILON = 1e-9  # 0.5 + 0.5 must count as one day, not a hair more


@dataclass(frozen=True)
class ServiceStandards:
    same_city: float = 0.5
    same_province: float = 1.0
    other_province: float = 2.0
    km_per_day: float = 400.0

    @classmethod
    def from_settings(cls, settings) -> ServiceStandards:
        return cls(settings.transit_same_city_days, settings.transit_same_province_days,
                   settings.transit_other_province_days, settings.transit_km_per_day)


@functools.lru_cache(maxsize=65536)
def distance_km(a: Post, b: Post) -> float:
    """Geodesic distance between two offices (Post is frozen: equal offices share one entry)."""
    return geodesic((a.lat, a.lon), (b.lat, b.lon)).km


ZONES = ("same_city", "same_province", "other_province")


def zone(directory: Directory, division_a: str, division_b: str) -> str:
    """Where two places lie to each other: one of ZONES. The transit standards and the postage tariff
    (mailing.postage) both count by it."""
    city_a, city_b = directory.city_code(division_a), directory.city_code(division_b)
    if city_a is not None and city_a == city_b:
        return "same_city"
    if directory.province_code(division_a) == directory.province_code(division_b):
        return "same_province"
    return "other_province"


def leg_category(directory: Directory, a: Post, b: Post) -> str:
    return zone(directory, a.division_code, b.division_code)


def leg_days(directory: Directory, a: Post, b: Post, standards: ServiceStandards) -> float:
    minimum = getattr(standards, leg_category(directory, a, b))
    return max(minimum, distance_km(a, b) / standards.km_per_day)


@dataclass(frozen=True)
class Schedule:
    stops: list[date]          # expected date at each stop; the first is the start
    arrival: date              # at the addressee (after the last mile for a home address)
    provisional: bool          # some day counted lies in a year without an official calendar


def schedule(directory: Directory, cal: WorkCalendar, stops: list[Post], start: date,
             standards: ServiceStandards, *, last_mile: bool = False) -> Schedule:
    """Expected dates along `stops` for a packet leaving the first stop on `start`.

    `last_mile` adds a same-city leg after the last stop: the delivery from the hub to a home.
    """
    total, dates, provisional = 0.0, [start], False
    for a, b in zip(stops, stops[1:]):
        total += leg_days(directory, a, b, standards)
        day, prov = cal.add_working_days(start, math.ceil(total - _EPSILON))
        dates.append(day)
        provisional |= prov
    arrival = dates[-1]
    if last_mile:
        arrival, prov = cal.add_working_days(start, math.ceil(total + standards.same_city - _EPSILON))
        provisional |= prov
    return Schedule(dates, arrival, provisional)
