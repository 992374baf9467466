"""The busiest pages with many cases in the database, against a page that reads nothing, in the same run.

    .venv/bin/python -m bench.pages [--cases 2000] [--rounds 5]

Builds `cases` cases as `bench.deadlines` does, signs in a clerk, an officer and a supervisor, and times
each page in a pair with the sign-in page (a template and no query) run back to back, so that a shared
machine's noise lands on a pair and not on a side. Prints each page's median milliseconds and its median
ratio to the sign-in page.
"""
from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench.deadlines import build
from config import clock
from config.database import new_session
from routing.reference import load_reference_data

PASSWORD = "bench-password"
PAGES = {"bench-clerk": ["/window", "/window/packets", "/window/cases"],
         "bench-officer": ["/office", "/office/cases?status=received"],
         "bench-supervisor": ["/supervise?as_of=2026-03-20", "/supervise/stats?since=2026-03-01&until=2026-03-31"]}


def _signed_in(app, username: str):
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.text
    return client


def _timed(client, path: str) -> float:
    t0 = time.perf_counter()
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from app import create_app
    from app.users import create_user
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"database_url": f"sqlite:///{Path(tmp) / 'bench.db'}", "instance_path": Path(tmp)})
        tongban = app.extensions["tongban"]
        from app.schema import upgrade
        upgrade(tongban["engine"])
        with new_session(tongban["engine"]) as session:
            load_reference_data(session)
            for username, role, office in [("bench-clerk", "clerk", "H140902"),
                                           ("bench-officer", "officer", "D140105-GA"),
                                           ("bench-supervisor", "supervisor", None)]:
                create_user(session, username, role, PASSWORD, office)
            session.commit()
            t0 = time.perf_counter()
            build(session, tongban["env"], args.cases)
            print(f"built {args.cases} cases in {time.perf_counter() - t0:.1f} s")
        # the cases were made in March 2026: the pages look at them from a day that month
        with clock.pinned(clock.beijing(clock.now()).replace(year=2026, month=3, day=20)):
            for username, paths in PAGES.items():
                client = _signed_in(app, username)
                for path in paths:
                    _timed(client, path)  # warm: templates compiled, directory loaded
                    pairs = [(_timed(client, "/login"), _timed(client, path)) for _ in range(args.rounds)]
                    ours = statistics.median(p[1] for p in pairs)
                    ratio = statistics.median(p[1] / p[0] for p in pairs)
                    print(f"{path:55s} {ours * 1000:7.1f} ms  {ratio:6.1f}x the sign-in page")
        tongban["engine"].dispose()


if __name__ == "__main__":
    main()
