"""A file a clerk or an officer uploads, checked by its content before anything keeps it.

The type is sniffed from the first bytes, never taken from the name; a name that says otherwise, or a
file that is two types at once (a polyglot), is refused. Images are decoded under a pixel limit read
from the header (a decompression bomb is refused before it is decoded), turned upright by their EXIF
orientation and re-encoded without metadata. PDFs are opened with pikepdf (qpdf): encrypted ones and
those with scripts, launch actions, attachments, submitting forms, XFA or rich media are refused; links,
harmless actions and metadata are removed; what is kept is the file as qpdf writes it again. Every
check is against the limits in settings (docs/files.md).
"""
from __future__ import annotations

import hashlib
import io
import re
import threading
import unicodedata
import zipfile
from dataclasses import dataclass

import pikepdf
import pypdfium2 as pdfium
from PIL import Image, ImageOps

from tracking.model.errors import Kind, Refused

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
_MAGIC = ((b"%PDF-", PDF), (b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG))
_PIL_FORMAT = {JPEG: ("JPEG", "MPO"), PNG: ("PNG",)}  # MPO: a phone's JPEG with a second, preview picture
_EXTENSIONS = {PDF: (".pdf",), JPEG: (".jpg", ".jpeg", ".jpe", ".jfif"), PNG: (".png",)}
_TITLE = {PDF: "PDF 文件", JPEG: "JPEG 图片", PNG: "PNG 图片"}
# what a name's ending must look like to count as an extension (not "户口本 v1.2" nor "张三.身份证")
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")
MAX_NAME = 100
THUMBNAIL_WIDTH = 240
_THUMBNAIL_MAX_HEIGHT = 4 * THUMBNAIL_WIDTH  # a strip of receipts is cut, not squeezed to a line
# a PDF reader looks this far for the header: one found there but not at the start is a second type
_HEADER_WINDOW = 1024
_MARKUP = (b"<html", b"<script", b"<!doctype", b"<iframe", b"<svg", b"<?php")

# what in a PDF is refused (pdf_active_content), by the words a clerk reads
_SCRIPT, _LAUNCH, _ATTACHMENT, _FORM, _MEDIA = "脚本", "启动其他程序的操作", "附带的其他文件", "会提交或导入数据的表单", "多媒体或三维内容"
_REFUSED_KEYS = {"/JS": _SCRIPT, "/JavaScript": _SCRIPT, "/EmbeddedFiles": _ATTACHMENT, "/EF": _ATTACHMENT,
                 "/XFA": _FORM, "/RichMediaContent": _MEDIA}
_REFUSED_ACTIONS = {"/JavaScript": _SCRIPT, "/Launch": _LAUNCH, "/GoToE": _ATTACHMENT, "/SubmitForm": _FORM,
                    "/ImportData": _FORM, "/RichMediaExecute": _MEDIA, "/Rendition": _MEDIA, "/Movie": _MEDIA,
                    "/Sound": _MEDIA}
_REFUSED_SUBTYPES = {"/FileAttachment": _ATTACHMENT, "/RichMedia": _MEDIA, "/3D": _MEDIA, "/Movie": _MEDIA,
                     "/Sound": _MEDIA, "/Screen": _MEDIA}
_REFUSED_TYPES = {"/EmbeddedFile": _ATTACHMENT}
# removed wherever they are: metadata, and what runs or leaves the document on an event (what of it
# was dangerous has been refused already; the rest, e.g. opening at a page, is not worth keeping)
_STRIPPED_KEYS = ("/Metadata", "/PieceInfo", "/AA", "/OpenAction", "/SpiderInfo")

# PDFium is not thread-safe (pypdfium2's documentation): one rendering at a time in a process
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int
    max_pages: int
    max_pixels: int

    @classmethod
    def from_settings(cls, settings) -> "FileLimits":
        return cls(max_bytes=int(settings.file_max_mb * 1024 * 1024), max_pages=int(settings.file_max_pages),
                   max_pixels=int(settings.file_max_pixels))


