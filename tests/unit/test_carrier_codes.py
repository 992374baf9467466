"""The 政务专递 adapter's reading of what the carrier sends: digests, traces, and what each event code means
for custody (no database, no network)."""
from __future__ import annotations

import json
import urllib.parse

import pytest

from mailing.carriers import BadPush
from mailing.carriers.ems import EmsCarrier, digest, trace_event
from tests.carrier_server import digest as carriers_own_digest
from tests.carrier_server import trace
from tracking.commands.carriers import _mapping

KEY = "unit-key"


def carrier() -> EmsCarrier:
    return EmsCarrier("http://127.0.0.1:9/none", "1100099887766", KEY, "GOV", 1.0)


def form(traces, key=KEY) -> bytes:
    body = json.dumps({"traces": traces}, ensure_ascii=False)
    return urllib.parse.urlencode({"msgBody": body, "dataDigest": carriers_own_digest(body, key),
                                   "batchNo": "B1"}).encode()


def test_our_digest_is_the_one_the_carrier_computes_on_its_side():
    assert digest("{\"a\":1}", KEY) == carriers_own_digest("{\"a\":1}", KEY)


def test_a_push_is_read_into_events_in_beijing_time_with_a_stable_id_made_from_its_content():
    push = carrier().read_push(form([trace("EA000000014CN", "203", "2026-03-02 15:00:00")]),
                               {"Content-Type": "application/x-www-form-urlencoded"})
    again = carrier().read_push(form([trace("EA000000014CN", "203", "2026-03-02 15:00:00")]), {})
    (event,) = push.events
    assert event.at.isoformat() == "2026-03-02T15:00:00+08:00" and event.code == "203"
    assert event.event_id == again.events[0].event_id and push.batch_id == "B1"
    assert "太原邮区中心局" in event.place


def test_a_carriers_own_event_id_is_used_when_it_gives_one():
    assert trace_event(trace("X", "305", "2026-03-02 20:00:00", traceId="T-77")).event_id == "T-77"


def test_a_push_signed_with_another_key_or_unreadable_is_refused():
    with pytest.raises(BadPush) as forged:
        carrier().read_push(form([trace("X", "203", "2026-03-02 15:00:00")], key="other"), {})
    assert forged.value.status == 401
    with pytest.raises(BadPush) as garbled:
        carrier().read_push(b"no-body-here", {})
    assert garbled.value.status == 400


@pytest.mark.parametrize("code, extra, meaning", [
    ("203", {}, ("dispatched", None)),
    ("305", {}, ("arrived_hub", None)),
    ("306", {}, ("departed_hub", None)),
    ("702", {}, ("out_for_delivery", None)),
    ("704", {}, ("delivered", None)),
    ("747", {"undeliverCode": "01"}, ("exception", "refused")),
    ("747", {"undeliverCode": "02"}, ("exception", "address_unknown")),
    ("747", {"undeliverCode": "99"}, ("exception", "recipient_absent")),
    ("711", {}, ("exception", "returned")),
])
def test_each_code_of_the_table_means_one_scan(code, extra, meaning):
    scan_type, reason, known = _mapping(trace_event(trace("X", code, "2026-03-02 10:00:00", **extra)))
    assert known and (scan_type.value, reason) == meaning


def test_an_unknown_code_is_known_to_be_unknown_and_the_order_notice_means_no_scan():
    assert _mapping(trace_event(trace("X", "463", "2026-03-02 10:00:00"))) == (None, None, False)
    assert _mapping(trace_event(trace("X", "100", "2026-03-02 10:00:00"))) == (None, None, True)
