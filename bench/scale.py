"""The figures that depend on how many cases the database holds, measured on one database as it grows.

    .venv/bin/python -m bench --sizes 10000,100000 [--database-url URL] [--only pages,tracking,intake,sweep]

A `Bench` is one database (a fresh SQLite file, or a PostgreSQL database) with the reference data and three
staff accounts, served by one app in-process. `grow` adds cases up to a size (`app.synth.synthesise`, the bulk
generator; `bench.deadlines.build`, the use cases one by one, where the generator is missing), then each
`measure_*` returns rows for `bench.report`:

    dict(figure, ours, ours_unit, baseline, baseline_unit, ratio, target, met, note)

Pages are timed in pairs with the sign-in page (a template and no query) run back to back, so that a shared
machine's noise lands on a pair and not on a side; the ratio is the median pair.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from config import clock
from config.database import new_session
from routing.reference import load_reference_data

PASSWORD = "bench-password"
STAFF = [("bench-clerk", "clerk", "H140902"), ("bench-officer", "officer", "D140105-GA"),
         ("bench-supervisor", "supervisor", None)]
PAGE_TARGET = 20.0    # a page at most this many sign-in pages, at every size
GROWTH_TARGET = 1.5   # from the smallest size to the largest
TRACK_P99_MS = 10.0
INTAKE_P99_MS = 30.0
SWEEP_RSS_MB = 500.0
# the rate limit would answer 429 after 60 look-ups a minute from one client: the bench is one client
UNLIMITED = 10 ** 9


def row(figure: str, ours: float, ours_unit: str, baseline: float | None = None, baseline_unit: str | None = None,
        ratio: float | None = None, target: str = "", met: bool | None = None, note: str = "") -> dict:
    return dict(figure=figure, ours=ours, ours_unit=ours_unit, baseline=baseline, baseline_unit=baseline_unit,
                ratio=ratio, target=target, met=met, note=note)


def size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else \
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# ---------------------------------------------------------------------------------------------- databases

@contextmanager
def local_postgres(name: str | None = None):
    """A scratch PostgreSQL database on the local server (its default socket, user postgres), dropped after;
    None when no server answers."""
    name = name or f"tongban_bench_{os.getpid()}"
    made = subprocess.run(["createdb", "-U", "postgres", name], capture_output=True, text=True) \
        if shutil.which("createdb") else None
    if made is None or made.returncode != 0:
        yield None
        return
    try:
        yield f"postgresql+psycopg://postgres@/{name}"
    finally:
        subprocess.run(["dropdb", "-U", "postgres", "--if-exists", name], capture_output=True)


@dataclass
class Bench:
    url: str
    instance: Path
    app: object = None
    kind: str = ""
    generator: str = ""
    as_of: date | None = None  # the day the pages look from (None: today)
    sizes_done: list = field(default_factory=list)

    @property
    def engine(self):
        return self.app.extensions["tongban"]["engine"]

    @property
    def env(self):
        return self.app.extensions["tongban"]["env"]

    def session(self):
        return new_session(self.engine)

    def pinned(self):
        """The clock the cases were made for: `build` makes March 2026, the generator ends today."""
        if self.as_of is None:
            return nullcontext()
        return clock.pinned(datetime(self.as_of.year, self.as_of.month, self.as_of.day, 10, tzinfo=clock.BEIJING))

    def count(self) -> int:
        from tracking.model.tables import Case
        with self.session() as session:
            return session.exec(select(func.count()).select_from(Case)).one()

    def environment(self) -> dict:
        """What a subprocess (flask sweep, gunicorn) needs to serve the same database with the same keys."""
        return {**os.environ, "TONGBAN_DATABASE_URL": self.url, "TONGBAN_INSTANCE_PATH": str(self.instance),
                "TONGBAN_TRACK_RATE_PER_MINUTE": str(UNLIMITED), "FLASK_APP": "app"}

    def close(self) -> None:
        if self.app is not None:
            self.engine.dispose()


def open_bench(url: str | None, instance: Path) -> Bench:
    """The app over `url` (a fresh SQLite file in `instance` when None), schema upgraded, reference data and
    the bench's staff accounts in place."""
    from app import create_app
    from app.schema import upgrade
    from app.users import User, create_user
    url = url or f"sqlite:///{instance / 'bench.db'}"
    bench = Bench(url=url, instance=instance, kind=url.split(":", 1)[0].split("+", 1)[0])
    bench.app = create_app({"database_url": url, "instance_path": instance, "track_rate_per_minute": UNLIMITED})
    upgrade(bench.engine)
    with bench.session() as session:
        load_reference_data(session)
        for username, role, office in STAFF:
            if session.exec(select(User).where(User.username == username)).first() is None:
                create_user(session, username, role, PASSWORD, office)
        session.commit()
    return bench


