"""Row gathers of the column store: the same rows as scipy's fancy indexing, across appended blocks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from matching.columns import RowBlocks


@pytest.mark.parametrize("splits", [(40,), (10, 25, 5), (400,), (150, 200, 50)])
def test_rows_equal_fancy_indexing_over_blocks(splits: tuple[int, ...]) -> None:
    whole = sp.random(sum(splits), 30, density=0.2, format="csr", dtype=np.float32, random_state=3)
    blocks = RowBlocks(30)
    start = 0
    for n in splits:
        blocks.append(whole[start : start + n])
        start += n
    many = np.random.default_rng(1).integers(0, sum(splits), 300)  # above MANY_ROWS: scipy copies the rows
    for idx in (np.array([3, 0, 39, 3, 17]), np.zeros(0, dtype=np.int64), np.arange(40)[::-1], many):
        got = blocks.rows(idx)
        assert got.shape == (len(idx), 30)
        assert np.array_equal(got.toarray(), whole[idx].toarray())
