"""Signed, expiring links for electronic results (网络送达)."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone


class LinkError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code  # 'forged' or 'expired'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def make_token(secret: str, file_id: int, expires: datetime) -> str:
    body = f"{file_id}.{int(expires.timestamp())}"
    mac = hmac.new(secret.encode(), b"delivery:" + body.encode(), hashlib.sha256).digest()[:18]
    return f"{_b64(body.encode())}.{_b64(mac)}"


def delivery_token(secret: str, file_id: int, created_at: datetime, days: int) -> tuple[str, datetime]:
    """A stored result's download token and its expiry, `days` after the file was stored: the same
    token whenever it is made again (for the applicant's message, and again on the tracking page)."""
    expires = created_at + timedelta(days=days)
    return make_token(secret, file_id, expires), expires


def read_token(secret: str, token: str, now: datetime) -> int:
    """The file id a valid token names; LinkError('forged'|'expired') otherwise."""
    try:
        body_b64, mac_b64 = token.split(".")
        body = base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4))
        mac = base64.urlsafe_b64decode(mac_b64 + "=" * (-len(mac_b64) % 4))
        file_id, expires = (int(x) for x in body.decode().split("."))
    except (ValueError, UnicodeDecodeError):
        raise LinkError("forged") from None
    good = hmac.new(secret.encode(), b"delivery:" + body, hashlib.sha256).digest()[:18]
    if not hmac.compare_digest(good, mac):
        raise LinkError("forged")
    if now >= datetime.fromtimestamp(expires, timezone.utc):
        raise LinkError("expired")
    return file_id
