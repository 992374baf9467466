"""Code 128 and QR, drawn as vectors: sharp at any printer resolution and cheap to draw.

python-barcode's encoder gives the Code 128 module pattern; segno gives the QR matrix.
`segno.make_qr` (not `make`) so that no Micro QR comes out: common scanners cannot read those.
"""
from __future__ import annotations

import re
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


def draw_code128(canvas, x: float, y: float, width: float, height: float, data: str) -> float:
    """Bars filling `width` (quiet zones included) from (x, y) up; returns the module width used."""
    pattern = code128_modules(data)
    module = width / (len(pattern) + 2 * QUIET_MODULES)
    left = x + QUIET_MODULES * module
    path = canvas.beginPath()
    for start, length in runs(pattern):
        path.rect(left + start * module, y, length * module, height)
    canvas.drawPath(path, stroke=0, fill=1)
    return module


def draw_qr(canvas, x: float, y: float, size: float, data: str) -> None:
    """The QR symbol in a `size` square (quiet zone included) with its lower left corner at (x, y).

    Written as one PDF path in module units (integer coordinates, a rectangle per dark run of a
    row): a fifth of the cost of ~200 calls to reportlab's path API, and the same marks.
    """
    matrix = qr_matrix(data)
    n = len(matrix)
    module = size / (n + 2 * QR_QUIET_MODULES)
    origin_x, origin_y = x + QR_QUIET_MODULES * module, y + QR_QUIET_MODULES * module
    ops = [f"q 0 g {module:.4f} 0 0 {module:.4f} {origin_x:.3f} {origin_y:.3f} cm"]
    for r, row in enumerate(matrix):
        ops += [f"{run.start()} {n - 1 - r} {run.end() - run.start()} 1 re" for run in _DARK.finditer(row)]
    ops.append("f Q")
    canvas.addLiteral("\n".join(ops))


_DARK = re.compile(b"\x01+")
