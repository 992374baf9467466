"""The busiest pages with many cases in the database, against a page that reads nothing, in the same run.

    .venv/bin/python -m bench.pages [--cases 2000] [--rounds 5]

Builds `cases` cases in a fresh SQLite database (bench.scale.grow: the bulk generator, or the use cases one
by one where it is missing), signs in a clerk, an officer and a supervisor, and times each page in a pair
with the sign-in page (a template and no query) run back to back, so that a shared machine's noise lands on
a pair and not on a side. Prints each page's median milliseconds and its median ratio to the sign-in page.
`python -m bench` measures the same pages at several sizes (bench.scale.measure_pages).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.scale import grow, open_bench, page_timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bench = open_bench(None, Path(tmp))
        try:
            grow(bench, args.cases)
            for path, (ours, _, ratio) in page_timings(bench, args.rounds).items():
                print(f"{path:55s} {ours * 1000:7.1f} ms  {ratio:6.1f}x the sign-in page")
        finally:
            bench.close()


if __name__ == "__main__":
    main()
