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


def link_expiry(created_at: datetime, link_expires_at: datetime | None, days: int) -> datetime:
    """When a stored result's current link expires: as the window last re-issued it, else `days` after the
    file was stored (every result before re-issuing existed, and every one never re-issued)."""
    return link_expires_at if link_expires_at is not None else created_at + timedelta(days=days)


def read_token(secret: str, token: str, now: datetime) -> int:
    """The file id a valid token names; LinkError('forged'|'expired') otherwise."""
    return read_link(secret, token, now)[0]


def read_link(secret: str, token: str, now: datetime) -> tuple[int, datetime]:
    """The file id and expiry a valid token names (a re-issued link supersedes a token whose expiry is not
    the file's current one); LinkError('forged'|'expired') otherwise."""
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
    until = datetime.fromtimestamp(expires, timezone.utc)
    if now >= until:
        raise LinkError("expired")
    return file_id, until
