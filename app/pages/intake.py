"""收件登记: the window's intake flow (/window/intake).

Search the catalogue → fill in the application (one page in sections: a trained clerk with the
applicant and the papers in front of them works faster on one page than through many) → check the
answers (nothing registered yet; the draft travels in hidden fields, never in the cookie session)
→ confirm (once per submission) → the confirmation with the receipt and the label ready to print.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from app.http_errors import status_of
from app.web import committed, env, once, page_error, role_required
from routing.reference import department_names, search_matters
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.commands import intake
from tracking.model import identity
from tracking.reads import views
from tracking.model.errors import Refused

bp = Blueprint("intake", __name__, url_prefix="/window/intake")

LEVELS = {"county": "县级", "city": "市级", "province": "省级"}
KINDS = {"person": "个人", "organisation": "法人和其他组织"}
ID_METHODS = [("id_card_reader", "身份证读卡器读取"), ("face", "人脸识别比对"), ("manual", "人工核验证件")]
RESULT_WAYS = {"mail": "邮寄送达", "pickup": "到本窗口领取", "electronic": "网络送达"}
RESULT_HINTS = {"mail": "纸质结果寄到申请人指定的地址", "pickup": "纸质结果寄回本窗口，申请人凭回执和身份证件领取",
                "electronic": "电子结果，办结后以短信发送下载链接"}
RESULT_TYPES = {"paper": "纸质", "electronic": "电子"}
# What "the place the case concerns" is for each department's subject-rule matters (matters.yaml).
SUBJECT_PLACES = {"GA": "迁入地", "RS": "参保地（转入地）", "YB": "参保地（转入地）", "GJJ": "公积金缴存地（转入地）",
                  "BDC": "不动产所在地", "SJ": "经营场所所在地", "HB": "生产经营场所所在地"}
PERSON = ("name", "id_number", "phone", "address", "division_code")
ORGANISATION = ("name", "credit_code", "phone", "address", "division_code")
SIX_DIGITS = re.compile(r"^\s*([0-9]{6})\b")



# -- 1. the catalogue ----------------------------------------------------------------------------

@bp.get("")
@role_required("clerk")
def start():
    q = (request.args.get("q") or "").strip()
    found = search_matters(g.db, q, "proxy")
    # a matter the clerk named that exists but is online only: say so rather than "nothing found"
    online_only = [m for m in search_matters(g.db, q, None) if "proxy" not in m.modes] if q else []
    return render_template("intake/start.html", q=q, matters=found, online_only=online_only,
                           departments=department_names(g.db), LEVELS=LEVELS, KINDS=KINDS,
                           RESULT_TYPES=RESULT_TYPES)


def _matter(code: str) -> Matter:
    matter = g.db.get(Matter, code)
    if matter is None or not matter.active:
        abort(404)
    return matter


# -- 2. the application form -----------------------------------------------------------------------

def _kind(matter: Matter, asked: str | None) -> str:
    return asked if asked in matter.applicant_kinds else matter.applicant_kinds[0]


def _methods(matter: Matter) -> list[str]:
    """The ways the result may come back: paper by mail or at this window, or electronic."""
    return [m for m in RESULT_WAYS if ("electronic" if m == "electronic" else "paper") in matter.result_types]


def _names(matter: Matter, kind: str) -> list[str]:
    """Every form field of this matter and applicant kind, in the order the form shows them."""
    if kind == "person":
        names = [f"applicant.{f}" for f in PERSON]
    else:
        names = [f"applicant.{f}" for f in ORGANISATION] + [f"applicant.agent.{f}" for f in PERSON]
    if matter.jurisdiction == "subject":
        names += ["subject.division_code", "subject.description"]
    for m in matter.materials:
        names += [f"materials.{m['code']}.{part}" for part in ("received", "original", "copies")]
    return names + ["identity_check.method", "identity_check.passed", "result_delivery.method",
                    "result_delivery.address", "result_delivery.division_code", "note"]


def _defaults(matter: Matter) -> dict[str, str]:
    values = {"identity_check.method": "id_card_reader"}
    for m in matter.materials:
        values[f"materials.{m['code']}.original"] = "1" if m["original"] else "0"
        values[f"materials.{m['code']}.copies"] = "1"
    methods = _methods(matter)
    if len(methods) == 1:
        values["result_delivery.method"] = methods[0]
    return values


def _read(form, matter: Matter, kind: str) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name in _names(matter, kind)}


def place_label(directory, code: str) -> str:
    """山西省太原市小店区: the division with the names of the units above it."""
    names, place = [], directory.place(code)
    while place is not None:
        names.append(place.name)
        place = directory.place(place.parent_code)
    return "".join(reversed(names))


def _division(directory, text: str) -> list[str]:
    """The divisions the clerk may mean: by code ("140105 …" as the list fills it in) or by (full) name.
    One: found; several: a name like 城区 that more than one city has."""
    found = SIX_DIGITS.match(text)
    if found:
        return [found.group(1)] if directory.place(found.group(1)) else []
    return [code for code, place in directory.places.items() if text in (place.name, place_label(directory, code))]


def _check(values: dict[str, str], matter: Matter, kind: str, directory) -> tuple[dict, dict[str, str], list[str]]:
    """The form as the API's body, and every field error at once: {field: message}, and the codes of
    materials the checklist still lacks. The use case decides the rest (see _preview)."""
    errors: dict[str, str] = {}

    def need(name: str, message: str) -> str:
        if not values.get(name):
            errors[name] = message
        return values.get(name, "")

    def division(name: str, what: str, required: bool) -> str:
        text = values.get(name, "")
        if not text:
            if required:
                errors[name] = f"请选择{what}。"
            return ""
        codes = _division(directory, text)
        if len(codes) != 1:
            errors[name] = (f"有{len(codes)}个地方叫“{text}”，请从列表中选择{what}（带市名的一项）。" if codes else
                            f"未找到“{text}”，请从列表中选择{what}，或填写6位行政区划代码。")
            return ""
        values[name] = codes[0]
        return codes[0]

    def person(prefix: str, who: str, household_required: bool) -> dict:
        name = need(prefix + "name", f"请填写{who}姓名。")
        number = values[prefix + "id_number"] = identity.normalize_id_number(
            re.sub(r"\s+", "", values.get(prefix + "id_number", "")))
        if not number:
            errors[prefix + "id_number"] = f"请填写{who}的身份证号码。"
        elif not identity.is_valid_resident_id(number):
            errors[prefix + "id_number"] = "身份证号码有误，请核对（18位，含末位校验码）。"
        phone = values[prefix + "phone"] = re.sub(r"[\s-]+", "", values.get(prefix + "phone", ""))
        if not phone:
            errors[prefix + "phone"] = f"请填写{who}的手机号码。"
        elif not identity.is_valid_mobile(phone):
            errors[prefix + "phone"] = "手机号码应为11位数字，例如 13812345678。"
        return {"kind": "person", "name": name, "id_type": "resident_id", "id_number": number, "phone": phone,
                "address": values.get(prefix + "address", ""),
                "division_code": division(prefix + "division_code", f"{who}的户籍地", household_required)}

    if kind == "person":
        applicant = person("applicant.", "申请人", matter.jurisdiction == "household")
    else:
        name = need("applicant.name", "请填写单位名称。")
        code = values["applicant.credit_code"] = re.sub(r"\s+", "", values.get("applicant.credit_code", "")).upper()
        if not code:
            errors["applicant.credit_code"] = "请填写统一社会信用代码。"
        elif not identity.is_valid_credit_code(code):
            errors["applicant.credit_code"] = "统一社会信用代码有误，请核对（18位，含末位校验码）。"
        phone = values["applicant.phone"] = re.sub(r"\s+", "", values.get("applicant.phone", ""))
        if not phone:
            errors["applicant.phone"] = "请填写单位联系电话。"
        elif not (identity.is_valid_mobile(phone) or identity.is_valid_landline(phone)):
            errors["applicant.phone"] = "请填写11位手机号码，或带区号的固定电话，例如 0351-4041234。"
        applicant = {"kind": "organisation", "name": name, "credit_code": code, "phone": phone,
                     "address": values.get("applicant.address", ""),
                     "division_code": division("applicant.division_code", "单位登记地", True),
                     "agent": person("applicant.agent.", "代理人", False)}

    body = {"matter_code": matter.code, "applicant": applicant}
    if matter.jurisdiction == "subject":
        body["subject"] = {"division_code": division("subject.division_code", SUBJECT_PLACES.get(
            matter.department, "事项所涉地点"), True), "description": values.get("subject.description", "")}

    given = []
    for m in matter.materials:
        prefix = f"materials.{m['code']}."
        if not values.get(prefix + "received"):
            continue
        copies = values.get(prefix + "copies") or "1"
        if not copies.isdigit() or not 1 <= int(copies) <= 99:
            errors[prefix + "copies"] = f"“{m['name']}”的份数应为1至99的整数。"
            copies = "1"
        given.append({"code": m["code"], "copies": int(copies), "original": values.get(prefix + "original") == "1"})
    missing: list[str] = []
    try:  # the use case's own checklist rule (required materials, originals where asked)
        intake.check_materials(matter, given)
    except Refused as e:
        errors["materials"] = e.message
        missing = list(e.extra.get("materials", []))
    body["materials"] = given

    method = values.get("identity_check.method", "")
    if method not in dict(ID_METHODS):
        errors["identity_check.method"] = "请选择身份核验方式。"
    passed = values.get("identity_check.passed") == "1"
    if not passed:
        errors["identity_check.passed"] = "身份核验通过后才能收件：核验通过请勾选此项；未通过的请勿收件。"
    body["identity_check"] = {"method": method, "passed": passed}

    way = values.get("result_delivery.method", "")
    delivery = {"method": way}
    if way not in _methods(matter):
        errors["result_delivery.method"] = "请选择结果送达方式。"
    elif way == "mail":
        delivery["address"] = need("result_delivery.address", "邮寄送达请填写收件地址。")
        delivery["division_code"] = division("result_delivery.division_code", "收件地址所在的行政区划", True)
    body["result_delivery"] = delivery
    body["note"] = values.get("note", "")
    return body, errors, missing


def _form_field(e: Refused, known: set[str]) -> str:
    """The form field a use case's refusal belongs to ("_": the top of the page)."""
    name = {"subject": "subject.division_code", "identity_check": "identity_check.passed"}.get(e.field, e.field or "_")
    if name.startswith("materials"):
        name = "materials"
    return name if name in known else "_"


