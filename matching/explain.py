"""Human-readable explanation: region labels and the one-sentence Chinese summary of a match."""

from __future__ import annotations

from dataclasses import dataclass

from matching.scoring import RegionLike, RegionLookup

_NOT_A_CITY = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def region_label(regions: RegionLookup, code: str | None) -> str:
    """``遵义市汇川区`` for ``520303``; empty when the code is unknown."""
    if code is None:
        return ""
    try:
        region: RegionLike | None = regions.get(code)
    except (KeyError, LookupError, ValueError):
        region = None
    if region is None:
        return ""
    prefix = region.city if region.city and region.city not in _NOT_A_CITY else region.province
    if not prefix or region.name.startswith(prefix):
        return region.name
    return f"{prefix}{region.name}"


@dataclass(frozen=True)
class SummaryParts:
    """What the summary sentence mentions."""

    supplier_region: str
    supplier_name: str
    offer_label: str
    buyer_name: str
    relation: str  # same | specialisation | generalisation | input | input_2hop | sibling | equipment_for | text
    need_label: str  # the need's node (or product text for text relations)
    via_label: str | None  # 2-hop intermediate, or the shared category of siblings
    inferred: bool
    distance_km: float | None


def summary_zh(p: SummaryParts) -> str:
    """E.g. ``遵义市汇川区的X可供应硫酸锰，是Y所需磷酸锰铁锂的原料，相距236公里。``"""
    who = f"{p.supplier_region}的{p.supplier_name}" if p.supplier_region else p.supplier_name
    if p.relation == "same":
        why = f"正是{p.buyer_name}所需的{p.need_label}"
    elif p.relation == "specialisation":
        why = f"属于{p.buyer_name}所需的{p.need_label}"
    elif p.relation == "generalisation":
        why = f"涵盖{p.buyer_name}所需的{p.need_label}"
    elif p.relation == "input" and p.inferred:
        why = f"是{p.buyer_name}生产{p.need_label}所需的原料（推断需求）"
    elif p.relation == "input":
        why = f"是{p.buyer_name}所需{p.need_label}的原料"
    elif p.relation == "sibling":
        kind = f"同属{p.via_label}" if p.via_label else "同类"
        why = f"与{p.buyer_name}所需的{p.need_label}{kind}，可作替代"
    elif p.relation == "equipment_for":
        why = f"可用于{p.buyer_name}生产{p.need_label}（推断需求）"
    elif p.relation == "input_2hop" and p.inferred:
        via = f"经{p.via_label}，" if p.via_label else ""
        why = f"是{p.buyer_name}生产{p.need_label}的上游原料（{via}推断需求）"
    elif p.relation == "input_2hop":
        via = f"（经{p.via_label}）" if p.via_label else ""
        why = f"是{p.buyer_name}所需{p.need_label}的上游原料{via}"
    else:
        why = f"与{p.buyer_name}的需求“{p.need_label}”文本相近"
    where = "距离未知" if p.distance_km is None else f"相距{round(p.distance_km):d}公里"
    return f"{who}可供应{p.offer_label}，{why}，{where}。"
