"""The packet state machine (mailing.states), checked against a table written out from CONTRACT.md's
"Packets and scans" section, not read from the module's own TRANSITIONS dict.

Packet states: created → dispatched → (arrived_hub ⇄ departed_hub)* → out_for_delivery? →
delivered (to a person) or received (by an office). `exception` records a problem without moving
the packet, except reason `lost`, which makes it `lost`. A packet that never left the window may be
cancelled. The network issue adds: a failed delivery brings the packet back to a hub or out again the
next day, and a problem found on arrival (damaged, contents short) is recorded on a delivered or
received packet, which can no longer be lost.
"""
from __future__ import annotations

import pytest

from mailing.states import (
    EXCEPTION_REASONS,
    NEXT_STEPS,
    PACKET_STATUS_TITLES,
    SCANNER_REASONS,
    InvalidTransition,
    PacketStatus,
    ScanType,
    cancel,
    next_status,
    replay,
)

# Columns, in this order: dispatched, arrived_hub, departed_hub, out_for_delivery, delivered,
# received, exception.  A cell is the state after the scan:
#   "-"   refused (InvalidTransition)
#   "="   the packet keeps its state (an exception that is not `lost`)
#   "O:x" x when the packet is addressed to an office; refused to a home address
COLUMNS = ["dispatched", "arrived_hub", "departed_hub", "out_for_delivery", "delivered", "received", "exception"]
TABLE = {
    #                    dispatched    arrived_hub    departed_hub    out_for_delivery    delivered    received      exception
    "created":          ["dispatched", "-",           "-",            "-",                "-",         "-",          "="],
    "dispatched":       ["-",          "arrived_hub", "-",            "out_for_delivery", "delivered", "O:received", "="],
    "arrived_hub":      ["-",          "-",           "departed_hub", "out_for_delivery", "delivered", "O:received", "="],
    "departed_hub":     ["-",          "arrived_hub", "-",            "out_for_delivery", "delivered", "O:received", "="],
    "out_for_delivery": ["-",          "arrived_hub", "-",            "out_for_delivery", "delivered", "O:received", "="],
    # delivered to an office is the courier's hand-over: the office's own `received` follows;
    # delivered to a home address is the end of the journey (a problem may still be recorded).
    "delivered":        ["-",          "-",           "-",            "-",                "-",         "O:received", "="],
    "received":         ["-",          "-",           "-",            "-",                "-",         "-",          "="],
    "lost":             ["-",          "-",           "-",            "-",                "-",         "-",          "-"],
    "cancelled":        ["-",          "-",           "-",            "-",                "-",         "-",          "-"],
}


def _expected(current: str, scan: str, to_office: bool) -> str | None:
    cell = TABLE[current][COLUMNS.index(scan)]
    if cell == "-":
        return None
    if cell == "=":
        return current
    if cell.startswith("O:"):
        return cell[2:] if to_office else None
    return cell


CASES = [(current, scan, to_office)
         for current in TABLE for scan in COLUMNS for to_office in (True, False)]


def test_the_expected_table_covers_every_packet_status_and_every_scan_type():
    assert set(TABLE) == {s.value for s in PacketStatus}
    assert set(COLUMNS) == {t.value for t in ScanType}
    assert all(len(row) == len(COLUMNS) for row in TABLE.values())


@pytest.mark.parametrize("current, scan, to_office", CASES,
                         ids=[f"{c}-{s}-{'office' if o else 'home'}" for c, s, o in CASES])
def test_a_scan_moves_the_packet_exactly_as_the_contract_table_says(current, scan, to_office):
    expected = _expected(current, scan, to_office)
    reason = "damaged" if scan == "exception" else None
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            next_status(PacketStatus(current), ScanType(scan), to_office=to_office, reason=reason)
        assert (info.value.current, info.value.action) == (current, scan)
    else:
        got = next_status(PacketStatus(current), ScanType(scan), to_office=to_office, reason=reason)
        assert got is PacketStatus(expected)


@pytest.mark.parametrize("current", [s.value for s in PacketStatus])
def test_received_is_refused_for_a_packet_addressed_to_a_home_address(current):
    with pytest.raises(InvalidTransition):
        next_status(PacketStatus(current), ScanType.RECEIVED, to_office=False)


@pytest.mark.parametrize("current", ["dispatched", "arrived_hub", "departed_hub", "out_for_delivery"])
def test_delivered_to_a_home_address_is_the_end_of_the_journey(current):
    status = next_status(PacketStatus(current), ScanType.DELIVERED, to_office=False)
    assert status is PacketStatus.DELIVERED
    for scan in ScanType:
        if scan is ScanType.EXCEPTION:
            assert next_status(status, scan, to_office=False, reason="damaged") is status
            continue
        with pytest.raises(InvalidTransition):
            next_status(status, scan, to_office=False)


