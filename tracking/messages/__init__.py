"""Message transports: how a notification leaves (docs/messages.md).

One adapter per counterpart, chosen by settings, each a callable that takes an `Outgoing` and returns
the counterpart's id for it, or raises `SendError`:

- `log`: writes the stored text to the log (the embedded default for every channel);
- `sms_gateway`: a generic HTTP SMS gateway, its body a configured template, signed with HMAC-SHA256;
- `aliyun_sms`: Alibaba Cloud SMS (dysmsapi SendSms), signed as the cloud's RPC API requires;
- `smtp_mail`: email through an SMTP server.

Nothing here reads the database: the outbox (tracking.commands.notifications) unseals the address, puts
the link and the check code into the text, and hands the transport what it is to send.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from config.settings import Settings

log = logging.getLogger("tongban.notifications")


@dataclass(frozen=True)
class Outgoing:
    channel: str      # sms | email | log
    to: str           # a mobile number, an email address, "" for the log
    text: str         # as the recipient reads it: with the working link and the check code
    stored: str       # as the row keeps it (no link, no code): what a log may show
    subject: str = ""  # an email's subject
    milestone: str | None = None
    params: dict = field(default_factory=dict)  # the template's fields, check_code included where it is sent
    reference: str = ""  # our id of the message, which the counterpart echoes (OutId)


class SendError(Exception):
    """The counterpart refused or could not be reached. `permanent`: sending it again will not help (a
    refused number, a bad template), so the message is dead at once instead of retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


Transport = Callable[[Outgoing], str]
RETRYABLE_STATUS = (408, 429)


def log_transport(out: Outgoing) -> str:
    # The log is read by more people than the recipient: it gets the stored text, link and code left out.
    log.info("notify %s %s: %s", out.channel, out.reference, out.stored)
    return ""


def http_failure(status: int, text: str) -> SendError:
    """An HTTP answer that is not a success: 5xx, 408 and 429 may pass, any other 4xx will not."""
    return SendError(f"HTTP {status}: {text[:300]}", permanent=400 <= status < 500 and status not in RETRYABLE_STATUS)


def json_answer(text: str) -> dict:
    try:
        answer = json.loads(text)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def transports(settings: Settings) -> dict[str, Transport]:
    """The transport of each channel, as configured; the log where nothing is."""
    chosen: dict[str, Transport] = {"sms": log_transport, "email": log_transport, "log": log_transport}
    if settings.sms_transport == "gateway":
        from tracking.messages.sms_gateway import gateway_transport
        chosen["sms"] = gateway_transport(settings)
    elif settings.sms_transport == "aliyun":
        from tracking.messages.aliyun_sms import aliyun_transport
        chosen["sms"] = aliyun_transport(settings)
    elif settings.sms_transport not in ("", "log"):
        raise ValueError(f"TONGBAN_SMS_TRANSPORT must be log, gateway or aliyun, not {settings.sms_transport!r}")
    if settings.smtp_host:
        from tracking.messages.smtp_mail import smtp_transport
        chosen["email"] = smtp_transport(settings)
    return chosen