def generator():
    try:
        from app.synth import synthesise
    except ImportError:
        return None
    return synthesise


def grow(bench: Bench, size: int, log=print) -> dict:
    """Adds cases until the database holds `size`; a row of how long it took."""
    have = bench.count()
    add = size - have
    t0 = time.perf_counter()
    # one generator for the database's whole life: their cases differ in dates and shape
    synthesise = generator() if bench.generator in ("", "app.synth") else None
    if add > 0 and synthesise is not None:
        bench.generator = "app.synth"
        # a seed per step: the steps add different cases to the same database
        synthesise(bench.engine, bench.env.settings, add, seed=1 + len(bench.sizes_done), sealer=bench.env.sealer)
    elif add > 0:
        from bench.deadlines import build
        bench.generator = "bench.deadlines.build"
        bench.as_of = date(2026, 3, 20)  # build makes its cases in March 2026
        with bench.session() as session:
            build(session, bench.env, add)
    took = time.perf_counter() - t0
    bench.sizes_done.append(size)
    log(f"  {bench.kind}: {bench.count()} cases ({add if add > 0 else 0} added by "
        f"{bench.generator or 'nothing'} in {took:.1f} s)")
    if add > 0:  # what the nightly sweep keeps: the statistics' roll-ups of every day before today (all of
        # them again: the generator adds cases to past days, which the service never does)
        from tracking.commands.rollups import build, first_day
        t1 = time.perf_counter()
        with bench.session() as session, bench.pinned():
            start, end = first_day(session), clock.beijing_date() - timedelta(days=1)
            days = build(session, start, end, session.commit) if start and start <= end else 0
            session.commit()
        log(f"  {bench.kind}: statistics roll-ups of {days} days built in {time.perf_counter() - t1:.1f} s")
    return row(f"cases generated up to {size_label(size)} ({bench.kind})", max(add, 0) / took if took and add > 0 else 0,
               "cases/s", note=f"{bench.generator or 'already there'}, {took:.0f} s")


# -------------------------------------------------------------------------------------------------- pages

def pages_for(as_of: date) -> dict[str, list[str]]:
    since = (as_of - timedelta(days=365)).isoformat()  # a year: what a province asks of its statistics
    return {"bench-clerk": ["/window", "/window/packets", "/window/cases"],
            "bench-officer": ["/office", "/office/cases?status=received"],
            "bench-supervisor": [f"/supervise?as_of={as_of.isoformat()}",
                                 f"/supervise/stats?since={since}&until={as_of.isoformat()}"]}


def signed_in(app, username: str):
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.text
    return client


def timed(client, path: str) -> float:
    t0 = time.perf_counter()
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return time.perf_counter() - t0


def page_timings(bench: Bench, rounds: int = 5) -> dict[str, tuple[float, float, float]]:
    """Each page: (its median seconds, the sign-in page's median seconds, the median paired ratio)."""
    out = {}
    with bench.pinned():
        for username, paths in pages_for(bench.as_of or clock.beijing_date()).items():
            client = signed_in(bench.app, username)
            for path in paths:
                timed(client, path)  # warm: templates compiled, directory loaded
                pairs = [(timed(client, "/login"), timed(client, path)) for _ in range(rounds)]
                out[path] = (statistics.median(p[1] for p in pairs), statistics.median(p[0] for p in pairs),
                             statistics.median(p[1] / p[0] for p in pairs))
    return out


def _short(path: str) -> str:
    """A page's name without the dates that change from run to run."""
    return re.sub(r"\d{4}-\d{2}-\d{2}", "D", path)


def measure_pages(bench: Bench, size: int, rounds: int = 5) -> tuple[list[dict], dict]:
    timings = page_timings(bench, rounds)
    rows = [row(f"{_short(path)} at {size_label(size)} ({bench.kind})", ours * 1000, "ms", base * 1000, "ms sign-in",
                ratio, f"<= {PAGE_TARGET:g}x", ratio <= PAGE_TARGET)
            for path, (ours, base, ratio) in timings.items()]
    return rows, {_short(p): t for p, t in timings.items()}


