"""The platforms above this installation and how a report to them is signed (HMAC-SHA256 over the
timestamp and the body, the common receiver convention). Plain functions: the sender uses `headers`,
a receiver (and the tests, as one) uses `verify`. docs/federation.md tells another vendor the same."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from config.settings import Settings

TIMESTAMP_HEADER = "X-Tongban-Timestamp"
SIGNATURE_HEADER = "X-Tongban-Signature"
MESSAGE_ID_HEADER = "X-Tongban-Message-Id"
# a receiver refuses a report whose timestamp is further than this from its clock (a replayed capture)
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Platform:
    name: str    # the outbox's destination for this platform
    title: str   # as supervisors read it
    setting: str  # the Settings field prefix: platform_<setting>_url / _secret


PLATFORMS = {p.name: p for p in (
    Platform("cases", "省一体化平台（办件信息）", "cases"),
    Platform("cross_province", "全国一体化平台“跨省通办”专区（办件信息）", "cross_province"),
    Platform("ratings", "好差评系统", "ratings"),
)}


def secret_of(settings: Settings, name: str) -> str:
    """The platform's own secret, else the shared one ("" when neither is set)."""
    return getattr(settings, f"platform_{PLATFORMS[name].setting}_secret") or settings.platform_secret


def endpoint(settings: Settings, name: str) -> tuple[str, str] | None:
    """The platform's URL and secret, or None when it is not configured (then nothing is reported)."""
    url, secret = getattr(settings, f"platform_{PLATFORMS[name].setting}_url"), secret_of(settings, name)
    return (url, secret) if url and secret else None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    stamp = str(timestamp)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature(secret, stamp, body)}


def verify(secret: str, timestamp: str | None, given: str | None, body: bytes, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the timestamp is recent, and the signature is over exactly these bytes."""
    if not timestamp or not given or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)
