"""The input edge: one parser, tolerant types decided once, every field error reported at once."""
# No `from __future__ import annotations`: pydantic resolves these throwaway models' annotations eagerly.
import json
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

import pytest
from pydantic import ConfigDict, Field, ValidationError, field_validator

from tracking.model import identity
from tracking.model.errors import Refused
from tracking.model.inputs import (BEIJING, MAX_NAME, BeijingDatetime, CaseNo, Command, Copies, CreditCode,
                                   DivisionCode, FieldError, Invalid,
                                   IsoDate, MobilePhone, Number,
                                   OptionalDivisionCode, Phone,
                                   RequiredText, ResidentId, StrictFlag,
                                   Text, TrackingNo, Username, fold,
                                   from_form, parse, text)

ID_NUMBER = "11010519491231002X"  # the GB 11643 example
CREDIT_CODE = "91140100MA0K7T3B2" + identity.credit_code_check_char("91140100MA0K7T3B2")


# --- throwaway commands -------------------------------------------------------------------


class Agent(Command):
    name: RequiredText
    id_number: ResidentId


class Applicant(Command):
    name: RequiredText
    phone: MobilePhone
    agent: Agent | None = None


class Material(Command):
    title: text(MAX_NAME, required=True)
    copies: Copies


class Application(Command):
    applicant: Applicant
    materials: list[Material]
    method: Literal["mail", "pickup", "electronic"]
    note: text(10) = ""


class Person(Command):
    kind: Literal["person"]
    phone: MobilePhone


class Organisation(Command):
    kind: Literal["organisation"]
    phone: Phone
    credit_code: CreditCode


class Tagged(Command):
    applicant: Annotated[Person | Organisation, Field(discriminator="kind")]


class Untagged(Command):
    applicant: Person | Organisation


class One(Command):
    """One field of each tolerant type, all optional so each test sets only its own."""
    text: Text = ""
    required: RequiredText | None = None
    mobile: MobilePhone | None = None
    phone: Phone | None = None
    id_number: ResidentId | None = None
    credit_code: CreditCode | None = None
    division: DivisionCode | None = None
    maybe_division: OptionalDivisionCode = None
    case_no: CaseNo | None = None
    tracking_no: TrackingNo | None = None
    number: Number | None = None
    username: Username | None = None
    at: BeijingDatetime | None = None
    on: IsoDate | None = None
    copies: Copies | None = None
    flag: StrictFlag | None = None
    nested: list | None = None


class Node(Command):
    children: list["Node"] = Field(default_factory=list)


class Fragile(Command):
    value: str

    @field_validator("value")
    @classmethod
    def explode(cls, value):
        raise TypeError("a bug in a validator")


class Depth(Command):
    tree: list

    @field_validator("tree")
    @classmethod
    def measure(cls, value):
        def depth(item):
            return 1 + max(map(depth, item), default=0) if isinstance(item, list) else 0
        depth(value)  # plain recursion: RecursionError on very deep input
        return value


def one(**data):
    return parse(One, data)


def refused(model, data, **kwargs) -> Invalid:
    with pytest.raises(Invalid) as info:
        parse(model, data, **kwargs)
    return info.value


def good_application(**changes):
    data = {
        "applicant": {"name": "张三", "phone": "13912345678"},
        "materials": [{"title": "申请书", "copies": 1}, {"title": "身份证复印件", "copies": 2}],
        "method": "mail",
    }
    data.update(changes)
    return data


# --- reporting --------------------------------------------------------------------------------


def test_a_good_application_parses_into_a_frozen_command():
    command = parse(Application, good_application())
    assert command.applicant.phone == "13912345678"
    assert command.materials[1].copies == 2
    with pytest.raises(ValidationError):
        command.method = "pickup"


