"""Enterprise supply and demand profiles: the contract's shape, validated at the edges."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from matching.sources import Source
from matching.text_safety import SafeName, SafeText
from matching.units import parse_unit

ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
EntityId = Annotated[str, Field(pattern=ID_PATTERN, examples=["zy-rongbai"])]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["520303"])]


class Quantity(BaseModel):
    """A capacity or volume. ``value`` may be null when the figure is unknown; never invent one."""

    model_config = ConfigDict(extra="forbid")

    value: float | None = Field(default=None, ge=0, allow_inf_nan=False, examples=[150])
    unit: SafeName = Field(min_length=1, max_length=32, examples=["万吨/年"])

    def unit_known(self) -> bool:
        return parse_unit(self.unit) is not None


def normalise_certification(cert: str) -> str:
    """Comparable form of a certification name: NFKC, upper case, no spaces, dashes or colons."""
    text = unicodedata.normalize("NFKC", cert).upper()
    return re.sub(r"[\s\-_:/]", "", text)


class Offer(BaseModel):
    """Something an enterprise supplies."""

    model_config = ConfigDict(extra="forbid")

    id: EntityId
    product: SafeName = Field(min_length=1, max_length=200, examples=["电解二氧化锰"])
    description: SafeText | None = Field(default=None, max_length=4000)
    capacity: Quantity | None = None


class Need(BaseModel):
    """Something an enterprise buys."""

    model_config = ConfigDict(extra="forbid")

    id: EntityId
    product: SafeName = Field(min_length=1, max_length=200, examples=["锰源（磷酸锰铁锂用）"])
    description: SafeText | None = Field(default=None, max_length=4000)
    volume: Quantity | None = None
    required_certifications: list[Annotated[SafeName, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )
    import_dependent: bool = Field(
        default=False,
        description="The buyer depends on imports for this input (进口依赖, e.g. 低α锡合金, PX): always warned",
    )


def _unique_ids(items: list[Offer] | list[Need], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"duplicate {what} id {item.id!r}")
        seen.add(item.id)


class Enterprise(BaseModel):
    """A full enterprise profile. ``region_code`` or a resolvable ``address`` is required."""

    model_config = ConfigDict(extra="forbid")

    id: EntityId
    name: SafeName = Field(min_length=1, max_length=200, examples=["贵州容百锂电材料有限公司"])
    credit_code: str | None = Field(default=None, description="统一社会信用代码 (checksum-validated)")
    region_code: RegionCode | None = None
    address: SafeName | None = Field(default=None, max_length=300)
    park: SafeName | None = Field(default=None, max_length=200)
    tags: list[Annotated[SafeName, Field(min_length=1, max_length=32)]] = Field(default_factory=list, max_length=30)
    certifications: list[Annotated[SafeName, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )
    offers: list[Offer] = Field(default_factory=list, max_length=200)
    needs: list[Need] = Field(default_factory=list, max_length=200)
    source: Source | None = None

    @field_validator("credit_code")
    @classmethod
    def _valid_credit_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uscc.validate(value))
        except StdnumError as exc:
            raise ValueError(f"invalid 统一社会信用代码: {exc}") from None

    @field_validator("offers")
    @classmethod
    def _unique_offers(cls, value: list[Offer]) -> list[Offer]:
        _unique_ids(value, "offer")
        return value

    @field_validator("needs")
    @classmethod
    def _unique_needs(cls, value: list[Need]) -> list[Need]:
        _unique_ids(value, "need")
        return value

    @model_validator(mode="after")
    def _has_location(self) -> Self:
        if self.region_code is None and not self.address:
            raise ValueError("either region_code or address is required")
        return self

    def certification_keys(self) -> set[str]:
        return {normalise_certification(c) for c in self.certifications}

    def unit_warnings(self) -> list[str]:
        """Warnings for quantities whose unit is not recognised (kept as given, fit neutral)."""
        warnings = [
            f"offers[{i}].capacity.unit: unknown unit {o.capacity.unit!r} kept as given; capacity fit is neutral"
            for i, o in enumerate(self.offers)
            if o.capacity is not None and not o.capacity.unit_known()
        ]
        warnings += [
            f"needs[{i}].volume.unit: unknown unit {n.volume.unit!r} kept as given; capacity fit is neutral"
            for i, n in enumerate(self.needs)
            if n.volume is not None and not n.volume.unit_known()
        ]
        return warnings
