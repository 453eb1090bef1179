"""``/v1/chains``: industrial chains with their nodes and edges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import PortalKey, ServiceDep
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from api.problems import NOT_FOUND
from api.schemas import ChainDetail, ChainEdge, ChainNodeOut, ChainPage, ChainSummary, SourceOut
from matching.chains import SEGMENTS, Chain, ChainGraph
from matching.errors import NotFoundError

router = APIRouter(prefix="/v1/chains", tags=["chains"])


def _summary(chain: Chain) -> ChainSummary:
    return ChainSummary(
        id=chain.id,
        name=chain.name,
        name_en=chain.name_en,
        regions=list(chain.regions),
        sources=[SourceOut(doc=s.doc, section=s.section) for s in chain.sources],
        segments={seg: list(chain.segments.get(seg, ())) for seg in SEGMENTS if seg in chain.segments},
        node_count=len(_chain_node_ids(chain)),
    )


def _chain_node_ids(chain: Chain) -> list[str]:
    ids = list(dict.fromkeys([*chain.node_ids(), *(n.id for n in chain.nodes)]))
    return ids


def chain_detail(graph: ChainGraph, chain: Chain) -> ChainDetail:
    segment_of = {nid: seg for seg in SEGMENTS for nid in chain.segments.get(seg, ())}
    ids = [i for i in _chain_node_ids(chain) if i in graph.nodes]
    members = set(ids)
    nodes = [
        ChainNodeOut(
            id=n.id,
            name=n.name,
            name_en=n.name_en,
            kind=n.kind.value,
            synonyms=[*n.synonyms, *n.shared_synonyms],
            description=n.description,
            segment=segment_of.get(n.id),
        )
        for n in (graph.nodes[i] for i in ids)
    ]
    edges: list[ChainEdge] = []
    for nid in ids:
        node = graph.nodes[nid]
        edges += [ChainEdge(source=i, target=nid, kind="input_of") for i in node.inputs if i in members]
        edges += [ChainEdge(source=nid, target=p, kind="is_a") for p in node.is_a if p in members]
    edges.sort(key=lambda e: (e.kind, e.source, e.target))
    return ChainDetail(**_summary(chain).model_dump(), nodes=nodes, edges=edges)


@router.get("", response_model=ChainPage, summary="List chains")
def list_chains(
    service: ServiceDep,
    _key: PortalKey,
    region_code: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="Chains a county's plan names")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> ChainPage:
    """Chains ordered by id. 中文：产业链列表。"""
    after = decode_cursor(cursor)
    chains = [
        c
        for cid, c in sorted(service.graph.chains.items())
        if (after is None or cid > after) and (region_code is None or region_code in c.regions)
    ]
    page = chains[:limit]
    more = len(chains) > limit
    return ChainPage(
        items=[_summary(c) for c in page], next_cursor=encode_cursor(page[-1].id) if more and page else None
    )


@router.get(
    "/{chain_id}", response_model=ChainDetail, summary="A chain's nodes and edges", responses=NOT_FOUND
)
def get_chain(
    chain_id: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$", examples=["polyamide"])],
    service: ServiceDep,
    _key: PortalKey,
) -> ChainDetail:
    """Nodes of the chain's segments (and nodes its file defines) with the `input_of` and `is_a` edges among
    them. 中文：产业链的节点与上下游关系。"""
    chain = service.graph.chains.get(chain_id)
    if chain is None:
        raise NotFoundError("chain", chain_id)
    return chain_detail(service.graph, chain)
