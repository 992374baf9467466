"""The QR matrix from zxing-cpp's writer, read back by a decoder: the symbol is a full QR code at
error correction M with the fixed mask and holds exactly the text given (no PDF, no font)."""
from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image

from labels.barcodes import QR_EC_LEVEL, QR_MASK, QR_QUIET_MODULES, _runs_path, clear_qr_cache, qr_matrix

STRINGS = [
    "1",
    "EA123456785CN",
    "https://tongban.example.cn/track/EA123456785CN",
    "http://127.0.0.1:5000/track/140902-20261129-0007",
    "https://tongban.example.cn/track/140902-20261129-0007?from=label&copy=2",
    "https://政务.example.cn/track/EA123456785CN",
    "https://tongban.example.cn/track/" + "EA123456785CN" * 12,
]


def matrix_image(matrix, scale: int = 4) -> Image.Image:
    """The matrix as a scanner sees it: black modules on white, with the quiet zone."""
    n = len(matrix)
    side = n + 2 * QR_QUIET_MODULES
    img = Image.new("L", (side, side), 255)
    img.putdata([0 if 0 <= r - QR_QUIET_MODULES < n and 0 <= c - QR_QUIET_MODULES < n
                 and matrix[r - QR_QUIET_MODULES][c - QR_QUIET_MODULES] else 255
                 for r in range(side) for c in range(side)])
    return img.resize((side * scale, side * scale), Image.NEAREST)


@pytest.mark.parametrize("data", STRINGS)
def test_the_matrix_decodes_back_to_its_text_as_a_full_qr_code_at_level_m(data):
    [found] = zxingcpp.read_barcodes(matrix_image(qr_matrix(data)))
    assert found.text == data
    assert found.format == zxingcpp.BarcodeFormat.QRCode, "never a Micro QR"
    assert found.ec_level == QR_EC_LEVEL == "M"
    # the writer ignores options it does not know: read back that the fixed mask took
    assert found.extra["DataMask"] == QR_MASK


def test_the_matrix_is_the_smallest_version_that_holds_the_text():
    # a tracking URL fits version 3 (29 modules) at level M; segno chose the same
    assert len(qr_matrix("http://127.0.0.1:5000/track/EA100000001CN")) == 29
    assert len(qr_matrix("1")) == 21


def test_the_path_covers_exactly_the_dark_modules():
    matrix = qr_matrix(STRINGS[2])
    n = len(matrix)
    drawn = [[0] * n for _ in range(n)]
    for op in _runs_path(matrix).split("\n"):
        left, bottom, w, h, name = op.split()
        assert (name, h) == ("re", "1")
        for col in range(int(left), int(left) + int(w)):
            row = n - 1 - int(bottom)
            assert not drawn[row][col], "runs never overlap"
            drawn[row][col] = 1
    assert [bytes(r) for r in drawn] == list(matrix)


def test_clearing_the_cache_makes_the_same_symbol_again():
    before = qr_matrix(STRINGS[3])
    clear_qr_cache()
    assert qr_matrix.cache_info().currsize == 0
    assert qr_matrix(STRINGS[3]) == before
