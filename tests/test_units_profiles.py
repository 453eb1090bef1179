"""Unit normalisation and profile validation at the edge."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from matching.profiles import Enterprise, normalise_certification
from matching.units import parse_unit, to_base


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1, "吨/年", (1.0, "t/a")),
        (1.5, "万吨/年", (15000.0, "t/a")),
        (3, "t/a", (3.0, "t/a")),
        (3, "t/yr", (3.0, "t/a")),
        (2, "吨/月", (24.0, "t/a")),
        (60, "万件/年", (600000.0, "件/年")),
        (5, "台/年", (5.0, "台/年")),
        (30, "万套/年", (300000.0, "套/年")),
        (30, "GWh/年", (30.0, "GWh/年")),
        (500, "MWh/年", (0.5, "GWh/年")),
        (10, "万辆/年", (100000.0, "台/年")),
    ],
)
def test_unit_spellings(value: float, unit: str, expected: tuple[float, str]) -> None:
    got = to_base(value, unit)
    assert got is not None
    assert got[0] == pytest.approx(expected[0]) and got[1] == expected[1]


@pytest.mark.parametrize("unit", ["furlongs/fortnight", "吨/光年", "桶", ""])
def test_unknown_units_are_not_guessed(unit: str) -> None:
    assert parse_unit(unit) is None


def _profile(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "zy-1", "name": "遵义某锰业", "region_code": "520304",
                            "offers": [{"id": "o1", "product": "电解锰", "capacity": {"value": 3, "unit": "万吨/年"}}]}
    base.update(over)
    return base


def test_valid_profile_and_unknown_unit_warning() -> None:
    ent = Enterprise.model_validate(_profile(needs=[{"id": "n1", "product": "锰矿", "volume": {"value": 1,
                                                                                              "unit": "车皮"}}]))
    assert ent.unit_warnings() == [
        "needs[0].volume.unit: unknown unit '车皮' kept as given; capacity fit is neutral"]
    assert ent.needs[0].volume is not None and ent.needs[0].volume.unit == "车皮"


@pytest.mark.parametrize(
    ("over", "loc"),
    [
        ({"id": "bad id!"}, ("id",)),
        ({"offers": [{"id": "o1", "product": "a"}, {"id": "o1", "product": "b"}]}, ("offers",)),
        ({"offers": [{"id": "o1", "product": "a", "capacity": {"value": -1, "unit": "吨/年"}}]},
         ("offers", 0, "capacity", "value")),
        ({"offers": [{"id": "o1", "product": "a", "capacity": {"value": "lots", "unit": "吨/年"}}]},
         ("offers", 0, "capacity", "value")),
        ({"region_code": None}, ()),
        ({"credit_code": "91500102MA5UX7T27Y"}, ("credit_code",)),
        ({"region_code": "5203"}, ("region_code",)),
    ],
)
def test_invalid_profiles_name_the_field(over: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        Enterprise.model_validate(_profile(**over))
    assert info.value.errors()[0]["loc"] == loc


def test_credit_code_checksum_accepts_valid() -> None:
    ent = Enterprise.model_validate(_profile(credit_code="91110000600037341L"))
    assert ent.credit_code == "91110000600037341L"


def test_certification_normalisation() -> None:
    assert normalise_certification("IATF 16949") == normalise_certification("iatf16949")
    assert normalise_certification("GJB 9001C-2017") == "GJB9001C2017"
