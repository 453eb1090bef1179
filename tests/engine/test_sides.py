"""Blocks of stored rows gather their rarely read columns only when read, with the values an eager gather has."""

from __future__ import annotations

import numpy as np

from matching.engine import MatchEngine
from matching.sides import concat, inferred, stored

DEFERRED_ITEM = ("use_nodes", "use_conf", "for_nodes", "use_alone", "part_of_category", "required", "has_required")
DEFERRED_PARTY = ("circle", "certs")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return all(x == y for x, y in zip(a.ravel(), b.ravel(), strict=True))
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def test_deferred_columns_are_gathered_on_first_read_and_equal_the_index(engine: MatchEngine) -> None:
    ix = engine.index
    for cols in (ix.offers, ix.needs):
        rows = np.arange(len(cols))[::-1].copy()
        side = stored(ix, cols, rows)
        assert side.columns == {}  # nothing deferred was gathered by building the block
        slots = cols.ent.view[rows].astype(np.int64)
        for name in DEFERRED_ITEM:
            assert _same(getattr(side, name), getattr(cols, name).view[rows])
        for name in DEFERRED_PARTY:
            assert _same(getattr(side, name), getattr(ix, f"ent_{name}").view[slots])
        assert set(side.columns) == set(DEFERRED_ITEM + DEFERRED_PARTY)


def test_take_and_concat_keep_every_column(engine: MatchEngine) -> None:
    ix = engine.index
    rows = np.arange(len(ix.needs))
    side = stored(ix, ix.needs, rows)
    _ = side.circle  # one column read before the take, the others after it
    sel = np.array([len(rows) - 1, 0, 1])
    part = side.take(sel)
    whole = stored(ix, ix.needs, rows[sel])
    for name in DEFERRED_ITEM + DEFERRED_PARTY + ("slot", "row", "head_nodes", "qty"):
        assert _same(getattr(part, name), getattr(whole, name)), name
    assert (part.text_rows() != whole.text_rows()).nnz == 0

    rec = next(r for r in ix.records.values() if r.made)
    made = sorted(rec.made.items())
    implied = inferred(ix, np.full(len(made), rec.slot), np.array([m for m, _ in made]),
                       np.array([c for _, c in made], dtype=np.float32))
    both = concat(whole, implied)
    assert len(both) == len(whole) + len(implied)
    for name in DEFERRED_ITEM + DEFERRED_PARTY:
        assert _same(getattr(both, name)[: len(whole)], getattr(whole, name)), name
        assert _same(getattr(both, name)[len(whole):], getattr(implied, name)), name
