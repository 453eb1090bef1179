"""Quantity units: normalise common Chinese and English spellings to a dimension and a factor.

An unknown unit is kept as given and reported; it is never guessed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class UnitInfo:
    """A recognised unit: ``value * factor`` is in ``base`` (e.g. t/a)."""

    dimension: str
    base: str
    factor: float


_MULTIPLIERS = {"": 1.0, "万": 1e4, "千": 1e3, "百万": 1e6, "亿": 1e8}
_PERIODS = {"年": 1.0, "a": 1.0, "yr": 1.0, "y": 1.0, "year": 1.0, "annum": 1.0, "月": 12.0, "month": 12.0}
# Counted things and masses. Each maps a spelling to (dimension, factor to the dimension's base).
_QUANTITIES: dict[str, tuple[str, float]] = {
    "吨": ("mass", 1.0), "t": ("mass", 1.0), "tonne": ("mass", 1.0), "tonnes": ("mass", 1.0),
    "ton": ("mass", 1.0), "tons": ("mass", 1.0), "公斤": ("mass", 1e-3), "千克": ("mass", 1e-3),
    "kg": ("mass", 1e-3), "克": ("mass", 1e-6), "g": ("mass", 1e-6), "kt": ("mass", 1e3),
    "件": ("pieces", 1.0), "个": ("pieces", 1.0), "只": ("pieces", 1.0), "片": ("pieces", 1.0),
    "颗": ("pieces", 1.0), "粒": ("pieces", 1.0), "pcs": ("pieces", 1.0), "pc": ("pieces", 1.0),
    "pieces": ("pieces", 1.0), "台": ("units", 1.0), "辆": ("units", 1.0), "架": ("units", 1.0),
    "units": ("units", 1.0), "unit": ("units", 1.0), "套": ("sets", 1.0), "sets": ("sets", 1.0),
    "set": ("sets", 1.0), "gwh": ("energy", 1.0), "mwh": ("energy", 1e-3), "kwh": ("energy", 1e-6),
    "平方米": ("area", 1.0), "m2": ("area", 1.0), "㎡": ("area", 1.0), "立方米": ("volume", 1.0),
    "m3": ("volume", 1.0), "方": ("volume", 1.0), "米": ("length", 1.0), "m": ("length", 1.0),
    "km": ("length", 1e3), "公里": ("length", 1e3),
}
_BASES = {"mass": "t/a", "pieces": "件/年", "units": "台/年", "sets": "套/年", "energy": "GWh/年",
          "area": "m2/年", "volume": "m3/年", "length": "m/年"}
_SPLIT = re.compile(r"^(?P<qty>.+?)\s*(?:/|每|per)\s*(?P<period>.+)$")


def _clean(unit: str) -> str:
    return "".join(unicodedata.normalize("NFKC", unit).strip().lower().split())


@functools.lru_cache(maxsize=4096)  # a bulk import repeats a few dozen spellings thousands of times
def parse_unit(unit: str) -> UnitInfo | None:
    """Recognise ``unit`` (``万吨/年``, ``t/a``, ``GWh/年``, ``万件/年`` …) or return ``None``."""
    text = _clean(unit)
    match = _SPLIT.match(text)
    period_factor = 1.0
    if match:
        text = match.group("qty")
        period = _PERIODS.get(match.group("period"))
        if period is None:
            return None
        period_factor = period
    elif text.startswith("年产"):
        text = text[2:]
    for prefix in sorted(_MULTIPLIERS, key=len, reverse=True):
        if text.startswith(prefix) and text[len(prefix) :] in _QUANTITIES:
            dimension, factor = _QUANTITIES[text[len(prefix) :]]
            return UnitInfo(dimension, _BASES[dimension], factor * _MULTIPLIERS[prefix] * period_factor)
    return None


def to_base(value: float, unit: str) -> tuple[float, str] | None:
    """Convert ``value unit`` to its dimension's base unit, or ``None`` if the unit is unknown."""
    info = parse_unit(unit)
    return None if info is None else (value * info.factor, info.base)
