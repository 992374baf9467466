"""Hash chain over events: each event's hash covers its content and the previous hash."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime


def _default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(type(value))


def event_hash(prev_hash: str, payload: dict) -> str:
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=_default)
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def verify_chain(events: list[tuple[str, str, dict]]) -> bool:
    """events: (prev_hash, hash, payload) in recorded order."""
    prev = ""
    for prev_hash, digest, payload in events:
        if prev_hash != prev or event_hash(prev_hash, payload) != digest:
            return False
        prev = digest
    return True