@dataclass(frozen=True)
class CheckedFile:
    filename: str          # cleaned display name, its extension the real type's
    content_type: str      # PDF, JPEG or PNG
    data: bytes            # what is kept: the re-encoded image or the sanitised PDF
    pages: int             # 1 for an image
    sha256: str            # of `data`
    size: int              # len(data)
    thumbnail: bytes       # PNG of the first page, THUMBNAIL_WIDTH px wide
    original_sha256: str   # of the bytes as uploaded
    original_size: int

    def __repr__(self) -> str:  # never the bytes in a log line
        return (f"CheckedFile({self.filename!r}, {self.content_type}, pages={self.pages}, size={self.size}, "
                f"sha256={self.sha256[:12]}…)")


class FileRefused(Refused):
    """A file the service does not keep, with a stable code and a message the uploader can act on.
    A Refused of the invalid kind, so that the web layer answers it as any other bad input."""

    def __init__(self, code: str, message: str):
        super().__init__(Kind.INVALID, code, message, field="file")


def check_file(data: bytes, filename: str, limits: FileLimits) -> CheckedFile:
    """The file as it is kept, or FileRefused. The size is checked before anything reads the content."""
    data = bytes(data)
    if not data:
        raise FileRefused("file_empty", message="文件是空的，请重新扫描或拍照后上传。")
    if len(data) > limits.max_bytes:
        raise FileRefused("file_too_large", message=f"文件超过 {_megabytes(limits.max_bytes)} MB 的上限，"
                                                    "请降低扫描分辨率，或分成几个文件上传。")
    kind = _sniff(data)
    _refuse_a_second_type(data, kind)
    name = clean_filename(filename, kind)
    if kind == PDF:
        kept, pages, thumbnail = _sanitised_pdf(data, limits)
    else:
        kept, thumbnail = _re_encoded_image(data, kind, limits)
        pages = 1
    return CheckedFile(filename=name, content_type=kind, data=kept, pages=pages,
                       sha256=hashlib.sha256(kept).hexdigest(), size=len(kept), thumbnail=thumbnail,
                       original_sha256=hashlib.sha256(data).hexdigest(), original_size=len(data))


def split_pdf(checked: CheckedFile, page_ranges: list[tuple[int, int]], limits: FileLimits) -> list[CheckedFile]:
    """One scanned file cut into materials: a part per 1-based, inclusive page range (ranges may share a
    page: one page can serve two materials), each part checked again as an upload of its own."""
    if not page_ranges:
        raise FileRefused("file_page_range_invalid", message="请至少填写一个页码范围。")
    for first, last in page_ranges:
        if not (1 <= first <= last <= checked.pages):
            raise FileRefused("file_page_range_invalid",
                              message=f"页码范围“{first}-{last}”不对：文件共 {checked.pages} 页，"
                                      "起始页应不小于 1、不大于结束页，结束页不能超过总页数。")
    stem = checked.filename.rsplit(".", 1)[0][:MAX_NAME - 20]
    if checked.content_type != PDF:  # an image is one page: each part is the image itself
        return [checked for _ in page_ranges]
    parts = []
    with pikepdf.open(io.BytesIO(checked.data)) as source:
        for first, last in page_ranges:
            with pikepdf.new() as part:
                part.pages.extend(source.pages[first - 1:last])
                out = io.BytesIO()
                part.save(out, deterministic_id=True)
            pages = f"第{first}页" if first == last else f"第{first}-{last}页"
            parts.append(check_file(out.getvalue(), f"{stem}（{pages}）.pdf", limits))
    return parts


