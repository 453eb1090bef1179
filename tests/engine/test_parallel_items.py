"""A large batch linked and vectorised in forked processes gives exactly the serial result."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
import scipy.sparse as sp

from matching import item_work
from matching.engine import MatchEngine
from matching.item_columns import ItemColumns
from matching.item_links import ProductLinker
from matching.item_work import ItemWorker
from matching.profiles import Enterprise

from .conftest import NODES, base_profiles, ent

Make = Callable[[list[Enterprise]], MatchEngine]
REGIONS = ("520303", "500102", "510104", "500117", "520302")
WORDS = ("高纯", "电池级", "工业级", "用于动力电池", "锂电正极材料用", "现货供应", "或碳酸锂均可", None)


def _newcomers(n: int) -> list[Enterprise]:
    """Firms offering and needing products named after the graph's nodes, with varied descriptions."""
    names = [node.name for node in NODES]
    out = []
    for i in range(n):
        offer = (f"o{i}", names[i % len(names)] + ("产品" if i % 7 == 0 else ""), WORDS[i % len(WORDS)] or "")
        need = {"id": "n1", "product": names[(i * 5 + 3) % len(names)], "description": WORDS[(i + 3) % len(WORDS)]}
        out.append(ent(f"new-{i:03d}", REGIONS[i % len(REGIONS)], [offer], [need] if i % 3 else []))
    return out


def _columns(cols: ItemColumns) -> dict[str, Any]:
    arrays = {name: getattr(cols, name).view.tolist() for name in
              ("ent", "alive", "family", "confident", "head_nodes", "head_conf", "use_nodes", "use_conf",
               "for_nodes", "use_alone", "part_of_category")}  # fmt: skip
    for name in ("text", "retrieval", "head_matrix", "use_matrix", "for_matrix"):  # blocks may be compacted
        m = sp.csr_matrix(sp.vstack([rows for _, rows, _ in getattr(cols, name).blocks], format="csr"))
        arrays[name] = (m.shape, m.indptr.tolist(), m.indices.tolist(), m.data.tobytes())
    return arrays


def _grown(make_engine: Make, processes: int) -> MatchEngine:
    engine = make_engine(base_profiles())
    engine.index.processes = processes
    linked = engine.upsert_many(_newcomers(120))
    assert linked == {f"new-{i:03d}": engine.linked_nodes(f"new-{i:03d}") for i in range(120)}
    assert sum(bool(nodes) for nodes in linked.values()) > 100
    return engine


def _results(engine: MatchEngine) -> list[Any]:
    firms = ["fl-lmfp", "hc-cell", "slurry", *(f"new-{i:03d}" for i in range(1, 120, 3))]
    return [[engine.suppliers_for(f, k=20).model_dump(), engine.buyers_for(f, k=20).model_dump()] for f in firms]


def test_forked_batch_equals_serial_bit_for_bit(make_engine: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 10)
    handled: list[int] = []  # items this (the parent) process worked itself; a child appends to its own copy
    serial = ItemWorker.serial

    def counted(self: ItemWorker, items: Any, *, vectors: bool = True) -> item_work.Worked:
        if os.getpid() == parent:
            handled.append(len(items))
        return serial(self, items, vectors=vectors)

    parent = os.getpid()
    monkeypatch.setattr(ItemWorker, "serial", counted)
    one = _grown(make_engine, 1)
    assert handled[-1] == 200  # 120 offers + 80 needs, all here
    two = _grown(make_engine, 2)
    assert handled[-1] == 100  # the other half was linked and vectorised in a forked process
    for kind in ("offers", "needs"):
        assert _columns(getattr(one.index, kind)) == _columns(getattr(two.index, kind))
    assert _results(one) == _results(two)
    assert any(item["supplier"]["id"].startswith("new-") for r in _results(two) for item in r[0]["items"])

    def relinked(*args: Any) -> None:
        raise AssertionError(f"linked again: {args}")

    monkeypatch.setattr(ProductLinker, "_link", relinked)  # the parent absorbed what the child linked
    assert all(two.linked_nodes(f"new-{i:03d}") == one.linked_nodes(f"new-{i:03d}") for i in range(120))


def test_a_failed_child_falls_back_to_serial(make_engine: Make, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 10)
    one = _grown(make_engine, 1)

    def dies(lo: int, hi: int) -> None:
        os._exit(3)  # the child process dies: the pool breaks

    dies.__qualname__ = dies.__name__ = "_work_forked"  # submitted by reference to the module's function
    monkeypatch.setattr(item_work, "_work_forked", dies)
    dies.__module__ = item_work.__name__
    two = _grown(make_engine, 2)
    assert "parallel indexing failed (BrokenProcessPool" in caplog.text
    assert _results(one) == _results(two)