def page_growth(kind: str, small: int, large: int, at_small: dict, at_large: dict) -> list[dict]:
    """Each page's ratio to the sign-in page at the largest size over the same at the smallest: the growth
    of its cost, the machine's speed divided out."""
    rows = []
    for path, (_, _, big) in at_large.items():
        if path not in at_small:
            continue
        little = at_small[path][2]
        growth = big / little
        rows.append(row(f"{path} growth {size_label(small)}->{size_label(large)} ({kind})", big, "x sign-in",
                        little, "x sign-in", growth, f"<= {GROWTH_TARGET:g}x", growth <= GROWTH_TARGET))
    return rows


# ----------------------------------------------------------------------------------------------- tracking

def tracking_sample(bench: Bench, n: int = 500, seed: int = 1) -> list[tuple[str, str]]:
    """(case number, check code) of `n` cases picked at random: the check codes opened with the sealer."""
    from tracking.model.tables import Case
    with bench.session() as session:
        top = session.exec(select(func.max(Case.id))).one() or 0
        rng = random.Random(seed)
        ids = sorted({rng.randint(1, top) for _ in range(n * 2)}) if top else []
        picked = []
        for chunk in range(0, len(ids), 500):
            picked += session.exec(select(Case.case_no, Case.check_code_sealed)
                                   .where(Case.id.in_(ids[chunk:chunk + 500]), Case.check_code_sealed != "")).all()
    rng.shuffle(picked)
    return [(case_no, bench.env.sealer.open(sealed)) for case_no, sealed in picked[:n]]


def tracking_timings(bench: Bench, n: int = 500) -> list[float]:
    sample = tracking_sample(bench, n)
    client = bench.app.test_client()
    out = []
    with bench.pinned():
        for case_no, check in sample[:20]:  # warm: the first look-up loads the calendar and the directory
            client.get(f"/api/v1/track/{case_no}?check={check}")
        for case_no, check in sample:
            t0 = time.perf_counter()
            r = client.get(f"/api/v1/track/{case_no}?check={check}")
            out.append(time.perf_counter() - t0)
            assert r.status_code == 200, (case_no, r.status_code, r.text[:200])
    return out


def measure_tracking(bench: Bench, size: int, first: tuple[int, float, float] | None = None
                     ) -> tuple[list[dict], tuple[int, float, float]]:
    """p50 and p99 of the public API look-up (case number and check code) in-process; against the same
    at the first size measured."""
    times = tracking_timings(bench)
    p50, p99 = percentile(times, 50) * 1000, percentile(times, 99) * 1000
    here = (size, p50, p99)
    base = first or here
    label = f"tracking look-up at {size_label(size)} ({bench.kind}), {len(times)} cases"
    rows = [row(f"{label} p50", p50, "ms", base[1], f"ms at {size_label(base[0])}", p50 / base[1]),
            row(f"{label} p99", p99, "ms", base[2], f"ms at {size_label(base[0])}", p99 / base[2],
                f"<= {TRACK_P99_MS:g} ms", p99 <= TRACK_P99_MS)]
    if first is not None and first[0] != size:
        growth = p99 / first[2]
        rows.append(row(f"tracking look-up p99 growth {size_label(first[0])}->{size_label(size)} ({bench.kind})",
                        p99, "ms", first[2], "ms", growth, f"<= {GROWTH_TARGET:g}x", growth <= GROWTH_TARGET))
    return rows, here


# ------------------------------------------------------------------------------------------------- intake

def measure_intake(bench: Bench, n: int = 300) -> list[dict]:
    """`n` intakes through the use case in-process: parse (validation), routing, sealing, the packet and the
    events, and the commit."""
    from bench.deadlines import CLERK, _intake
    from tracking.commands import intake
    times = []
    with bench.session() as session, bench.pinned():
        for i in range(n + 10):
            t0 = time.perf_counter()
            intake.register_case(session, bench.env, CLERK, _intake(session, i))
            session.commit()
            if i >= 10:  # the first few load the directory and the calendar
                times.append(time.perf_counter() - t0)
    p50, p99 = percentile(times, 50) * 1000, percentile(times, 99) * 1000
    label = f"intake ({bench.kind}, {n} cases, {size_label(bench.sizes_done[-1]) if bench.sizes_done else 0} in the db)"
    return [row(f"{label} p50", p50, "ms", note="parse, route, seal, packet, events, commit"),
            row(f"{label} p99", p99, "ms", target=f"<= {INTAKE_P99_MS:g} ms", met=p99 <= INTAKE_P99_MS)]


