"""What the printed documents are made of, checked without drawing a page: wrapped and fitted text,
Code 128 module patterns, QR matrices and the ZPL label (no database, no rasterising)."""
from __future__ import annotations

import re
from datetime import date

import pytest

from labels.barcodes import QUIET_MODULES, code128_modules, code128_width_modules, qr_matrix, runs
from labels.fonts import register
from labels.label import SIGN_NAME, SIGN_NOTE, SIGN_TIME
from labels.pdf import fit, width, wrap
from labels.specs import LabelSpec, Party
from labels.zpl import DEFAULT_FONT, label_zpl

CODE128_STARTS = {"A": "11010000100", "B": "11010010000", "C": "11010011100"}
CODE128_STOP = "1100011101011"
SIZE = 10


@pytest.fixture(scope="module", autouse=True)
def font():
    """Widths are measured in the embedded face: register it once (tens of milliseconds)."""
    return register()


def spec(**changes) -> LabelSpec:
    values = dict(
        tracking_no="EA123456785CN", kind_title="申请材料", sort_code="110105", hub_code="P110100",
        destination="北京市朝阳区政务服务中心",
        recipient=Party("北京市朝阳区政务服务中心", "北京市朝阳区朝阳路1号", "010-65090001", "100020"),
        sender=Party("忻州市忻府区政务服务中心", "山西省忻州市忻府区和平街8号", "0350-3030001", "034000"),
        pieces=3, case_no="140902-20261129-0007",
        track_url="https://tongban.example.cn/track/EA123456785CN", created=date(2026, 11, 29))
    values.update(changes)
    return LabelSpec(**values)


def cols(n: int, ch: str = "中") -> float:
    """The width of n copies of a character at SIZE."""
    return width(ch * n, SIZE)


# ---------------------------------------------------------------------------------------------
# wrap
# ---------------------------------------------------------------------------------------------
def test_chinese_text_breaks_between_any_two_characters():
    assert wrap("中华人民共和国政务服务", cols(5), SIZE) == ["中华人民共", "和国政务服", "务"]


def test_text_that_fits_stays_on_one_line():
    assert wrap("北京市朝阳区", cols(20), SIZE) == ["北京市朝阳区"]


def test_latin_words_are_kept_whole_where_they_fit():
    s = "Building five Chaoyang Road District"
    lines = wrap(s, width("Chaoyang Road", SIZE) + 1, SIZE)
    assert len(lines) > 1
    assert " ".join(lines) == s, "every break falls on a space, which is dropped"
    assert all(line.split() and set(line.split()) <= set(s.split()) for line in lines)


def test_a_latin_word_longer_than_the_line_is_broken_inside_it():
    s = "Supercalifragilisticexpialidocious"
    max_width = width("Supercalifr", SIZE) + 0.5
    lines = wrap(s, max_width, SIZE)
    assert len(lines) > 1
    assert "".join(lines) == s
    assert all(width(line, SIZE) <= max_width for line in lines)


def test_mixed_chinese_and_latin_keeps_the_latin_words_whole():
    s = "北京市 Chaoyang District 朝阳路 Building 5"
    lines = wrap(s, width("District 朝阳", SIZE) + 0.5, SIZE)
    words = {w for line in lines for w in line.split()}
    assert {"Chaoyang", "Building"} <= words
    assert "".join(s.split()) == "".join("".join(lines).split())


def test_a_newline_starts_a_new_line_and_blank_lines_are_kept():
    assert wrap("ab\ncd", cols(20), SIZE) == ["ab", "cd"]
    assert wrap("ab\n\ncd", cols(20), SIZE) == ["ab", "", "cd"]


def test_no_line_ever_holds_a_newline():
    for s in ("第一行\n第二行\n第三行", "a\nb\nc\nd", "很长的一行文字需要折行\n短行"):
        for max_lines in (1, 2, 99):
            lines = wrap(s, cols(4), SIZE, max_lines)
            assert not any("\n" in line for line in lines), \
                f"BUG labels.pdf.wrap: the '…' line keeps a raw newline: wrap({s!r}, max_lines={max_lines}) -> {lines!r}"


