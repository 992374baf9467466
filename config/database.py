"""The database engine: SQLite (WAL) by default, PostgreSQL when configured."""
from __future__ import annotations

import contextlib
import os
from datetime import timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import Column, DateTime, event
from sqlalchemy.types import TypeDecorator
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # We issue BEGIN ourselves (see 'begin' below) instead of the driver's deferred one.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # A session that may write takes the write lock up front, so a read-then-write never
            # fails on a snapshot another writer moved; read-only sessions don't block writers.
            options = conn.get_execution_options()
            reads = bool(options.get("query_only"))
            if conn.info.get("query_only", False) != reads:
                # a request that only reads cannot write by mistake: SQLite refuses (set only on a change,
                # as the pooled connection goes from reading requests to writing ones)
                conn.exec_driver_sql(f"PRAGMA query_only={int(reads)}")
                conn.info["query_only"] = reads
            mode = "DEFERRED" if reads or options.get("read_only") else "IMMEDIATE"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True)


def _private_file(path: Path) -> None:
    """The SQLite file holds everything: created 0600 (in a folder created 0700) before SQLite opens it,
    so its WAL and shared-memory files, which SQLite creates with the database's mode, are private too."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # never open an existing database file here: closing any descriptor of a file drops every POSIX
    # lock this process holds on it, which would break the locks of SQLite connections already open
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if existing.exists() and existing.stat().st_mode & 0o077:  # left readable by an earlier release
            with contextlib.suppress(PermissionError):  # not ours: an operator's choice
                existing.chmod(0o600)


# the settings of the app that made each database's engine, by URL: the session hooks that keep derived
# columns (tracking.model.stage_store) read the limits from them
_settings_by_url: dict[str, object] = {}


def bind_settings(engine: Engine, settings) -> None:
    _settings_by_url[str(engine.url)] = settings


def settings_of(bind) -> object | None:
    """The settings bound to this engine's (or connection's) database, None when no app bound any."""
    return _settings_by_url.get(str(bind.engine.url)) if bind is not None else None


def new_session(engine: Engine, *, read_only: bool = False, query_only: bool = False) -> Session:
    """A unit of work. `read_only`: on SQLite it begins DEFERRED, holding no write lock until it writes.
    `query_only` (a GET request): it cannot write at all (SQLite's query_only, PostgreSQL's READ ONLY
    transactions), so it never waits for nor holds the write lock; the few rows such a read writes go
    through `add_later`/`later` (written when it commits) or `writing` (now), each in a short write
    transaction of its own (a deferred read upgraded to a write fails when another writer went first)."""
    if query_only:
        session = _QuerySession(_reader(engine), expire_on_commit=False)
        session.info["engine"] = engine
        return session
    bind = engine.execution_options(read_only=True) if read_only else engine
    return Session(bind, expire_on_commit=False)


def _reader(engine: Engine) -> Engine:
    """The engine with the options of a session that only reads, made once per engine (one per request
    would make the caches keyed by engine miss every time)."""
    reader = engine.__dict__.get("_tongban_reader")
    if reader is None:
        options = {"query_only": True}
        if engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        reader = engine.__dict__["_tongban_reader"] = engine.execution_options(**options)
    return reader


class _QuerySession(Session):
    """A session that only reads; the writes queued by `later` run when it commits, after its read."""

    def commit(self) -> None:
        pending, self.info["later"] = self.info.get("later") or [], []
        self.end_read()
        if pending:
            with short_write(self.info["engine"]) as session:
                for write in pending:
                    write(session)

    def end_read(self) -> None:
        """Ends the read transaction and gives its connection back (the objects read stay as they are)."""
        super().commit()

    def rollback(self) -> None:
        self.info["later"] = []  # what a failed read would have written goes with it
        super().rollback()

    def close(self) -> None:
        self.info["later"] = []
        super().close()


def query_only(session: Session) -> bool:
    return isinstance(session, _QuerySession)


@contextlib.contextmanager
def short_write(engine: Engine):
    """A write transaction of its own, committed on leaving (rolled back on an error)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.commit()


@contextlib.contextmanager
def writing(session: Session):
    """Where to write now: the session itself when it may write (its caller commits it with the rest of the
    unit of work), or a short write transaction of its own, committed on leaving, when it only reads."""
    if not query_only(session):
        yield session
        return
    # the read's connection goes back first: a request never holds two, or a full pool waits on itself
    session.end_read()
    with short_write(session.info["engine"]) as own:
        yield own


def later(session: Session, write: Callable[[Session], None]) -> None:
    """A write that belongs to the unit of work (kept only if it commits): done now in a session that may
    write, or when a reading session commits, in a short write transaction of its own."""
    if query_only(session):
        session.info.setdefault("later", []).append(write)
    else:
        write(session)


def add_later(session: Session, *rows) -> None:
    """Rows a read writes besides what it reads (an access-log row), as `later` writes them."""
    later(session, lambda own: own.add_all(rows))


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as UTC and read back aware, on SQLite (no time zones) as on PostgreSQL."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the service stores aware times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utc_column(nullable: bool = True) -> Column:
    return Column(UTCDateTime(), nullable=nullable)


def insert_rows(session: Session, table, rows: list[dict]) -> None:
    """Inserts `rows` (dicts of column values) with the driver's executemany, in order: each value through its
    column's bind processor, as a Core insert would, without the Core insert's per-row work of building each
    row's parameters anew (about a fifth of a scanner's batch, bench.scans). Each run of rows with the same
    keys is one executemany (a Core insert would take the first row's keys for all and drop the others');
    a run that leaves out a column whose default is made by a function goes through the Core insert."""
    conn = session.connection()
    start = 0
    while start < len(rows):
        keys = rows[start].keys()
        end = start + 1
        while end < len(rows) and rows[end].keys() == keys:
            end += 1
        run, start = rows[start:end], end
        plan = _insert_plan(conn.dialect, table, tuple(keys))
        if plan is None:
            conn.execute(table.insert(), run)
            continue
        sql, processors, filled = plan
        conn.exec_driver_sql(sql, [tuple(p(row[k]) if p else row[k] for k, p in zip(keys, processors)) + filled
                                   for row in run])


_INSERT_PLANS: dict = {}


def _insert_plan(dialect, table, keys: tuple[str, ...]):
    """(SQL, a bind processor per key, the values of the columns left out with a constant default), or None
    when a left-out column's default is made by a function. A column left out with no default of its own
    gets the database's (a server default, or NULL), as from a Core insert."""
    plan_key = (type(dialect), table, keys)  # the dialect's class: its paramstyle and its bind processors
    if plan_key not in _INSERT_PLANS:
        left_out = [c for c in table.columns if c.key not in keys]
        if any(c.default is not None and not c.default.is_scalar for c in left_out):
            _INSERT_PLANS[plan_key] = None
            return None
        defaults = [c for c in left_out if c.default is not None]
        columns = [table.columns[k] for k in keys] + defaults
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
               f"({', '.join(dialect.identifier_preparer.format_column(c) for c in columns)}) "
               f"VALUES ({', '.join([mark] * len(columns))})")
        processors = tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns[:len(keys)])
        filled = tuple((p(c.default.arg) if p else c.default.arg)
                       for c in defaults for p in [c.type.dialect_impl(dialect).bind_processor(dialect)])
        _INSERT_PLANS[plan_key] = (sql, processors, filled)
    return _INSERT_PLANS[plan_key]
