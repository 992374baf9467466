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

from sqlalchemy.orm import load_only
from sqlmodel import Session, select

from config import clock
from config.settings import Settings
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Packet
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.model.context import Actor
from tracking.model.deadlines import STAGE_TITLES, STAGES, overdue_cases, packets_by_case
from tracking.model.lookups import in_scope
from tracking.model.states import BAD_SCORE, RATED_STAGES, SCORE_TITLES, CaseStatus
from tracking.model.tables import Case, Evaluation

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
MAX_DAYS = 366


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


@dataclass(frozen=True)
class RatingSummary:
    count: int
    average: float | None
    bad_share: float | None   # per cent
    open_follow_ups: int


def summarise(ratings: Sequence[Rating]) -> RatingSummary:
    scores = [r.score for r in ratings]
    return RatingSummary(count=len(scores), average=rounded(stats.fmean(scores), 2) if scores else None,
                         bad_share=share(sum(s <= BAD_SCORE for s in scores), len(scores)),
                         open_follow_ups=sum(r.follow_up_status == "open" for r in ratings))


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
        counts[r.score] = counts.get(r.score, 0) + 1
    return sorted(counts.items(), reverse=True)


def on_time_rate(facts: Iterable[CaseFacts], period: Period) -> tuple[int, int, float | None]:
    """(decided in the period, of them by the promised date, 按期办结率 in per cent)."""
    decided = [f for f in facts if f.decided_at in period]
    on_time = sum(f.decided_on_time for f in decided)
    return len(decided), on_time, share(on_time, len(decided))


def follow_up_rate(ratings: Iterable[Rating]) -> tuple[int, int, float | None]:
    """(bad ratings, of them followed up, 差评整改率 in per cent)."""
    bad = [r for r in ratings if r.score <= BAD_SCORE]
    done = sum(r.follow_up_status == "done" for r in bad)
    return len(bad), done, share(done, len(bad))


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


def overdue_tables(items: Sequence[OverdueItem], listed: Sequence[OverdueItem], n: Names) -> dict[str, Table]:
    counts = overdue_counts(items)
    order = sorted(counts, key=lambda office: (-sum(counts[office].values()), office))
    by_office = Table("counts", "各环节超期数（按负责单位）",
                      ["负责单位", "单位代码", *(BOARD_TITLES[s] for s in BOARD_STAGES), "合计"])
    for office in order:
        row = [counts[office][s] for s in BOARD_STAGES]
        by_office.rows.append([n.office(office), office, *row, sum(row)])
    if order:
        totals = stage_totals(items)
        by_office.rows.append(["合计", "", *(totals[s] for s in BOARD_STAGES), sum(totals.values())])
    cases = Table("cases", "超期办件", ["办件编号", "事项", "办件状态", "超期环节", "负责单位", "应完成日期", "已超期（天）",
                                     "收件单位", "办理单位"])
    for i in listed:
        cases.rows.append([i.case_no, n.matter(i.matter_code), CaseStatus(i.status).title, i.stage_title,
                           n.office(i.office_code), i.due.isoformat(), i.days_late,
                           n.office(i.collecting_office), n.office(i.owning_office)])
    return {t.name: t for t in (by_office, cases)}


def volume_tables(facts: Sequence[CaseFacts], period: Period, by: str, n: Names) -> dict[str, Table]:
    registered = registered_in(facts, period)
    if by == "matter":
        table = Table("volume_matter", "收件量（按事项）", ["事项", "事项编码", "收件量"])
        table.rows = [[n.matter(code), code, count] for code, count in count_by(registered, lambda f: f.matter_code)]
        return {table.name: table}
    collecting = Table("volume_collecting", "收件量（按收件单位）", ["收件单位", "单位代码", "收件量"])
    collecting.rows = [[n.office(code), code, count]
                       for code, count in count_by(registered, lambda f: f.collecting_office)]
    owning = Table("volume_owning", "收件量（按办理单位）", ["办理单位", "单位代码", "收件量"])
    owning.rows = [[n.office(code), code, count] for code, count in count_by(registered, lambda f: f.owning_office)]
    return {t.name: t for t in (collecting, owning)}


def scope_table(facts: Sequence[CaseFacts], period: Period) -> Table:
    table = Table("volume_scope", "收件量（跨省通办与省内通办）", ["范围", "收件量", "占比（%）"],
                  note="跨省通办：收件单位与办理单位不在同一省份。")
    volumes = scope_volumes(facts, period)
    total = sum(count for _, count in volumes)
    table.rows = [[scope, count, share(count, total)] for scope, count in volumes]
    return table


def rates_table(facts: Sequence[CaseFacts], ratings: Sequence[Rating], period: Period, by: str, n: Names) -> Table:
    """按期办结率 and 差评整改率 per office (decisions under the owning office, bad ratings under the
    office they are routed to) or per matter, with the whole scope's figures last."""
    if by == "matter":
        decided_key, rating_key, first, name = (lambda f: f.matter_code), (lambda r: r.matter_code), "事项", n.matter
    else:
        decided_key, rating_key = (lambda f: f.owning_office), (lambda r: r.follow_up_office or r.owning_office)
        first, name = "单位", n.office
    table = Table("rates", f"按期办结率与差评整改率（{GROUPINGS[by]}）",
                  [first, "事项编码" if by == "matter" else "单位代码", "办结数", "按期办结数", "按期办结率（%）",
                   "差评数", "已整改", "差评整改率（%）"],
                  note="按期办结：在承诺办结日期当天或之前作出决定（计入决定所在期间）。"
                       "差评整改率：期间内的差评中已回访整改的比例；按单位统计时计入评价所转交的单位。")
    facts_by, ratings_by = defaultdict(list), defaultdict(list)
    for f in facts:
        facts_by[decided_key(f)].append(f)
    for r in ratings:
        ratings_by[rating_key(r)].append(r)
    for group in sorted(set(facts_by) | set(ratings_by), key=lambda g: (name(g), g)):
        decided, on_time, rate = on_time_rate(facts_by[group], period)
        bad, done, done_rate = follow_up_rate(ratings_by[group])
        if decided or bad:
            table.rows.append([name(group), group, decided, on_time, rate, bad, done, done_rate])
    if table.rows:
        table.rows.append(["合计", "", *on_time_rate(facts, period), *follow_up_rate(ratings)])
    return table


def median_table(facts: Sequence[CaseFacts], period: Period, by: str, n: Names) -> Table:
    """One row per office (or matter), for each stage its median hours and the number of cases measured."""
    found = median_times(facts, period, by_matter if by == "matter" else by_office)
    first = "事项" if by == "matter" else "负责单位"
    header = [first, "事项编码" if by == "matter" else "单位代码"]
    for _, title, _ in TIMED_STAGES:
        header += [f"{title}（中位数，小时）", f"{title}（件数）"]
    table = Table("medians", f"各环节用时中位数（{GROUPINGS[by]}，单位：小时）", header,
                  note="每个环节计入其完成日所在的期间；时间按自然小时计（含夜间和节假日）。"
                       "收件→寄出、途中计入收件单位，其余环节计入办理单位；视为受理的办件不计签收→受理用时。")
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
    found = median_times(facts, period).get("", {})
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
