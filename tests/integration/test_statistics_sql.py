"""The statistics page's figures come from SQL aggregates; the pure functions over every case's facts are the
definition. On random cases, packets and ratings (times out of order, several dispatches, deemed acceptances,
cases outside the period), both give the same tables for every kind of reader, on either database."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from config import clock
from config.database import new_session
from mailing.states import PacketKind
from mailing.tables import Packet
from routing.reference import directory as load_directory
from tracking.model.context import Actor
from tracking.model.tables import Case, Evaluation
from tracking.reads import statistics as st

PERIOD = st.Period(date(2026, 3, 1), date(2026, 3, 31))
MATTERS = ("GA-WFZM-01", "M-OTHER-1", "M-OTHER-2")
START = datetime(2026, 2, 10, tzinfo=clock.BEIJING)


def _offices(session) -> list[str]:
    """A few halls and departments of two cities and of another province, so that scopes and 跨省 differ."""
    directory = load_directory(session)
    by_city: dict[str, list[str]] = {}
    for code, post in sorted(directory.posts.items()):
        by_city.setdefault(directory.city_code(post.division_code) or "", []).append(code)
    shanxi = sorted(city for city in by_city if city.startswith("14"))[:2]
    other = sorted(city for city in by_city if city and not city.startswith("14"))[:1]
    return [code for city in (*shanxi, *other) for code in by_city[city][:3]]


def _later(rng: random.Random, at: datetime | None, chance: float) -> datetime | None:
    """Some hours after `at` (now and then a little before it: clocks disagree), or None."""
    if at is None or rng.random() > chance:
        return None
    return at + timedelta(seconds=rng.randint(-3600, 6 * 86400))


def _generate(session, seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    offices = _offices(session)
    cases, packets, ratings = [], [], []
    for i in range(count):
        created = START + timedelta(seconds=rng.randint(0, 60 * 86400))
        dispatched = _later(rng, created, 0.9)
        received = _later(rng, dispatched, 0.85)
        accepted = _later(rng, received, 0.8)
        deemed = accepted is not None and rng.random() < 0.2
        decided = _later(rng, accepted, 0.75)
        delivered = _later(rng, decided, 0.7)
        intake = clock.beijing_date(created) if rng.random() < 0.95 else clock.beijing_date(created) + timedelta(1)
        case = Case(case_no=f"S{seed}-{i:05d}", matter_code=rng.choice(MATTERS), collecting_office=rng.choice(offices),
                    owning_office=rng.choice(offices), applicant_kind="person", applicant_sealed="x",
                    id_hash=f"h{i}", check_code_sealed="x", result_method="pickup", intake_date=intake,
                    due_date=intake + timedelta(days=rng.randint(3, 25)), created_by="t", created_at=created,
                    received_at=received, accepted_at=accepted, deemed_accepted=deemed, decided_at=decided,
                    delivered_at=delivered)
        cases.append(case)
        packets.append((case, [(PacketKind.OUTBOUND, dispatched), (PacketKind.OUTBOUND, _later(rng, dispatched, 0.2)),
                               (PacketKind.RESULT, _later(rng, created, 0.3))]))
        if rng.random() < 0.5:
            score = rng.randint(1, 5)
            bad = score <= 2
            ratings.append((case, score, rng.choice(("open", "done")) if bad else None,
                            rng.choice(offices) if bad and rng.random() < 0.7 else None,
                            START + timedelta(seconds=rng.randint(0, 60 * 86400))))
    session.add_all(cases)
    session.flush()
    n = 0
    for case, made in packets:
        for kind, at in made:
            if at is None and rng.random() < 0.5:
                continue
            n += 1
            session.add(Packet(tracking_no=f"SQ{seed}{n:07d}"[:13], kind=kind.value, case_id=case.id,
                               from_office=case.collecting_office, to_division="140105",
                               created_at=case.created_at, dispatched_at=at))
    for case, score, status, office, at in ratings:
        session.add(Evaluation(case_id=case.id, score=score, at=at, follow_up_status=status,
                               follow_up_office=office))
    session.commit()
    return offices


@pytest.mark.parametrize("seed", [1, 2])
def test_the_sql_statistics_equal_the_pure_ones_on_random_cases(db, engine, seed):
    with new_session(engine) as session:
        offices = _generate(session, seed, 400)
    names = st.names(db)
    actors = [Actor("sv", "supervisor"), Actor("sv_city", "supervisor", offices[0]),
              Actor("off", "officer", offices[1])]
    periods = [PERIOD, st.Period(date(2026, 3, 10), date(2026, 3, 10))]
    seen = [len(st.case_facts(db, actor, PERIOD)) for actor in actors]
    assert seen[0] > seen[1] > 0 and seen[0] > seen[2] > 0, seen  # the scopes differ
    assert all(count > 10 for _, count in st.stage_medians(db, actors[0], PERIOD)[""].values())
    for actor in actors:
        for period in periods:
            facts = st.case_facts(db, actor, period)
            single = st.ratings(db, actor, period)
            volumes = st.volumes(db, actor, period)
            decided = st.decided(db, actor, period)
            grouped = st.rating_groups(db, actor, period)
            assert volumes.total == len(st.registered_in(facts, period)) > 0 or period != PERIOD
            assert st.decided_rate(decided) == st.on_time_rate(facts, period)
            assert st.summarise(grouped) == st.summarise(single)
            assert st.follow_up_rate(grouped) == st.follow_up_rate(single)
            assert st.scope_table_of(volumes).rows == st.scope_table(facts, period).rows
            for by in st.GROUPINGS:
                what = (actor, period, by)
                for name, table in st.volume_tables(facts, period, by, names).items():
                    assert st.volume_tables_of(volumes, by, names)[name].rows == table.rows, what
                assert st.rates_table_of(decided, grouped, by, names).rows == \
                    st.rates_table(facts, single, period, by, names).rows, what
                for name, table in st.rating_tables(single, by, names).items():
                    assert st.rating_tables(grouped, by, names)[name].rows == table.rows, what
                # grouped by one side only, as the page reads them
                one_side = st.rating_groups(db, actor, period, by)
                assert st.rates_table_of(st.decided(db, actor, period, by), one_side, by, names).rows == \
                    st.rates_table(facts, single, period, by, names).rows, what
                assert st.summarise(one_side) == st.summarise(single)
                for name, table in st.rating_tables(single, by, names).items():
                    assert st.rating_tables(one_side, by, names)[name].rows == table.rows, what
                pure = st.median_times(facts, period, st.by_matter if by == "matter" else st.by_office)
                _same_medians(st.stage_medians(db, actor, period, by), pure)
            _same_medians(st.stage_medians(db, actor, period), st.median_times(facts, period))


def _same_medians(sql: dict, pure: dict) -> None:
    """The same groups, stages and counts; medians within a millionth of an hour (SQLite reads times to the
    millisecond)."""
    assert {g: {stage: count for stage, (_, count) in by_stage.items()} for g, by_stage in sql.items()} == \
        {g: {stage: count for stage, (_, count) in by_stage.items()} for g, by_stage in pure.items()}
    for g, by_stage in pure.items():
        for stage, (value, _) in by_stage.items():
            assert sql[g][stage][0] == pytest.approx(value, abs=1e-6), (g, stage)


@pytest.mark.parametrize("built_until", [date(2026, 4, 20), date(2026, 3, 15)])
def test_the_roll_ups_give_the_live_figures_and_medians_within_their_buckets(db, engine, built_until):
    """Roll-ups built as the sweep builds them (all of the data's days, or only up to the middle of the
    period, the rest then read live): the same counts as the live queries for every kind of reader; the
    medians within half their bucket's width (statistics.MEDIAN_PRECISION, GROUP_MEDIAN_PRECISION)."""
    from tracking.commands.rollups import sweep_rollups
    with new_session(engine) as session:
        offices = _generate(session, 3, 400)
    actors = [Actor("sv", "supervisor"), Actor("sv_city", "supervisor", offices[0]),
              Actor("sv_other", "supervisor", offices[-1])]
    periods = [PERIOD, st.Period(date(2026, 3, 10), date(2026, 3, 10)), st.Period(date(2026, 2, 1), date(2026, 4, 30))]
    live = {(a.username, p): _figures(db, a, p) for a in actors for p in periods}
    with new_session(engine) as session:
        assert sweep_rollups(session, built_until + timedelta(days=1), session.commit) > 30
        session.commit()
        assert sweep_rollups(session, built_until + timedelta(days=1), session.commit) == 0  # built already
        session.commit()
    with new_session(engine) as fresh:  # a new snapshot, with the roll-ups
        assert st._covered(fresh, actors[0], PERIOD)[1] is not None
        got = {(a.username, p): _figures(fresh, a, p) for a in actors for p in periods}
    for actor in actors:
        for period in periods:
            got_, want = got[actor.username, period], live[actor.username, period]
            assert {k: v for k, v in got_.items() if k != "medians"} == \
                {k: v for k, v in want.items() if k != "medians"}, (actor, period)
            for by, found in got_["medians"].items():
                expected = want["medians"][by]
                assert {g: {s: c for s, (_, c) in v.items()} for g, v in found.items()} == \
                    {g: {s: c for s, (_, c) in v.items()} for g, v in expected.items()}, (actor, period, by)
                for g, by_stage in expected.items():
                    for stage, (value, _) in by_stage.items():
                        assert abs(found[g][stage][0] - value) <= _half_width(value, by), \
                            (actor, period, by, g, stage)


