"""What supervisors read: the overdue board, volumes, median times per stage and ratings, over the cases
their office may see (the same scope as every case list: `views.in_scope`).

The queries read plain rows; the arithmetic (medians, shares, counts, tables, CSV) is pure functions below
them, tested without a database. Nothing here is stored: every figure is computed when it is asked for."""
from __future__ import annotations

import csv
import io
import statistics as stats
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Integer, String, and_, cast, func, literal, or_, union_all
from sqlalchemy import case as sa_case
from sqlalchemy.orm import load_only
from sqlmodel import Session, select

from config import clock
from config.settings import Settings
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Packet
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.model.context import Actor
from tracking.model.deadlines import CASE_FIELDS, STEP_FIELDS, STAGE_TITLES, STAGES, late_stages, overdue_cases, overdue_query, packets_by_case
from tracking.model.lookups import in_scope
from tracking.model.states import BAD_SCORE, RATED_STAGES, SCORE_TITLES, CaseStatus
from tracking.model.rollups import (beijing_date_sql, bucket_bounds, bucket_sql, group_bucket_bounds, group_bucket_sql,
                                    hours_sql, stage_office_sql, stage_union)
from tracking.model.tables import Case, Evaluation
from tracking.reads import rollups

FOLLOW_UP_TITLES = {"open": "待整改", "done": "已整改"}
# the overdue board: the case's stages, and a bad rating's follow-up (due follow_up_days after the rating)
FOLLOW_UP = "follow_up"
BOARD_STAGES = (*STAGES, FOLLOW_UP)
BOARD_TITLES = {**STAGE_TITLES, FOLLOW_UP: "差评整改"}
SCOPES = {"cross": "跨省通办", "province": "省内通办"}

# The stages whose elapsed time is measured: (key, title, the office that answers for it). The collecting
# office sends the packet; the time it travels is counted to the sender's side as well, since that is the
# office that chose the hand-over; everything after receipt is the owning office's.
TIMED_STAGES = (("collection_dispatch", "收件→寄出", "collecting"),
                ("transit", "寄出→签收（途中）", "collecting"),
                ("receipt_accept", "签收→受理", "owning"),
                ("accept_decide", "受理→办结", "owning"),
                ("decide_deliver", "办结→送达", "owning"))
TIMED_TITLES = {key: title for key, title, _ in TIMED_STAGES}
GROUPINGS = {"office": "按单位", "matter": "按事项"}
DEFAULT_DAYS = 30
MEDIAN_PRECISION = ("已完成日汇总的日期，中位数由各环节用时分档统计得出，误差不超过所在分档宽度的一半："
                    "48 小时以内 0.5 小时，30 天以内 3 小时，更长 12 小时。")
# per office and per matter the buckets widen by 20% each (tracking.model.rollups.group_bucket_of)
GROUP_MEDIAN_PRECISION = ("已完成日汇总的日期，中位数由各环节用时分档统计得出，误差不超过中位数的 10% 另加"
                          " 0.5 小时。")
MAX_DAYS = 366
SHORT_DAYS = 7  # a live period this short is grouped by pairs of offices (`_volumes_live`)


# -- the period ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Beijing calendar days from `since` to `until`, both included."""
    since: date
    until: date

    @property
    def start(self) -> datetime:
        return clock.start_of_day(self.since)

    @property
    def end(self) -> datetime:
        return clock.start_of_day(self.until + timedelta(days=1))

    def __contains__(self, at: datetime | date | None) -> bool:
        if at is None:
            return False
        if isinstance(at, datetime):
            return self.start <= clock.beijing(at) < self.end
        return self.since <= at <= self.until


def default_period(today: date, days: int = DEFAULT_DAYS) -> Period:
    """The last `days` days, today included."""
    return Period(today - timedelta(days=days - 1), today)


def parse_date(text: str | None) -> date | None:
    """A YYYY-MM-DD date, None when empty; ValueError when it is something else."""
    text = (text or "").strip()
    return date.fromisoformat(text) if text else None


def parse_period(since: str | None, until: str | None, today: date) -> tuple[Period, dict[str, str]]:
    """The period a form asked for, and the errors in it ({field: message}); with errors, the default."""
    errors: dict[str, str] = {}
    fallback = default_period(today)
    dates = {}
    for name, text in (("since", since), ("until", until)):
        try:
            dates[name] = parse_date(text)
        except ValueError:
            errors[name] = "请按 年-月-日 填写日期，例如 2026-03-02。"
    if errors:
        return fallback, errors
    end = dates["until"] or today
    start = dates["since"] or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        return fallback, {"since": "开始日期不能晚于结束日期。"}
    if (end - start).days + 1 > MAX_DAYS:
        return fallback, {"since": f"统计期间最长 {MAX_DAYS} 天，请缩短期间。"}
    return Period(start, end), {}


# -- pure arithmetic -------------------------------------------------------------------------------

def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return stats.median(values) if values else None


def hours_between(start: datetime, end: datetime) -> float:
    """Elapsed hours (nights and holidays included), whatever time zone each side was read in."""
    return (clock.beijing(end) - clock.beijing(start)).total_seconds() / 3600


def share(part: int, whole: int) -> float | None:
    """`part` of `whole` in per cent, one decimal; None of nothing."""
    return round(100 * part / whole, 1) if whole else None


def rounded(value: float | None, decimals: int = 1) -> float | None:
    return None if value is None else round(value, decimals)


def count_by(items: Iterable, key: Callable) -> list[tuple[str, int]]:
    """(key, count), the largest first; ties in key order."""
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[key(item)] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class CaseFacts:
    """The times of one case that the statistics read."""
    case_no: str
    matter_code: str
    collecting_office: str
    owning_office: str
    status: str
    intake_date: date
    created_at: datetime
    dispatched_at: datetime | None = None     # the first dispatch of the outbound packet
    received_at: datetime | None = None
    accepted_at: datetime | None = None
    deemed_accepted: bool = False
    decided_at: datetime | None = None
    delivered_at: datetime | None = None
    due_date: date | None = None              # the date promised to the applicant
    cross_province: bool = False              # collected in one province for an office in another

    @property
    def decided_on_time(self) -> bool:
        """Decided by the promised date (按期办结)."""
        return self.decided_at is not None and self.due_date is not None \
            and clock.beijing_date(self.decided_at) <= self.due_date

    def office_for(self, stage: str) -> str:
        side = next(s for key, _, s in TIMED_STAGES if key == stage)
        return self.collecting_office if side == "collecting" else self.owning_office


