"""Input from JSON bodies and web forms, parsed once into frozen command models.

Every edge (API endpoint, page, CLI) hands what it received to `parse(Model, data)`.
How tolerant we are is decided here and nowhere else: full-width digits, spaces
inside numbers, "+86" before a mobile, a division written by its name. Whatever is
still wrong is reported all at once as `Invalid`: one `FieldError` per problem, with
the path the client sent (`applicant.phone`, `materials[1].copies`), a stable code
and a Chinese message a clerk understands.

The tolerant types below pass anything that is not text through untouched, so that
pydantic's strict type check refuses it with a message that names the field.
"""
from __future__ import annotations

import logging
import re
import typing
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints,
                      ValidationError, ValidationInfo)
from pydantic_core import PydanticCustomError, core_schema

from tracking.model import identity
from tracking.model.errors import Kind, Refused

__all__ = [
    "BEIJING",
    "EARLIEST_DATE",
    "INVALID_REQUEST",
    "LATEST_DATE",
    "MAX_ADDRESS",
    "MAX_NAME",
    "MAX_TEXT",
    "Address",
    "BeijingDatetime",
    "CaseNo",
    "Command",
    "Copies",
    "CreditCode",
    "DivisionCode",
    "FieldError",
    "Invalid",
    "IsoDate",
    "MobilePhone",
    "Name",
    "Number",
    "OptionalDivisionCode",
    "OptionalEmail",
    "Phone",
    "RequiredText",
    "ResidentId",
    "StrictFlag",
    "Text",
    "TrackingNo",
    "Username",
    "asked",
    "fold",
    "from_form",
    "integer",
    "optional",
    "parse",
    "plausible_date",
    "text",
    "unreadable",
]

log = logging.getLogger(__name__)

# Limits on free text, in characters after normalisation. They keep a page and a
# printed label readable and stop a client from storing megabytes in a note.
MAX_TEXT = 500      # notes, reasons, remarks
MAX_NAME = 100      # names of people, organisations, materials; usernames
MAX_ADDRESS = 300   # postal addresses

INVALID_REQUEST = "invalid_request"
BEIJING = timezone(timedelta(hours=8))

# Internal error types our validators raise where only `parse` knows the field's
# path; `parse` turns them into invalid_request with a message that names it.
_BLANK = "blank"            # empty after stripping: reported exactly like a missing field
_UNREADABLE = "unreadable"  # lone surrogate or NUL


# --- errors ------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    field: str      # path as the client sent it: "applicant.phone", "materials[1].copies", "body"
    code: str       # invalid_request, or a rule code such as invalid_phone
    message: str    # Chinese, for a clerk
    # more for the client, from a custom error's context: the codes of the missing materials
    extra: Mapping[str, Any] = dataclass_field(default_factory=dict, compare=False)


class Invalid(Refused):
    """Every problem found in one request. The first one (in field order) is the primary error."""

    def __init__(self, errors: Iterable[FieldError]):
        errors = list(errors)
        if not errors:
            raise ValueError("Invalid needs at least one FieldError")
        first = errors[0]
        # Malformed input (400) or well-formed input refused by a rule such as a wrong check digit (422).
        malformed = first.code == INVALID_REQUEST
        super().__init__(Kind.INVALID if malformed else Kind.RULE, first.code, first.message, first.field,
                         **first.extra)
        self.errors = errors

    def body(self) -> dict:
        answer = super().body()
        answer["error"]["errors"] = [{"field": error.field, "code": error.code, "message": error.message,
                                      **error.extra} for error in self.errors]
        return answer

    def by_field(self) -> dict[str, str]:
        """Field path → its first message, for showing next to each field on a page."""
        messages: dict[str, str] = {}
        for error in self.errors:
            messages.setdefault(error.field, error.message)
        return messages


# --- commands and parsing ------------------------------------------------------------


