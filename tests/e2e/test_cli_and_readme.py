"""The setup commands, and the README's walkthrough run as written against a real server."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select, update

from tests.helpers import intake_body, intake_command
from tracking.model.deadlines import recompute_due_date
from tracking.model.tables import Case

ROOT = Path(__file__).resolve().parents[2]


def test_users_create_makes_an_account_and_refuses_the_same_username(app, db):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "wang", "--role", "clerk", "--password", "pw-123456",
                               "--office", "H140902", "--name", "王敏"])
    assert made.exit_code == 0, made.output
    from app.users import User
    user = db.exec(select(User).where(User.username == "wang")).one()
    assert (user.role, user.office_code, user.name) == ("clerk", "H140902", "王敏")
    again = runner.invoke(args=["users", "create", "wang", "--role", "clerk", "--password", "pw-123456",
                                "--office", "H140902"])
    assert again.exit_code != 0 and "已存在" in again.output


def test_a_clerk_needs_a_hall_and_an_officer_a_department(app, db):
    runner = app.test_cli_runner()
    clerk = runner.invoke(args=["users", "create", "a", "--role", "clerk", "--password", "pw-123456",
                                "--office", "D140105-GA"])
    officer = runner.invoke(args=["users", "create", "b", "--role", "officer", "--password", "pw-123456"])
    assert clerk.exit_code != 0 and "政务服务大厅" in clerk.output
    assert officer.exit_code != 0 and "办理部门" in officer.output


def test_demo_loads_once_and_changes_nothing_the_second_time(app, db):
    from tracking.model.tables import Case
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "xinfu-clerk" in first.output and "tongban-demo" in first.output
    cases = db.exec(select(Case)).all()
    # the rated case stays delivered: rating does not archive, and its bad rating's follow-up is open
    assert {c.status for c in cases} >= {"collected", "in_transit", "accepted", "decided", "delivered"}
    # every desk has something on it: a packet at the office's door, a bad rating to follow up
    from mailing.tables import Packet
    from tracking.model.tables import Evaluation
    assert db.exec(select(Packet).where(Packet.status == "out_for_delivery")).first() is not None
    assert [(e.score, e.follow_up_status) for e in db.exec(select(Evaluation))] == [(2, "open")]
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    db.expire_all()
    assert len(db.exec(select(Case)).all()) == len(cases)


def test_loading_a_published_year_makes_provisional_due_dates_official(app, db, env, frozen, tmp_path):
    from tracking.model.context import Actor
    from tracking.commands.intake import register_case
    from app.users import create_user
    create_user(db, "clerk", "clerk", "pw-123456", "H140902")
    frozen.set("2026-12-30T10:00:00+08:00")  # 10 working days from here reach into 2027
    body = intake_body(matter_code="GZ-QSGX-01",
                       materials=[{"code": c, "original": c in ("application_form",)} for c in
                                  ("application_form", "id_card", "hukou_book", "kinship_proof", "relative_id_card")],
                       result_delivery={"method": "pickup"})
    case = register_case(db, env, Actor("clerk", "clerk", "H140902"), intake_command(db, body)).case
    db.commit()
    assert case.due_date_provisional is True
    # the materials are expected on Monday 4 January (31 Dec, 1 and 4 Jan, counted Monday to Friday); ten
    # working days from there: 5–8, 11–15, 18 January
    assert case.due_date == date(2027, 1, 18)
    case.received_at = case.accepted_at = datetime(2026, 12, 31, 2, tzinfo=timezone.utc)  # accepted 31 Dec
    recompute_due_date(db, case, env.settings)
    assert case.due_date == date(2027, 1, 14) and case.due_date_provisional is True
    db.commit()
    assert case.open_due_decision == date(2027, 1, 14)  # the stored stage (the materials are still to leave)
    year = {"year": 2027, "holidays": {"2027-01-01": "元旦", "2027-01-04": "元旦"}, "workdays": {}}
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(year, ensure_ascii=False), encoding="utf-8")
    loaded = app.test_cli_runner().invoke(args=["calendar", "load", str(path)])
    assert loaded.exit_code == 0, loaded.output
    assert "2027" in loaded.output
    db.expire_all()
    db.refresh(case)
    assert case.due_date_provisional is False
    assert case.due_date == date(2027, 1, 18)  # 1 and 4 January are holidays: two working days later
    # the stored stage deadlines count on the new calendar too, and agree with the stage functions
    assert case.open_due_decision == date(2027, 1, 18)
    checked = app.test_cli_runner().invoke(args=["deadlines", "check"])
    assert checked.exit_code == 0 and "环节时限与办件记录不符：0 件。" in checked.output
    db.exec(update(Case).where(Case.id == case.id).values(open_due_decision=date(2027, 1, 1)))
    db.commit()
    checked = app.test_cli_runner().invoke(args=["deadlines", "check"])
    assert checked.exit_code == 1 and case.case_no in checked.output and "不符：1 件" in checked.output
    rebuilt = app.test_cli_runner().invoke(args=["deadlines", "rebuild"])
    assert rebuilt.exit_code == 0 and "1 件有变化" in rebuilt.output
    assert app.test_cli_runner().invoke(args=["deadlines", "check"]).exit_code == 0


def test_a_calendar_file_with_errors_is_refused_with_a_clear_message(app, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"year": 2027, "holidays": {"2026-12-31": "x"}}', encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "load", str(path)])
    assert result.exit_code != 0
    assert "2027" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _walkthrough() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Walkthrough"):text.index("## Commands")]
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, re.S))


@pytest.mark.skipif(not Path("/usr/bin/curl").exists() and not Path("/bin/curl").exists(),
                    reason="curl is not installed")
def test_the_readme_walkthrough_runs_as_written_against_a_real_server(db, database_url, tmp_path):
    port = _free_port()
    env = {**os.environ, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_INSTANCE_PATH": str(tmp_path),
           "FLASK_APP": "app"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    for args in (["init-db"], ["demo"]):
        subprocess.run(flask + args, cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen(flask + ["run", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        script = _walkthrough().replace("BASE=http://127.0.0.1:5000", f"BASE=http://127.0.0.1:{port}")
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count('"status":"recorded"') >= 9, run.stdout
    assert '"status": "delivered"' in run.stdout  # the tracking page before the evaluation
    promised = re.findall(r"promise: (\d{4}-\d\d-\d\d) (estimated|fixed) result by (\d{4}-\d\d-\d\d)", run.stdout)
    assert [kind for _, kind, _ in promised] == ["estimated", "fixed"], run.stdout
    assert all(due <= result for due, _, result in promised)
    assert '"stage":"office","status":"closed"' in run.stdout.replace(" ", "")  # a good rating archives the case
    assert "张晓明" not in run.stdout.split('"check_code"')[-1]  # the public view shows no name
    from tests import pdfs
    tracking_no = re.search(r'"tracking_no": "([A-Z]{2}\d{9}[A-Z]{2})"', run.stdout).group(1)
    assert pdfs.code128((tmp_path / "label.pdf").read_bytes()) == [tracking_no]
    assert "查询密码" in pdfs.text((tmp_path / "receipt.pdf").read_bytes())
    assert tracking_no in pdfs.code128((tmp_path / "manifest.pdf").read_bytes())
    # 多地联办: the household move ran through both offices, named on the tracking page, and ended at the hall
    assert "迁出地 忻州市公安局忻府分局户政科：已开具户口迁移证，户籍档案已寄往迁入地" in run.stdout
    assert "待领取" in run.stdout.split("迁出地 忻州市公安局忻府分局户政科 办理迁出登记 已完成")[-1]
    archive = pdfs.code128((tmp_path / "archive-label.pdf").read_bytes())
    assert len(archive) == 1 and archive[0] != tracking_no


def test_a_node_of_another_province_sets_up_with_the_demo_accounts_it_can_hold(tmp_path):
    """`make run NODE=110000`: 北京's node loads its own offices (not 山西's), so the demo makes only the
    accounts without an office, and no demo cases; set up twice, it changes nothing."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}, "TONGBAN_NODE": "110000",
           "TONGBAN_NODE_PREFIXES": "11", "TONGBAN_INSTANCE_PATH": str(tmp_path), "FLASK_APP": "app"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    for args in (["init-db"], ["demo"], ["demo"]):
        done = subprocess.run(flask + args, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert "xinfu-clerk" not in done.stdout and "admin" in done.stdout and "新建办件 0 件" in done.stdout
    import sqlite3
    with sqlite3.connect(tmp_path / "tongban.db") as db:
        users = {u for (u,) in db.execute("SELECT username FROM user")}
        offices = {c for (c,) in db.execute("SELECT code FROM office")}
    assert users == {"courier", "supervisor", "admin"}
    assert "D110105-GA" in offices and "P140000" in offices and "H140902" not in offices
