"""An SMS gateway on a loopback port, written from the documentation, not from our code, speaking both
protocols the service can use:

- POST /send: the generic gateway (docs/messages.md): a JSON body, HMAC-SHA256 over
  timestamp + "\\n" + nonce + "\\n" + body in X-Tongban-Signature; a nonce seen before is refused;
- POST /: Alibaba Cloud SMS SendSms as the cloud checks it (https://www.alibabacloud.com/help/en/sms/signature-method):
  every parameter but Signature sorted, RFC 3986 percent-encoded, StringToSign = "POST&%2F&" + encoded query,
  Signature = Base64(HMAC-SHA1(secret + "&", StringToSign)); answers {"Code": "OK", "BizId"} or the cloud's
  error codes (SignatureDoesNotMatch, SignatureNonceUsed, isv.MOBILE_NUMBER_ILLEGAL).

Each accepted message is recorded; a test may script failures (`answers`: statuses to give first)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Sms:
    protocol: str   # gateway | aliyun
    phone: str
    text: str       # what the phone shows: the generic gateway's content, or the template's fields for the cloud
    fields: dict    # the cloud's TemplateParam; the gateway's whole body
    template: str = ""
    reference: str = ""


def _rfc3986(value: str) -> str:
    # written out as the documentation says: encode, then + → %20, * → %2A, %7E → ~
    return urllib.parse.quote_plus(value, encoding="utf-8").replace("+", "%20").replace("*", "%2A") \
        .replace("%7E", "~")


@dataclass
class Gateway:
    secret: str
    key_id: str = "LTAI-test"
    answers: list[int] = field(default_factory=list)  # statuses to answer first (500: a failing gateway)
    delay: float = 0.0
    got: list[Sms] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    nonces: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Gateway":
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(gateway.delay)
                with gateway.lock:
                    if gateway.answers:
                        return self._answer(gateway.answers.pop(0), {"code": 1, "message": "网关繁忙"})
                if self.path == "/send":
                    return self._answer(*gateway.generic(self.headers, body))
                return self._answer(*gateway.aliyun(body))

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _fresh_nonce(self, nonce: str) -> bool:
        with self.lock:
            if not nonce or nonce in self.nonces:
                return False
            self.nonces.add(nonce)
            return True

    def generic(self, headers, body: bytes) -> tuple[int, dict]:
        stamp, nonce = headers.get("X-Tongban-Timestamp", ""), headers.get("X-Tongban-Nonce", "")
        expected = hmac.new(self.secret.encode(), f"{stamp}\n{nonce}\n".encode() + body, hashlib.sha256).hexdigest()
        if not (stamp.isdigit() and abs(time.time() - int(stamp)) <= 300) or \
                not hmac.compare_digest(expected, headers.get("X-Tongban-Signature", "")):
            self.refused.append("signature")
            return 401, {"code": 401, "message": "签名错误"}
        if not self._fresh_nonce(nonce):
            self.refused.append("nonce")
            return 401, {"code": 401, "message": "重复请求"}
        sent = json.loads(body.decode("utf-8"))
        with self.lock:
            self.got.append(Sms("gateway", sent["mobile"], sent["content"], sent, sent.get("template", ""),
                                sent.get("reference", "")))
            n = len(self.got)
        return 200, {"code": 0, "id": f"gw-{n}"}

    def aliyun(self, body: bytes) -> tuple[int, dict]:
        params = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        signature = params.pop("Signature", "")
        query = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in sorted(params.items()))
        to_sign = "POST&" + _rfc3986("/") + "&" + _rfc3986(query)
        expected = base64.b64encode(hmac.new((self.secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest())
        if params.get("AccessKeyId") != self.key_id or params.get("SignatureMethod") != "HMAC-SHA1" or \
                params.get("SignatureVersion") != "1.0" or not hmac.compare_digest(expected.decode(), signature):
            self.refused.append("signature")
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}
        stamp = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        if abs((datetime.now(timezone.utc) - stamp).total_seconds()) > 900:
            return 400, {"Code": "InvalidTimeStamp.Expired", "Message": "Timestamp expired"}
        if not self._fresh_nonce(params.get("SignatureNonce", "")):
            return 400, {"Code": "SignatureNonceUsed", "Message": "Specified signature nonce was used already."}
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return 400, {"Code": "InvalidAction", "Message": "action"}
        phone = params.get("PhoneNumbers", "")
        if not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        fields = json.loads(params.get("TemplateParam") or "{}")
        text = fields.get("content") or json.dumps(fields, ensure_ascii=False)
        with self.lock:
            self.got.append(Sms("aliyun", phone, text, fields, params.get("TemplateCode", ""), params.get("OutId", "")))
            n = len(self.got)
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"9{n:05d}^0", "RequestId": f"req-{n}"}
