"""Public tracking over HTTP: gunicorn with 2 workers serving the app, against a hello-world Flask app under the
same gunicorn, both loaded by wrk in the same run. The app is measured as configured (each worker keeps a
right code's answer TONGBAN_TRACK_CACHE_SECONDS, app.answer_cache), then with nothing kept, for the record.
The rate limits count in Redis when a local one answers, as a service with several workers is set up.

    measure(bench, cases) -> rows      (bench: a bench.scale.Bench; its database is copied when it is SQLite)

wrk (Debian package `wrk`) runs `-t2 -c8 -d4s --latency`, cycling through look-ups of `cases` real cases
(case number and check code), so that no single row stays hot. The three servers run side by side (an idle
one waits in accept) and are loaded in turn, ROUNDS times: hello-world, the app, the app with nothing kept.
The figure is the median requests per second, and the ratio the median of each round's ratio, so that a
shared machine's noise lands on a round and not on a side (one 10 s run each gave 0.41x to 0.64x for the
same code). The note holds the latency p99 and any non-2xx answers (a refusal is cheaper than a look-up
and would flatter us).
"""
from __future__ import annotations

import re
import shutil
import sqlite3
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.scale import row, size_label, tracking_sample

TARGET = 0.5
WRK_ARGS = ["-t2", "-c8", "-d4s", "--latency"]
ROUNDS = 5
REDIS = "redis://127.0.0.1:6379/14"

HELLO = '''from flask import Flask

app = Flask(__name__)


@app.get("/", defaults={"path": ""})
@app.get("/<path:path>")
def hello(path):
    return "hello"
'''

# wrk's Lua hook: each request the next path of the list
SCRIPT = '''local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
'''


def _redis() -> str | None:
    """A local Redis for the rate limits' counts, when one answers (a database of its own, emptied first)."""
    try:
        import redis
        client = redis.Redis.from_url(REDIS, socket_timeout=2)
        client.flushdb()
        return REDIS
    except Exception:  # noqa: BLE001 - none here: the counts stay in each worker's memory
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn(app_spec: str, env: dict, cwd: Path, port: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                             app_spec], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn {app_spec} exited: {proc.stderr.read()[-500:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"gunicorn {app_spec} did not answer within 60 s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def parse_wrk(output: str) -> dict:
    """Requests/sec, the 99% latency in milliseconds and the non-2xx/3xx count from wrk's report."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\b", output, re.M)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {"rps": rate, "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None,
            "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(0) if errors else ""}


def _wrk(port: int, script: Path, path: str) -> dict:
    done = subprocess.run(["wrk", *WRK_ARGS, "-s", str(script), f"http://127.0.0.1:{port}{path}"],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr[-300:]}")
    return parse_wrk(done.stdout)


def _median_run(runs: list[dict]) -> dict:
    """The rounds of one server: the median rate and p99, every non-2xx answer and socket error."""
    return {"rps": statistics.median(r["rps"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs if r["p99_ms"] is not None),
            "non_2xx": sum(r["non_2xx"] for r in runs),
            "socket_errors": "; ".join(r["socket_errors"] for r in runs if r["socket_errors"])}


def measure(bench, cases: int, sample: int = 200) -> list[dict]:
    figure = f"tracking over HTTP, gunicorn 2 workers, wrk -c8 ({bench.kind}, {size_label(cases)})"
    if shutil.which("wrk") is None:
        return [row(figure, 0, "req/s", target=f">= {TARGET:g}x", note="skipped: wrk is not installed "
                    "(Debian package wrk)")]
    if not Path(sys.executable).with_name("gunicorn").exists():
        return [row(figure, 0, "req/s", target=f">= {TARGET:g}x", note="skipped: gunicorn is not installed")]
    paths = [f"/api/v1/track/{no}?check={check}" for no, check in tracking_sample(bench, sample, seed=2)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = bench.environment()
        if bench.kind == "sqlite":
            # a copy: what the look-ups write (access-log rows) never reaches the database the other figures use
            # SQLite's online backup, never a file copy: closing a descriptor of the database file would drop
            # this process's locks on it, and the next writer beside it could corrupt it
            source = sqlite3.connect(bench.url.split("///", 1)[1])
            with sqlite3.connect(tmp / "http.db") as copy:
                source.backup(copy)
            source.close()
            env["TONGBAN_DATABASE_URL"] = f"sqlite:///{tmp / 'http.db'}"
        (tmp / "hello.py").write_text(HELLO)
        script = tmp / "paths.lua"
        script.write_text(SCRIPT % ", ".join(f'"{p}"' for p in paths))
        redis = _redis()
        if redis:  # as a service with several workers is set up (README): the per-client counts in Redis
            env["TONGBAN_RATE_LIMIT_STORAGE"] = redis
        servers = {}
        try:
            for name, spec, cwd in (("hello", "hello:app", tmp), ("ours", "app:create_app()", Path.cwd()),
                                    ("uncached", "app:create_app()", Path.cwd())):
                port = _free_port()
                # the service as configured (answers kept TONGBAN_TRACK_CACHE_SECONDS), then never kept
                servers[name] = (port, _gunicorn(spec, env | ({"TONGBAN_TRACK_CACHE_SECONDS": "0"}
                                                              if name == "uncached" else {}), cwd, port))
                _wrk(port, script, paths[0])  # warm: every worker has loaded what a look-up needs
            runs = {name: [] for name in servers}
            for _ in range(ROUNDS):
                for name, (port, _) in servers.items():
                    runs[name].append(_wrk(port, script, paths[0]))
        finally:
            for _, proc in servers.values():
                _stop(proc)
    results = {name: _median_run(found) for name, found in runs.items()}
    for name in ("ours", "uncached"):
        rounds = [o["rps"] / h["rps"] for o, h in zip(runs[name], runs["hello"])]
        results[name] |= {"ratio": statistics.median(rounds), "spread": f"rounds {min(rounds):.2f}-{max(rounds):.2f}x"}
    ours, hello = results["ours"], results["hello"]
    ratio = ours["ratio"]
    note = f"{ours['spread']}; p99 {ours['p99_ms']:.1f} ms (hello-world {hello['p99_ms']:.1f} ms)"
    if ours["non_2xx"]:
        note += f"; {ours['non_2xx']} answers not 2xx"
    if ours["socket_errors"]:
        note += f"; {ours['socket_errors']}"
    uncached = results["uncached"]
    return [row(figure, ours["rps"], "req/s", hello["rps"], "req/s hello-world", ratio, f">= {TARGET:g}x",
                ratio >= TARGET and not ours["non_2xx"], note),
            row(f"{figure}, answers never kept", uncached["rps"], "req/s", hello["rps"], "req/s hello-world",
                uncached["ratio"], note=f"{uncached['spread']}; p99 {uncached['p99_ms']:.1f} ms"
                + (f"; {uncached['non_2xx']} answers not 2xx" if uncached["non_2xx"] else ""))]
