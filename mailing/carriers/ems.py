"""A 政务专递 carrier's open-platform API (EMS / China Post), over HTTP.

Modelled on the conventions of China Post's and EMS's open platforms for contract customers (协议客户):
- Calls: one gateway URL, a form POST naming the call (`apiCode`), the customer (`senderNo`), the time
  (`timeStamp`), the business content as a JSON string (`logitcsInterface`, the platform's own spelling)
  and `dataDigest` = base64(md5(content + key)); the answer is JSON `{"success", "retCode", "retMsg",
  "retBody"}`, retCode "00000" meaning success.
- Tracking pushes (邮件轨迹推送): a form POST with `sendID`, `serialNo`, `batchNo`, `receiveID`,
  `dataDigest` over `msgBody`, a JSON string `{"traces": [...]}`, each trace with `traceNo` (the waybill),
  `opTime` (Beijing time, "yyyy-MM-dd HH:mm:ss"), `opCode`, `opName`, `opDesc`, `opOrgProvName`,
  `opOrgCity`, `opOrgName`; we answer `{"receiveID", "responseState", "errorDesc", "responseItems"}`.
- Event codes: the 2xx/3xx/7xx families of the platform's 轨迹 codes, in `CODES` below. A contract's own
  table may differ in detail: an unknown code is kept and shown (tracking.commands.carriers), never dropped,
  and adding it here is the whole change.
"""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

from config import clock
from config.settings import Settings
from mailing.carriers import BadPush, Booking, CarrierError, Party, Push, Shipment, TrackEvent

ORDER, CANCEL, PICKUP, TRACES = "020003", "020004", "020008", "040001"
SUCCESS = "00000"

# opCode -> (our scan type, our reason); None: an event we note without a scan (order data received)
CODES: dict[str, tuple[str, str | None] | None] = {
    "100": None,                           # 收到电子运单信息: the booking, already known
    "203": ("dispatched", None),           # 收寄
    "305": ("arrived_hub", None),          # 到达处理中心
    "306": ("departed_hub", None),         # 离开处理中心
    "702": ("out_for_delivery", None),     # 安排投递（派送中）
    "704": ("delivered", None),            # 妥投
    "747": ("exception", "failed"),        # 未妥投: the reason comes with it (undeliverCode)
    "711": ("exception", "returned"),      # 退回寄件人
}
# 未妥投 reasons -> ours; any other reason is the addressee not met at the door
UNDELIVERED = {"01": "refused", "02": "address_unknown", "03": "address_unknown", "04": "recipient_absent"}
CODE_TITLES = {"100": "收到电子运单信息", "203": "收寄", "305": "到达处理中心", "306": "离开处理中心",
               "702": "派送中", "704": "妥投", "747": "未妥投", "711": "退回"}


def digest(content: str, key: str) -> str:
    return base64.b64encode(hashlib.md5((content + key).encode("utf-8")).digest()).decode("ascii")


def _party(p: Party) -> dict:
    return {"name": p.name, "mobile": p.phone, "company": p.company, "prov": p.province, "city": p.city,
            "county": p.county, "address": p.address, "postCode": p.postcode, "areaCode": p.division_code}


def _yuan_to_fen(value) -> int | None:
    if value in (None, ""):
        return None
    return int(round(float(value) * 100))


def _beijing(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=clock.BEIJING)


def trace_event(trace: dict) -> TrackEvent:
    """One trace as we keep it. The platform gives no id for a trace: its content is its identity."""
    waybill, code, at = str(trace["traceNo"]), str(trace["opCode"]), str(trace["opTime"])
    event_id = trace.get("traceId") or hashlib.sha256(
        "|".join((waybill, code, at, str(trace.get("opOrgCode", "")))).encode()).hexdigest()[:40]
    place = " ".join(x for x in (trace.get("opOrgProvName"), trace.get("opOrgCity"), trace.get("opOrgName")) if x)
    relation = {"1": "self", "2": "proxy"}.get(str(trace.get("signType", "")), "")
    return TrackEvent(event_id=str(event_id), waybill_no=waybill, code=code,
                      description=str(trace.get("opDesc") or trace.get("opName") or ""), place=place,
                      at=_beijing(at), signer_name=str(trace.get("signerName") or ""), signer_relation=relation,
                      reason_code=str(trace.get("undeliverCode") or ""), raw=trace)


