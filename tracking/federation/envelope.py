"""The signed message envelope nodes exchange, and personal data sealed to one node.

Canonical JSON (what a signature covers): the envelope without `signature`, keys sorted, separators
"," and ":", non-ASCII written as itself, UTF-8. Numbers are integers only: a float has no single
spelling across languages, so decimals travel as strings. docs/federation.md describes all of it for
implementers in other languages.
"""
from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from config import clock

NODE_ID = r"^[0-9A-Za-z_-]{1,32}$"
MESSAGE_TYPE = r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$"
SEAL_VERSION = "tbs1"
_SEAL_INFO = b"tongban-seal-v1"


# -- base64url, raw 32-byte keys ---------------------------------------------------------------------

def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    """Strict: only the base64url alphabet, padding optional."""
    if not isinstance(text, str) or not text or any(c not in _B64U for c in text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64U = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def public_key(text: str) -> bytes:
    """A public key as peers write it: base64url of the raw 32 bytes."""
    raw = unb64u(text)
    if len(raw) != 32:
        raise ValueError("a key is 32 bytes")
    return raw


def _raw_public(key) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class NodeKeys:
    """This node's two private keys (from settings) and what it publishes of them."""
    node: str
    signing: Ed25519PrivateKey
    sealing: X25519PrivateKey

    @classmethod
    def from_settings(cls, settings) -> "NodeKeys":
        if not settings.node:
            raise ValueError("TONGBAN_NODE is not set: this installation is not a federation node")
        return cls(settings.node, Ed25519PrivateKey.from_private_bytes(unb64u(settings.node_signing_key)[:32]),
                   X25519PrivateKey.from_private_bytes(unb64u(settings.node_sealing_key)[:32]))

    @property
    def signing_public(self) -> str:
        return b64u(_raw_public(self.signing.public_key()))

    @property
    def sealing_public(self) -> str:
        return b64u(_raw_public(self.sealing.public_key()))


# -- the envelope ----------------------------------------------------------------------------------

class Envelope(BaseModel):
    """One message from one node to another. Every field but `signature` is signed."""
    model_config = ConfigDict(extra="forbid", frozen=True, title="Envelope")

    message_id: uuid.UUID = Field(description="Unique per message; a retry re-sends the same id")
    type: str = Field(pattern=MESSAGE_TYPE, max_length=64, description="Message type, e.g. case.note")
    node: str = Field(pattern=NODE_ID, description="The sending node's id")
    to: str = Field(pattern=NODE_ID, description="The receiving node's id")
    case_ref: Optional[str] = Field(None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$",
                                    description="The case number both sides use; null for a message about no case")
    seq: Optional[int] = Field(None, ge=1, le=2**31 - 1,
                               description="Per (sender, case_ref) sequence number from 1; null when case_ref is")
    sent_at: AwareDatetime = Field(description="When this attempt was sent (ISO 8601 with offset)")
    body: dict[str, Any] = Field(description="The type's fields; personal data only in sealed (*_sealed) fields")
    signature: str = Field(min_length=1, max_length=200,
                           description="base64url Ed25519 signature over the canonical JSON of the other fields")

    @model_validator(mode="after")
    def _case_and_seq_together(self):
        if (self.case_ref is None) != (self.seq is None):
            raise ValueError("case_ref 与 seq 须同时给出或同时为空。")
        return self


def canonical(value: Any) -> bytes:
    """The bytes a signature covers (see the module's docstring)."""
    def check(node):
        if isinstance(node, float):
            raise ValueError("canonical JSON carries no floats")
        if isinstance(node, dict):
            for child in node.values():
                check(child)
        elif isinstance(node, list):
            for child in node:
                check(child)
    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _unsigned(message: dict) -> dict:
    return {k: v for k, v in message.items() if k != "signature"}


def sign(message: dict, key: Ed25519PrivateKey) -> dict:
    """The message with its `signature` (any earlier one replaced)."""
    unsigned = _unsigned(message)
    return {**unsigned, "signature": b64u(key.sign(canonical(unsigned)))}


def verify(message: dict, keys: list[str]) -> bool:
    """Whether any of the sender's listed public keys (two during a rotation) signed this message, as
    received: the canonical form is made from the JSON that arrived, not from a re-parsed model."""
    try:
        signature = unb64u(message.get("signature", ""))
        data = canonical(_unsigned(message))
    except (ValueError, TypeError):
        return False
    for text in keys:
        try:
            Ed25519PublicKey.from_public_bytes(public_key(text)).verify(signature, data)
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def build(keys: NodeKeys, *, to: str, type: str, body: dict, case_ref: str | None = None,
          seq: int | None = None, message_id: str | None = None, now: datetime | None = None) -> dict:
    """A signed envelope, as JSON-ready dict, checked against the model."""
    message = {"message_id": message_id or str(uuid.uuid4()), "type": type, "node": keys.node, "to": to,
               "case_ref": case_ref, "seq": seq, "sent_at": clock.iso(now or clock.now()), "body": body}
    signed = sign(message, keys.signing)
    Envelope.model_validate(signed)
    return signed


def restamp(message: dict, key: Ed25519PrivateKey, now: datetime | None = None) -> dict:
    """The same message (same id) for another attempt: `sent_at` is the time of this attempt, signed
    again, so a receiver's ±5 minutes bound replays without refusing a retry after an outage."""
    return sign({**message, "sent_at": clock.iso(now or clock.now())}, key)


# -- sealed personal data ------------------------------------------------------------------------------

def seal_for(peer_sealing_public: str, data: bytes) -> str:
    """`tbs1.<ephemeral public>.<nonce>.<ciphertext>` (base64url each): an ephemeral X25519 key agreed with
    the receiver's, HKDF-SHA256 (salt: ephemeral || receiver public key, info "tongban-seal-v1") to a
    ChaCha20-Poly1305 key, the two public keys as associated data. Only the receiver can open it."""
    receiver = public_key(peer_sealing_public)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw_public(ephemeral.public_key())
    key = _seal_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(receiver)), ephemeral_public, receiver)
    nonce = os.urandom(12)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, data, ephemeral_public + receiver)
    return ".".join((SEAL_VERSION, b64u(ephemeral_public), b64u(nonce), b64u(ciphertext)))


class SealBroken(ValueError):
    """Not a sealed value this node can open (another version, another receiver, or altered)."""


def open_sealed(own_private: X25519PrivateKey, sealed: str) -> bytes:
    try:
        version, ephemeral_text, nonce_text, ciphertext_text = sealed.split(".")
        if version != SEAL_VERSION:
            raise SealBroken(f"unknown seal version {version!r}")
        ephemeral_public, nonce, ciphertext = unb64u(ephemeral_text), unb64u(nonce_text), unb64u(ciphertext_text)
        receiver = _raw_public(own_private.public_key())
        key = _seal_key(own_private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public)),
                        ephemeral_public, receiver)
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, ephemeral_public + receiver)
    except SealBroken:
        raise
    except (ValueError, InvalidTag, AttributeError) as e:
        raise SealBroken("the sealed value cannot be opened") from e


def _seal_key(shared: bytes, ephemeral_public: bytes, receiver: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + receiver,
                info=_SEAL_INFO).derive(shared)


def seal_json(peer_sealing_public: str, value: Any) -> str:
    return seal_for(peer_sealing_public, json.dumps(value, ensure_ascii=False).encode("utf-8"))


def open_json(own_private: X25519PrivateKey, sealed: str) -> Any:
    return json.loads(open_sealed(own_private, sealed))
