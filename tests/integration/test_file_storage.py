"""Kept files live in a store: the local disk by default, or S3-compatible object storage (here moto's
S3 server on a loopback port, a process of its own). Each test runs on both stores; the vault on top
seals each file with the data key and stores it once under the hash of its content."""
from __future__ import annotations

import hashlib
import io
import stat

import pytest
from reportlab.pdfgen import canvas

from config.settings import Settings
from tests.s3_server import client, s3_server, s3_settings  # noqa: F401  (fixtures)
from tracking.files import vault
from tracking.files.checks import FileLimits, check_file
from tracking.files.storage import LocalStorage, S3Storage, Storage, storage_for
from tracking.files.vault import FileDamaged
from tracking.model.sealing import Sealer

CONTENT = "户口簿 第1页 张三 身份证号码 140105199001011234".encode()


def settings_for(tmp_path, **overrides) -> Settings:
    return Settings.from_env(env={}, overrides={"secret_key": "s", "data_key": "test-data-key", "chain_key": "c",
                                                "instance_path": tmp_path, **overrides})


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> Storage:
    overrides = request.getfixturevalue("s3_settings") if request.param == "s3" else {}
    return storage_for(settings_for(tmp_path, **overrides))


@pytest.fixture
def sealer() -> Sealer:
    return Sealer("test-data-key")


# --- the stores ---------------------------------------------------------------------------------------

def test_settings_choose_the_store(tmp_path, s3_settings):
    local = storage_for(settings_for(tmp_path))
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "files"
    s3 = storage_for(settings_for(tmp_path, **s3_settings))
    assert isinstance(s3, S3Storage) and s3.bucket == s3_settings["s3_bucket"]
    with pytest.raises(ValueError):
        storage_for(settings_for(tmp_path, file_storage="ftp"))


def test_settings_read_the_store_from_the_environment(tmp_path):
    settings = Settings.from_env(env={"TONGBAN_FILE_STORAGE": "S3", "TONGBAN_S3_BUCKET": "scans",
                                      "TONGBAN_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
                                      "TONGBAN_FILES_PATH": str(tmp_path / "elsewhere")},
                                 overrides={"instance_path": tmp_path, "secret_key": "s", "data_key": "d",
                                            "chain_key": "c"})
    assert (settings.file_storage, settings.s3_bucket, settings.s3_region) == ("s3", "scans", "us-east-1")
    assert settings.files_path == tmp_path / "elsewhere"
    assert (settings.file_max_mb, settings.file_max_pages, settings.file_max_pixels) == (20, 100, 40_000_000)


def test_a_stored_object_reads_back_and_is_gone_once_deleted(store):
    assert not store.exists("files/ab/abc")
    store.put("files/ab/abc", b"first")
    store.put("files/ab/abc", b"second")  # a put replaces
    assert store.exists("files/ab/abc") and store.get("files/ab/abc") == b"second"
    store.delete("files/ab/abc")
    assert not store.exists("files/ab/abc")
    with pytest.raises(KeyError):
        store.get("files/ab/abc")
    store.delete("files/ab/abc")  # deleting what is absent is no error


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "files/../../x", "files//x", "", "files/a b"])
def test_a_key_that_could_leave_the_store_is_refused(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_the_local_store_is_readable_by_the_service_alone_and_leaves_no_half_written_file(tmp_path):
    store = LocalStorage(tmp_path / "files")
    store.put("files/ab/abcdef", b"sealed bytes")
    for folder in (tmp_path / "files", tmp_path / "files" / "files", tmp_path / "files" / "files" / "ab"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((tmp_path / "files" / "files" / "ab" / "abcdef").stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "files" / "files" / "ab").iterdir()) == ["abcdef"]


# --- the vault ----------------------------------------------------------------------------------------

def test_a_kept_file_is_stored_sealed_under_its_content_hash_and_fetched_back(store, sealer):
    key = vault.keep(store, sealer, CONTENT)

    digest = hashlib.sha256(CONTENT).hexdigest()
    assert key == f"files/{digest[:2]}/{digest}"
    stored = store.get(key)
    assert stored != CONTENT and "张三".encode() not in stored and b"140105199001011234" not in stored
    assert vault.fetch(store, sealer, key) == CONTENT


def test_the_same_content_is_stored_once(store, sealer):
    first = vault.keep(store, sealer, CONTENT)
    stored = store.get(first)
    assert vault.keep(store, sealer, CONTENT) == first
    assert store.get(first) == stored  # not sealed and written again (a new seal would differ)


def test_a_tampered_object_is_refused_on_fetch(store, sealer):
    key = vault.keep(store, sealer, CONTENT)
    stored = bytearray(store.get(key))
    stored[len(stored) // 2] ^= 0x01
    store.put(key, bytes(stored))
    with pytest.raises(FileDamaged) as caught:
        vault.fetch(store, sealer, key)
    assert caught.value.code == "file_damaged" and "损坏" in caught.value.message


def test_another_file_put_under_a_key_is_refused_on_fetch(store, sealer):
    """Sealed with the right key, but not the content its name promises (a swap inside the store)."""
    key = vault.keep(store, sealer, CONTENT)
    store.put(key, sealer.seal_bytes(b"another applicant's scan"))
    with pytest.raises(FileDamaged):
        vault.fetch(store, sealer, key)


def test_a_file_sealed_with_another_data_key_does_not_open(store, sealer):
    key = vault.keep(store, Sealer("another installation's key"), CONTENT)
    with pytest.raises(FileDamaged):
        vault.fetch(store, sealer, key)


def test_a_forgotten_file_is_gone(store, sealer):
    key = vault.keep(store, sealer, CONTENT)
    vault.forget(store, key)
    assert not store.exists(key)
    with pytest.raises(KeyError):
        vault.fetch(store, sealer, key)
    vault.forget(store, key)  # twice: no error


def test_a_checked_upload_is_kept_and_read_back_whole(store, sealer):
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 720, "Application form")
    c.save()
    checked = check_file(out.getvalue(), "申请表.pdf", FileLimits(20 * 1024 * 1024, 100, 40_000_000))
    key = vault.keep(store, sealer, checked.data)
    assert key.endswith(checked.sha256)
    assert vault.fetch(store, sealer, key) == checked.data


def test_the_s3_store_holds_one_sealed_object_per_content(s3_server, s3_settings, tmp_path, sealer):
    store = storage_for(settings_for(tmp_path, **s3_settings))
    vault.keep(store, sealer, CONTENT)
    vault.keep(store, sealer, CONTENT)
    vault.keep(store, sealer, b"a second file")
    listed = client(s3_server).list_objects_v2(Bucket=s3_settings["s3_bucket"])["Contents"]
    assert len(listed) == 2 and all(o["Key"].startswith("files/") for o in listed)