def test_the_empty_string_gives_one_empty_line():
    assert wrap("", cols(5), SIZE) == [""]


@pytest.mark.parametrize("s", [
    "中华人民共和国政务服务中华人民共和国政务服务",
    "北京市朝阳区朝阳路1号院2号楼（邮编 100020）",
    "Building five, Chaoyang Road, Beijing 100020",
    "山西省忻州市忻府区 Heping Street No. 8 和平街八号",
    "第一行\n第二行很长很长很长很长很长\n\n第四行",
])
@pytest.mark.parametrize("n", [3, 6, 11])
def test_no_line_is_wider_than_the_width(s, n):
    max_width = cols(n)
    lines = wrap(s, max_width, SIZE)
    assert all(width(line, SIZE) <= max_width for line in lines), [(line, width(line, SIZE)) for line in lines]


def test_a_line_broken_at_a_space_is_not_wider_than_the_width_when_a_wide_character_follows():
    """After a break at a space the carried-over word and the next character must still fit."""
    for s, head in (("i abcdef中", "i abcdef"), ("i abcdefgW", "i abcdefg")):
        max_width = width(head, SIZE) + 0.5   # the head fits, the next character does not
        lines = wrap(s, max_width, SIZE)
        too_wide = [(line, round(width(line, SIZE), 2)) for line in lines if width(line, SIZE) > max_width]
        assert not too_wide, (f"BUG labels.pdf.wrap: after breaking at a space the tail word plus the overflowing "
                              f"character is not re-measured, so wrap({s!r}, {max_width:.2f}) -> {lines!r} has "
                              f"lines wider than the width: {too_wide}")


@pytest.mark.parametrize("max_lines", [1, 2, 3])
def test_max_lines_cuts_with_an_ellipsis_that_stays_within_the_width(max_lines):
    s = "广东省深圳市南山区粤海街道科技园社区科苑南路三千零九十九号中国储能大厦东塔楼"
    max_width = cols(6)
    lines = wrap(s, max_width, SIZE, max_lines)
    assert len(lines) == max_lines
    assert lines[-1].endswith("…")
    assert all(width(line, SIZE) <= max_width for line in lines)
    assert s.startswith("".join(lines)[:-1]), "what is printed is the start of the text, in order"


def test_max_lines_adds_no_ellipsis_when_everything_fits():
    lines = wrap("中华人民共和国政务", cols(5), SIZE, 2)
    assert lines == ["中华人民共", "和国政务"]
    assert not any("…" in line for line in lines)


def test_max_lines_with_latin_text_ends_with_an_ellipsis_within_the_width():
    max_width = width("Chaoyang Road", SIZE)
    lines = wrap("Building five Chaoyang Road District Beijing China", max_width, SIZE, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(width(line, SIZE) <= max_width for line in lines)


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
def test_fit_keeps_the_size_when_the_text_fits():
    assert fit("政务专递", cols(10), 12) == 12


def test_fit_shrinks_until_the_text_fits():
    s = "北京市朝阳区政务服务中心"
    size = fit(s, 60, 20)
    assert size < 20
    assert width(s, size) <= 60 + 1e-6
    assert width(s, size) == pytest.approx(60, rel=1e-3), "the largest size that fits, not just any"


@pytest.mark.parametrize("max_width", [1, 10, 40, 100, 400, 4000])
def test_fit_never_goes_above_the_given_size_nor_below_min_size(max_width):
    size = fit("北京市朝阳区政务服务中心 Beijing", max_width, 14, 6)
    assert 6 <= size <= 14


def test_fit_gives_min_size_when_nothing_fits():
    assert fit("北京市朝阳区政务服务中心", 5, 14, 6) == 6
    assert fit("北京市朝阳区政务服务中心", 5, 14) == 5, "the default floor is 5 pt"


def test_fit_of_the_empty_string_is_the_given_size():
    assert fit("", 10, 14) == 14


# ---------------------------------------------------------------------------------------------
# Code 128
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["EA123456785CN", "140902-20261129-0007", "M140902-20261129-01", "1234", "a"])
def test_the_code128_pattern_has_a_start_pattern_data_check_and_the_stop_pattern(data):
    pattern = code128_modules(data)
    assert set(pattern) <= {"0", "1"}
    assert pattern[:11] in CODE128_STARTS.values()
    assert pattern.endswith(CODE128_STOP)
    assert (len(pattern) - len(CODE128_STOP)) % 11 == 0, "start, data and check symbols are 11 modules each"
    assert len(pattern) >= 11 * 3 + 13, "start, at least one data symbol, check and stop"


