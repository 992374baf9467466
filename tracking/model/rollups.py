"""Daily roll-ups of the statistics: what each figure's GROUP BY gives, grouped by the Beijing day as well,
so that a period's figures are the sum of its days (or its months). The queries here say what a day's
roll-up is; tracking.commands.rollups stores them, tracking.reads.statistics reads them.

Each figure is grouped by one thing at a time (an office, a matter), never by their product: a month of a
province is then a few thousand rows whatever its number of cases. The rows are for everything (area "");
the column is there for per-city rows (a city supervisor sees the cases with either office in the city,
`lookups.in_scope`), which are not built yet: scoped readers read the cases live."""
from __future__ import annotations

import json
from bisect import bisect_right
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, cast, extract, func, literal, union_all
from sqlalchemy import case as sa_case
from sqlmodel import Session, select

from config import clock
from mailing.states import PacketKind
from mailing.tables import Packet
from tracking.model.tables import Case, Evaluation

# the figures (StatRollup.figure) and what k1..k5 hold
FIGURES = {"reg_collecting": ("office",), "reg_owning": ("office",), "reg_matter": ("matter",), "reg_cross": (),
           # n: decided, total: of them on time
           "decided_owning": ("owning",), "decided_matter": ("matter",),
           # n: stages that ended that day and took `bucket` (bucket_of) hours
           # (bucket_of for everything, group_bucket_of per office or matter)
           "stage_all": ("stage", "bucket"), "stage_office": ("stage", "office", "bucket"),
           "stage_matter": ("stage", "matter", "bucket"),
           "rating_office": ("score", "follow_up_status", "follow_up_office", "owning"),
           "rating_matter": ("score", "follow_up_status", "matter"),
           # n: packets, total: cents
           "postage_payer": ("payer", "source"), "postage_matter": ("matter", "source")}
BUILT = "built"  # a marker row per day (and per month) built, area "", so that an empty day counts as built
STAGE_FIGURES = ("stage_all", "stage_office", "stage_matter")
# span "c": the running sums of the day rows from the first built day through `day` (`snapshot_rows`), so
# that any period of built days is the difference of two snapshots whatever its length or its cases
SNAPSHOT = "c"


# -- duration buckets: exact to the hour for two days, to 6 hours for 30 days, to the day beyond ------------

