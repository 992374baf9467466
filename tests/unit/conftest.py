"""Fixtures the unit tests share: the real network, read straight from the data files (no database)."""
from __future__ import annotations

import pytest

from routing.directory import Directory, Place, Post
from routing.reference import DATA_DIR, _rows


@pytest.fixture(scope="session")
def real() -> Directory:
    places = {r["code"]: Place(r["code"], r["name"], r["level"], r["parent_code"] or None,
                               float(r["lat"]), float(r["lon"]))
              for r in _rows(DATA_DIR / "divisions.csv")}
    posts = {r["code"]: Post(r["code"], r["name"], r["kind"], r["division_code"], r["department"] or None,
                             r["serves"] or None, float(r["lat"]), float(r["lon"]))
             for r in _rows(DATA_DIR / "offices.csv")}
    return Directory(places, posts)
