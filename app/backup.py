"""Backups: a consistent copy of the database made while the service runs, and its restore into an empty
database (`flask --app app backup PATH`, `flask --app app restore PATH`).

SQLite: the online backup API (sqlite3.Connection.backup) copies one snapshot of the database while
writers go on (WAL mode: they are not blocked and the copy never holds half a transaction).
PostgreSQL: `pg_dump -Fc` (one snapshot, the dump's own transaction) and `pg_restore`, the client tools of
the server's version, connecting with the URL's host, port, user, password and database.

A backup holds every table, personal data sealed as it is stored. It holds none of the keys (data key,
secret key, chain key): they live in the instance folder or the environment and are kept apart.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect, make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done, said in Chinese for the operator."""


def backup(database_url: str, path: Path) -> str:
    """Writes a copy of the database to `path` (never a half-written file there); says how it was made."""
    url = make_url(database_url)
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    part.unlink(missing_ok=True)
    # the copy holds everything the database holds: only the service's user may read it
    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if url.get_backend_name() == "sqlite":
            how = _sqlite_backup(url.database, part)
        elif url.get_backend_name() == "postgresql":
            how = _pg_dump(url, part)
        else:
            raise BackupError(f"不支持备份此类数据库：{url.get_backend_name()}。")
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return how


def restore(database_url: str, path: Path) -> str:
    """Brings a backup back into an empty database; refuses any database that already has tables."""
    url = make_url(database_url)
    if not path.is_file():
        raise BackupError(f"找不到备份文件 {path}。")
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    backend = url.get_backend_name()
    if backend == "sqlite" and not head.startswith(SQLITE_MAGIC):
        raise BackupError(f"{path} 不是 SQLite 数据库的备份，不能恢复到 SQLite 数据库。")
    if backend == "postgresql" and not head.startswith(PG_DUMP_MAGIC):
        raise BackupError(f"{path} 不是 pg_dump -Fc 生成的备份，不能恢复到 PostgreSQL 数据库。")
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"不支持恢复到此类数据库：{backend}。")
    tables = _tables(database_url)
    if tables:
        raise BackupError(f"目标数据库不是空的（已有 {len(tables)} 张表，如 {min(tables)}）："
                          "恢复只写入空数据库，以免覆盖现有数据。请新建一个空数据库，再对它运行恢复。")
    if backend == "sqlite":
        return _sqlite_restore(path, url.database)
    return _pg_restore(url, path)


def _tables(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


# -- SQLite ----------------------------------------------------------------------------------------

def _sqlite_backup(database: str, part: Path) -> str:
    if not database or database == ":memory:" or not Path(database).exists():
        raise BackupError(f"找不到 SQLite 数据库文件 {database}。")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(part)
    try:
        source.backup(target)  # all pages in one step: one snapshot, however busy the writers are
    finally:
        target.close()
        source.close()
    return "SQLite 在线备份"


def _sqlite_restore(path: Path, database: str) -> str:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(database, timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return "SQLite 在线备份"


# -- PostgreSQL ------------------------------------------------------------------------------------

def _pg_env(url) -> dict[str, str]:
    """libpq's own variables from the URL, so that no password is on a command line."""
    env = dict(os.environ)
    query = {k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}
    for variable, value in (("PGHOST", url.host or query.get("host")), ("PGPORT", url.port or query.get("port")),
                            ("PGUSER", url.username), ("PGPASSWORD", url.password),
                            ("PGDATABASE", url.database), ("PGSSLMODE", query.get("sslmode"))):
        if value:
            env[variable] = str(value)
    return env


def _run(tool: str, args: list[str], url) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"找不到 {tool}：请安装与数据库服务器同一版本的 PostgreSQL 客户端工具。")
    done = subprocess.run([tool, *args], env=_pg_env(url), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{tool} 失败（退出码 {done.returncode}）：{done.stderr.strip()}")


def _pg_dump(url, part: Path) -> str:
    _run("pg_dump", ["--format=custom", f"--file={part}"], url)
    return f"PostgreSQL：pg_dump -Fc 导出数据库 {url.database}"


def _pg_restore(url, path: Path) -> str:
    _run("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                        f"--dbname={url.database}", str(path)], url)
    return f"PostgreSQL：pg_restore 导入数据库 {url.database}"
