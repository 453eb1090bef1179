"""Row gathers of the column store: the same rows as scipy's fancy indexing, across appended blocks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from matching.columns import RowBlocks, pair_dots


@pytest.mark.parametrize("splits", [(40,), (10, 25, 5), (400,), (150, 200, 50)])
def test_rows_equal_fancy_indexing_over_blocks(splits: tuple[int, ...]) -> None:
    whole = sp.random(sum(splits), 30, density=0.2, format="csr", dtype=np.float32, random_state=3)
    blocks = RowBlocks(30)
    start = 0
    for n in splits:
        blocks.append(whole[start : start + n])
        start += n
    many = np.random.default_rng(1).integers(0, sum(splits), 300)  # above MANY_ROWS: scipy copies the rows
    singles = [np.array([r]) for r in (0, 9, 10, 34, 35, 39)]  # one row: read from its own block
    for idx in (np.array([3, 0, 39, 3, 17]), np.zeros(0, dtype=np.int64), np.arange(40)[::-1], many, *singles):
        got = blocks.rows(idx)
        assert got.shape == (len(idx), 30)
        assert np.array_equal(got.toarray(), whole[idx].toarray())


@pytest.mark.parametrize("splits", [(40,), (10, 25, 5), (150, 200, 50)])
def test_pair_dots_in_place_equal_the_dots_of_gathered_rows(splits: tuple[int, ...]) -> None:
    """A single query's text cosines read each supply row in its block: the same values, bit for bit, as
    gathering the rows first, whichever blocks the rows fall in (and in whatever order)."""
    total = sum(splits)
    whole = sp.random(total, 50, density=0.3, format="csr", dtype=np.float32, random_state=5)
    blocks = RowBlocks(50)
    start = 0
    for n in splits:
        blocks.append(whole[start : start + n])
        start += n
    demand = sp.random(3, 50, density=0.4, format="csr", dtype=np.float32, random_state=6)
    rng = np.random.default_rng(2)
    rows = rng.integers(0, total, 500)
    ai = rng.integers(0, 3, 500)
    got = blocks.pair_dots(demand, ai, rows)
    want = pair_dots(demand, blocks.rows(rows), ai, np.arange(len(rows)))
    assert got.dtype == np.float64
    assert np.array_equal(got, want)
    exact = np.asarray((demand[ai].astype(np.float64).multiply(whole[rows].astype(np.float64))).sum(axis=1)).ravel()
    assert np.allclose(got, exact, rtol=1e-6)
    assert blocks.pair_dots(demand, np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0,)
