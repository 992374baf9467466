"""Postage on the real database: every packet is priced and given its payer when it is made, by the tariff
file the settings name; the carrier's answer replaces the tariff's amount; an edited tariff applies to the
next packet."""
from __future__ import annotations

import os

import pytest
import yaml
from sqlmodel import select

from mailing import postage
from mailing.tables import Packet
from tests.helpers import intake_body, intake_command, scan
from tests.integration.test_use_cases import CLERK, OFFICER, record_scans
from tracking.commands import decisions
from tracking.commands.intake import register_case
from tracking.model.inputs import parse


def fresh(db, tracking_no: str) -> Packet:
    db.rollback()
    return db.exec(select(Packet).where(Packet.tracking_no == tracking_no)).one()


def collected(db, env, body: dict | None = None):
    made = register_case(db, env, CLERK, intake_command(db, body))
    db.commit()
    return made


def received(db, env, body: dict | None = None):
    made = collected(db, env, body)
    number = made.packet.tracking_no
    record_scans(db, env, CLERK, [scan(number, "dispatched", "2026-03-02T10:00:00+08:00")])
    record_scans(db, env, OFFICER, [scan(number, "received", "2026-03-03T09:00:00+08:00")])
    return made


def decided(db, env, body: dict | None = None):
    made = received(db, env, body)
    decisions.accept_case(db, env, OFFICER, made.case.case_no)
    db.commit()
    out = decisions.decide_case(db, env, OFFICER, made.case.case_no,
                                parse(decisions.Decision, {"outcome": "approved", "note": "准予"}))
    db.commit()
    return made, out


@pytest.fixture
def tariff_file(tmp_path, settings):
    """A copy of the shipped tariff the test may change; the settings point at it."""
    path = tmp_path / "postage.yaml"
    path.write_text(postage.DEFAULT_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    settings.postage_tariff_file = str(path)

    def change(edit) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        stat = os.stat(path)  # a second write within the file system's clock tick still reads as changed
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    return change


def test_the_outbound_packet_is_priced_by_zone_and_weight_and_paid_by_the_window(db, env, frozen):
    made = collected(db, env)
    packet = fresh(db, made.packet.tracking_no)
    # 忻府区 → 太原小店区: same province; a form (original) and an ID card copy in an envelope: 50 + 10 + 10 g
    assert packet.weight_grams == 70
    assert (packet.postage_cents, packet.postage_source, packet.postage_payer) == (1000, "tariff", "H140902")


def test_the_paper_result_is_paid_by_the_owning_office_at_the_price_of_its_own_city(db, env, frozen):
    _, out = decided(db, env)
    result = fresh(db, out.result_packet.tracking_no)
    # 小店区 police → an address in 小店区: same city; the decision document in an envelope
    assert result.kind == "result" and result.to_office is None
    assert (result.weight_grams, result.postage_cents, result.postage_payer) == (70, 800, "D140105-GA")


def test_a_heavier_packet_to_another_province_pays_each_further_step(db, env, frozen):
    # collected at 忻府区 for a Beijing household registration: other province
    body = intake_body(applicant={**intake_body()["applicant"], "division_code": "110105"},
                       materials=[{"code": "application_form", "copies": 1, "original": True},
                                  {"code": "id_card", "copies": 60, "original": False}])
    packet = fresh(db, collected(db, env, body).packet.tracking_no)
    assert packet.weight_grams == 50 + 10 + 600
    assert packet.postage_cents == 1500 + 500     # 首重 500 g 15.00, one further 500 g step begun 5.00


def test_a_matters_own_payer_rule_decides_who_pays(db, env, frozen, tariff_file):
    tariff_file(lambda t: t["payers"].update(matters={"GA-WFZM-01": {"outbound": "owning"}}))
    packet = fresh(db, collected(db, env).packet.tracking_no)
    assert packet.postage_payer == "D140105-GA"
    other = fresh(db, collected(db, env, intake_body(matter_code="GA-HJZM-01") | {
        "materials": [{"code": "application_form", "copies": 1, "original": True},
                      {"code": "id_card", "copies": 1, "original": False}]}).packet.tracking_no)
    assert other.postage_payer == "H140902"  # another matter: the default


def test_a_replacement_is_paid_as_the_packet_it_replaces_unless_the_tariff_names_replacements(db, env, frozen,
                                                                                              tariff_file):
    made = collected(db, env)
    number = made.packet.tracking_no
    record_scans(db, env, CLERK, [scan(number, "dispatched", "2026-03-02T10:00:00+08:00"),
                                  scan(number, "exception", "2026-03-02T11:00:00+08:00", reason="lost")])
    sent = decisions.send_replacement(db, env, CLERK, number, parse(decisions.Replacement, {}))
    db.commit()
    assert fresh(db, sent.packet.tracking_no).postage_payer == "H140902"  # as the outbound: the window

    tariff_file(lambda t: t["payers"]["default"].update(replacement="owning"))
    again = collected(db, env)
    record_scans(db, env, CLERK, [scan(again.packet.tracking_no, "dispatched", "2026-03-02T12:00:00+08:00"),
                                  scan(again.packet.tracking_no, "exception", "2026-03-02T13:00:00+08:00",
                                       reason="lost")])
    sent = decisions.send_replacement(db, env, CLERK, again.packet.tracking_no, parse(decisions.Replacement, {}))
    db.commit()
    assert fresh(db, sent.packet.tracking_no).postage_payer == "D140105-GA"


def test_an_edited_tariff_prices_the_next_packet_and_leaves_the_made_ones_as_they_were(db, env, frozen, tariff_file):
    first = collected(db, env).packet.tracking_no
    tariff_file(lambda t: t["zones"]["same_province"].update(first="11.50"))
    second = collected(db, env).packet.tracking_no
    assert (fresh(db, first).postage_cents, fresh(db, second).postage_cents) == (1000, 1150)


def test_the_carriers_amount_replaces_the_tariffs_and_the_payer_stays(db, env, frozen):
    number = collected(db, env).packet.tracking_no
    packet = fresh(db, number)
    postage.charged_by_carrier(packet, 1380, 185)  # what a carrier adapter does with its answer
    db.add(packet)
    db.commit()
    packet = fresh(db, number)
    assert (packet.postage_cents, packet.weight_grams, packet.postage_source, packet.postage_payer) == \
        (1380, 185, "carrier", "H140902")


def test_a_packet_made_without_its_case_at_hand_is_paid_by_the_office_that_sends_it(db, env, frozen):
    from mailing.packets import create_packet
    from mailing.states import PacketKind
    from routing.reference import directory as load_directory
    made = collected(db, env)
    directory = load_directory(db)
    packet = create_packet(db, env.settings, directory, kind=PacketKind.RETURN, case_id=made.case.id,
                           origin=directory.post("D140105-GA"), to_office=directory.post("H140902"),
                           to_division="140902", contents=[{"code": "id_card", "copies": 1, "original": False}])
    assert (packet.postage_payer, packet.postage_source, packet.weight_grams) == ("D140105-GA", "tariff", 60)
    db.rollback()


def test_a_broken_edit_of_the_tariff_keeps_the_last_good_prices_and_the_windows_working(db, env, frozen, tariff_file,
                                                                                      caplog):
    first = collected(db, env).packet.tracking_no
    tariff_file(lambda t: t["zones"]["same_province"].update(first="十元"))
    second = collected(db, env).packet.tracking_no
    assert fresh(db, second).postage_cents == fresh(db, first).postage_cents == 1000
    assert "zones.same_province.first" in caplog.text
