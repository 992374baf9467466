"""Uploaded files are judged by their content: good scans and photos are kept (upright, without
metadata, with a thumbnail), and each kind of malicious or broken file is refused with its code and a
Chinese message, before anything keeps it. Every file is made here, with Pillow, reportlab and pikepdf."""
from __future__ import annotations

import io
import re
import struct
import time
import zipfile
import zlib

import pikepdf
import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from tests import pdfs
from tracking.files.checks import CheckedFile, FileLimits, FileRefused, check_file, split_pdf

LIMITS = FileLimits(max_bytes=20 * 1024 * 1024, max_pages=100, max_pixels=40_000_000)
CJK = re.compile(r"[\u4e00-\u9fff]")


def a_pdf(pages: int = 1, title: str = "张三 户口簿") -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(595, 842))
    c.setTitle(title)
    c.setAuthor("Scanner HP-1234 serial 998877")
    for n in range(1, pages + 1):
        c.drawString(72, 770, f"Page {n} of the application")
        c.showPage()
    c.save()
    return out.getvalue()


def with_pikepdf(data: bytes, change) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def a_photo(size=(400, 300), orientation: int | None = None, fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 4, size[1] // 4))  # a blue corner: top left as taken
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"       # Make
    exif[0x0131] = "Camera 1.0"       # Software
    exif[0x8825] = {2: (37.0, 52.0, 0.0), 1: "N"}  # GPS: where the photo was taken
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo
        info = PngInfo()
        info.add_text("Author", "张三")
        image.save(out, "PNG", pnginfo=info, exif=exif)
    else:
        image.save(out, "JPEG", exif=exif, quality=95, comment=b"taken at home")
    return out.getvalue()


def refused(data: bytes, name: str, limits: FileLimits = LIMITS) -> FileRefused:
    with pytest.raises(FileRefused) as caught:
        check_file(data, name, limits)
    assert CJK.search(caught.value.message), caught.value.message
    return caught.value


def is_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


# --- what is kept -------------------------------------------------------------------------------------

def test_a_photo_is_kept_upright_without_its_metadata_and_with_a_thumbnail():
    taken = a_photo(size=(400, 300), orientation=6)  # the phone was held sideways: turn 90° clockwise
    checked = check_file(taken, "身份证正面.JPEG", LIMITS)

    assert isinstance(checked, CheckedFile)
    assert (checked.content_type, checked.filename, checked.pages) == ("image/jpeg", "身份证正面.jpg", 1)
    kept = Image.open(io.BytesIO(checked.data))
    assert kept.format == "JPEG" and kept.size == (300, 400)  # stood upright
    r, g, b = kept.convert("RGB").getpixel((kept.width - 10, 10))
    assert b > 150 and r < 100  # the blue corner, top left as taken, is now top right
    assert not kept.getexif() and "comment" not in kept.info and "exif" not in kept.info
    assert b"PhoneMaker" not in checked.data and b"taken at home" not in checked.data
    assert checked.size == len(checked.data) and checked.original_size == len(taken)
    assert checked.sha256 != checked.original_sha256
    thumbnail = is_png(checked.thumbnail)
    assert thumbnail.size == (240, 320)


def test_a_png_scan_loses_its_text_chunks():
    checked = check_file(a_photo(fmt="PNG"), "户口簿.png", LIMITS)
    kept = Image.open(io.BytesIO(checked.data))
    assert kept.format == "PNG" and checked.content_type == "image/png"
    assert "Author" not in kept.info and not kept.getexif()
    assert "张三".encode() not in checked.data and b"PhoneMaker" not in checked.data
    assert is_png(checked.thumbnail).width == 240


def test_a_pdf_is_kept_without_its_metadata_with_its_pages_and_a_thumbnail_of_the_first():
    original = a_pdf(pages=3)
    checked = check_file(original, "申请表.pdf", LIMITS)

    assert (checked.content_type, checked.filename, checked.pages) == ("application/pdf", "申请表.pdf", 3)
    assert pdfs.pages(checked.data) == 3 and "Page 2 of the application" in pdfs.text(checked.data, 1)
    with pikepdf.open(io.BytesIO(checked.data)) as kept:
        assert "/Info" not in kept.trailer and "/Metadata" not in kept.Root
    assert b"HP-1234" not in checked.data and b"ReportLab" not in checked.data
    thumbnail = is_png(checked.thumbnail)
    assert thumbnail.width == 240 and thumbnail.height == round(842 * 240 / 595)


def test_the_same_upload_gives_the_same_kept_bytes_so_that_it_is_stored_once():
    original = a_pdf(pages=2)
    assert check_file(original, "a.pdf", LIMITS).sha256 == check_file(original, "b.pdf", LIMITS).sha256


def test_links_and_an_opening_view_are_removed_rather_than_refused():
    def add_link(pdf):
        page = pdf.pages[0]
        page.obj["/Annots"] = pdf.make_indirect(pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 100, 100],
            A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("http://example.invalid/track")))]))
        pdf.Root["/OpenAction"] = pikepdf.Array([page.obj, pikepdf.Name.Fit])
    checked = check_file(with_pikepdf(a_pdf(), add_link), "link.pdf", LIMITS)
    assert b"example.invalid" not in checked.data
    with pikepdf.open(io.BytesIO(checked.data)) as kept:
        assert "/OpenAction" not in kept.Root
        assert all("/A" not in annot for annot in kept.pages[0].obj["/Annots"])