@pytest.mark.parametrize("current", ["delivered", "received"])
def test_a_packet_that_arrived_can_no_longer_be_lost(current):
    with pytest.raises(InvalidTransition):
        next_status(PacketStatus(current), ScanType.EXCEPTION, to_office=True, reason="lost")


EXCEPTION_STATES = [c for c in TABLE if TABLE[c][COLUMNS.index("exception")] != "-"]
IN_TRANSIT_OR_CREATED = [c for c in EXCEPTION_STATES if c not in ("delivered", "received")]


@pytest.mark.parametrize("reason", sorted(set(EXCEPTION_REASONS) - {"lost"}))
@pytest.mark.parametrize("current", EXCEPTION_STATES)
def test_an_exception_other_than_lost_keeps_the_packet_where_it_was(current, reason):
    for to_office in (True, False):
        assert next_status(PacketStatus(current), ScanType.EXCEPTION, to_office=to_office,
                           reason=reason) is PacketStatus(current)


@pytest.mark.parametrize("current", IN_TRANSIT_OR_CREATED)
def test_an_exception_with_reason_lost_makes_the_packet_lost(current):
    for to_office in (True, False):
        assert next_status(PacketStatus(current), ScanType.EXCEPTION, to_office=to_office,
                           reason="lost") is PacketStatus.LOST


def test_a_scanner_may_send_the_five_reasons_of_the_contract_and_the_service_and_carriers_record_six_more():
    assert set(SCANNER_REASONS) == {"damaged", "lost", "misrouted", "refused", "address_unknown"}
    assert set(EXCEPTION_REASONS) - set(SCANNER_REASONS) == {"missing_from_manifest", "not_on_manifest",
                                                             "contents_missing", "recipient_absent", "returned",
                                                             "carrier_silent"}
    assert set(NEXT_STEPS) == set(EXCEPTION_REASONS)


@pytest.mark.parametrize("current", [s.value for s in PacketStatus])
def test_a_packet_can_be_cancelled_only_while_it_is_still_created(current):
    if current == "created":
        assert cancel(PacketStatus.CREATED) is PacketStatus.CANCELLED
    else:
        with pytest.raises(InvalidTransition) as info:
            cancel(PacketStatus(current))
        assert (info.value.current, info.value.action) == (current, "cancel")


def test_replay_of_no_scans_is_a_created_packet():
    assert replay([], to_office=True) is PacketStatus.CREATED


def test_replay_follows_a_packet_through_several_hubs_to_the_office_that_signs_for_it():
    scans = [(ScanType.DISPATCHED, None), (ScanType.ARRIVED_HUB, None), (ScanType.DEPARTED_HUB, None),
             (ScanType.ARRIVED_HUB, None), (ScanType.EXCEPTION, "damaged"), (ScanType.DEPARTED_HUB, None),
             (ScanType.ARRIVED_HUB, None), (ScanType.OUT_FOR_DELIVERY, None), (ScanType.DELIVERED, None),
             (ScanType.RECEIVED, None)]
    assert replay(scans, to_office=True) is PacketStatus.RECEIVED
    assert replay(scans[:-1], to_office=True) is PacketStatus.DELIVERED
    assert replay(scans[:5], to_office=True) is PacketStatus.ARRIVED_HUB


def test_replay_to_a_home_address_ends_delivered_and_refuses_a_received_scan():
    scans = [(ScanType.DISPATCHED, None), (ScanType.OUT_FOR_DELIVERY, None), (ScanType.DELIVERED, None)]
    assert replay(scans, to_office=False) is PacketStatus.DELIVERED
    with pytest.raises(InvalidTransition):
        replay(scans + [(ScanType.RECEIVED, None)], to_office=False)


def test_replay_of_a_lost_packet_refuses_any_later_scan():
    scans = [(ScanType.DISPATCHED, None), (ScanType.EXCEPTION, "lost")]
    assert replay(scans, to_office=True) is PacketStatus.LOST
    with pytest.raises(InvalidTransition) as info:
        replay(scans + [(ScanType.ARRIVED_HUB, None)], to_office=True)
    assert (info.value.current, info.value.action) == ("lost", "arrived_hub")


def test_replay_refuses_received_before_dispatched_and_names_where_it_stopped():
    with pytest.raises(InvalidTransition) as info:
        replay([(ScanType.RECEIVED, None), (ScanType.DISPATCHED, None)], to_office=True)
    assert (info.value.current, info.value.action) == ("created", "received")


def test_replay_refuses_two_arrivals_without_a_departure_between_them():
    with pytest.raises(InvalidTransition):
        replay([(ScanType.DISPATCHED, None), (ScanType.ARRIVED_HUB, None), (ScanType.ARRIVED_HUB, None)],
               to_office=True)


def test_every_packet_status_has_a_chinese_title():
    assert set(PACKET_STATUS_TITLES) == set(PacketStatus)
    assert PacketStatus.RECEIVED.title == "已签收"
    assert PacketStatus.DELIVERED.title == "已妥投"
