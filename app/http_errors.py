"""What a core refusal means in HTTP: the core says the kind, the web layer picks the status."""
from __future__ import annotations

from tracking.model.errors import Kind, Refused

STATUS = {Kind.INVALID: 400, Kind.UNAUTHENTICATED: 401, Kind.FORBIDDEN: 403, Kind.NOT_FOUND: 404,
          Kind.CONFLICT: 409, Kind.GONE: 410, Kind.RULE: 422, Kind.TOO_MANY: 429}


def status_of(e: Refused) -> int:
    return STATUS[e.kind]