def _started(make_engine: Make, firms: list[Enterprise], early: list[Enterprise]) -> tuple[MatchEngine, int]:
    """An engine that adds ``firms`` with the item work of ``early`` started before; how many items the
    calling process linked itself."""
    engine = make_engine(base_profiles())
    engine.index.processes = 2
    started = engine.index.start_items(early)
    assert started is not None
    parent = os.getpid()
    handled: list[int] = []
    serial = ItemWorker.serial

    def counted(self: ItemWorker, items: Any, *, vectors: bool = True) -> item_work.Worked:
        if os.getpid() == parent:
            handled.append(len(items))
        return serial(self, items, vectors=vectors)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ItemWorker, "serial", counted)
        engine.upsert_many(firms, started)
    return engine, sum(handled)


def test_work_started_early_equals_serial_bit_for_bit(make_engine: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 10)
    one = _grown(make_engine, 1)
    firms = _newcomers(120)
    two, here = _started(make_engine, firms, firms)
    assert here == 0  # the forked processes worked all 120 offers and 80 needs
    for kind in ("offers", "needs"):
        assert _columns(getattr(one.index, kind)) == _columns(getattr(two.index, kind))
    assert _results(one) == _results(two)

    def relinked(*args: Any) -> None:
        raise AssertionError(f"linked again: {args}")

    monkeypatch.setattr(ProductLinker, "_link", relinked)  # the parent absorbed what the children linked
    assert all(two.linked_nodes(f"new-{i:03d}") == one.linked_nodes(f"new-{i:03d}") for i in range(120))


def test_work_started_for_other_items_is_completed_here(make_engine: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only some of the started firms are added (the rest were unchanged), plus firms never started."""
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 10)
    firms = _newcomers(120)
    extra = [ent(f"late-{i}", "520303", [("o1", f"{NODES[i].name}加工件", "定制")], []) for i in range(3)]
    added = [*firms[10:100:2], *extra]
    serial = make_engine(base_profiles())
    serial.index.processes = 1
    serial.upsert_many(added)
    early, here = _started(make_engine, added, firms)
    assert here == 3  # the offers of the firms never started
    for kind in ("offers", "needs"):
        assert _columns(getattr(serial.index, kind)) == _columns(getattr(early.index, kind))
    assert len(early) == len(serial) and early.linked_nodes("late-1") == serial.linked_nodes("late-1")


def test_work_started_by_another_index_is_not_used(make_engine: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 10)
    firms = _newcomers(60)
    other = make_engine(base_profiles())
    other.index.processes = 2
    started = other.index.start_items(firms)
    assert started is not None
    engine = make_engine(base_profiles())  # refitted: its own linker and text model
    engine.index.processes = 1
    try:
        engine.upsert_many(firms, started)
    finally:
        started.close()
    reference = make_engine(base_profiles())
    reference.upsert_many(firms)
    for kind in ("offers", "needs"):
        assert _columns(getattr(engine.index, kind)) == _columns(getattr(reference.index, kind))


def test_a_failed_child_of_started_work_falls_back_to_serial(
    make_engine: Make, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 10)
    one = _grown(make_engine, 1)

    def dies(lo: int, hi: int) -> None:
        os._exit(3)

    dies.__qualname__ = dies.__name__ = "_work_forked"
    dies.__module__ = item_work.__name__
    monkeypatch.setattr(item_work, "_work_forked", dies)
    firms = _newcomers(120)
    two, _ = _started(make_engine, firms, firms)
    assert "parallel indexing failed (BrokenProcessPool" in caplog.text
    assert _results(one) == _results(two)


def _hangs(lo: int, hi: int) -> None:
    time.sleep(3600)  # a child that never returns (as one stuck on a lock held at the fork would)


_hangs.__qualname__ = _hangs.__name__ = "_work_forked"  # submitted by reference to the module's function
_hangs.__module__ = item_work.__name__


@pytest.mark.parametrize("early", [False, True], ids=["work", "started"])
def test_a_hung_child_is_killed_and_the_batch_worked_serially(
    make_engine: Make, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, early: bool
) -> None:
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 10)
    one = _grown(make_engine, 1)
    monkeypatch.setattr(item_work, "_work_forked", _hangs)
    monkeypatch.setattr(item_work, "CHILD_GRACE_S", 1.0)
    monkeypatch.setattr(item_work, "CHILD_S_PER_ITEM", 0.0)
    before = {p.pid for p in multiprocessing.active_children()}
    began = time.monotonic()
    if early:
        firms = _newcomers(120)
        two, _ = _started(make_engine, firms, firms)
    else:
        two = _grown(make_engine, 2)
    assert time.monotonic() - began < 60
    assert "parallel indexing failed (TimeoutError" in caplog.text
    assert _results(one) == _results(two)
    deadline = time.monotonic() + 10
    while {p.pid for p in multiprocessing.active_children()} - before:  # the hung children were killed
        assert time.monotonic() < deadline, "a hung child is still alive"
        time.sleep(0.05)
