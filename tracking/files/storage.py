"""Where kept files live: bytes under a key, in a folder on the local disk (the embedded default) or in a
bucket of S3-compatible object storage, chosen by settings (TONGBAN_FILE_STORAGE). What is stored here is
already sealed (tracking.files.vault): neither store sees a file in the clear."""
from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# a key is a relative path of plain parts: nothing that climbs out of the root or means something to a shell
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


def _checked(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > 512:
        raise ValueError(f"not a storage key: {key!r}")
    return key


@runtime_checkable
class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """KeyError when absent."""

    def delete(self, key: str) -> None:
        """Nothing happens when absent."""

    def exists(self, key: str) -> bool: ...


class LocalStorage:
    """A folder only the service's user may enter (0700), a file per key only it may read (0600). A file
    appears whole or not at all: written beside its place, flushed, then renamed over it."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.root.stat().st_mode & 0o077:  # personal data, sealed or not, is nobody else's to list
            with contextlib.suppress(PermissionError):  # not ours: provisioned by an operator as they chose
                self.root.chmod(0o700)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        folder, missing = path.parent, []
        while folder != self.root and not folder.is_dir():  # each level made here is 0700
            missing.append(folder)
            folder = folder.parent
        for level in reversed(missing):
            level.mkdir(mode=0o700, exist_ok=True)
        folder = path.parent
        tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Storage:
    """A bucket of any S3-compatible store (MinIO, Ceph, a cloud's object storage): path-style addresses,
    which every such store answers, and checksums only where the protocol requires them, which older
    stores do not understand otherwise."""

    def __init__(self, endpoint_url: str, bucket: str, access_key: str, secret_key: str,
                 region: str = "us-east-1"):
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self._client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, region_name=region or "us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required",
                          connect_timeout=10, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}))

    def __repr__(self) -> str:
        return f"S3Storage({self.endpoint_url!r}, {self.bucket!r})"

    def put(self, key: str, data: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=_checked(key), Body=bytes(data))

    def get(self, key: str) -> bytes:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as e:
            if _absent(e):
                raise KeyError(key) from None
            raise
        with answer["Body"] as body:
            return body.read()

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as e:
            if not _absent(e):
                raise

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as e:
            if _absent(e):
                return False
            raise
        return True


def _absent(e: ClientError) -> bool:
    error = e.response.get("Error", {})
    return error.get("Code") in ("NoSuchKey", "404", "NotFound") \
        or e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404


def storage_for(settings) -> Storage:
    """The store settings name: `local` (files_path, by default the instance folder's files/) or `s3`."""
    kind = (settings.file_storage or "local").strip().lower()
    if kind == "local":
        return LocalStorage(Path(settings.files_path or Path(settings.instance_path) / "files"))
    if kind == "s3":
        if not settings.s3_bucket:
            raise ValueError("TONGBAN_FILE_STORAGE=s3 needs TONGBAN_S3_BUCKET (and the endpoint and keys)")
        return S3Storage(settings.s3_endpoint_url, settings.s3_bucket, settings.s3_access_key,
                         settings.s3_secret_key, settings.s3_region)
    raise ValueError(f"TONGBAN_FILE_STORAGE is local or s3, not {settings.file_storage!r}")
