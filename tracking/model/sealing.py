"""Personal data at rest: sealed (encrypted) with a key from settings, found by keyed hash."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet


class Sealer:
    def __init__(self, data_key: str):
        root = data_key.encode("utf-8")
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"seal:" + root).digest()))
        self._hash_key = hashlib.sha256(b"lookup:" + root).digest()

    def seal(self, value) -> str:
        return self._fernet.encrypt(json.dumps(value, ensure_ascii=False).encode("utf-8")).decode("ascii")

    def open(self, token: str | None):
        if not token:
            return None
        return json.loads(self._fernet.decrypt(token.encode("ascii")))

    def seal_bytes(self, data: bytes) -> bytes:
        """A file (an electronic result) sealed as it is stored."""
        return self._fernet.encrypt(data)

    def open_bytes(self, sealed: bytes) -> bytes:
        return self._fernet.decrypt(bytes(sealed))

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


def check_code_hash(code: str, case_no: str) -> str:
    """What travels of a check code to a peer: scrypt salted with the case number, slow enough that a
    six-digit code is not found by trying them all in a blink (docs/federation.md)."""
    return hashlib.scrypt(code.strip().encode("utf-8"), salt=case_no.encode("utf-8"), n=2**14, r=8, p=1,
                          dklen=32).hex()
