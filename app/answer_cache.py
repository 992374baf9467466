"""Public tracking answers kept a few seconds in each process (`TONGBAN_TRACK_CACHE_SECONDS`, 0: off).

Applicants reload the tracking page and their phones poll it, so the same answer is asked for again and
again; making it reads six statements and builds the timeline, about 3 ms, against some microseconds for a
kept one (bench.http). What is kept, and for how long:
- only an answer to a right check code: a wrong code is counted each time, as before;
- keyed by the number as asked, the code and the minute (the answer says what is late as of today);
- any write committed by this process empties it, so a clerk's change shows on this worker at once; on
  another worker, or after the sweep or a carrier's event, it shows within the seconds set;
- at most MAX_ANSWERS, the oldest dropped first.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Response, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import clock

MAX_ANSWERS = 10_000


class AnswerCache:
    def __init__(self, seconds: float, engine: Engine):
        self.seconds = seconds
        self._kept: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        if seconds > 0:
            event.listen(engine, "commit", self._committed)

    def _committed(self, conn) -> None:
        if not conn.get_execution_options().get("query_only"):  # a transaction that could write
            self.clear()

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def answer(self, key: tuple, make: Callable[[], dict]) -> Response:
        """The JSON answer kept for `key` this minute, or `make()`'s (kept when it returns: a refusal
        raises and is never kept)."""
        if self.seconds <= 0:
            return current_app.json.response(make())
        key = (*key, clock.now().replace(second=0, microsecond=0))
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            return current_app.response_class(kept[1], mimetype=current_app.json.mimetype)
        response = current_app.json.response(make())
        with self._lock:
            self._kept[key] = (now + self.seconds, response.get_data())
            self._kept.move_to_end(key)
            while len(self._kept) > MAX_ANSWERS:
                self._kept.popitem(last=False)
        return response
