"""Reference data: loads config/data into the database and builds the in-memory directory."""
from __future__ import annotations

import csv
import threading
import weakref
import time
from pathlib import Path
from typing import Callable, TypeVar

import yaml
from sqlalchemy import event, text
from sqlmodel import Session, select

from config.database import query_only
from config.settings import DATA_DIR
from routing.directory import Directory, Place, Post
from routing.tables import Department, Division, Matter, Office


T = TypeVar("T")


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
                "legal_days", "promised_days", "result_types", "materials")} | {"steps": item.get("steps") or []},
                added, "matters")
    session.flush()
    reference_changed(session)
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


# -- reference data cached per process ---------------------------------------------------------------
#
# The calendar, the directory and the matters change rarely and are read by nearly every request: each
# process keeps them per database (by URL, so tests on different databases never mix). Every edit moves a
# version on (a row of the counter table, in the edit's own transaction) and drops this process's copies
# when it commits; another process sees the version move: a session that may write asks once (and then
# every CHECK_EVERY seconds), so what it writes never rests on an older copy, and one that only reads trusts
# the process's copies for CHECK_EVERY seconds. Only a transaction that began after the last drop stores
# what it built: an older one may still see the data before the edit.

VERSION = "reference_version"  # the name of the counter row (mailing's counter table: routing may not import it)
CHECK_EVERY = 2.0


class _Copies:
    def __init__(self, version: int, checked: float):
        self.version, self.checked, self.values = version, checked, {}


_caches: dict[str, _Copies] = {}
_keys: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # engine -> its URL as the caches' key
_lock = threading.Lock()
_generation = 0  # moves on at every drop of the copies


@event.listens_for(Session, "after_begin")
def _began(session, _transaction, _connection) -> None:
    session.info["reference_generation"] = _generation


def _version(session: Session) -> int:
    return session.execute(text("SELECT value FROM counter WHERE name = :name"), {"name": VERSION}).scalar() or 0


def cached(session: Session, name: str, build: Callable[[Session], T]) -> T:
    """This process's copy of `name` for the session's database, built by `build(session)` when missing
    or older than the database's version. A session that changed the reference data itself builds its own."""
    if session.info.get("reference_changed"):
        return build(session)  # not committed yet: no other request may see it
    engine = session.get_bind().engine  # an Engine, or a migration's Connection
    key = _keys.get(engine)
    if key is None:  # rendering the URL each time cost more than the look-up itself
        key = _keys[engine] = str(engine.url)
    now = time.monotonic()
    with _lock:
        copies = _caches.get(key)
    if copies is None or _due(session, copies, now):
        version = _version(session)
        session.info["reference_checked"] = now
        with _lock:
            if not _current(session):
                copies = None  # this transaction may see less than the process already knows
            else:
                copies = _caches.get(key)
                if copies is None or copies.version != version:
                    copies = _caches[key] = _Copies(version, now)
                copies.checked = now
    if copies is not None and name in copies.values:
        return copies.values[name]
    value = build(session)
    with _lock:
        if copies is not None and _current(session) and _caches.get(key) is copies:
            copies.values[name] = value
    return value


def _current(session: Session) -> bool:
    return session.info.get("reference_generation") == _generation


def _due(session: Session, copies: _Copies, now: float) -> bool:
    if query_only(session):
        return now - copies.checked >= CHECK_EVERY
    checked = session.info.get("reference_checked")  # a long session (a command) asks again now and then
    return checked is None or now - checked >= CHECK_EVERY


def reference_changed(session: Session) -> None:
    """Called by every edit of the reference data, in its transaction: moves the version on (other
    processes drop their copies once it commits) and drops this process's copies now and when it ends."""
    session.execute(text("INSERT INTO counter (name, value) VALUES (:name, 1) "
                         "ON CONFLICT (name) DO UPDATE SET value = counter.value + 1"), {"name": VERSION})
    invalidate_reference()
    if not session.info.get("reference_changed"):
        session.info["reference_changed"] = True

        def _ended(ended: Session, *_args) -> None:
            ended.info.pop("reference_changed", None)
            invalidate_reference()
        event.listen(session, "after_commit", _ended, once=True)
        event.listen(session, "after_soft_rollback", _ended, once=True)


def invalidate_reference() -> None:
    """Drops this process's copies of every database's reference data (the next read rebuilds them)."""
    global _generation
    with _lock:
        _caches.clear()
        _generation += 1


invalidate_directory = invalidate_reference  # the name the callers of an earlier release use


def directory(session: Session) -> Directory:
    """The directory of divisions and active offices."""
    return cached(session, "directory", _build_directory)


def _build_directory(session: Session) -> Directory:
    places = {d.code: Place(d.code, d.name, d.level, d.parent_code, d.lat, d.lon)
              for d in session.exec(select(Division))}
    posts = {o.code: Post(o.code, o.name, o.kind, o.division_code, o.department, o.serves, o.lat, o.lon)
             for o in session.exec(select(Office).where(Office.active == True))}  # noqa: E712
    return Directory(places, posts)


def matters(session: Session) -> dict[str, Matter]:
    """Every matter by code, active or not, for reading only: copies shared by the process's requests,
    attached to no session (an edit loads the row itself: app.reference_admin)."""
    return cached(session, "matters", _build_matters)


def matter(session: Session, code: str) -> Matter | None:
    return matters(session).get(code)


def _build_matters(session: Session) -> dict[str, Matter]:
    table = Matter.__table__
    return {row.code: Matter(**row._mapping) for row in session.execute(select(table).order_by(table.c.code))}