def test_every_error_is_reported_at_once_with_the_path_the_client_sent():
    data = good_application(
        applicant={"name": "  ", "phone": "12345", "agent": {"name": "李四", "id_number": "110105194912310021"}},
        materials=[{"title": "申请书", "copies": 1}, {"title": "身份证复印件", "copies": 0}],
        method="fax",
    )
    error = refused(Application, data)
    assert [(e.field, e.code) for e in error.errors] == [
        ("applicant.name", "invalid_request"),
        ("applicant.phone", "invalid_phone"),
        ("applicant.agent.id_number", "invalid_id_number"),
        ("materials[1].copies", "invalid_request"),
        ("method", "invalid_request"),
    ]
    messages = error.by_field()
    assert messages["applicant.name"] == "缺少必填项“applicant.name”。"
    assert messages["applicant.phone"] == "请填写11位手机号码。"
    assert messages["applicant.agent.id_number"] == "身份证号码有误，请核对（含末位校验码）。"
    assert messages["materials[1].copies"] == "份数应为1至99的整数。"
    assert messages["method"] == "“method”的取值无效，可选：mail、pickup、electronic。"


def test_status_is_400_when_the_first_error_is_malformed_input():
    error = refused(Application, good_application(applicant={"phone": "12345"}))
    assert error.errors[0] == FieldError("applicant.name", "invalid_request", "缺少必填项“applicant.name”。")
    assert error.kind == "invalid" and error.code == "invalid_request" and error.field == "applicant.name"


def test_status_is_422_when_the_first_error_is_a_rule_even_if_malformed_ones_follow():
    error = refused(Application, good_application(applicant={"name": "张三", "phone": "12345"}, method="fax"))
    assert [e.field for e in error.errors] == ["applicant.phone", "method"]
    assert error.kind == "rule" and error.code == "invalid_phone"
    assert isinstance(error, Refused)


def test_body_has_the_contract_shape_and_lists_every_error():
    error = refused(Application, good_application(applicant={"name": "张三", "phone": "12345"}, method="fax"))
    body = error.body()
    assert body == {"error": {
        "code": "invalid_phone",
        "message": "请填写11位手机号码。",
        "field": "applicant.phone",
        "errors": [
            {"field": "applicant.phone", "code": "invalid_phone", "message": "请填写11位手机号码。"},
            {"field": "method", "code": "invalid_request",
             "message": "“method”的取值无效，可选：mail、pickup、electronic。"},
        ],
    }}
    json.dumps(body, ensure_ascii=False).encode("utf-8")


class Checklist(Command):
    codes: list[str]

    @field_validator("codes")
    @classmethod
    def all_there(cls, codes):
        from pydantic_core import PydanticCustomError
        raise PydanticCustomError("missing_material", "缺少必需材料：居民身份证。", {"materials": ["id_card"]})


def test_a_custom_errors_context_is_carried_into_the_answer_as_more_fields():
    body = refused(Checklist, {"codes": []}).body()
    assert body["error"]["materials"] == ["id_card"]
    assert body["error"]["errors"] == [{"field": "codes", "code": "missing_material",
                                        "message": "缺少必需材料：居民身份证。", "materials": ["id_card"]}]


def test_by_field_keeps_the_first_message_of_each_field():
    error = Invalid([FieldError("a", "invalid_request", "一"), FieldError("a", "invalid_request", "二"),
                     FieldError("b", "invalid_phone", "三")])
    assert error.by_field() == {"a": "一", "b": "三"}
    with pytest.raises(ValueError):
        Invalid([])


def test_builtin_errors_get_field_named_chinese_messages():
    error = refused(Application, {"applicant": "张三", "materials": {"title": "x"}, "method": 3, "note": 42})
    assert error.by_field() == {
        "applicant": "“applicant”应为对象。",
        "materials": "“materials”应为列表。",
        "method": "“method”的取值无效，可选：mail、pickup、electronic。",
        "note": "“note”应为文本。",
    }
    assert error.kind == "invalid"


