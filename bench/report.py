"""One table of every figure (ours, the baseline in the same run, the ratio, the target, met?) and
bench/results.json: the same rows and what machine produced them."""
from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")
COLUMNS = ("figure", "ours", "baseline", "ratio", "target", "met?")


KEYS = ("figure", "ours", "ours_unit", "baseline", "baseline_unit", "ratio", "target", "met", "note")


def normalise(r: dict) -> dict:
    """A row in the agreed shape, whatever a module returned: every key present; a baseline given as text
    ("raw executemany: 237,441 rows/s") kept as that text."""
    out = {k: r.get(k) for k in KEYS}
    out["figure"] = str(out["figure"] or "?")
    out["ours_unit"], out["note"], out["target"] = out["ours_unit"] or "", out["note"] or "", out["target"] or ""
    if isinstance(out["baseline"], str):
        out["baseline"], out["baseline_unit"] = None, None if out["baseline"] in ("", "—") else out["baseline"]
    return out


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cells(r: dict) -> tuple[str, ...]:
    ours = f"{_number(r['ours'])} {r['ours_unit']}".strip()
    base = f"{_number(r['baseline'])} {r['baseline_unit'] or ''}".strip() if r.get("baseline") is not None \
        else r.get("baseline_unit") or "—"
    ratio = f"{_number(r['ratio'])}x" if r.get("ratio") is not None else "—"
    met = {True: "yes", False: "NO", None: "—"}[r.get("met")]
    target = r.get("target")
    if isinstance(target, (int, float)):  # a bare ratio (bench.labels): at least that share of the baseline
        target = f">= {target:g}x"
    return (r["figure"], ours, base, ratio, target or "—", met)


def table(rows: list[dict]) -> str:
    lines = [COLUMNS, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) if i < 4 else c.ljust(w)
                             for i, (c, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  {r['figure']}: {r['note']}" for r in rows if r.get("note")]
    return "\n".join(out + (["", "notes:"] + notes if notes else []))


def markdown(rows: list[dict]) -> str:
    """The same table for the README."""
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in rows]
    return "\n".join(out)


def machine(databases: dict[str, str] | None = None) -> dict:
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpu_count": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(), "python": sys.version.split()[0],
            "platform": platform.platform(), "databases": databases or {}}


def database_version(engine) -> str:
    from sqlalchemy import text
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + conn.execute(text("select sqlite_version()")).scalar()
        return conn.execute(text("select version()")).scalar().split(" on ")[0]


def write(rows: list[dict], databases: dict[str, str] | None = None, path: Path = RESULTS) -> Path:
    path.write_text(json.dumps({"machine": machine(databases), "rows": rows}, ensure_ascii=False, indent=1) + "\n",
                    encoding="utf-8")
    return path
