"""County-level regions of Chongqing, Sichuan and Guizhou, with coordinates and circle membership.

Codes, names and county-seat coordinates come from the ``cpca`` package's GB/T 2260 table; membership of
the economic circle comes from ``seeds/regions.yaml`` (a rule over names, citing the 2021 plan).
"""

from __future__ import annotations

import csv
import math
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from matching.chains import default_seeds_dir, read_yaml

PROVINCES = {"50": "重庆市", "51": "四川省", "52": "贵州省"}
EARTH_RADIUS_KM = 6371.0088


class Region(BaseModel):
    """A county-level division (区 / 县 / 县级市 / 自治县)."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    province: str
    city: str
    lat: float
    lon: float
    in_circle: bool
    circle_partial: bool = False


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _read_adcodes() -> list[dict[str, str]]:
    text = resources.files("cpca").joinpath("resources/adcodes.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


class RegionRegistry:
    """Lookup of regions by code, address resolution and distances."""

    def __init__(self, regions: list[Region], aliases: dict[str, str] | None = None) -> None:
        self._by_code = {r.code: r for r in sorted(regions, key=lambda r: r.code)}
        self._aliases = dict(aliases or {})
        self._by_short_name: dict[str, list[Region]] = {}
        for region in self._by_code.values():
            for form in {region.name, short_name(region.name)}:
                self._by_short_name.setdefault(form, []).append(region)

    @classmethod
    @cache
    def load(cls, seeds_dir: Path | None = None) -> RegionRegistry:
        """Build the registry from cpca's table and the circle rule (cached per seeds dir)."""
        rows = [r for r in _read_adcodes() if r["adcode"][:2] in PROVINCES]
        names = {r["adcode"][:6]: r["name"] for r in rows}
        rule = read_yaml((seeds_dir or default_seeds_dir()) / "regions.yaml")
        cq, sc = rule["chongqing"], rule["sichuan"]
        renamed = {e["old"]: e for e in rule["renamed"]["entries"]}
        regions: list[Region] = []
        for row in rows:
            code = row["adcode"][:6]
            if code in renamed:
                code, row = renamed[code]["new"], {**row, "name": renamed[code]["name"]}
            county_level = code[4:] != "00" and row["name"] != "市辖区" and row["longitude"]
            if not county_level:
                continue
            province = PROVINCES[code[:2]]
            city = province if code[:2] == "50" else names.get(code[:4] + "00", "")
            name = row["name"]
            if code[:2] == "50":
                partial = name in cq["partial"]
                member = name in cq["counties"] or partial
            elif code[:2] == "51":
                partial = False
                member = city in sc["cities"] and name not in sc["excluded_counties"]
            else:
                partial = member = False
            regions.append(
                Region(code=code, name=name, province=province, city=city, lat=float(row["latitude"]),
                       lon=float(row["longitude"]), in_circle=member, circle_partial=partial)
            )
        return cls(regions, aliases={old: e["new"] for old, e in renamed.items()})

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.get(code) is not None

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Region | None:
        """The region for a code; a superseded code (e.g. 500228 梁平县) yields its successor."""
        return self._by_code.get(self._aliases.get(code, code))

    def covers(self, code: str) -> bool:
        """True for a known county, or a city (``xxxx00``) or province (``xx0000``) code with counties."""
        if code in self:
            return True
        prefix = code[:2] if code[2:] == "0000" else code[:4] if code[4:] == "00" else None
        return prefix is not None and any(c.startswith(prefix) for c in self._by_code)

    def all(self) -> list[Region]:
        return list(self._by_code.values())

    def distance_km(self, a: str | None, b: str | None) -> float | None:
        """Great-circle distance between two county seats, or ``None`` if either is unknown."""
        ra, rb = self.get(a or ""), self.get(b or "")
        if ra is None or rb is None:
            return None
        return haversine_km(ra.lat, ra.lon, rb.lat, rb.lon)

    def resolve_address(self, address: str) -> Region | None:
        """Resolve a free-text address (e.g. "遵义市汇川区高新大道") to its county, if unambiguous."""
        import cpca

        frame = cpca.transform([address])
        code = frame.iloc[0]["adcode"] if len(frame) else None
        if isinstance(code, str) and len(code) >= 6 and code[4:6] != "00" and (found := self.get(code[:6])):
            return found
        # cpca misses short forms such as "务川自治县"; try county names in the text, longest first.
        hits = {r.code: r for form, rs in self._by_short_name.items() if len(form) >= 2 and form in address
                for r in rs}
        if isinstance(code, str) and code[:2] in PROVINCES and code[:2] != "50" and code[2:4] != "00":
            hits = {c: r for c, r in hits.items() if c.startswith(code[:4])}  # narrowed to the named city
        return next(iter(hits.values())) if len(hits) == 1 else None


_SUFFIXES = ("土家族苗族自治县", "苗族土家族自治县", "仡佬族苗族自治县", "土家族自治县", "羌族自治县",
             "藏族自治县", "彝族自治县", "自治县", "县", "区", "市")


def short_name(name: str) -> str:
    """The common short form of a county name: "务川仡佬族苗族自治县" → "务川", "汇川区" → "汇川"."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            stem = name[: -len(suffix)]
            return stem
    return name