def test_a_missing_field_a_wrong_integer_and_too_long_text_are_named():
    data = good_application(materials=[{"copies": "两份"}], note="一二三四五六七八九十十一")
    assert refused(Application, data).by_field() == {
        "materials[0].title": "缺少必填项“materials[0].title”。",
        "materials[0].copies": "份数应为1至99的整数。",
        "note": "“note”过长（最多10字）。",
    }


def test_anything_but_an_object_is_refused_as_the_body():
    for data in (None, [], "text", 42):
        error = refused(Application, data)
        assert error.errors == [FieldError("body", "invalid_request", "请求内容应为 JSON 对象。")]
        assert error.kind == "invalid"


def test_a_tagged_union_path_leaves_out_the_tag():
    error = refused(Tagged, {"applicant": {"kind": "person", "phone": "12"}})
    assert [e.field for e in error.errors] == ["applicant.phone"]


def test_an_unknown_tag_is_reported_on_the_discriminator_with_the_choices():
    error = refused(Tagged, {"applicant": {"kind": "robot"}})
    assert error.by_field() == {"applicant.kind": "“applicant.kind”的取值无效，可选：person、organisation。"}
    error = refused(Tagged, {"applicant": {}})
    assert error.by_field() == {"applicant.kind": "缺少必填项“applicant.kind”。"}


def test_a_plain_union_path_leaves_out_the_class_names():
    error = refused(Untagged, {"applicant": {"kind": "organisation", "phone": "1", "credit_code": "x"}})
    assert {e.field for e in error.errors} == {"applicant.kind", "applicant.phone", "applicant.credit_code"}


def test_the_same_error_from_several_union_members_is_reported_once():
    assert refused(Untagged, {"applicant": 5}).errors == [
        FieldError("applicant", "invalid_request", "“applicant”应为对象。")]


# --- never a 500 ------------------------------------------------------------------------------


def test_a_lone_surrogate_is_refused_not_stored():
    error = refused(One, {"text": "申请\ud800书"})
    assert error.errors == [FieldError("text", "invalid_request", "“text”含有无法识别的字符。")]
    json.dumps(error.body(), ensure_ascii=False).encode("utf-8")


def test_a_nul_character_is_refused():
    assert refused(One, {"mobile": "139\x0012345678"}).field == "mobile"


def test_a_5000_deep_nested_list_is_refused_as_invalid():
    deep = []
    for _ in range(5000):
        deep = [deep]
    for data in ({"materials": deep, "applicant": {}, "method": "mail"}, {"nested": deep, "text": deep}):
        model = Application if "materials" in data else One
        error = refused(model, data)
        assert error.kind == "invalid"


def test_a_5000_deep_recursive_object_is_refused_as_too_deep():
    data = {"children": []}
    node = data
    for _ in range(5000):
        child = {"children": []}
        node["children"].append(child)
        node = child
    error = refused(Node, data)
    assert error.errors[0] == FieldError("body", "invalid_request", "请求内容嵌套过深。")


def test_a_recursion_error_inside_a_validator_becomes_invalid_request():
    deep = []
    for _ in range(5000):
        deep = [deep]
    assert refused(Depth, {"tree": deep}).errors == [FieldError("body", "invalid_request", "请求内容嵌套过深。")]


def test_a_type_error_inside_a_validator_becomes_invalid_request():
    error = refused(Fragile, {"value": "x"})
    assert error.kind == "invalid" and error.code == "invalid_request" and error.field == "body"


def test_a_key_with_a_lone_surrogate_still_gives_an_encodable_answer():
    class Strict(Command):
        model_config = ConfigDict(extra="forbid")

    error = refused(Strict, {"\ud800": 1})
    json.dumps(error.body(), ensure_ascii=False).encode("utf-8")


# --- text -------------------------------------------------------------------------------------


def test_fold_turns_full_width_into_ascii_and_strips():
    assert fold("\u3000１３９ＡＢ\u3000") == "139AB"


