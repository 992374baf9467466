"""Verification codes of electronic results (电子证照验证码): a third party types the code printed with a
result on a public page and learns whether the result is valid or revoked, and nothing about the person.

16 characters from an alphabet without the look-alikes 0/O and 1/I (L stays: with no 1 beside it, it
cannot be misread), written in groups of four. 80 random bits: guessing a code is hopeless, and the
public look-up is rate-limited besides.
"""
from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 characters: 5 bits each
LENGTH = 16
GROUP = 4
# what people type between the groups (spaces, hyphens of every width, dots)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−.·]+")


def new_code() -> str:
    """A fresh code, ungrouped (as stored)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def grouped(code: str) -> str:
    """ABCD-EFGH-JKLM-NPQR: how the code is printed and said."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def normalised(typed: str | None) -> str | None:
    """The stored form of a code as someone typed it (full-width, lower case, grouped or not, O for 0 is
    not guessed at), or None when it cannot be a code at all."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed or "")).upper()
    if len(text) != LENGTH or any(c not in ALPHABET for c in text):
        return None
    return text


def masked_case_no(case_no: str) -> str:
    """A case number as a verifier may see it: the collecting division (public) and the last two digits,
    the day and the rest of the sequence hidden (140902-********-**08)."""
    head, _, rest = case_no.partition("-")
    hidden = re.sub(r"[0-9A-Za-z]", "*", rest[:-2]) + rest[-2:]
    return f"{head}-{hidden}" if rest else case_no
