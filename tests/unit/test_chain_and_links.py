"""The event hash chain (mailing.chain) and the signed, expiring result links (tracking.links)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from mailing.chain import _default, event_hash, find_breaks, use_key, verify_chain
from tracking.model.links import LinkError, make_token, read_token

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def chain_key():
    """The installation's chain key, as an Env configures it."""
    use_key("unit-test-chain-key")


def _chain(payloads: list[dict]) -> list[tuple[str, str, dict]]:
    events, prev = [], ""
    for payload in payloads:
        digest = event_hash(prev, payload)
        events.append((prev, digest, payload))
        prev = digest
    return events


def _payloads() -> list[dict]:
    return [{"event_id": f"e{i}", "tracking_no": "EA000000005CN", "type": t, "at": T0 + timedelta(hours=i),
             "actor": "courier1", "office_code": o, "contents": None}
            for i, (t, o) in enumerate([("dispatched", "H140902"), ("arrived_hub", "P140900"),
                                        ("departed_hub", "P140900"), ("received", "D140105-GA")])]


# -- chain -----------------------------------------------------------------------------------------
def test_an_event_hash_is_a_sha256_hex_digest_that_depends_on_the_previous_hash():
    payload = _payloads()[0]
    digest = event_hash("", payload)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert event_hash("", payload) == digest
    assert event_hash("0" * 64, payload) != digest


def test_an_event_hash_does_not_depend_on_the_order_of_the_payload_keys():
    payload = _payloads()[0]
    assert event_hash("", payload) == event_hash("", dict(reversed(list(payload.items()))))


def test_an_untouched_chain_verifies():
    assert verify_chain(_chain(_payloads()))


def test_an_empty_chain_verifies():
    assert verify_chain([])


@pytest.mark.parametrize("index", [0, 1, 3])
def test_a_changed_payload_breaks_the_chain(index):
    events = _chain(_payloads())
    prev, digest, payload = events[index]
    events[index] = (prev, digest, {**payload, "office_code": "P999999"})
    assert not verify_chain(events)


def test_a_changed_time_breaks_the_chain():
    events = _chain(_payloads())
    prev, digest, payload = events[2]
    events[2] = (prev, digest, {**payload, "at": payload["at"] + timedelta(seconds=1)})
    assert not verify_chain(events)


def test_a_changed_payload_with_a_recomputed_hash_breaks_the_link_to_the_next_event():
    events = _chain(_payloads())
    prev, _, payload = events[1]
    forged = {**payload, "actor": "someone_else"}
    events[1] = (prev, event_hash(prev, forged), forged)
    assert not verify_chain(events)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_removed_event_breaks_the_chain(index):
    events = _chain(_payloads())
    del events[index]
    assert not verify_chain(events)


def test_removing_the_last_event_is_caught_only_by_comparing_the_stored_head_hash():
    events = _chain(_payloads())
    head = events[-1][1]
    truncated = events[:-1]
    assert verify_chain(truncated)  # a chain alone cannot know it was longer …
    assert truncated[-1][1] != head  # … the packet's or case's last_hash can


def test_swapping_two_events_breaks_the_chain():
    events = _chain(_payloads())
    events[1], events[2] = events[2], events[1]
    assert not verify_chain(events)


def test_a_chain_that_does_not_start_from_the_empty_hash_does_not_verify():
    events = _chain(_payloads())
    assert not verify_chain(events[1:])


def test_the_hash_is_keyed_so_a_chain_recomputed_without_the_key_does_not_verify():
    payload = _payloads()[0]
    assert event_hash("", payload, key="another-key") != event_hash("", payload)
    prev, forged = "", []
    for payload in _payloads():  # what someone with the database but without the key can compute
        body = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=_default)
        digest = hashlib.sha256((prev + "\n" + body).encode()).hexdigest()
        forged.append((prev, digest, payload))
        prev = digest
    assert not verify_chain(forged)


def _breaks(events: list[tuple[str, str, dict]], head: str, refs=None) -> list[tuple]:
    refs = refs or list(range(len(events)))
    found = find_breaks([(ref, *event) for ref, event in zip(refs, events)], head)
    return [(b.kind, b.event, b.after) for b in found]


def test_an_untouched_chain_has_no_breaks():
    events = _chain(_payloads())
    assert _breaks(events, events[-1][1]) == []
    assert _breaks([], "") == []


def test_an_edited_event_is_found_as_edited_and_the_chain_runs_on_through_it():
    events = _chain(_payloads())
    prev, digest, payload = events[1]
    events[1] = (prev, digest, {**payload, "office_code": "P000000"})
    assert _breaks(events, events[-1][1]) == [("edited", 1, None)]


