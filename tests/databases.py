"""A database of a test's own, apart from the session's shared one: for upgrades from a release,
restores (which need an empty database) and the stress layer's server."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


@contextmanager
def fresh_database(like_url: str, folder: Path, name: str) -> Iterator[str]:
    """A new, empty database on the same server as `like_url` (SQLite: a new file in `folder`),
    dropped afterwards."""
    if not is_postgres(like_url):
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    url = make_url(like_url)
    database = f"tongban_{name}_{uuid.uuid4().hex[:8]}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
        yield url.set(database=database).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        server.dispose()
