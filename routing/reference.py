"""Reference data: loads config/data into the database and builds the in-memory directory."""
from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import yaml
from sqlmodel import Session, select

from config.settings import DATA_DIR
from routing.directory import Directory, Place, Post
from routing.tables import Department, Division, Matter, Office


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _upsert(session: Session, model, key: str, values: dict, counts: dict, name: str) -> None:
    """Adds a missing row; refreshes one nobody edited (tables without `edited` are never edited)."""
    obj = session.get(model, key)
    if obj is None:
        session.add(model(code=key, **values))
        counts[name] += 1
    elif not getattr(obj, "edited", False):
        for k, v in values.items():
            setattr(obj, k, v)


def _provincial_hub(row: dict) -> bool:
    """A hub serving a province: the gateway mail between provinces passes."""
    return row["kind"] == "hub" and len(row["serves"]) == 6 and row["serves"].endswith("0000")


def load_reference_data(session: Session, data_dir: Path = DATA_DIR,
                        own_prefixes: tuple[str, ...] = ()) -> dict[str, int]:
    """Adds what is missing and refreshes rows nobody edited; never overwrites an admin's edit.
    `own_prefixes` (a federation node's divisions): only those offices and every provincial hub are loaded;
    the peers' own offices come from their signed directories. Divisions and matters stay national."""
    added = {"divisions": 0, "departments": 0, "offices": 0, "matters": 0}
    for row in _rows(data_dir / "divisions.csv"):
        _upsert(session, Division, row["code"], dict(
            name=row["name"], level=row["level"], parent_code=row["parent_code"] or None,
            lat=float(row["lat"]), lon=float(row["lon"])), added, "divisions")
    for row in _rows(data_dir / "departments.csv"):
        _upsert(session, Department, row["code"], dict(name=row["name"]), added, "departments")
    session.flush()
    for row in _rows(data_dir / "offices.csv"):
        if own_prefixes and not (row["division_code"].startswith(tuple(own_prefixes)) or _provincial_hub(row)):
            continue
        _upsert(session, Office, row["code"], dict(
            name=row["name"], kind=row["kind"], division_code=row["division_code"],
            department=row["department"] or None, serves=row["serves"] or None, address=row["address"],
            postcode=row["postcode"], phone=row["phone"], lat=float(row["lat"]), lon=float(row["lon"])),
            added, "offices")
    with (data_dir / "matters.yaml").open(encoding="utf-8") as f:
        for item in yaml.safe_load(f):
            _upsert(session, Matter, item["code"], {k: item[k] for k in (
                "name", "department", "type", "legal_basis", "level", "modes", "jurisdiction", "applicant_kinds",
                "legal_days", "promised_days", "result_types", "materials")}, added, "matters")
    session.flush()
    invalidate_directory()
    return added


def search_matters(session: Session, q: str = "", mode: str | None = None) -> list[Matter]:
    """The active matters, by code, that offer `mode` (e.g. proxy) and hold `q` in their name or code
    (codes compared in upper case). One rule for the API's catalogue search and the window's."""
    q = (q or "").strip()
    rows = session.exec(select(Matter).where(Matter.active == True).order_by(Matter.code)).all()  # noqa: E712
    return [m for m in rows if (not mode or mode in m.modes) and (not q or q in m.name or q.upper() in m.code)]


def department_names(session: Session) -> dict[str, str]:
    """Department code → name (公安户政 …), for showing a matter's owning department."""
    return {d.code: d.name for d in session.exec(select(Department))}


_cache: dict[str, tuple[float, Directory]] = {}
_lock = threading.Lock()
_TTL_SECONDS = 60.0  # offices change rarely; an edit in another process shows within a minute


def invalidate_directory() -> None:
    with _lock:
        _cache.clear()


def directory(session: Session) -> Directory:
    """The directory of divisions and active offices, built once a minute per database."""
    key = str(session.get_bind().url)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < _TTL_SECONDS:
            return hit[1]
    places = {d.code: Place(d.code, d.name, d.level, d.parent_code, d.lat, d.lon)
              for d in session.exec(select(Division))}
    posts = {o.code: Post(o.code, o.name, o.kind, o.division_code, o.department, o.serves, o.lat, o.lon)
             for o in session.exec(select(Office).where(Office.active == True))}  # noqa: E712
    built = Directory(places, posts)
    with _lock:
        _cache[key] = (now, built)
    return built