def test_the_code128_width_counts_both_quiet_zones():
    data = "EA123456785CN"
    assert code128_width_modules(data) == len(code128_modules(data)) + 2 * QUIET_MODULES
    assert QUIET_MODULES >= 10


@pytest.mark.parametrize("data", ["EA123456785CN", "140902-20261129-0007"])
def test_the_runs_cover_exactly_the_dark_modules_of_a_code128(data):
    pattern = code128_modules(data)
    drawn = ["0"] * len(pattern)
    for start, length in runs(pattern):
        assert length > 0
        for i in range(start, start + length):
            assert drawn[i] == "0", "runs never overlap"
            drawn[i] = "1"
    assert "".join(drawn) == pattern


def test_runs_are_maximal_and_in_order():
    assert runs("0110111") == [(1, 2), (4, 3)]
    assert runs("1") == [(0, 1)]
    assert runs("111") == [(0, 3)]
    assert runs("000") == []
    assert runs("") == []


def test_runs_read_bits_as_strings_ints_or_booleans():
    assert runs([1, 0, 1, 1]) == runs([True, False, True, True]) == runs("1011") == [(0, 1), (2, 2)]


# ---------------------------------------------------------------------------------------------
# QR
# ---------------------------------------------------------------------------------------------
FINDER = ["1111111", "1000001", "1011101", "1011101", "1011101", "1000001", "1111111"]


def _block(matrix, top: int, left: int) -> list[str]:
    return ["".join(str(b) for b in matrix[r][left:left + 7]) for r in range(top, top + 7)]


@pytest.mark.parametrize("data", ["1", "EA", "https://tongban.example.cn/track/EA123456785CN",
                                  "https://tongban.example.cn/track/140902-20261129-0007?utm=x" * 3])
def test_the_qr_matrix_is_a_square_full_qr_code_never_a_micro_qr(data):
    matrix = qr_matrix(data)
    n = len(matrix)
    assert all(len(row) == n for row in matrix)
    assert n >= 21, "a Micro QR (11 to 17 modules a side) cannot be read by common scanners"
    assert (n - 17) % 4 == 0, "a QR version: 21, 25, 29, … modules a side"
    assert {b for row in matrix for b in row} <= {0, 1}


@pytest.mark.parametrize("data", ["1", "https://tongban.example.cn/track/EA123456785CN"])
def test_the_qr_matrix_has_finder_patterns_in_three_corners(data):
    matrix = qr_matrix(data)
    n = len(matrix)
    assert _block(matrix, 0, 0) == FINDER
    assert _block(matrix, 0, n - 7) == FINDER
    assert _block(matrix, n - 7, 0) == FINDER
    assert _block(matrix, n - 7, n - 7) != FINDER, "the fourth corner has none"
    # a light separator around each finder
    assert all(matrix[7][c] == 0 for c in range(8)) and all(matrix[r][7] == 0 for r in range(8))


# ---------------------------------------------------------------------------------------------
# ZPL
# ---------------------------------------------------------------------------------------------
def _fields(zpl: str) -> list[tuple[str, str]]:
    """(the commands before ^FD, the field data) of each field."""
    return re.findall(r"\^FO\d+,\d+(.*?)\^FD(.*?)\^FS", zpl)


def _text_fields(zpl: str) -> list[str]:
    return [data for head, data in _fields(zpl) if "^FH_" in head]


