"""Dependencies point one way: config ← routing ← mailing ← tracking ← app; labels imports only config.
Inside tracking: model ← commands, model ← reads; reads never import commands. Nothing outside app/
imports Flask or Celery. Checked by parsing the source with `ast`, not by importing."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())
CORE = ["config", "routing", "mailing", "labels", "tracking"]

# package -> the project packages it may import (itself included)
MAY_IMPORT = {
    "config": {"config"},
    "routing": {"config", "routing"},
    "mailing": {"config", "routing", "mailing"},
    "labels": {"config", "labels"},
    "tracking": set(PROJECT) - {"app", "tests", "bench"},
}
WEB_AND_QUEUE = ("flask", "celery", "werkzeug", "kombu")

# the plain, testable core: rules that import only the standard library (and each other)
PLAIN = ["routing/directory.py", "routing/workdays.py", "mailing/states.py", "mailing/s10.py",
         "mailing/chain.py", "tracking/model/states.py", "tracking/model/links.py", "tracking/model/identity.py", "config/clock.py",
         "routing/matter_types.py"]


def _full_imports(path: Path) -> set[str]:
    """Absolute module names a file imports, anywhere in it (also inside functions); for
    `from a.b import c` both `a.b` and `a.b.c` (c may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _modules_imported(path: Path) -> set[str]:
    """Absolute top-level module names a file imports, anywhere in it (also inside functions)."""
    return {name.split(".")[0] for name in _full_imports(path)}


def _files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def test_the_project_has_the_packages_the_design_names():
    assert {"app", "config", "routing", "mailing", "labels", "tracking"} <= set(PROJECT)


def test_the_boundary_check_sees_the_imports_of_the_code_it_checks():
    # guard against a parser that finds nothing: the use cases do import mailing and routing
    assert {"mailing", "routing", "config", "sqlmodel"} <= _modules_imported(ROOT / "tracking" / "commands" / "intake.py")


@pytest.mark.parametrize("package", CORE)
def test_nothing_outside_app_imports_flask_or_celery(package):
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _modules_imported(p)
                                                   if m.startswith(WEB_AND_QUEUE))
                 for p in _files(package)}
    assert {f: m for f, m in offenders.items() if m} == {}


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_the_packages_below_it(package):
    allowed = MAY_IMPORT[package]
    offenders = {}
    for path in _files(package):
        wrong = sorted((_modules_imported(path) & set(PROJECT)) - allowed)
        if wrong:
            offenders[str(path.relative_to(ROOT))] = wrong
    assert offenders == {}


def test_tracking_never_imports_the_app():
    for path in _files("tracking"):
        assert "app" not in _modules_imported(path), path


@pytest.mark.parametrize("relative", PLAIN)
def test_the_rule_modules_import_only_the_standard_library_and_the_project(relative):
    path = ROOT / relative
    if not path.exists():
        pytest.skip(f"{relative} not present")
    third_party = sorted(m for m in _modules_imported(path)
                         if m not in sys.stdlib_module_names and m not in PROJECT and m != "__future__")
    # routing/workdays.py may read the published calendar package lazily
    if relative == "routing/workdays.py":
        third_party = [m for m in third_party if m != "chinese_calendar"]
    assert third_party == []


# tracking's own layers: the sub-package of a file -> the tracking sub-packages it may import
TRACKING_LAYERS = {"model": {"model"}, "commands": {"model", "commands", "messages", "files"},
                   "reads": {"model", "reads", "files"},
                   # federation: the messages between installations, applied through the use cases
                   "federation": {"model", "commands", "reads", "federation", "files"},
                   # messages: the transports of messages to people (SMS, email), adapters the outbox calls
                   "messages": {"messages"},
                   # files: checks of uploaded files and their sealed store, which use cases and reads call
                   "files": {"model", "files"}}


def test_tracking_has_exactly_its_three_layers():
    top = sorted(p.name for p in (ROOT / "tracking").glob("*.py") if p.name != "__init__.py")
    assert top == [], "tracking/ keeps its modules in model/, commands/, reads/, federation/, messages/ or files/"
    assert {p.name for p in (ROOT / "tracking").iterdir() if (p / "__init__.py").is_file()} == set(TRACKING_LAYERS)


@pytest.mark.parametrize("layer", sorted(TRACKING_LAYERS))
def test_reads_never_import_commands_and_the_model_imports_neither(layer):
    offenders = {}
    for path in _files(f"tracking/{layer}"):
        used = {name.split(".")[1] for name in _full_imports(path)
                if name.startswith("tracking.") and len(name.split(".")) > 1}
        wrong = sorted(used - TRACKING_LAYERS[layer])
        if wrong:
            offenders[str(path.relative_to(ROOT))] = wrong
    assert offenders == {}


def test_the_core_builds_no_web_addresses_and_commits_nothing():
    """Links are made in app/; the caller (request, page, task, CLI) owns the unit of work."""
    offenders = {}
    for path in _files("tracking"):
        text = path.read_text(encoding="utf-8")
        found = [what for what in ("/api/v1", ".commit(") if what in text]
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_app_modules_do_not_import_each_other_in_a_circle():
    """app/ imports point one way: no module of app/ imports one that (directly or not) imports it."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in _files("app")}
    modules = {name.removesuffix(".__init__"): path for name, path in modules.items()}
    graph = {name: {m for m in _full_imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    graph["app"] = set()  # the package's factory imports every part to register it: the root of the graph

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in graph[start])

    cycles = sorted(name for name in graph if reaches(name, name))
    assert cycles == []


def test_no_module_of_app_imports_back_from_the_package_that_registers_it():
    """`from app import create_schema` inside app/cli.py reaches back into the factory's module."""
    offenders = {}
    entry_points = {ROOT / "app" / "__init__.py", ROOT / "app" / "celery_app.py"}  # they start the app
    for path in _files("app"):
        if path in entry_points:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        back = sorted(alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                      and node.level == 0 and node.module == "app" for alias in node.names
                      if not ((ROOT / "app" / alias.name).with_suffix(".py").is_file()
                              or (ROOT / "app" / alias.name / "__init__.py").is_file()))
        if back:
            offenders[str(path.relative_to(ROOT))] = back
    assert offenders == {}
