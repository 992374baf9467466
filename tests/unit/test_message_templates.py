"""The messages people get: one Chinese template per milestone (tracking.model.messages), so that a cloud SMS
service that sends only registered templates can send every one. The first message to the applicant carries
the case number and the check code; no later one carries the code. Read from the source too, so that a message
no test triggers is checked: every message queued in tracking/ names its milestone."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tracking.model.messages import MILESTONES, fields_of, render
from tracking.model.records import CHECK_CODE, DELIVERY_LINK

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _sample(milestone: str) -> dict[str, str]:
    return {name: f"〈{name}〉" for name in fields_of(milestone)} | {"case_no": "140902-20260302-0001"}


def test_only_the_first_message_to_the_applicant_carries_the_check_code():
    assert [name for name, m in MILESTONES.items() if CHECK_CODE in m.text] == ["collected"]
    # nor may a later template ask for the code as a field of its own
    assert [name for name in MILESTONES if {"check_code", "code"} & fields_of(name)] == []


def test_the_first_message_carries_the_case_number_and_the_check_code():
    text = render("collected", **_sample("collected"))
    assert "140902-20260302-0001" in text and "查询密码" + CHECK_CODE in text
    assert "〈hall〉" in text and "〈owner〉" in text and "〈promise〉" in text


def test_only_the_electronic_result_carries_the_download_link():
    assert [name for name, m in MILESTONES.items() if DELIVERY_LINK in m.text] == ["decided_electronic",
                                                                                  "result_link_reissued"]


@pytest.mark.parametrize("milestone", sorted(MILESTONES))
def test_each_template_is_chinese_and_fills_in_with_its_own_fields(milestone):
    m = MILESTONES[milestone]
    assert m.audience in ("applicant", "office")
    assert CJK.search(m.title) and CJK.search(m.text)
    text = render(milestone, **_sample(milestone))
    assert "{" not in text and "}" not in text
    assert all(f"〈{name}〉" in text for name in fields_of(milestone) if name != "case_no")


@pytest.mark.parametrize("milestone", sorted(n for n, m in MILESTONES.items() if m.audience == "applicant"))
def test_every_message_to_the_applicant_names_the_case(milestone):
    assert "{case_no}" in MILESTONES[milestone].text
    assert render(milestone, **_sample(milestone)).startswith("您的办件140902-20260302-0001")


def _calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("notify", "tell"):
            yield node


def _files() -> list[Path]:
    return sorted(p for p in (ROOT / "tracking").rglob("*.py") if "__pycache__" not in p.parts)


def test_every_message_queued_in_tracking_names_a_milestone_that_exists():
    unnamed, unknown, told = [], [], 0
    for path in _files():
        where = str(path.relative_to(ROOT))
        for call in _calls(path):
            if call.func.id == "notify":
                if where != "tracking/model/messages.py" and \
                        not any(k.arg == "milestone" for k in call.keywords):
                    unnamed.append(f"{where}:{call.lineno}")
                continue
            told += 1
            name = call.args[2] if len(call.args) > 2 else None
            if not (isinstance(name, ast.Constant) and name.value in MILESTONES):
                unknown.append(f"{where}:{call.lineno}")
    assert unnamed == [] and unknown == []
    assert told >= 25  # the parser did find the use cases' messages


def test_every_template_is_used_somewhere():
    used = {call.args[2].value for path in _files() for call in _calls(path)
            if call.func.id == "tell" and len(call.args) > 2 and isinstance(call.args[2], ast.Constant)}
    assert set(MILESTONES) - used == set()
