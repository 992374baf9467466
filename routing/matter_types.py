"""The kinds of matter (事项类型) and the rules each kind brings: whether silence counts as acceptance,
whether the decision period may be extended, what a refusal is called and which remedy it names.

The catalogue (config/data/matters.yaml) gives every matter its `type` and `legal_basis`; the law behind
each rule is named next to it. Plain rules: imports nothing but the standard library.
"""
from __future__ import annotations

PERMIT, NOTARIZATION, CONFIRMATION, PUBLIC_SERVICE = "permit", "notarization", "confirmation", "public_service"
TYPE_TITLES = {PERMIT: "行政许可", NOTARIZATION: "公证", CONFIRMATION: "行政确认", PUBLIC_SERVICE: "公共服务"}

LICENSING_LAW = "《中华人民共和国行政许可法》"
NOTARY_RULES = "《中华人民共和国公证法》《公证程序规则》"
MAX_EXTENSION_DAYS = 10  # 行政许可法 art. 42: once, up to ten working days, approved by the office head


def type_title(kind: str) -> str:
    return TYPE_TITLES.get(kind, kind)


def deems_acceptance(kind: str) -> bool:
    """行政许可法 art. 32: a permit application with no supplement notice within five working days counts
    as accepted from receipt. No other kind of matter is accepted by silence."""
    return kind == PERMIT


def may_extend(kind: str) -> bool:
    """行政许可法 art. 42 allows one extension; the other kinds keep their promised limits."""
    return kind == PERMIT


def acceptance_basis(kind: str, legal_basis: str) -> str:
    """The law an acceptance (受理) is made under, as the 受理通知书 cites it."""
    if kind == PERMIT:
        return f"{LICENSING_LAW}第三十二条"
    if kind == NOTARIZATION:
        return "《公证程序规则》"
    return legal_basis or "有关规定"


# a refusal by kind: (the decision notice's title, what the office decides)
REFUSALS = {PERMIT: ("不予许可决定书", "不予行政许可"), NOTARIZATION: ("不予办理公证决定书", "不予办理公证"),
            CONFIRMATION: ("不予确认决定书", "不予确认"), PUBLIC_SERVICE: ("不予办理决定书", "不予办理")}


def refusal_title(kind: str) -> str:
    """The decision notice of a refusal: 不予许可决定书 for a permit, a fitting title for the others."""
    return REFUSALS.get(kind, REFUSALS[PUBLIC_SERVICE])[0]


def refusal_words(kind: str) -> str:
    """不予行政许可, 不予办理公证 …: the refusal as the notice and the pages say it."""
    return REFUSALS.get(kind, REFUSALS[PUBLIC_SERVICE])[1]


def refusal_basis(kind: str, legal_basis: str) -> str:
    """The law a refusal is decided under: the matter's own basis (a permit's names 行政许可法)."""
    return legal_basis or {PERMIT: LICENSING_LAW, NOTARIZATION: NOTARY_RULES}.get(kind, "有关法律法规")


def remedies(kind: str, legal_basis: str, *, document: str = "本决定书") -> str:
    """What the applicant may do against a refusal: 行政复议 or 行政诉讼 for a permit (行政复议法 art. 20:
    60 days; 行政诉讼法 art. 46: six months), 复查 for a notarization (公证法 art. 39 and 公证程序规则),
    and for the others the remedy under the law the matter is decided by."""
    if kind == PERMIT:
        return (f"如不服本决定，可以自收到{document}之日起六十日内依法申请行政复议，"
                f"或者自收到{document}之日起六个月内依法向人民法院提起行政诉讼。")
    if kind == NOTARIZATION:
        return ("如对本决定有异议，可以依照《中华人民共和国公证法》第三十九条和《公证程序规则》的规定，"
                "向本公证机构申请复查；对复查结果仍有异议的，可以向地方公证协会投诉。")
    basis = legal_basis or "有关法律法规"
    return (f"本事项依照{basis}办理。如对本决定有异议，可以向本机构申请复核；认为本决定侵犯你的合法权益的，"
            f"可以自收到{document}之日起六十日内依法申请行政复议，或者六个月内依法向人民法院提起行政诉讼。")
