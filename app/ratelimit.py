"""The public door's rate limit: tracking look-ups and evaluations, by the API and the pages alike."""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from flask import current_app, request
from tracking.model.errors import too_many



class RateLimit:
    """Per-client sliding window, per process: enough to blunt a scraper at the public door."""

    def __init__(self):
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, client: str, per_minute: int) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = self._hits[client]
            while hits and now - hits[0] > 60:
                hits.popleft()
            if len(hits) >= per_minute:
                return False
            hits.append(now)
            return True


# one window per client for the API and the pages: asking by either door counts the same
public_limit = RateLimit()


def rate_limited() -> None:
    """Refuses (429) a client that asked more often than the setting allows in the last minute."""
    if not public_limit.allow(request.remote_addr or "?", current_app.config["TONGBAN"].track_rate_per_minute):
        raise too_many("too_many_requests", "查询过于频繁，请稍后再试。")