def _unhex(data: str) -> str:
    return re.sub(rb"_([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  data.encode()).decode("utf-8")


def test_the_zpl_label_is_one_format_in_utf8_for_a_100x150_label_at_203_dpi():
    zpl = label_zpl(spec())
    assert zpl.startswith("^XA")
    assert zpl.strip().endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    assert "^CI28" in zpl
    assert "^PW800" in zpl and "^LL1200" in zpl


def test_every_zpl_field_lies_on_the_label():
    for x, y in re.findall(r"\^FO(\d+),(\d+)", label_zpl(spec())):
        assert 0 <= int(x) < 800 and 0 <= int(y) < 1200


def test_the_zpl_code128_carries_the_tracking_number():
    zpl = label_zpl(spec())
    assert re.findall(r"\^BC[^\^]*\^FD([^\^]*)\^FS", zpl) == ["EA123456785CN"]


def test_the_zpl_qr_code_carries_the_tracking_url():
    zpl = label_zpl(spec())
    qr = re.findall(r"\^BQ[^\^]*\^FH_\^FD([^\^]*)\^FS", zpl)
    assert len(qr) == 1
    assert "https://tongban.example.cn/track/EA123456785CN" in qr[0]


def test_a_tilde_in_the_public_url_never_reaches_the_printer_raw():
    zpl = label_zpl(spec(track_url="https://example.cn/~tongban/track/EA123456785CN"))
    qr = re.findall(r"\^BQ[^\^]*\^FH_\^FD([^\^]*)\^FS", zpl)
    assert qr == ["MA,https://example.cn/_7Etongban/track/EA123456785CN"]


def test_the_zpl_text_uses_the_font_given():
    zpl = label_zpl(spec(), font="E:NOTOSANSSC.TTF")
    fonts = re.findall(r"\^A@N,\d+,\d+,([^\^]+)", zpl)
    assert fonts and set(fonts) == {"E:NOTOSANSSC.TTF"}
    assert DEFAULT_FONT not in zpl


def test_the_zpl_default_font_is_a_truetype_file_on_the_printer():
    fonts = set(re.findall(r"\^A@N,\d+,\d+,([^\^]+)", label_zpl(spec())))
    assert fonts == {DEFAULT_FONT}


def test_carets_tildes_and_underscores_in_an_address_never_reach_the_printer_raw():
    zpl = label_zpl(spec(recipient=Party("北京市朝阳区政务服务中心", "朝阳路A^B~C_D号", "010-65090001"),
                         sender=Party("忻州市^XZ~JA中心", "和平街_8号^FS", "0350-3030001")))
    texts = _text_fields(zpl)
    assert texts
    for data in texts:
        assert "^" not in data and "~" not in data, data
        assert re.fullmatch(r"(?:[^_]|_[0-9A-F]{2})*", data), f"an underscore only starts a hex escape: {data!r}"
    readable = [_unhex(t) for t in texts]
    assert "朝阳路A^B~C_D号" in readable
    assert "忻州市^XZ~JA中心  0350-3030001" in readable
    assert "和平街_8号^FS" in readable
    assert zpl.count("^XZ") == 1 and "~JA" not in zpl


def test_every_text_field_is_hex_escaped():
    zpl = label_zpl(spec())
    for head, _ in _fields(zpl):
        if "^A@" in head:
            assert "^FH_" in head, head


def test_the_zpl_label_shows_every_zone():
    s = spec(pieces=4)
    readable = [_unhex(t) for t in _text_fields(label_zpl(s))]
    everything = "\n".join(readable)
    for expected in ("政务专递", "申请材料", "2026-11-29", "通办寄递", "EA123456785CN", "110105", "P110100",
                     "北京市朝阳区政务服务中心", "收", "寄", "北京市朝阳区朝阳路1号", "010-65090001",
                     "忻州市忻府区政务服务中心", "山西省忻州市忻府区和平街8号", "0350-3030001",
                     "140902-20261129-0007", SIGN_NAME, SIGN_TIME, SIGN_NOTE):
        assert expected in everything, expected
    assert any("政务服务材料 4 件" in t for t in readable)
    assert s.sort_code in readable and s.hub_code in readable