class Command(BaseModel):
    """Base of every command: immutable; unknown fields are ignored so clients can send more."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, *, context: dict | None = None) -> M:
    """Validate `data` into `model`, or raise `Invalid` listing every problem at once."""
    if not isinstance(data, (Mapping, model)):
        raise Invalid([FieldError("body", INVALID_REQUEST, "请求内容应为 JSON 对象。")])
    # `from None` throughout: a chained ValidationError would carry the input (ID
    # numbers, phones) into any log that prints the traceback.
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = [_field_error(model, error) for error in exc.errors(include_url=False, include_input=False)]
        # Members of a plain union can fail alike ("applicant" is not an object, twice): say it once.
        errors = list(dict.fromkeys(errors))
        raise Invalid(errors or [_body_error("请求内容无效。")]) from None
    except RecursionError:
        raise Invalid([_body_error("请求内容嵌套过深。")]) from None
    except (ValueError, TypeError):
        # A validator failed in a way pydantic does not report; still the client's input, not a 500.
        log.warning("unreportable validation failure in %s", model.__name__, exc_info=True)
        raise Invalid([_body_error("请求内容无法识别。")]) from None


def _body_error(message: str) -> FieldError:
    return FieldError("body", INVALID_REQUEST, message)


_BUILTIN_TYPES = frozenset(typing.get_args(core_schema.ErrorType))

_MISSING = "缺少必填项“{field}”。"
_OBJECT = "“{field}”应为对象。"
_LIST = "“{field}”应为列表。"
_DATETIME = "时间应为 ISO 8601 格式，例如 2026-03-02T09:30:00+08:00。"
_DATE = "日期应为 YYYY-MM-DD 格式。"
_CHOICES = "“{field}”的取值无效，可选：{choices}。"
_NESTED_TOO_DEEP = "请求内容嵌套过深。"
_GENERIC = "“{field}”的值无效。"

_MESSAGES = {
    "missing": _MISSING,
    _BLANK: _MISSING,
    "union_tag_not_found": _MISSING,
    _UNREADABLE: "“{field}”含有无法识别的字符。",
    "string_too_long": "“{field}”过长（最多{max_length}字）。",
    "string_too_short": "“{field}”过短（至少{min_length}字）。",
    "string_pattern_mismatch": "“{field}”的格式不正确。",
    "too_long": "“{field}”最多{max_length}项。",
    "too_short": "“{field}”至少{min_length}项。",
    "literal_error": _CHOICES,
    "enum": _CHOICES,
    "union_tag_invalid": _CHOICES,
    "greater_than": "“{field}”应大于{gt}。",
    "greater_than_equal": "“{field}”应不小于{ge}。",
    "less_than": "“{field}”应小于{lt}。",
    "less_than_equal": "“{field}”应不大于{le}。",
    "multiple_of": "“{field}”应为{multiple_of}的倍数。",
    "extra_forbidden": "不认识的字段“{field}”。",
    "none_required": "“{field}”应为空。",
    "date_future": "“{field}”应为将来的日期。",
    "date_past": "“{field}”应为过去的日期。",
    "datetime_future": "“{field}”应为将来的时间。",
    "datetime_past": "“{field}”应为过去的时间。",
    "recursion_loop": _NESTED_TOO_DEEP,
    "recursion_depth_exceeded": _NESTED_TOO_DEEP,
}
# Families of pydantic's built-in types, by prefix; the first match wins.
_FAMILIES = (
    ("string_", "“{field}”应为文本。"),
    ("int_", "“{field}”应为整数。"),
    ("float_", "“{field}”应为数字。"),
    ("decimal_", "“{field}”应为数字。"),
    ("bool_", "“{field}”应为 true 或 false。"),
    ("datetime_", _DATETIME),
    ("timezone_", _DATETIME),
    ("date_", _DATE),
    ("time_delta_", "“{field}”应为时长。"),
    ("time_", "“{field}”应为 HH:MM 格式的时间。"),
    ("list_", _LIST), ("tuple_", _LIST), ("set_", _LIST), ("frozen_set_", _LIST), ("iterable_", _LIST),
    ("dict_", _OBJECT), ("model_", _OBJECT), ("dataclass_", _OBJECT), ("mapping_", _OBJECT),
    ("url_", "“{field}”应为网址。"),
    ("uuid_", "“{field}”应为 UUID。"),
)


def _field_error(model: type[BaseModel], error: Mapping[str, Any]) -> FieldError:
    kind, ctx = error["type"], error.get("ctx") or {}
    path = _path(model, error["loc"])
    if kind not in _BUILTIN_TYPES and kind not in _MESSAGES:
        # PydanticCustomError(code, message[, extra]) from one of our validators: kept as raised.
        return FieldError(path or "body", kind, error["msg"], dict(ctx))
    if kind in ("recursion_loop", "recursion_depth_exceeded"):
        return _body_error(_NESTED_TOO_DEEP)  # the path would be hundreds of segments long
    if kind.startswith("union_tag_"):
        # The discriminator itself is the field at fault: "applicant.kind".
        key = re.fullmatch(r"'(\w+)'", str(ctx.get("discriminator", "")))
        if key:
            path = f"{path}.{key.group(1)}" if path else key.group(1)
    if not path:
        template = _message_template(kind)
        message = "请求内容应为 JSON 对象。" if template == _OBJECT else "请求内容无效。"
        return _body_error(message)
    template = _message_template(kind)
    values = {**ctx, "field": path, "choices": _choices(ctx.get("expected") or ctx.get("expected_tags") or "")}
    try:
        message = template.format_map(values)
    except (KeyError, IndexError, ValueError):
        message = _GENERIC.format(field=path)
    return FieldError(path, INVALID_REQUEST, message)


def _message_template(kind: str) -> str:
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    for prefix, template in _FAMILIES:
        if kind.startswith(prefix):
            return template
    return _GENERIC


def _choices(expected: str) -> str:
    """pydantic's "'mail', 'pickup' or 'electronic'" → "mail、pickup、electronic"."""
    parts = re.split(r", | or ", str(expected))
    return "、".join(part.strip().strip("'") for part in parts if part.strip())


