"""Build offices.csv from divisions.csv, departments.csv and matters.yaml.

Run from anywhere:  python config/data/build_offices.py

The output is deterministic (no randomness, no clock) and sorted by code, so
running it twice gives the same file. See README.md in this folder for the
office code scheme. Names follow the usual Chinese naming of each kind of
office; street numbers and phone numbers are plausible but fictional.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DIVISIONS = HERE / "divisions.csv"
DEPARTMENTS = HERE / "departments.csv"
MATTERS = HERE / "matters.yaml"
OFFICES = HERE / "offices.csv"

COLUMNS = ["code", "name", "kind", "division_code", "department", "serves",
           "address", "postcode", "phone", "lat", "lon"]

# Rules whose office depends on a division given per case: a department
# office must exist at every division of the matter's level.
PER_CASE_RULES = {"household", "subject", "registration"}

SHANXI = "140000"

# The capital of each province in the data (a municipality is its own capital).
CAPITALS = {
    "110000": "110000", "120000": "120000", "130000": "130100", "140000": "140100",
    "150000": "150100", "410000": "410100", "610000": "610100",
}

# Where a city-level (or municipality-level) office sits: the district of the
# municipal government. Used only to write the street address.
SEATS = {
    "110000": "110112",  # 北京 通州区 (城市副中心)
    "120000": "120101",  # 天津 和平区
    "130100": "130102",  # 石家庄 长安区
    "140100": "140107",  # 太原 杏花岭区
    "140200": "140213",  # 大同 平城区
    "140300": "140302",  # 阳泉 城区
    "140400": "140403",  # 长治 潞州区
    "140500": "140502",  # 晋城 城区
    "140600": "140602",  # 朔州 朔城区
    "140700": "140702",  # 晋中 榆次区
    "140800": "140802",  # 运城 盐湖区
    "140900": "140902",  # 忻州 忻府区
    "141000": "141002",  # 临汾 尧都区
    "141100": "141102",  # 吕梁 离石区
    "150100": "150105",  # 呼和浩特 赛罕区
    "410100": "410102",  # 郑州 中原区
    "610100": "610112",  # 西安 未央区
}

# Long-distance area codes (长途区号) by city (or municipality), and how many
# digits a local number has there.
AREA_CODES = {
    "110000": ("010", 8), "120000": ("022", 8), "130100": ("0311", 8),
    "140100": ("0351", 7), "140200": ("0352", 7), "140300": ("0353", 7),
    "140400": ("0355", 7), "140500": ("0356", 7), "140600": ("0349", 7),
    "140700": ("0354", 7), "140800": ("0359", 7), "140900": ("0350", 7),
    "141000": ("0357", 7), "141100": ("0358", 7),
    "150100": ("0471", 7), "410100": ("0371", 8), "610100": ("029", 8),
}

# Postal codes (邮政编码). Cities and municipalities carry the city's code;
# county-level divisions their own. A division not listed falls back to its
# city's code; a province uses its capital's.
POSTCODES = {
    # 北京
    "110000": "100000", "110101": "100010", "110102": "100032", "110105": "100020",
    "110106": "100071", "110107": "100043", "110108": "100089", "110109": "102300",
    "110111": "102488", "110112": "101100", "110113": "101300", "110114": "102200",
    "110115": "102600", "110116": "101400", "110117": "101200", "110118": "101500",
    "110119": "102100",
    # 天津
    "120000": "300000", "120101": "300041", "120102": "300171", "120103": "300202",
    "120104": "300100", "120105": "300143", "120106": "300131", "120110": "300300",
    "120111": "300380", "120112": "300350", "120113": "300400", "120114": "301700",
    "120115": "301800", "120116": "300450", "120117": "301500", "120118": "301600",
    "120119": "301900",
    # 石家庄
    "130100": "050000", "130102": "050011", "130104": "050091", "130105": "050051",
    "130107": "050100", "130108": "050031", "130109": "052160", "130110": "050200",
    "130111": "051430", "130121": "050300", "130123": "050800", "130125": "050600",
    "130126": "050500", "130127": "051330", "130128": "052560", "130129": "051230",
    "130130": "052460", "130131": "050400", "130132": "051130", "130133": "051530",
    "130181": "052360", "130183": "052200", "130184": "050700",
    # 太原
    "140100": "030000", "140105": "030032", "140106": "030002", "140107": "030009",
    "140108": "030003", "140109": "030024", "140110": "030025", "140121": "030400",
    "140122": "030100", "140123": "030300", "140181": "030200",
    # 大同
    "140200": "037000", "140212": "037002", "140213": "037008", "140214": "037001",
    "140215": "037300", "140221": "038100", "140222": "038200", "140223": "037500",
    "140224": "034400", "140225": "037400", "140226": "037100",
    # 阳泉
    "140300": "045000", "140302": "045000", "140303": "045000", "140311": "045011",
    "140321": "045200", "140322": "045100",
    # 长治
    "140400": "046000", "140403": "046000", "140404": "047100", "140405": "046100",
    "140406": "047500", "140423": "046200", "140425": "047400", "140426": "047600",
    "140427": "047300", "140428": "046600", "140429": "046300", "140430": "046400",
    "140431": "046500",
    # 晋城
    "140500": "048000", "140502": "048000", "140521": "048200", "140522": "048100",
    "140524": "048300", "140525": "048012", "140581": "048400",
    # 朔州
    "140600": "036000", "140602": "036002", "140603": "038600", "140621": "036900",
    "140622": "037600", "140623": "037200", "140681": "038300",
    # 晋中
    "140700": "030600", "140702": "030600", "140703": "030800", "140721": "031800",
    "140722": "032600", "140723": "032700", "140724": "045300", "140725": "045400",
    "140727": "030900", "140728": "031100", "140729": "031300", "140781": "032000",
    # 运城
    "140800": "044000", "140802": "044000", "140821": "044100", "140822": "044200",
    "140823": "043800", "140824": "043200", "140825": "043100", "140826": "043600",
    "140827": "043700", "140828": "044400", "140829": "044300", "140830": "044600",
    "140881": "044500", "140882": "043300",
    # 忻州
    "140900": "034000", "140902": "034000", "140921": "035400", "140922": "035500",
    "140923": "034200", "140924": "034300", "140925": "036700", "140926": "035100",
    "140927": "036100", "140928": "036200", "140929": "036300", "140930": "036500",
    "140931": "036600", "140932": "036400", "140981": "034100",
    # 临汾
    "141000": "041000", "141002": "041000", "141021": "043400", "141022": "043500",
    "141023": "041500", "141024": "041600", "141025": "042400", "141026": "042500",
    "141027": "042600", "141028": "042200", "141029": "042100", "141030": "042300",
    "141031": "041300", "141032": "041400", "141033": "041200", "141034": "031500",
    "141081": "043000", "141082": "031400",
    # 吕梁
    "141100": "033000", "141102": "033000", "141121": "032100", "141122": "030500",
    "141123": "033600", "141124": "033200", "141125": "033300", "141126": "032500",
    "141127": "033500", "141128": "033100", "141129": "033400", "141130": "032400",
    "141181": "032300", "141182": "032200",
    # 呼和浩特
    "150100": "010000", "150102": "010010", "150103": "010030", "150104": "010020",
    "150105": "010020", "150121": "010100", "150122": "010200", "150123": "011500",
    "150124": "011600", "150125": "011700",
    # 郑州
    "410100": "450000", "410102": "450007", "410103": "450052", "410104": "450000",
    "410105": "450003", "410106": "450041", "410108": "450053", "410122": "451450",
    "410181": "451200", "410182": "450100", "410183": "452370", "410184": "451100",
    "410185": "452470",
    # 西安
    "610100": "710000", "610102": "710004", "610103": "710001", "610104": "710003",
    "610111": "710038", "610112": "710014", "610113": "710061", "610114": "710087",
    "610115": "710600", "610116": "710100", "610117": "710200", "610118": "710300",
    "610122": "710500", "610124": "710400",
}

# Department office names: the division's name followed by this suffix
# (忻州市 + 住房公积金管理中心). The public security (GA) offices of districts
# are branches of the city bureau and are named by gongan_name() instead.
SUFFIXES = {
    "GA": "公安局户政科",
    "RS": "人力资源和社会保障局",
    "YB": "医疗保障局",
    "GJJ": "住房公积金管理中心",
    "SJ": "市场监督管理局",
    "BDC": "不动产登记中心",
    "GZ": "公证处",
    "HB": "生态环境局",
}

# Offices whose usual name does not follow the pattern.
NAME_OVERRIDES = {
    "D110000-GJJ": "北京住房公积金管理中心",
    "D110000-GZ": "北京市长安公证处",
    "D120000-GZ": "天津市北方公证处",
}

STREETS = ["人民路", "建设路", "解放路", "和平街", "迎宾路", "府前街", "新建路",
           "文化路", "朝阳街", "振兴路", "光明路", "育才路", "胜利街", "滨河路",
           "中心街", "府西街", "长安街", "政务路"]
HUB_STREETS = ["物流园路", "邮政路", "通达街", "货运路"]


def digest(text: str) -> int:
    """A stable number derived from text (the same on every machine and run)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16)


