"""Deterministic synthetic enterprise profiles drawn from the seed chain graph (for benchmarks)."""

from __future__ import annotations

import random

from matching.chains import ChainGraph
from matching.profiles import Enterprise
from matching.regions import RegionRegistry

_PRODUCT_KINDS = {"raw_material", "intermediate", "component", "end_product"}


def synthetic_enterprises(graph: ChainGraph, regions: RegionRegistry, n: int, seed: int = 7) -> list[Enterprise]:
    """``n`` profiles: each offers 1–3 products and needs inputs of what it makes (plus a random need)."""
    rng = random.Random(seed)
    products = sorted(nid for nid, node in graph.nodes.items() if node.kind.value in _PRODUCT_KINDS)
    codes = sorted(r.code for r in regions.all())
    out: list[Enterprise] = []
    for i in range(n):
        offers = rng.sample(products, rng.randint(1, 3))
        inputs = sorted({inp for o in offers for inp in graph.inputs.get(o, ())})
        needs = [*rng.sample(inputs, min(len(inputs), rng.randint(0, 2))), rng.choice(products)]
        out.append(Enterprise.model_validate({
            "id": f"bench-{i:06d}",
            "name": f"基准企业{i}",
            "region_code": rng.choice(codes),
            "tags": rng.sample(["规上", "专精特新", "链主"], rng.randint(0, 1)),
            "offers": [{"id": f"o{j}", "product": graph.nodes[nid].name,
                        "description": graph.nodes[nid].description}
                       for j, nid in enumerate(offers)],
            "needs": [{"id": f"n{j}", "product": graph.nodes[nid].name} for j, nid in enumerate(needs)],
        }))
    return out
