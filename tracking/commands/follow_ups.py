"""Following up a bad rating (整改): the owning office records what it did about it, which closes the
follow-up and enters the case's history. Scores 1–2 open one (`evaluations.evaluate`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from sqlmodel import Session

from config import clock
from tracking.model.context import Actor, Env
from tracking.model.errors import conflict
from tracking.model.inputs import INVALID_REQUEST, Command, asked, text
from tracking.model.lookups import as_officer, evaluation_of, load_case
from tracking.model.records import case_event
from tracking.model.tables import Case, Evaluation

NOTE_MIN = 5      # characters: "已电话回访" at the least, never an empty "ok"
NOTE_MAX = 1000


def _not_too_long(value: Any) -> Any:
    if isinstance(value, str) and len(value.strip()) > NOTE_MAX:
        raise PydanticCustomError(INVALID_REQUEST, f"整改情况最多{NOTE_MAX}个字，请精简。")
    return value


class FollowUp(Command):
    note: asked(Annotated[text(NOTE_MAX), BeforeValidator(_not_too_long)],
                f"请写明做了哪些整改、是否已联系申请人（至少{NOTE_MIN}个字）。",
                accept=lambda value: not isinstance(value, str) or len(value.strip()) >= NOTE_MIN)


@dataclass(frozen=True)
class FollowedUp:
    case: Case
    evaluation: Evaluation


def record_follow_up(session: Session, env: Env, actor: Actor, case_no: str, command: FollowUp) -> FollowedUp:
    """Closes the open follow-up of the case's bad rating with a note of what was done: only an officer
    of the owning office, only while one is open; an event on the case records it."""
    case = load_case(session, case_no, lock=True)
    as_officer(actor, case)
    evaluation = evaluation_of(session, case)
    if evaluation is None or evaluation.follow_up_status != "open":
        done = evaluation is not None and evaluation.follow_up_status == "done"
        raise conflict("no_open_follow_up", "该差评已整改完毕，无需再次登记。" if done else "该办件没有待整改的差评。")
    now = clock.now()
    evaluation.follow_up_status, evaluation.follow_up_note = "done", command.note
    evaluation.followed_up_at, evaluation.followed_up_by = now, actor.username
    session.add(evaluation)
    case_event(session, case, "followed_up", actor, at=now, data={"score": evaluation.score, "note": command.note})
    session.flush()
    return FollowedUp(case, evaluation)