def test_free_text_is_stripped_keeps_chinese_punctuation_and_may_be_empty():
    assert one(text="  经查询，无犯罪记录（本人）。 ").text == "经查询，无犯罪记录（本人）。"
    assert one(text="   ").text == ""


def test_numbers_and_lists_are_not_text():
    assert refused(One, {"text": 12}).by_field() == {"text": "“text”应为文本。"}
    assert refused(One, {"text": ["a"]}).by_field() == {"text": "“text”应为文本。"}


def test_required_text_blank_is_reported_as_missing():
    assert refused(One, {"required": " \u3000 "}).errors == [
        FieldError("required", "invalid_request", "缺少必填项“required”。")]


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["+86 139 1234 5678", "１３９１２３４５６７８", "0086-139-1234-5678",
                                     "86 13912345678", "(139) 1234-5678", "\u3000139 1234 5678 "])
def test_a_mobile_is_accepted_as_people_write_it(written):
    assert one(mobile=written).mobile == "13912345678"


@pytest.mark.parametrize("written", ["1391234567", "23912345678", "+1 139 1234 5678", "0351-4041234"])
def test_anything_but_a_mobile_is_an_invalid_phone(written):
    error = refused(One, {"mobile": written})
    assert error.errors == [FieldError("mobile", "invalid_phone", "请填写11位手机号码。")]
    assert error.kind == "rule"


@pytest.mark.parametrize("written, stored", [
    ("0351－4041234", "0351-4041234"),
    ("(0351) 404 1234", "0351-4041234"),
    ("03514041234", "03514041234"),
    ("+86 139 1234 5678", "13912345678"),
])
def test_an_organisation_may_give_a_landline_or_a_mobile(written, stored):
    assert one(phone=written).phone == stored


def test_a_phone_that_is_neither_is_refused():
    assert refused(One, {"phone": "12345"}).errors == [
        FieldError("phone", "invalid_phone", "请填写手机号码或带区号的固定电话。")]


# --- identifiers ------------------------------------------------------------------------------


def test_a_resident_id_in_full_width_with_spaces_and_lower_x_is_accepted():
    assert one(id_number="１１０１０５ １９４９１２３１ ００２ｘ").id_number == ID_NUMBER


def test_a_resident_id_with_a_wrong_check_character_is_refused():
    error = refused(One, {"id_number": "110105194912310021"})
    assert (error.kind, error.code, error.field) == ("rule", "invalid_id_number", "id_number")


def test_a_credit_code_is_upper_cased_and_checked():
    assert one(credit_code=" " + CREDIT_CODE.lower()[:9] + " " + CREDIT_CODE.lower()[9:]).credit_code == CREDIT_CODE
    bad = CREDIT_CODE[:-1] + ("0" if CREDIT_CODE[-1] != "0" else "1")
    assert refused(One, {"credit_code": bad}).errors == [
        FieldError("credit_code", "invalid_credit_code", "统一社会信用代码有误，请核对（含末位校验码）。")]


@pytest.mark.parametrize("written", ["140902 20261206 0008", "140902202612060008", "140902-20261206-0008",
                                     "１４０９０２－２０２６１２０６－０００８"])
def test_a_case_number_is_normalised(written):
    assert one(case_no=written).case_no == "140902-20261206-0008"
    assert one(number=written).number == "140902-20261206-0008"


def test_a_case_number_of_the_wrong_length_is_malformed():
    error = refused(One, {"case_no": "140902-2026120-0008"})
    assert (error.kind, error.code, error.field) == ("invalid", "invalid_request", "case_no")


def test_a_tracking_number_is_checked_by_shape_only():
    assert one(tracking_no=" ea 123456785 cn ").tracking_no == "EA123456785CN"
    assert one(tracking_no="EA123456789CN").tracking_no == "EA123456789CN"  # wrong check digit: the use case's job
    assert one(number="ea123456785cn").number == "EA123456785CN"
    assert refused(One, {"tracking_no": "EA12345678CN"}).code == "invalid_request"


