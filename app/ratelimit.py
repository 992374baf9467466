"""Per-client limits at the doors anyone can knock on: public tracking look-ups, evaluations, sign-in.

Counted by the `limits` library in a moving window of a minute per client address. The counts live where
every worker sees them (Redis: `TONGBAN_RATE_LIMIT_STORAGE`, or the broker when it is Redis), in memory for
the embedded default (one process). The API and the pages count into the same window for the same door.

Only the doors' views count, so the library is used without Flask-Limiter's request hooks: those ran on
every request, a tenth of a millisecond each, for limits this service never declares on routes.
"""
from __future__ import annotations

import logging

from flask import current_app, request
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from tracking.model.errors import too_many

log = logging.getLogger(__name__)

# door → (the setting with its limit per minute, the refusal's message)
DOORS = {"track": ("track_rate_per_minute", "查询过于频繁，请稍后再试。"),
         "evaluation": ("evaluation_rate_per_minute", "提交过于频繁，请稍后再试。"),
         # verifying a result's code is a public look-up like tracking: the same limit, its own count
         "verify": ("track_rate_per_minute", "查询过于频繁，请稍后再试。"),
         "sign_in": ("sign_in_rate_per_minute", "登录尝试过于频繁，请稍后再试。")}


def storage_uri(settings) -> str:
    if settings.rate_limit_storage:
        return settings.rate_limit_storage
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return settings.broker_url
    return "memory://"


def client() -> str:
    return request.remote_addr or "?"


def rate_limited(door: str) -> None:
    """Refuses (429 too_many_requests) a client that knocked on `door` more often than its setting
    allows in the last minute; counts this knock otherwise."""
    setting, message = DOORS[door]
    limit = RateLimitItemPerMinute(getattr(current_app.config["TONGBAN"], setting))
    limiter: MovingWindowRateLimiter = current_app.extensions["tongban"]["limiter"]
    try:
        allowed = limiter.hit(limit, current_app.config["TONGBAN"].rate_limit_prefix, door, client())
    except StorageError:  # Redis away: the database's locks still bound guessing; say so, answer on
        log.warning("rate-limit storage unavailable: %s not counted", door, exc_info=True)
        return
    if not allowed:
        raise too_many("too_many_requests", message)


def init_app(app) -> None:
    settings = app.config["TONGBAN"]
    # one limiter per app: its storage follows that app's settings; the limits are checked in the views
    # (only a real look-up counts, and the refusal is the contract's), never by decorating routes
    storage = storage_from_string(storage_uri(settings), wrap_exceptions=True, socket_timeout=2)
    app.extensions["tongban"]["limiter"] = MovingWindowRateLimiter(storage)