def _preview(body: dict) -> tuple[dict | None, Refused | None]:
    """The use case run on the draft and rolled back: its refusals (same locality, no owning office …)
    show on the form before anything is registered, and the clerk sees where the case will go."""
    try:
        made = intake.register_case(g.db, env(), g.actor, body)
        case, packet = made["case"], made["packet"]
        directory = load_directory(g.db)
        return {"owning_office": views.office_ref(directory, case.owning_office)["name"],
                "due_date": case.due_date, "provisional": case.due_date_provisional,
                "route": [stop["name"] for stop in packet.route]}, None
    except Refused as e:
        return None, e
    finally:
        g.db.rollback()  # nothing of the trial stays: no case, no number used


def _render_form(matter: Matter, kind: str, values: dict, errors: dict, missing=(), focus: str = "", status=200):
    directory = load_directory(g.db)
    divisions = sorted((code, place_label(directory, code)) for code in directory.places)
    labels = {code: place_label(directory, code) for code in
              {values.get(n) for n in values if n.endswith("division_code")} if code and directory.place(code)}
    return render_template(
        "intake/form.html", matter=matter, kind=kind, values=values, errors=errors, missing=set(missing),
        focus=focus, divisions=divisions, division_labels=labels, department=department_names(g.db).get(
            matter.department, matter.department), LEVELS=LEVELS, KINDS=KINDS, ID_METHODS=ID_METHODS,
        methods=[(m, f"{RESULT_WAYS[m]}：{RESULT_HINTS[m]}") for m in _methods(matter)], method_keys=_methods(matter),
        subject_place=SUBJECT_PLACES.get(matter.department, "事项所涉地点")), status


