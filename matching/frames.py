"""Profiles as polars frames and back: ``(enterprises_df, offers_df, needs_df)``, one row per item."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import polars as pl

from matching.profiles import Enterprise, Need, Offer, Quantity

ENTERPRISE_SCHEMA: dict[str, Any] = {
    "id": pl.String, "name": pl.String, "credit_code": pl.String, "region_code": pl.String,
    "address": pl.String, "park": pl.String, "tags": pl.List(pl.String),
    "certifications": pl.List(pl.String), "source_doc": pl.String, "source_section": pl.String,
}
OFFER_SCHEMA: dict[str, Any] = {
    "enterprise_id": pl.String, "offer_id": pl.String, "product": pl.String, "description": pl.String,
    "capacity_value": pl.Float64, "capacity_unit": pl.String,
}
NEED_SCHEMA: dict[str, Any] = {
    "enterprise_id": pl.String, "need_id": pl.String, "product": pl.String, "description": pl.String,
    "volume_value": pl.Float64, "volume_unit": pl.String, "required_certifications": pl.List(pl.String),
}
def profiles_to_frames(enterprises: Iterable[Enterprise]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Flatten profiles into ``(enterprises_df, offers_df, needs_df)``."""
    ents: list[dict[str, Any]] = []
    offers: list[dict[str, Any]] = []
    needs: list[dict[str, Any]] = []
    for e in enterprises:
        ents.append({
            "id": e.id, "name": e.name, "credit_code": e.credit_code, "region_code": e.region_code,
            "address": e.address, "park": e.park, "tags": list(e.tags),
            "certifications": list(e.certifications),
            "source_doc": e.source.doc if e.source else None,
            "source_section": e.source.section if e.source else None,
        })
        for o in e.offers:
            offers.append({
                "enterprise_id": e.id, "offer_id": o.id, "product": o.product, "description": o.description,
                "capacity_value": o.capacity.value if o.capacity else None,
                "capacity_unit": o.capacity.unit if o.capacity else None,
            })
        for n in e.needs:
            needs.append({
                "enterprise_id": e.id, "need_id": n.id, "product": n.product, "description": n.description,
                "volume_value": n.volume.value if n.volume else None,
                "volume_unit": n.volume.unit if n.volume else None,
                "required_certifications": list(n.required_certifications),
            })
    return (
        pl.DataFrame(ents, schema=ENTERPRISE_SCHEMA),
        pl.DataFrame(offers, schema=OFFER_SCHEMA),
        pl.DataFrame(needs, schema=NEED_SCHEMA),
    )


def _quantity(value: float | None, unit: str | None) -> Quantity | None:
    return None if unit is None else Quantity(value=value, unit=unit)


def frames_to_profiles(
    enterprises_df: pl.DataFrame, offers_df: pl.DataFrame | None = None, needs_df: pl.DataFrame | None = None
) -> list[Enterprise]:
    """Rebuild validated profiles from :func:`profiles_to_frames` frames (offers/needs frames optional).

    A single frame with nested ``offers`` / ``needs`` columns (one row per ``Enterprise.model_dump()``)
    is accepted as well.
    """
    if "offers" in enterprises_df.columns or "needs" in enterprises_df.columns:
        return [
            Enterprise.model_validate({k: v for k, v in row.items() if v is not None})
            for row in enterprises_df.to_dicts()
        ]
    offers: dict[str, list[Offer]] = defaultdict(list)
    needs: dict[str, list[Need]] = defaultdict(list)
    if offers_df is not None:
        for r in offers_df.to_dicts():
            offers[r["enterprise_id"]].append(Offer(
                id=r["offer_id"], product=r["product"], description=r.get("description"),
                capacity=_quantity(r.get("capacity_value"), r.get("capacity_unit")),
            ))
    if needs_df is not None:
        for r in needs_df.to_dicts():
            needs[r["enterprise_id"]].append(Need(
                id=r["need_id"], product=r["product"], description=r.get("description"),
                volume=_quantity(r.get("volume_value"), r.get("volume_unit")),
                required_certifications=r.get("required_certifications") or [],
            ))
    out: list[Enterprise] = []
    for r in enterprises_df.to_dicts():
        source = {"doc": r["source_doc"], "section": r.get("source_section")} if r.get("source_doc") else None
        data = {
            "id": r["id"], "name": r["name"], "credit_code": r.get("credit_code"),
            "region_code": r.get("region_code"), "address": r.get("address"), "park": r.get("park"),
            "tags": r.get("tags") or [], "certifications": r.get("certifications") or [],
            "offers": offers.get(r["id"], []), "needs": needs.get(r["id"], []), "source": source,
        }
        out.append(Enterprise.model_validate(data))
    return out