# -------------------------------------------------------------------------------------------------- sweep

def due_count(bench: Bench, as_of: date) -> int | None:
    """Cases with an open stage due by `as_of` (the stored deadlines), None where they are not stored."""
    from tracking.model.tables import Case
    column = getattr(Case, "open_stage_due", None)
    if column is None:
        return None
    with bench.session() as session:
        return session.exec(select(func.count()).select_from(Case).where(column <= as_of)).one()


def day_with_due(bench: Bench, share: float, today: date) -> date:
    """The day by which about `share` of what is due today was due (the stored deadlines' quantile)."""
    from tracking.model.tables import Case
    column = getattr(Case, "open_stage_due", None)
    if column is None:
        return today
    with bench.session() as session:
        total = session.exec(select(func.count()).select_from(Case).where(column <= today)).one()
        if not total:
            return today
        found = session.exec(select(column).where(column <= today).order_by(column)
                             .offset(max(0, int(total * share) - 1)).limit(1)).first()
    return found or today


def run_sweep(bench: Bench, as_of: date) -> tuple[float, float, str]:
    """`flask sweep --as-of` in a subprocess: (seconds, its peak RSS in MB, its last line)."""
    return run_flask(bench, ["sweep", "--as-of", as_of.isoformat()])


# Runs flask and, as it exits, writes its peak RSS (VmHWM, kB) to the file named by its first argument. Not
# ru_maxrss: Linux carries into a child the peak of the process it was forked from (the bench, after it
# generated a million cases, is larger than any sweep), so wait4's figure was the bench's own size.
_PEAK = """import atexit, runpy, sys
def peak(path=sys.argv.pop(1)):
    with open("/proc/self/status") as status, open(path, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(peak)
sys.argv[0] = "flask"
runpy.run_module("flask", run_name="__main__", alter_sys=True)
"""


def run_flask(bench: Bench, args: list[str]) -> tuple[float, float, str]:
    """A flask command in a subprocess over the bench's database: (seconds, its peak RSS in MB, its last line)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _PEAK, peak.name, "--app", "app", *args],
                                env=bench.environment(), stdout=out, stderr=err)
        proc.wait()
        took = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        said, failed = out.read().strip(), err.read()
        kilobytes = peak.read().strip()
    if proc.returncode != 0:
        raise RuntimeError(f"flask {args[0]} failed: {failed[-500:]}")
    return took, int(kilobytes) / 1024 if kilobytes else float("nan"), (said.splitlines() or [""])[-1]


def measure_sweep(bench: Bench, size: int) -> list[dict]:
    """The sweep over the whole database as it stands, first as of the day by which a tenth of today's due
    stages were due, then as of today (the first run's work is then not done again): time per due case
    should stay flat, and the peak memory bounded."""
    today = (bench.as_of or clock.beijing_date())
    early = day_with_due(bench, 0.1, today)
    due_early, due_today = due_count(bench, early), due_count(bench, today)
    started, _, _ = run_flask(bench, ["routes"])  # the process's start alone: imports, the app, no work
    t_early, rss_early, _ = run_sweep(bench, early)
    t_today, rss_today, said = run_sweep(bench, today)
    label = f"sweep over {size_label(size)} ({bench.kind})"
    rows = [row(f"{label}, {due_today if due_today is not None else '?'} due: peak RSS", rss_today, "MB",
                target=f"<= {SWEEP_RSS_MB:g} MB", met=rss_today <= SWEEP_RSS_MB,
                note="VmHWM of the sweep's process (its own peak)"),
            row(f"{label}, {due_today if due_today is not None else '?'} due: time", t_today, "s",
                t_early, f"s with {due_early if due_early is not None else '?'} due", t_today / t_early if t_early else None,
                note=said[:120])]
    if due_early is not None and due_today and due_early != due_today:
        # time = fixed + per_case * due, through the two runs: the fixed part is the process's start and
        # whatever the sweep reads regardless of what is due (a walk of the whole table would show here)
        per_case = (t_today - t_early) / (due_today - due_early)
        fixed = max(0.0, t_today - per_case * due_today - started)
        rows.append(row(f"{label}: the part not proportional to what is due", fixed, "s", t_today,
                        f"s the whole run ({due_today} due)", fixed / t_today, "<= 0.25x", fixed / t_today <= 0.25,
                        note=f"fitted through the two runs: {per_case * 1000:.1f} ms per due case, less "
                             f"{started:.1f} s for the process's start (flask routes)"))
    return rows
