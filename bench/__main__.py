"""`python -m bench` (make bench): every figure of issue 17 in one table, and bench/results.json.

    .venv/bin/python -m bench [--sizes 10000,100000] [--database-url URL] [--databases sqlite,postgresql]
                              [--only labels,scans,pages,tracking,http,intake,sweep] [--rounds 5]

Without --sizes: SQLite at 10k and 100k cases, PostgreSQL at 10k, 100k and 1M. PostgreSQL is the database
TONGBAN_BENCH_PG_URL names, or else a scratch database on the local server (dropped after), or skipped when
none answers. --database-url measures that one database only. Each database grows in place from one size to
the next, and every size-dependent figure is measured at every size.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

from bench import report, scale

SECTIONS = ("labels", "scans", "pages", "tracking", "http", "intake", "sweep")
SIZES = {"sqlite": [10_000, 100_000], "postgresql": [10_000, 100_000, 1_000_000]}


class Run:
    """The rows so far, printed as they come and written after each section (a crash keeps what was done)."""

    def __init__(self, out: Path):
        self.rows: list[dict] = []
        self.databases: dict[str, str] = {}
        self.out = out

    def add(self, rows: list[dict]) -> None:
        rows = [report.normalise(r) for r in rows]
        for r in rows:
            print(f"    {' '.join(c for c in report.cells(r) if c != '—')}", flush=True)
        self.rows += rows
        report.write(self.rows, self.databases, self.out)

    def attempt(self, figure: str, fn, *args, **kwargs):
        """A figure that fails becomes a row that says so; the others are still measured."""
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - reported in the table, with the traceback above it
            traceback.print_exc()
            self.add([scale.row(figure, 0, "", note=f"failed: {type(e).__name__}: {str(e)[:200]}")])
            return None


def measure_database(run: Run, url: str | None, sizes: list[int], only: set[str], rounds: int,
                     generator: str = "") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench = scale.open_bench(url, Path(tmp))
        bench.generator = generator
        run.databases[bench.kind] = report.database_version(bench.engine)
        print(f"== {run.databases[bench.kind]}: sizes {', '.join(map(scale.size_label, sizes))}", flush=True)
        pages_at, tracking_first = {}, None
        try:
            for size in sizes:
                grown = run.attempt(f"cases generated up to {scale.size_label(size)} ({bench.kind})",
                                    scale.grow, bench, size)
                if grown is None:
                    break  # the sizes after it would measure the same database again
                run.add([grown])
                if "pages" in only:
                    found = run.attempt(f"pages at {scale.size_label(size)} ({bench.kind})",
                                        scale.measure_pages, bench, size, rounds)
                    if found:
                        run.add(found[0])
                        pages_at[size] = found[1]
                if "tracking" in only:
                    found = run.attempt(f"tracking look-up at {scale.size_label(size)} ({bench.kind})",
                                        scale.measure_tracking, bench, size, tracking_first)
                    if found:
                        run.add(found[0])
                        tracking_first = tracking_first or found[1]
                if "http" in only and bench.kind == "sqlite" and size == sizes[0]:
                    from bench import http
                    run.add(run.attempt("tracking over HTTP", http.measure, bench, size) or [])
            if len(pages_at) > 1:
                small, large = min(pages_at), max(pages_at)
                run.add(scale.page_growth(bench.kind, small, large, pages_at[small], pages_at[large]))
            if "sweep" in only:
                run.add(run.attempt(f"sweep ({bench.kind})", scale.measure_sweep, bench, sizes[-1]) or [])
            if "intake" in only and bench.kind == "sqlite":
                run.add(run.attempt("intake", scale.measure_intake, bench) or [])
        finally:
            bench.close()


def postgres(url: str | None):
    """The PostgreSQL database to measure: the one named, or a scratch one on the local server."""
    return nullcontext(url) if url else scale.local_postgres()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", help="comma-separated case counts, e.g. 10000,100000 (default: per database)")
    parser.add_argument("--database-url", help="measure only this database (SQLite or PostgreSQL URL)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"any of {','.join(SECTIONS)}")
    parser.add_argument("--rounds", type=int, default=5, help="pairs per page")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    parser.add_argument("--generator", choices=("auto", "synth", "build"), default="auto",
                        help="app.synth (auto: when present) or bench.deadlines.build (the use cases, slow)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    run = Run(args.out)
    t0 = time.perf_counter()
    kinds = [k.strip() for k in args.databases.split(",")]
    if args.database_url:
        kinds = ["postgresql" if args.database_url.startswith("postgresql") else "sqlite"]

    if "labels" in only:
        from bench import labels
        if hasattr(labels, "measure"):
            print("== labels", flush=True)
            run.add(run.attempt("labels", labels.measure) or [])
        else:
            run.add([scale.row("labels", 0, "", note="skipped: bench.labels has no measure() yet")])

    with postgres(args.database_url if kinds == ["postgresql"] else os.environ.get("TONGBAN_BENCH_PG_URL")) as pg:
        if "postgresql" in kinds and pg is None:
            run.add([scale.row("PostgreSQL figures", 0, "", note="skipped: set TONGBAN_BENCH_PG_URL or run a local "
                               "PostgreSQL server that user postgres can createdb on")])
        if "scans" in only:
            try:
                from bench import scans
            except ImportError:
                scans = None
            if scans is None or not hasattr(scans, "measure"):
                run.add([scale.row("scans", 0, "", note="skipped: bench.scans.measure() is missing")])
            else:
                print("== scans", flush=True)
                for kind in kinds:
                    if kind == "sqlite":
                        run.add(run.attempt("scans (sqlite)", scans.measure) or [])
                    elif pg is not None:
                        # its own scratch database: the scans bench registers cases of its own (one hall, keys
                        # of its own), which must not join the cases the pages and look-ups are measured on
                        with scale.local_postgres(f"tongban_bench_scans_{os.getpid()}") as scans_url:
                            if scans_url is None:
                                run.add([scale.row("scans (postgresql)", 0, "", note="skipped: no scratch database "
                                                   "(the local server's createdb) beside --database-url")])
                            else:
                                run.add(run.attempt("scans (postgresql)", scans.measure, database_url=scans_url) or [])
        for kind in kinds:
            if kind == "postgresql" and pg is None:
                continue
            url = pg if kind == "postgresql" else (args.database_url if kinds == ["sqlite"] else None)
            measure_database(run, url, sizes or SIZES[kind], only, args.rounds,
                             {"auto": "", "synth": "app.synth", "build": "bench.deadlines.build"}[args.generator])

    print(f"\n== issue 17 figures ({time.perf_counter() - t0:.0f} s), written to {args.out}\n")
    print(report.table(run.rows))
    if args.markdown:
        print("\n" + report.markdown(run.rows))


if __name__ == "__main__":
    main()
