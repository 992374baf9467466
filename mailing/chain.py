"""Keyed hash chain over event rows: each event's hash is an HMAC-SHA256, under a chain key kept apart
from the database, of all its fields and the previous hash. Editing, removing, inserting or reordering a
stored event is detected, and someone who can write to the database but lacks the key cannot forge the
hashes again (a plain SHA-256 chain they could simply recompute).

The key is the installation's (TONGBAN_CHAIN_KEY): every process that records events configures it once
with `use_key` when it builds its environment, so every writer and reader hashes alike.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable, Iterator

EXCLUDED = ("id", "hash")

_key: bytes | None = None


def use_key(key: str) -> None:
    """The chain key this process links and verifies with."""
    global _key
    if not key:
        raise ValueError("the chain key must not be empty")
    _key = key.encode("utf-8")


def _default(value):
    if isinstance(value, datetime):  # one canonical form, whatever offset the scanner sent
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value))


def event_hash(prev_hash: str, payload: dict, key: str | None = None) -> str:
    """HMAC-SHA256 of the previous hash and the payload, under `key` or the configured chain key."""
    secret = key.encode("utf-8") if key else _key
    if secret is None:
        raise RuntimeError("no chain key configured: call mailing.chain.use_key first")
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=_default)
    return hmac.new(secret, (prev_hash + "\n" + body).encode("utf-8"), hashlib.sha256).hexdigest()


def payload_of(fields: dict) -> dict:
    """What an event's hash covers: every stored field but its id and the hash itself."""
    return {k: v for k, v in fields.items() if k not in EXCLUDED}


def row_payload(row) -> dict:
    return payload_of(row.model_dump())


def link(row, prev_hash: str) -> str:
    """Links `row` after `prev_hash` and returns its hash (the new head of the chain)."""
    row.prev_hash = prev_hash
    row.hash = event_hash(prev_hash, row_payload(row))
    return row.hash


def verify_chain(events: list[tuple[str, str, dict]]) -> bool:
    """events: (prev_hash, hash, payload) in recorded order."""
    prev = ""
    for prev_hash, digest, payload in events:
        if prev_hash != prev or event_hash(prev_hash, payload) != digest:
            return False
        prev = digest
    return True


def verify_rows(rows: list, head: str) -> bool:
    """Stored rows in recorded order verify, and the last one is the owner's recorded head
    (which catches a removed last event)."""
    chain = [(r.prev_hash, r.hash, row_payload(r)) for r in rows]
    return verify_chain(chain) and (chain[-1][1] if chain else "") == head


# -- finding what broke --------------------------------------------------------------------------

EDITED, INSERTED, DELETED = "edited", "inserted", "deleted"


@dataclass(frozen=True)
class Break:
    kind: str    # edited | inserted | deleted
    event: Any   # the caller's reference to the event concerned (for `deleted`: the one after the gap)
    after: Any   # deleted only: the last good event before the gap (None: the chain's start)


def find_breaks(events: Iterable[tuple[Any, str, str, dict]], head: str) -> Iterator[Break]:
    """Walks one chain, (ref, prev_hash, hash, payload) in recorded order, one event ahead at most,
    and says what happened wherever it breaks:

    - edited: the event's fields (or its hash) no longer match its keyed hash, and the chain runs on
      through it (the next event, or the owner's head, links to its stored hash);
    - inserted: an event whose hash is not valid and which the chain runs around (the next event, or the
      head, links to the event before it);
    - deleted: an event is missing before `event` (it is valid but links to a hash no stored event has), or
      after the last one (the head names a hash no stored event has; `event` is then None).
    """
    expected, last_good = "", None  # the hash the next genuine event links to, and whose it is
    it = iter(events)
    current = next(it, None)
    while current is not None:
        following = next(it, None)
        ref, prev_hash, digest, payload = current
        links_on = following[1] if following is not None else head
        if hmac.compare_digest(event_hash(prev_hash, payload), digest):
            if prev_hash != expected:
                yield Break(DELETED, ref, last_good)
            expected, last_good = digest, ref
        elif links_on == expected and links_on != digest:
            yield Break(INSERTED, ref, None)
        else:
            yield Break(EDITED, ref, None)
            expected, last_good = digest, ref
        current = following
    if head != expected:
        yield Break(DELETED, None, last_good)
