"""Each installation loads only its own offices plus every province's gateway hub, and learns its peers'
offices from their signed directories (GET /api/v1/federation/directory, `federation directory sync`):
two real processes, 山西 and 北京, before and after the sync; then directories a peer must not be believed
for (a tampered body, offices outside the sender's divisions)."""
from __future__ import annotations

import base64
import json
import urllib.request
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import select

from config import clock
from config.database import new_session
from routing.tables import Office
from tests.e2e.test_federation_case_processes import APPLICANT, call, sign_in
from tests.helpers import intake_body
from tests.nodes import two_nodes
from tracking.federation import directory
from tracking.federation.envelope import sign
from tracking.federation.tables import Peer
from tracking.model.errors import Refused


@pytest.fixture(scope="module")
def pair(database_url, tmp_path_factory):
    with two_nodes(database_url, tmp_path_factory.mktemp("directory-nodes"), sync=False) as made:
        yield made


def offices(node, prefix: str) -> dict[str, Office]:
    with node.session() as session:
        rows = session.exec(select(Office).where(Office.division_code.startswith(prefix))).all()
        session.expunge_all()
        return {o.code: o for o in rows}


def fetched(node, asking: str) -> dict:
    with urllib.request.urlopen(f"{node.base_url}/api/v1/federation/directory?node={asking}", timeout=10) as answer:
        return json.loads(answer.read())


def signed_by(message: dict, public: str) -> bool:
    """Checked here from the documented rule, not with the project's own verify()."""
    unsigned = {k: v for k, v in message.items() if k != "signature"}
    data = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    pad = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
    try:
        Ed25519PublicKey.from_public_bytes(pad(public)).verify(pad(message["signature"]), data)
        return True
    except Exception:  # noqa: BLE001
        return False


def test_a_fresh_node_knows_only_its_own_offices_and_the_gateways_until_it_syncs(pair):
    shanxi, beijing = pair
    # before: 山西 holds its own offices and 北京's gateway hub, none of 北京's county offices (and the reverse)
    assert set(offices(shanxi, "11")) == {"P110000"}
    assert set(offices(beijing, "14")) == {"P140000"}
    assert len(offices(shanxi, "14")) > 50 and "P610000" in offices(shanxi, "61")
    # (no case is tried before the sync: a running server keeps its directory up to a minute, see routing.reference)

    # 北京's directory is signed with its published key and lists exactly its own offices
    published = fetched(beijing, "140000")
    assert published["type"] == "node.directory" and published["node"] == "110000" and published["to"] == "140000"
    assert signed_by(published, beijing.keys().signing_public)
    listed = {o["code"] for o in published["body"]["offices"]}
    assert listed == set(offices(beijing, "11")) and "D110105-GA" in listed

    out = shanxi.flask("federation", "directory", "sync").stdout
    assert "110000：新增机构" in out and "拒收 0" in out, out
    known = offices(shanxi, "11")
    assert set(known) == listed and known["D110105-GA"].name == "北京市公安局朝阳分局户政科" and known["D110105-GA"].active
    clerk = sign_in(shanxi, "xinfu-directory", "clerk", "H140902", "王敏")
    status, case = call(shanxi, "POST", "/api/v1/cases", intake_body(applicant=APPLICANT), clerk)
    assert status == 201 and case["owning_office"]["code"] == "D110105-GA", case
    # a second sync changes nothing
    assert "新增机构 0，更新 0，停用 0" in shanxi.flask("federation", "directory", "sync").stdout


def test_a_tampered_or_foreign_directory_is_refused(pair):
    shanxi, beijing = pair
    keys = beijing.keys()
    before_11, before_14 = offices(shanxi, "11"), offices(shanxi, "14")
    with new_session(shanxi.engine) as session:
        peer = session.get(Peer, "110000")
        settings = shanxi.settings()

        tampered = fetched(beijing, "140000")
        tampered["body"]["offices"][0]["name"] = "冒名机构"
        with pytest.raises(Refused) as refused:
            directory.apply(session, settings, peer, tampered, clock.now())
        assert refused.value.code == "bad_signature"

        stale = sign({**fetched(beijing, "140000"), "sent_at": clock.iso(clock.now() - timedelta(hours=1))},
                     keys.signing)
        with pytest.raises(Refused) as refused:
            directory.apply(session, settings, peer, stale, clock.now())
        assert refused.value.code == "stale_message"

        # signed by 北京 but claiming 山西's 忻州 window and a new office in 忻州: those refused, the rest loaded;
        # one office left out is deactivated
        message = fetched(beijing, "140000")
        own = message["body"]["offices"]
        dropped = next(o["code"] for o in own if o["kind"] == "hall")
        foreign = [{**own[0], "code": "H140902", "name": "假窗口", "division_code": "140902"},
                   {**own[0], "code": "H140902-X", "name": "假窗口二", "division_code": "140902"}]
        message["body"]["offices"] = [o for o in own if o["code"] != dropped] + foreign
        done = directory.apply(session, settings, peer, sign(message, keys.signing), clock.now())
        session.commit()
    assert sorted(done["refused"]) == ["H140902", "H140902-X"] and done["deactivated"] == 1
    after_14 = offices(shanxi, "14")
    assert set(after_14) == set(before_14) and after_14["H140902"].name == before_14["H140902"].name
    after_11 = offices(shanxi, "11")
    assert not after_11[dropped].active and all(after_11[c].active for c in before_11 if c != dropped)
