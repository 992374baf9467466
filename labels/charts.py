"""Charts for the supervisor's pages: plain data in, an SVG string out, drawn on the server (no script, no
library from the internet). Each chart is an image to assistive technology (`role="img"` with a <title>
and a <desc>), and the page puts the same numbers beside it in a table.

Standard library only: the text of a chart comes from the database (office and matter names), so every
piece of it is escaped here, once, before it reaches the page."""
from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

BRAND = "#0b4ea2"
ALERT = "#d4351c"
TEXT = "#0b0c0c"
MUTED = "#505a5f"
GRID = "#b1b4b6"

FONT_SIZE = 15
ROW = 32          # height of one bar's row, in user units
BAR = 20          # thickness of a bar
LABEL_CHARS = 14  # a longer label is shortened (the table beside the chart has it whole)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0
_ID = re.compile(r"[^A-Za-z0-9_-]")


def _text(value) -> str:
    return escape(_CONTROL.sub("", str(value)))


def _attr(value) -> str:
    return quoteattr(_CONTROL.sub("", str(value)))


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Roughly how wide `text` is drawn: a Chinese character (or an arrow, or a full-width mark) is one
    em, Latin letters and digits about 0.6 em. Enough to place labels without measuring fonts (the
    server has none of the browser's)."""
    return sum(size if ord(ch) >= 0x2000 else size * 0.6 for ch in text)


def shorten(label: str, limit: int = LABEL_CHARS) -> str:
    label = str(label)
    return label if len(label) <= limit else label[:limit - 1] + "…"


def number(value: float, decimals: int = 0) -> str:
    if decimals == 0:
        return f"{round(value):,}"
    return f"{value:,.{decimals}f}"


def _open(chart_id: str, title: str, desc: str, width: float, height: float) -> list[str]:
    cid = _ID.sub("-", chart_id) or "chart"
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id={_attr(cid)} role="img" '
            f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
            f'aria-labelledby="{cid}-title {cid}-desc" font-size="{FONT_SIZE}">',
            f'<title id="{cid}-title">{_text(title)}</title>',
            f'<desc id="{cid}-desc">{_text(desc)}</desc>']


def _empty(chart_id: str, title: str, width: float) -> str:
    parts = _open(chart_id, title, "暂无数据。", width, 60)
    parts.append(f'<text x="0" y="36" fill="{MUTED}">暂无数据</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _describe(rows: Sequence[tuple[str, float]], unit: str, decimals: int) -> str:
    items = "；".join(f"{label}：{number(value, decimals)}{unit}" for label, value in rows)
    return f"共 {len(rows)} 项。{items}。"


def bar_chart(rows: Sequence[tuple[str, float]], *, title: str, chart_id: str, unit: str = "",
              decimals: int = 0, width: int = 600, colors: Sequence[str] | None = None) -> str:
    """Horizontal bars, one row per (label, value), in the order given; labels on the left, the value
    written after each bar. `colors`, when given, colours each bar (e.g. the bad scores red)."""
    if not rows:
        return _empty(chart_id, title, width)
    labels = [shorten(label) for label, _ in rows]
    values = [max(0.0, float(v or 0)) for _, v in rows]
    texts = [number(v, decimals) + unit for v in values]
    left = min(max(text_width(label) for label in labels) + 12, width * 0.45)
    right = max(text_width(t) for t in texts) + 10
    span = max(width - left - right, 40)
    top = max(values) or 1.0
    height = ROW * len(rows) + 10
    parts = _open(chart_id, title, _describe(list(zip(labels, values)), unit, decimals), width, height)
    parts.append(f'<line x1="{left:g}" y1="0" x2="{left:g}" y2="{height - 5:g}" stroke="{GRID}"/>')
    for i, (label, value, text, (full, _)) in enumerate(zip(labels, values, texts, rows)):
        y = i * ROW + 5
        mid = y + BAR / 2 + FONT_SIZE * 0.35
        length = span * value / top
        colour = colors[i] if colors and i < len(colors) else BRAND
        parts.append(f'<g><title>{_text(full)}：{_text(text)}</title>'
                     f'<text x="{left - 8:g}" y="{mid:.1f}" text-anchor="end" fill="{TEXT}">{_text(label)}</text>'
                     f'<rect x="{left:g}" y="{y:g}" width="{length:.1f}" height="{BAR}" fill="{colour}"/>'
                     f'<text x="{left + length + 6:.1f}" y="{mid:.1f}" fill="{TEXT}">{_text(text)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)


def column_chart(rows: Sequence[tuple[str, float]], *, title: str, chart_id: str, unit: str = "",
                 decimals: int = 0, width: int = 480, height: int = 240,
                 colors: Sequence[str] | None = None) -> str:
    """Vertical columns, one per (label, value) from left to right, the value above each column and the
    label below: for a few categories in their natural order (the five scores of an evaluation)."""
    if not rows:
        return _empty(chart_id, title, width)
    values = [max(0.0, float(v or 0)) for _, v in rows]
    labels = [shorten(label, 6) for label, _ in rows]
    bottom = height - FONT_SIZE * 2
    top_gap = FONT_SIZE * 1.8
    slot = width / len(rows)
    bar = min(slot * 0.6, 80)
    top = max(values) or 1.0
    parts = _open(chart_id, title, _describe(list(zip([label for label, _ in rows], values)), unit, decimals),
                  width, height)
    parts.append(f'<line x1="0" y1="{bottom:g}" x2="{width:g}" y2="{bottom:g}" stroke="{GRID}"/>')
    for i, (label, value, (full, _)) in enumerate(zip(labels, values, rows)):
        x = i * slot + (slot - bar) / 2
        length = (bottom - top_gap) * value / top
        colour = colors[i] if colors and i < len(colors) else BRAND
        text = number(value, decimals) + unit
        parts.append(f'<g><title>{_text(full)}：{_text(text)}</title>'
                     f'<rect x="{x:.1f}" y="{bottom - length:.1f}" width="{bar:.1f}" height="{length:.1f}" '
                     f'fill="{colour}"/>'
                     f'<text x="{x + bar / 2:.1f}" y="{bottom - length - 6:.1f}" text-anchor="middle" '
                     f'fill="{TEXT}">{_text(text)}</text>'
                     f'<text x="{x + bar / 2:.1f}" y="{bottom + FONT_SIZE * 1.4:.1f}" text-anchor="middle" '
                     f'fill="{TEXT}">{_text(label)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)
