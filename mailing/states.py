"""The packet state machine: one table of transitions, one function that applies it."""
from __future__ import annotations

import enum


class InvalidTransition(Exception):
    def __init__(self, current: str, action: str):
        super().__init__(f"{action} not allowed from {current}")
        self.current, self.action = current, action


class PacketKind(str, enum.Enum):
    OUTBOUND = "outbound"
    SUPPLEMENT = "supplement"
    RESULT = "result"
    RETURN = "return"
    REPLACEMENT = "replacement"
    TRANSFER = "transfer"  # 多地联办: an archive one step's office sends the next (档案转递)

    @property
    def title(self) -> str:
        return {"outbound": "申请材料", "supplement": "补正材料", "result": "办理结果",
                "return": "退回材料", "replacement": "补寄材料", "transfer": "转递档案"}[self.value]


class PacketStatus(str, enum.Enum):
    CREATED = "created"
    DISPATCHED = "dispatched"
    ARRIVED_HUB = "arrived_hub"
    DEPARTED_HUB = "departed_hub"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    RECEIVED = "received"
    LOST = "lost"
    CANCELLED = "cancelled"

    @property
    def title(self) -> str:
        return PACKET_STATUS_TITLES[self]


PACKET_STATUS_TITLES = {
    PacketStatus.CREATED: "已制单",
    PacketStatus.DISPATCHED: "已交寄",
    PacketStatus.ARRIVED_HUB: "到达处理中心",
    PacketStatus.DEPARTED_HUB: "离开处理中心",
    PacketStatus.OUT_FOR_DELIVERY: "派送中",
    PacketStatus.DELIVERED: "已妥投",
    PacketStatus.RECEIVED: "已签收",
    PacketStatus.LOST: "已丢失",
    PacketStatus.CANCELLED: "已作废",
}


class ScanType(str, enum.Enum):
    DISPATCHED = "dispatched"
    ARRIVED_HUB = "arrived_hub"
    DEPARTED_HUB = "departed_hub"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    RECEIVED = "received"
    EXCEPTION = "exception"


SCAN_TITLES = {"dispatched": "寄出", "arrived_hub": "到达处理中心", "departed_hub": "离开处理中心",
               "out_for_delivery": "派送中", "delivered": "妥投", "received": "签收", "exception": "异常"}

EXCEPTION_REASONS = {
    "damaged": "破损",
    "lost": "丢失",
    "misrouted": "错发",
    "refused": "拒收",
    "address_unknown": "地址不详",
    # recorded by the service itself, never sent by a scanner
    "missing_from_manifest": "清单有而实物未到",
    "not_on_manifest": "实物到达但不在清单上",
    "contents_missing": "内件短少",
    # told by a carrier's network (mailing.carriers), or noticed of it by the sweep
    "recipient_absent": "收件人不在",
    "returned": "承运方退回寄件人",
    "carrier_silent": "承运方长时间无轨迹",
}
SCANNER_REASONS = ("damaged", "lost", "misrouted", "refused", "address_unknown")
# what happens next after each kind of exception (shown to staff with the event)
NEXT_STEPS = {
    "damaged": "继续寄递；收件方签收时逐项核对内件，缺损材料由办理部门一次性告知补正。",
    "lost": "邮件已标记丢失；寄出机构可制作补寄件（复印件），与丢失邮件关联。",
    "misrouted": "已从当前所在处重新规划路由，继续寄递。",
    "refused": "结果件退回收件窗口，申请人凭身份证件到窗口领取；其他邮件由寄出机构联系处理。",
    "address_unknown": "再次投递；多次无法投递的结果件退回收件窗口待领取。",
    "missing_from_manifest": "交接双方核对交接清单，查找邮件；找不到的按丢失处理。",
    "not_on_manifest": "收件方单独扫描签收或转寄，并通知寄出机构补登清单。",
    "contents_missing": "办理部门在5个工作日内一次性告知补正，或不予受理。",
    "recipient_absent": "承运方再次投递；多次无法投递的结果件退回收件窗口待领取。",
    "returned": "寄出机构签收退回的邮件后，重新寄出或通知申请人到窗口领取。",
    "carrier_silent": "寄出机构向承运方查询邮件下落；找不到的按丢失处理并补寄。",
}

S = PacketStatus
_IN_TRANSIT = {S.DISPATCHED, S.ARRIVED_HUB, S.DEPARTED_HUB, S.OUT_FOR_DELIVERY}
# scan type -> states it may follow. `delivered` to an office is the courier's hand-over;
# the office's own `received` scan follows it. To a home address `delivered` is the end.
TRANSITIONS: dict[ScanType, set[PacketStatus]] = {
    ScanType.DISPATCHED: {S.CREATED},
    # back at a hub after a failed delivery, or taken out again the next day
    ScanType.ARRIVED_HUB: {S.DISPATCHED, S.DEPARTED_HUB, S.OUT_FOR_DELIVERY},
    ScanType.DEPARTED_HUB: {S.ARRIVED_HUB},
    ScanType.OUT_FOR_DELIVERY: {S.DISPATCHED, S.ARRIVED_HUB, S.DEPARTED_HUB, S.OUT_FOR_DELIVERY},
    ScanType.DELIVERED: set(_IN_TRANSIT),
    ScanType.RECEIVED: _IN_TRANSIT | {S.DELIVERED},
    # a problem found on arrival (damaged, contents short) is recorded on a delivered or received packet too
    ScanType.EXCEPTION: _IN_TRANSIT | {S.CREATED, S.DELIVERED, S.RECEIVED},
}
FINAL = {S.RECEIVED, S.LOST, S.CANCELLED}


def next_status(current: PacketStatus, scan: ScanType, *, to_office: bool, reason: str | None = None) -> PacketStatus:
    """The state after `scan`, or InvalidTransition."""
    allowed = TRANSITIONS[scan]
    if current not in allowed:
        raise InvalidTransition(current.value, scan.value)
    if scan is ScanType.RECEIVED and not to_office:
        raise InvalidTransition(current.value, scan.value)  # a home address has no office to sign
    if scan is ScanType.EXCEPTION:
        if reason == "lost" and current in (S.DELIVERED, S.RECEIVED):
            raise InvalidTransition(current.value, "lost")  # it arrived: it cannot be lost any more
        return S.LOST if reason == "lost" else current
    return PacketStatus(scan.value)


def replay(scans: list[tuple[ScanType, str | None]], *, to_office: bool) -> PacketStatus:
    """The state reached by applying scans (type, reason) in order from `created`."""
    status = S.CREATED
    for scan, reason in scans:
        status = next_status(status, scan, to_office=to_office, reason=reason)
    return status


def cancel(current: PacketStatus) -> PacketStatus:
    if current is not S.CREATED:
        raise InvalidTransition(current.value, "cancel")
    return S.CANCELLED
