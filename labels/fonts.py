"""The CJK font every document embeds: a TrueType face, registered once per process.

reportlab embeds TrueType outlines as a subset (a `FontFile2` stream), so a PDF prints the same
on any machine. CFF-based faces (Noto CJK) cannot be embedded by reportlab, and its built-in
`STSong-Light` is never embedded at all, so neither is used.
"""
from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "TongbanCJK"
# Debian's packages of the same face, tried when the PyPI package is absent
_SYSTEM_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
_lock = threading.Lock()
_registered: str | None = None


class FontMissing(RuntimeError):
    pass


def default_font_path() -> Path:
    try:
        packaged = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
        if packaged.is_file():
            return Path(str(packaged))
    except ModuleNotFoundError:
        pass
    for candidate in _SYSTEM_FONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing("未找到中文字体：请安装 requirements.txt 中的字体包，或以 TONGBAN_FONT_PATH 指定 TrueType 字体。")


def register(path: str | None = None) -> str:
    """Register the font (once per process; loading costs tens of milliseconds) and return its name.

    `path` (the TONGBAN_FONT_PATH setting) overrides the packaged face; the first registration wins.
    """
    global _registered
    if _registered is None:
        with _lock:
            if _registered is None:
                font_file = Path(path) if path else default_font_path()
                if not font_file.is_file():
                    raise FontMissing(f"字体文件不存在：{font_file}")
                # a .ttc collection holds several faces; the first is the regular one
                pdfmetrics.registerFont(TTFont(FONT, str(font_file), subfontIndex=0))
                # one face for every style: paragraphs look up a family even for plain text
                pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)
                _registered = str(font_file)
    return FONT
