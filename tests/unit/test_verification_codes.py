"""Verification codes of electronic results: unambiguous, grouped, forgiving of how people type them; and a
case number as a verifier sees it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tracking.model import verification
from tracking.model.links import LinkError, link_expiry, make_token, read_link


def test_a_code_has_sixteen_characters_none_of_them_a_look_alike():
    codes = {verification.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 16 and not set(code) & set("01IO")
        assert set(code) <= set(verification.ALPHABET)


def test_a_code_is_written_in_groups_of_four():
    assert verification.grouped("ABCDEFGHJKLMNPQR") == "ABCD-EFGH-JKLM-NPQR"


@pytest.mark.parametrize("typed", ["ABCD-EFGH-JKLM-NPQR", "abcd efgh jklm npqr", "ＡＢＣＤ－ＥＦＧＨ－ＪＫＬＭ－ＮＰＱＲ",
                                   " abcdefghjklmnpqr ", "ABCD—EFGH—JKLM—NPQR"])
def test_a_code_is_found_however_it_is_typed(typed):
    assert verification.normalised(typed) == "ABCDEFGHJKLMNPQR"


@pytest.mark.parametrize("typed", ["", None, "ABCD-EFGH-JKLM-NPQ", "ABCD-EFGH-JKLM-NPQRS", "ABCD-EFGH-JKLM-NPQ0",
                                   "ABCD/EFGH/JKLM/NPQR", "<script>"])
def test_what_cannot_be_a_code_is_nothing(typed):
    assert verification.normalised(typed) is None


def test_a_verifier_sees_the_division_and_the_last_two_digits_of_the_case_number():
    assert verification.masked_case_no("140902-20261206-0008") == "140902-********-**08"


def test_a_re_issued_expiry_replaces_the_one_counted_from_the_upload_and_the_token_names_it():
    stored = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)
    assert link_expiry(stored, None, 14) == stored + timedelta(days=14)
    later = datetime(2026, 4, 1, 2, 5, tzinfo=timezone.utc)
    assert link_expiry(stored, later, 14) == later
    token = make_token("secret", 7, later)
    assert read_link("secret", token, stored) == (7, later)
    with pytest.raises(LinkError):
        read_link("secret", token, later)
