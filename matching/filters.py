"""Hard filters on a proposed pair. Certifications and same-enterprise exclusion always apply."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from matching.profiles import normalise_certification
from matching.weights import MatchFilters


@dataclass(frozen=True)
class PairFilter:
    """A :class:`MatchFilters` prepared for fast checks, plus the names of the filters it applies.

    Build it with :meth:`from_filters`, passing the circle's county codes (``RegionRegistry.in_circle_codes()``)
    so that ``in_circle_only`` can be checked without region lookups.
    """

    cross_region_only: bool
    exclude_enterprises: frozenset[str]
    exclude_regions: frozenset[str]
    min_score: float
    in_circle_only: bool = False
    circle: frozenset[str] = frozenset()  # county codes in the circle; read only when in_circle_only

    @classmethod
    def from_filters(cls, filters: MatchFilters, circle: frozenset[str] | None = None) -> PairFilter:
        """Prepare ``filters``; ``circle`` (the circle's county codes) is required when ``in_circle_only``."""
        if filters.in_circle_only and circle is None:
            raise ValueError("in_circle_only needs the circle's county codes")
        return cls(
            cross_region_only=filters.cross_region_only,
            exclude_enterprises=frozenset(filters.exclude_enterprises),
            exclude_regions=frozenset(filters.exclude_regions),
            min_score=filters.min_score,
            in_circle_only=filters.in_circle_only,
            circle=circle or frozenset(),
        )

    def allows(
        self,
        supplier_id: str,
        supplier_region: str | None,
        supplier_certs: frozenset[str],
        buyer_id: str,
        buyer_region: str | None,
        required: frozenset[str],
    ) -> bool:
        """Every filter except ``min_score`` (which needs the score). Set lookups only."""
        if supplier_id == buyer_id:
            return False
        if not required <= supplier_certs:
            return False
        if supplier_id in self.exclude_enterprises or buyer_id in self.exclude_enterprises:
            return False
        if supplier_region in self.exclude_regions or buyer_region in self.exclude_regions:
            return False
        if self.in_circle_only and (supplier_region not in self.circle or buyer_region not in self.circle):
            return False
        return not (
            self.cross_region_only
            and supplier_region is not None
            and supplier_region == buyer_region
        )

    def applied(self, required: Iterable[str]) -> list[str]:
        """Names of the filters in force for a pair, e.g. ``certifications:IATF16949``."""
        names = ["same_enterprise"]
        req = sorted(required)
        if req:
            names.append("certifications:" + ",".join(req))
        if self.cross_region_only:
            names.append("cross_region_only")
        if self.in_circle_only:
            names.append("in_circle_only")
        if self.exclude_enterprises:
            names.append(f"exclude_enterprises:{len(self.exclude_enterprises)}")
        if self.exclude_regions:
            names.append("exclude_regions:" + ",".join(sorted(self.exclude_regions)))
        if self.min_score > 0:
            names.append(f"min_score:{self.min_score:g}")
        return names


def certification_keys(certs: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise_certification(c) for c in certs)
