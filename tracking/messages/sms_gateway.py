"""A generic HTTP SMS gateway: the body is a configured template, the request signed with a shared secret.

Many provincial 短信平台 and operators' gateways take one POST per message with the number, the text and
an account, and check an HMAC of the body. The body is `TONGBAN_SMS_BODY_TEMPLATE` with $phone, $text
(the text with the signature 【…】 in front), $content (the text alone), $sign, $account, $reference and
$template_code substituted, each escaped for a JSON string. The request carries:

    X-Tongban-Timestamp: unix seconds
    X-Tongban-Nonce: random hex, once per request
    X-Tongban-Signature: hex HMAC-SHA256(TONGBAN_SMS_SECRET, timestamp + "\\n" + nonce + "\\n" + body)

A 2xx answer is success (its JSON `id`, `msgid` or `BizId`, if any, is kept as the gateway's id); a JSON
answer with `"ok": false` or a non-zero `code` is a refusal; 5xx, 408, 429 or no answer are tried again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
import time
import urllib.error
import urllib.request

from config.settings import Settings
from tracking.messages import Outgoing, SendError, Transport, http_failure, json_answer

DEFAULT_BODY = ('{"account": "$account", "mobile": "$phone", "content": "$text", '
                '"template": "$template_code", "reference": "$reference"}')
SIGNATURE_HEADER = "X-Tongban-Signature"
TIMESTAMP_HEADER = "X-Tongban-Timestamp"
NONCE_HEADER = "X-Tongban-Nonce"


def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}\n{nonce}\n".encode() + body, hashlib.sha256).hexdigest()


def template_codes(settings: Settings) -> dict[str, str]:
    """TONGBAN_SMS_TEMPLATE_CODES "collected=SMS_1,accepted=SMS_2,*=SMS_0": a template registered with the
    SMS service per milestone; "*" for any other."""
    pairs = (item.split("=", 1) for item in settings.sms_template_codes.split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs}


def body_of(settings: Settings, out: Outgoing) -> bytes:
    codes = template_codes(settings)
    values = {"phone": out.to, "text": f"【{settings.sms_sign_name}】{out.text}", "content": out.text,
              "sign": settings.sms_sign_name, "account": settings.sms_key_id, "reference": out.reference,
              "template_code": codes.get(out.milestone or "", codes.get("*", ""))}
    escaped = {key: json.dumps(value, ensure_ascii=False)[1:-1] for key, value in values.items()}
    return string.Template(settings.sms_body_template or DEFAULT_BODY).substitute(escaped).encode("utf-8")


def gateway_transport(settings: Settings) -> Transport:
    if not settings.sms_url:
        raise ValueError("TONGBAN_SMS_TRANSPORT=gateway needs TONGBAN_SMS_URL")

    def send(out: Outgoing) -> str:
        body = body_of(settings, out)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: timestamp,
                   NONCE_HEADER: nonce, SIGNATURE_HEADER: signature(settings.sms_secret, timestamp, nonce, body)}
        request = urllib.request.Request(settings.sms_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=settings.message_timeout_seconds) as answer:  # noqa: S310
                text = answer.read(64 * 1024).decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            raise http_failure(e.code, e.read(4096).decode("utf-8", "replace")) from None
        except OSError as e:
            raise SendError(f"{type(e).__name__}: {e}") from None
        found = json_answer(text)
        if found.get("ok") is False or found.get("code") not in (None, 0, "0", "OK", "ok"):
            raise SendError(f"短信网关拒绝：{text[:300]}", permanent=True)
        return str(found.get("id") or found.get("msgid") or found.get("BizId") or "")

    return send
