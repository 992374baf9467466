"""The database engine: SQLite (WAL) by default, PostgreSQL when configured."""
from __future__ import annotations

import contextlib
import os
from datetime import timezone
from pathlib import Path

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
            mode = "DEFERRED" if conn.get_execution_options().get("read_only") else "IMMEDIATE"
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


def new_session(engine: Engine, *, read_only: bool = False) -> Session:
    bind = engine.execution_options(read_only=True) if read_only else engine
    return Session(bind, expire_on_commit=False)


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
