"""A bulk import's offers and needs are linked and vectorised in forked processes while the store is written;
the index ends up as if this process had done the work itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from matching import item_work
from matching.item_work import ItemKey, StartedWork, Worked
from matching.service import ChainmatchService
from matching.settings import Settings
from tests.api.api_helpers import enterprise

PRODUCTS = ("己二酸", "硫酸锰", "磷酸锰铁锂", "氨纶", "聚四氢呋喃", "电池级碳酸锂", "正极材料烧结窑炉")


def _jsonl(firms: list[tuple[str, int]]) -> bytes:
    rows = [{"id": eid, **enterprise(offers=[{"id": "o1", "product": PRODUCTS[k % 7], "description": f"规格{k}"}],
                                     needs=[{"id": "n1", "product": PRODUCTS[(k + 3) % 7]}])}
            for eid, k in firms]  # fmt: skip
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def _suppliers(service: ChainmatchService, firm: str) -> object:
    engine = service.engine
    assert engine is not None
    return engine.suppliers_for(firm, "n1", k=20).model_dump()


def test_import_items_worked_while_storing_equal_serial(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(item_work, "PARALLEL_MIN_ITEMS", 4)
    collected: list[int] = []
    collect = StartedWork.collect

    def counted(self: StartedWork, items: Sequence[ItemKey]) -> Worked:
        collected.append(len(items))
        return collect(self, items)

    monkeypatch.setattr(StartedWork, "collect", counted)
    first = _jsonl([(f"big-{i}", i) for i in range(12)])
    # half unchanged, half changed, and firms not in the first file: only some of the started items are used
    second = _jsonl([(f"big-{i}", i if i < 6 else i + 1) for i in range(12)] + [(f"new-{i}", i) for i in range(4)])
    services = [ChainmatchService.open(make_settings(data_dir=tmp_path / f"p{n}", database_url=None,
                                                     index_processes=n)) for n in (1, 2)]  # fmt: skip
    try:
        for service in services:
            assert len(service.import_bytes(first, filename="a.jsonl").created) == 12
            outcome = service.import_bytes(second, filename="b.jsonl")
            assert (len(outcome.created), len(outcome.updated), len(outcome.unchanged)) == (4, 6, 6)
        assert collected == [24, 20]  # only the two-process service started work: 12 + 12, then 10 + 10 items
        one, two = services
        assert one.index_size() == two.index_size()
        for firm in ("big-2", "big-9", "new-3"):
            assert _suppliers(one, firm) == _suppliers(two, firm)
            assert one.index.chains_for(firm) == two.index.chains_for(firm)
    finally:
        for service in services:
            service.close()
