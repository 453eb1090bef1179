"""Regions: coverage of the three provinces, circle membership, renamed codes, addresses, distances."""

from __future__ import annotations

import pytest

from matching.regions import RegionRegistry, haversine_km, short_name


@pytest.fixture(scope="module")
def regions() -> RegionRegistry:
    return RegionRegistry.load()


def test_every_county_of_the_three_provinces(regions: RegionRegistry) -> None:
    by_province: dict[str, int] = {}
    for region in regions.all():
        by_province[region.province] = by_province.get(region.province, 0) + 1
        assert region.code[4:] != "00" and len(region.code) == 6
        assert 97 < region.lon < 111 and 24 < region.lat < 35, region
    # GB/T 2260: Chongqing 38 county-level divisions, Sichuan 183, Guizhou 88.
    assert by_province == {"重庆市": 38, "四川省": 183, "贵州省": 88}


def test_circle_membership(regions: RegionRegistry) -> None:
    def member(code: str) -> bool:
        region = regions.get(code)
        assert region is not None
        return region.in_circle

    assert member("500102") and member("500117")  # 涪陵, 合川
    assert member("510113")  # 成都青白江
    assert not member("500238")  # 巫溪: outside the circle
    assert not member("510726")  # 北川: excluded from 绵阳
    assert not member("520303")  # Guizhou is outside the circle
    assert regions.get("500154") is not None and regions.get("500154").circle_partial  # type: ignore[union-attr]


def test_renamed_division_and_alias(regions: RegionRegistry) -> None:
    liangping = regions.get("500155")
    assert liangping is not None and liangping.name == "梁平区"
    old = regions.get("500228")
    assert old is not None and old.code == "500155"
    assert "500228" in regions and "999999" not in regions


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("遵义市汇川区高新大道", "520303"),
        ("重庆市涪陵区白涛街道", "500102"),
        ("务川自治县大坪镇", "520326"),
        ("四川省宜宾市叙州区", "511504"),
        ("重庆市梁平区双桂街道", "500155"),
    ],
)
def test_address_resolution(regions: RegionRegistry, address: str, code: str) -> None:
    region = regions.resolve_address(address)
    assert region is not None and region.code == code


@pytest.mark.parametrize("address", ["北京市朝阳区", "成都市", "遵义市新蒲新区", "某某路1号"])
def test_unresolvable_addresses_return_none(regions: RegionRegistry, address: str) -> None:
    assert regions.resolve_address(address) is None


def test_distance(regions: RegionRegistry) -> None:
    d = regions.distance_km("520303", "500102")
    assert d is not None and 180 < d < 260  # 汇川 → 涪陵, straight line
    assert regions.distance_km("520303", "520303") == 0.0
    assert regions.distance_km("520303", "000000") is None
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.19, rel=1e-3)


def test_covers_city_and_province_codes(regions: RegionRegistry) -> None:
    assert regions.covers("520303") and regions.covers("520300") and regions.covers("500000")
    assert not regions.covers("520399") and not regions.covers("530000") and not regions.covers("5203")


def test_short_name() -> None:
    assert short_name("务川仡佬族苗族自治县") == "务川"
    assert short_name("汇川区") == "汇川"
    assert short_name("忠县") == "忠县"