class Divisions:
    def __init__(self, rows: list[dict]):
        self.rows = {row["code"]: row for row in rows}

    def __getitem__(self, code: str) -> dict:
        return self.rows[code]

    def at_level(self, level: str) -> list[str]:
        """Division codes standing at a handling level.

        A municipality (a province-level row with county-level children of its
        own) stands in for the city level as well.
        """
        if level == "city":
            cities = [c for c, r in self.rows.items() if r["level"] == "city"]
            return sorted(cities + self.municipalities())
        return sorted(c for c, r in self.rows.items() if r["level"] == level)

    def municipalities(self) -> list[str]:
        parents = {r["parent_code"] for r in self.rows.values() if r["level"] == "county"}
        return sorted(c for c in parents if self.rows[c]["level"] == "province")

    def city_of(self, code: str) -> str:
        """The city (or municipality) a division belongs to; a province maps to its capital."""
        row = self.rows[code]
        if row["level"] == "county":
            return row["parent_code"]
        if row["level"] == "province":
            return CAPITALS[code]
        return code

    def province_of(self, code: str) -> str:
        return code[:2] + "0000"

    def is_district(self, code: str) -> bool:
        row = self.rows[code]
        return row["level"] == "county" and row["name"].endswith("区")

    def full_name(self, code: str) -> str:
        """忻州市忻府区 for a district, 定襄县 for a county, 忻州市 for a city."""
        row = self.rows[code]
        if self.is_district(code):
            return self.rows[row["parent_code"]]["name"] + row["name"]
        return row["name"]

    def place(self, code: str) -> str:
        """The city-and-district prefix of a street address in this division."""
        row = self.rows[code]
        if row["level"] == "county":
            if row["name"].endswith("市"):  # a county-level city: 古交市
                return row["name"]
            return self.rows[row["parent_code"]]["name"] + row["name"]
        seat = SEATS[self.city_of(code)]
        city = self.rows[self.city_of(code)]["name"]
        return city + self.rows[seat]["name"]

    def postcode(self, code: str) -> str:
        if self.rows[code]["level"] == "province":
            code = CAPITALS[code]
        return POSTCODES.get(code) or POSTCODES[self.city_of(code)]


