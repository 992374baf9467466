"""Following up a bad rating (整改): the owning office records what it did about it, which closes the
follow-up and enters the case's history. Scores 1–2 open one (`public.evaluate`)."""
from __future__ import annotations

from sqlmodel import Session

from config import clock
from tracking.model.lookups import as_officer, load_case
from tracking.model.context import Actor, Env
from tracking.model.errors import bad_request, conflict
from tracking.model.records import case_event
from tracking.model.tables import Case, Evaluation
from tracking.model.lookups import evaluation_of

NOTE_MIN = 5      # characters: "已电话回访" at the least, never an empty "ok"
NOTE_MAX = 1000




def _note(body: dict) -> str:
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise bad_request("整改情况应为文本。", "note")
    note = (note or "").strip()
    if len(note) < NOTE_MIN:
        raise bad_request(f"请写明做了哪些整改、是否已联系申请人（至少{NOTE_MIN}个字）。", "note")
    if len(note) > NOTE_MAX:
        raise bad_request(f"整改情况最多{NOTE_MAX}个字，请精简。", "note")
    return note


def record_follow_up(session: Session, env: Env, actor: Actor, case_no: str, body: dict) -> tuple[Case, Evaluation]:
    """Closes the open follow-up of the case's bad rating with a note of what was done: only an officer
    of the owning office, only while one is open; an event on the case records it."""
    if not isinstance(body, dict):
        raise bad_request("请求内容应为对象。")
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    evaluation = evaluation_of(session, case)
    if evaluation is None or evaluation.follow_up_status != "open":
        done = evaluation is not None and evaluation.follow_up_status == "done"
        raise conflict("no_open_follow_up", "该差评已整改完毕，无需再次登记。" if done else "该办件没有待整改的差评。")
    note = _note(body)
    now = clock.now()
    evaluation.follow_up_status, evaluation.follow_up_note = "done", note
    evaluation.followed_up_at, evaluation.followed_up_by = now, actor.username
    session.add(evaluation)
    case_event(session, case, "followed_up", actor, at=now, data={"score": evaluation.score, "note": note})
    session.flush()
    return case, evaluation


