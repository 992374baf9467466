"""The envelope's canonical form and signature, checked against an independent computation; key rotation;
tampering; personal data sealed to one node; the published JSON Schemas match the code's models."""
from __future__ import annotations

import base64
import json
import os
from datetime import datetime

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jsonschema import Draft202012Validator

from tracking.federation.envelope import (NodeKeys, SealBroken, canonical, open_json, open_sealed, restamp,
                                          seal_for, seal_json, sign, verify, build)
from tracking.federation.schemas import SCHEMAS_DIR, schemas

AT = datetime.fromisoformat("2026-03-02T09:00:00+08:00")


def raw(public) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def text_key(public) -> str:
    return base64.urlsafe_b64encode(raw(public)).rstrip(b"=").decode()


def unpad(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def keys(node: str = "110000") -> NodeKeys:
    return NodeKeys(node, Ed25519PrivateKey.generate(), X25519PrivateKey.generate())


def test_canonical_json_sorts_keys_drops_spaces_and_writes_chinese_as_itself():
    value = {"b": [1, {"z": None, "a": "忻州"}], "a": True}
    assert canonical(value) == '{"a":true,"b":[1,{"a":"忻州","z":null}]}'.encode("utf-8")


def test_canonical_json_refuses_floats_which_other_languages_spell_differently():
    with pytest.raises(ValueError):
        canonical({"fee": 1.5})


def test_a_signature_covers_exactly_the_canonical_bytes_of_everything_but_itself():
    me = keys()
    message = build(me, to="140000", type="case.note", body={"text": "材料已寄出"}, case_ref="C-1", seq=1, now=AT)
    # computed here by hand, independently of the module's canonical()
    expected = ('{"body":{"text":"材料已寄出"},"case_ref":"C-1","message_id":"%s","node":"110000",'
                '"sent_at":"2026-03-02T09:00:00+08:00","seq":1,"to":"140000","type":"case.note"}'
                % message["message_id"]).encode("utf-8")
    Ed25519PublicKey.from_public_bytes(unpad(me.signing_public)).verify(unpad(message["signature"]), expected)
    assert verify(message, [me.signing_public])


def test_any_change_to_a_signed_field_breaks_the_signature():
    me = keys()
    message = build(me, to="140000", type="case.note", body={"text": "原文"}, case_ref="C-1", seq=1, now=AT)
    for field, value in [("body", {"text": "改过"}), ("seq", 2), ("case_ref", "C-2"), ("to", "120000"),
                         ("sent_at", "2026-03-02T09:01:00+08:00"), ("node", "120000")]:
        assert not verify({**message, field: value}, [me.signing_public]), field
    assert not verify({**message, "extra": 1}, [me.signing_public])
    assert not verify({**message, "signature": "not base64!"}, [me.signing_public])
    with pytest.raises(InvalidSignature):  # and an independent check agrees
        Ed25519PublicKey.from_public_bytes(unpad(me.signing_public)).verify(
            unpad(message["signature"]), canonical({k: v for k, v in {**message, "seq": 2}.items()
                                                    if k != "signature"}))


def test_during_a_rotation_either_listed_key_verifies_and_an_unlisted_one_does_not():
    old, new, stranger = keys(), keys(), keys()
    listed = [old.signing_public, new.signing_public]
    by_old = build(old, to="140000", type="node.ping", body={}, now=AT)
    by_new = build(new, to="140000", type="node.ping", body={}, now=AT)
    by_stranger = build(stranger, to="140000", type="node.ping", body={}, now=AT)
    assert verify(by_old, listed) and verify(by_new, listed)
    assert not verify(by_stranger, listed)
    assert not verify(by_old, [new.signing_public])  # once the old key is removed


def test_a_retry_keeps_its_id_and_carries_a_fresh_time_signed_again():
    me = keys()
    first = build(me, to="140000", type="node.ping", body={}, now=AT)
    again = restamp(first, me.signing, datetime.fromisoformat("2026-03-02T10:00:00+08:00"))
    assert again["message_id"] == first["message_id"] and again["sent_at"] == "2026-03-02T10:00:00+08:00"
    assert verify(again, [me.signing_public]) and again["signature"] != first["signature"]
    assert sign(first, me.signing) == first  # Ed25519 is deterministic: the same bytes, the same signature


def test_sealed_data_opens_only_with_the_receivers_key_and_matches_an_independent_opening():
    receiver, other = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    data = "张三 140902199001011234 13912345678".encode("utf-8")
    sealed = seal_for(text_key(receiver.public_key()), data)
    assert data not in sealed.encode() and "1399" not in sealed
    version, e_text, nonce_text, ciphertext_text = sealed.split(".")
    assert version == "tbs1"
    # the documented recipe, step by step
    e, r = unpad(e_text), raw(receiver.public_key())
    shared = receiver.exchange(X25519PublicKey.from_public_bytes(e))
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=e + r, info=b"tongban-seal-v1").derive(shared)
    assert ChaCha20Poly1305(key).decrypt(unpad(nonce_text), unpad(ciphertext_text), e + r) == data
    assert open_sealed(receiver, sealed) == data
    with pytest.raises(SealBroken):
        open_sealed(other, sealed)
    assert seal_for(text_key(receiver.public_key()), data) != sealed  # a fresh ephemeral key each time


def test_an_altered_or_unknown_version_of_a_sealed_value_is_refused():
    receiver = X25519PrivateKey.generate()
    sealed = seal_json(text_key(receiver.public_key()), {"name": "李四"})
    assert open_json(receiver, sealed) == {"name": "李四"}
    head, e, nonce, ciphertext = sealed.split(".")
    flipped = bytearray(unpad(ciphertext))
    flipped[0] ^= 1
    altered = ".".join([head, e, nonce, base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()])
    for bad in (altered, "tbs2." + sealed[5:], "tbs1.xx", "", "tbs1.a.b.c"):
        with pytest.raises(SealBroken):
            open_sealed(receiver, bad)


def test_node_keys_come_from_the_settings_32_bytes_each():
    class S:
        node = "140000"
        node_signing_key = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        node_sealing_key = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    me = NodeKeys.from_settings(S)
    assert len(unpad(me.signing_public)) == 32 and len(unpad(me.sealing_public)) == 32
    assert me.signing_public == text_key(
        Ed25519PrivateKey.from_private_bytes(unpad(S.node_signing_key)).public_key())


def test_the_published_schemas_are_the_ones_the_code_generates():
    """docs/federation/schemas is written by `flask --app app federation schemas`: run it after a change."""
    expected = schemas()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS_DIR.glob("*.json")}
    assert on_disk == expected


def test_a_built_envelope_is_valid_against_the_published_schema():
    schema = json.loads(schemas()["envelope.schema.json"])
    message = build(keys(), to="140000", type="case.note", body={"text": "x"}, case_ref="C-1", seq=3, now=AT)
    assert list(Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
                .iter_errors(message)) == []