# --- error paths -------------------------------------------------------------------
#
# pydantic's `loc` holds, besides field names and list indices, a label for the
# union member that was tried: a model's class name, a tagged union's tag, or
# names such as "function-before[...]" or "list[int]". The client never sent
# those, so the path is rebuilt by walking the model's core schema next to the
# `loc`: at a union the segment is a label and is skipped.

_UNWRAP = {
    "function-before": "schema", "function-after": "schema", "function-wrap": "schema",
    "nullable": "schema", "default": "schema", "definitions": "schema", "model": "schema",
    "dataclass": "schema", "json-or-python": "python_schema", "lax-or-strict": "lax_schema",
}
_ITEMS = ("list", "set", "frozenset", "generator")
_LABEL = re.compile(r".*[\[(\-].*|str|int|float|bool|bytes|none|date|datetime|list|dict|tuple|set")


def _path(model: type[BaseModel], loc: Iterable[str | int]) -> str:
    refs = _references(model)
    node: dict | None = model.__pydantic_core_schema__
    path = ""
    for segment in loc:
        node = _unwrap(node, refs)
        if node is not None and node["type"] in ("union", "tagged-union"):
            node = _union_member(node, segment, refs)
            continue
        if isinstance(segment, int):
            path += f"[{segment}]"
            node = _item_schema(node, segment)
            continue
        segment = str(segment)
        if node is None and _LABEL.fullmatch(segment):
            continue  # lost the schema (a rare shape): still drop what is plainly a label
        path = f"{path}.{_printable(segment)}" if path else _printable(segment)
        node = _field_schema(node, segment)
    return path


@lru_cache(maxsize=512)
def _references(model: type[BaseModel]) -> dict[str, dict]:
    """Every schema in the model's core schema that carries a `ref`, by that ref."""
    refs: dict[str, dict] = {}
    stack: list[Any] = [model.__pydantic_core_schema__]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            if isinstance(item.get("ref"), str) and "type" in item:
                refs[item["ref"]] = item
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return refs


def _unwrap(node: dict | None, refs: dict[str, dict]) -> dict | None:
    for _ in range(64):  # wrappers nest a few levels; the bound only guards against a cycle
        if not isinstance(node, dict):
            return None
        kind = node.get("type")
        if kind == "definition-ref":
            node = refs.get(node.get("schema_ref", ""))
        elif kind in _UNWRAP and node.get(_UNWRAP[kind]) is not None:
            node = node[_UNWRAP[kind]]
        else:
            return node
    return None


