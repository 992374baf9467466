"""What offices and supervisors read of postage: an office's monthly statement (邮资结算清单) for its finance
department, and postage per paying office and per matter for the supervisor's statistics.

A packet counts in the month it was handed to the carrier (its first `dispatched` scan, or the carrier's 收寄
event), in Beijing time: that is when postage is owed. A packet made but never sent (cancelled at the window)
costs nothing and is not listed. Packets made before postage was kept carry no payer and are in no statement.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from config import clock
from labels.specs import Party, PostageLine, PostageStatementSpec
from mailing.postage import SOURCE_TITLES, yuan
from mailing.states import PacketKind
from mailing.tables import Packet
from routing.reference import directory as load_directory
from routing.tables import Office
from tracking.model.context import Actor
from tracking.model.errors import bad_request, forbidden, not_found
from tracking.model.lookups import in_scope, supervised_city
from tracking.model.tables import Case
from tracking.reads import rollups
from tracking.reads.documents import division_name
from tracking.reads.statistics import Names, Period, Table
from tracking.reads.statistics import names as office_and_matter_names

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
BASIS = ("计入本月交寄（首次交寄扫描或承运商收寄）且由本单位支付邮资的邮件；已作废未寄出的邮件不计邮资。"
         "计费“按资费标准计算”为按寄递区域和估算重量计得，“承运商计费”为承运商回传的实收金额。")


def money(cents: int) -> Decimal:
    """Yuan with two decimals, a number for tables and CSV cells alike (12.50, never 12.5)."""
    return Decimal(cents).scaleb(-2)


# -- the month ------------------------------------------------------------------------------------------

def parse_month(text: str | None, today: date) -> Period:
    """The calendar month `YYYY-MM` names (Beijing days); the current month when empty."""
    text = (text or "").strip()
    if not text:
        first = today.replace(day=1)
    else:
        found = MONTH.match(text)
        month = int(found.group(2)) if found else 0
        if not found or not 1 <= month <= 12 or not 2000 <= int(found.group(1)) <= 2999:
            raise bad_request("请按 年-月 填写结算月份，例如 2026-03。", "month")
        first = date(int(found.group(1)), month, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period(first, date.fromordinal(following.toordinal() - 1))


# -- who may read an office's statement ---------------------------------------------------------------------

def may_read_statement(actor: Actor, office: Office, directory) -> bool:
    """The office's own clerks and officers, and supervisors over it (its city; without an office, all)."""
    if actor.role in ("clerk", "officer"):
        return actor.office_code == office.code
    if actor.role == "supervisor":
        if not actor.office_code:
            return True
        city = supervised_city(actor, directory)
        return city is not None and directory.city_code(office.division_code) == city
    return False


# -- the statement ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    dispatched_at: datetime
    tracking_no: str
    case_no: str
    matter_code: str
    kind: str
    from_office: str
    to: str                  # the addressee office's name, or the division a home address is in
    weight_grams: int | None
    postage_cents: int
    source: str


@dataclass(frozen=True)
class Statement:
    office: Office
    period: Period
    lines: list[Line]
    names: Names

    @property
    def total_cents(self) -> int:
        return sum(line.postage_cents for line in self.lines)

    @property
    def total_grams(self) -> int:
        return sum(line.weight_grams or 0 for line in self.lines)

    def by(self, key) -> list[tuple[str, int, int]]:
        """(group, packets, cents) in first-seen order."""
        groups: dict[str, list[int]] = {}
        for line in self.lines:
            counts = groups.setdefault(key(line), [0, 0])
            counts[0] += 1
            counts[1] += line.postage_cents
        return [(k, n, cents) for k, (n, cents) in groups.items()]


def _destination(directory, names: Names, packet: Packet) -> str:
    if packet.to_office:
        return names.office(packet.to_office)
    return f"{division_name(directory, packet.to_division)}（个人地址）"


def statement(session: Session, actor: Actor, office_code: str, month: str | None) -> Statement:
    """The packets `office_code` pays for that were handed over in the month, in the order they left."""
    office = session.get(Office, office_code)
    if office is None:
        raise not_found("未找到该机构。")
    directory = load_directory(session)
    if not may_read_statement(actor, office, directory):
        raise forbidden("只有本单位工作人员和所属监督人员可以查看本单位的邮资结算清单。")
    period = parse_month(month, clock.beijing_date())
    names = office_and_matter_names(session)
    rows = session.exec(select(Packet, Case.case_no, Case.matter_code).join(Case, Case.id == Packet.case_id)
                        .where(Packet.postage_payer == office.code, Packet.postage_cents.is_not(None),
                               Packet.dispatched_at >= period.start, Packet.dispatched_at < period.end)
                        .order_by(Packet.dispatched_at, Packet.id))
    lines = [Line(p.dispatched_at, p.tracking_no, case_no, matter, p.kind, p.from_office,
                  _destination(directory, names, p), p.weight_grams, p.postage_cents, p.postage_source or "tariff")
             for p, case_no, matter in rows]
    return Statement(office, period, lines, names)


STATEMENT_HEADER = ["交寄日期", "邮件号", "办件编号", "事项", "事项编码", "邮件类型", "寄出单位", "寄达", "重量（克）",
                    "邮资（元）", "计费方式"]


def statement_table(found: Statement) -> Table:
    """The statement as a table (its CSV), the total last."""
    n = found.names
    table = Table("postage", f"邮资结算清单：{found.office.name}（{found.period.since:%Y年%m月}）", STATEMENT_HEADER,
                  note=BASIS)
    for line in found.lines:
        table.rows.append([clock.beijing(line.dispatched_at).date().isoformat(), line.tracking_no, line.case_no,
                           n.matter(line.matter_code), line.matter_code, PacketKind(line.kind).title,
                           n.office(line.from_office), line.to, line.weight_grams, money(line.postage_cents),
                           SOURCE_TITLES.get(line.source, line.source)])
    table.rows.append(["合计", f"{len(found.lines)} 件", "", "", "", "", "", "", found.total_grams,
                       money(found.total_cents), ""])
    return table


