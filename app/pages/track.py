"""The applicant's tracking pages (/track): no account, phone-first.

The look-up form posts the check code (so it stays out of the address bar, the history and server
logs); `/track?no=NUMBER&check=CODE`, the contract's address, shows the same timeline. Look-ups and
evaluations go through the same rate limit, lock and use cases as the API.
"""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, session, url_for

from app.addresses import timeline_answer
from app.http_errors import status_of
from app.ratelimit import rate_limited
from app.web import committed, env, typed
from tracking.commands import evaluations
from tracking.model.errors import Refused
from tracking.model.inputs import Invalid, parse
from tracking.model.states import RATED_STAGES, SCORE_TITLES
from tracking.reads import timeline

bp = Blueprint("track", __name__, url_prefix="/track")

SCORES = [(str(score), text) for score, text in sorted(SCORE_TITLES.items(), reverse=True)]
LABELS = {"no": "办件编号或邮件号", "check": "查询密码", "score": "满意程度", "comment": "意见或建议",
          "stage": "评价的环节"}
STAGES = list(RATED_STAGES.items())



@bp.after_request
def _private(response):
    # the address may carry the check code: never sent on as a referrer (no page is cached: app.web)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- look-up -----------------------------------------------------------------------------------

@bp.route("", methods=["GET", "POST"])
def form():
    source = request.form if request.method == "POST" else request.args
    number = typed(source.get("no"))
    if request.method == "GET" and "check" not in request.args:
        return _form(number)
    return _look_up(number, typed(source.get("check")))


@bp.get("/<number>")
def ask_code(number):
    """The QR code's target: the number is filled in, the code is asked for."""
    return _form(typed(number))


def _form(number: str = "", errors: dict | None = None, status: int = 200, *, named: bool = True):
    """The look-up form; `named`: the summary names the field of each error (not for "not found",
    which is about the number and the code together)."""
    return render_template("track/form.html", number=number, errors=errors or {}, labels=LABELS,
                           summary_labels=LABELS if named else {}), status


def _look_up(number: str, check: str):
    errors = {}
    if not number:
        errors["no"] = "请输入办件编号或邮件号。"
    if not check:
        errors["check"] = "请输入查询密码。"
    elif not (len(check) == 6 and check.isdigit()):
        errors["check"] = "查询密码是6位数字，请核对收件回执。"
    if errors:
        return _form(number, errors, 400)
    try:
        rate_limited("track")
        answer = timeline.track(g.db, env(), number, check)
    except Refused as e:
        return _refused(e, number)
    return _timeline(answer, check)


def _refused(e: Refused, number: str):
    """Too many tries: the 429 page. Not found: the form again, the same for a wrong code and an unknown
    number. Anything else: the error page."""
    if e.recorded:  # a wrong code counts towards the lock
        g.db.commit()
    if status_of(e) == 429:
        wait = 60 if e.code == "too_many_requests" else 3600
        return render_template("track/limited.html", message=e.message, minutes=wait // 60), 429, \
            {"Retry-After": str(wait)}
    if status_of(e) == 404:
        return _form(number, {"no": e.message}, 404, named=False)
    raise e


_ON_THE_WAY = {"packet_arrived_hub", "packet_departed_hub"}


def folded(events: list[dict]) -> list[dict]:
    """The timeline as an applicant reads it on a phone: the hub scans between two steps fold into one
    line ("途经 3 个邮件处理中心", opened on a tap), and a packet's number is named on its first line only."""
    steps, named = [], set()
    for e in events:
        e = dict(e)
        if e.get("tracking_no") in named:
            del e["tracking_no"]
        elif e.get("tracking_no"):
            named.add(e["tracking_no"])
        if e["type"] in _ON_THE_WAY:
            if not steps or "hubs" not in steps[-1]:
                steps.append({"hubs": [], "at": e["at"]})
            steps[-1]["hubs"].append(e)
            continue
        steps.append(e)
    for step in steps:
        if "hubs" in step:
            places = list(dict.fromkeys(h["place"] or "邮件处理中心" for h in step["hubs"]))
            step.update(text=f"途经 {len(places)} 个邮件处理中心", places=places, at=step["hubs"][-1]["at"])
    return steps


def _timeline(answer: dict, check: str, *, errors: dict | None = None, notice: str = "", score: str = "",
              comment: str = "", stage: str = "", status: int = 200):
    answer = timeline_answer(answer)
    return render_template("track/case.html", t=answer, steps=folded(answer["events"]), check=check,
                           errors=errors or {}, notice=notice, score=score, comment=comment, scores=SCORES,
                           stage=stage, stages=STAGES, labels=LABELS), status


# -- evaluation (好差评) -------------------------------------------------------------------------

@bp.post("/<case_no>/evaluation")
def evaluation(case_no):
    check = typed(request.form.get("check"))
    score = request.form.get("score", "")
    comment = request.form.get("comment", "")
    stage = request.form.get("stage", "")
    # a radio button's value is text; the API takes the score as a JSON number only
    data = {"check": check, "score": int(score) if score.isdecimal() else score, "comment": comment, "stage": stage}
    try:
        rate_limited("evaluation")
        try:
            command = parse(evaluations.Evaluation, data)
        except Invalid as e:
            # the page again with the errors next to the choices (the code is checked first)
            answer = timeline.track(g.db, env(), case_no, check)
            return _timeline(answer, check, errors=e.by_field(), score=score, comment=comment, stage=stage,
                             status=status_of(e))
        made = evaluations.evaluate(g.db, env(), case_no, command)
        done = {"case_no": made.case.case_no, "score": made.evaluation.score}
        committed()
    except Refused as e:
        g.db.commit() if e.recorded else g.db.rollback()
        if status_of(e) == 409:  # already evaluated, or not yet over: the timeline says which
            return _timeline(timeline.track(g.db, env(), case_no, check), check, notice=e.message, status=409)
        return _refused(e, case_no)
    session["track_evaluated"] = done
    return redirect(url_for("track.thanks", case_no=done["case_no"]), 303)


@bp.get("/<case_no>/evaluated")
def thanks(case_no):
    done = session.pop("track_evaluated", None)
    if not done or done.get("case_no") != case_no:  # not just evaluated here: the look-up instead
        return redirect(url_for("track.ask_code", number=case_no))
    return render_template("track/thanks.html", case_no=case_no, score=done["score"],
                           score_text=SCORE_TITLES.get(done["score"]))
