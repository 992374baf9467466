"""The applicant's tracking pages: number and check code, a timeline in plain Chinese with the dates to
expect, the electronic result, and the evaluation once the case is over — nothing personal, ever."""
from __future__ import annotations

import base64
import html
import re

import pytest
from sqlmodel import select

from tests.e2e.conftest import csrf_token
from tests.e2e.steps import KEPT_PDF, PDF, accepted, case_of, collect, count, decide, packet_of, received, record, rows, track
from tests.helpers import intake_body, resident_id
from tracking.model.tables import Evaluation, TrackLock

UNKNOWN = "140902-20990101-0001"
NOT_FOUND = "未找到该办件，请核对编号和查询密码。"
PICKUP = {"method": "pickup"}
REASON = {"reason": "申请人户籍不在本辖区，应向户籍地公安机关申请"}


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _day(iso: str) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    return f"{y}年{m}月{d}日"


class Phone:
    """An applicant's browser: no account, a cookie session (for the forms' CSRF tokens), forms posted
    as a browser posts them."""

    def __init__(self, app, address: str):
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = address

    def get(self, path: str):
        return self.client.get(path)

    def look_up(self, number: str, check: str):
        token = csrf_token(self.get("/track").text)
        return self.client.post("/track", data={"no": number, "check": check, "csrf_token": token})

    def evaluate(self, case_no: str, check: str, score: str | None = None, comment: str = ""):
        data = {"check": check, "comment": comment, "csrf_token": csrf_token(self.get("/track").text)}
        if score is not None:
            data["score"] = score
        return self.client.post(f"/track/{case_no}/evaluation", data=data)


@pytest.fixture
def phone(app, api):
    # the same client address as the API client of the test: one rate-limit window for both doors
    return Phone(app, api.client.environ_base["REMOTE_ADDR"])


