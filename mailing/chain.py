"""Hash chain over event rows: each event's hash covers all its fields and the previous hash,
so editing, removing or reordering a stored event is detected."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone

EXCLUDED = ("id", "hash")


def _default(value):
    if isinstance(value, datetime):  # one canonical form, whatever offset the scanner sent
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value))


def event_hash(prev_hash: str, payload: dict) -> str:
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=_default)
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def row_payload(row) -> dict:
    """What an event row's hash covers: every field but its id and the hash itself."""
    return {k: v for k, v in row.model_dump().items() if k not in EXCLUDED}


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
