"""收件登记: the window's intake flow (/window/intake).

Search the catalogue → fill in the application (one page in sections: a trained clerk with the
applicant and the papers in front of them works faster on one page than through many) → check the
answers (nothing registered yet; the draft travels in hidden fields, never in the cookie session)
→ confirm (once per submission) → the confirmation with the receipt and the label ready to print.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from app.addresses import with_case_links
from app.http_errors import status_of
from app.pages.files import files_for_page, upload_from_form
from app.web import committed, env, once, page_error, role_required
from routing.reference import department_names, search_matters
from routing.reference import directory as load_directory
from routing.tables import Matter
from tracking.commands import case_files, intake
from tracking.commands.intake import CaseIntake
from tracking.commands.steps import matter_steps
from tracking.model import identity
from tracking.model.errors import Refused
from tracking.model.inputs import FieldError, Invalid, from_form, parse
from tracking.reads import views
from tracking.reads.steps import steps_view

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
ORIGIN_PLACE = "迁出地（转出地）"
PERSON = ("name", "id_number", "phone", "address", "division_code")
ORGANISATION = ("name", "credit_code", "phone", "address", "division_code")
AGENT = ("name", "id_number", "phone", "relation")
AGENT_LABELS = {"name": "代办人姓名", "id_number": "代办人身份证号码", "phone": "代办人手机号码", "relation": "与申请人的关系"}
APPLICANT_CHECKS = list(intake.APPLICANT_CHECK_METHODS.items())
RELATIONS = list(intake.AGENT_RELATIONS.items())
CONTACT = ("email", "sms_opt_out")  # how the applicant hears of the case (SMS unless opted out, and email)
PERSON_LABELS = {"name": "姓名", "id_number": "身份证号码", "phone": "手机号码", "address": "住址", "division_code": "户籍地"}
ORGANISATION_LABELS = {"name": "单位名称", "credit_code": "统一社会信用代码", "phone": "联系电话", "address": "单位地址",
                       "division_code": "登记地"}



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
    if kind == "person":  # in person, or through an agent (委托代办: left empty when the applicant is here)
        names = [f"applicant.{f}" for f in PERSON + CONTACT] + [f"applicant.agent.{f}" for f in AGENT] + \
            ["applicant_identity_check.method", "applicant_identity_check.passed"]
    else:
        names = [f"applicant.{f}" for f in ORGANISATION + CONTACT] + [f"applicant.agent.{f}" for f in PERSON]
    owners = intake.step_owners(matter)
    if matter.jurisdiction == "subject" or owners & {"subject", "origin"}:
        names += ["subject.division_code", "subject.description"]
    if "origin" in owners:  # 多地联办: the place a step leaves from (转出地)
        names.append("subject.origin_division_code")
    for m in matter.materials:
        names += [f"materials.{m['code']}.{part}" for part in ("received", "original", "copies", "travels")]
    return names + ["identity_check.method", "identity_check.passed", "result_delivery.method",
                    "result_delivery.address", "result_delivery.division_code", "note"]


def _defaults(matter: Matter) -> dict[str, str]:
    values = {"identity_check.method": "id_card_reader"}
    for m in matter.materials:
        values[f"materials.{m['code']}.original"] = "1" if m["original"] else "0"
        values[f"materials.{m['code']}.copies"] = "1"
        values[f"materials.{m['code']}.travels"] = "paper"  # today's way unless the clerk picks 扫描件
    methods = _methods(matter)
    if len(methods) == 1:
        values["result_delivery.method"] = methods[0]
    return values


def _read(form, matter: Matter, kind: str) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name in _names(matter, kind)}


def _as_command(values: dict[str, str], matter: Matter, kind: str) -> dict:
    """The form in the API's JSON shape, for the one parser. A field left empty is left out, so the
    parser reports it as missing (or takes its default); the checklist becomes the materials list."""
    data = from_form({name: value for name, value in values.items() if value and not name.startswith("materials.")
                      and not name.startswith("applicant_identity_check.")},
                     flags=["identity_check.passed", "applicant.sms_opt_out"])
    if kind == "person" and any(values.get(f"applicant.agent.{f}") for f in AGENT):
        # an agent applies: the applicant's own check is asked for (left out, it is reported at its field)
        data["applicant_identity_check"] = {"method": values.get("applicant_identity_check.method") or None,
                                            "passed": values.get("applicant_identity_check.passed") == "1"}
    data["matter_code"] = matter.code
    data.setdefault("applicant", {})["kind"] = kind
    data.setdefault("result_delivery", {})  # no way chosen: reported at its radios, not at the top
    given = []
    for m in matter.materials:
        prefix = f"materials.{m['code']}."
        if values.get(prefix + "received"):
            kind = values.get(prefix + "original")  # 1 原件, 0 复印件, certified 复印件（已核验原件）
            item = {"code": m["code"], "original": kind == "1"} | ({"certified": True} if kind == "certified" else {})
            if values.get(prefix + "copies"):
                item["copies"] = values[prefix + "copies"]
            if values.get(prefix + "travels"):
                item["travels"] = values[prefix + "travels"]
            given.append(item)
    data["materials"] = given
    return data


def _parsed(values: dict[str, str], matter: Matter, kind: str) -> tuple[CaseIntake | None, Invalid | None, list[str]]:
    """The command, or the parser's refusal; and the codes of the materials ticked, in the list's order."""
    data = _as_command(values, matter, kind)
    given = [item["code"] for item in data["materials"]]
    try:
        cmd = parse(CaseIntake, data, context=intake.intake_context(g.db))
    except Invalid as e:
        return None, e, given
    _show_as_parsed(values, cmd)
    return cmd, None, given


def _show_as_parsed(values: dict[str, str], cmd: CaseIntake) -> None:
    """What the clerk typed, as the parser read it (13812345678 for "+86 138 1234 5678", 140105 for
    小店区): the check page shows it and carries it in its hidden fields."""
    def walk(prefix: str, data: dict) -> None:
        for key, value in data.items():
            name = prefix + key
            if isinstance(value, dict):
                walk(name + ".", value)
            elif name in values and not isinstance(value, bool):
                values[name] = "" if value is None else str(value)
    walk("", cmd.model_dump(exclude={"materials"}))


def _labels(matter: Matter, kind: str) -> dict[str, str]:
    """The form's labels by field path: the parser's messages name a field by its path, the page by its label."""
    people = {"applicant.": "申请人"} if kind == "person" else {"applicant.agent.": "代理人"}
    labels = {prefix + f: who + PERSON_LABELS[f] for prefix, who in people.items() for f in PERSON}
    if kind == "organisation":
        labels.update({"applicant." + f: ORGANISATION_LABELS[f] for f in ORGANISATION})
    else:
        labels.update({"applicant.agent." + f: AGENT_LABELS[f] for f in AGENT})
        labels.update({"applicant_identity_check.method": "申请人身份核验方式",
                       "applicant_identity_check.passed": "申请人身份核验结果"})
    return {**labels, "applicant.email": "电子邮箱", "applicant.sms_opt_out": "不接收短信通知",
            "subject.division_code": SUBJECT_PLACES.get(matter.department, "事项所涉地点"),
            "subject.description": "说明", "subject.origin_division_code": ORIGIN_PLACE,
            "identity_check.method": "核验方式",
            "result_delivery.method": "结果送达方式", "result_delivery.address": "收件地址",
            "result_delivery.division_code": "收件地址所在的行政区划", "note": "备注"}


def _on_form(e: Refused, matter: Matter, kind: str, values: dict, given: list[str]) -> tuple[dict[str, str], list]:
    """A refusal shown on the form: every message at its field ("_": the top of the page), and the codes
    of the materials the checklist still lacks."""
    found = e.errors if isinstance(e, Invalid) else [FieldError(e.field or "", e.code, e.message, e.extra)]
    labels, known = _labels(matter, kind), set(values) | {"materials"}
    errors: dict[str, str] = {}
    missing: list[str] = []
    for error in found:
        message = error.message
        if error.field in labels:  # "缺少必填项“applicant.name”。" → "…“申请人姓名”。"
            message = message.replace(f"“{error.field}”", f"“{labels[error.field]}”")
        errors.setdefault(_form_name(error.field, given, known), message)
        missing += error.extra.get("materials", [])
    return errors, missing


def _form_name(path: str, given: list[str], known: set[str]) -> str:
    """The form field of a command's path: materials[1].copies is the copies box of the second ticked
    material, anything else about materials the checklist; "_" when the form has no such field."""
    copies = re.fullmatch(r"materials\[(\d+)\]\.copies", path)
    if copies and int(copies.group(1)) < len(given):
        return f"materials.{given[int(copies.group(1))]}.copies"
    if path.startswith("materials"):
        return "materials"
    name = {"subject": "subject.division_code", "identity_check": "identity_check.passed",
            "applicant_identity_check": "applicant_identity_check.method"}.get(path, path)
    return name if name in known else "_"


def _preview(cmd: CaseIntake) -> tuple[dict | None, Refused | None]:
    """The use case run on the draft and rolled back: its refusals (same locality, no owning office …)
    show on the form before anything is registered, and the clerk sees where the case will go."""
    try:
        made = intake.register_case(g.db, env(), g.actor, cmd)
        case, packet = made.case, made.packet
        directory = load_directory(g.db)
        return {"owning_office": views.office_ref(directory, case.owning_office)["name"],
                "due_date": case.due_date, "provisional": case.due_date_provisional,
                "expected_result_date": case.expected_result_date,
                "route": [stop["name"] for stop in packet.route] if packet else [],
                # 多地联办: every step and its office, before anything is registered
                "steps": steps_view(g.db, directory, case, public=True)}, None
    except Refused as e:
        return None, e
    finally:
        g.db.rollback()  # nothing of the trial stays: no case, no number used


def _render_form(matter: Matter, kind: str, values: dict, errors: dict, missing=(), focus: str = "", status=200):
    directory = load_directory(g.db)
    divisions = sorted((code, directory.full_name(code)) for code in directory.places)
    labels = {code: directory.full_name(code) for code in
              {values.get(n) for n in values if n.endswith("division_code")} if code and directory.place(code)}
    return render_template(
        "intake/form.html", matter=matter, kind=kind, values=values, errors=errors, missing=set(missing),
        focus=focus, divisions=divisions, division_labels=labels, department=department_names(g.db).get(
            matter.department, matter.department), LEVELS=LEVELS, KINDS=KINDS, ID_METHODS=ID_METHODS,
        RELATIONS=RELATIONS, APPLICANT_CHECKS=APPLICANT_CHECKS,
        methods=[(m, f"{RESULT_WAYS[m]}：{RESULT_HINTS[m]}") for m in _methods(matter)], method_keys=_methods(matter),
        subject_place=SUBJECT_PLACES.get(matter.department, "事项所涉地点"), origin_place=ORIGIN_PLACE,
        joint_steps=matter_steps(matter), fields=set(_names(matter, kind))), status


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
    cmd, refused, given = _parsed(values, matter, kind)
    preview = None
    if cmd is not None:
        preview, refused = _preview(cmd)
    if refused is not None:
        return _render_form(matter, kind, values, *_on_form(refused, matter, kind, values, given), status=422)
    return _render_check(matter, kind, values, cmd, preview)


def _mode_names(matter: Matter) -> list[str]:
    names = {"online": "全程网办", "proxy": "异地代收代办", "joint": "多地联办"}
    return [names.get(m, m) for m in matter.modes]


# -- 3. check your answers ----------------------------------------------------------------------------

def _answers(matter: Matter, kind: str, values: dict, cmd: CaseIntake, directory) -> list[tuple[str, list]]:
    """Sections of (label, answer, field to change) for the check page."""
    def place(code):
        return f"{directory.full_name(code)}（{code}）" if code else "未填写"

    def rows(prefix: str, fields: tuple, labels: dict, who: str = "") -> list:
        return [(who + labels[f] if f == "name" else labels[f],
                 place(values[prefix + f]) if f == "division_code" else values[prefix + f] or "未填写", prefix + f)
                for f in fields]

    if kind == "person":
        sections = [("申请人（个人）", rows("applicant.", PERSON, PERSON_LABELS, "申请人"))]
        agent = cmd.applicant.agent
        if agent is not None:
            sections.append(("委托代办", [
                *[(AGENT_LABELS[f], intake.AGENT_RELATIONS[agent.relation] if f == "relation" else
                   values["applicant.agent." + f], "applicant.agent." + f) for f in AGENT],
                ("申请人身份核验", f"{intake.APPLICANT_CHECK_METHODS[cmd.applicant_identity_check.method]}：通过",
                 "applicant_identity_check.method")]))
    else:
        sections = [("申请单位", rows("applicant.", ORGANISATION, ORGANISATION_LABELS)),
                    ("代理人", rows("applicant.agent.", PERSON, PERSON_LABELS, "代理人"))]
    sections.append(("办理进度通知", _contact_rows(values, cmd)))
    if "subject.division_code" in values:
        sections.append(("办理地", [
            (SUBJECT_PLACES.get(matter.department, "事项所涉地点"), place(values["subject.division_code"]),
             "subject.division_code"),
            *([(ORIGIN_PLACE, place(values["subject.origin_division_code"]), "subject.origin_division_code")]
              if "subject.origin_division_code" in values else []),
            ("说明", values["subject.description"] or "未填写", "subject.description")]))
    sections.append(("收到的材料", [
        (m["name"], f"{'原件' if m['original'] else '复印件（已核验原件）' if m.get('certified') else '复印件'} "
                    f"{m['copies']} 份，{intake.TRAVELS[m.get('travels', 'paper')]}", f"materials.{m['code']}.received")
        for m in cmd.received(matter)]))
    way = cmd.result_delivery.method
    delivery = [("送达方式", RESULT_WAYS[way], "result_delivery.method")]
    if way == "mail":
        delivery += [("收件地址", values["result_delivery.address"], "result_delivery.address"),
                     ("所在行政区划", place(values["result_delivery.division_code"]), "result_delivery.division_code")]
    sections += [("身份核验", [("核验方式", dict(ID_METHODS)[cmd.identity_check.method], "identity_check.method"),
                             ("核验结果", "通过", "identity_check.passed")]),
                 ("办理结果送达", delivery),
                 ("备注", [("备注", values["note"] or "无", "note")])]
    return sections


def _contact_rows(values: dict, cmd: CaseIntake) -> list[tuple[str, str, str]]:
    """Where the messages go, as the outbox will send them: SMS to the first mobile of the applicant's and
    the agent's phones (an organisation's landline takes none), email to the address given."""
    applicant = cmd.applicant
    phones = [applicant.phone, applicant.agent.phone if applicant.agent is not None else None]
    mobile = next((p for p in phones if p and identity.is_valid_mobile(p)), None)
    if applicant.sms_opt_out:
        sms = "不接收短信通知"
    else:
        sms = f"发送到 {mobile}" if mobile else "没有手机号码，不发送短信"
    return [("短信通知", sms, "applicant.sms_opt_out"),
            ("电子邮箱", values["applicant.email"] or "未填写", "applicant.email")]


def _render_check(matter: Matter, kind: str, values: dict, cmd: CaseIntake, preview: dict):
    directory = load_directory(g.db)
    return render_template(
        "intake/check.html", matter=matter, kind=kind, values=values, preview=preview, KINDS=KINDS,
        sections=_answers(matter, kind, values, cmd, directory))


# -- 4. confirm, once -----------------------------------------------------------------------------

@bp.post("/<matter_code>/confirm")
@role_required("clerk")
def confirm(matter_code):
    matter = _matter(matter_code)

    def run():
        kind = _kind(matter, request.form.get("applicant.kind"))
        values = _read(request.form, matter, kind)
        cmd, refused, given = _parsed(values, matter, kind)
        if refused is not None:  # a draft changed on its way back: the form again, as on the first submit
            return _render_form(matter, kind, values, *_on_form(refused, matter, kind, values, given), status=422)
        try:
            made = intake.register_case(g.db, env(), g.actor, cmd)
        except Refused as e:
            g.db.rollback()
            return _render_form(matter, kind, values, *_on_form(e, matter, kind, values, given), status=status_of(e))
        case_no = made.case.case_no
        committed()
        return redirect(url_for(".done", case_no=case_no), 303)

    return once(run)


# -- 5. the confirmation ----------------------------------------------------------------------------

@bp.get("/done/<case_no>")
@role_required("clerk")
def done(case_no, file_errors: dict | None = None, status: int = 200):
    # case_view lets only the two offices' staff in (403 for another hall) and gives the check code,
    # unsealed, to the collecting office alone; the read goes to the access log
    case = with_case_links(views.case_view(g.db, env(), g.actor, case_no))
    if "check_code" not in case:
        abort(403)
    # the scans are uploaded here, once the case has its number: a refused file loses nothing of the intake
    may_upload = case["status"] in {s.value for s in case_files.MATERIAL_UPLOADS}
    return render_template("intake/done.html", case=case, files=files_for_page(case_no),
                           upload="material" if may_upload else None, file_errors=file_errors or {},
                           result_way=RESULT_WAYS.get(case["result_delivery"]["method"], "")), status


@bp.post("/done/<case_no>/files")
@role_required("clerk")
def done_files(case_no):
    """A material's scan uploaded from the confirmation page: back to it, the scan's thumbnail shown."""
    errors = upload_from_form(case_no)
    if errors:
        return done(case_no, file_errors=errors, status=422)
    return redirect(url_for(".done", case_no=case_no, _anchor="files"), 303)
