"""The stress layer is opt-in: it starts gunicorn and kills its processes, so it runs only when asked
(TONGBAN_STRESS=1) and on PostgreSQL (TONGBAN_DATABASE_URL), as CI does after the PostgreSQL suite."""
from __future__ import annotations

import os

import pytest

from tests.databases import is_postgres


def pytest_collection_modifyitems(config, items):
    url = os.environ.get("TONGBAN_DATABASE_URL", "")
    if os.environ.get("TONGBAN_STRESS") == "1" and url and is_postgres(url):
        return
    skip = pytest.mark.skip(reason="stress layer: set TONGBAN_STRESS=1 and a PostgreSQL TONGBAN_DATABASE_URL")
    for item in items:
        if "tests/stress/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)
