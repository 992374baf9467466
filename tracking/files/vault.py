"""Files at rest: sealed with the data key (tracking.model.sealing) and stored under the hash of their
content, so that the same file uploaded twice is stored once, and a file read back is the file kept.

The key names content, not a case: two cases may hold the same file under one key. Whoever forgets a
key (the retention schedule) first makes sure that nothing else still refers to it.
"""
from __future__ import annotations

import hashlib
import logging

from cryptography.fernet import InvalidToken

from tracking.files.storage import Storage
from tracking.model.errors import Kind, Refused

log = logging.getLogger(__name__)
PREFIX = "files/"


class FileDamaged(Refused):
    """A stored file that no longer opens with the data key, or whose content is not the one its key
    names: changed, swapped or damaged in the store. Logged; the reader is told in words."""

    def __init__(self, key: str):
        super().__init__(Kind.GONE, "file_damaged",
                         message="文件已损坏，无法打开。请联系系统管理员从备份中恢复。")
        self.key = key


def key_of(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{PREFIX}{digest[:2]}/{digest}"


def keep(storage: Storage, sealer, data: bytes) -> str:
    """The key the file is stored under, sealed; a file already stored is not written again."""
    key = key_of(data)
    if not storage.exists(key):
        storage.put(key, sealer.seal_bytes(data))
    return key


def fetch(storage: Storage, sealer, key: str) -> bytes:
    """The file kept under `key` (KeyError when there is none), opened and checked against its hash."""
    sealed = storage.get(key)
    try:
        data = sealer.open_bytes(sealed)
    except (InvalidToken, TypeError, ValueError):
        log.error("stored file %s does not open with the data key", key)
        raise FileDamaged(key) from None
    if key_of(data) != key:
        log.error("stored file %s holds other content (sha256 %s)", key, hashlib.sha256(data).hexdigest())
        raise FileDamaged(key)
    return data


def forget(storage: Storage, key: str) -> None:
    storage.delete(key)


def result_bytes(storage: Storage, sealer, stored) -> bytes:
    """An electronic result's file: from the store, or (kept before the store) from its row."""
    if stored.storage_key:
        return fetch(storage, sealer, stored.storage_key)
    return sealer.open_bytes(stored.data)
