"""A build reads its corpus in chunks (``matching.corpus``): the result never depends on the chunk size or on
whether profiles or frames came in."""

from __future__ import annotations

import numpy as np
import pytest

import matching.corpus
from matching.chains import ChainGraph
from matching.engine import MatchEngine, profiles_to_frames
from matching.regions import RegionRegistry

from .conftest import StaticPolicy, base_profiles, ent


def _lists(engine: MatchEngine) -> dict[str, object]:
    out: dict[str, object] = {}
    for eid in engine.enterprise_ids():
        profile = engine.get(eid)
        assert profile is not None
        if profile.needs:
            out[f"s:{eid}"] = engine.suppliers_for(eid, k=20).model_dump()
        if profile.offers:
            out[f"b:{eid}"] = engine.buyers_for(eid, k=20).model_dump()
    return out


def test_chunked_builds_from_profiles_and_frames_equal_one_chunk(
    graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = [*base_profiles(), *(ent(f"mn-{i:02d}", "520303", [("o1", "硫酸锰", f"批号{i}")]) for i in range(9))]
    whole = MatchEngine.build(graph, regions, policy, profiles)
    monkeypatch.setattr(matching.corpus, "CHUNK_ENTERPRISES", 4)
    from_list = MatchEngine.build(graph, regions, policy, profiles)
    from_frames = MatchEngine.build(graph, regions, policy, profiles_to_frames(reversed(profiles)))
    assert from_list.index.block_count() == 1  # chunks are merged once the build is done
    expected = _lists(whole)
    assert expected and _lists(from_list) == expected
    assert _lists(from_frames) == expected
    assert from_frames.get("mn-03") == profiles[len(base_profiles()) + 3]


def test_an_empty_corpus_builds_and_accepts_writes(graph: ChainGraph, regions: RegionRegistry,
                                                   policy: StaticPolicy) -> None:
    engine = MatchEngine.build(graph, regions, policy, [])
    assert len(engine) == 0
    engine.upsert_many([])
    engine.upsert(ent("mn-1", "520303", [("o1", "硫酸锰")]))
    assert engine.enterprise_ids() == ["mn-1"]


def test_a_build_counted_and_linked_in_forked_processes_equals_one_process(
    graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from matching import item_work
    from matching.text import TextModel

    profiles = [*base_profiles(), *(ent(f"mn-{i:02d}", "520303", [("o1", "硫酸锰", f"批号{i}")]) for i in range(9))]
    monkeypatch.setattr(matching.corpus, "CHUNK_ENTERPRISES", 4)
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 2)
    parent = os.getpid()
    here: list[int] = []  # chunks this process counted itself (a forked child appends to its own copy)
    counts = TextModel.counts

    def counted(self: TextModel, texts: list[str]) -> object:
        if os.getpid() == parent and len(texts) > 1:
            here.append(len(texts))
        return counts(self, texts)

    monkeypatch.setattr(TextModel, "counts", counted)
    one = MatchEngine.build(graph, regions, policy, profiles, processes=1)
    serial = list(here)  # every chunk, then the graph's node texts (counted here in both builds)
    here.clear()
    two = MatchEngine.build(graph, regions, policy, profiles, processes=2)
    chunks = -(-len(profiles) // 4)
    assert len(serial) - len(here) == chunks >= 3  # every chunk was counted in a forked process
    for kind in ("offers", "needs"):
        a, b = getattr(one.index, kind), getattr(two.index, kind)
        assert (a.text.rows(np.arange(len(a))) != b.text.rows(np.arange(len(b)))).nnz == 0
    assert _lists(two) == _lists(one)


def _dies(texts: list[str]) -> None:
    import os

    os._exit(3)  # the counting child dies: the pool breaks


def test_a_failed_counting_child_falls_back_to_serial(
    graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from matching import item_work

    profiles = [*base_profiles(), *(ent(f"mn-{i:02d}", "520303", [("o1", "硫酸锰", f"批号{i}")]) for i in range(9))]
    monkeypatch.setattr(matching.corpus, "CHUNK_ENTERPRISES", 4)
    one = MatchEngine.build(graph, regions, policy, profiles, processes=1)
    _dies.__qualname__ = _dies.__name__ = "_count_forked"  # submitted by reference to the module's function
    _dies.__module__ = item_work.__name__
    monkeypatch.setattr(item_work, "_count_forked", _dies)
    two = MatchEngine.build(graph, regions, policy, profiles, processes=2)
    assert "parallel counting failed (BrokenProcessPool" in caplog.text
    assert _lists(two) == _lists(one)
