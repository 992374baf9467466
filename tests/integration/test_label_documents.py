"""Real PDFs rendered from specs (no database), read back the way a scanner and a PDF reader would:
rasterised at 203 dpi and decoded, text extracted, fonts counted."""
from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from labels.fonts import default_font_path
from labels.label import MARGIN, SIZES, ZONES, label_pdf, labels_pdf
from labels.manifest import manifest_pdf
from labels.notices import notice_pdf
from labels.receipt import receipt_pdf
from labels.specs import LabelSpec, ManifestLine, ManifestSpec, MaterialLine, NoticeSpec, Party, ReceiptSpec
from mailing.s10 import make_tracking_no
from tests import pdfs

KINDS = ("申请材料", "补正材料", "办理结果", "退回材料", "补寄材料")
BASE = "https://tongban.example.cn"
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# specs
# ---------------------------------------------------------------------------------------------
def office(name: str = "北京市朝阳区政务服务中心", address: str = "北京市朝阳区朝阳路1号",
           phone: str = "010-65090001", postcode: str = "100020") -> Party:
    return Party(name, address, phone, postcode)


def sender() -> Party:
    return office("忻州市忻府区政务服务中心", "山西省忻州市忻府区和平街8号", "0350-3030001", "034000")


def label_spec(serial: int = 12345678, **changes) -> LabelSpec:
    tracking_no = make_tracking_no("EA", serial)
    values = dict(tracking_no=tracking_no, kind_title="申请材料", sort_code="110105", hub_code="P110100",
                  destination="北京市朝阳区政务服务中心", recipient=office(), sender=sender(), pieces=3,
                  case_no="140902-20261129-0007", track_url=f"{BASE}/track/{tracking_no}", created=date(2026, 11, 29))
    values.update(changes)
    return LabelSpec(**values)


def person_spec(address: str = "北京市朝阳区朝阳路1号院") -> LabelSpec:
    """Addressed to a person at home, with the values the caller has already masked."""
    return label_spec(recipient=Party("张**", address, "138******78"), destination="北京市朝阳区（投递）")


def receipt_spec(provisional: bool = False) -> ReceiptSpec:
    return ReceiptSpec(
        case_no="140902-20261129-0007", matter="住房公积金个人住房贷款提取",
        materials=(MaterialLine("居民身份证", True, 1), MaterialLine("不动产权证书", False, 2),
                   MaterialLine("购房合同", False, 1)),
        applicant_name="王小明", id_masked="140105********1236", collecting_office=sender(),
        clerk="李窗口（clerk_xf）", owning_office="北京住房公积金管理中心", received_at=datetime(2026, 11, 29, 10, 30),
        due_date=date(2026, 12, 14), due_provisional=provisional, track_url=f"{BASE}/track/140902-20261129-0007",
        check_code="7K3P9Q", result_delivery="邮寄到家")


def manifest_spec(count: int = 40) -> ManifestSpec:
    lines = tuple(ManifestLine(make_tracking_no("EA", 20_000_000 + i), KINDS[i % len(KINDS)],
                               "北京市朝阳区政务服务中心 P110100", i % 4 + 1, f"140902-20261129-{i:04d}")
                  for i in range(count))
    return ManifestSpec("M140902-20261129-01", sender(), "寄递人员 张三（courier1）", datetime(2026, 11, 29, 16, 0),
                        "李窗口", lines)


def notice_spec(**changes) -> NoticeSpec:
    values = dict(
        title="补正告知书", notice_no="补正〔2026〕第0007号", case_no="140902-20261129-0007", addressee="王小明",
        matter="住房公积金个人住房贷款提取", submitted_on=date(2026, 11, 29), collecting_office="忻州市忻府区政务服务中心",
        paragraphs=("您于2026年11月29日提交的住房公积金个人住房贷款提取申请，经审查，材料不齐全，请补正下列材料：",),
        items=("不动产权证书（原件）", "购房合同", "银行卡复印件"),
        closing=("请自收到本告知书之日起15个工作日内，将上述材料交至收件窗口。",),
        issuer="北京住房公积金管理中心", issuer_contact="办理机构地址：北京市通州区胜利街195号　电话：010-43760252",
        issued_on=date(2026, 12, 1), track_url=f"{BASE}/track/140902-20261129-0007")
    values.update(changes)
    return NoticeSpec(**values)


def flat(s: str) -> str:
    """Text without the spaces and line breaks a reader puts in when it extracts."""
    return "".join(s.split())


def chars_in_zone(pdf: bytes, size: str, zone: str) -> tuple[list, tuple[float, float]]:
    """(character, box) of every printed character whose centre lies in a zone of the label, and the
    zone's bottom and top in points."""
    w_mm, h_mm = SIZES[size]
    inner = h_mm * pdfs.MM - 2 * MARGIN
    top = h_mm * pdfs.MM - MARGIN
    for name, share in ZONES:
        if name == zone:
            low, high = top - inner * share, top
            break
        top -= inner * share
    tp = pdfium.PdfDocument(io.BytesIO(pdf))[0].get_textpage()
    out = []
    for i in range(tp.count_chars()):
        ch = tp.get_text_range(i, 1)
        if ch.strip():
            box = tp.get_charbox(i)
            if low <= (box[1] + box[3]) / 2 <= high:
                out.append((ch, box))
    return out, (low, high)


