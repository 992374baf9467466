"""Postage (邮资): what a packet weighs and costs, and which office pays for it.

A packet is priced when it is made, from a tariff file (config/data/postage.yaml, or the installation's
own: TONGBAN_POSTAGE_TARIFF_FILE) by the zone its two ends lie in and its estimated weight, as 政务专递
contract tariffs are written (首重 + 续重). When a carrier's answer names the amount it charged, the carrier
adapter calls `charged_by_carrier`, and that amount replaces the tariff's. Who pays is decided once, when
the packet is made: the collecting or the owning office, by packet kind and matter.

The arithmetic (`weigh`, `price`, `payer_side`) is plain functions over a `Tariff`, tested without a database.
"""
from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

import yaml

from config.settings import DATA_DIR, Settings
from mailing.states import PacketKind
from mailing.tables import Packet
from routing.directory import Directory
from routing.transit import ZONES, zone

SIDES = ("collecting", "owning")
SIDE_TITLES = {"collecting": "收件单位", "owning": "办理单位"}
SOURCES = ("tariff", "carrier")
SOURCE_TITLES = {"tariff": "按资费标准计算", "carrier": "承运商计费"}
DEFAULT_FILE = DATA_DIR / "postage.yaml"
log = logging.getLogger(__name__)


class TariffError(ValueError):
    """The tariff file says something that cannot be priced."""


@dataclass(frozen=True)
class Rate:
    """One zone's price: `first_cents` up to `first_grams`, then `step_cents` for each `step_grams` begun."""
    first_grams: int
    first_cents: int
    step_grams: int
    step_cents: int


@dataclass(frozen=True)
class Tariff:
    rates: dict[str, Rate]
    envelope_grams: int = 50
    per_copy_grams: int = 10
    originals: dict[str, int] = field(default_factory=dict)      # material code → grams per original copy
    payers: dict[str, str] = field(default_factory=dict)         # packet kind → side
    matter_payers: dict[str, dict[str, str]] = field(default_factory=dict)  # matter → kind → side


# -- the arithmetic ------------------------------------------------------------------------------------

def weigh(tariff: Tariff, contents: list[dict]) -> int:
    """Estimated grams: the envelope and every copy of every material (an original listed in the tariff
    at its own weight; anything else as sheets)."""
    grams = tariff.envelope_grams
    for item in contents:
        copies = max(1, int(item.get("copies") or 1))
        heavy = tariff.originals.get(item.get("code", "")) if item.get("original") else None
        grams += copies * (heavy if heavy is not None else tariff.per_copy_grams)
    return grams


def price(tariff: Tariff, zone_name: str, grams: int) -> int:
    """Cents for a packet of `grams` in `zone_name`: the first step, and each further step begun."""
    rate = tariff.rates[zone_name]
    extra = max(0, grams - rate.first_grams)
    return rate.first_cents + math.ceil(extra / rate.step_grams) * rate.step_cents


def payer_side(tariff: Tariff, matter_code: str | None, kind: str) -> str | None:
    """`collecting` or `owning` for a packet of `kind` in a case of `matter_code`: the matter's own rule,
    else the default; None where neither names the kind."""
    side = tariff.matter_payers.get(matter_code or "", {}).get(kind)
    return side or tariff.payers.get(kind)


def yuan(cents: int | None) -> str:
    """12.50 for 1250 cents; "" for no amount."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


# -- the tariff file -------------------------------------------------------------------------------------

def _cents(value, where: str) -> int:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise TariffError(f"{where}: {value!r} is not an amount in yuan") from None
    cents = amount * 100
    if cents != cents.to_integral_value() or cents < 0:
        raise TariffError(f"{where}: {value!r} is not a whole number of fen (分) at least 0")
    return int(cents)


def _grams(value, where: str, *, positive: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (1 if positive else 0):
        raise TariffError(f"{where}: {value!r} should be a whole number of grams" + (" above 0" if positive else ""))
    return value


def _side(value, where: str) -> str:
    if value not in SIDES:
        raise TariffError(f"{where}: {value!r} should be one of {', '.join(SIDES)}")
    return value


def _kinds(mapping, where: str) -> dict[str, str]:
    if not isinstance(mapping, dict):
        raise TariffError(f"{where}: should map packet kinds to a side")
    kinds = {k.value for k in PacketKind}
    unknown = set(mapping) - kinds
    if unknown:
        raise TariffError(f"{where}: unknown packet kind(s) {', '.join(sorted(unknown))}")
    return {kind: _side(side, f"{where}.{kind}") for kind, side in mapping.items()}


def parse_tariff(data: dict) -> Tariff:
    """A Tariff from the file's YAML, every problem named with where it is."""
    if not isinstance(data, dict):
        raise TariffError("the tariff file should hold a mapping (weights, zones, payers)")
    zones = data.get("zones") or {}
    missing = [z for z in ZONES if z not in zones]
    if missing:
        raise TariffError(f"zones: missing {', '.join(missing)}")
    rates = {}
    for name, rate in zones.items():
        if name not in ZONES:
            raise TariffError(f"zones: unknown zone {name!r} (one of {', '.join(ZONES)})")
        where = f"zones.{name}"
        rates[name] = Rate(_grams(rate.get("first_grams"), f"{where}.first_grams", positive=True),
                           _cents(rate.get("first"), f"{where}.first"),
                           _grams(rate.get("step_grams"), f"{where}.step_grams", positive=True),
                           _cents(rate.get("step"), f"{where}.step"))
    weights = data.get("weights") or {}
    originals = {str(code): _grams(g, f"weights.originals.{code}")
                 for code, g in (weights.get("originals") or {}).items()}
    payers = data.get("payers") or {}
    matters = payers.get("matters") or {}
    if not isinstance(matters, dict):
        raise TariffError("payers.matters: should map matter codes to their kinds' payers")
    return Tariff(rates, _grams(weights.get("envelope_grams", 50), "weights.envelope_grams"),
                  _grams(weights.get("per_copy_grams", 10), "weights.per_copy_grams"), originals,
                  _kinds(payers.get("default") or {}, "payers.default"),
                  {str(code): _kinds(kinds or {}, f"payers.matters.{code}") for code, kinds in matters.items()})


