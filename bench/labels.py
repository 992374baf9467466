"""Label rendering against a bare reportlab canvas, measured in the same run.

    .venv/bin/python -m bench.labels [--count 1000] [--rounds 3]

Renders `count` varied labels as separate PDFs and as one PDF of `count` pages, and, paired with
each run, a bare canvas that draws the same strings and the same Code 128 bars with the same font
(no layout, fitting, zones or QR code). Each pair runs both sides back to back, so that the noise
of a shared machine lands on a pair, not on a side; the ratio is the median pair. Prints labels
per second and our share of the bare rate, then the same with every QR code encoded beforehand
(the QR code is the one mark the bare canvas does not draw). `measure()` gives the same figures
as rows for `make bench`'s table.
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import time
from datetime import date

from reportlab.pdfgen.canvas import Canvas

from config.settings import DATA_DIR
from labels.barcodes import clear_qr_cache, code128_modules, qr_matrix, runs
from labels.fonts import FONT, register
from labels.label import label_texts, labels_pdf, page_size
from labels.pdf import mm
from labels.specs import LabelSpec, Party
from mailing.s10 import make_tracking_no

KINDS = ("材料寄出", "补正材料", "办理结果", "材料退回", "补寄材料")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


def varied_specs(count: int, seed: int = 7) -> list[LabelSpec]:
    rng = random.Random(seed)
    with open(DATA_DIR / "offices.csv", encoding="utf-8") as f:
        offices = [row for row in csv.DictReader(f) if row["kind"] != "hub"]
    specs = []
    for i in range(count):
        src, dst = rng.sample(offices, 2)
        if rng.random() < 0.3:  # a person at home, masked as on a real label
            recipient = Party(rng.choice(SURNAMES) + "*" * rng.choice((1, 2)),
                              dst["address"].split("号")[0] + "号", f"1{rng.randint(30, 99)}******{rng.randint(10, 99)}")
        else:
            recipient = Party(dst["name"], dst["address"], dst["phone"], dst["postcode"])
        tracking_no = make_tracking_no("EA", 10_000_000 + i)
        specs.append(LabelSpec(
            tracking_no=tracking_no, kind_title=rng.choice(KINDS), sort_code=dst["division_code"],
            hub_code=f"P{dst['division_code'][:4]}00", destination=dst["name"], recipient=recipient,
            sender=Party(src["name"], src["address"], src["phone"], src["postcode"]), pieces=rng.randint(1, 9),
            case_no=f"{src['division_code']}-20261129-{i % 10000:04d}",
            track_url=f"http://127.0.0.1:5000/track/{tracking_no}", created=date(2026, 11, 29)))
    return specs


def _bare_page(c: Canvas, spec: LabelSpec, w: float, h: float) -> None:
    c.setFont(FONT, 10)
    y = h - 12 * mm
    for s in label_texts(spec):
        c.drawString(5 * mm, y, s)
        y -= 6 * mm
    pattern = code128_modules(spec.tracking_no)
    module = (w - 10 * mm) / len(pattern)
    path = c.beginPath()
    for start, length in runs(pattern):
        path.rect(5 * mm + start * module, h - 40 * mm, length * module, 20 * mm)
    c.drawPath(path, stroke=0, fill=1)


def bare_pdf(specs: list[LabelSpec], size: str) -> bytes:
    w, h = page_size(size)
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=(w, h), pageCompression=1)
    for spec in specs:
        _bare_page(c, spec, w, h)
        c.showPage()
    c.save()
    return buffer.getvalue()


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _paired(ours, bare, units: int, pairs: int, fresh_qr: bool = True) -> tuple[float, float, float]:
    """(ours per second, bare per second, median of the paired ratios).

    Each pair runs both sides back to back, in alternating order, so that a burst of noise from
    the shared machine lands on one pair rather than on one side; the median ignores such pairs.
    """
    timings = []
    for i in range(pairs):
        if fresh_qr:
            clear_qr_cache()  # no label was drawn before: every QR code is encoded anew
        if i % 2:
            b, o = _seconds(bare), _seconds(ours)
        else:
            o, b = _seconds(ours), _seconds(bare)
        timings.append((o, b))
    ratio = statistics.median(b / o for o, b in timings)
    return units / min(o for o, _ in timings), units / min(b for _, b in timings), ratio


CHUNK = 25  # single labels are paired in chunks of this many PDFs a side
TARGETS = {"single": 0.8, "batch": 0.5}
FIGURES = {"single": "single labels", "batch": "{count:,}-page batch"}


def _measure(specs: list[LabelSpec], rounds: int, size: str, fresh_qr: bool) -> dict[str, tuple[float, float, float]]:
    """{"single" | "batch": (ours per second, bare per second, median paired ratio)}."""
    singles = []
    for _ in range(rounds):
        for i in range(0, len(specs), CHUNK):
            part = specs[i:i + CHUNK]
            if not fresh_qr:
                [qr_matrix(s.track_url) for s in part]
            singles.append(_paired(lambda: [labels_pdf([s], size) for s in part],
                                   lambda: [bare_pdf([s], size) for s in part], len(part), 1, fresh_qr))
    if not fresh_qr:
        [qr_matrix(s.track_url) for s in specs]
    return {"single": tuple(statistics.median(p[k] for p in singles) for k in range(3)),
            "batch": _paired(lambda: labels_pdf(specs, size), lambda: bare_pdf(specs, size),
                             len(specs), rounds, fresh_qr)}


def _rows(results: dict[str, tuple[float, float, float]], count: int) -> list[dict]:
    return [{"figure": FIGURES[name].format(count=count), "ours": round(ours, 1), "ours_unit": "labels/s",
             "baseline": round(bare, 1), "ratio": round(ratio, 3), "target": TARGETS[name], "met": ratio >= TARGETS[name]}
            for name, (ours, bare, ratio) in results.items()]


def measure(count: int = 1000, rounds: int = 3, size: str = "100x150") -> list[dict]:
    """Rows for single labels and one `count`-page batch, every QR code encoded anew; the baseline is
    the bare canvas's labels per second in the same run."""
    register()
    rows = _rows(_measure(varied_specs(count), rounds, size, fresh_qr=True), count)
    clear_qr_cache()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the labels; batch PDFs of each side")
    parser.add_argument("--size", default="100x150")
    args = parser.parse_args(argv)
    register()
    specs = varied_specs(args.count)
    results = _measure(specs, args.rounds, args.size, fresh_qr=True)
    warm = _measure(specs, args.rounds, args.size, fresh_qr=False)
    clear_qr_cache()
    qr_rate = len(specs) / _seconds(lambda: [qr_matrix(s.track_url) for s in specs])
    clear_qr_cache()
    print(f"labels: {args.count} varied {args.size} labels, {args.rounds} rounds; single: pairs of {CHUNK} PDFs "
          f"a side, batch: pairs of {args.count}-page PDFs; ratio: the median pair")
    for name, (ours, bare, ratio) in results.items():
        verdict = "ok" if ratio >= TARGETS[name] else "BELOW TARGET"
        print(f"  {name:6}  ours {ours:7.0f}/s   bare canvas {bare:7.0f}/s   ratio {ratio:.2f}"
              f"  (target ≥ {TARGETS[name]})  {verdict}")
    print(f"  QR codes alone (zxing-cpp): {qr_rate:7.0f}/s, {results['batch'][1] / qr_rate:.2f} bare batch pages' "
          "time each")
    print("  with every QR code encoded beforehand (what the rest of the label costs):")
    for name, (ours, bare, ratio) in warm.items():
        print(f"  {name:6}  ours {ours:7.0f}/s   bare canvas {bare:7.0f}/s   ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