def test_a_public_number_must_be_a_case_or_a_tracking_number():
    error = refused(One, {"number": "hello"})
    assert (error.code, error.field) == ("invalid_request", "number")


def test_a_username_is_folded_and_lower_cased():
    assert one(username=" ＺｈａｎｇＳａｎ ").username == "zhangsan"


# --- divisions --------------------------------------------------------------------------------

PLACES = {"140105": "太原市小店区", "140106": "太原市迎泽区", "110105": "北京市朝阳区", "220104": "长春市朝阳区"}


def divisions(name):
    return [code for code, full in PLACES.items() if full.endswith(name) or full == name]


def test_a_division_code_may_be_followed_by_its_name():
    assert one(division="140105").division == "140105"
    assert one(division="１４０１０５ 太原市小店区").division == "140105"


def test_a_division_name_resolves_through_the_context():
    assert parse(One, {"division": "小店区"}, context={"divisions": divisions}).division == "140105"
    assert parse(One, {"division": "太原市迎泽区"}, context={"divisions": divisions}).division == "140106"


def test_an_ambiguous_division_name_asks_for_the_city():
    error = refused(One, {"division": "朝阳区"}, context={"divisions": divisions})
    assert error.errors == [FieldError(
        "division", "invalid_request",
        "有2个地方叫“朝阳区”，请写明所在市（例如“太原市小店区”）或填写6位行政区划代码。")]


def test_an_unknown_division_name_is_refused():
    error = refused(One, {"division": "桃花源"}, context={"divisions": divisions})
    assert error.errors == [FieldError(
        "division", "invalid_request", "未找到“桃花源”，请从列表中选择，或填写6位行政区划代码。")]


def test_without_a_lookup_only_a_six_digit_code_is_accepted():
    assert refused(One, {"division": "小店区"}).message == "行政区划代码应为6位数字。"
    assert refused(One, {"division": "14010"}, context={"divisions": divisions}).message == "行政区划代码应为6位数字。"


def test_an_empty_optional_division_is_none():
    assert one(maybe_division="").maybe_division is None
    assert one(maybe_division="140105").maybe_division == "140105"
    assert refused(One, {"division": ""}).message == "缺少必填项“division”。"


# --- times, numbers, flags -------------------------------------------------------------------


def test_a_naive_time_is_taken_as_beijing_time():
    at = one(at="2026-03-02T09:30:00").at
    assert at == datetime(2026, 3, 2, 9, 30, tzinfo=BEIJING)
    assert at.utcoffset() == timedelta(hours=8)


def test_a_time_with_an_offset_keeps_its_instant():
    assert one(at="2026-03-02T01:30:00Z").at == datetime(2026, 3, 2, 9, 30, tzinfo=BEIJING)
    assert one(at="2026-03-02T01:30:00Z").at.tzinfo is not None


@pytest.mark.parametrize("written", ["2026-03-02 午前", "yesterday", 1700000000, "1700000000"])
def test_a_time_not_in_iso_8601_is_refused(written):
    assert refused(One, {"at": written}).errors == [
        FieldError("at", "invalid_request", "时间应为 ISO 8601 格式，例如 2026-03-02T09:30:00+08:00。")]


def test_a_date_is_yyyy_mm_dd():
    assert one(on="2026-03-02").on == date(2026, 3, 2)
    for written in ("2026/03/02", "2026-02-30", "20260302", 20260302):
        assert refused(One, {"on": written}).message == "日期应为 YYYY-MM-DD 格式。"


@pytest.mark.parametrize("written, copies", [(3, 3), ("3", 3), ("９９", 99), (" 1 ", 1)])
def test_copies_accept_a_number_or_form_digits(written, copies):
    assert one(copies=written).copies == copies