def test_a_deleted_event_is_found_before_the_event_after_the_gap():
    events = _chain(_payloads())
    assert _breaks(events[:1] + events[2:], events[-1][1], [0, 2, 3]) == [("deleted", 2, 0)]
    assert _breaks(events[1:], events[-1][1], [1, 2, 3]) == [("deleted", 1, None)]


def test_a_deleted_last_event_is_found_by_the_head():
    events = _chain(_payloads())
    assert _breaks(events[:-1], events[-1][1]) == [("deleted", None, 2)]
    assert _breaks([], events[-1][1]) == [("deleted", None, None)]


@pytest.mark.parametrize("position", [0, 2, 4])
def test_an_inserted_event_is_found_as_inserted_wherever_it_is(position):
    events = _chain(_payloads())
    prev = events[position - 1][1] if position else ""
    payload = {**_payloads()[0], "event_id": "forged", "type": "exception"}
    events.insert(position, (prev, event_hash(prev, payload, key="not-the-key"), payload))
    refs = list(range(len(events)))
    refs[position] = "forged"
    assert _breaks(events, _chain(_payloads())[-1][1], refs) == [("inserted", "forged", None)]


# -- links -----------------------------------------------------------------------------------------
SECRET = "test-secret"
EXPIRES = datetime(2026, 3, 16, 1, 0, tzinfo=timezone.utc)


def test_a_valid_link_names_its_file_until_it_expires():
    token = make_token(SECRET, 42, EXPIRES)
    assert read_token(SECRET, token, T0) == 42
    assert read_token(SECRET, token, EXPIRES - timedelta(seconds=1)) == 42


def test_a_link_token_is_url_safe_and_carries_no_padding():
    token = make_token(SECRET, 123456, EXPIRES)
    assert "=" not in token and "/" not in token and "+" not in token


@pytest.mark.parametrize("now", [EXPIRES, EXPIRES + timedelta(days=1)])
def test_an_expired_link_is_refused_as_expired(now):
    with pytest.raises(LinkError) as info:
        read_token(SECRET, make_token(SECRET, 42, EXPIRES), now)
    assert info.value.code == "expired"


def _flip(token: str, index: int) -> str:
    ch = token[index]
    other = "A" if ch != "A" else "B"
    return token[:index] + other + token[index + 1:]


@pytest.mark.parametrize("where", ["first char of the body", "first char of the signature",
                                   "middle of the signature"])
def test_a_link_with_a_changed_character_is_refused_as_forged(where):
    token = make_token(SECRET, 42, EXPIRES)
    dot = token.index(".")
    index = {"first char of the body": 0, "first char of the signature": dot + 1,
             "middle of the signature": dot + 1 + (len(token) - dot - 1) // 2}[where]
    with pytest.raises(LinkError) as info:
        read_token(SECRET, _flip(token, index), T0)
    assert info.value.code == "forged"


def test_a_link_whose_file_id_was_swapped_for_another_is_refused_as_forged():
    mine, other = make_token(SECRET, 42, EXPIRES), make_token(SECRET, 43, EXPIRES)
    forged = other.split(".")[0] + "." + mine.split(".")[1]
    with pytest.raises(LinkError) as info:
        read_token(SECRET, forged, T0)
    assert info.value.code == "forged"


def test_a_link_whose_expiry_was_pushed_later_is_refused_as_forged():
    old = make_token(SECRET, 42, T0)
    longer = make_token(SECRET, 42, EXPIRES)
    forged = longer.split(".")[0] + "." + old.split(".")[1]
    with pytest.raises(LinkError) as info:
        read_token(SECRET, forged, T0 + timedelta(days=1))
    assert info.value.code == "forged"


def test_a_link_signed_with_another_secret_is_refused_as_forged():
    with pytest.raises(LinkError) as info:
        read_token(SECRET, make_token("another-secret", 42, EXPIRES), T0)
    assert info.value.code == "forged"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "....", "%%%.%%%", "链接.签名", "MS4y.AAAA"])
def test_garbage_is_refused_as_forged_never_as_a_crash(token):
    with pytest.raises(LinkError) as info:
        read_token(SECRET, token, T0)
    assert info.value.code == "forged"


def test_no_changed_character_anywhere_in_a_link_gives_access_to_another_file_or_a_longer_life():
    token = make_token(SECRET, 42, EXPIRES)
    for index, ch in enumerate(token):
        if ch == ".":
            continue
        for other in "AQgw_-9z":
            if other == ch:
                continue
            altered = token[:index] + other + token[index + 1:]
            try:
                file_id = read_token(SECRET, altered, T0)
            except LinkError as e:
                assert e.code == "forged"
            else:  # only base64's unused low bits of a final character can change unnoticed
                assert file_id == 42 and index in (token.index(".") - 1, len(token) - 1)
