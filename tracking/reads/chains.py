"""Checking every stored event chain (`flask --app app audit verify`): each case's events and each
packet's custody events, against the keyed hashes and the owner's head hash.

Memory stays bounded whatever the database holds: owners are read a batch at a time by id, and their
events streamed from one cursor in recorded order; a chain is checked one event ahead (mailing.chain).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Iterator

from sqlalchemy import select, true
from sqlmodel import Session

from mailing.chain import DELETED, EDITED, INSERTED, find_breaks, payload_of
from mailing.tables import Packet, PacketEvent
from tracking.model.tables import Case, CaseEvent

KIND_TITLES = {EDITED: "记录被改动（与其密钥哈希不符）",
               INSERTED: "记录为插入（不在哈希链上）",
               DELETED: "记录缺失（哈希链在此断开）"}
OWNER_TITLES = {"case": "办件", "packet": "邮件"}


@dataclass(frozen=True)
class EventRef:
    id: int
    type: str
    at: datetime


@dataclass(frozen=True)
class ChainBreak:
    chain: str                # case | packet
    number: str               # its case_no or tracking_no
    kind: str                 # edited | inserted | deleted
    event: EventRef | None    # the event concerned; for `deleted`, the one after the gap (None: at the end)
    after: EventRef | None    # `deleted` only: the last intact event before the gap (None: the start)


@dataclass
class Walked:
    """What a walk covered, counted as it goes."""
    cases: int = 0
    packets: int = 0
    events: int = 0


def walk_chains(session: Session, case: Case | None = None, *, walked: Walked | None = None,
                batch: int = 500) -> Iterator[ChainBreak]:
    """Every break in every case and packet chain (or those of one case), as it is found."""
    walked = walked if walked is not None else Walked()
    cases = Case.__table__
    packets = Packet.__table__
    yield from _walk(session, "case", cases, cases.c.case_no, CaseEvent.__table__, "case_id",
                     cases.c.id == case.id if case else true(), walked, batch)
    yield from _walk(session, "packet", packets, packets.c.tracking_no, PacketEvent.__table__, "packet_id",
                     packets.c.case_id == case.id if case else true(), walked, batch)


def _walk(session: Session, chain: str, owners, number, events, owner_key: str, where, walked: Walked,
          batch: int) -> Iterator[ChainBreak]:
    after = 0
    while True:
        heads = session.execute(select(owners.c.id, number, owners.c.last_hash)
                                .where(where, owners.c.id > after).order_by(owners.c.id).limit(batch)).all()
        if not heads:
            return
        after = heads[-1][0]
        owner_column = events.c[owner_key]
        stream = session.execute(select(events).where(owner_column.in_([h[0] for h in heads]))
                                 .order_by(owner_column, events.c.id)
                                 .execution_options(yield_per=1000)).mappings()
        groups = groupby(stream, key=lambda row: row[owner_key])
        group = next(groups, None)
        for owner_id, owner_no, head in heads:
            has_events = group is not None and group[0] == owner_id
            rows = group[1] if has_events else ()
            chain_rows = ((EventRef(r["id"], r["type"], r["at"]), r["prev_hash"], r["hash"], payload_of(r))
                          for r in _counted(rows, walked))
            for found in find_breaks(chain_rows, head):
                yield ChainBreak(chain, owner_no, found.kind, found.event, found.after)
            if has_events:  # its events are all read: on to the next owner's
                group = next(groups, None)
            setattr(walked, chain + "s", getattr(walked, chain + "s") + 1)


def _counted(rows, walked: Walked):
    for row in rows:
        walked.events += 1
        yield row
