"""A 政务专递 carrier's open platform on a loopback port, written from docs/carriers.md as the carrier's side
would be (it checks our digests itself, not with our code): it takes orders, pick-ups, cancellations and
trace queries, and pushes tracking events to a URL the way the platform does. A test scripts its failures:
an answer that comes too late, a 500, a busy platform, a refusal."""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def digest(text: str, key: str) -> str:
    return base64.b64encode(hashlib.md5((text + key).encode("utf-8")).digest()).decode("ascii")


def trace(waybill: str, code: str, at: str, **extra) -> dict:
    """One trace as the platform writes it; `at` is Beijing time, "2026-03-02 10:00:00"."""
    names = {"203": "收寄", "305": "到达处理中心", "306": "离开处理中心", "702": "安排投递", "704": "妥投",
             "747": "未妥投", "711": "退回"}
    return {"traceNo": waybill, "opTime": at, "opCode": code, "opName": names.get(code, "其他"),
            "opDesc": extra.pop("desc", names.get(code, "")), "opOrgProvName": "山西省", "opOrgCity": "太原市",
            "opOrgCode": extra.pop("org", "03000100"), "opOrgName": extra.pop("org_name", "太原邮区中心局"), **extra}


@dataclass
class CarrierPlatform:
    key: str
    sender_no: str = "1100099887766"
    failures: list[str] = field(default_factory=list)  # per call, in order: timeout | 500 | busy | refuse
    delay: float = 3.0  # how late a `timeout` answers
    orders: dict[str, dict] = field(default_factory=dict)  # by waybill
    pickups: list[dict] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    traces: dict[str, list[dict]] = field(default_factory=dict)  # what a trace query answers, by waybill
    calls: list[tuple[str, bool]] = field(default_factory=list)  # (apiCode, digest verified)
    postage_yuan: str = "22.00"
    lock: threading.Lock = field(default_factory=threading.Lock)
    _serial: int = 0

    def start(self) -> "CarrierPlatform":
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
                status, answer = platform.answer(form)
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/gateway"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the platform's side of each call -----------------------------------------------------------

    def answer(self, form: dict) -> tuple[int, dict]:
        content = form.get("logitcsInterface", "")
        signed = form.get("senderNo") == self.sender_no and form.get("dataDigest") == digest(content, self.key)
        with self.lock:
            self.calls.append((form.get("apiCode", ""), signed))
            failure = self.failures.pop(0) if self.failures else None
        if failure == "timeout":
            time.sleep(self.delay)
        if failure == "500":
            return 500, {"error": "internal"}
        if failure == "busy":
            return 200, {"success": False, "retCode": "S0001", "retMsg": "系统繁忙"}
        if failure == "refuse":
            return 200, {"success": False, "retCode": "B0102", "retMsg": "收件地址无法识别"}
        if not signed:
            return 200, {"success": False, "retCode": "A0001", "retMsg": "签名校验失败"}
        data = json.loads(content)
        code = form["apiCode"]
        with self.lock:
            if code == "020003":
                self._serial += 1
                waybill = data.get("waybillNo") or f"1100{self._serial:09d}"
                self.orders[waybill] = data
                return 200, self._ok({"waybillNo": waybill, "routeCode": "030-01-05", "markDestinationName": "太原小店",
                                      "postage": self.postage_yuan, "billingWeight": max(int(data["weight"]), 100)})
            if code == "020008":
                self.pickups.append(data)
                return 200, self._ok({"pickupNo": f"PK{len(self.pickups):06d}"})
            if code == "020004":
                self.cancelled.append(data["waybillNo"])
                return 200, self._ok({})
            if code == "040001":
                return 200, self._ok({"traces": [t for w in data["waybillNos"] for t in self.traces.get(w, [])]})
        return 200, {"success": False, "retCode": "A0404", "retMsg": "未知接口"}

    @staticmethod
    def _ok(body: dict) -> dict:
        return {"success": True, "retCode": "00000", "retMsg": "成功", "retBody": body}

    # -- pushing ------------------------------------------------------------------------------------

    def push_body(self, traces: list[dict], *, key: str | None = None) -> bytes:
        """A push as the platform sends it: form-encoded, the digest over msgBody."""
        message = json.dumps({"traces": traces}, ensure_ascii=False)
        with self.lock:
            self._serial += 1
            serial = self._serial
        form = {"sendID": "EMS", "proviceNo": "99", "msgKind": "JDPT_TRACE", "serialNo": f"S{serial:010d}",
                "sendDate": time.strftime("%Y%m%d%H%M%S"), "receiveID": self.sender_no,
                "batchNo": f"B{serial:08d}", "dataType": "1",
                "dataDigest": digest(message, self.key if key is None else key), "msgBody": message}
        return urllib.parse.urlencode(form).encode("utf-8")

    def push(self, url: str, traces: list[dict], *, key: str | None = None) -> tuple[int, dict]:
        """POSTs traces to a running service; the answer read."""
        request = urllib.request.Request(url, data=self.push_body(traces, key=key), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")
