"""Which offices this installation answers for. Alone it answers for every office; as a node of a network
(tracking.federation.cases registers it) the offices in its peers' divisions are theirs: their stages
there are theirs to act on (deem, mark overdue, archive), and this side learns of it by their messages."""
from __future__ import annotations

import weakref
from collections.abc import Callable

from sqlmodel import Session

Decider = Callable[[Session, str], bool]  # (session, office code) -> whether this installation answers for it
_deciders: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # by engine: two nodes may share a process


def register(engine, decider: Decider | None) -> None:
    if decider is None:
        _deciders.pop(engine, None)
    else:
        _deciders[engine] = decider


def answers_for(session: Session, office_code: str | None) -> bool:
    decider = _deciders.get(session.get_bind())
    return decider is None or office_code is None or decider(session, office_code)