def short_city(name: str) -> str:
    """太原市 -> 太原 (for hub names)."""
    return name[:-1] if name.endswith("市") else name


def gongan_name(divs: Divisions, code: str) -> str:
    """忻州市公安局忻府分局户政科; 定襄县公安局户政科; 北京市公安局东城分局户政科."""
    row = divs[code]
    if not divs.is_district(code):
        return divs.full_name(code) + SUFFIXES["GA"]
    name = row["name"]
    # 小店区 -> 小店分局; keep very short or compound names whole (城区分局, 滨海新区分局).
    short = name[:-1] if len(name) >= 3 and not name.endswith(("新区", "回族区")) else name
    return f"{divs[row['parent_code']]['name']}公安局{short}分局户政科"


def department_name(divs: Divisions, code: str, department: str) -> str:
    office_code = f"D{code}-{department}"
    if office_code in NAME_OVERRIDES:
        return NAME_OVERRIDES[office_code]
    if department == "GA":
        return gongan_name(divs, code)
    return divs.full_name(code) + SUFFIXES[department]


def address(divs: Divisions, office_code: str, division_code: str, hub: bool = False) -> str:
    h = digest(office_code)
    streets = HUB_STREETS if hub else STREETS
    street = streets[h % len(streets)]
    number = 1 + (h // 97) % 298
    return f"{divs.place(division_code)}{street}{number}号"


def phone(divs: Divisions, office_code: str, division_code: str) -> str:
    area, length = AREA_CODES[divs.city_of(division_code)]
    h = digest("phone:" + office_code)
    first = "2345678"[h % 7]
    rest = str(h // 7)[-(length - 1):].rjust(length - 1, "0")
    return f"{area}-{first}{rest}"


def office(divs: Divisions, code: str, name: str, kind: str, division_code: str,
           department: str = "", serves: str = "") -> dict:
    row = divs[division_code]
    return {
        "code": code,
        "name": name,
        "kind": kind,
        "division_code": division_code,
        "department": department,
        "serves": serves,
        "address": address(divs, code, division_code, hub=(kind == "hub")),
        "postcode": divs.postcode(division_code),
        "phone": phone(divs, code, division_code),
        "lat": f"{float(row['lat']):.4f}",
        "lon": f"{float(row['lon']):.4f}",
    }


def halls(divs: Divisions) -> list[dict]:
    """A 政务服务中心 for Shanxi (the provincial hall), every Shanxi city and county, and one in each
    other capital."""
    codes = [c for c, r in divs.rows.items()
             if c.startswith("14") and r["level"] in ("province", "city", "county")]
    codes += [CAPITALS[p] for p in CAPITALS if p != SHANXI]
    return [office(divs, f"H{c}", divs.full_name(c) + "政务服务中心", "hall", c)
            for c in codes]


def needed_departments(matters: list[dict]) -> tuple[set[tuple[str, str]], set[str]]:
    """(department, level) pairs needed everywhere, and fixed office codes."""
    per_level, fixed = set(), set()
    for matter in matters:
        rule = matter["jurisdiction"]
        if rule in PER_CASE_RULES:
            per_level.add((matter["department"], matter["level"]))
        elif rule.startswith("fixed:"):
            fixed.add(rule.split(":", 1)[1])
        else:
            raise ValueError(f"{matter['code']}: unknown jurisdiction rule {rule!r}")
    return per_level, fixed


def department_offices(divs: Divisions, matters: list[dict], known: set[str]) -> list[dict]:
    per_level, fixed = needed_departments(matters)
    pairs = {(c, dept) for dept, level in per_level for c in divs.at_level(level)}
    for office_code in fixed:
        division_code, dept = office_code[1:].split("-", 1)
        pairs.add((division_code, dept))
    unknown = {dept for _, dept in pairs} - known
    if unknown:
        raise ValueError(f"departments missing from departments.csv: {sorted(unknown)}")
    return [office(divs, f"D{c}-{dept}", department_name(divs, c, dept), "department", c, dept)
            for c, dept in pairs]


def hubs(divs: Divisions) -> list[dict]:
    """City hubs, Shanxi's provincial hub, and each other province's gateway."""
    result = []
    for code, row in divs.rows.items():
        if row["level"] == "city":
            result.append(office(divs, f"P{code}", short_city(row["name"]) + "邮件处理中心",
                                 "hub", code, serves=code))
        elif row["level"] == "province":
            name = row["name"]
            if code in divs.municipalities():
                name = short_city(name)  # 北京邮件处理中心
            result.append(office(divs, f"P{code}", name + "邮件处理中心",
                                 "hub", CAPITALS[code], serves=code))
    return result


def build() -> list[dict]:
    with DIVISIONS.open(encoding="utf-8", newline="") as f:
        divs = Divisions(list(csv.DictReader(f)))
    with DEPARTMENTS.open(encoding="utf-8", newline="") as f:
        known = {row["code"] for row in csv.DictReader(f)}
    with MATTERS.open(encoding="utf-8") as f:
        matters = yaml.safe_load(f)
    offices = halls(divs) + department_offices(divs, matters, known) + hubs(divs)
    codes = [o["code"] for o in offices]
    if len(codes) != len(set(codes)):
        raise ValueError("duplicate office codes")
    return sorted(offices, key=lambda o: o["code"])


def main() -> None:
    offices = build()
    with OFFICES.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(offices)
    kinds = {}
    for o in offices:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    summary = ", ".join(f"{n} {k}s" for k, n in sorted(kinds.items()))
    print(f"wrote {len(offices)} offices ({summary}) to {OFFICES.name}")


if __name__ == "__main__":
    main()