def intervals(f: CaseFacts) -> list[tuple[str, datetime, float]]:
    """(stage, when it ended, hours it took) for each timed stage the case has finished. An acceptance
    deemed by law is not the office's act: it has no receipt→accepted time of its own."""
    pairs = [("collection_dispatch", f.created_at, f.dispatched_at),
             ("transit", f.dispatched_at, f.received_at),
             ("receipt_accept", f.received_at, None if f.deemed_accepted else f.accepted_at),
             ("accept_decide", f.accepted_at, f.decided_at),
             ("decide_deliver", f.decided_at, f.delivered_at)]
    return [(stage, end, max(0.0, hours_between(start, end))) for stage, start, end in pairs
            if start is not None and end is not None]


def registered_in(facts: Iterable[CaseFacts], period: Period) -> list[CaseFacts]:
    return [f for f in facts if f.intake_date in period]


def median_times(facts: Iterable[CaseFacts], period: Period,
                 group: Callable[[CaseFacts, str], str] | None = None) -> dict[str, dict[str, tuple[float, int]]]:
    """{group: {stage: (median hours, number of cases)}} over the stages that ENDED in the period (a stage
    belongs to the period it was finished in, as a decision belongs to the day it was made). Without
    `group`, everything is one group, "". `group(facts, stage)` may depend on the stage (the office that
    answers for it)."""
    found: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for f in facts:
        for stage, end, hours in intervals(f):
            if end in period:
                found[group(f, stage) if group else ""][stage].append(hours)
    return {g: {stage: (median(hours), len(hours)) for stage, hours in by_stage.items()}
            for g, by_stage in found.items()}


