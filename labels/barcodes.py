"""Code 128 and QR, drawn as vectors: sharp at any printer resolution and cheap to draw.

python-barcode's encoder gives the Code 128 module pattern; zxing-cpp's writer (compiled) gives the
QR matrix: 0.03 ms a tracking URL with one fixed mask, where segno's pure-Python encoder took 0.45 ms.
`BarcodeFormat.QRCode` is the full symbol, never a Micro QR: common scanners cannot read those.
"""
from __future__ import annotations

from functools import lru_cache

import zxingcpp
from barcode import Code128

QUIET_MODULES = 10   # Code 128 quiet zone on each side, in modules
QR_QUIET_MODULES = 4
QR_EC_LEVEL = "M"
QR_MASK = 2


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

    The mask is fixed: decoders read all eight, and the search for the best one is four fifths
    of the writer's time (0.17 ms a code instead of 0.03); rasterised labels decode as well with
    mask 2 as with the searched one. Cached, as a label is often printed again (batch after single).
    """
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=QR_EC_LEVEL, data_mask=QR_MASK)
    # the writer ignores options it does not know: check the level really took
    if code.ec_level != QR_EC_LEVEL:
        raise RuntimeError(f"QR error correction {code.ec_level!r}, expected {QR_EC_LEVEL!r}")
    image = memoryview(code.to_image(scale=1, add_quiet_zones=False))
    n = image.shape[1]
    flat = image.tobytes().translate(_DARK)  # the image is 0 for dark, 255 for light
    return tuple(flat[i:i + n] for i in range(0, len(flat), n))


_DARK = bytes.maketrans(b"\x00\xff", b"\x01\x00")


def code128_width_modules(data: str) -> int:
    return len(code128_modules(data)) + 2 * QUIET_MODULES


def _runs_path(rows) -> str:
    """The dark runs of `rows` (top row first; a dark module is b"\\x01") as PDF rectangles in module units.

    Every coordinate is a small integer and the text does not depend on where the symbol goes,
    so it is made once per code (cached by the callers) and placed by a transformation matrix:
    a fifth of the cost of one call to reportlab's path API per rectangle, and the same marks on paper.
    """
    n = len(rows)
    ops = []
    for r, row in enumerate(rows):
        top, left = n - 1 - r, 0
        for run in row.split(b"\x00"):  # splitting in C beats a regex over the row
            if run:
                ops.append(f"{left} {top} {len(run)} 1 re")
            left += len(run) + 1
    return "\n".join(ops)


def _place(canvas, x: float, y: float, module_w: float, module_h: float, path: str) -> None:
    """Fill a path made by `_runs_path` with its module grid scaled to `module_w` x `module_h` at (x, y)."""
    canvas.addLiteral(f"q 0 g {module_w:.5f} 0 0 {module_h:.5f} {x:.3f} {y:.3f} cm\n{path}\nf Q")


_BITS = bytes.maketrans(b"01", b"\x00\x01")


@lru_cache(maxsize=4096)
def _code128_path(data: str) -> tuple[int, str]:
    """(modules without the quiet zones, the bars' path)."""
    row = code128_modules(data).encode().translate(_BITS)
    return len(row), _runs_path([row])


@lru_cache(maxsize=2048)
def _qr_path(data: str) -> tuple[int, str]:
    """(modules a side, the dark modules' path); cached with `qr_matrix`, and cleared with it."""
    matrix = qr_matrix(data)
    return len(matrix), _runs_path(matrix)


def clear_qr_cache() -> None:
    """Forget every QR code made so far (the benchmark's fresh labels)."""
    qr_matrix.cache_clear()
    _qr_path.cache_clear()


def draw_code128(canvas, x: float, y: float, width: float, height: float, data: str) -> float:
    """Bars filling `width` (quiet zones included) from (x, y) up; returns the module width used."""
    modules, path = _code128_path(data)
    module = width / (modules + 2 * QUIET_MODULES)
    _place(canvas, x + QUIET_MODULES * module, y, module, height, path)
    return module


def draw_qr(canvas, x: float, y: float, size: float, data: str) -> None:
    """The QR symbol in a `size` square (quiet zone included) with its lower left corner at (x, y)."""
    modules, path = _qr_path(data)
    module = size / (modules + 2 * QR_QUIET_MODULES)
    quiet = QR_QUIET_MODULES * module
    _place(canvas, x + quiet, y + quiet, module, module, path)
