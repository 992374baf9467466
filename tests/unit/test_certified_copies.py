"""核验原件 at intake, as the parser reads it: a copy certified against its original stands in for a
required original only where the catalogue says `certified_copy`."""
from __future__ import annotations

import pytest

from routing.tables import Matter
from tests.helpers import intake_body
from tracking.commands.intake import CaseIntake
from tracking.model.inputs import Invalid, parse

NOTARY = Matter(code="GZ-XLGZ-01", name="学历公证", department="GZ", level="city", modes=["proxy"],
                jurisdiction="household", applicant_kinds=["person"], legal_days=15, promised_days=5,
                result_types=["paper"], materials=[
                    {"code": "application_form", "name": "公证申请表", "original": True, "required": True,
                     "kept": True},
                    {"code": "diploma", "name": "毕业证书", "original": True, "required": True,
                     "certified_copy": True},
                    {"code": "id_card", "name": "居民身份证", "original": False, "required": False}])
CONTEXT = {"matter": lambda code: NOTARY if code == NOTARY.code else None,
           "divisions": lambda code: [code], "beyond_reach": lambda code: False}


def command(*materials: dict) -> CaseIntake:
    return parse(CaseIntake, intake_body(matter_code=NOTARY.code, materials=list(materials),
                                         result_delivery={"method": "pickup"}), context=CONTEXT)


FORM = {"code": "application_form", "copies": 1, "original": True}


def test_a_certified_copy_stands_in_for_an_original_the_catalogue_lets_it_replace():
    cmd = command(FORM, {"code": "diploma", "original": False, "certified": True})
    assert cmd.received(NOTARY) == [
        {"code": "application_form", "name": "公证申请表", "copies": 1, "original": True},
        {"code": "diploma", "name": "毕业证书", "copies": 1, "original": False, "certified": True}]


def test_a_plain_copy_of_the_same_original_is_still_missing_it():
    with pytest.raises(Invalid) as refused:
        command(FORM, {"code": "diploma", "original": False})
    assert refused.value.errors[0].code == "missing_material" and "毕业证书（原件）" in refused.value.errors[0].message


def test_a_certified_copy_of_an_original_the_catalogue_does_not_let_it_replace_is_missing_it():
    with pytest.raises(Invalid) as refused:
        command({**FORM, "original": False, "certified": True}, {"code": "diploma", "original": True})
    assert [e.code for e in refused.value.errors] == ["missing_material"]


def test_a_certified_copy_of_a_material_asked_for_as_a_copy_is_refused_by_name():
    with pytest.raises(Invalid) as refused:
        command(FORM, {"code": "diploma", "original": True}, {"code": "id_card", "certified": True})
    assert [(e.field, e.code) for e in refused.value.errors] == [("materials[2].certified",
                                                                  "certified_copy_not_allowed")]