_cache: dict[str, tuple[float, Tariff]] = {}
_lock = threading.Lock()


def tariff_path(settings: Settings) -> Path:
    return Path(settings.postage_tariff_file) if settings.postage_tariff_file else DEFAULT_FILE


def load_tariff(settings: Settings) -> Tariff:
    """The tariff the settings name, read again when the file changes (an edited price applies to the next
    packet without a restart)."""
    path = tariff_path(settings)
    stamp = os.stat(path).st_mtime_ns
    with _lock:
        hit = _cache.get(str(path))
        if hit and hit[0] == stamp:
            return hit[1]
    try:
        with path.open(encoding="utf-8") as f:
            tariff = parse_tariff(yaml.safe_load(f))
    except (TariffError, yaml.YAMLError) as e:
        if hit:  # a bad edit must not stop the windows: the last good tariff prices until it is fixed
            log.error("postage tariff %s is not valid, still pricing by the last good one: %s", path, e)
            return hit[1]
        raise TariffError(f"{path.name}: {e}") from None
    with _lock:
        _cache[str(path)] = (stamp, tariff)
    return tariff


# -- packets ---------------------------------------------------------------------------------------------

class CaseParties(Protocol):
    """What pricing needs of a packet's case (a tracking Case has these): its matter and its two offices."""
    matter_code: str
    collecting_office: str
    owning_office: str


def _paid_as(session, packet: Packet) -> str:
    """The kind whose rule a packet is paid by: a replacement as the packet it replaces, unless the
    tariff names replacements (see charge_by_tariff)."""
    from mailing.packets import served_kind  # packets imports this module to price what it makes
    return served_kind(session, packet).value


def charge_by_tariff(session, settings: Settings, directory: Directory, packet: Packet,
                     parties: CaseParties | None) -> Packet:
    """Weight, postage (source `tariff`) and payer of a packet just made. Without `parties` (no case at
    hand), the office that sends the packet pays."""
    tariff = load_tariff(settings)
    packet.weight_grams = weigh(tariff, packet.contents)
    origin = directory.post(packet.from_office)
    packet.postage_cents = price(tariff, zone(directory, origin.division_code if origin else packet.to_division,
                                              packet.to_division), packet.weight_grams)
    packet.postage_source = "tariff"
    side = None
    if parties is not None:
        side = payer_side(tariff, parties.matter_code, packet.kind)
        if side is None and packet.kind == PacketKind.REPLACEMENT.value:
            side = payer_side(tariff, parties.matter_code, _paid_as(session, packet))
    packet.postage_payer = (parties.collecting_office if side == "collecting" else parties.owning_office) \
        if side else packet.from_office
    session.add(packet)
    return packet


def charged_by_carrier(packet: Packet, cents: int, weight_grams: int | None = None) -> Packet:
    """The carrier's answer named what it charged (and, often, what it weighed): that amount is the
    packet's postage from now on (source `carrier`); the payer stays as decided when it was made. Called
    by a carrier adapter inside the caller's transaction; commits nothing."""
    if isinstance(cents, bool) or not isinstance(cents, int) or cents < 0:
        raise ValueError(f"postage in cents should be a whole number at least 0, not {cents!r}")
    if weight_grams is not None:
        if isinstance(weight_grams, bool) or not isinstance(weight_grams, int) or weight_grams <= 0:
            raise ValueError(f"weight in grams should be a whole number above 0, not {weight_grams!r}")
        packet.weight_grams = weight_grams
    packet.postage_cents, packet.postage_source = cents, "carrier"
    return packet
