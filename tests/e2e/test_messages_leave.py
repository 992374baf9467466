"""SMS and email really leave: cases registered through the API, then two worker processes
(`flask notifications send`) against the same database send the queue to a local SMTP server (aiosmtpd)
and a local SMS gateway speaking Alibaba Cloud's SendSms (tests/sms_gateway.py, which checks the
signature as the cloud does). Each message arrives exactly once, with the right address and text."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlmodel import select

from tests.helpers import intake_body, person, resident_id
from tests.sms_gateway import Gateway
from tracking.model.tables import Notification

aiosmtpd = pytest.importorskip("aiosmtpd.controller")

ROOT = Path(__file__).resolve().parents[2]


class Mailbox:
    """Every message the SMTP server accepted, as the recipient's mail program reads it."""

    def __init__(self):
        self.got: list[tuple[list[str], object]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            self.got.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def servers():
    mailbox = Mailbox()
    with socket.socket() as probe:  # a free loopback port (the controller checks it is up by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = aiosmtpd.Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    gateway = Gateway(secret="aliyun-secret", key_id="LTAI-test").start()
    yield mailbox, smtp, gateway
    gateway.stop()
    smtp.stop()


def _workers(database_url: str, tmp_path: Path, smtp_port: int, gateway: Gateway) -> list[subprocess.Popen]:
    env = {**os.environ, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_INSTANCE_PATH": str(tmp_path),
           "TONGBAN_SECRET_KEY": "test-secret", "TONGBAN_DATA_KEY": "test-data-key",
           "TONGBAN_SMS_TRANSPORT": "aliyun", "TONGBAN_SMS_URL": gateway.url + "/",
           "TONGBAN_SMS_KEY_ID": "LTAI-test", "TONGBAN_SMS_SECRET": "aliyun-secret",
           "TONGBAN_SMS_TEMPLATE_CODES": "*=SMS_900001", "TONGBAN_SMS_PER_PHONE_PER_HOUR": "0",
           "TONGBAN_SMTP_HOST": "127.0.0.1", "TONGBAN_SMTP_PORT": str(smtp_port),
           "TONGBAN_SMTP_FROM": "通办寄递 <noreply@tongban.test>"}
    flask = [sys.executable, "-m", "flask", "--app", "app", "notifications", "send", "--for", "4", "--every", "0.2"]
    return [subprocess.Popen(flask, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]


def test_an_sms_and_an_email_leave_exactly_once_with_two_workers_running(api, db, database_url, tmp_path, servers,
                                                                         monkeypatch):
    mailbox, smtp, gateway = servers
    # the web process only queues, as with a broker: the two workers below send
    monkeypatch.setitem(api.client.application.extensions["celery"].conf, "task_always_eager", False)
    api.user("clerk", "clerk", "H140902")
    cases = []
    for n in range(4):
        applicant = person(id_number=resident_id(f"14010519900307{n}12"), phone=f"1381234567{n}",
                           email=f"applicant{n}@example.com")
        r = api.post("/api/v1/cases", intake_body(applicant=applicant), as_="clerk")
        assert r.status_code == 201, r.json
        cases.append((r.json["case_no"], r.json["check_code"], applicant))
    db.rollback()
    queued = db.exec(select(Notification)).all()
    assert sorted(n.channel for n in queued) == ["email"] * 4 + ["sms"] * 4

    workers = _workers(database_url, tmp_path, smtp.port, gateway)
    outputs = [w.communicate(timeout=60) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert all("发送完成" in out for out, _ in outputs), outputs

    # each SMS once, to its phone, on the registered template, with the case number and its check code
    assert gateway.refused == []
    db.rollback()
    assert not [n.last_error for n in db.exec(select(Notification)) if n.last_error], outputs
    assert sorted(sms.phone for sms in gateway.got) == sorted(a["phone"] for _, _, a in cases)
    for case_no, code, applicant in cases:
        [sms] = [s for s in gateway.got if s.phone == applicant["phone"]]
        assert sms.template == "SMS_900001" and case_no in sms.text and f"查询密码{code}" in sms.text
        [(to, mail)] = [(to, m) for to, m in mailbox.got if to == [applicant["email"]]]
        assert mail["Subject"] == f"【通办寄递】办件{case_no}：收件"
        assert case_no in mail.get_content() and f"查询密码{code}" in mail.get_content()
    assert len(mailbox.got) == 4

    db.rollback()
    sent = db.exec(select(Notification)).all()
    assert {(n.status, n.attempts) for n in sent} == {("sent", 1)}
    assert len({n.claimed_by for n in sent}) == 1 and sent[0].claimed_by is None  # claims released
