"""Every message a refusal can carry is Chinese a window clerk reads: no status values, field names or
other codes inside it (issue 13 §6.5). Read from the source, so that a message no test triggers is checked
too: each call that makes a refusal (tracking.model.errors' helpers, Refused, a parser's custom error,
`asked`'s question) and each `message=` argument."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tracking", "app", "mailing", "routing", "config", "labels")
# the position of the message among each maker's arguments
MAKERS = {"bad_request": 0, "not_found": 0, "forbidden": 0, "conflict": 1, "rule": 1, "gone": 1, "too_many": 1,
          "unauthenticated": 1, "Refused": 2, "PydanticCustomError": 1, "asked": 1}
CJK = re.compile(r"[\u4e00-\u9fff]")
# names of formats and protocols that have no Chinese of their own, and example values (a tracking number)
ALLOWED = re.compile(r"(?<![A-Za-z])(PDF|JPEG|PNG|JSON|CSV|CSRF|Base64|MB|Idempotency-Key|YYYY-MM-DD)(?![A-Za-z])"
                     r"|[A-Z]{2}[0-9]{9}[A-Z]{2}")
WORD = re.compile(r"[A-Za-z][A-Za-z_]+")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")  # a parser's error template: {earliest} is filled with a time
CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Scan messages of tracking/commands/custody.py, read by scanners' software: rewritten with that module's
# next change by its owner (listed here so that nothing else slips in meanwhile)
PENDING: set = set()


def _literal(node: ast.AST) -> str | None:
    """A message's words: a string, or an f-string's literal parts with {} where a value goes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _joined_constants(node: ast.AST) -> list[str]:
    """A module's constant list of codes pasted into an f-string (`'、'.join(ROLES)`), not their titles."""
    found = []
    if isinstance(node, ast.JoinedStr):
        for value in node.values:
            if isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Call) \
                    and isinstance(value.value.func, ast.Attribute) and value.value.func.attr == "join" \
                    and value.value.args and isinstance(value.value.args[0], ast.Name) \
                    and CONSTANT.match(value.value.args[0].id):
                found.append(value.value.args[0].id)
    return found


def messages() -> list[tuple[str, int, ast.AST]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in MAKERS and len(node.args) > MAKERS[name]:
                    found.append((where, node.lineno, node.args[MAKERS[name]]))
                found += [(where, node.lineno, k.value) for k in node.keywords if k.arg == "message"]
    return found


def test_the_scan_finds_the_messages():
    found = [_literal(node) for _, _, node in messages()]
    assert len(found) > 150
    assert "只有该评价所转交单位的工作人员可以登记整改情况。" in found  # a plain string
    assert any(text and text.startswith("页码最大为") for text in found)  # an f-string


def test_no_refusal_message_has_a_code_or_an_english_word_in_it():
    bad = []
    for where, line, node in messages():
        text = _literal(node)
        if not text or not CJK.search(text):
            continue
        words = [w for w in WORD.findall(ALLOWED.sub("", PLACEHOLDER.sub("", text))) if (where, w) not in PENDING]
        words += _joined_constants(node)
        if words:
            bad.append(f"{where}:{line}: {words} in “{text}”")
    assert bad == [], "\n".join(bad)


def test_the_check_catches_what_it_is_for():
    def words(source: str) -> list[str]:
        node = ast.parse(source, mode="eval").body
        return WORD.findall(ALLOWED.sub("", _literal(node))) + _joined_constants(node)

    assert words('"办理结果应为 approved（准予）或 refused（不予）。"') == ["approved", "refused"]
    assert words('''f"角色应为 {', '.join(ROLES)} 之一。"''') == ["ROLES"]
    assert words('"请上传 PDF 文件，例如 EA123456785CN 的结果。"') == []