@pytest.mark.parametrize("written", [0, 100, -1, True, 2.5, "2.0", "x", "9" * 5000])
def test_copies_outside_one_to_ninety_nine_are_refused(written):
    assert refused(One, {"copies": written}).errors == [
        FieldError("copies", "invalid_request", "份数应为1至99的整数。")]


def test_a_flag_must_be_a_real_boolean():
    assert one(flag=True).flag is True
    for written in ("true", 1, "on"):
        assert refused(One, {"flag": written}).errors == [
            FieldError("flag", "invalid_request", "“flag”应为 true 或 false。")]


# --- web forms --------------------------------------------------------------------------------


def test_a_form_becomes_the_nested_object_the_api_takes():
    form = {
        "applicant.name": "张三",
        "applicant.phone": "139 1234 5678",
        "applicant.agent.name": "李四",
        "materials[1].title": "身份证复印件",
        "materials[1].copies": "1",
        "materials[0].title": "申请书",
        "materials[0].copies": "2",
        "identity_check.passed": "on",
        "csrf_token": "abc",
    }
    assert from_form(form, flags=["identity_check.passed", "notify"]) == {
        "applicant": {"name": "张三", "phone": "139 1234 5678", "agent": {"name": "李四"}},
        "materials": [{"title": "申请书", "copies": "2"}, {"title": "身份证复印件", "copies": "1"}],
        "identity_check": {"passed": True},
        "notify": False,  # an unchecked box is not sent at all
        "csrf_token": "abc",
    }


def test_a_form_keeps_only_the_names_asked_for():
    form = {"method": "mail", "csrf_token": "abc", "agree": "0"}
    assert from_form(form, ["method"], flags=["agree"]) == {"method": "mail", "agree": False}


def test_a_form_value_of_1_stays_text_unless_the_key_is_a_flag():
    assert from_form({"copies": "1", "note": "on", "ok": "true"}, flags=["ok"]) == \
        {"copies": "1", "note": "on", "ok": True}


def test_a_parsed_form_reports_errors_under_the_same_names_as_its_fields():
    form = {"applicant.name": "张三", "applicant.phone": "139", "materials[0].title": "申请书",
            "materials[0].copies": "0", "method": "mail"}
    assert [e.field for e in refused(Application, from_form(form)).errors] == \
        ["applicant.phone", "materials[0].copies"]
    form.update({"applicant.phone": "+86 139 1234 5678", "materials[0].copies": "２"})
    command = parse(Application, from_form(form))
    assert command.applicant.phone == "13912345678" and command.materials[0].copies == 2


def test_an_absurdly_deep_form_key_is_dropped():
    assert from_form({"a" + ".a" * 5000: "x", "b": "y"}) == {"b": "y"}


# --- asked: one plain message for a field a person fills in or picks ---------------------------


def test_an_asked_field_missing_null_blank_or_not_accepted_gets_its_own_message():
    from tracking.model.inputs import asked

    class Choice(Command):
        outcome: asked(Literal["approved", "refused"], "请选择办理结果：准予或不予。",
                       accept=lambda value: value in ("approved", "refused"))
        reason: asked(text(5), "请填写原因。")
        materials: asked(list[str], "请列出材料。")

    wanted = [FieldError("outcome", "invalid_request", "请选择办理结果：准予或不予。"),
              FieldError("reason", "invalid_request", "请填写原因。"),
              FieldError("materials", "invalid_request", "请列出材料。")]
    for given in ({}, {"outcome": None, "reason": None, "materials": None},
                  {"outcome": "maybe", "reason": " \u3000 ", "materials": []}):
        assert refused(Choice, given).errors == wanted
    # what gets past the question is still checked by the type
    assert refused(Choice, {"outcome": "approved", "reason": "太长了的原因", "materials": ["a"]}).errors == [
        FieldError("reason", "invalid_request", "“reason”过长（最多5字）。")]
    assert parse(Choice, {"outcome": "refused", "reason": " 不符 ", "materials": ["a"]}).reason == "不符"
