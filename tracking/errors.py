"""Refusals: a stable code, an HTTP status and a Chinese message a clerk understands."""
from __future__ import annotations


class Refused(Exception):
    def __init__(self, http_status: int, code: str, message: str, field: str | None = None, **extra):
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.field, self.extra = http_status, code, message, field, extra

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        error.update(self.extra)
        return {"error": error}


def bad_request(message: str, field: str | None = None) -> Refused:
    return Refused(400, "invalid_request", message, field)


def not_found(message: str = "未找到。") -> Refused:
    return Refused(404, "not_found", message)


def forbidden(message: str = "您所在的机构无权进行此操作。") -> Refused:
    return Refused(403, "forbidden", message)


def conflict(code: str = "invalid_transition", message: str = "当前状态下不能进行此操作。", **extra) -> Refused:
    return Refused(409, code, message, **extra)


def rule(code: str, message: str, field: str | None = None, **extra) -> Refused:
    return Refused(422, code, message, field, **extra)
