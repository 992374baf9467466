"""Divisions and offices in memory, and the rules that find the owning office and a route.

Plain standard-library code: the tables in `routing.tables` feed it, tests build it directly.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

LEVEL_RANK = {"county": 0, "city": 1, "province": 2}
MUNICIPALITIES = {"110000", "120000", "310000", "500000"}
# GB/T 2260: the first two digits of every province-level unit, and the city digits a code may carry
# (01–70 cities, prefectures and leagues; 90 the county-level units directly under the province).
PROVINCE_PREFIXES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
                               "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
                               "63", "64", "65", "71", "81", "82"})
CITY_DIGITS = frozenset([f"{n:02d}" for n in range(71)] + ["90"])


class RoutingError(Exception):
    """A case cannot be routed; `code` is the contract's error code."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    level: str
    parent_code: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class Post:
    """An office as routing sees it."""
    code: str
    name: str
    kind: str
    division_code: str
    department: str | None = None
    serves: str | None = None
    lat: float = 0.0
    lon: float = 0.0


class Rule(enum.Enum):
    HOUSEHOLD = "household"        # the applicant's household registration (户籍地)
    SUBJECT = "subject"            # the property's or business's place
    REGISTRATION = "registration"  # an organisation's registration place
    FIXED = "fixed"                # a fixed office, written fixed:OFFICE_CODE


def parse_rule(text: str) -> tuple[Rule, str | None]:
    kind, _, office = text.partition(":")
    return Rule(kind), (office or None)


@dataclass
class Directory:
    places: dict[str, Place]
    posts: dict[str, Post]
    _by_division_dept: dict[tuple[str, str], Post] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for post in self.posts.values():
            if post.kind == "department" and post.department:
                self._by_division_dept[(post.division_code, post.department)] = post

    # -- divisions -------------------------------------------------------
    def place(self, code: str | None) -> Place | None:
        return self.places.get(code or "")

    def full_name(self, code: str) -> str:
        """山西省太原市小店区: the division with the names of the units above it."""
        return "".join(self._names_above(code))

    def find_places(self, text: str) -> list[str]:
        """The divisions `text` may mean: a known code, or a name alone or after any of the units above it
        (小店区, 太原市小店区, 山西省太原市小店区). Several codes: a name like 城区 that more than one city has."""
        if text in self.places:
            return [text]
        return [code for code in self.places if text in self._names_for(code)]

    def beyond_reach(self, code: str) -> bool:
        """A well-formed GB/T 2260 code the reference data does not reach yet (310101 上海市黄浦区, a
        Hebei city other than 石家庄): neither it nor its city is listed. An unknown code in a city the
        data lists is a mistyped one (the data lists a city's counties whole), as is a malformed code."""
        if code in self.places or code[:2] not in PROVINCE_PREFIXES or code[2:4] not in CITY_DIGITS:
            return False
        province = self.province_code(code)
        city = province if province in MUNICIPALITIES else code[:4] + "00"
        return city not in self.places

    def _names_above(self, code: str) -> list[str]:
        names, place = [], self.place(code)
        while place is not None:
            names.append(place.name)
            place = self.place(place.parent_code)
        return names[::-1]

    def _names_for(self, code: str) -> set[str]:
        names = self._names_above(code)
        return {"".join(names[i:]) for i in range(len(names))}

    def province_code(self, code: str) -> str:
        return code[:2] + "0000"

    def city_code(self, code: str) -> str | None:
        """The city-level unit a division belongs to; a municipality stands for its own city."""
        province = self.province_code(code)
        if province in MUNICIPALITIES:
            return province
        place = self.place(code)
        if place is None:
            return None
        if place.level == "city":
            return place.code
        if place.level == "county":
            return place.parent_code
        return None

    def division_at_level(self, code: str, level: str) -> str | None:
        place = self.place(code)
        if place is None:
            return None
        if level == "county":
            return place.code if place.level == "county" else None
        if level == "city":
            return self.city_code(code)
        return self.province_code(code)

    # -- offices ---------------------------------------------------------
    def post(self, code: str | None) -> Post | None:
        return self.posts.get(code or "")

    def department_office(self, division_code: str, department: str) -> Post | None:
        return self._by_division_dept.get((division_code, department))

    def hub_serving(self, division_code: str | None) -> Post | None:
        return self.posts.get(f"P{division_code}") if division_code else None


def owning_office(
    directory: Directory,
    *,
    rule: str,
    department: str,
    level: str,
    household_division: str | None = None,
    subject_division: str | None = None,
    registration_division: str | None = None,
) -> Post:
    """The office that has the power to decide, after the matter's jurisdiction rule."""
    kind, fixed = parse_rule(rule)
    if kind is Rule.FIXED:
        post = directory.post(fixed)
        if post is None:
            raise RoutingError("no_owning_office", "该事项的办理部门未登记，无法确定办理地。")
        return post
    if kind is Rule.SUBJECT:
        place, fld = subject_division, "subject.division_code"
        if not place:
            raise RoutingError("missing_subject", "该事项按不动产或经营场所所在地办理，请填写所在地。", "subject")
    elif kind is Rule.REGISTRATION:
        place, fld = registration_division, "applicant.division_code"
    else:
        place, fld = household_division, "applicant.division_code"
    if not place:
        raise RoutingError("no_owning_office", "缺少确定办理地所需的行政区划。", fld)
    target = directory.division_at_level(place, level)
    post = directory.department_office(target, department) if target else None
    if post is None:
        raise RoutingError("no_owning_office", "未找到该地有权办理此事项的部门，暂不能代收。", fld)
    return post


def city_hub(directory: Directory, post: Post) -> Post | None:
    return directory.hub_serving(directory.city_code(post.division_code))


def plan_route(directory: Directory, origin: Post, destination: Post) -> list[Post]:
    """Hall → its city hub → (provincial hub → other province's gateway) → city hub → office."""
    a_city, b_city = city_hub(directory, origin), city_hub(directory, destination)
    stops: list[Post | None] = [origin, a_city]
    if a_city is None or b_city is None or a_city.code != b_city.code:
        a_prov = directory.province_code(origin.division_code)
        b_prov = directory.province_code(destination.division_code)
        stops.append(directory.hub_serving(a_prov))
        if a_prov != b_prov:
            stops.append(directory.hub_serving(b_prov))
    stops += [b_city, destination]
    route: list[Post] = []
    for stop in stops:
        if stop is None:
            continue
        seen = [p.code for p in route]
        if stop.code in seen:  # a loop (e.g. from a provincial hub down to its city's hub and back): cut it
            del route[seen.index(stop.code) + 1:]
        else:
            route.append(stop)
    return route
