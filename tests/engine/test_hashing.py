"""The hashers count what scikit-learn's ``HashingVectorizer`` counts: the same word buckets, and the same
character n-grams (in buckets of our own hash)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from matching import hashing
from matching.hashing import CharNgramHasher, TokenHasher, ngram_columns
from matching.text import TextModel, item_text, normalise_text

DOCS = [
    "磷酸锰铁锂 磷酸锰铁锂 动力电池正极材料，产能2万吨/年",
    "PTMEG  PTMEG\t聚四氢呋喃 用于氨纶",
    "a 硫 b  c\n\nde",  # words shorter than the n-grams
    "",
    "   ",
    "Lithium-Ion CELL 锂电池 LiFePO4 电芯（方形）",
    "己二酸 己二酸 己二酸",
    "汽車零部件 變速箱 齒輪",  # traditional: normalised before hashing
    "x",
]


def _sklearn_counts(docs: list[str], **kwargs: object) -> sp.csr_matrix:
    m = sp.csr_matrix(HashingVectorizer(alternate_sign=False, norm=None, dtype=np.float32, **kwargs).transform(docs))
    m.sum_duplicates()
    return m


def _same(ours: sp.csr_matrix, theirs: sp.csr_matrix) -> None:
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert ours.has_sorted_indices and theirs.has_sorted_indices
    assert ours.indptr.tolist() == theirs.indptr.tolist()
    assert ours.indices.tolist() == theirs.indices.tolist()
    assert ours.data.tobytes() == theirs.data.tobytes()


def _reference_char_counts(docs: list[str], n_features: int, ngram_range: tuple[int, int]) -> sp.csr_matrix:
    """scikit-learn's char_wb n-gram strings of each document, bucketed one by one through the same mix."""
    analyse = HashingVectorizer(analyzer="char_wb", ngram_range=ngram_range).build_analyzer()
    rows, cols = [], []
    for r, doc in enumerate(docs):
        for gram in analyse(doc):
            key = 0
            for ch in gram:
                key = (key << 21) | ord(ch)
            rows.append(r)
            cols.append(int(ngram_columns(np.array([key], dtype=np.uint64), n_features)[0]))
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(docs), n_features))
    m.sum_duplicates()
    return m


@pytest.mark.parametrize("ngram_range", [(2, 3), (1, 3), (3, 3)])
@pytest.mark.parametrize("n_features", [1 << 21, 1 << 10, 7])  # tiny widths force collisions
def test_char_ngrams_are_scikit_learns(n_features: int, ngram_range: tuple[int, int]) -> None:
    docs = [normalise_text(d) for d in DOCS] + DOCS
    hasher = CharNgramHasher(n_features, ngram_range)
    _same(hasher.counts(docs), _reference_char_counts(docs, n_features, ngram_range))
    assert hasher.counts([]).shape == (0, n_features)
    assert hasher.counts(["", "  "]).nnz == 0


def test_char_buckets_spread_like_a_hash() -> None:
    """Distinct n-grams rarely share a bucket: about what a random hash gives at this load."""
    rng = np.random.default_rng(1)
    han = [chr(c) for c in rng.integers(0x4E00, 0x9FA5, size=4000)]
    docs = ["".join(rng.choice(han, size=30)) for _ in range(2000)]
    m = CharNgramHasher(1 << 21).counts(docs)
    grams = {d[i : i + n] for d in (f" {x} " for x in docs) for n in (2, 3) for i in range(len(d) - n + 1)}
    used = len(np.unique(m.indices))
    expected = (1 << 21) * (1 - (1 - 1 / (1 << 21)) ** len(grams))  # occupied buckets under a uniform hash
    assert used >= 0.99 * expected


def test_word_counts_equal_scikit_learn_and_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    model = TextModel(["磷酸锰铁锂", "聚四氢呋喃"])
    docs = [normalise_text(item_text(d, d[:5] or None)) for d in DOCS]
    expected = _sklearn_counts(docs, analyzer=model.tokens, n_features=1 << 20)
    monkeypatch.setattr(hashing, "CACHE_ENTRIES", 5)  # the cache empties itself many times on the way
    hasher = TokenHasher(1 << 20)
    _same(hasher.counts([model.tokens(d) for d in docs], len(docs)), expected)
    assert len(hasher._columns) <= 5


def test_random_tokens_land_in_scikit_learn_buckets() -> None:
    rng = np.random.default_rng(0)
    alphabet = [*"锂电池正极材料铁锰磷酸abcXYZ0123-_ ", "\u00e9", "\U0001F600"]
    tokens = ["".join(rng.choice(alphabet, size=int(rng.integers(1, 9)))) for _ in range(5000)]
    hasher = TokenHasher(1 << 20)
    expected = _sklearn_counts([" ".join(tokens)], analyzer=lambda _: tokens, n_features=1 << 20)
    _same(hasher.counts([tokens], 1), expected)


def test_text_model_vectors_survive_pickling_with_their_caches_dropped() -> None:
    import pickle

    model = TextModel(["磷酸锰铁锂"]).fit([item_text(d, None) for d in DOCS])
    rows = model.transform(DOCS)
    again = pickle.loads(pickle.dumps(model))
    assert not again._words._columns
    _same(again.transform(DOCS), rows)
