"""Hashed term counts for the text model: words in scikit-learn's ``HashingVectorizer`` buckets (cached per
token), character n-grams counted in NumPy.

``HashingVectorizer`` builds every character n-gram as a Python string and hashes it, one at a time: about
six million strings for 100k firms' offers and needs. :class:`CharNgramHasher` packs the code points of each
n-gram into an integer and hashes a whole batch with a few array operations (``tests/engine/test_hashing.py``
checks that its n-grams are scikit-learn's, and the word counts equal scikit-learn's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

_INT32_MIN = -(1 << 31)
_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's ``_char_wb_ngrams`` normalises white space
CACHE_ENTRIES = 1 << 19
"""Token columns cached before the cache is emptied (about 50 MB at most)."""


class TokenHasher:
    """Columns of tokens in ``n_features`` buckets, as scikit-learn's ``FeatureHasher`` computes them."""

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features
        self._columns: dict[str, int] = {}

    def column(self, token: str) -> int:
        col = self._columns.get(token)
        if col is None:
            h = murmurhash3_32(token, seed=0)
            n = self.n_features
            col = (2147483647 - (n - 1)) % n if h == _INT32_MIN else abs(h) % n  # scikit-learn's abs(-2**31)
            if len(self._columns) >= CACHE_ENTRIES:
                self._columns.clear()
            self._columns[token] = col
        return col

    def counts(self, documents: Iterable[Sequence[str]], n_documents: int) -> sp.csr_matrix:
        """Term counts (float32 CSR, duplicates summed, indices sorted) of tokenised documents."""
        column = self.column
        indices: list[int] = []
        indptr = [0]
        for tokens in documents:
            indices.extend([column(t) for t in tokens])
            indptr.append(len(indices))
        return _csr(np.asarray(indices, dtype=np.int32), indptr, n_documents, self.n_features)


class CharNgramHasher:
    """``char_wb`` n-gram counts, computed in NumPy over a whole batch at once.

    The n-grams are scikit-learn's (``analyzer="char_wb"``: lower-cased text, white space runs folded, each
    word padded with one space, n-grams never crossing a word); only the bucket differs: a 64-bit mix of the
    n-gram's code points (:func:`ngram_columns`) instead of MurmurHash3 of its UTF-8 bytes, so that no
    n-gram is ever a Python string. Counting, fitting and transforming all use this one hash.
    """

    def __init__(self, n_features: int, ngram_range: tuple[int, int] = (2, 3)) -> None:
        if not 1 <= ngram_range[0] <= ngram_range[1] <= 3:
            raise ValueError("n-grams of 1 to 3 characters (three 21-bit code points fill a 64-bit key)")
        self.n_features = n_features
        self.ngram_range = ngram_range

    def counts(self, documents: Sequence[str]) -> sp.csr_matrix:
        words = [_WHITE_SPACES.sub(" ", doc.lower()).split() for doc in documents]
        per_doc = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        padded = [f" {w} " for ws in words for w in ws]
        if not padded:
            return sp.csr_matrix((len(documents), self.n_features), dtype=np.float32)
        lengths = np.fromiter((len(w) for w in padded), dtype=np.int64, count=len(padded))
        points = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        starts = np.cumsum(lengths) - lengths
        word = np.repeat(np.arange(len(padded)), lengths)
        offset = np.arange(len(points)) - starts[word]
        doc_of_word = np.repeat(np.arange(len(documents)), per_doc)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            # a word too short for n counts once, whole (scikit-learn); with the padding that only happens for
            # n = 3 and a one-character word (its one 3-gram *is* the whole padded word), so nothing special
            at = np.flatnonzero(offset + n <= lengths[word])
            key = np.zeros(len(at), dtype=np.uint64)  # no n-gram starts with U+0000, so lengths never collide
            for k in range(n):
                key = (key << np.uint64(21)) | points[at + k]
            rows.append(doc_of_word[word[at]])
            cols.append(ngram_columns(key, self.n_features))
        r, c = np.concatenate(rows), np.concatenate(cols)
        m = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(documents), self.n_features))
        m.sum_duplicates()
        return m


def ngram_columns(keys: np.ndarray, n_features: int) -> np.ndarray:
    """Buckets of packed n-gram keys: splitmix64's finaliser (a full-avalanche 64-bit mix), modulo the width."""
    with np.errstate(over="ignore"):
        z = keys ^ (keys >> np.uint64(30))
        z = z * np.uint64(0xBF58476D1CE4E5B9)
        z = z ^ (z >> np.uint64(27))
        z = z * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    out: np.ndarray = (z % np.uint64(n_features)).astype(np.int64)
    return out


def _csr(indices: np.ndarray, indptr: list[int], n_rows: int, n_features: int) -> sp.csr_matrix:
    index_dtype = np.int32 if indptr[-1] < 2**31 - 1 else np.int64  # as scikit-learn's hasher returns them
    m = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices.astype(index_dtype, copy=False),
                       np.asarray(indptr, dtype=index_dtype)), shape=(n_rows, n_features))  # fmt: skip
    m.sum_duplicates()
    return m