def text_of(page) -> str:
    """The words a person reads: tags dropped, entities decoded, white space squeezed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page.text, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def timeline(page) -> list[tuple[str, str, bool]]:
    """(title, when and where, still to come) for each step of the timeline, in page order."""
    items = re.findall(r'<li class="timeline__item( timeline__item--future)?">\s*<h3 class="timeline__title">(.*?)</h3>'
                       r'\s*<p class="timeline__meta">(.*?)</p>', page.text, flags=re.S)
    def clean(fragment: str) -> str:
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", fragment))).strip()
    return [(clean(title).removeprefix("接下来："), clean(meta), bool(future)) for future, title, meta in items]


def without_tokens(page) -> str:
    """The page with its CSRF tokens (new on each rendering) taken out."""
    return re.sub(r'(name="csrf[-_]token" (?:content|value)=")[^"]*"', r'\1"', page.text)


# -- the form ----------------------------------------------------------------------------------

def test_the_form_asks_for_the_number_and_the_six_digit_code_and_says_where_they_are_printed(staff, phone):
    page = phone.get("/track")
    assert page.status_code == 200
    words = text_of(page)
    assert "查询办件进度" in words and "办件编号或邮件号" in words and "查询密码" in words
    assert "6位数字" in words and "收件回执" in words
    assert 'inputmode="numeric"' in page.text and 'maxlength="6"' in page.text
    assert 'name="csrf_token"' in page.text
    assert "主导航" not in page.text and "退出" not in words  # no staff navigation for the public
    assert page.headers["Cache-Control"] == "no-store"


def test_the_qr_codes_address_asks_for_the_code_with_the_number_filled_in(staff, phone):
    case = collect(staff)
    page = phone.get(f"/track/{case['tracking_no']}")
    assert page.status_code == 200
    assert f'name="no" type="text" value="{case["tracking_no"]}"' in page.text
    check_field = re.search(r'<input[^>]*name="check"[^>]*>', page.text).group(0)
    assert "autofocus" in check_field and 'value=""' in check_field
    assert "办件进度" not in text_of(page).replace("查询办件进度", "")  # asks; shows nothing yet


def test_both_fields_are_asked_for_and_the_code_is_six_digits(staff, phone):
    empty = phone.look_up("", "")
    assert empty.status_code == 400
    words = text_of(empty)
    assert "请更正以下问题" in words
    assert words.count("请输入办件编号或邮件号。") == 2 and words.count("请输入查询密码。") == 2  # summary and field
    short = phone.look_up("140902-20260302-0001", "12a45")
    assert short.status_code == 400 and "查询密码是6位数字，请核对收件回执。" in text_of(short)
    assert 'value="140902-20260302-0001"' in short.text  # the number is kept for the correction


def test_a_code_typed_with_full_width_digits_and_spaces_is_read_as_typed(staff, phone, frozen):
    case = collect(staff)
    wide = "".join(chr(ord(c) + 0xFEE0) for c in case["check_code"])  # ０-９ from a Chinese keyboard
    page = phone.look_up(f" {case['case_no'].lower()} ", wide[:3] + " " + wide[3:])
    assert page.status_code == 200 and "窗口已收件，材料待寄出" in text_of(page)


# -- the timeline --------------------------------------------------------------------------------

def test_the_timeline_shows_what_happened_and_what_comes_next_with_the_dates_to_expect(staff, phone, frozen):
    api = staff
    case = collect(api)
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    frozen.set("2026-03-02T12:00:00+08:00")
    arrival = packet_of(api, case["tracking_no"])["expected_arrival"]

    page = phone.look_up(case["case_no"], case["check_code"])
    assert page.status_code == 200
    words = text_of(page)
    assert f"办件编号 {case['case_no']}" in words
    assert "当前状态 材料寄递中" in words  # the status in words, large
    for row in ("办理事项 无犯罪记录证明", "办理部门 太原市公安局小店分局户政科", "收件窗口 忻州市忻府区政务服务中心",
                "预计办结日期 2026年3月10日", "结果预计送达 2026年3月12日", "结果送达方式 邮寄送达"):
        assert row in words, row
    assert "已超期" not in words
    steps = timeline(page)
    assert steps[0] == ("窗口已收件，材料待寄出", "2026-03-02 09:00 · 忻州市忻府区政务服务中心", False)
    # the case's step and the packet's scan of the same moment are one line
    assert [s for s in steps if s[0] == "申请材料已寄出"] == [
        ("申请材料已寄出", f"2026-03-02 10:00 · 忻州市忻府区政务服务中心 · 邮件号 {case['tracking_no']}", False)]
    assert [s for s in steps if s[2]] == [
        ("申请材料送达办理部门", f"预计 {_day(arrival)} 前", True),
        ("办理部门审查受理（材料不全的，一次性告知需要补正的材料）", "日期待定", True),
        ("办理部门作出决定（预计办结日期，以受理日起算为准）", "预计 2026年3月10日 前", True),
        ("办理结果邮寄送达", "预计 2026年3月12日 前", True)]
    assert "提交评价" not in words  # not over yet

    # the contract's address shows the same, by the tracking number too
    by_address = phone.get(f"/track?no={case['tracking_no']}&check={case['check_code']}")
    assert by_address.status_code == 200 and timeline(by_address) == steps
    assert by_address.headers["Referrer-Policy"] == "no-referrer"


def test_a_received_case_shows_by_when_a_supplement_would_be_asked_for(staff, phone, frozen):
    case = received(staff)  # signed for on Tuesday 3 March
    steps = timeline(phone.look_up(case["case_no"], case["check_code"]))
    assert any(text == "办理部门已签收材料" and meta.startswith("2026-03-03 09:00 · 太原市公安局小店分局户政科")
               and not future for text, meta, future in steps)
    assert ("办理部门审查受理（材料不全的，一次性告知需要补正的材料）", "预计 2026年3月10日 前", True) in steps


def test_a_supplement_request_lists_the_materials_and_the_date_to_bring_them_by(staff, phone, frozen):
    api = staff
    case = received(api)
    r = api.post(f"/api/v1/cases/{case['case_no']}/supplement-requests", {"materials": ["id_card"]}, as_="officer")
    assert r.status_code == 200, r.json
    due = r.json["supplement"]["due"]
    page = phone.look_up(case["case_no"], case["check_code"])
    words = text_of(page)
    assert "当前状态 待补正" in words and "需要补正的材料 居民身份证" in words
    assert f"请在 {_day(due)} 前，携带以上材料和补正告知书到忻州市忻府区政务服务中心提交" in words
    assert ("请携带补正材料（居民身份证）到忻州市忻府区政务服务中心提交", f"请于 {_day(due)} 前办理", True) \
        in timeline(page)


def test_a_case_past_its_promised_date_is_marked_overdue(staff, phone, frozen):
    case = received(staff)
    frozen.set("2026-03-03T10:00:00+08:00")
    assert staff.post(f"/api/v1/cases/{case['case_no']}/accept", as_="officer").status_code == 200
    frozen.set("2026-03-09T09:00:00+08:00")  # promised for Friday 6 March, 3 working days after acceptance
    words = text_of(phone.look_up(case["case_no"], case["check_code"]))
    assert "承诺办结日期 2026年3月6日 已超期" in words and "已超过承诺办结日期（2026年3月6日）仍未办结" in words


def test_the_timeline_contains_no_personal_data(staff, phone, frozen):
    api = staff
    case = collect(api, intake_body(note="申请人联系电话13812345678"))
    record(api, case["tracking_no"], "dispatched", "2026-03-02T10:00:00+08:00", as_="clerk")
    page = without_tokens(phone.look_up(case["case_no"], case["check_code"]))
    assert "申请材料已寄出" in page
    for personal in ("张晓明", "张**", "张*明", resident_id(), resident_id()[-6:], "13812345678", "1234",
                     "平阳路", "3单元502室", case["check_code"]):
        assert personal not in page, personal


# -- wrong codes and locks ---------------------------------------------------------------------------

def test_a_wrong_code_and_an_unknown_number_give_the_same_page(staff, phone, frozen):
    case = collect(staff)
    number = case["case_no"]
    wrong = phone.look_up(number, _wrong(case["check_code"]))
    unknown = phone.look_up(UNKNOWN, case["check_code"])
    wrong_packet = phone.look_up(case["tracking_no"], _wrong(case["check_code"]))
    for page in (wrong, unknown, wrong_packet):
        assert page.status_code == 404
        assert text_of(page).count(NOT_FOUND) == 2  # at the top and at the field
    def typed_number_blanked(page, typed):
        return without_tokens(page).replace(f'value="{typed}"', 'value="NUMBER"')
    same = typed_number_blanked(unknown, UNKNOWN)
    assert typed_number_blanked(wrong, number) == same
    assert typed_number_blanked(wrong_packet, case["tracking_no"]) == same
    assert _wrong(case["check_code"]) not in wrong.text  # the code typed is not echoed back


def test_the_eleventh_wrong_code_locks_the_number_with_a_clear_page(staff, phone, frozen, db):
    case = collect(staff)
    number, right, wrong = case["case_no"], case["check_code"], _wrong(case["check_code"])
    for minute in range(10):
        frozen.set(f"2026-03-02T10:{minute:02d}:00+08:00")
        assert phone.look_up(number, wrong).status_code == 404
    frozen.set("2026-03-02T10:10:00+08:00")
    locked = phone.look_up(number, right)  # even the right code, for the next hour
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "3600"
    words = text_of(locked)
    assert "请稍后再试" in words and "查询密码错误次数过多，请一小时后再试。" in words and "约60分钟后" in words
    assert rows(db, select(TrackLock).where(TrackLock.number == number))[0].failures == 10
    # the API answers the same: one lock for both doors
    assert track(staff, number, right).status_code == 429
    frozen.set("2026-03-02T11:10:00+08:00")
    assert phone.look_up(number, right).status_code == 200


def test_a_client_asking_too_often_gets_the_429_page_counted_with_its_api_calls(staff, phone, frozen, app):
    case = collect(staff)
    app.config["TONGBAN"].track_rate_per_minute = 3
    assert phone.look_up(case["case_no"], case["check_code"]).status_code == 200
    assert track(staff, case["case_no"], case["check_code"]).status_code == 200
    assert phone.get(f"/track?no={case['case_no']}&check={case['check_code']}").status_code == 200
    limited = phone.look_up(case["case_no"], case["check_code"])
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    assert "查询过于频繁，请稍后再试。" in text_of(limited)
    assert track(staff, case["case_no"], case["check_code"]).status_code == 429
    assert phone.get("/track").status_code == 200  # the empty form is not a look-up


# -- evaluation ------------------------------------------------------------------------------------

def _rejected(api) -> dict:
    case = received(api, intake_body(result_delivery=PICKUP))
    r = api.post(f"/api/v1/cases/{case['case_no']}/reject", REASON, as_="officer")
    assert r.status_code == 200, r.json
    return case


def test_the_evaluation_form_appears_only_once_the_case_is_over(staff, phone, frozen):
    api = staff
    case = received(api, intake_body(result_delivery=PICKUP))
    page = phone.look_up(case["case_no"], case["check_code"])
    assert "评价本次服务" not in text_of(page) and "/evaluation" not in page.text
    assert case["check_code"] not in page.text  # no form: the code is nowhere on the page

    r = api.post(f"/api/v1/cases/{case['case_no']}/reject", REASON, as_="officer")
    assert r.status_code == 200
    page = phone.look_up(case["case_no"], case["check_code"])
    words = text_of(page)
    assert "当前状态 不予受理" in words and "不予受理，原件将退回" in words
    assert REASON["reason"] not in words  # the officer's words may name people: on the notice only
    assert "评价本次服务（好差评）" in words
    assert ("评价本次服务（好差评）", "需要您办理", True) in timeline(page)
    for level, name in (("5", "非常满意"), ("4", "满意"), ("3", "基本满意"), ("2", "不满意"), ("1", "非常不满意")):
        assert f'name="score" value="{level}"> {name}' in page.text
    # the code goes with the form, in its body, and in no link
    assert page.text.count(case["check_code"]) == 1
    assert f'<input type="hidden" name="check" value="{case["check_code"]}">' in page.text
    assert ("退回的材料送达忻州市忻府区政务服务中心，届时请携带身份证件领取",
            f"预计 {_day(packet_of(api, r.json['return_packet']['tracking_no'])['expected_arrival'])} 前",
            True) in timeline(page)


def test_an_evaluation_without_a_level_is_shown_again_with_the_error_next_to_the_choices(staff, phone, frozen, db):
    case = _rejected(staff)
    page = phone.evaluate(case["case_no"], case["check_code"], comment="窗口很耐心")
    assert page.status_code == 400
    words = text_of(page)
    assert "请更正以下问题 满意程度：请选择您对本次服务的满意程度。" in words
    assert '<p class="field-error">请选择您对本次服务的满意程度。</p>' in page.text
    assert ">窗口很耐心</textarea>" in page.text  # what was written is kept
    assert count(db, Evaluation) == 0


def test_an_evaluation_is_posted_once_and_then_shown_instead_of_the_form(staff, phone, frozen, db):
    case = _rejected(staff)
    frozen.set("2026-03-04T09:00:00+08:00")
    done = phone.evaluate(case["case_no"], case["check_code"], "4", "说明清楚，退件及时")
    assert done.status_code == 303 and done.location.endswith(f"/track/{case['case_no']}/evaluated")
    thanks = phone.get(done.location)
    assert thanks.status_code == 200
    assert "感谢您的评价 您的评价 满意" in text_of(thanks) and case["check_code"] not in thanks.text
    stored = rows(db, select(Evaluation))
    assert [(e.score, e.comment) for e in stored] == [(4, "说明清楚，退件及时")]

    again = phone.evaluate(case["case_no"], case["check_code"], "1", "再评一次")
    assert again.status_code == 409
    words = text_of(again)
    assert "该办件已评价过，每个办件只能评价一次。" in words
    assert "您已于 2026-03-04 09:00 评价本次服务： 满意" in words and "提交评价" not in words
    assert count(db, Evaluation) == 1

    later = phone.look_up(case["case_no"], case["check_code"])
    assert "您的评价" in text_of(later) and 'name="score"' not in later.text
    assert ("评价本次服务（好差评）", "需要您办理", True) not in timeline(later)
    assert phone.get(f"/track/{case['case_no']}/evaluated").status_code == 302  # thanks only right after


def test_a_bad_rating_says_the_office_will_follow_it_up(staff, phone, frozen, db):
    case = _rejected(staff)
    done = phone.evaluate(case["case_no"], case["check_code"], "1", "等了很久")
    assert "办理部门将核实情况并整改" in text_of(phone.get(done.location))
    assert rows(db, select(Evaluation))[0].follow_up_status == "open"


def test_an_evaluation_with_a_wrong_code_is_not_recorded_and_counts_towards_the_lock(staff, phone, frozen, db):
    case = _rejected(staff)
    page = phone.evaluate(case["case_no"], _wrong(case["check_code"]), "5")
    assert page.status_code == 404 and NOT_FOUND in text_of(page)
    assert count(db, Evaluation) == 0
    assert rows(db, select(TrackLock))[0].failures == 1


def test_the_public_forms_are_refused_without_a_csrf_token(staff, phone, frozen, db):
    case = _rejected(staff)
    look_up = phone.client.post("/track", data={"no": case["case_no"], "check": case["check_code"]})
    assert look_up.status_code == 400 and "CSRF" in text_of(look_up)
    evaluation = phone.client.post(f"/track/{case['case_no']}/evaluation",
                                   data={"check": case["check_code"], "score": "5"})
    assert evaluation.status_code == 400 and "页面已过期" in text_of(evaluation)
    assert count(db, Evaluation) == 0


# -- the electronic result ---------------------------------------------------------------------------

def test_the_electronic_result_is_downloaded_from_the_page_while_its_link_is_valid(staff, phone, frozen):
    api = staff
    case = accepted(api, intake_body(result_delivery={"method": "electronic"}))
    before = phone.look_up(case["case_no"], case["check_code"])
    assert "下载办理结果" not in text_of(before)
    assert ("在本页面下载电子办理结果", "日期待定", True) in timeline(before)

    frozen.set("2026-03-03T10:00:00+08:00")
    r = decide(api, case["case_no"], result_file=base64.b64encode(PDF).decode())
    assert r.status_code == 200, r.json
    page = phone.look_up(case["case_no"], case["check_code"])
    words = text_of(page)
    assert "当前状态 已办结" in words and "下载链接有效期至 2026-03-17 10:00" in words
    link = re.search(r'<a class="button button--large" href="([^"]+)">下载办理结果</a>', page.text).group(1)
    assert link == r.json["delivery_url"]  # the link the decision sent, not a new one
    assert case["check_code"] not in link

    download = phone.get(link)
    assert download.status_code == 200 and download.data == KEPT_PDF
    assert case_of(api, case["case_no"])["status"] == "delivered"
    after = phone.look_up(case["case_no"], case["check_code"])
    assert "您已下载过" in text_of(after) and "评价本次服务（好差评）" in text_of(after)

    frozen.set("2026-03-18T10:00:00+08:00")
    expired = text_of(phone.look_up(case["case_no"], case["check_code"]))
    assert "下载链接已于 2026-03-17 10:00 过期" in expired and "下载办理结果" not in expired