@pytest.mark.parametrize("given, kept", [
    ("C:\\Users\\张三\\Desktop\\户口簿.pdf", "户口簿.pdf"),
    ("../../etc/户口簿.PDF", "户口簿.pdf"),
    ("身份证\u202egpj.pdf", "身份证gpj.pdf"),  # a right-to-left override is dropped: the name reads as it is
    ("扫描件", "扫描件.pdf"),                       # no extension: the real type's is added
    ("户口簿 v1.2", "户口簿 v1.2.pdf"),
    ("", "材料.pdf"),
    ("长" * 300 + ".pdf", "长" * 96 + ".pdf"),
])
def test_the_name_is_cleaned_and_ends_in_the_real_type(given, kept):
    assert check_file(a_pdf(), given, LIMITS).filename == kept


# --- what is refused ----------------------------------------------------------------------------------

def test_an_empty_file_is_refused():
    assert refused(b"", "a.pdf").code == "file_empty"


def test_a_file_over_the_size_limit_is_refused_before_anything_reads_it():
    error = refused(b"not even a file" * 100, "a.pdf", FileLimits(max_bytes=1000, max_pages=100, max_pixels=10**6))
    assert error.code == "file_too_large" and "MB" in error.message


def test_a_pdf_with_too_many_pages_is_refused():
    error = refused(a_pdf(pages=4), "a.pdf", FileLimits(max_bytes=10**7, max_pages=3, max_pixels=10**6))
    assert error.code == "file_too_many_pages" and "4" in error.message and "3" in error.message


@pytest.mark.parametrize("data", [b"GIF89a" + b"\0" * 50, b"PK\x03\x04 a word document", "申请书".encode()])
def test_a_type_other_than_pdf_jpeg_or_png_is_refused(data):
    assert refused(data, "a.pdf").code == "file_type_unsupported"


@pytest.mark.parametrize("data, name", [(a_photo(fmt="PNG"), "x.pdf"), (a_pdf(), "照片.jpg"),
                                        (a_photo(), "scan.png"), (a_pdf(), "申请表.docx"),
                                        (a_pdf(), "身份证\u202efdp.exe")])  # shown as “身份证exe.pdf”
def test_a_name_whose_extension_disagrees_with_the_content_is_refused(data, name):
    error = refused(data, name)
    assert error.code == "file_type_mismatch" and name.replace("\u202e", "") in error.message


def test_a_jpeg_with_a_pdf_appended_is_refused_as_a_polyglot():
    assert refused(a_photo() + a_pdf(), "photo.jpg").code == "file_type_mismatch"


def test_a_pdf_with_a_web_page_before_its_header_is_refused_as_a_polyglot():
    html = b"<html><body><script>alert(1)</script></body></html>\n"
    error = refused(html + a_pdf(), "a.pdf")
    assert error.code == "file_type_mismatch" and "伪装" in error.message


