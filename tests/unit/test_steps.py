"""多地联办: a matter's steps as the catalogue declares them (routing.steps), and the shipped joint matters."""
from __future__ import annotations

import pytest
import yaml

from config.settings import DATA_DIR
from routing.steps import OWNERS, StepError, chain_days, finish_days, last_steps, paper_inputs, parse_steps, startable

MOVE = [{"code": "approve", "name": "准予迁入审批", "place": "迁入地", "owner": "subject", "promised_days": 5,
         "produces": [{"code": "move_permit", "name": "准予迁入证明"}]},
        {"code": "move_out", "name": "办理迁出登记", "place": "迁出地", "owner": "household", "promised_days": 3,
         "after": ["approve"], "takes": ["approve.move_permit"],
         "produces": [{"code": "cert", "name": "户口迁移证"},
                      {"code": "archive", "name": "户籍档案", "kind": "archive", "travels": "paper"}]},
        {"code": "settle", "name": "落户登记", "place": "迁入地", "owner": "subject", "promised_days": 2,
         "after": ["move_out"], "takes": ["move_out.cert", "move_out.archive"]}]
SIDE_BY_SIDE = [{"code": "review", "name": "审核", "owner": "subject", "promised_days": 15},
                {"code": "certificate", "name": "出具凭证", "owner": "origin", "promised_days": 10},
                {"code": "continue", "name": "接续", "owner": "subject", "promised_days": 15,
                 "after": ["review", "certificate"]}]


def steps(raw):
    return parse_steps(raw, department="GA", level="county")


def test_a_chain_promises_the_sum_of_its_steps_and_side_by_side_steps_the_longer_one():
    assert chain_days(steps(MOVE)) == 10
    assert finish_days(steps(SIDE_BY_SIDE)) == {"review": 15, "certificate": 10, "continue": 30}
    assert chain_days(steps(SIDE_BY_SIDE)) == 30
    assert chain_days(()) == 0


def test_steps_start_when_everything_before_them_is_done():
    found = steps(SIDE_BY_SIDE)
    assert [s.code for s in startable(found, done=set(), started=set())] == ["review", "certificate"]
    assert startable(found, done={"review"}, started={"review", "certificate"}) == []
    assert [s.code for s in startable(found, done={"review", "certificate"}, started={"review", "certificate"})] \
        == ["continue"]
    assert last_steps(found) == {"continue"}


def test_a_step_waits_for_the_paper_an_earlier_step_sends():
    found = steps(MOVE)
    by_code = {s.code: s for s in found}
    assert [(source, o.code) for source, o in paper_inputs(found, by_code["settle"])] == [("move_out", "archive")]
    assert paper_inputs(found, by_code["move_out"]) == []


@pytest.mark.parametrize("broken, said", [
    ([{**MOVE[0], "owner": "anywhere"}], "owner"),
    ([MOVE[1]], "follows a step not listed before it"),
    ([MOVE[0], {**MOVE[1], "takes": ["approve.nothing"]}], "no earlier step produces"),
    ([{**MOVE[0], "promised_days": 0}], "at least 1"),
    ([{**MOVE[0], "produces": [{"code": "x", "name": "x", "travels": "pigeon"}]}], "travels"),
])
def test_steps_that_cannot_run_are_refused_with_the_reason(broken, said):
    with pytest.raises(StepError, match=said):
        steps(broken)


def test_every_shipped_joint_matter_runs_to_one_decision():
    with (DATA_DIR / "matters.yaml").open(encoding="utf-8") as f:
        catalogue = yaml.safe_load(f)
    joint = {m["code"]: m for m in catalogue if m.get("steps")}
    # the three kinds: 户口迁移 (all five), 养老保险关系转移接续, 企业住所跨县区迁移登记
    assert {"GA-HKQY-01", "GA-HKQY-02", "GA-HKQY-03", "GA-HKQY-04", "GA-HKQY-05", "RS-YLZY-01",
            "SJ-ZSQY-01"} <= set(joint)
    for code, m in joint.items():
        found = parse_steps(m["steps"], department=m["department"], level=m["level"])
        assert "joint" in m["modes"], code
        assert len(last_steps(found)) == 1, code  # one office decides the case
        assert all(s.legal_basis and s.place and s.owner in OWNERS for s in found), code
        materials = {x["code"] for x in m["materials"]}
        assert all("." in need or need in materials for s in found for need in s.takes), code
        assert len({s.owner for s in found}) > 1, code  # more than one place
    # side by side where the law lets them: the pension's review and certificate start together
    pension = parse_steps(joint["RS-YLZY-01"]["steps"], department="RS", level="city")
    assert [s.code for s in startable(pension, set(), set())] == ["review", "certificate"]
