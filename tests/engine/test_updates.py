"""Writes: append and tombstone, tiered compaction, batched bulk loads, and reads during writes."""

from __future__ import annotations

import threading
from collections.abc import Callable

from matching.engine import MatchEngine
from matching.profiles import Enterprise

from .conftest import base_profiles, ent

Make = Callable[[list[Enterprise]], MatchEngine]


def _supplier_ids(engine: MatchEngine, buyer: str = "fl-lmfp") -> list[str]:
    return [i.supplier.id for i in engine.suppliers_for(buyer, "n1", k=100).items]


def test_repeated_upserts_keep_one_live_version_and_compaction_changes_nothing(make_engine: Make) -> None:
    engine = make_engine(base_profiles())
    before = engine.suppliers_for("fl-lmfp", "n1", k=100).model_dump()
    for i in range(40):  # the same supplier rewritten over and over, alternating what it sells
        product = "硫酸锰" if i % 2 else "氨纶"
        engine.upsert(ent("flip", "520303", [("o1", product)]))
    assert _supplier_ids(engine).count("flip") == 1  # the last version sells 硫酸锰; dead copies never show
    engine.compact()
    engine.compact()
    assert engine.index.block_count() <= 2
    assert _supplier_ids(engine).count("flip") == 1
    engine.remove("flip")
    assert engine.suppliers_for("fl-lmfp", "n1", k=100).model_dump() == before


def test_bulk_load_is_one_batch_and_equals_a_fresh_build(make_engine: Make) -> None:
    newcomers = [ent(f"mn-{i:02d}", "520303", [("o1", "硫酸锰", f"批号{i}")]) for i in range(25)]
    grown = make_engine(base_profiles())
    blocks = grown.index.block_count()
    grown.upsert_many(newcomers)
    assert grown.index.block_count() == blocks + 1  # one append for the whole load, not one per firm
    fresh = make_engine([*base_profiles(), *newcomers])
    assert set(_supplier_ids(grown)) == set(_supplier_ids(fresh))  # the same pairs (the vocabulary differs)
    assert {f"mn-{i:02d}" for i in range(25)} <= set(_supplier_ids(grown))


def test_reads_during_writes_never_fail(make_engine: Make) -> None:
    engine = make_engine(base_profiles())
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                ids = _supplier_ids(engine)
                assert "zy-mn" in ids
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(60):
            engine.upsert(ent(f"w-{i % 7}", "510104", [("o1", "硫酸锰" if i % 3 else "电解锰")]))
            if i % 20 == 19:
                engine.compact()
    finally:
        stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors[0]
    assert len({i for i in _supplier_ids(engine) if i.startswith("w-")}) >= 1


def test_a_saved_index_loads_memory_mapped_and_answers_the_same(
    make_engine: Make, graph, regions, policy, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    import numpy as np
    import pytest

    from matching.errors import InvalidInputError
    from matching.params import MatchParams

    engine = make_engine(base_profiles())
    engine.upsert(ent("late", "520303", [("o1", "硫酸锰")]))
    engine.remove("zy-emn")
    engine.save(tmp_path / "index")
    loaded = MatchEngine.load(tmp_path / "index", graph, regions, policy)
    column = loaded.index.offers.text.blocks[0][1].data
    assert type(column) is np.ndarray  # a plain view: np.memmap's Python-level indexing is slow
    base = column.base
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    assert isinstance(base, np.memmap)  # still backed by the file, not a copy
    for eid in engine.enterprise_ids():
        for method in ("suppliers_for", "buyers_for"):
            assert getattr(loaded, method)(eid, k=20).model_dump() == getattr(engine, method)(eid, k=20).model_dump()
    assert loaded.get("zy-emn") is None and loaded.get("late") is not None
    before = loaded.index.offers.ent.view.base
    loaded.upsert(ent("after", "520303", [("o1", "硫酸锰")]))  # writes work on a loaded index
    assert loaded.index.offers.ent.view.base is before  # with room to grow: the first write copies no column
    assert "after" in _supplier_ids(loaded)
    with pytest.raises(InvalidInputError):
        MatchEngine.load(tmp_path / "index", graph, regions, policy, MatchParams(graph_top_n=7))


def test_a_buyer_rewritten_during_reads_is_never_missing_its_need(make_engine: Make) -> None:
    engine = make_engine(base_profiles())
    buyer = engine.get("fl-lmfp")
    assert buyer is not None
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                engine.suppliers_for("fl-lmfp", "n1", k=5)
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(150):  # the buyer itself is replaced over and over while it is being read
            engine.upsert(buyer.model_copy(update={"name": f"涪陵锂电{i}"}))
    finally:
        stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors[0]