@bp.route("/<matter_code>", methods=["GET", "POST"])
@role_required("clerk")
def form(matter_code):
    matter = _matter(matter_code)
    if "proxy" not in matter.modes:
        return page_error(422, "不能异地代收", f"“{matter.name}”仅支持{'、'.join(_mode_names(matter))}，"
                                                 "不能异地代收代办。请引导申请人通过网上办理。")
    if request.method == "GET":
        kind = _kind(matter, request.args.get("kind"))
        return _render_form(matter, kind, _defaults(matter), {}, focus="applicant-name")
    kind = _kind(matter, request.form.get("applicant.kind"))
    values = _read(request.form, matter, kind)
    if request.form.get("change"):  # 修改 on the check page: the form again, at that field
        return _render_form(matter, kind, values, {}, focus=request.form["change"])
    body, errors, missing = _check(values, matter, kind, load_directory(g.db))
    preview = None
    if not errors:
        preview, refused = _preview(body)
        if refused is not None:
            errors[_form_field(refused, set(values) | {"materials"})] = refused.message
            missing = refused.extra.get("materials", [])
    if errors:
        return _render_form(matter, kind, values, errors, missing, status=422)
    return _render_check(matter, kind, values, body, preview)


def _mode_names(matter: Matter) -> list[str]:
    names = {"online": "全程网办", "proxy": "异地代收代办", "joint": "多地联办"}
    return [names.get(m, m) for m in matter.modes]


