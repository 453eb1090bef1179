"""County-level regions of all China, with coordinates, province, city and circle membership.

Codes, names and county-seat coordinates come from the ``cpca`` package's GB/T 2260 table; membership of
the economic circle comes from ``seeds/regions.yaml`` (a rule over names, citing the 2021 plan), which also
lists divisions renamed or re-coded after that table was compiled (their old codes stay accepted as aliases).
"""

from __future__ import annotations

import bisect
import csv
import math
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from matching.chains import default_seeds_dir, read_yaml

# Province-level municipalities: their counties have no city level between them and the province.
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
EARTH_RADIUS_KM = 6371.0088


class Region(BaseModel):
    """A county-level division (区 / 县 / 县级市 / 自治县 / 旗, or a city without counties such as 东莞市)."""

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


def _read_adcodes() -> list[tuple[str, str, str, str]]:
    """cpca's table as ``(6-digit code, name, longitude, latitude)`` rows; coordinates may be empty."""
    text = resources.files("cpca").joinpath("resources/adcodes.csv").read_text(encoding="utf-8")
    rows = csv.reader(text.splitlines()[1:])
    return [(adcode[:6], name, lon, lat) for adcode, name, lon, lat in rows]


def _circle_member(code: str, name: str, city: str, rule: dict[str, Any]) -> tuple[bool, bool]:
    """``(in_circle, circle_partial)`` by the seeds rule; only Chongqing and Sichuan have members."""
    if code[:2] == "50":
        partial = name in rule["chongqing"]["partial"]
        return name in rule["chongqing"]["counties"] or partial, partial
    if code[:2] == "51":
        sc = rule["sichuan"]
        return city in sc["cities"] and name not in sc["excluded_counties"], False
    return False, False


class RegionRegistry:
    """Lookup of regions by code, address resolution and distances."""

    def __init__(self, regions: list[Region], aliases: dict[str, str] | None = None) -> None:
        self._by_code = {r.code: r for r in sorted(regions, key=lambda r: r.code)}
        self._codes = list(self._by_code)
        self._aliases = dict(aliases or {})
        self._provinces = {r.code[:2]: r.province for r in self._by_code.values()}
        self._cities = {r.code[:4]: r.city for r in self._by_code.values()}
        self._prefixes = {c[:2] for c in self._codes} | {c[:4] for c in self._codes}
        circle = {c for c, r in self._by_code.items() if r.in_circle}
        self._circle = frozenset(circle | {old for old, new in self._aliases.items() if new in circle})

    @cached_property
    def _by_short_name(self) -> dict[str, list[Region]]:
        """Regions by name and short form, built on the first address lookup."""
        index: dict[str, list[Region]] = {}
        for region in self._by_code.values():
            for form in {region.name, short_name(region.name)}:
                index.setdefault(form, []).append(region)
        return index

    @classmethod
    @cache
    def load(cls, seeds_dir: Path | None = None) -> RegionRegistry:
        """Build the registry from cpca's table and the circle rule (cached per seeds dir).

        Every county-level row of cpca's table with coordinates becomes a region, and so does a prefecture
        city without counties (东莞市 441900). Left out: Taiwan, Hong Kong and Macao (province-level codes
        only) and the six rows without coordinates, three counties abolished in 2014–2016 (130421 邯郸县,
        330204 江东区, 410211 金明区) but also 320812 清江浦区 and the provincial pilot codes 139001 定州市 and
        139002 辛集市 (GB/T 2260: 130682, 130181, absent from the table).
        """
        rows = _read_adcodes()
        names = {code: name for code, name, _, _ in rows}
        provinces = {code[:2]: name for code, name in names.items() if code[2:] == "0000"}
        with_counties = {code[:4] for code, name, lon, _ in rows if code[4:] != "00" and name != "市辖区" and lon}
        rule = read_yaml((seeds_dir or default_seeds_dir()) / "regions.yaml")
        renamed = {e["old"]: e for e in rule["renamed"]["entries"]}
        regions: list[Region] = []
        for code, name, lon, lat in rows:
            if code in renamed:
                code, name = renamed[code]["new"], renamed[code]["name"]
            if not lon or code[2:] == "0000" or code[:2] not in provinces or name == "市辖区":
                continue
            if code[4:] == "00":
                if code[:4] in with_counties:
                    continue  # a prefecture with counties: not itself county-level
                city = name
            else:
                city = provinces[code[:2]] if code[:2] in MUNICIPALITIES else names.get(code[:4] + "00", "")
            member, partial = _circle_member(code, name, city, rule)
            regions.append(
                Region(code=code, name=name, province=provinces[code[:2]], city=city, lat=float(lat),
                       lon=float(lon), in_circle=member, circle_partial=partial)
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
        return prefix is not None and prefix in self._prefixes

    def all(self) -> list[Region]:
        """Every region, ordered by code."""
        return list(self._by_code.values())

    def after(self, code: str | None) -> list[Region]:
        """The regions whose code sorts after ``code`` (all of them for ``None``), ordered by code."""
        start = 0 if code is None else bisect.bisect_right(self._codes, code)
        return [self._by_code[c] for c in self._codes[start:]]

    def in_circle_codes(self) -> frozenset[str]:
        """Codes of the counties in the circle (partial members included), with their old codes."""
        return self._circle

    def provinces(self) -> dict[str, str]:
        """Province names by 2-digit code, e.g. ``{"43": "湖南省", …}``."""
        return dict(self._provinces)

    def province_code(self, text: str) -> str | None:
        """The 2-digit code of a province given as its code (``43``), name (``湖南省``) or short form (``湖南``)."""
        if text in self._provinces:
            return text
        found = [c for c, name in self._provinces.items() if len(text) >= 2 and name.startswith(text)]
        return found[0] if len(found) == 1 else None

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
        if isinstance(code, str) and len(code) >= 6 and (found := self.get(code[:6])):  # incl. 东莞市 441900
            return found
        # cpca misses short forms such as "务川自治县"; try county names and their short forms in the text.
        text, scope = address, ""
        if isinstance(code, str) and code[:2] in self._provinces:
            # Short forms recur across China: keep the hits in the city (or province) cpca recognised when the
            # text names it (cpca also guesses from a town alone: 大坪镇 → 重庆), and do not read the city's
            # own name as a county's short form (长沙市 is not 长沙县).
            province, city = self._provinces[code[:2]], self._cities.get(code[:4], "")
            if code[:2] not in MUNICIPALITIES and len(city) >= 2 and city[:2] in address:
                scope = code[:4]
            elif province[:2] in address:
                scope = code[:2]
            for name in (city, province) if scope else ():
                text = text.replace(name, "|") if len(name) >= 2 else text
        hits = {r.code: r for form, rs in self._by_short_name.items() if len(form) >= 2 and form in text
                for r in rs if r.code.startswith(scope)}
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
