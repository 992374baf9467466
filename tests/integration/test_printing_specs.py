"""What printing is built from, on the real database: the label spec of a packet of any kind and
any state, and a handover sheet closed by the first of its packets to leave."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlmodel import select

from config.database import new_session
from labels.label import label_pdf
from mailing.packets import create_packet
from mailing.states import PacketKind, PacketStatus
from mailing.tables import Manifest
from routing.reference import directory as load_directory
from tests import pdfs
from tests.helpers import intake_command
from tracking.model.context import Actor
from tracking.model.errors import Refused
from tracking.commands.manifests import NewManifest, close_on_dispatch, create_manifest
from tracking.model.lookups import manifest_packets
from tracking.commands.intake import register_case
from tracking.reads.documents import label_spec

CLERK = Actor("clerk_xf", "clerk", "H140902", "李窗口")


def couriers(name: str) -> str | None:
    return {"courier_1": "王师傅"}.get(name)


@pytest.fixture
def intake(db, env, frozen):
    """无犯罪记录证明 collected at 忻府区 for 小店区: outbound packet H140902 → D140105-GA."""
    out = register_case(db, env, CLERK, intake_command(db))
    db.commit()
    return out


def replacement(db, env, case):
    """Materials sent again from the window to the owning office, e.g. after the first packet was lost."""
    directory = load_directory(db)
    owner = directory.post(case.owning_office)
    return create_packet(db, env.settings, directory, kind=PacketKind.REPLACEMENT, case_id=case.id,
                         origin=directory.post(case.collecting_office), to_office=owner,
                         to_division=owner.division_code,
                         contents=[{"code": "application_form", "name": "无犯罪记录证明申请表", "copies": 1,
                                    "original": True}])


def test_a_replacement_packet_gets_a_label_titled_as_materials_sent_again(db, env, intake):
    case, outbound = intake.case, intake.packet
    packet = replacement(db, env, case)
    db.commit()
    assert packet.tracking_no != outbound.tracking_no
    spec = label_spec(db, env, packet)
    assert spec.kind_title == "补寄材料"
    assert spec.tracking_no == packet.tracking_no and spec.case_no == case.case_no
    assert spec.recipient.name == "太原市公安局小店分局户政科"
    assert spec.sender.name == "忻州市忻府区政务服务中心"
    assert spec.pieces == 1
    assert spec.track_url == f"{env.settings.public_url}/track/{packet.tracking_no}"
    data = label_pdf(spec)
    assert pdfs.code128(data) == [packet.tracking_no]
    assert pdfs.qr(data) == [spec.track_url]
    assert "补寄材料" in pdfs.text(data)


@pytest.mark.parametrize("status", [PacketStatus.LOST, PacketStatus.DELIVERED, PacketStatus.RECEIVED,
                                    PacketStatus.CANCELLED])
def test_a_packet_that_arrived_was_lost_or_was_cancelled_gets_no_label(db, env, intake, status):
    packet = intake.packet
    packet.status = status.value
    with pytest.raises(Refused) as refused:
        label_spec(db, env, packet)
    assert refused.value.kind == "conflict" and refused.value.code == "label_unavailable"
    assert packet.tracking_no in refused.value.message


@pytest.mark.parametrize("status", [PacketStatus.CREATED, PacketStatus.DISPATCHED, PacketStatus.ARRIVED_HUB,
                                    PacketStatus.DEPARTED_HUB, PacketStatus.OUT_FOR_DELIVERY])
def test_a_packet_still_on_its_way_may_get_its_label_again(db, env, intake, status):
    packet = intake.packet
    packet.status = status.value
    assert label_spec(db, env, packet).tracking_no == packet.tracking_no


def test_the_first_packet_scanned_out_closes_only_the_open_sheets_it_is_on(db, env, intake):
    case = intake.case
    first, second, third = intake.packet, replacement(db, env, case), replacement(db, env, case)
    db.commit()
    earlier = create_manifest(db, CLERK, NewManifest(to_party="courier:courier_1", tracking_nos=[first.tracking_no]),
                              couriers)
    handed = datetime.fromisoformat("2026-03-02T09:30:00+08:00")
    close_on_dispatch(db, first, handed)  # that sheet went, but its packet was brought back unscanned
    db.flush()
    sheet = create_manifest(db, CLERK, NewManifest(to_party="courier:courier_1",
                                                    tracking_nos=[first.tracking_no, second.tracking_no]), couriers)
    other = create_manifest(db, CLERK, NewManifest(to_party="office:D140105-GA", tracking_nos=[third.tracking_no]),
                            couriers)
    assert [p.tracking_no for p in manifest_packets(db, sheet)] == [first.tracking_no, second.tracking_no]
    db.commit()

    at = datetime.fromisoformat("2026-03-02T10:00:00+08:00")
    close_on_dispatch(db, first, at)
    db.commit()
    db.expire_all()
    closed = {m.manifest_no: m.handed_over_at for m in db.exec(select(Manifest))}
    assert closed[sheet.manifest_no] == at
    assert closed[earlier.manifest_no] == handed  # an already handed over sheet keeps its time
    assert closed[other.manifest_no] is None  # a sheet without the packet stays open

    close_on_dispatch(db, second, datetime.fromisoformat("2026-03-02T11:00:00+08:00"))
    db.commit()
    db.expire_all()
    assert db.exec(select(Manifest).where(Manifest.manifest_no == sheet.manifest_no)).one().handed_over_at == at


def test_two_clerks_listing_the_same_packet_at_once_make_one_sheet_and_the_other_is_told(db, engine, env, intake):
    """Both requests lock the packet first: the second sees the first's sheet, never a second one."""
    number = intake.packet.tracking_no
    barrier = threading.Barrier(2)
    outcomes: list = []

    def attempt():
        session = new_session(engine)
        try:
            barrier.wait()
            made = create_manifest(session, CLERK, NewManifest(to_party="courier:courier_1", tracking_nos=[number]),
                                   couriers)
            session.commit()
            outcomes.append(made.manifest_no)
        except Refused as e:
            session.rollback()
            outcomes.append(e.code)
        finally:
            session.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o.startswith("JJ-") for o in outcomes) == [False, True], outcomes
    assert "already_on_manifest" in outcomes
    db.rollback()
    assert len(db.exec(select(Manifest)).all()) == 1