def statement_spec(found: Statement) -> PostageStatementSpec:
    n, office = found.names, found.office
    lines = tuple(PostageLine(clock.beijing(line.dispatched_at).date().isoformat(), line.tracking_no, line.case_no,
                              n.matter(line.matter_code), PacketKind(line.kind).title,
                              f"{n.office(line.from_office)} → {line.to}",
                              "" if line.weight_grams is None else str(line.weight_grams), yuan(line.postage_cents),
                              SOURCE_TITLES.get(line.source, line.source)) for line in found.lines)
    return PostageStatementSpec(
        office=Party(office.name, office.address, office.phone, office.postcode), office_code=office.code,
        month=f"{found.period.since:%Y年%m月}",
        period=f"{found.period.since.isoformat()} 至 {found.period.until.isoformat()}", lines=lines,
        total=yuan(found.total_cents), total_grams=found.total_grams,
        by_source=tuple((SOURCE_TITLES.get(k, k), count, yuan(cents))
                        for k, count, cents in found.by(lambda line: line.source)),
        by_kind=tuple((PacketKind(k).title, count, yuan(cents))
                      for k, count, cents in found.by(lambda line: line.kind)),
        made_at=clock.beijing(clock.now()), basis=BASIS)


# -- statistics --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Charge:
    """One priced packet sent in the period, as the statistics read it. A group of `charges` may stand for
    one side only: payer None (counted per matter) or matter None (per payer)."""
    payer: str | None
    matter_code: str | None
    kind: str
    cents: int
    source: str
    count: int = 1      # packets this row stands for (`charges` groups them; `cents` is their sum)


def charges(session: Session, actor: Actor, period: Period) -> list[Charge]:
    """The priced packets of the cases the actor may see that were handed over in the period, counted and
    summed per payer, matter, kind and source. Where the statistics roll-ups cover the period
    (tracking.model.rollups), per payer and source (matter None) and, apart, per matter and source (payer
    None), kind ""; the days they lack are read from the packets."""
    area = rollups.area_of(actor, load_directory(session))
    cover = rollups.coverage(session, period.since, period.until) if area is not None else None
    if cover is None or not cover.any:
        return _charges_live(session, actor, period)
    found: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for figure, payer_side in (("postage_payer", True), ("postage_matter", False)):
        for code, source, count, cents in rollups.sums(session, figure, area, cover, 2):
            g = found[(code, None) if payer_side else (None, code), source]
            g[0], g[1] = g[0] + count, g[1] + cents
    for since, until in cover.missing:
        for c in _charges_live(session, actor, Period(since, until)):
            for key in ((c.payer, None), (None, c.matter_code)):
                g = found[key, c.source]
                g[0], g[1] = g[0] + c.count, g[1] + c.cents
    return [Charge(payer, matter, "", cents, source, count)
            for ((payer, matter), source), (count, cents) in found.items() if count]


def _charges_live(session: Session, actor: Actor, period: Period) -> list[Charge]:
    """`charges` from the packets: counted and summed in the database (a province's year is millions)."""
    query = in_scope(select(Packet.postage_payer, Case.matter_code, Packet.kind, Packet.postage_source,
                            func.count(), func.sum(Packet.postage_cents)).join(Case, Case.id == Packet.case_id),
                     actor, load_directory(session))
    query = query.where(Packet.postage_cents.is_not(None), Packet.postage_payer.is_not(None),
                        Packet.dispatched_at >= period.start, Packet.dispatched_at < period.end)
    query = query.group_by(Packet.postage_payer, Case.matter_code, Packet.kind, Packet.postage_source)
    return [Charge(payer, matter, kind, int(cents), source or "tariff", count)
            for payer, matter, kind, source, count, cents in session.exec(query)]


def _sums(found: Iterable[Charge], key) -> list[tuple[str, int, int, int]]:
    """(group, packets, cents, of them charged by a carrier), the largest amount first."""
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for c in found:
        if key(c) is None:
            continue  # a group of the other side (`charges`)
        g = groups[key(c)]
        g[0] += c.count
        g[1] += c.cents
        g[2] += c.cents if c.source == "carrier" else 0
    return sorted(((k, *v) for k, v in groups.items()), key=lambda row: (-row[2], row[0]))


def postage_tables(found: Sequence[Charge], n: Names) -> dict[str, Table]:
    """Postage per paying office and per matter, each with its total."""
    note = "计入期间内交寄的邮件；按单位统计时计入支付邮资的单位。金额单位：元。"
    offices = Table("postage_office", "邮资（按支付单位）", ["支付单位", "单位代码", "邮件数", "邮资（元）", "其中承运商计费（元）"],
                    note=note)
    matters = Table("postage_matter", "邮资（按事项）", ["事项", "事项编码", "邮件数", "邮资（元）", "其中承运商计费（元）"],
                    note=note)
    for table, key, name in ((offices, lambda c: c.payer, n.office), (matters, lambda c: c.matter_code, n.matter)):
        table.rows = [[name(k), k, count, money(cents), money(carrier)]
                      for k, count, cents, carrier in _sums(found, key)]
        if table.rows:
            side = [c for c in found if key(c) is not None]
            table.rows.append(["合计", "", sum(c.count for c in side), money(sum(c.cents for c in side)),
                               money(sum(c.cents for c in side if c.source == "carrier"))])
    return {t.name: t for t in (offices, matters)}