def histogram_median(counts: dict[int, int], bounds: Callable[[int], tuple[float, float]]) -> tuple[float, int] | None:
    """(median, count) of durations counted per bucket ({bucket: n}; `bounds` gives a bucket's [low, high)
    hours): the middle of the bucket holding the middle value, of an even count the mean of the two middles'
    buckets. None of nothing."""
    total = sum(counts.values())
    if total <= 0:
        return None
    ranks, middles, cum = {(total + 1) // 2, (total + 2) // 2}, [], 0
    for bucket in sorted(counts):
        n = counts[bucket]
        for rank in ranks:
            if cum < rank <= cum + n:
                low, high = bounds(bucket)
                middles.append((low + high) / 2)
        cum += n
    return sum(middles) / len(middles), total


def by_office(f: CaseFacts, stage: str) -> str:
    return f.office_for(stage)


def by_matter(f: CaseFacts, stage: str) -> str:
    return f.matter_code


@dataclass(frozen=True)
class Rating:
    at: datetime
    case_no: str
    score: int
    comment: str
    matter_code: str
    owning_office: str
    follow_up_status: str | None = None
    follow_up_note: str | None = None       # what the office did, once done
    followed_up_at: datetime | None = None
    follow_up_office: str | None = None     # the office the rating is routed to
    stage: str = "office"                   # the stage it is about (states.RATED_STAGES)
    count: int = 1                          # the ratings this row stands for (>1: a group from `rating_groups`)


@dataclass(frozen=True)
class RatingSummary:
    count: int
    average: float | None
    bad_share: float | None   # per cent
    open_follow_ups: int


def summarise(ratings: Sequence[Rating]) -> RatingSummary:
    # integer sums divided once: the same float as fmean over the single scores
    count = sum(r.count for r in ratings)
    total = sum(r.score * r.count for r in ratings)
    return RatingSummary(count=count, average=rounded(total / count, 2) if count else None,
                         bad_share=share(sum(r.count for r in ratings if r.score <= BAD_SCORE), count),
                         open_follow_ups=sum(r.count for r in ratings if r.follow_up_status == "open"))


def summarise_by(ratings: Iterable[Rating], key: Callable[[Rating], str]) -> list[tuple[str, RatingSummary]]:
    """Each group's summary, the most rated first."""
    groups: dict[str, list[Rating]] = defaultdict(list)
    for r in ratings:
        groups[key(r)].append(r)
    return sorted(((k, summarise(v)) for k, v in groups.items()), key=lambda kv: (-kv[1].count, kv[0]))


def score_distribution(ratings: Iterable[Rating]) -> list[tuple[int, int]]:
    """(score, count) for every score from 5 down to 1, zeros included."""
    counts = {s: 0 for s in SCORE_TITLES}
    for r in ratings:
        counts[r.score] = counts.get(r.score, 0) + r.count
    return sorted(counts.items(), reverse=True)


def on_time_rate(facts: Iterable[CaseFacts], period: Period) -> tuple[int, int, float | None]:
    """(decided in the period, of them by the promised date, 按期办结率 in per cent)."""
    decided = [f for f in facts if f.decided_at in period]
    on_time = sum(f.decided_on_time for f in decided)
    return len(decided), on_time, share(on_time, len(decided))


def follow_up_rate(ratings: Iterable[Rating]) -> tuple[int, int, float | None]:
    """(bad ratings, of them followed up, 差评整改率 in per cent)."""
    bad = [r for r in ratings if r.score <= BAD_SCORE]
    done = sum(r.count for r in bad if r.follow_up_status == "done")
    return sum(r.count for r in bad), done, share(done, sum(r.count for r in bad))


def scope_volumes(facts: Iterable[CaseFacts], period: Period) -> list[tuple[str, int]]:
    """(跨省通办 | 省内通办, cases registered in the period), both always listed."""
    registered = registered_in(facts, period)
    cross = sum(f.cross_province for f in registered)
    return [(SCOPES["cross"], cross), (SCOPES["province"], len(registered) - cross)]


@dataclass(frozen=True)
class OverdueItem:
    """One stage of one case open past its due date."""
    case_no: str
    matter_code: str
    status: str
    collecting_office: str
    owning_office: str
    stage: str
    office_code: str        # who answers for the stage
    due: date
    days_late: int          # calendar days from the due date to the day looked at

    @property
    def stage_title(self) -> str:
        return BOARD_TITLES[self.stage]


def overdue_counts(items: Iterable[OverdueItem]) -> dict[str, dict[str, int]]:
    """{responsible office: {stage: count}}."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {s: 0 for s in BOARD_STAGES})
    for item in items:
        counts[item.office_code][item.stage] += 1
    return dict(counts)


def stage_totals(items: Iterable[OverdueItem]) -> dict[str, int]:
    totals = {s: 0 for s in BOARD_STAGES}
    for item in items:
        totals[item.stage] += 1
    return totals


def filter_overdue(items: Iterable[OverdueItem], stage: str | None = None,
                   office: str | None = None) -> list[OverdueItem]:
    return [i for i in items if (not stage or i.stage == stage) and (not office or i.office_code == office)]


# -- tables (for the page and for CSV alike) -------------------------------------------------------

@dataclass
class Table:
    """A table as shown and as exported: Chinese headers, rows of plain values (None: no figure)."""
    name: str
    caption: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""


CSV_UNSAFE = ("=", "+", "-", "@", "|", "\t", "\r", "\n")


def csv_cell(value) -> str | int | float:
    """A value as a CSV cell. Text a spreadsheet would run as a formula (=, +, -, @, | (DDE), tab, CR or LF
    first) gets a leading apostrophe (OWASP: CSV injection); numbers stay numbers. Spreadsheets read the
    full-width ＝＋－＠｜ as their ASCII forms and may skip leading spaces, so both are looked through."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    first = unicodedata.normalize("NFKC", text[:16]).lstrip(" ")  # U+3000 folds to a space
    return "'" + text if text.startswith(CSV_UNSAFE) or first.startswith(CSV_UNSAFE) else text


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese as Chinese; CRLF rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(h) for h in table.header])
    for row in table.rows:
        writer.writerow([csv_cell(v) for v in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


class Names:
    """Office and matter names for the tables (a code stands for itself when it is unknown)."""

    def __init__(self, offices: dict[str, str], matters: dict[str, str]):
        self.offices, self.matters = offices, matters

    def office(self, code: str | None) -> str:
        return self.offices.get(code or "", code or "")

    def matter(self, code: str | None) -> str:
        return self.matters.get(code or "", code or "")


def names(session: Session) -> Names:
    directory = load_directory(session)
    return Names({code: post.name for code, post in directory.posts.items()},
                 {m.code: m.name for m in session.exec(select(Matter))})


def overdue_tables(items: Sequence[OverdueItem], listed: Sequence[OverdueItem], n: Names,
                   counts: dict[str, dict[str, int]] | None = None) -> dict[str, Table]:
    counts = overdue_counts(items) if counts is None else counts
    order = sorted(counts, key=lambda office: (-sum(counts[office].values()), office))
    by_office = Table("counts", "各环节超期数（按负责单位）",
                      ["负责单位", "单位代码", *(BOARD_TITLES[s] for s in BOARD_STAGES), "合计"])
    for office in order:
        row = [counts[office][s] for s in BOARD_STAGES]
        by_office.rows.append([n.office(office), office, *row, sum(row)])
    if order:
        totals = {s: sum(counts[office][s] for office in order) for s in BOARD_STAGES}
        by_office.rows.append(["合计", "", *(totals[s] for s in BOARD_STAGES), sum(totals.values())])
    cases = Table("cases", "超期办件", ["办件编号", "事项", "办件状态", "超期环节", "负责单位", "应完成日期", "已超期（天）",
                                     "收件单位", "办理单位"])
    for i in listed:
        cases.rows.append([i.case_no, n.matter(i.matter_code), CaseStatus(i.status).title, i.stage_title,
                           n.office(i.office_code), i.due.isoformat(), i.days_late,
                           n.office(i.collecting_office), n.office(i.owning_office)])
    return {t.name: t for t in (by_office, cases)}


@dataclass(frozen=True)
class Volumes:
    """The cases registered in the period: (code, count) by collecting office, owning office and matter, the
    largest first (`count_by`), and how many of them were collected in another province than their owner's."""
    by_collecting: list[tuple[str, int]]
    by_owning: list[tuple[str, int]]
    by_matter: list[tuple[str, int]]
    total: int
    cross_province: int


def volumes_of(facts: Iterable[CaseFacts], period: Period) -> Volumes:
    registered = registered_in(facts, period)
    return Volumes(count_by(registered, lambda f: f.collecting_office), count_by(registered, lambda f: f.owning_office),
                   count_by(registered, lambda f: f.matter_code), len(registered),
                   sum(f.cross_province for f in registered))


def volume_tables(facts: Sequence[CaseFacts], period: Period, by: str, n: Names) -> dict[str, Table]:
    return volume_tables_of(volumes_of(facts, period), by, n)


def volume_tables_of(volumes: Volumes, by: str, n: Names) -> dict[str, Table]:
    if by == "matter":
        table = Table("volume_matter", "收件量（按事项）", ["事项", "事项编码", "收件量"])
        table.rows = [[n.matter(code), code, count] for code, count in volumes.by_matter]
        return {table.name: table}
    collecting = Table("volume_collecting", "收件量（按收件单位）", ["收件单位", "单位代码", "收件量"])
    collecting.rows = [[n.office(code), code, count] for code, count in volumes.by_collecting]
    owning = Table("volume_owning", "收件量（按办理单位）", ["办理单位", "单位代码", "收件量"])
    owning.rows = [[n.office(code), code, count] for code, count in volumes.by_owning]
    return {t.name: t for t in (collecting, owning)}


def scope_table(facts: Sequence[CaseFacts], period: Period) -> Table:
    return scope_table_of(volumes_of(facts, period))


def scope_table_of(volumes: Volumes) -> Table:
    table = Table("volume_scope", "收件量（跨省通办与省内通办）", ["范围", "收件量", "占比（%）"],
                  note="跨省通办：收件单位与办理单位不在同一省份。")
    total, cross = volumes.total, volumes.cross_province
    table.rows = [[scope, count, share(count, total)]
                  for scope, count in ((SCOPES["cross"], cross), (SCOPES["province"], total - cross))]
    return table


@dataclass(frozen=True)
class Decided:
    """The decisions made in the period by one owning office in one matter, and of them those on time."""
    owning_office: str
    matter_code: str
    count: int
    on_time: int


def decided_of(facts: Iterable[CaseFacts], period: Period) -> list[Decided]:
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for f in facts:
        if f.decided_at in period:
            c = counts[f.owning_office, f.matter_code]
            c[0] += 1
            c[1] += f.decided_on_time
    return [Decided(owning, matter, count, on_time) for (owning, matter), (count, on_time) in counts.items()]


def decided_rate(decided: Iterable[Decided]) -> tuple[int, int, float | None]:
    """`on_time_rate` over groups."""
    decided = list(decided)
    count, on_time = sum(d.count for d in decided), sum(d.on_time for d in decided)
    return count, on_time, share(on_time, count)


def rates_table(facts: Sequence[CaseFacts], ratings: Sequence[Rating], period: Period, by: str, n: Names) -> Table:
    return rates_table_of(decided_of(facts, period), ratings, by, n)


def rates_table_of(decided: Sequence[Decided], ratings: Sequence[Rating], by: str, n: Names) -> Table:
    """按期办结率 and 差评整改率 per office (decisions under the owning office, bad ratings under the
    office they are routed to) or per matter, with the whole scope's figures last."""
    if by == "matter":
        decided_key, rating_key, first, name = (lambda d: d.matter_code), (lambda r: r.matter_code), "事项", n.matter
    else:
        decided_key, rating_key = (lambda d: d.owning_office), (lambda r: r.follow_up_office or r.owning_office)
        first, name = "单位", n.office
    table = Table("rates", f"按期办结率与差评整改率（{GROUPINGS[by]}）",
                  [first, "事项编码" if by == "matter" else "单位代码", "办结数", "按期办结数", "按期办结率（%）",
                   "差评数", "已整改", "差评整改率（%）"],
                  note="按期办结：在承诺办结日期当天或之前作出决定（计入决定所在期间）。"
                       "差评整改率：期间内的差评中已回访整改的比例；按单位统计时计入评价所转交的单位。")
    decided_by, ratings_by = defaultdict(list), defaultdict(list)
    for d in decided:
        decided_by[decided_key(d)].append(d)
    for r in ratings:
        ratings_by[rating_key(r)].append(r)
    for group in sorted(set(decided_by) | set(ratings_by), key=lambda g: (name(g), g)):
        count, on_time, rate = decided_rate(decided_by[group])
        bad, done, done_rate = follow_up_rate(ratings_by[group])
        if count or bad:
            table.rows.append([name(group), group, count, on_time, rate, bad, done, done_rate])
    if table.rows:
        table.rows.append(["合计", "", *decided_rate(decided), *follow_up_rate(ratings)])
    return table


def median_table(facts: Sequence[CaseFacts], period: Period, by: str, n: Names) -> Table:
    return median_table_of(median_times(facts, period, by_matter if by == "matter" else by_office), by, n)


def median_table_of(found: dict[str, dict[str, tuple[float, int]]], by: str, n: Names) -> Table:
    """One row per office (or matter), for each stage its median hours and the number of cases measured:
    `found` is what `median_times` (or `stage_medians`) gives."""
    first = "事项" if by == "matter" else "负责单位"
    header = [first, "事项编码" if by == "matter" else "单位代码"]
    for _, title, _ in TIMED_STAGES:
        header += [f"{title}（中位数，小时）", f"{title}（件数）"]
    table = Table("medians", f"各环节用时中位数（{GROUPINGS[by]}，单位：小时）", header,
                  note="每个环节计入其完成日所在的期间；时间按自然小时计（含夜间和节假日）。"
                       "收件→寄出、途中计入收件单位，其余环节计入办理单位；视为受理的办件不计签收→受理用时。"
                       + GROUP_MEDIAN_PRECISION)
    name = n.matter if by == "matter" else n.office
    for group in sorted(found, key=lambda g: (name(g), g)):
        row = [name(group), group]
        for stage, _, _ in TIMED_STAGES:
            value, count = found[group].get(stage, (None, 0))
            row += [rounded(value), count]
        table.rows.append(row)
    return table


def overall_medians(facts: Sequence[CaseFacts], period: Period) -> list[tuple[str, str, float | None, int]]:
    """(stage, title, median hours, count) over everything in scope."""
    return overall_medians_of(median_times(facts, period).get("", {}))


def overall_medians_of(found: dict[str, tuple[float, int]]) -> list[tuple[str, str, float | None, int]]:
    return [(stage, title, rounded(found.get(stage, (None, 0))[0]), found.get(stage, (None, 0))[1])
            for stage, title, _ in TIMED_STAGES]


def rating_tables(ratings: Sequence[Rating], by: str, n: Names) -> dict[str, Table]:
    dist = Table("scores", "评价等级分布", ["评价等级", "分值", "评价数"])
    dist.rows = [[SCORE_TITLES[s], s, count] for s, count in score_distribution(ratings)]
    if by == "matter":
        groups = summarise_by(ratings, lambda r: r.matter_code)
        summary = Table("ratings", "好差评（按事项）", ["事项", "事项编码", "评价数", "平均分", "差评占比（%）", "待整改"])
        name = n.matter
    else:
        groups = summarise_by(ratings, lambda r: r.owning_office)
        summary = Table("ratings", "好差评（按办理单位）", ["办理单位", "单位代码", "评价数", "平均分", "差评占比（%）", "待整改"])
        name = n.office
    summary.note = f"差评：{BAD_SCORE} 分及以下（不满意、非常不满意），须由所评环节的负责单位回访整改。"
    summary.rows = [[name(k), k, s.count, s.average, s.bad_share, s.open_follow_ups] for k, s in groups]
    return {t.name: t for t in (dist, summary)}


def ratings_list_table(ratings: Sequence[Rating], n: Names) -> Table:
    table = Table("ratings", "评价记录", ["评价时间", "办件编号", "分值", "评价等级", "事项", "办理单位", "评价内容", "整改状态",
                                                "整改情况", "整改时间", "评价环节", "整改单位"])
    for r in ratings:
        table.rows.append([clock.beijing(r.at).strftime("%Y-%m-%d %H:%M"), r.case_no, r.score, SCORE_TITLES[r.score],
                           n.matter(r.matter_code), n.office(r.owning_office), r.comment,
                           FOLLOW_UP_TITLES.get(r.follow_up_status or "", ""), r.follow_up_note or "",
                           clock.beijing(r.followed_up_at).strftime("%Y-%m-%d %H:%M") if r.followed_up_at else "",
                           RATED_STAGES.get(r.stage, r.stage), n.office(r.follow_up_office) if r.follow_up_office else ""])
    return table


def exceptions_table(exceptions: Sequence[dict], n: Names) -> Table:
    """The rows of `views.list_exceptions`."""
    table = Table("exceptions", "异常件", ["发生时间", "邮件号", "办件编号", "原因", "说明", "登记单位", "邮件当前状态", "处理办法"])
    for e in exceptions:
        try:
            status = PacketStatus(e["packet_status"]).title
        except ValueError:
            status = e["packet_status"]
        table.rows.append([clock.beijing(datetime.fromisoformat(e["at"])).strftime("%Y-%m-%d %H:%M"),
                           e["tracking_no"], e["case_no"], e.get("reason_text") or e.get("reason") or "",
                           e.get("note") or "", n.office(e.get("office_code")) if e.get("office_code") else "",
                           status, e.get("next_step") or ""])
    return table


# -- queries -----------------------------------------------------------------------------------------

def overdue_items(session: Session, settings: Settings, actor: Actor, as_of: date) -> list[OverdueItem]:
    """Every stage open past its due date as of `as_of`, over the cases the actor may see, the longest
    overdue first. Computed on each request from the cases and their packets (about 100 µs a case, so
    some tenths of a second for a city's active cases): nothing is stored, and the figure is never stale."""
    query = in_scope(select(Case), actor, load_directory(session)).order_by(Case.id)
    items = [OverdueItem(case.case_no, case.matter_code, case.status, case.collecting_office, case.owning_office,
                         s.stage, s.office_code, s.due, (as_of - s.due).days)
             for case, late in overdue_cases(session, settings, query, as_of) for s in late]
    items += overdue_follow_ups(session, actor, as_of)
    return sorted(items, key=lambda i: (i.due, i.case_no, BOARD_STAGES.index(i.stage)))


@dataclass
class OverdueBoard:
    """The overdue board without reading every overdue case: counts grouped in the database through the
    stored deadlines' indexes, and the first `limit` items of the (filtered) list."""
    counts: dict[str, dict[str, int]]   # {responsible office: {stage: count}}
    totals: dict[str, int]              # {stage: count}
    cases: int                          # distinct cases with a stage overdue
    listed: list[OverdueItem]           # the earliest due first, at most `limit`
    total_listed: int                   # items the filters keep


def _group_key(column):
    """An office column as a GROUP BY key that no index can serve. Else SQLite reads a whole office index, for
    the order of its groups, instead of the overdue cases through the due dates' index: 13 ms against 0.6 ms
    at 100k cases with 568 overdue. The same result on both databases."""
    return (column + literal("")).label(column.key)


def _stage_office(stage: str):
    return Case.collecting_office if stage == "dispatch" else Case.owning_office


def overdue_board(session: Session, settings: Settings, actor: Actor, as_of: date, stage: str = "",
                  office: str = "", limit: int = 300) -> OverdueBoard:
    """What `overdue_items` gives, counted and paged in the database: the same figures at any size."""
    directory = load_directory(session)
    scoped = in_scope(select(Case), actor, directory)
    late = overdue_query(scoped, as_of)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {s: 0 for s in BOARD_STAGES})
    # summed per office in the database, over the overdue cases' covering index (ix_case_open_stage): a row
    # per office comes back (grouping by both offices and the stages' flags returned about one per case)
    late_at = {name: func.sum(sa_case((getattr(Case, f"open_due_{name}") < as_of, 1), else_=0)) for name in STAGES}
    collecting_office, owning_office = _group_key(Case.collecting_office), _group_key(Case.owning_office)
    for collecting, n in session.execute(late.with_only_columns(collecting_office, late_at["dispatch"])
                                         .group_by(collecting_office)).all():
        if n:
            counts[collecting]["dispatch"] += n
    owned = [name for name in STAGES if name != "dispatch"]
    cases = 0  # the overdue cases: each is counted once, under its owning office
    for owning, n, *stage_counts in session.execute(
            late.with_only_columns(owning_office, func.count(), *(late_at[name] for name in owned))
            .group_by(owning_office)).all():
        cases += n
        for name, k in zip(owned, stage_counts):
            if k:
                counts[owning][name] += k
    follow_ups = overdue_follow_ups(session, actor, as_of)
    for item in follow_ups:
        counts[item.office_code][FOLLOW_UP] += 1
    totals = {s: sum(c[s] for c in counts.values()) for s in BOARD_STAGES}
    cases += len({i.case_no for i in follow_ups}
                 - set(session.exec(late.with_only_columns(Case.case_no)
                                    .where(Case.case_no.in_({i.case_no for i in follow_ups}))).all()))
    # the list: the first `limit` cases by the filtered stage's due date give the first `limit` items
    stages = [stage] if stage in STAGES else [] if stage == FOLLOW_UP else list(STAGES)
    total_listed = sum(n for code, row in counts.items() if not office or code == office
                       for s, n in row.items() if not stage or s == stage)
    items: list[OverdueItem] = []
    if stages:
        query = late
        if stage in STAGES:
            query = query.where(getattr(Case, f"open_due_{stage}") < as_of)
        if office:
            query = query.where(or_(*(and_(_stage_office(s) == office, getattr(Case, f"open_due_{s}") < as_of)
                                      for s in stages)))
        due = getattr(Case, f"open_due_{stage}") if stage in STAGES else Case.open_stage_due
        page = list(session.exec(query.order_by(due, Case.case_no).limit(limit).options(load_only(*CASE_FIELDS, *STEP_FIELDS))))
        items = [OverdueItem(case.case_no, case.matter_code, case.status, case.collecting_office,
                             case.owning_office, s.stage, s.office_code, s.due, (as_of - s.due).days)
                 for case, found in late_stages(session, settings, page, as_of) for s in found]
    items += follow_ups
    listed = filter_overdue(items, stage, office)
    listed.sort(key=lambda i: (i.due, i.case_no, BOARD_STAGES.index(i.stage)))
    return OverdueBoard(dict(counts), totals, cases, listed[:limit], total_listed)


def overdue_follow_ups(session: Session, actor: Actor, as_of: date) -> list[OverdueItem]:
    """Bad ratings still not followed up after their last day, as stage `follow_up` of the office they
    are routed to. Whatever the case's status: a delivered case waits for its follow-up."""
    query = in_scope(select(Evaluation, Case.case_no, Case.matter_code, Case.status, Case.collecting_office,
                            Case.owning_office).join(Case, Case.id == Evaluation.case_id), actor, load_directory(session))
    rows = session.exec(query.where(Evaluation.follow_up_status == "open", Evaluation.follow_up_due < as_of))
    return [OverdueItem(case_no, matter, status, collecting, owning, FOLLOW_UP, e.follow_up_office, e.follow_up_due,
                        (as_of - e.follow_up_due).days)
            for e, case_no, matter, status, collecting, owning in rows]


_FACT_FIELDS = (Case.id, Case.case_no, Case.matter_code, Case.collecting_office, Case.owning_office, Case.status,
                Case.intake_date, Case.created_at, Case.received_at, Case.accepted_at, Case.deemed_accepted,
                Case.decided_at, Case.delivered_at, Case.due_date)


def case_facts(session: Session, actor: Actor, period: Period) -> list[CaseFacts]:
    """The cases the actor may see that were registered in the period or finished a timed stage in it."""
    start, end = period.start, period.end
    dispatched = select(Packet.case_id).where(Packet.kind == PacketKind.OUTBOUND.value,
                                              Packet.dispatched_at >= start, Packet.dispatched_at < end)
    directory = load_directory(session)
    query = in_scope(select(Case), actor, directory).options(load_only(*_FACT_FIELDS)).where(
        Case.intake_date.between(period.since, period.until)
        | Case.received_at.between(start, end) | Case.accepted_at.between(start, end)
        | Case.decided_at.between(start, end) | Case.delivered_at.between(start, end)
        | Case.id.in_(dispatched))
    cases = list(session.exec(query.order_by(Case.id)))
    packets = packets_by_case(session, [c.id for c in cases])

    def first_dispatch(case_id: int) -> datetime | None:
        times = [p.dispatched_at for p in packets[case_id]
                 if p.kind == PacketKind.OUTBOUND.value and p.dispatched_at is not None]
        return min(times, key=clock.beijing) if times else None

    def province(code: str) -> str | None:
        post = directory.post(code)
        return post.division_code[:2] if post else None

    return [CaseFacts(c.case_no, c.matter_code, c.collecting_office, c.owning_office, c.status, c.intake_date,
                      c.created_at, first_dispatch(c.id), c.received_at, c.accepted_at, c.deemed_accepted,
                      c.decided_at, c.delivered_at, c.due_date,
                      province(c.collecting_office) != province(c.owning_office)) for c in cases]


def ratings(session: Session, actor: Actor, period: Period | None = None, *, only_bad: bool = False,
            only_open: bool = False, limit: int | None = None) -> list[Rating]:
    """Evaluations of the cases the actor may see, the newest first."""
    query = in_scope(select(Evaluation, Case.case_no, Case.matter_code, Case.owning_office)
                      .join(Case, Case.id == Evaluation.case_id), actor, load_directory(session))
    if period is not None:
        query = query.where(Evaluation.at >= period.start, Evaluation.at < period.end)
    if only_bad:
        query = query.where(Evaluation.score <= BAD_SCORE)
    if only_open:
        query = query.where(Evaluation.follow_up_status == "open")
    query = query.order_by(Evaluation.at.desc(), Evaluation.id.desc())
    if limit:
        query = query.limit(limit)
    return [Rating(e.at, case_no, e.score, e.comment, matter, owning, e.follow_up_status, e.follow_up_note,
                   e.followed_up_at, e.follow_up_office, e.stage)
            for e, case_no, matter, owning in session.exec(query)]


# -- the same figures from SQL aggregates ------------------------------------------------------------
# A province's year is millions of cases: the database groups and counts them, and only the groups (office
# x matter x ...) come back. Each figure keeps the definition of its pure function above; the property test
# compares the two on random cases.

def _in(column, period: Period):
    return (column >= period.start) & (column < period.end)


def volumes(session: Session, actor: Actor, period: Period) -> Volumes:
    """`volumes_of`, from the roll-ups of the period's days that have them and live for the others."""
    area, cover = _covered(session, actor, period)
    if cover is None:
        return _volumes_live(session, actor, period)
    figures = ("reg_collecting", "reg_owning", "reg_matter")
    counts: dict[str, dict[str, int]] = {f: defaultdict(int) for f in figures}
    for figure in figures:
        for code, n, _ in rollups.sums(session, figure, area, cover, 1):
            counts[figure][code] += n
    cross = sum(n for n, _ in rollups.sums(session, "reg_cross", area, cover, 0))
    total = sum(counts["reg_collecting"].values())
    for since, until in cover.missing:
        live = _volumes_live(session, actor, Period(since, until))
        for figure, found in zip(figures, (live.by_collecting, live.by_owning, live.by_matter)):
            for code, n in found:
                counts[figure][code] += n
        total, cross = total + live.total, cross + live.cross_province

    def largest_first(found):
        return sorted(((code, n) for code, n in found.items() if n), key=lambda kv: (-kv[1], kv[0]))
    return Volumes(*(largest_first(counts[f]) for f in figures), total, cross)


def _covered(session: Session, actor: Actor, period: Period) -> tuple[str, rollups.Coverage | None]:
    """The roll-up area the actor reads and the period's coverage; None when nothing is rolled up for
    them (the figures are then the live queries, exact)."""
    area = rollups.area_of(actor, load_directory(session))
    if area is None:
        return "", None
    cover = rollups.coverage(session, period.since, period.until)
    return area, cover if cover.any else None


def _volumes_live(session: Session, actor: Actor, period: Period) -> Volumes:
    """`volumes_of`: the cases registered in the period counted per collecting office, per owning office,
    per matter (each its own GROUP BY: a few hundred groups, not their product), and per pair of provinces."""
    directory = load_directory(session)
    provinces: dict[str, list[str]] = defaultdict(list)
    for code, post in directory.posts.items():
        provinces[post.division_code[:2]].append(code)

    def province(column):
        # an office the directory does not know has no province (NULL), as in `case_facts`
        return sa_case(*((column.in_(codes), prefix) for prefix, codes in sorted(provinces.items())), else_=None)

    def counted(*keys):
        query = in_scope(select(*keys, func.count()).where(Case.intake_date >= period.since,
                                                           Case.intake_date <= period.until), actor, directory)
        return session.exec(query.group_by(*keys)).all()

    def largest_first(rows):
        return sorted(((code, count) for code, count in rows), key=lambda kv: (-kv[1], kv[0]))

    if (period.until - period.since).days < SHORT_DAYS:
        # a few days (those the roll-ups lack): the pairs of offices are few, their provinces looked up here
        # rather than by a CASE over every office in the directory, which costs more to send than to run
        by_pair: dict[tuple[str, str], int] = dict(((c, o), n) for c, o, n in counted(Case.collecting_office,
                                                                                         Case.owning_office))
        collecting, owning = defaultdict(int), defaultdict(int)
        for (c, o), n in by_pair.items():
            collecting[c] += n
            owning[o] += n

        def province_of(code: str) -> str | None:
            post = directory.post(code)
            return post.division_code[:2] if post else None
        return Volumes(largest_first(collecting.items()), largest_first(owning.items()),
                       largest_first(counted(Case.matter_code)), sum(by_pair.values()),
                       sum(n for (c, o), n in by_pair.items() if province_of(c) != province_of(o)))
    pairs = counted(province(Case.collecting_office).label("p1"), province(Case.owning_office).label("p2"))
    return Volumes(largest_first(counted(Case.collecting_office)), largest_first(counted(Case.owning_office)),
                   largest_first(counted(Case.matter_code)), sum(count for _, _, count in pairs),
                   sum(count for p1, p2, count in pairs if p1 != p2))


def decided(session: Session, actor: Actor, period: Period, by: str | None = None) -> list[Decided]:
    """`decided_of`: decisions made in the period, and of them by the promised date, per owning office and
    matter (by=None: from the cases); by="office" per owning office (matter ""), by="matter" per matter
    (office ""), from the roll-ups of the days that have them and live for the others."""
    if by is None:
        return _decided_live(session, actor, period)
    area, cover = _covered(session, actor, period)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    if cover is not None:
        for code, n, on_time in rollups.sums(session, f"decided_{'matter' if by == 'matter' else 'owning'}",
                                             area, cover, 1):
            counts[code][0] += n
            counts[code][1] += on_time
    for part in _live_parts(period, cover):
        for d in _decided_live(session, actor, part):
            c = counts[d.matter_code if by == "matter" else d.owning_office]
            c[0], c[1] = c[0] + d.count, c[1] + d.on_time
    return [Decided("", code, n, on_time) if by == "matter" else Decided(code, "", n, on_time)
            for code, (n, on_time) in counts.items() if n]


def _live_parts(period: Period, cover: rollups.Coverage | None) -> list[Period]:
    """The parts of the period read from the cases: all of it without roll-ups, else the days they lack."""
    return [period] if cover is None else [Period(since, until) for since, until in cover.missing]


def _decided_live(session: Session, actor: Actor, period: Period) -> list[Decided]:
    on_time = sa_case((Case.due_date.is_not(None) & (beijing_date_sql(session, Case.decided_at) <= Case.due_date), 1),
                      else_=0)
    query = in_scope(select(Case.owning_office, Case.matter_code, func.count(), func.sum(on_time))
                     .where(_in(Case.decided_at, period)), actor, load_directory(session))
    rows = session.exec(query.group_by(Case.owning_office, Case.matter_code)).all()
    return [Decided(owning, matter, count, int(on_time or 0)) for owning, matter, count, on_time in rows]


def _stage_rows(session: Session, actor: Actor, period: Period, by: str):
    """(stage, group, hours) for every timed stage that ended in the period, as one UNION ALL (`intervals`)."""
    directory = load_directory(session)
    outbound = Packet.kind == PacketKind.OUTBOUND.value
    # a case's first dispatch, for the cases with an outbound packet dispatched in the period: the stage
    # ends in the period when that first one does
    first = (select(Packet.case_id, func.min(Packet.dispatched_at).label("at"))
             .where(outbound, Packet.case_id.in_(select(Packet.case_id).where(outbound,
                                                                             _in(Packet.dispatched_at, period))))
             .group_by(Packet.case_id).having(func.min(Packet.dispatched_at) >= period.start).subquery())
    # ... and for transit, the first dispatch of the cases received in the period
    received = (select(Packet.case_id, func.min(Packet.dispatched_at).label("at"))
                .where(outbound, Packet.case_id.in_(select(Case.id).where(_in(Case.received_at, period))))
                .group_by(Packet.case_id).subquery())

    def key(stage: str):
        if by == "matter":
            return Case.matter_code
        side = next(s for k, _, s in TIMED_STAGES if k == stage)
        return Case.collecting_office if side == "collecting" else Case.owning_office

    def stage(name: str, start, end, *where, join=None):
        query = select(literal(name).label("stage"), key(name).label("g"), hours_sql(session, start, end).label("h"))
        query = query.select_from(Case)
        if join is not None:
            query = query.join(join, join.c.case_id == Case.id)
        return in_scope(query.where(*where), actor, directory)

    return union_all(
        stage("collection_dispatch", Case.created_at, first.c.at, join=first),
        stage("transit", received.c.at, Case.received_at, _in(Case.received_at, period), join=received),
        stage("receipt_accept", Case.received_at, Case.accepted_at, _in(Case.accepted_at, period),
              Case.received_at.is_not(None), Case.deemed_accepted.is_(False)),
        stage("accept_decide", Case.accepted_at, Case.decided_at, _in(Case.decided_at, period),
              Case.accepted_at.is_not(None)),
        stage("decide_deliver", Case.decided_at, Case.delivered_at, _in(Case.delivered_at, period),
              Case.decided_at.is_not(None))).subquery()


def stage_medians(session: Session, actor: Actor, period: Period, by: str | None = None,
                  groups: list[str] | None = None) -> dict[str, dict[str, tuple[float, int]]]:
    """`median_times`, from the roll-ups' duration histograms where the period's days have them (the
    median then within half its bucket's width: MEDIAN_PRECISION), exact from the cases otherwise.
    `groups`: only these offices (or matters), for a page that shows some of them."""
    area, cover = _covered(session, actor, period)
    if cover is None:
        found = _stage_medians_live(session, actor, period, by)
        return found if groups is None else {g: v for g, v in found.items() if g in set(groups)}
    bounds, to_bucket = (group_bucket_bounds, group_bucket_sql) if by else (bucket_bounds, bucket_sql)
    if cover.snapshots is not None:
        return _stage_medians_snapshots(session, actor, by, groups, area, cover)
    # the histograms are added up and walked in the database: only the buckets around each group's
    # middle come back (a province's year by office is some 10^5 buckets)
    keys = 3 if by else 2
    parts = []
    for found in rollups.selects(session, f"stage_{by}" if by else "stage_all", area, cover, keys,
                                 groups if by else None):
        found = found.subquery()
        parts.append(select(found.c.k1.label("stage"), (found.c.k2 if by else literal("", String)).label("g"),
                            cast(found.c[f"k{keys}"], Integer).label("b"), found.c.n))
    directory = load_directory(session)
    for since, until in cover.missing:
        day = Period(since, until)
        rows = stage_union(session, day.start, day.end, lambda q: in_scope(q, actor, directory))
        key = (rows.c.matter if by == "matter" else stage_office_sql(rows)) if by else literal("", String)
        part = select(rows.c.stage, key.label("g"), to_bucket(session, rows.c.h).label("b"),
                      literal(1, Integer).label("n"))
        parts.append(part.where(key.in_(groups)) if by and groups is not None else part)
    if not parts:
        return {}
    every = union_all(*parts).subquery()
    h = (select(every.c.stage, every.c.g, every.c.b, func.sum(every.c.n).label("n"))
         .group_by(every.c.stage, every.c.g, every.c.b).subquery())
    window = dict(partition_by=[h.c.stage, h.c.g])
    c = select(h.c.stage, h.c.g, h.c.b, h.c.n, func.sum(h.c.n).over(**window, order_by=h.c.b).label("cum"),
               func.sum(h.c.n).over(**window).label("tot")).subquery()
    # a bucket that may hold a middle rank r (cum - n < r <= cum, r = (tot+1)//2 or (tot+2)//2)
    near = select(c.c.stage, c.c.g, c.c.b, c.c.n, c.c.cum, c.c.tot).where(
        2 * c.c.cum >= c.c.tot, 2 * (c.c.cum - c.c.n) < c.c.tot + 2)
    middles: dict[tuple[str, str], list[float]] = defaultdict(list)
    totals: dict[tuple[str, str], int] = {}
    for stage, group, bucket, n, cum, total in session.execute(near):
        total, cum, n = int(total), int(cum), int(n)
        totals[group, stage] = total
        low, high = bounds(int(bucket))
        for rank in {(total + 1) // 2, (total + 2) // 2}:
            if cum - n < rank <= cum:
                middles[group, stage].append((low + high) / 2)
    found_: dict[str, dict[str, tuple[float, int]]] = defaultdict(dict)
    for (group, stage), values in middles.items():
        # an odd count has one middle rank, held once: the mean is that bucket's middle
        found_[group][stage] = (sum(values) / len(values), totals[group, stage])
    return dict(found_)


def _stage_medians_snapshots(session: Session, actor: Actor, by: str | None, groups: list[str] | None, area: str,
                             cover: rollups.Coverage) -> dict[str, dict[str, tuple[float, int]]]:
    """`stage_medians` where the period starts within the snapshots: the histograms of the two snapshots'
    difference (some hundred rows: `groups` only, when given), the months and days after them, and the days
    without roll-ups counted live per bucket, added up and walked here (`histogram_median`)."""
    figure = f"stage_{by}" if by else "stage_all"
    bounds, to_bucket = (group_bucket_bounds, group_bucket_sql) if by else (bucket_bounds, bucket_sql)
    counts = rollups.snapshot_stages(session, figure, area, cover, groups if by else None)

    def add(stage: str, group: str, bucket, n: int) -> None:
        by_bucket = counts.setdefault(group, {}).setdefault(stage, {})
        by_bucket[int(bucket)] = by_bucket.get(int(bucket), 0) + int(n)
    keys = 3 if by else 2
    for query in rollups.selects(session, figure, area, cover, keys, groups if by else None):
        for row in session.execute(query):
            add(row[0], row[1] if by else "", row[keys - 1], row[keys])
    directory = load_directory(session)
    for since, until in cover.missing:
        day = Period(since, until)
        rows = stage_union(session, day.start, day.end, lambda q: in_scope(q, actor, directory))
        key = (rows.c.matter if by == "matter" else stage_office_sql(rows)) if by else literal("", String)
        bucket = to_bucket(session, rows.c.h)
        query = select(rows.c.stage, key, bucket, func.count())
        if by and groups is not None:
            query = query.where(key.in_(groups))
        for stage, group, b, n in session.execute(query.group_by(rows.c.stage, key, bucket)):
            add(stage, group, b, n)
    found: dict[str, dict[str, tuple[float, int]]] = {}
    for group, stages in counts.items():
        for stage, by_bucket in stages.items():
            middle = histogram_median(by_bucket, bounds)
            if middle is not None:
                found.setdefault(group, {})[stage] = middle
    return found


def _stage_medians_live(session: Session, actor: Actor, period: Period,
                        by: str | None = None) -> dict[str, dict[str, tuple[float, int]]]:
    """`median_times`: {group: {stage: (median hours, count)}}, grouped by the office answering for the
    stage (by="office") or the matter (by="matter"), or all in one group "" (by=None). Exact: the middle
    row, or the mean of the two middle rows, of each group ranked by a window function (both databases)."""
    rows = _stage_rows(session, actor, period, by or "office")
    group = rows.c.g if by else literal("")
    parts = [rows.c.stage, group] if by else [rows.c.stage]
    ranked = select(rows.c.stage, group.label("g"), rows.c.h,
                    func.row_number().over(partition_by=parts, order_by=rows.c.h).label("rn"),
                    func.count().over(partition_by=parts).label("n")).subquery()
    middle = ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    query = (select(ranked.c.g, ranked.c.stage, func.avg(ranked.c.h), func.max(ranked.c.n))
             .where(middle).group_by(ranked.c.g, ranked.c.stage))
    found: dict[str, dict[str, tuple[float, int]]] = defaultdict(dict)
    for g, stage, value, count in session.exec(query):
        found[g][stage] = (float(value), count)
    return dict(found)


def rating_groups(session: Session, actor: Actor, period: Period, by: str | None = None) -> list[Rating]:
    """The evaluations of the period counted per what the tables group by: `Rating` rows with their `count`,
    for `summarise`, `rating_tables` and `rates_table_of`. by=None: per score, follow-up, offices and matter,
    from the cases; by="office": per score, follow-up and offices (matter ""); by="matter": per score,
    follow-up and matter (offices ""), from the roll-ups of the days that have them and live for the others."""
    if by is None:
        return _rating_groups_live(session, actor, period)
    area, cover = _covered(session, actor, period)
    counts: dict[tuple, int] = defaultdict(int)

    if cover is not None:
        if by == "matter":
            for score, status, matter, n, _ in rollups.sums(session, "rating_matter", area, cover, 3):
                counts[int(score), status or None, None, matter, ""] += n
        else:
            for score, status, office, owning, n, _ in rollups.sums(session, "rating_office", area, cover, 4):
                counts[int(score), status or None, office or None, "", owning] += n
    for part in _live_parts(period, cover):
        for r in _rating_groups_live(session, actor, part):
            if by == "matter":
                counts[r.score, r.follow_up_status, None, r.matter_code, ""] += r.count
            else:
                counts[r.score, r.follow_up_status, r.follow_up_office, "", r.owning_office] += r.count
    start = period.start
    return [Rating(start, "", score, "", matter, owning, status, None, None, office, count=count)
            for (score, status, office, matter, owning), count in counts.items() if count]


def _rating_groups_live(session: Session, actor: Actor, period: Period) -> list[Rating]:
    query = in_scope(select(Evaluation.score, Evaluation.follow_up_status, Evaluation.follow_up_office,
                            Case.matter_code, Case.owning_office, func.count())
                     .join(Case, Case.id == Evaluation.case_id)
                     .where(_in(Evaluation.at, period)), actor, load_directory(session))
    query = query.group_by(Evaluation.score, Evaluation.follow_up_status, Evaluation.follow_up_office,
                           Case.matter_code, Case.owning_office)
    start = period.start
    return [Rating(start, "", score, "", matter, owning, status, None, None, office, count=count)
            for score, status, office, matter, owning, count in session.exec(query)]
