"""Issue 15's "done when", whole: with the 政务专递 carrier configured, a case runs from the window to the
applicant's door with no courier of ours — booked, collected on request, carried on pushed events, delivered
and signed for — the offices' statements show its postage, and the applicant's SMS and emails leave through
local servers exactly once while two workers send."""
from __future__ import annotations

import csv
import io

from sqlmodel import select

from tests import pdfs
from tests.carrier_server import trace
from tests.e2e.steps import case_of, collect, record
from tests.e2e.test_carrier_ems import ems, platform, push, send  # noqa: F401 (fixtures)
from tests.e2e.test_messages_leave import _workers, servers  # noqa: F401 (fixture)
from tests.helpers import intake_body, person
from tracking.model.tables import Notification


def test_a_case_runs_with_the_carrier_its_postage_is_on_the_statements_and_each_message_leaves_once(
        ems, platform, servers, db, database_url, tmp_path, frozen, monkeypatch):
    mailbox, smtp, gateway = servers
    api = ems
    # the web process only queues, as with a broker: workers send (the carrier outbox by `send` below)
    monkeypatch.setitem(api.client.application.extensions["celery"].conf, "task_always_eager", False)
    applicant = person(email="zhang.xiaoming@example.com")
    case = collect(api, intake_body(applicant=applicant))
    no, tn = case["case_no"], case["tracking_no"]
    assert send(api)["done"] == 1 and platform.orders[tn]["waybillNo"] == tn

    assert api.post("/api/v1/carriers/pickups", {}, as_="clerk").status_code == 202
    assert send(api)["done"] == 1 and platform.pickups[0]["waybillNos"] == [tn]
    push(api, platform, [trace(tn, "203", "2026-03-02 15:00:00"), trace(tn, "305", "2026-03-02 20:00:00"),
                         trace(tn, "306", "2026-03-02 22:00:00"), trace(tn, "702", "2026-03-03 08:00:00"),
                         trace(tn, "704", "2026-03-03 10:00:00")])
    record(api, tn, "received", "2026-03-03T11:00:00+08:00", as_="officer")
    assert api.post(f"/api/v1/cases/{no}/accept", as_="officer").status_code == 200
    result = api.post(f"/api/v1/cases/{no}/decision", {"outcome": "approved", "note": "准予"},
                      as_="officer").json["result_packet"]["tracking_no"]
    assert send(api)["done"] == 1 and platform.orders[result]["receiver"]["mobile"] == applicant["phone"]
    push(api, platform, [trace(result, "203", "2026-03-04 10:00:00"), trace(result, "702", "2026-03-05 08:00:00"),
                         trace(result, "704", "2026-03-05 10:30:00", signType="1")])
    done = case_of(api, no)
    assert done["status"] == "delivered"
    assert all(e["actor"] == "carrier:ems" for p in done["packets"] for e in p["events"] if e["type"] != "received")

    # the window pays for the materials, the owning office for the result: the carrier's 22 yuan each
    for office, number in (("H140902", tn), ("D140105-GA", result)):
        who = "clerk" if office == "H140902" else "officer"
        r = api.get(f"/api/v1/offices/{office}/postage?month=2026-03&format=csv", as_=who)
        assert r.status_code == 200, r.data[:200]
        lines = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
        mine = [line for line in lines if number in line]
        assert len(mine) == 1 and "22.00" in mine[0], lines
        r = api.get(f"/api/v1/offices/{office}/postage?month=2026-03&format=pdf", as_=who)
        assert number in pdfs.text(r.data) and "22.00" in pdfs.text(r.data)

    db.rollback()
    queued = db.exec(select(Notification).where(Notification.audience == "applicant")).all()
    assert {n.channel for n in queued} == {"sms", "email"}
    workers = _workers(database_url, tmp_path, smtp.port, gateway)
    outputs = [w.communicate(timeout=90) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    db.rollback()
    sent = db.exec(select(Notification).where(Notification.audience == "applicant")).all()
    assert {n.status for n in sent} == {"sent"}, [(n.milestone, n.status, n.last_error) for n in sent]
    to_phone = [s for s in gateway.got if s.phone == applicant["phone"]]
    to_mail = [m for to, m in mailbox.got if to == [applicant["email"]]]
    # exactly once each: as many arrived as were queued, and no text twice
    assert len(to_phone) == sum(n.channel == "sms" for n in sent) >= 3
    assert len(to_mail) == sum(n.channel == "email" for n in sent) >= 3
    assert len({s.text for s in to_phone}) == len(to_phone)
    # the first SMS carries the check code, the later ones never
    with_code = [s for s in to_phone if case["check_code"] in s.text]
    assert len(with_code) == 1 and "查询密码" in with_code[0].text
    assert any("已送达" in s.text or "送达" in s.text for s in to_phone)
