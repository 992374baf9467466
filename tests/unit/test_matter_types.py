"""The rules each kind of matter brings (routing.matter_types), and the catalogue's use of them (issue 13 §2)."""
from __future__ import annotations

import pytest
import yaml

from config.settings import DATA_DIR
from routing.matter_types import (TYPE_TITLES, acceptance_basis, deems_acceptance, may_extend, refusal_title,
                                  refusal_words, remedies)

KINDS = ["permit", "notarization", "confirmation", "public_service"]


@pytest.fixture(scope="module")
def matters() -> list[dict]:
    with (DATA_DIR / "matters.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_the_four_kinds_have_their_chinese_names():
    assert TYPE_TITLES == {"permit": "行政许可", "notarization": "公证", "confirmation": "行政确认",
                           "public_service": "公共服务"}


@pytest.mark.parametrize("kind", KINDS)
def test_only_a_permit_is_accepted_by_silence_and_may_be_extended(kind):
    # 行政许可法 art. 32 and 42 are the permit's; 公证 and the others keep their promised limits
    assert deems_acceptance(kind) is (kind == "permit")
    assert may_extend(kind) is (kind == "permit")


def test_a_refused_permit_names_administrative_review_within_sixty_days_and_a_lawsuit_within_six_months():
    text = remedies("permit", "《中华人民共和国行政许可法》《排污许可管理条例》")
    assert "六十日内依法申请行政复议" in text and "六个月内依法向人民法院提起行政诉讼" in text
    assert (refusal_title("permit"), refusal_words("permit")) == ("不予许可决定书", "不予行政许可")
    assert acceptance_basis("permit", "") == "《中华人民共和国行政许可法》第三十二条"


def test_a_refused_notarization_names_review_by_the_notary_office_under_the_notarization_law():
    text = remedies("notarization", "《中华人民共和国公证法》《公证程序规则》")
    assert "复查" in text and "《中华人民共和国公证法》第三十九条" in text and "行政诉讼" not in text
    assert (refusal_title("notarization"), refusal_words("notarization")) == ("不予办理公证决定书", "不予办理公证")
    assert acceptance_basis("notarization", "") == "《公证程序规则》"


@pytest.mark.parametrize("kind", ["confirmation", "public_service"])
def test_the_other_kinds_cite_their_own_basis(kind):
    basis = "《住房公积金管理条例》"
    assert basis in remedies(kind, basis) and acceptance_basis(kind, basis) == basis
    assert "许可" not in refusal_title(kind) + refusal_words(kind)


def test_the_document_a_remedy_counts_from_is_named():
    assert "自收到本告知书之日起六十日内" in remedies("permit", "", document="本告知书")


def test_every_matter_in_the_catalogue_has_a_kind_and_a_legal_basis(matters):
    for m in matters:
        assert m["type"] in KINDS, m["code"]
        assert m["legal_basis"].startswith("《") and m["legal_basis"].endswith("》") or "〔" in m["legal_basis"], m
    kinds = {m["code"]: m["type"] for m in matters}
    assert {kinds[c] for c in kinds if c.startswith("GZ-")} == {"notarization"}
    assert {kinds[c] for c in kinds if c.startswith(("GA-HKQY", "HB-", "SJ-"))} == {"permit"}
    assert {kinds[c] for c in kinds if c.startswith("BDC-")} == {"confirmation"}
    for m in matters:
        if m["type"] == "permit":
            assert "《中华人民共和国行政许可法》" in m["legal_basis"], m["code"]
        if m["type"] == "notarization":
            assert m["legal_basis"] == "《中华人民共和国公证法》《公证程序规则》", m["code"]
