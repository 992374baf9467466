"""Postage without a database: the tariff's arithmetic (首重 + 续重 by zone), the weight estimated from the
contents, who pays by kind and matter, the shipped tariff file, and the statement's month and tables."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import yaml

from mailing import postage
from mailing.postage import Rate, Tariff, TariffError, parse_tariff, payer_side, price, weigh, yuan
from mailing.states import PacketKind
from routing.transit import ZONES, zone
from tracking.model.errors import Refused
from tracking.reads import postage as reads
from tracking.reads import statistics as st

TARIFF = Tariff(
    rates={"same_city": Rate(500, 800, 500, 200), "same_province": Rate(500, 1000, 500, 300),
           "other_province": Rate(1000, 1500, 250, 250)},
    envelope_grams=50, per_copy_grams=10, originals={"hukou_book": 60, "result": 20},
    payers={"outbound": "collecting", "supplement": "collecting", "result": "owning", "return": "owning"},
    matter_payers={"SJ-GYCP-01": {"outbound": "owning"}})


# -- the price ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone_name, grams, cents", [
    ("same_city", 1, 800),             # anything up to the first weight: the first price
    ("same_city", 500, 800),
    ("same_city", 501, 1000),          # one gram over begins a further step
    ("same_city", 1000, 1000),
    ("same_city", 1001, 1200),
    ("same_province", 120, 1000),
    ("same_province", 1700, 1000 + 3 * 300),
    ("other_province", 1000, 1500),    # each zone by its own steps
    ("other_province", 1001, 1750),
    ("other_province", 1500, 1500 + 2 * 250),
])
def test_postage_is_the_first_weights_price_and_a_price_for_every_further_step_begun(zone_name, grams, cents):
    assert price(TARIFF, zone_name, grams) == cents


def test_the_weight_is_the_envelope_and_every_copy_of_every_material():
    contents = [{"code": "application_form", "copies": 1, "original": True},
                {"code": "id_card", "copies": 2, "original": False},
                {"code": "hukou_book", "copies": 1, "original": True},    # a booklet: its own weight
                {"code": "hukou_book", "copies": 3, "original": False}]   # its copies are sheets
    assert weigh(TARIFF, contents) == 50 + 10 + 2 * 10 + 60 + 3 * 10


def test_a_material_without_copies_counts_once_and_an_empty_packet_weighs_its_envelope():
    assert weigh(TARIFF, [{"code": "result", "original": True}]) == 70
    assert weigh(TARIFF, [{"code": "x", "copies": 0}]) == 60
    assert weigh(TARIFF, []) == 50


def test_amounts_are_printed_in_yuan_with_two_decimals():
    assert [yuan(c) for c in (0, 5, 800, 1250, 123456)] == ["0.00", "0.05", "8.00", "12.50", "1234.56"]
    assert yuan(None) == ""
    assert reads.money(1250) == Decimal("12.50") and str(reads.money(800)) == "8.00"


# -- who pays ---------------------------------------------------------------------------------------------

def test_the_window_pays_for_what_it_sends_and_the_owning_office_for_what_comes_back():
    assert payer_side(TARIFF, "GA-HKQY-01", "outbound") == "collecting"
    assert payer_side(TARIFF, "GA-HKQY-01", "supplement") == "collecting"
    assert payer_side(TARIFF, "GA-HKQY-01", "result") == "owning"
    assert payer_side(TARIFF, "GA-HKQY-01", "return") == "owning"


def test_a_matters_own_rule_wins_for_the_kinds_it_names_and_the_default_holds_for_the_others():
    assert payer_side(TARIFF, "SJ-GYCP-01", "outbound") == "owning"
    assert payer_side(TARIFF, "SJ-GYCP-01", "supplement") == "collecting"
    assert payer_side(TARIFF, "SJ-GYCP-01", "result") == "owning"


def test_a_kind_no_rule_names_has_no_side_of_its_own():
    # a replacement is then paid as the packet it replaces (mailing.postage.charge_by_tariff)
    assert payer_side(TARIFF, "GA-HKQY-01", "replacement") is None


# -- the zone ----------------------------------------------------------------------------------------------

def test_the_zone_is_the_one_the_transit_standards_count_by(real):
    assert zone(real, "140902", "140921") == "same_city"        # 忻府区 → 定襄县
    assert zone(real, "140902", "140105") == "same_province"    # 忻府区 → 太原小店区
    assert zone(real, "140902", "110101") == "other_province"   # 忻府区 → 北京东城区
    assert zone(real, "110101", "110105") == "same_city"        # a municipality is its own city


# -- the tariff file ---------------------------------------------------------------------------------------

def test_the_shipped_tariff_prices_every_zone_and_names_a_payer_for_every_kind_but_those_its_sender_pays():
    with postage.DEFAULT_FILE.open(encoding="utf-8") as f:
        shipped = parse_tariff(yaml.safe_load(f))
    assert set(shipped.rates) == set(ZONES)
    # a replacement is paid as the packet it replaces; a joint case's archive (transfer) by the step's office
    # that sends it
    assert set(shipped.payers) == {k.value for k in PacketKind} - {"replacement", "transfer"}
    # further away costs more, at every weight
    for grams in (100, 600, 2000):
        prices = [price(shipped, z, grams) for z in ZONES]
        assert prices == sorted(prices) and len(set(prices)) == 3


def test_the_shipped_tariff_names_only_materials_and_matters_the_catalogue_knows():
    with postage.DEFAULT_FILE.open(encoding="utf-8") as f:
        shipped = parse_tariff(yaml.safe_load(f))
    with (postage.DATA_DIR / "matters.yaml").open(encoding="utf-8") as f:
        matters = yaml.safe_load(f)
    codes = {m["code"] for matter in matters for m in matter["materials"]} | {"result"}
    assert set(shipped.originals) <= codes
    assert set(shipped.matter_payers) <= {matter["code"] for matter in matters}


def _file(**changes) -> dict:
    data = {"weights": {"envelope_grams": 50, "per_copy_grams": 10},
            "zones": {z: {"first_grams": 500, "first": "8.00", "step_grams": 500, "step": "2.00"} for z in ZONES},
            "payers": {"default": {"outbound": "collecting"}}}
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return data


def test_prices_in_yuan_become_whole_fen():
    tariff = parse_tariff(_file(zones__same_city={"first_grams": 300, "first": 12.5, "step_grams": 100,
                                                  "step": "0.35"}))
    assert tariff.rates["same_city"] == Rate(300, 1250, 100, 35)


@pytest.mark.parametrize("changes, words", [
    ({"zones__same_city": None}, "same_city"),
    ({"zones__nearby": {"first_grams": 1, "first": 1, "step_grams": 1, "step": 1}}, "nearby"),
    ({"zones__same_city": {"first_grams": 500, "first": "八元", "step_grams": 500, "step": 2}}, "zones.same_city.first"),
    ({"zones__same_city": {"first_grams": 500, "first": "8.001", "step_grams": 500, "step": 2}}, "fen"),
    ({"zones__same_city": {"first_grams": 500, "first": 8, "step_grams": 0, "step": 2}}, "step_grams"),
    ({"payers__default": {"outbound": "applicant"}}, "payers.default.outbound"),
    ({"payers__default": {"parcel": "owning"}}, "parcel"),
    ({"payers__matters": {"GA-HKQY-01": {"result": "window"}}}, "payers.matters.GA-HKQY-01.result"),
    ({"weights__originals": {"hukou_book": -5}}, "weights.originals.hukou_book"),
])
def test_a_tariff_that_cannot_be_priced_is_refused_naming_where(changes, words):
    data = _file(**changes)
    if changes.get("zones__same_city", 0) is None:
        del data["zones"]["same_city"]
    with pytest.raises(TariffError, match=words.replace(".", r"\.")):
        parse_tariff(data)


# -- the carrier's amount ----------------------------------------------------------------------------------

def test_the_carriers_amount_replaces_the_tariffs_and_keeps_the_payer():
    packet = SimpleNamespace(weight_grams=90, postage_cents=1000, postage_source="tariff", postage_payer="H140902")
    postage.charged_by_carrier(packet, 1480, 210)
    assert (packet.weight_grams, packet.postage_cents, packet.postage_source, packet.postage_payer) == \
        (210, 1480, "carrier", "H140902")
    postage.charged_by_carrier(packet, 1500)  # no weight in the answer: the last one stays
    assert (packet.weight_grams, packet.postage_cents) == (210, 1500)


@pytest.mark.parametrize("cents, grams", [(-1, None), (12.5, None), ("15", None), (True, None), (100, 0)])
def test_a_carrier_amount_that_is_not_one_is_refused(cents, grams):
    packet = SimpleNamespace(weight_grams=90, postage_cents=1000, postage_source="tariff")
    with pytest.raises(ValueError):
        postage.charged_by_carrier(packet, cents, grams)
    assert packet.postage_source == "tariff"


# -- the statement's month and the statistics' tables -------------------------------------------------------

def test_the_month_is_read_as_its_beijing_calendar_days_and_this_month_by_default():
    assert reads.parse_month("2026-02", date(2026, 3, 5)) == st.Period(date(2026, 2, 1), date(2026, 2, 28))
    assert reads.parse_month("2026-12", date(2026, 3, 5)) == st.Period(date(2026, 12, 1), date(2026, 12, 31))
    assert reads.parse_month("", date(2026, 3, 5)) == st.Period(date(2026, 3, 1), date(2026, 3, 31))


@pytest.mark.parametrize("text", ["2026-13", "2026-3", "03/2026", "2026-00", "1999-01"])
def test_a_month_that_is_not_one_is_refused_with_the_field_named(text):
    with pytest.raises(Refused) as e:
        reads.parse_month(text, date(2026, 3, 5))
    assert e.value.field == "month" and "年-月" in e.value.message


def test_postage_is_summed_per_paying_office_and_per_matter_with_the_carriers_share():
    found = [reads.Charge("H1", "M1", "outbound", 1000, "tariff"),
             reads.Charge("H1", "M2", "supplement", 800, "carrier"),
             reads.Charge("D1", "M1", "result", 1500, "tariff")]
    tables = reads.postage_tables(found, st.Names({"H1": "甲窗口", "D1": "乙部门"}, {"M1": "事项一", "M2": "事项二"}))
    assert tables["postage_office"].rows == [
        ["甲窗口", "H1", 2, Decimal("18.00"), Decimal("8.00")], ["乙部门", "D1", 1, Decimal("15.00"), Decimal("0.00")],
        ["合计", "", 3, Decimal("33.00"), Decimal("8.00")]]
    assert tables["postage_matter"].rows[0] == ["事项一", "M1", 2, Decimal("25.00"), Decimal("0.00")]
    rows = list(csv.reader(io.StringIO(st.to_csv(tables["postage_office"]).decode("utf-8-sig"))))
    assert rows[1] == ["甲窗口", "H1", "2", "18.00", "8.00"]


def test_no_postage_makes_empty_tables_without_a_total_row():
    tables = reads.postage_tables([], st.Names({}, {}))
    assert tables["postage_office"].rows == [] and tables["postage_matter"].rows == []