def test_a_picture_with_a_zip_archive_appended_is_refused_as_a_polyglot():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("run.bat", "calc.exe")
    assert refused(a_photo(fmt="PNG") + archive.getvalue(), "a.png").code == "file_type_mismatch"


def test_a_pdf_with_a_web_page_after_its_end_is_refused_as_a_polyglot():
    assert refused(a_pdf() + b"\n<script>alert(1)</script>", "a.pdf").code == "file_type_mismatch"


def test_a_pdf_that_runs_javascript_when_opened_is_refused():
    def add_script(pdf):
        pdf.Root["/OpenAction"] = pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                                      JS=pikepdf.String("app.alert('hi');"))
    error = refused(with_pikepdf(a_pdf(), add_script), "a.pdf")
    assert error.code == "pdf_active_content" and "脚本" in error.message


def test_a_pdf_with_a_document_level_script_in_its_names_is_refused():
    def add_script(pdf):
        action = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("1")))
        pdf.Root["/Names"] = pikepdf.Dictionary(JavaScript=pikepdf.Dictionary(
            Names=pikepdf.Array([pikepdf.String("init"), action])))
    assert refused(with_pikepdf(a_pdf(), add_script), "a.pdf").code == "pdf_active_content"


def test_a_pdf_that_launches_a_program_is_refused():
    def add_launch(pdf):
        pdf.pages[0].obj["/AA"] = pikepdf.Dictionary(O=pikepdf.Dictionary(
            S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")))
    error = refused(with_pikepdf(a_pdf(), add_launch), "a.pdf")
    assert error.code == "pdf_active_content" and "程序" in error.message


def test_a_pdf_with_an_embedded_file_is_refused():
    def attach(pdf):
        pdf.attachments["invoice.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00", filename="invoice.exe")
    error = refused(with_pikepdf(a_pdf(), attach), "a.pdf")
    assert error.code == "pdf_active_content" and "文件" in error.message


def test_a_pdf_with_a_form_that_submits_its_data_is_refused():
    def add_form(pdf):
        field = pdf.make_indirect(pikepdf.Dictionary(
            FT=pikepdf.Name.Btn, T=pikepdf.String("send"), Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget,
            Rect=[0, 0, 50, 20], A=pikepdf.Dictionary(S=pikepdf.Name.SubmitForm,
                                                      F=pikepdf.String("http://example.invalid/"))))
        pdf.pages[0].obj["/Annots"] = pikepdf.Array([field])
        pdf.Root["/AcroForm"] = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
    assert refused(with_pikepdf(a_pdf(), add_form), "a.pdf").code == "pdf_active_content"


def test_a_pdf_with_an_xfa_form_is_refused():
    def add_xfa(pdf):
        pdf.Root["/AcroForm"] = pikepdf.Dictionary(Fields=pikepdf.Array([]),
                                                   XFA=pdf.make_stream(b"<xdp:xdp/>"))
    assert refused(with_pikepdf(a_pdf(), add_xfa), "a.pdf").code == "pdf_active_content"


@pytest.mark.parametrize("user", ["1234", ""])  # with a password to open, and with only an owner's password
def test_an_encrypted_pdf_is_refused(user):
    with pikepdf.open(io.BytesIO(a_pdf())) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user=user, owner="owner-secret"))
    error = refused(out.getvalue(), "a.pdf")
    assert error.code == "pdf_encrypted" and "密码" in error.message