def bucket_of(hours: float) -> int:
    if hours < 48:
        return int(hours)
    if hours < 720:
        return 48 + int((hours - 48) // 6)
    return 160 + int((hours - 720) // 24)


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """[low, high) hours of a bucket."""
    if bucket < 48:
        return float(bucket), bucket + 1.0
    if bucket < 160:
        low = 48.0 + 6 * (bucket - 48)
        return low, low + 6
    low = 720.0 + 24 * (bucket - 160)
    return low, low + 24


# per office and per matter, buckets whose width grows with the duration (a median within 10% + 0.5 hour):
# [0, 1) hour, then [1.2^(i-1), 1.2^i) hours; some 60 buckets a stage up to six years, whatever the cases
GROUP_EDGES = tuple(1.2 ** i for i in range(61))


def group_bucket_of(hours: float) -> int:
    return min(bisect_right(GROUP_EDGES, hours), len(GROUP_EDGES))


def group_bucket_bounds(bucket: int) -> tuple[float, float]:
    """[low, high) hours of a group bucket (the last one is open: read as one more step of 20%)."""
    low = 0.0 if bucket == 0 else GROUP_EDGES[bucket - 1]
    return low, GROUP_EDGES[bucket] if bucket < len(GROUP_EDGES) else low * 1.2


def group_bucket_sql(session: Session, hours):
    # the same float edges as group_bucket_of, sent as parameters
    return sa_case(*((hours < edge, i) for i, edge in enumerate(GROUP_EDGES)), else_=len(GROUP_EDGES))


def _floor(session: Session, x):
    # x is never negative here: SQLite's integer cast truncates, PostgreSQL's would round
    return cast(func.floor(x), Integer) if dialect(session) == "postgresql" else cast(x, Integer)


def bucket_sql(session: Session, hours):
    return sa_case((hours < 48, _floor(session, hours)),
                   (hours < 720, 48 + _floor(session, (hours - 48) / 6)),
                   else_=160 + _floor(session, (hours - 720) / 24))


# -- SQL pieces shared with the live queries ------------------------------------------------------------

def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def hours_sql(session: Session, start, end):
    """Elapsed hours from `start` to `end`, never below 0, NULL when either is NULL (`intervals`)."""
    if dialect(session) == "postgresql":
        raw = extract("epoch", end - start) / 3600.0
    else:
        raw = (func.julianday(end) - func.julianday(start)) * 24.0
    return sa_case((raw < 0, 0.0), else_=raw)


def beijing_date_sql(session: Session, at):
    """The Beijing calendar day of a stored UTC time (China keeps no summer time: always +8)."""
    if dialect(session) == "postgresql":
        return cast(func.timezone("Asia/Shanghai", at), Date)
    return func.date(at, "+8 hours")


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


TIMED = ("collection_dispatch", "transit", "receipt_accept", "accept_decide", "decide_deliver")
COLLECTING_SIDE = ("collection_dispatch", "transit")  # statistics.TIMED_STAGES: counted to the sender


def stage_union(session: Session, start: datetime, end: datetime, scope=lambda q: q):
    """(stage, end_at, collecting, owning, matter, h) for every timed stage that ended in [start, end),
    as one UNION ALL (statistics.intervals); `scope` limits each part's cases (`in_scope`)."""
    outbound = Packet.kind == PacketKind.OUTBOUND.value

    def within(column):
        return (column >= start) & (column < end)
    # a case's first dispatch ends its first stage: the cases with an outbound packet dispatched in the range
    # whose earliest one is in it
    first = (select(Packet.case_id, func.min(Packet.dispatched_at).label("at"))
             .where(outbound, Packet.case_id.in_(select(Packet.case_id).where(outbound, within(Packet.dispatched_at))))
             .group_by(Packet.case_id).having(func.min(Packet.dispatched_at) >= start).subquery())
    received = (select(Packet.case_id, func.min(Packet.dispatched_at).label("at"))
                .where(outbound, Packet.case_id.in_(select(Case.id).where(within(Case.received_at))))
                .group_by(Packet.case_id).subquery())

    def part(name: str, begin, finish, *where, join=None):
        query = select(literal(name).label("stage"), finish.label("end_at"), Case.collecting_office.label("coll"),
                       Case.owning_office.label("own"), Case.matter_code.label("matter"),
                       hours_sql(session, begin, finish).label("h")).select_from(Case)
        if join is not None:
            query = query.join(join, join.c.case_id == Case.id)
        return scope(query.where(*where))

    return union_all(
        part("collection_dispatch", Case.created_at, first.c.at, join=first),
        part("transit", received.c.at, Case.received_at, within(Case.received_at), join=received),
        part("receipt_accept", Case.received_at, Case.accepted_at, within(Case.accepted_at),
             Case.received_at.is_not(None), Case.deemed_accepted.is_(False)),
        part("accept_decide", Case.accepted_at, Case.decided_at, within(Case.decided_at),
             Case.accepted_at.is_not(None)),
        part("decide_deliver", Case.decided_at, Case.delivered_at, within(Case.delivered_at),
             Case.decided_at.is_not(None))).subquery()


def stage_office_sql(rows):
    return sa_case((rows.c.stage.in_(COLLECTING_SIDE), rows.c.coll), else_=rows.c.own)


# -- a range of days, grouped by day and the figure's keys -------------------------------------------------

def day_rows(session: Session, directory, since: date, until: date):
    """Every roll-up row of the days from `since` to `until` (both included), as dicts for StatRollup."""
    start, end = clock.start_of_day(since), clock.start_of_day(until + timedelta(days=1))

    def grouped(figure: str, day, keys: list, measures: list, from_, where: list):
        cols = [day.label("day"), *(k.label(f"k{i + 1}") for i, k in enumerate(keys)), *measures]
        query = select(*cols).select_from(from_).where(*where).group_by(day, *keys)
        for row in session.execute(query).mappings():
            found = dict(span="d", day=as_date(row["day"]), area="", figure=figure, n=int(row["n"]),
                         total=int(row.get("total") or 0))
            for i in range(5):
                value = row.get(f"k{i + 1}")
                found[f"k{i + 1}"] = "" if value is None else str(value)
            yield found

    count = func.count().label("n")
    reg = [Case.intake_date >= since, Case.intake_date <= until]
    coll, own = Case.collecting_office, Case.owning_office
    for figure, column in (("reg_collecting", coll), ("reg_owning", own), ("reg_matter", Case.matter_code)):
        yield from grouped(figure, Case.intake_date, [column], [count], Case, reg)
    provinces: dict[str, list[str]] = {}
    for code, post in directory.posts.items():
        provinces.setdefault(post.division_code[:2], []).append(code)

    def province(column):
        return sa_case(*((column.in_(codes), prefix) for prefix, codes in sorted(provinces.items())), else_=None)
    if provinces:
        # 跨省: the two provinces differ; an unknown office has none (NULL), which differs from a known one
        cross = func.coalesce(province(coll), "") != func.coalesce(province(own), "")
        yield from grouped("reg_cross", Case.intake_date, [], [count], Case, [*reg, cross])

    decided_day = beijing_date_sql(session, Case.decided_at)
    on_time = func.sum(sa_case((Case.due_date.is_not(None) & (decided_day <= Case.due_date), 1), else_=0))
    for figure, column in (("decided_owning", own), ("decided_matter", Case.matter_code)):
        yield from grouped(figure, decided_day, [column], [count, on_time.label("total")], Case,
                           [Case.decided_at >= start, Case.decided_at < end])

    rows = stage_union(session, start, end)
    stage_day, bucket = beijing_date_sql(session, rows.c.end_at), bucket_sql(session, rows.c.h)
    yield from grouped("stage_all", stage_day, [rows.c.stage, bucket], [count], rows, [])
    group_bucket = group_bucket_sql(session, rows.c.h)
    for figure, key in (("stage_office", stage_office_sql(rows)), ("stage_matter", rows.c.matter)):
        yield from grouped(figure, stage_day, [rows.c.stage, key, group_bucket], [count], rows, [])

    rated = select(Evaluation.at, Evaluation.score, Evaluation.follow_up_status, Evaluation.follow_up_office,
                   Case.matter_code, Case.owning_office).join(
        Case, Case.id == Evaluation.case_id).where(Evaluation.at >= start, Evaluation.at < end).subquery()
    rated_day, rating = beijing_date_sql(session, rated.c.at), [rated.c.score, rated.c.follow_up_status]
    yield from grouped("rating_office", rated_day, [*rating, rated.c.follow_up_office, rated.c.owning_office],
                       [count], rated, [])
    yield from grouped("rating_matter", rated_day, [*rating, rated.c.matter_code], [count], rated, [])

    sent = select(Packet.dispatched_at, Packet.postage_payer, Packet.postage_source, Packet.postage_cents,
                  Case.matter_code).join(Case, Case.id == Packet.case_id).where(
        Packet.postage_cents.is_not(None), Packet.postage_payer.is_not(None),
        Packet.dispatched_at >= start, Packet.dispatched_at < end).subquery()
    sent_day, source = beijing_date_sql(session, sent.c.dispatched_at), func.coalesce(sent.c.postage_source, "tariff")
    cents = func.sum(sent.c.postage_cents).label("total")
    for figure, key in (("postage_payer", sent.c.postage_payer), ("postage_matter", sent.c.matter_code)):
        yield from grouped(figure, sent_day, [key, source], [count, cents], sent, [])


# -- snapshots: running sums, one row per figure (per office or matter for the stage times) ------------------

class Running:
    """The running sums of the day rows, as the snapshots store them: for a figure, {keys joined by a tab:
    [n, total]}; for the stage times, {group: {stage: {bucket: n}}} (group "" for stage_all)."""

    def __init__(self):
        self.sums: dict[str, dict[str, list[int]]] = {}
        self.stages: dict[str, dict[str, dict[str, dict[int, int]]]] = {f: {} for f in STAGE_FIGURES}
        self.text: dict[tuple[str, str], str] = {}  # each row's JSON, written again only when it changed
        self.changed: set[tuple[str, str]] = set()

    def add(self, row) -> None:
        figure = row["figure"]
        if figure == "stage_all":
            group, stage, bucket = "", row["k1"], row["k2"]
        elif figure in STAGE_FIGURES:
            group, stage, bucket = row["k2"], row["k1"], row["k3"]
        else:
            keys = "\t".join(row[f"k{i + 1}"] for i in range(len(FIGURES[figure])))
            found = self.sums.setdefault(figure, {}).setdefault(keys, [0, 0])
            found[0] += row["n"]
            found[1] += row["total"]
            self.changed.add((figure, ""))
            return
        by_bucket = self.stages[figure].setdefault(group, {}).setdefault(stage, {})
        by_bucket[int(bucket)] = by_bucket.get(int(bucket), 0) + row["n"]
        self.changed.add((figure, group))

    def load(self, figure: str, group: str, hist: str) -> None:
        """A stored snapshot row read back (the running sums up to its day)."""
        if figure in STAGE_FIGURES:
            self.stages[figure][group] = decode_stages(hist)
        else:
            self.sums[figure] = json.loads(hist)
        self.text[figure, group] = hist

    def rows(self, day: date) -> list[dict]:
        """The snapshot rows of `day` (span SNAPSHOT, area "")."""
        for figure, group in self.changed:
            self.text[figure, group] = encode_stages(self.stages[figure][group]) if figure in STAGE_FIGURES \
                else json.dumps(self.sums[figure], separators=(",", ":"))
        self.changed.clear()
        return [dict(span=SNAPSHOT, day=day, area="", figure=figure, k1="", k2=group, k3="", k4="", k5="", n=0,
                     total=0, hist=hist) for (figure, group), hist in self.text.items()]


def encode_stages(stages: dict[str, dict[int, int]]) -> str:
    """{stage: {bucket: n}} as {stage: [first bucket, n, n, ...]}: dense from the first bucket used."""
    dense = {}
    for stage, counts in stages.items():
        low, high = min(counts), max(counts)
        dense[stage] = [low, *(counts.get(b, 0) for b in range(low, high + 1))]
    return json.dumps(dense, separators=(",", ":"))


def decode_stages(text: str) -> dict[str, dict[int, int]]:
    return {stage: {dense[0] + i: n for i, n in enumerate(dense[1:]) if n}
            for stage, dense in json.loads(text).items()}