# ---------------------------------------------------------------------------------------------
# mailing labels
# ---------------------------------------------------------------------------------------------
LABEL_CASES = [(size, "申请材料") for size in SIZES] + [("100x150", kind) for kind in KINDS[1:]]


@pytest.mark.parametrize("size, kind", LABEL_CASES)
def test_a_mailing_label_scans_and_reads_in_every_size_and_kind(size, kind):
    spec = label_spec(kind_title=kind)
    pdf = label_pdf(spec, size)
    assert pdfs.pages(pdf) == 1
    w, h = pdfs.page_size_mm(pdf)
    assert (w, h) == (pytest.approx(SIZES[size][0], abs=0.1), pytest.approx(SIZES[size][1], abs=0.1))
    found = pdfs.barcodes(pdf)
    assert ("Code128", spec.tracking_no) in found, found
    assert ("QRCode", f"{BASE}/track/{spec.tracking_no}") in found, found
    assert pdfs.embedded_fonts(pdf) == 1
    assert not pdfs.uses_unembedded_fonts(pdf)
    text = flat(pdfs.text(pdf))
    for expected in ("政务专递", kind, "北京市朝阳区政务服务中心", "忻州市忻府区政务服务中心", "110105", "P110100",
                     "140902-20261129-0007", "政务服务材料3件", spec.tracking_no, "签收人"):
        assert expected in text, expected


def test_a_label_to_a_person_at_home_shows_only_the_masked_values():
    spec = person_spec()
    pdf = label_pdf(spec)
    text = flat(pdfs.text(pdf))
    assert "张**" in text and "138******78" in text
    assert "北京市朝阳区朝阳路1号院" in text
    assert "北京市朝阳区（投递）" in text
    assert not re.search(r"\d{15,}", text), "no identity number, nor any unmasked long number"
    assert ("Code128", spec.tracking_no) in pdfs.barcodes(pdf)


def test_a_label_spec_has_no_place_for_an_identity_number():
    names = {f.name for f in dataclasses.fields(LabelSpec)} | {f.name for f in dataclasses.fields(Party)}
    assert not any("id" in name.split("_") or "identity" in name or "id_number" in name for name in names), names


@pytest.mark.parametrize("size", list(SIZES))
def test_a_long_address_wraps_inside_the_recipient_zone(size):
    address = ("广东省深圳市南山区粤海街道科技园社区科苑南路三千零九十九号中国储能大厦东塔楼"
               "第四十八层整层及第四十九层部分区域政务服务联合办公区")
    pdf = label_pdf(person_spec(address), size)
    found, (low, high) = chars_in_zone(pdf, size, "recipient")
    printed = "".join(ch for ch, _ in found)
    assert flat(address) in printed, "the whole address is printed when it fits"
    page_w = SIZES[size][0] * pdfs.MM
    for ch, (left, bottom, right, top) in found:
        assert MARGIN <= left and right <= page_w - MARGIN, (ch, left, right)
        assert low <= bottom and top <= high, (ch, bottom, top)


@pytest.mark.parametrize("size", ["100x150", "76x130"])
def test_an_address_too_long_for_its_zone_is_cut_with_an_ellipsis(size):
    address = ("广东省深圳市南山区粤海街道科技园社区科苑南路三千零九十九号中国储能大厦东塔楼"
               "第四十八层整层及第四十九层部分区域政务服务联合办公区") * 3
    pdf = label_pdf(person_spec(address), size)
    found, (low, high) = chars_in_zone(pdf, size, "recipient")
    printed = "".join(ch for ch, _ in found)
    assert printed.endswith("…"), printed
    shown = printed[printed.index("广东省"):-1]
    assert address.startswith(shown) and len(shown) > 40, "the start of the address, in order, then '…'"
    page_w = SIZES[size][0] * pdfs.MM
    for ch, (left, bottom, right, top) in found:
        assert MARGIN <= left and right <= page_w - MARGIN, (ch, left, right)
        assert low <= bottom and top <= high, (ch, bottom, top)


def test_a_batch_of_labels_has_a_page_per_label_each_with_its_own_number():
    specs = [label_spec(30_000_000 + i, kind_title=KINDS[i % len(KINDS)]) for i in range(25)]
    seen: list[int] = []
    pdf = labels_pdf(specs, progress=seen.append)
    assert seen == list(range(1, 26))
    assert pdfs.pages(pdf) == 25
    assert pdfs.embedded_fonts(pdf) == 1, "the font is embedded once for the whole batch"
    for page in (0, 12, 24):
        assert pdfs.code128(pdf, page) == [specs[page].tracking_no]
        assert pdfs.qr(pdf, page) == [specs[page].track_url]