# -- 3. check your answers ----------------------------------------------------------------------------

def _answers(matter: Matter, kind: str, values: dict, body: dict, directory) -> list[tuple[str, list]]:
    """Sections of (label, answer, field to change) for the check page."""
    def place(code):
        return f"{place_label(directory, code)}（{code}）" if code else "未填写"

    def person(prefix: str, who: str) -> list:
        return [(f"{who}姓名", values[prefix + "name"], prefix + "name"),
                ("身份证号码", values[prefix + "id_number"], prefix + "id_number"),
                ("手机号码", values[prefix + "phone"], prefix + "phone"),
                ("住址", values[prefix + "address"] or "未填写", prefix + "address"),
                ("户籍地", place(values[prefix + "division_code"]), prefix + "division_code")]

    if kind == "person":
        sections = [("申请人（个人）", person("applicant.", "申请人"))]
    else:
        sections = [("申请单位", [
            ("单位名称", values["applicant.name"], "applicant.name"),
            ("统一社会信用代码", values["applicant.credit_code"], "applicant.credit_code"),
            ("联系电话", values["applicant.phone"], "applicant.phone"),
            ("单位地址", values["applicant.address"] or "未填写", "applicant.address"),
            ("登记地", place(values["applicant.division_code"]), "applicant.division_code")]),
            ("代理人", person("applicant.agent.", "代理人"))]
    if matter.jurisdiction == "subject":
        sections.append(("办理地", [
            (SUBJECT_PLACES.get(matter.department, "事项所涉地点"), place(values["subject.division_code"]),
             "subject.division_code"),
            ("说明", values["subject.description"] or "未填写", "subject.description")]))
    names = {m["code"]: m["name"] for m in matter.materials}
    sections.append(("收到的材料", [
        (names[m["code"]], f"{'原件' if m['original'] else '复印件'} {m['copies']} 份", f"materials.{m['code']}.received")
        for m in body["materials"]]))
    way = body["result_delivery"]["method"]
    delivery = [("送达方式", RESULT_WAYS[way], "result_delivery.method")]
    if way == "mail":
        delivery += [("收件地址", values["result_delivery.address"], "result_delivery.address"),
                     ("所在行政区划", place(values["result_delivery.division_code"]), "result_delivery.division_code")]
    sections += [("身份核验", [("核验方式", dict(ID_METHODS)[values["identity_check.method"]], "identity_check.method"),
                             ("核验结果", "通过", "identity_check.passed")]),
                 ("办理结果送达", delivery),
                 ("备注", [("备注", values["note"] or "无", "note")])]
    return sections


def _render_check(matter: Matter, kind: str, values: dict, body: dict, preview: dict):
    directory = load_directory(g.db)
    return render_template(
        "intake/check.html", matter=matter, kind=kind, values=values, preview=preview, KINDS=KINDS,
        sections=_answers(matter, kind, values, body, directory))


# -- 4. confirm, once -----------------------------------------------------------------------------

@bp.post("/<matter_code>/confirm")
@role_required("clerk")
def confirm(matter_code):
    matter = _matter(matter_code)

    def run():
        kind = _kind(matter, request.form.get("applicant.kind"))
        values = _read(request.form, matter, kind)
        body, errors, missing = _check(values, matter, kind, load_directory(g.db))
        if errors:  # a draft changed on its way back: the form again, as on the first submit
            return _render_form(matter, kind, values, errors, missing, status=422)
        try:
            made = intake.register_case(g.db, env(), g.actor, body)
        except Refused as e:
            g.db.rollback()
            return _render_form(matter, kind, values, {_form_field(e, set(values) | {"materials"}): e.message},
                                e.extra.get("materials", []), status=status_of(e))
        case_no = made["case"].case_no
        committed()
        return redirect(url_for(".done", case_no=case_no), 303)

    return once(run)


# -- 5. the confirmation ----------------------------------------------------------------------------

@bp.get("/done/<case_no>")
@role_required("clerk")
def done(case_no):
    # case_view lets only the two offices' staff in (403 for another hall) and gives the check code,
    # unsealed, to the collecting office alone; the read goes to the access log
    case = views.case_view(g.db, env(), g.actor, case_no)
    if "check_code" not in case:
        abort(403)
    return render_template("intake/done.html", case=case,
                           result_way=RESULT_WAYS.get(case["result_delivery"]["method"], ""))
