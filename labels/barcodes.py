"""Code 128 and QR, drawn as vectors: sharp at any printer resolution and cheap to draw.

python-barcode's encoder gives the Code 128 module pattern; segno gives the QR matrix.
`segno.make_qr` (not `make`) so that no Micro QR comes out: common scanners cannot read those.
"""
from __future__ import annotations

from functools import lru_cache

import segno
from barcode import Code128

QUIET_MODULES = 10   # Code 128 quiet zone on each side, in modules
QR_QUIET_MODULES = 4
MASK = 2


@lru_cache(maxsize=4096)
def code128_modules(data: str) -> str:
    """The bar pattern: '1' a dark module, '0' a light one (start, data, check and stop)."""
    return Code128(data).build()[0]


def runs(pattern) -> list[tuple[int, int]]:
    """(start, length) of each dark run in a sequence of 0/1 (or '0'/'1')."""
    out, start = [], None
    for i, bit in enumerate(pattern):
        dark = bit == "1" or bit is True or bit == 1
        if dark and start is None:
            start = i
        elif not dark and start is not None:
            out.append((start, i - start))
            start = None
    if start is not None:
        out.append((start, len(pattern) - start))
    return out


@lru_cache(maxsize=2048)
def qr_matrix(data: str) -> tuple[bytes, ...]:
    """Rows of the QR symbol (error correction M), without the quiet zone, one byte a module.

    The mask is fixed: decoders read all eight, and segno's search for the best one costs
    four times the rest of the encoding. Mask 2 is the one that search picks most often for
    tracking URLs. Cached, as a label is often printed again (batch after single).
    """
    return tuple(bytes(row) for row in segno.make_qr(data, error="m", mask=MASK).matrix)


def code128_width_modules(data: str) -> int:
    return len(code128_modules(data)) + 2 * QUIET_MODULES


def _fill_runs(canvas, x: float, y: float, module_w: float, module_h: float, rows) -> None:
    """Fill the dark runs of `rows` (top row first; a dark module is b"\\x01") as one PDF path.

    Written in module units, so every coordinate is a small integer: a fifth of the cost of one
    call to reportlab's path API per rectangle, and the same marks on paper.
    """
    n = len(rows)
    ops = [f"q 0 g {module_w:.5f} 0 0 {module_h:.5f} {x:.3f} {y:.3f} cm"]
    for r, row in enumerate(rows):
        top, left = n - 1 - r, 0
        for run in row.split(b"\x00"):  # splitting in C beats a regex over the row
            if run:
                ops.append(f"{left} {top} {len(run)} 1 re")
            left += len(run) + 1
    ops.append("f Q")
    canvas.addLiteral("\n".join(ops))


@lru_cache(maxsize=4096)
def _code128_row(data: str) -> bytes:
    return code128_modules(data).encode().translate(_BITS)


_BITS = bytes.maketrans(b"01", b"\x00\x01")


def draw_code128(canvas, x: float, y: float, width: float, height: float, data: str) -> float:
    """Bars filling `width` (quiet zones included) from (x, y) up; returns the module width used."""
    row = _code128_row(data)
    module = width / (len(row) + 2 * QUIET_MODULES)
    _fill_runs(canvas, x + QUIET_MODULES * module, y, module, height, [row])
    return module


def draw_qr(canvas, x: float, y: float, size: float, data: str) -> None:
    """The QR symbol in a `size` square (quiet zone included) with its lower left corner at (x, y)."""
    matrix = qr_matrix(data)
    module = size / (len(matrix) + 2 * QR_QUIET_MODULES)
    quiet = QR_QUIET_MODULES * module
    _fill_runs(canvas, x + quiet, y + quiet, module, module, matrix)