def _half_width(median: float, by: str | None = None) -> float:
    """Half the widest bucket the middle values may fall in: of an even count the median is the mean of
    two, the larger at most twice the median (plus rounding). Per office or matter the buckets widen by 20%
    each: within 10% of each middle value, or 0.5 hour under an hour (statistics.GROUP_MEDIAN_PRECISION)."""
    if by:
        return 0.1 * median + 0.5 + 1e-6
    larger = 2 * median
    return (0.5 if larger < 48 else 3.0 if larger < 720 else 12.0) + 1e-6


def _figures(db, actor, period) -> dict:
    from tracking.reads import postage
    volumes = st.volumes(db, actor, period)
    names = st.names(db)
    return {"volumes": volumes, **{f"decided_{by}": sorted(st.decided(db, actor, period, by), key=repr)
                                   for by in st.GROUPINGS},
            **{f"ratings_{by}": sorted(st.rating_groups(db, actor, period, by), key=repr) for by in st.GROUPINGS},
            "postage": {name: t.rows for name, t in postage.postage_tables(postage.charges(db, actor, period),
                                                                           names).items()},
            "medians": {by: st.stage_medians(db, actor, period, by) for by in (None, "office", "matter")}}


def test_flask_stats_rebuild_builds_a_range_and_the_figures_stay_the_same(app, db, engine):
    with new_session(engine) as session:
        _generate(session, 4, 120)
    actor = Actor("sv", "supervisor")
    before = _figures(db, actor, PERIOD)
    result = app.test_cli_runner().invoke(args=["stats", "rebuild", "--since", "2026-03-01", "--until", "2026-03-31"])
    assert result.exit_code == 0, result.output
    assert "共 31 天" in result.output
    with new_session(engine) as fresh:
        cover = st._covered(fresh, actor, PERIOD)[1]
        assert cover is not None and cover.snapshots == (None, date(2026, 3, 31)) and not cover.missing
        after = _figures(fresh, actor, PERIOD)
    assert {k: v for k, v in after.items() if k != "medians"} == {k: v for k, v in before.items() if k != "medians"}
    bad = app.test_cli_runner().invoke(args=["stats", "rebuild", "--since", "2026-3-1"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_the_snapshots_follow_a_correction_of_old_days_once_those_days_are_built_again(db, engine):
    """A period of built days is the difference of two snapshots (running sums). Old data corrected and its
    days built again: every later snapshot is written again, so the figures of any period still equal the
    live ones, and the medians stay within their buckets."""
    from sqlalchemy import delete, or_, update

    from tracking.commands.rollups import build, sweep_rollups
    with new_session(engine) as session:
        _generate(session, 6, 300)
    actor = Actor("sv", "supervisor")
    with new_session(engine) as session:
        assert sweep_rollups(session, date(2026, 4, 25), session.commit) > 30
        session.commit()
    with new_session(engine) as session:
        # the correction, of 10-12 March only: the ratings were never given, the decisions never made (of
        # the cases not delivered after those days)
        start, end = clock.start_of_day(date(2026, 3, 10)), clock.start_of_day(date(2026, 3, 13))
        session.execute(delete(Evaluation).where(Evaluation.at >= start, Evaluation.at < end))
        session.execute(update(Case).where(Case.decided_at >= start, Case.decided_at < end,
                                           or_(Case.delivered_at.is_(None), Case.delivered_at < end))
                        .values(decided_at=None, delivered_at=None))
        session.commit()
    periods = [PERIOD, st.Period(date(2026, 3, 14), date(2026, 3, 20)), st.Period(date(2026, 2, 20), date(2026, 4, 30))]
    with new_session(engine) as session:
        live = {p: _figures_live(session, actor, p) for p in periods}
        build(session, date(2026, 3, 9), date(2026, 3, 13), session.commit)
        session.commit()
    with new_session(engine) as fresh:
        assert st._covered(fresh, actor, periods[1])[1].snapshots == (date(2026, 3, 13), date(2026, 3, 20))
        for period in periods:
            got, want = _figures(fresh, actor, period), live[period]
            assert {k: v for k, v in got.items() if k != "medians"} == \
                {k: v for k, v in want.items() if k != "medians"}, period
            for by, found in got["medians"].items():
                for g, by_stage in want["medians"][by].items():
                    for stage, (value, count) in by_stage.items():
                        assert found[g][stage][1] == count, (period, by, g, stage)
                        assert abs(found[g][stage][0] - value) <= _half_width(value, by), (period, by, g, stage)


def _figures_live(session, actor, period) -> dict:
    """`_figures` with the roll-ups out of sight (as before they are built)."""
    from unittest import mock
    with mock.patch.object(st.rollups, "area_of", lambda actor, directory: None):
        return _figures(session, actor, period)
