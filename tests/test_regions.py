"""Regions: coverage of all China, circle membership, renamed codes, addresses, distances, paging helpers."""

from __future__ import annotations

import pytest

from matching.regions import RegionRegistry, haversine_km, short_name


@pytest.fixture(scope="module")
def regions() -> RegionRegistry:
    return RegionRegistry.load()


def test_every_county_of_china(regions: RegionRegistry) -> None:
    by_province: dict[str, int] = {}
    province_of_prefix: dict[str, set[str]] = {}
    for region in regions.all():
        by_province[region.province] = by_province.get(region.province, 0) + 1
        province_of_prefix.setdefault(region.code[:2], set()).add(region.province)
        assert len(region.code) == 6 and region.code[2:] != "0000" and region.city, region
        assert 73 < region.lon < 136 and 3 < region.lat < 54, region  # China, 南沙 included
    # 31 provincial-level divisions of the mainland (Taiwan, Hong Kong and Macao have no county codes).
    assert len(by_province) == 31 and all(len(names) == 1 for names in province_of_prefix.values())
    # GB/T 2260: Chongqing 38 county-level divisions, Sichuan 183, Guizhou 88, Hunan 122.
    assert {p: by_province[p] for p in ("重庆市", "四川省", "贵州省", "湖南省")} == {
        "重庆市": 38, "四川省": 183, "贵州省": 88, "湖南省": 122}
    assert len(regions) == sum(by_province.values()) > 2800
    assert [r.code for r in regions.all()] == sorted(r.code for r in regions.all())


@pytest.mark.parametrize(
    ("code", "name", "province", "city"),
    [
        ("430104", "岳麓区", "湖南省", "长沙市"),
        ("530102", "五华区", "云南省", "昆明市"),
        ("420106", "武昌区", "湖北省", "武汉市"),
        ("110105", "朝阳区", "北京市", "北京市"),  # a municipality is its own city, as Chongqing is
        ("441900", "东莞市", "广东省", "东莞市"),  # a prefecture city without counties is county-level
        ("429004", "仙桃市", "湖北省", "省直辖县级行政区划"),  # administered by the province directly
    ],
)
def test_out_of_circle_regions(regions: RegionRegistry, code: str, name: str, province: str, city: str) -> None:
    region = regions.get(code)
    assert region is not None and (region.name, region.province, region.city) == (name, province, city)
    assert not region.in_circle and code not in regions.in_circle_codes()


def test_retired_divisions_without_successor_are_unknown(regions: RegionRegistry) -> None:
    # 邯郸县 (merged into 邯郸市 districts, 2016) and 宁波江东区 (merged into 鄞州区, 2016).
    assert regions.get("130421") is None and "330204" not in regions


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
    members = {r.code for r in regions.all() if r.in_circle}
    assert {c[:2] for c in members} == {"50", "51"}  # the rule names only Chongqing and Sichuan counties
    assert members <= regions.in_circle_codes()


def test_renamed_division_and_alias(regions: RegionRegistry) -> None:
    liangping = regions.get("500155")
    assert liangping is not None and liangping.name == "梁平区"
    old = regions.get("500228")
    assert old is not None and old.code == "500155"
    assert "500228" in regions and "999999" not in regions
    assert "500228" in regions.in_circle_codes()  # the old code of a member stays a member


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("遵义市汇川区高新大道", "520303"),
        ("重庆市涪陵区白涛街道", "500102"),
        ("务川自治县大坪镇", "520326"),
        ("四川省宜宾市叙州区", "511504"),
        ("重庆市梁平区双桂街道", "500155"),
        ("北京市朝阳区", "110105"),
        ("湖南省长沙市岳麓区麓山南路", "430104"),
        ("广东省东莞市松山湖", "441900"),
    ],
)
def test_address_resolution(regions: RegionRegistry, address: str, code: str) -> None:
    region = regions.resolve_address(address)
    assert region is not None and region.code == code


# 长沙市 is a city, not 长沙县; 通州 is a district of both Beijing and 南通, neither in 长沙.
@pytest.mark.parametrize("address", ["成都市", "遵义市新蒲新区", "某某路1号", "长沙市通州路1号"])
def test_unresolvable_addresses_return_none(regions: RegionRegistry, address: str) -> None:
    assert regions.resolve_address(address) is None


def test_distance(regions: RegionRegistry) -> None:
    d = regions.distance_km("520303", "500102")
    assert d is not None and 180 < d < 260  # 汇川 → 涪陵, straight line
    assert regions.distance_km("520303", "520303") == 0.0
    assert regions.distance_km("520303", "000000") is None
    far = regions.distance_km("430104", "500117")
    assert far is not None and 650 < far < 900  # 长沙岳麓 → 重庆合川
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.19, rel=1e-3)


def test_covers_city_and_province_codes(regions: RegionRegistry) -> None:
    assert regions.covers("520303") and regions.covers("520300") and regions.covers("500000")
    assert regions.covers("430000") and regions.covers("430100") and regions.covers("441900")
    assert not regions.covers("520399") and not regions.covers("710000") and not regions.covers("5203")


def test_after_pages_in_code_order(regions: RegionRegistry) -> None:
    everything = regions.all()
    assert regions.after(None) == everything
    middle = everything[len(everything) // 2].code
    rest = regions.after(middle)
    assert rest == [r for r in everything if r.code > middle] and rest[0].code > middle
    assert regions.after("430103x")[0].code == "430104"  # any string works as a bound
    assert regions.after(everything[-1].code) == []


@pytest.mark.parametrize(("text", "code"), [("湖南省", "43"), ("湖南", "43"), ("43", "43"), ("广西", "45"),
                                            ("重庆市", "50"), ("湖", None), ("火星省", None), ("71", None)])
def test_province_code(regions: RegionRegistry, text: str, code: str | None) -> None:
    assert regions.province_code(text) == code
    if code is not None:
        assert regions.provinces()[code].startswith(text) or text == code


def test_short_name() -> None:
    assert short_name("务川仡佬族苗族自治县") == "务川"
    assert short_name("汇川区") == "汇川"
    assert short_name("忠县") == "忠县"
