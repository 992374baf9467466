"""Refusals: a stable code, a kind and a Chinese message a clerk understands.

The core says what kind of refusal it is; `app/` decides what that means in HTTP (app.http_errors).
"""
from __future__ import annotations

import enum


class Kind(str, enum.Enum):
    INVALID = "invalid"            # malformed, missing or mistyped input
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"        # this role or office may not do this
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"          # does not fit the current state
    GONE = "gone"                  # existed, no longer usable (an expired link)
    RULE = "rule"                  # well-formed, refused by a rule
    TOO_MANY = "too_many"          # a limit on attempts or requests


class Refused(Exception):
    def __init__(self, kind: Kind, code: str, message: str, field: str | None = None, **extra):
        super().__init__(f"{code}: {message}")
        self.kind, self.code, self.message, self.field, self.extra = Kind(kind), code, message, field, extra
        # True when the refusal itself was written down (a wrong check code counted): the caller
        # commits it instead of rolling back
        self.recorded = False

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        error.update(self.extra)
        return {"error": error}


def bad_request(message: str, field: str | None = None, code: str = "invalid_request", **extra) -> Refused:
    return Refused(Kind.INVALID, code, message, field, **extra)


def not_found(message: str = "未找到。") -> Refused:
    return Refused(Kind.NOT_FOUND, "not_found", message)


def forbidden(message: str = "您所在的机构无权进行此操作。", field: str | None = None, **extra) -> Refused:
    return Refused(Kind.FORBIDDEN, "forbidden", message, field, **extra)


def conflict(code: str = "invalid_transition", message: str = "当前状态下不能进行此操作。", **extra) -> Refused:
    return Refused(Kind.CONFLICT, code, message, **extra)


def rule(code: str, message: str, field: str | None = None, **extra) -> Refused:
    return Refused(Kind.RULE, code, message, field, **extra)


def gone(code: str, message: str) -> Refused:
    return Refused(Kind.GONE, code, message)


def too_many(code: str, message: str) -> Refused:
    return Refused(Kind.TOO_MANY, code, message)


def unauthenticated(code: str, message: str) -> Refused:
    return Refused(Kind.UNAUTHENTICATED, code, message)