def _union_member(node: dict, label: str | int, refs: dict[str, dict]) -> dict | None:
    """The member a union's label names: a tag, a model's class name, or "list[int]" and the like."""
    if node["type"] == "tagged-union":
        for tag, choice in node["choices"].items():
            if str(tag) == str(label):
                return choice
        return None
    kind = str(label).split("[")[0]
    for choice in node["choices"]:
        if isinstance(choice, tuple):
            choice, choice_label = choice
            if choice_label == label:
                return choice
            continue
        resolved = _unwrap(choice, refs) or {}
        cls = resolved.get("cls")
        if (cls is not None and cls.__name__ == label) or kind in (choice.get("type"), resolved.get("type")):
            return choice
    return None


def _item_schema(node: dict | None, index: int) -> dict | None:
    if node is None:
        return None
    if node["type"] in _ITEMS:
        return node.get("items_schema")
    if node["type"] == "tuple":
        items = node.get("items_schema") or []
        return items[min(index, len(items) - 1)] if items else None
    if node["type"] == "dict":
        return node.get("values_schema")
    return None


def _field_schema(node: dict | None, name: str) -> dict | None:
    if node is None:
        return None
    if node["type"] in ("model-fields", "typed-dict"):
        for field_name, field in node["fields"].items():
            if name in (field_name, field.get("validation_alias")):
                return field["schema"]
    elif node["type"] == "dataclass-args":
        for field in node["fields"]:
            if name in (field["name"], field.get("validation_alias")):
                return field["schema"]
    elif node["type"] == "dict":
        return node.get("values_schema")
    return None


def _printable(segment: str) -> str:
    """A key the client sent may hold a lone surrogate; never let it break the JSON answer."""
    return segment.encode("utf-8", "backslashreplace").decode("utf-8")


# --- text ----------------------------------------------------------------------------

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")


def fold(value: str) -> str:
    """NFKC, then strip: full-width ０-９ and Ａ-Ｚ become ASCII, U+3000 becomes a space."""
    return unicodedata.normalize("NFKC", value).strip()


def unreadable(value: str) -> bool:
    """True for text the service cannot store or send on: a lone surrogate or a NUL."""
    return _UNSAFE.search(value) is not None


def _readable(value: str) -> str:
    # A lone surrogate (a legal JSON escape, but not UTF-8) or a NUL (refused by
    # PostgreSQL) would otherwise fail later, at the database or the encoder, as a 500.
    if unreadable(value):
        raise PydanticCustomError(_UNREADABLE, "含有无法识别的字符。")
    return value


def _text(value: Any) -> Any:
    # free text is kept as typed (Chinese punctuation stays Chinese), only trimmed: folding is for
    # numbers and codes
    return _readable(value).strip() if isinstance(value, str) else value


def _required_text(value: Any) -> Any:
    value = _text(value)
    if value == "":
        raise PydanticCustomError(_BLANK, "请填写此项。")
    return value


def text(max_length: int = MAX_TEXT, *, required: bool = False) -> Any:
    """Text only (a number or a list is refused), stripped, at most `max_length` characters. Empty
    is allowed unless `required`, where it counts as missing."""
    return Annotated[
        str, Strict(), StringConstraints(max_length=max_length),
        BeforeValidator(_required_text if required else _text),
    ]


Text = text(MAX_TEXT)
"""Free text such as a note or a reason: may be empty, at most MAX_TEXT characters."""
RequiredText = text(MAX_TEXT, required=True)
"""Like Text, but empty (after stripping) is reported as a missing field."""
Name = text(MAX_NAME, required=True)
"""A person's or organisation's name: required, at most MAX_NAME characters."""
Address = text(MAX_ADDRESS, required=True)
"""A postal address: required, at most MAX_ADDRESS characters."""


def optional(tp: Any) -> Any:
    """`tp | None`, where a blank string (an empty form field) means None."""
    return Annotated[tp | None, BeforeValidator(_blank_to_none)]


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def asked(tp: Any, message: str, *, accept: Callable[[Any], bool] | None = None) -> Any:
    """`tp` for a field a person fills in or picks on a form: left out, null, blank or an empty list
    (and, with `accept`, any value it does not accept) is invalid_request with one plain `message`
    ("请填写原因。", "请选择办理结果：准予或不予。") instead of the generic "缺少必填项…"; what gets
    past that is still checked by `tp` (its type, its length)."""

    def check(value: Any) -> Any:
        if value is None or value == [] or (isinstance(value, str) and not value.strip()) or \
                (accept is not None and not accept(value)):
            raise PydanticCustomError(INVALID_REQUEST, message)
        return value

    # the default is there only so that a missing field reaches `check` too
    return Annotated[tp, BeforeValidator(check), Field(default=None, validate_default=True)]