# ---------------------------------------------------------------------------------------------
# the receipt
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size, mm", [("A4", (210, 297)), ("A5", (148, 210))])
def test_the_receipt_scans_and_reads_in_a4_and_a5(size, mm):
    spec = receipt_spec()
    pdf = receipt_pdf(spec, size)
    assert pdfs.pages(pdf) == 1
    w, h = pdfs.page_size_mm(pdf)
    assert (w, h) == (pytest.approx(mm[0], abs=0.1), pytest.approx(mm[1], abs=0.1))
    assert pdfs.code128(pdf) == [spec.case_no]
    assert pdfs.qr(pdf) == [spec.track_url]
    assert pdfs.embedded_fonts(pdf) == 1 and not pdfs.uses_unembedded_fonts(pdf)
    text = flat(pdfs.text(pdf))
    for expected in ("收件回执", spec.check_code, spec.id_masked, spec.matter, spec.applicant_name,
                     "北京住房公积金管理中心", "忻州市忻府区政务服务中心", "李窗口（clerk_xf）", "2026年12月14日",
                     "2026年11月29日10:30", "邮寄到家", spec.track_url, "第1页共1页"):
        assert expected in text, expected
    for material, kind in (("居民身份证", "原件"), ("不动产权证书", "复印件"), ("购房合同", "复印件")):
        assert f"{material}{kind}" in text, material
    assert "暂按周一至周五计算" not in text


def test_a_provisional_due_date_prints_the_provisional_remark():
    text = flat(pdfs.text(receipt_pdf(receipt_spec(provisional=True), "A5")))
    assert "2026年12月14日（暂按周一至周五计算，以官方节假日安排为准）" in text


# ---------------------------------------------------------------------------------------------
# the manifest
# ---------------------------------------------------------------------------------------------
def test_a_manifest_of_40_packets_runs_over_numbered_pages_and_every_packet_scans():
    spec = manifest_spec(40)
    pdf = manifest_pdf(spec)
    total = pdfs.pages(pdf)
    assert total > 1
    for n in range(total):
        assert f"第 {n + 1} 页 共 {total} 页" in pdfs.text(pdf, n), n
    first = pdfs.code128(pdf, 0)
    assert spec.manifest_no in first
    scanned = [t for n in range(total) for t in pdfs.code128(pdf, n)]
    assert sorted(t for t in scanned if t != spec.manifest_no) == sorted(line.tracking_no for line in spec.lines)
    pieces = sum(line.pieces for line in spec.lines)
    assert pieces == 100
    text = flat(pdfs.text(pdf))
    assert f"合计：邮件40个，材料{pieces}件" in text
    last = flat(pdfs.text(pdf, total - 1))
    assert "交出方（签字）" in last and "接收方（签字）" in last
    assert "寄递人员张三（courier1）" in flat(pdfs.text(pdf, 0))
    assert pdfs.embedded_fonts(pdf) == 1 and not pdfs.uses_unembedded_fonts(pdf)


# ---------------------------------------------------------------------------------------------
# notices
# ---------------------------------------------------------------------------------------------
def test_a_supplement_notice_reads_and_its_case_number_scans():
    spec = notice_spec()
    pdf = notice_pdf(spec)
    assert pdfs.code128(pdf) == [spec.case_no]
    text = flat(pdfs.text(pdf))
    for expected in ("补正告知书", spec.notice_no, "王小明：", "1.不动产权证书（原件）", "2.购房合同", "3.银行卡复印件",
                     "北京住房公积金管理中心", "2026年12月01日", "申请人（签收）"):
        assert expected in text, expected
    assert pdfs.embedded_fonts(pdf) == 1 and not pdfs.uses_unembedded_fonts(pdf)


def test_a_refusal_notice_without_items_reads_and_scans():
    spec = notice_spec(title="不予受理告知书", notice_no="不予受理〔2026〕第0003号", items=(),
                       paragraphs=("经审查，您申请的事项不属于本机关职权范围，决定不予受理。",), closing=())
    pdf = notice_pdf(spec)
    assert pdfs.code128(pdf) == [spec.case_no]
    text = flat(pdfs.text(pdf))
    assert "不予受理告知书" in text and "王小明：" in text and "北京住房公积金管理中心" in text
    assert "1." not in text


# ---------------------------------------------------------------------------------------------
# the font
# ---------------------------------------------------------------------------------------------
def test_the_default_font_is_a_truetype_file_that_exists():
    path = default_font_path()
    assert path.is_file()
    assert path.suffix.lower() in (".ttc", ".ttf")


def test_a_font_path_override_is_used_and_a_missing_one_is_refused():
    """In a fresh process: the first registration wins, so this one must not share ours."""
    script = (
        "import sys\n"
        "from labels.fonts import FontMissing, default_font_path, register\n"
        "from labels.label import label_pdf\n"
        "from tests.integration.test_label_documents import label_spec\n"
        "try:\n"
        "    register('/nonexistent/font.ttf')\n"
        "except FontMissing as e:\n"
        "    assert '/nonexistent/font.ttf' in str(e), e\n"
        "else:\n"
        "    sys.exit('a missing font was accepted')\n"
        "pdf = label_pdf(label_spec(), font_path=str(default_font_path()))\n"
        "assert pdf.count(b'/FontFile2') == 1\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
