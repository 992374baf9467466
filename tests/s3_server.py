"""An S3-compatible object store on a loopback port, for the tests of the S3 file store: moto's server
(`python -m moto.server`), a process of its own that speaks the S3 protocol over HTTP as MinIO or a
cloud would, started once per test session. Each test gets a fresh bucket.

Use in a test module or conftest:

    from tests.s3_server import s3_server, s3_settings  # noqa: F401  (fixtures)

    def test_something(s3_settings, tmp_path):
        settings = Settings.from_env(env={}, overrides={**s3_settings, "instance_path": tmp_path, ...})
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from botocore.config import Config

from tests.nodes import free_port

ACCESS_KEY, SECRET_KEY, REGION = "tongban-test", "tongban-test-secret", "us-east-1"


@contextmanager
def running_s3_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server that runs while the block does."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # keys of our own: the server takes any, and nothing from the environment reaches a real account
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": REGION, "MOTO_CALL_RESET_API": "false"}
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the S3 server did not start: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def client(endpoint: str):
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        region_name=REGION, config=Config(s3={"addressing_style": "path"}))


def fresh_bucket(endpoint: str) -> dict:
    """Settings overrides for an S3 file store on a new, empty bucket of the server at `endpoint`."""
    bucket = f"tongban-files-{secrets.token_hex(6)}"
    client(endpoint).create_bucket(Bucket=bucket)
    return {"file_storage": "s3", "s3_endpoint_url": endpoint, "s3_bucket": bucket,
            "s3_access_key": ACCESS_KEY, "s3_secret_key": SECRET_KEY, "s3_region": REGION}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    with running_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_settings(s3_server) -> dict:
    return fresh_bucket(s3_server)