def _tolerant(clean: Callable[[str, Mapping[str, Any]], Any], max_length: int | None = None) -> Any:
    """A required identifier: text is folded first, blank counts as missing, and the
    cleaner gets the parse context. Non-text goes on to the strict str check."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        value = fold(_readable(value))
        if not value:
            raise PydanticCustomError(_BLANK, "请填写此项。")
        return clean(value, info.context or {})

    return Annotated[str, Strict(), StringConstraints(max_length=max_length), BeforeValidator(validate)]


# --- phones --------------------------------------------------------------------------

_PHONE_PUNCTUATION = re.compile(r"[\s()\-]+")
_COUNTRY_PREFIX = re.compile(r"(?:\+86|0086|86)(1[0-9]{10})")


def _mobile_number(value: str) -> str:
    compact = _PHONE_PUNCTUATION.sub("", value)
    match = _COUNTRY_PREFIX.fullmatch(compact)
    return match.group(1) if match else compact


def _mobile(value: str, _context: Mapping[str, Any]) -> str:
    number = _mobile_number(value)
    if not identity.is_valid_mobile(number):
        raise PydanticCustomError("invalid_phone", "请填写11位手机号码。")
    return number


def _phone(value: str, _context: Mapping[str, Any]) -> str:
    number = _mobile_number(value)
    if identity.is_valid_mobile(number):
        return number
    # A landline keeps one dash after its area code ("(0351) 404 1234" → 0351-4041234):
    # without it the area code is ambiguous when the number is masked.
    parts = [part for part in _PHONE_PUNCTUATION.split(value) if part]
    candidates = ([f"{parts[0]}-{''.join(parts[1:])}"] if len(parts) > 1 else []) + ["".join(parts)]
    for candidate in candidates:
        if identity.is_valid_landline(candidate):
            return candidate
    raise PydanticCustomError("invalid_phone", "请填写手机号码或带区号的固定电话。")


MobilePhone = _tolerant(_mobile)
"""An 11-digit mobile; accepts full-width digits, spaces, dashes, parentheses and +86/0086/86."""
Phone = _tolerant(_phone)
"""For organisations: a mobile as above, or a landline with its area code (0351-4041234)."""


# --- email ---------------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?)+")


def _email(value: Any) -> Any:
    """An address for messages, optional: blank or null is none. Folded (a Chinese input method types
    ＠ and full-width letters), the domain lower-cased."""
    if value is None or (isinstance(value, str) and not fold(value)):
        return None
    if not isinstance(value, str):
        return value  # refused by the str check, naming the field
    address = fold(_readable(value))
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise PydanticCustomError("invalid_email", "电子邮箱格式不正确，请核对；没有电子邮箱可不填。")
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


OptionalEmail = Annotated[str | None, BeforeValidator(_email)]
"""An email address, or None when left out or blank."""


# --- identifiers ---------------------------------------------------------------------


def _resident_id(value: str, _context: Mapping[str, Any]) -> str:
    number = identity.normalize_id_number(_WHITESPACE.sub("", value))
    if not identity.is_valid_resident_id(number):
        raise PydanticCustomError("invalid_id_number", "身份证号码有误，请核对（含末位校验码）。")
    return number


def _credit_code(value: str, _context: Mapping[str, Any]) -> str:
    code = _WHITESPACE.sub("", value).upper()
    if not identity.is_valid_credit_code(code):
        raise PydanticCustomError("invalid_credit_code", "统一社会信用代码有误，请核对（含末位校验码）。")
    return code


ResidentId = _tolerant(_resident_id)
"""An 18-character resident ID with a correct check character; spaces dropped, x → X."""
CreditCode = _tolerant(_credit_code)
"""A unified social credit code with a correct check character; spaces dropped, upper-cased."""


# --- divisions -----------------------------------------------------------------------

_LEADING_DIVISION = re.compile(r"([0-9]{6})(?![0-9])")


def _division(value: str, context: Mapping[str, Any]) -> str:
    match = _LEADING_DIVISION.match(value)
    if match:  # "140105" or "140105 太原市小店区", as a picker fills it in
        return match.group(1)
    lookup = context.get("divisions")
    if not callable(lookup) or (value.isascii() and value.isdigit()):
        raise PydanticCustomError(INVALID_REQUEST, "行政区划代码应为6位数字。")
    codes = list(dict.fromkeys(lookup(value)))
    shown = value if len(value) <= 30 else value[:30] + "…"
    if len(codes) == 1:
        return codes[0]
    if codes:
        raise PydanticCustomError(
            INVALID_REQUEST,
            f"有{len(codes)}个地方叫“{shown}”，请写明所在市（例如“太原市小店区”）或填写6位行政区划代码。",
        )
    raise PydanticCustomError(INVALID_REQUEST, f"未找到“{shown}”，请从列表中选择，或填写6位行政区划代码。")


DivisionCode = _tolerant(_division)
"""A 6-digit division code: "140105", "140105 太原市小店区", or a name resolved through the
`divisions` callable in the parse context ((text) -> list of matching codes)."""
OptionalDivisionCode = optional(DivisionCode)
"""DivisionCode, or None when left empty."""


# --- case and tracking numbers -----------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―]+")
_CASE_DIGITS = re.compile(r"[0-9]{18}")
_CASE_NO = re.compile(r"[0-9]{6}-[0-9]{8}-[0-9]{4}")
_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")


def _as_case_no(value: str) -> str | None:
    digits = _SEPARATORS.sub("", value)
    if not _CASE_DIGITS.fullmatch(digits):
        return None
    case_no = f"{digits[:6]}-{digits[6:14]}-{digits[14:]}"
    return case_no if _CASE_NO.fullmatch(case_no) else None


def _as_tracking_no(value: str) -> str | None:
    compact = _WHITESPACE.sub("", value).upper()
    return compact if _S10.fullmatch(compact) else None


def plain_number(value: str) -> str:
    """A case or tracking number as stored, however it was typed or scanned (a path parameter, a
    barcode scanner's keystrokes); anything else comes back folded, to be found nowhere."""
    value = fold(value) if isinstance(value, str) else ""
    return _as_case_no(value) or _as_tracking_no(value) or value.upper()


def well_formed_number(number: str) -> bool:
    """A plain_number that is a case number or a tracking number (anything else names nothing)."""
    return bool(_CASE_NO.fullmatch(number) or _S10.fullmatch(number))


def _case_no(value: str, _context: Mapping[str, Any]) -> str:
    case_no = _as_case_no(value)
    if case_no is None:
        raise PydanticCustomError(INVALID_REQUEST, "办件编号应为18位数字，例如 140902-20261206-0008。")
    return case_no


def _tracking_no(value: str, _context: Mapping[str, Any]) -> str:
    tracking_no = _as_tracking_no(value)
    if tracking_no is None:
        raise PydanticCustomError(INVALID_REQUEST, "邮件号应为2个字母、9位数字和2个字母，例如 EA123456785CN。")
    return tracking_no


def _number(value: str, _context: Mapping[str, Any]) -> str:
    number = _as_case_no(value) or _as_tracking_no(value)
    if number is None:
        raise PydanticCustomError(INVALID_REQUEST, "请填写办件编号（18位数字）或邮件号（例如 EA123456785CN）。")
    return number


CaseNo = _tolerant(_case_no)
"""A case number, always as 140902-20261206-0008; spaces or no separators are accepted."""
TrackingNo = _tolerant(_tracking_no)
"""An S10 tracking number (EA123456785CN) by shape only: the use case checks the check digit."""
Number = _tolerant(_number)
"""Public tracking: a case number or a tracking number, normalised as above."""


def _username(value: str, _context: Mapping[str, Any]) -> str:
    return value.lower()


Username = _tolerant(_username, MAX_NAME)
"""A login name: folded, stripped, lower case."""


# --- times ---------------------------------------------------------------------------

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Plausible dates, for every date and time a client sends: year 1 or 9999 would overflow date
# arithmetic (a deadline, a conversion to UTC), and no case of this service is dated outside them.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
_IMPLAUSIBLE_DATE = "日期应在2000年至2099年之间。"


def plausible_date(day: date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE


def _beijing_datetime(value: Any) -> Any:
    if isinstance(value, str):
        value = fold(value)
        if not value:
            raise PydanticCustomError(_BLANK, "请填写此项。")
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # the strict check refuses it with the ISO 8601 message
    if isinstance(value, datetime):
        if not plausible_date(value.date()):
            raise PydanticCustomError(INVALID_REQUEST, _IMPLAUSIBLE_DATE)
        if value.tzinfo is None:
            value = value.replace(tzinfo=BEIJING)  # clerks and applicants mean Beijing time
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, str):
        value = fold(value)
        if not value:
            raise PydanticCustomError(_BLANK, "请填写此项。")
        if _ISO_DATE.fullmatch(value):
            try:
                value = date.fromisoformat(value)
            except ValueError:  # 2026-02-30
                pass
    if isinstance(value, date) and not isinstance(value, datetime) and not plausible_date(value):
        raise PydanticCustomError(INVALID_REQUEST, _IMPLAUSIBLE_DATE)
    return value


BeijingDatetime = Annotated[datetime, Strict(), BeforeValidator(_beijing_datetime)]
"""An ISO 8601 time; without an offset it is taken as Beijing time. Always timezone-aware."""
IsoDate = Annotated[date, Strict(), BeforeValidator(_iso_date)]
"""A date written YYYY-MM-DD."""


# --- numbers and flags ---------------------------------------------------------------


def integer(low: int, high: int, message: str) -> Any:
    """An integer from `low` to `high`: a JSON number, or digits from a form field.
    Anything else (a bool, 2.5, out of range) is invalid_request with `message`."""

    def validate(value: Any) -> Any:
        if isinstance(value, str):
            digits = fold(value)
            # Bounded length: int() of thousands of digits is slow and then refused.
            if re.fullmatch(r"[+-]?[0-9]{1,18}", digits):
                value = int(digits)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PydanticCustomError(INVALID_REQUEST, message)
        return value

    return Annotated[int, Strict(), BeforeValidator(validate)]


Copies = integer(1, 99, "份数应为1至99的整数。")
"""Number of copies of a material: 1 to 99."""
StrictFlag = Annotated[bool, Strict()]
"""A real JSON boolean: "true" or 1 is refused. Forms go through `from_form(flags=...)`."""


# --- web forms -----------------------------------------------------------------------

_FORM_KEY = re.compile(r"([^.\[\]]+)|\[([0-9]{1,6})\]")
_MAX_FORM_DEPTH = 16
_TRUE = frozenset({"1", "on", "true"})
_FALSE = frozenset({"0", "", "off", "false"})


def from_form(form: Mapping[str, str], names: Iterable[str] | None = None, *,
              flags: Iterable[str] = ()) -> dict:
    """A flat web form → the nested dict the JSON API takes. Shape only, no validation.

    `applicant.agent.phone` becomes {"applicant": {"agent": {"phone": ...}}} and
    `materials[1].copies` an item of a list. Values stay strings, except the keys in
    `flags` (checkboxes): "1"/"on"/"true" → True, "0"/"" → False, and an unchecked box,
    which browsers do not send, → False. With `names`, only those keys (and flags) are taken.
    """
    flags = set(flags)
    wanted = None if names is None else set(names) | flags
    nested: dict = {}
    for key, value in form.items():
        if wanted is not None and key not in wanted:
            continue
        if key in flags:
            value = _flag(value)
        _put(nested, key, value)
    for key in flags - set(form.keys()):
        _put(nested, key, False)
    return {key: _as_lists(value) for key, value in nested.items()}


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return value  # left for StrictFlag to refuse


def _put(nested: dict, key: str, value: Any) -> None:
    path = [int(index) if index else name for name, index in _FORM_KEY.findall(key)]
    if not path or len(path) > _MAX_FORM_DEPTH:
        return  # no model has such a field; the bound keeps later recursion shallow
    node = nested
    for segment in path[:-1]:
        if not isinstance(node.get(segment), dict):
            node[segment] = {}  # an object wins over a plain value of the same name
        node = node[segment]
    if not isinstance(node.get(path[-1]), dict):
        node[path[-1]] = value


def _as_lists(value: Any) -> Any:
    """Objects keyed only by indices become lists, in index order (gaps closed)."""
    if not isinstance(value, dict):
        return value
    items = {key: _as_lists(item) for key, item in value.items()}
    if items and all(isinstance(key, int) for key in items):
        return [items[key] for key in sorted(items)]
    return items
