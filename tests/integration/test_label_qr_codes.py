"""Every label's QR code scans: labels for many varied addresses, in every roll size, rendered to PDF,
rasterised at a thermal printer's 203 dpi and decoded, as a courier's scanner would."""
from __future__ import annotations

import random
from datetime import date

import pytest

from labels.barcodes import clear_qr_cache, qr_matrix
from labels.label import SIZES, label_pdf, labels_pdf
from labels.specs import LabelSpec, Party
from mailing.s10 import make_tracking_no
from tests import pdfs

BASES = ("http://127.0.0.1:5000", "https://tongban.example.cn", "https://zwfw.shanxi.gov.cn/tongban",
         "https://relay.xinzhou.example.org:8443/public/tongban/v2")
OFFICE = Party("北京市朝阳区政务服务中心", "北京市朝阳区朝阳路1号", "010-65090001", "100020")
SENDER = Party("忻州市忻府区政务服务中心", "山西省忻州市忻府区和平街8号", "0350-3030001", "034000")


def varied_specs(count: int, seed: int) -> list[LabelSpec]:
    """Tracking pages of packets and of cases under several hosts, some with a query: QR versions 2 to 6."""
    rng = random.Random(seed)
    specs = []
    for i in range(count):
        tracking_no = make_tracking_no(rng.choice(("EA", "EB", "RR")), rng.randrange(10_000_000, 99_999_999))
        case_no = f"{rng.randrange(110000, 659999)}-2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}-" \
                  f"{rng.randrange(10_000):04d}"
        ref = tracking_no if i % 3 else case_no
        url = f"{rng.choice(BASES)}/track/{ref}"
        if i % 4 == 0:
            url += f"?from=label&copy={rng.randrange(1, 9)}"
        specs.append(LabelSpec(
            tracking_no=tracking_no, kind_title="申请材料", sort_code="110105", hub_code="P110100",
            destination=OFFICE.name, recipient=OFFICE, sender=SENDER, pieces=rng.randrange(1, 9), case_no=case_no,
            track_url=url, created=date(2026, 11, 29)))
    return specs


@pytest.mark.parametrize("size", SIZES)
def test_the_qr_code_and_the_bars_of_every_label_scan_in_every_size(size):
    clear_qr_cache()  # encoded for this PDF, not left over from another test
    specs = varied_specs(24, seed=len(size))
    assert len({len(qr_matrix(s.track_url)) for s in specs}) >= 3, "the addresses need several QR versions"
    pdf = labels_pdf(specs, size)
    unread = [(page, spec.track_url) for page, spec in enumerate(specs) if pdfs.qr(pdf, page) != [spec.track_url]]
    assert not unread, unread
    assert all(pdfs.code128(pdf, page) == [spec.tracking_no] for page, spec in enumerate(specs))
    if size == "76x130":  # the smallest modules still scan at half the printer's resolution
        assert all(pdfs.qr(pdf, page, dpi=100) == [spec.track_url] for page, spec in enumerate(specs))


def test_a_single_label_scans_like_a_page_of_a_batch():
    spec = varied_specs(1, seed=17)[0]
    pdf = label_pdf(spec, "76x130")  # the narrowest roll: the smallest modules
    assert sorted(pdfs.barcodes(pdf)) == [("Code128", spec.tracking_no), ("QRCode", spec.track_url)]