def clean_filename(filename: str, kind: str) -> str:
    """The name shown and offered on download: no folders, no control or direction-changing characters
    (a right-to-left override makes “gpj.exe” read as “exe.jpg”), at most MAX_NAME characters, ending in
    the extension of the type the content is. An extension of another type is refused, not replaced."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = " ".join(name.split()).strip(" .")
    found = _EXTENSION.search(name)
    if found:
        extension = found.group().lower()
        if extension not in _EXTENSIONS[kind]:
            raise FileRefused("file_type_mismatch",
                              message=f"文件名“{name}”的扩展名与内容不符：内容是{_TITLE[kind]}。"
                                      "请确认选对了文件，或改正文件名后重新上传。")
        name = name[:found.start()].rstrip(" .")
    extension = _EXTENSIONS[kind][0]
    return (name or "材料")[:MAX_NAME - len(extension)] + extension


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g}"


def _sniff(data: bytes) -> str:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if b"%PDF-" in data[:_HEADER_WINDOW]:
        raise _second_type()
    raise FileRefused("file_type_unsupported",
                      message="只能上传 PDF 文件或 JPEG、PNG 图片。请用扫描仪、高拍仪或手机拍照生成这几种格式后上传。")


def _second_type() -> FileRefused:
    return FileRefused("file_type_mismatch",
                       message="文件同时带有另一种文件的内容（例如图片后面接着 PDF，或网页里夹着 PDF），"
                               "可能是伪装的文件，不能接收。请用扫描仪或高拍仪重新生成后上传。")


def _refuse_a_second_type(data: bytes, kind: str) -> None:
    """A polyglot: readers of another type would find their own file in it (a PDF after a picture, a
    ZIP archive's directory at the end, a web page). What is kept is rebuilt anyway; the upload is
    still refused, because a file built that way was made to deceive. Only the parts outside the
    compressed pixels or pages are searched, where such words cannot occur by chance."""
    outside = _outside_the_content(data, kind)
    # a picture's metadata may hold a small JPEG (its preview), a PDF's tail nothing of the kind
    magics = [magic for magic, _ in _MAGIC] if kind == PDF else [b"%PDF-"]
    if any(magic in outside for magic in magics) or any(m in outside.lower() for m in _MARKUP):
        raise _second_type()
    if b"PK\x05\x06" in data[-(22 + 65535):] and _is_zip(data):
        raise _second_type()


def _outside_the_content(data: bytes, kind: str) -> bytes:
    """What a file holds besides its picture or its pages: a JPEG's segments before the scan and what
    follows its end marker, a PNG's chunks other than the pixels and what follows its end, what follows a
    PDF's last end-of-file marker."""
    if kind == PDF:
        return data[data.rfind(b"%%EOF") + 5:] if b"%%EOF" in data else b""
    return b"".join(body for tag, body in _framing(data, kind) if tag not in (b"IDAT", b"IHDR", b"PLTE"))


def _framing(data: bytes, kind: str) -> list[tuple[bytes | int, bytes]]:
    """An image as its format frames it: (a PNG chunk's type or a JPEG segment's marker, its body), up to
    the pixels of a JPEG, and ("tail", whatever follows the image's end)."""
    parts: list[tuple[bytes | int, bytes]] = []
    if kind == PNG:
        i = 8
        while i + 8 <= len(data):
            length, chunk = int.from_bytes(data[i:i + 4], "big"), data[i + 4:i + 8]
            parts.append((chunk, data[i + 8:i + 8 + length]))
            i += 12 + length
            if chunk == b"IEND":
                break
        return [*parts, ("tail", data[i:])]
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA:  # start of scan: pixels until the end marker (an FF in them is escaped)
            end = data.find(b"\xff\xd9", i + 2 + length)
            return [*parts, ("tail", data[end + 2:] if end >= 0 else b"")]
        parts.append((marker, data[i + 4:i + 2 + length]))
        i += 2 + length
    return [*parts, ("tail", data[i:])]


def _declared_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """Width and height as the image's header states them (PNG's IHDR, a JPEG's start of frame)."""
    for tag, body in _framing(data, kind):
        if tag == b"IHDR" and len(body) >= 8:
            return int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
        if isinstance(tag, int) and 0xC0 <= tag <= 0xCF and tag not in (0xC4, 0xC8, 0xCC) and len(body) >= 5:
            return int.from_bytes(body[3:5], "big"), int.from_bytes(body[1:3], "big")
    return None


def _is_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return bool(archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError):
        return False


def _unreadable() -> FileRefused:
    return FileRefused("file_unreadable", message="文件已损坏或无法读取，请重新扫描或拍照后上传。")


def _too_many_pixels(width: int, height: int, limit: int) -> FileRefused:
    return FileRefused("image_too_large",
                       message=f"图片尺寸过大（{width}×{height} 像素），超过 {limit // 10000} 万像素的上限。"
                               "请降低分辨率后重新扫描或拍照。")


# --- images -------------------------------------------------------------------------------------------

def _re_encoded_image(data: bytes, kind: str, limits: FileLimits) -> tuple[bytes, bytes]:
    declared = _declared_size(data, kind)
    if declared and declared[0] * declared[1] > limits.max_pixels:  # a bomb stops here, undecoded
        raise _too_many_pixels(*declared, limits.max_pixels)
    try:
        image = Image.open(io.BytesIO(data), formats=_PIL_FORMAT[kind][:1])
    except Image.DecompressionBombError:
        raise FileRefused("image_too_large", message="图片尺寸过大，请降低分辨率后重新扫描或拍照。") from None
    except (OSError, SyntaxError, ValueError):
        raise _unreadable() from None
    with image:
        if image.format not in _PIL_FORMAT[kind]:
            raise _unreadable()
        width, height = image.size
        # the size as Pillow read it from the header, still before a single pixel is decoded
        if width * height > limits.max_pixels:
            raise _too_many_pixels(width, height, limits.max_pixels)
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise _unreadable() from None
    dpi = image.info.get("dpi")
    transparency = upright.info.get("transparency")
    upright.info = {}  # EXIF (place, time, device), XMP, comments, colour profiles: none is kept
    if upright.mode == "I" or upright.mode.startswith("I;16"):  # a 16-bit grey scan: scaled, not clipped white
        upright = upright.convert("I").point(lambda v: v / 256).convert("L")
    if upright.mode not in _MODES[kind]:
        upright = upright.convert("RGBA" if kind == PNG and _has_alpha(upright) else "RGB")
    options = {"dpi": tuple(float(v) for v in dpi)} if _plausible_dpi(dpi) else {}
    out = io.BytesIO()
    if kind == JPEG:
        upright.save(out, "JPEG", quality=85, optimize=True, **options)
    else:
        if transparency is not None and upright.mode in ("P", "L", "RGB"):
            options["transparency"] = transparency
        upright.save(out, "PNG", **options)
    return out.getvalue(), _thumbnail(upright)


_MODES = {JPEG: ("L", "RGB"), PNG: ("1", "L", "LA", "P", "RGB", "RGBA")}


def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.mode or "transparency" in image.info or image.mode == "P"


def _plausible_dpi(dpi) -> bool:
    try:
        return dpi is not None and len(dpi) == 2 and all(1 <= float(v) <= 10000 for v in dpi)
    except (TypeError, ValueError):
        return False


def _thumbnail(image: Image.Image) -> bytes:
    width, height = image.size
    if height * THUMBNAIL_WIDTH > _THUMBNAIL_MAX_HEIGHT * width:  # keep the top of a very tall picture
        image = image.crop((0, 0, width, max(1, width * _THUMBNAIL_MAX_HEIGHT // THUMBNAIL_WIDTH)))
        width, height = image.size
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    small = image.resize((THUMBNAIL_WIDTH, max(1, round(height * THUMBNAIL_WIDTH / width))), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    return out.getvalue()


# --- PDFs ---------------------------------------------------------------------------------------------

def _sanitised_pdf(data: bytes, limits: FileLimits) -> tuple[bytes, int, bytes]:
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise _encrypted() from None
    except (pikepdf.PdfError, ValueError, OSError, RuntimeError):
        raise _unreadable() from None
    with pdf:
        if pdf.is_encrypted:  # even one that opens without a password: its owner restricts what it is for
            raise _encrypted()
        try:
            pages = len(pdf.pages)
        except (pikepdf.PdfError, ValueError, RuntimeError):
            raise _unreadable() from None
        if pages == 0:
            raise _unreadable()
        if pages > limits.max_pages:
            raise FileRefused("file_too_many_pages",
                              message=f"文件有 {pages} 页，超过每个文件 {limits.max_pages} 页的上限，请分成几个文件上传。")
        try:
            _refuse_active_content(pdf, limits)
            _strip(pdf)
            out = io.BytesIO()
            # the same upload gives the same bytes, so that the store keeps one copy
            pdf.save(out, deterministic_id=True, fix_metadata_version=False,
                     object_stream_mode=pikepdf.ObjectStreamMode.generate)
        except (pikepdf.PdfError, ValueError, RuntimeError, RecursionError):
            raise _unreadable() from None
    kept = out.getvalue()
    return kept, pages, _pdf_thumbnail(kept)


def _encrypted() -> FileRefused:
    return FileRefused("pdf_encrypted", message="PDF 文件设有密码或加密保护，无法检查其内容。"
                                                "请去掉密码后重新上传，或打印后扫描上传。")


def _objects(pdf: pikepdf.Pdf):
    """Every dictionary and stream the saved file would hold: what the trailer reaches, each once."""
    seen: set[tuple[int, int]] = set()
    stack = [pdf.trailer]
    while stack:
        obj = stack.pop()
        if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)):
            continue  # numbers, names, strings: nothing inside
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            yield obj
            stack.extend(obj.values())
        elif isinstance(obj, pikepdf.Array):
            stack.extend(obj)


def _refuse_active_content(pdf: pikepdf.Pdf, limits: FileLimits) -> None:
    for obj in _objects(pdf):
        what = _active(obj)
        if what:
            raise FileRefused("pdf_active_content",
                              message=f"PDF 文件含有{what}，可能不安全，不能接收。"
                                      "请打印后重新扫描，或用“打印为 PDF”另存一份后上传。")
        if _name(obj.get("/Subtype")) == "/Image":
            width, height = _number(obj.get("/Width")), _number(obj.get("/Height"))
            if width * height > limits.max_pixels:  # an image inside that would be a bomb when rendered
                raise _too_many_pixels(width, height, limits.max_pixels)


def _active(obj) -> str | None:
    """What of a dictionary is refused, in the words of the refusal; None when nothing is."""
    for key in obj.keys():
        if key in _REFUSED_KEYS:
            return _REFUSED_KEYS[key]
    kind = _name(obj.get("/Type"))
    if kind in ("", "/Action") and _name(obj.get("/S")) in _REFUSED_ACTIONS:
        return _REFUSED_ACTIONS[_name(obj.get("/S"))]
    if kind in ("", "/Annot") and _name(obj.get("/Subtype")) in _REFUSED_SUBTYPES:
        return _REFUSED_SUBTYPES[_name(obj.get("/Subtype"))]
    return _REFUSED_TYPES.get(kind)


def _name(value) -> str:
    return str(value) if isinstance(value, pikepdf.Name) else ""


def _number(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _strip(pdf: pikepdf.Pdf) -> None:
    """Metadata and the harmless actions go; a link's target within the document stays."""
    if "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]
    if "/URI" in pdf.Root:  # the base of relative web links
        del pdf.Root["/URI"]
    for obj in list(_objects(pdf)):
        for key in _STRIPPED_KEYS:
            if key in obj:
                del obj[key]
        action = obj.get("/A")
        if isinstance(action, pikepdf.Dictionary):
            if _name(action.get("/S")) != "/GoTo":  # a web link, a named action, another file
                del obj["/A"]
            elif "/Next" in action:
                del action["/Next"]


def _pdf_thumbnail(data: bytes) -> bytes:
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            raise _unreadable() from None
        try:
            page = document[0]
            width, height = page.get_size()
            if width <= 0 or height <= 0:
                raise _unreadable()
            image = page.render(scale=THUMBNAIL_WIDTH / width, may_draw_forms=False).to_pil()
        except pdfium.PdfiumError:
            raise _unreadable() from None
        finally:
            document.close()
    return _thumbnail(image)