@pytest.mark.parametrize("data", [b"%PDF-1.7\n1 0 obj garbage", b"\xff\xd8\xff\xe0" + b"\x00" * 40,
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_a_damaged_file_is_refused_as_unreadable(data):
    assert refused(data, "a").code == "file_unreadable"


def a_png_bomb(width: int, height: int) -> bytes:
    """A valid PNG of `width` x `height` black 1-bit pixels, compressed row by row: a few hundred
    kilobytes at most that would take width x height bytes of memory to decode."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    packer = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_quickly_without_decoding_it(tmp_path):
    bomb_file = tmp_path / "bomb.png"
    bomb_file.write_bytes(a_png_bomb(30000, 30000))
    bomb = bomb_file.read_bytes()
    assert len(bomb) < 200_000  # 900 million pixels in under 200 KB

    started = time.perf_counter()
    error = refused(bomb, "bomb.png")
    assert time.perf_counter() - started < 1.0  # decoding 900 megapixels would take far longer
    assert error.code == "image_too_large" and "30000×30000" in error.message


def test_a_jpeg_whose_header_claims_a_huge_size_is_refused_before_it_is_decoded():
    photo = bytearray(a_photo(size=(64, 48)))
    sof = photo.index(b"\xff\xc0")  # start of frame: precision, then height and width
    photo[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    started = time.perf_counter()
    error = refused(bytes(photo), "a.jpg")
    assert time.perf_counter() - started < 1.0
    assert error.code == "image_too_large" and "60000×60000" in error.message


def test_a_picture_just_over_the_configured_pixels_is_refused():
    limits = FileLimits(max_bytes=10**7, max_pages=10, max_pixels=100 * 100)
    assert refused(a_photo(size=(101, 100)), "a.jpg", limits).code == "image_too_large"
    assert check_file(a_photo(size=(100, 100)), "a.jpg", limits).pages == 1


def test_a_pdf_holding_an_image_too_large_to_render_is_refused():
    def add_huge_image(pdf):
        image = pdf.make_stream(zlib.compress(b"\0" * 1000), Type=pikepdf.Name.XObject,
                                Subtype=pikepdf.Name.Image, Width=50000, Height=50000,
                                ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                                Filter=pikepdf.Name.FlateDecode)
        pdf.pages[0].obj.Resources["/XObject"] = pikepdf.Dictionary(Im0=image)
    assert refused(with_pikepdf(a_pdf(), add_huge_image), "a.pdf").code == "image_too_large"


def test_settings_give_the_limits():
    from config.settings import Settings
    settings = Settings.from_env(env={"TONGBAN_FILE_MAX_MB": "5", "TONGBAN_FILE_MAX_PAGES": "30"},
                                 overrides={"secret_key": "s", "data_key": "d", "chain_key": "c"})
    assert FileLimits.from_settings(settings) == FileLimits(max_bytes=5 * 1024 * 1024, max_pages=30,
                                                            max_pixels=40_000_000)


# --- one scanned file cut into materials --------------------------------------------------------------

def test_a_scanned_file_is_split_into_materials_each_checked_again():
    scanned = check_file(a_pdf(pages=5), "窗口扫描.pdf", LIMITS)
    parts = split_pdf(scanned, [(1, 2), (3, 3), (4, 5)], LIMITS)

    assert [p.pages for p in parts] == [2, 1, 2]
    assert [p.filename for p in parts] == ["窗口扫描（第1-2页）.pdf", "窗口扫描（第3页）.pdf", "窗口扫描（第4-5页）.pdf"]
    assert "Page 3 of the application" in pdfs.text(parts[1].data)
    assert "Page 4 of the application" in pdfs.text(parts[2].data, 0)
    assert all(is_png(p.thumbnail).width == 240 and p.content_type == "application/pdf" for p in parts)


@pytest.mark.parametrize("ranges", [[], [(0, 1)], [(2, 1)], [(1, 6)]])
def test_a_page_range_outside_the_file_is_refused(ranges):
    scanned = check_file(a_pdf(pages=5), "a.pdf", LIMITS)
    with pytest.raises(FileRefused) as caught:
        split_pdf(scanned, ranges, LIMITS)
    assert caught.value.code == "file_page_range_invalid" and CJK.search(caught.value.message)


def test_a_part_is_checked_against_the_limits_again():
    scanned = check_file(a_pdf(pages=5), "a.pdf", LIMITS)
    with pytest.raises(FileRefused) as caught:
        split_pdf(scanned, [(1, 5)], FileLimits(max_bytes=10**7, max_pages=4, max_pixels=10**6))
    assert caught.value.code == "file_too_many_pages"
