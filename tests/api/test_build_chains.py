"""A build from the store records each firm's chains from the links it just made, as linking again would."""

from __future__ import annotations

from collections.abc import Callable

from matching.chains import default_seeds_dir
from matching.service import ChainmatchService
from matching.settings import Settings


def test_a_built_index_knows_each_firms_chains(make_settings: Callable[..., Settings]) -> None:
    service = ChainmatchService.open(make_settings(seeds_dir=default_seeds_dir()), build_index=False)  # every seed firm
    try:
        service.index.build()
        engine = service.engine
        assert engine is not None and len(engine) > 10
        chains = sorted(service.index.graph.chains)
        members = {chain: service.index.enterprises_on(chain) for chain in chains}
        on_some_chain = 0
        for eid in engine.enterprise_ids():
            relinked = service.index.chains_for(eid)  # links the firm's items again
            assert {c for c in chains if eid in members[c]} == relinked, eid
            on_some_chain += bool(relinked)
        assert on_some_chain > 10
    finally:
        service.close()
