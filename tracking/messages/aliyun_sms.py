"""Alibaba Cloud SMS (阿里云短信服务): the dysmsapi SendSms action, version 2017-05-25, RPC style.

What was followed, from the cloud's documentation:
- the request and its parameters (PhoneNumbers, SignName, TemplateCode, TemplateParam as a JSON string,
  OutId) and the answer {"Code": "OK", "Message", "BizId", "RequestId"}:
  https://help.aliyun.com/document_detail/55284.html (SendSms - 发送短信);
- the signature: https://www.alibabacloud.com/help/en/sms/signature-method — sort every parameter but
  Signature by name, percent-encode names and values as UTF-8 (RFC 3986: "+" → %20, "*" → %2A, "~" kept),
  join them as name=value with "&" into the canonicalized query string, then
  StringToSign = METHOD + "&" + percentEncode("/") + "&" + percentEncode(canonicalized query string), and
  Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)), with SignatureMethod=HMAC-SHA1,
  SignatureVersion=1.0, a fresh SignatureNonce and a UTC Timestamp (YYYY-MM-DDThh:mm:ssZ) in the request.

The service sends only templates registered with it: a milestone's TemplateCode comes from
TONGBAN_SMS_TEMPLATE_CODES and TemplateParam holds the milestone's fields (tracking.model.messages); a
milestone with no code of its own goes out on the "*" template as {"content": the whole text}.
SendSms is not idempotent (the documentation says so): the outbox's claim keeps it to one request.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone

from config.settings import Settings
from tracking.messages import Outgoing, SendError, Transport, http_failure, json_answer
from tracking.messages.sms_gateway import template_codes

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
# answers that will not change however often the message is sent again (a number, a template, an account)
PERMANENT = ("isv.MOBILE_NUMBER_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL",
             "isv.TEMPLATE_MISSING_PARAMETERS", "isv.INVALID_PARAMETERS", "isv.INVALID_JSON_PARAM",
             "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL", "isv.BLACK_KEY_CONTROL_LIMIT",
             "isv.ACCOUNT_NOT_EXISTS", "isv.PRODUCT_UN_SUBSCRIPT", "InvalidAccessKeyId.NotFound",
             "SignatureDoesNotMatch")


def percent_encode(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def sign(secret: str, method: str, params: dict[str, str]) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def request_params(settings: Settings, out: Outgoing, *, nonce: str | None = None,
                   now: datetime | None = None) -> dict[str, str]:
    """The signed parameters of one SendSms request."""
    codes = template_codes(settings)
    code = codes.get(out.milestone or "")
    fields = out.params if code else {"content": out.text}
    params = {"AccessKeyId": settings.sms_key_id, "Action": "SendSms", "Format": "JSON",
              "PhoneNumbers": out.to, "RegionId": "cn-hangzhou", "SignName": settings.sms_sign_name,
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce or uuid.uuid4().hex,
              "SignatureVersion": "1.0", "TemplateCode": code or codes.get("*", ""),
              "TemplateParam": json.dumps(fields, ensure_ascii=False, separators=(",", ":")),
              "Timestamp": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "Version": "2017-05-25", "OutId": out.reference}
    params["Signature"] = sign(settings.sms_secret, "POST", params)
    return params


def aliyun_transport(settings: Settings) -> Transport:
    url = settings.sms_url or ENDPOINT

    def send(out: Outgoing) -> str:
        body = urllib.parse.urlencode(request_params(settings, out), quote_via=urllib.parse.quote).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=settings.message_timeout_seconds) as answer:  # noqa: S310
                text = answer.read(64 * 1024).decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            text = e.read(4096).decode("utf-8", "replace")
            code = json_answer(text).get("Code", "")
            if code:
                raise SendError(f"{code}: {json_answer(text).get('Message', '')}",
                                permanent=code in PERMANENT) from None
            raise http_failure(e.code, text) from None
        except OSError as e:
            raise SendError(f"{type(e).__name__}: {e}") from None
        found = json_answer(text)
        if found.get("Code") != "OK":
            code = str(found.get("Code", ""))
            raise SendError(f"{code}: {found.get('Message', text[:300])}", permanent=code in PERMANENT)
        return str(found.get("BizId", ""))

    return send