class EmsCarrier:
    name = "ems"
    title = "中国邮政EMS政务专递"
    network = True

    def __init__(self, url: str, sender_no: str, key: str, product: str, timeout: float):
        self.url, self.sender_no, self.key, self.product, self.timeout = url, sender_no, key, product, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> EmsCarrier:
        return cls(settings.ems_url, settings.ems_sender_no, settings.ems_key, settings.ems_product,
                   float(settings.carrier_timeout_seconds))

    # -- calls ---------------------------------------------------------------------------------------

    def _call(self, api_code: str, content: dict) -> dict:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        form = {"apiCode": api_code, "senderNo": self.sender_no,
                "timeStamp": clock.beijing(clock.now()).strftime("%Y-%m-%d %H:%M:%S"),
                "logitcsInterface": text, "dataDigest": digest(text, self.key)}
        request = urllib.request.Request(self.url, data=urllib.parse.urlencode(form).encode("utf-8"),
                                         headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as e:
            raise CarrierError(f"HTTP {e.code}", retry=e.code >= 500 or e.code == 429) from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as e:
            raise CarrierError(f"network: {e}", retry=True) from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise CarrierError("answer is not JSON", retry=True) from None
        code = str(body.get("retCode", ""))
        if code != SUCCESS:
            # S…: the platform's own trouble (busy, down for maintenance); anything else: it refused ours
            raise CarrierError(f"{code} {body.get('retMsg', '')}".strip(), retry=code.startswith("S"))
        return body.get("retBody") or {}

    def book(self, shipment: Shipment) -> Booking:
        answer = self._call(ORDER, {
            "logisticsOrderNo": shipment.order_no, "bizProductNo": self.product,
            "waybillNo": shipment.waybill_no or "", "contentsAttribute": "1",  # 1: documents
            "weight": shipment.weight_grams, "pieces": shipment.pieces, "remark": shipment.note,
            "sender": _party(shipment.sender), "receiver": _party(shipment.receiver)})
        waybill = str(answer.get("waybillNo") or shipment.waybill_no or "")
        if not waybill:
            raise CarrierError("no waybillNo in the answer", retry=False)
        labels = {k: answer[k] for k in ("routeCode", "markDestinationName", "packageCode") if answer.get(k)}
        return Booking(waybill_no=waybill, postage_cents=_yuan_to_fen(answer.get("postage")),
                       weight_grams=int(answer["billingWeight"]) if answer.get("billingWeight") else None,
                       label_fields=labels)

    def request_pickup(self, sender: Party, waybill_nos: list[str], ready_at: datetime) -> str:
        answer = self._call(PICKUP, {"sender": _party(sender), "waybillNos": waybill_nos,
                                     "pickupTime": clock.beijing(ready_at).strftime("%Y-%m-%d %H:%M:%S")})
        return str(answer.get("pickupNo", ""))

    def cancel(self, waybill_no: str) -> None:
        self._call(CANCEL, {"waybillNo": waybill_no, "cancelReason": "办件撤回，邮件未交寄"})

    def fetch_events(self, waybill_nos: list[str]) -> list[TrackEvent]:
        answer = self._call(TRACES, {"waybillNos": waybill_nos})
        return [trace_event(t) for t in answer.get("traces", [])]

    # -- pushes --------------------------------------------------------------------------------------

    def read_push(self, body: bytes, headers: dict) -> Push:
        content_type = str(headers.get("Content-Type", ""))
        try:
            if "json" in content_type:
                form = json.loads(body)
            else:
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
            message = str(form["msgBody"])
            signature = str(form.get("dataDigest", ""))
        except (ValueError, KeyError, UnicodeDecodeError):
            raise BadPush("unreadable push") from None
        if not self.key or signature != digest(message, self.key):
            raise BadPush("bad dataDigest", 401)
        try:
            traces = json.loads(message)["traces"]
            events = [trace_event(t) for t in traces]
        except (ValueError, KeyError, TypeError):
            raise BadPush("unreadable msgBody") from None
        return Push(batch_id=str(form.get("batchNo") or form.get("serialNo") or ""), events=events)

    def push_answer(self, push: Push | None, accepted: dict[str, bool], error: str = "") -> tuple[bytes, str]:
        items = [{"traceNo": e.waybill_no, "opCode": e.code, "opTime": clock.beijing(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                  "success": accepted.get(e.event_id, False), "reason": "" if accepted.get(e.event_id) else "未处理"}
                 for e in (push.events if push else [])]
        body = {"receiveID": self.sender_no, "responseState": not error, "errorDesc": error, "responseItems": items}
        return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
