"""Text: normalisation, jieba segmentation with the chain dictionary, and TF-IDF vectors.

Normalisation is NFKC (which also folds full-width forms to half-width), Traditional → Simplified
(OpenCC ``t2s``) and lower case. Segmentation uses a private :class:`jieba.Tokenizer` whose user
dictionary holds every chain-graph term, so 磷酸锰铁锂 or PTMEG stay one token. Vectors concatenate a
word TF-IDF (jieba tokens) and a character n-gram TF-IDF (``char_wb`` 2–3), both hashed, each L2-normalised and
scaled by √½ so the joint vector has unit length and a dot product is a cosine.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import jieba
import numpy as np
import opencc
import scipy.sparse as sp
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from matching.hashing import CharNgramHasher, TokenHasher

jieba.setLogLevel(logging.WARNING)

_T2S = opencc.OpenCC("t2s")
_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"^[\W_]+$")

# Function words and generic trade words that say nothing about the product.
_STOPWORD_TEXT = """
    的 了 和 与 及 或 等 在 为 对 从 以 于 由 将 把 被 其 之 也 都 并 而 及其 以及 以上 以下 每 各 个 可 能
    是 有 无 不 这 那 该 此 本 我 我们 公司 企业 集团 有限公司 股份 有限 责任 产品 生产 供应 提供 需求 需要
    采购 用 用于 用途 可以 主要 相关 系列 类 种 吨 年 万 万吨 件 台 套 规格 要求 质量 稳定 长期 批量 优质
    高品质 一 二 三 及时 国内 国产 主营 专业 各类 多种 包括 目前 现有 拥有 年产 产能 销售
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


@lru_cache(maxsize=8192)
def normalise_text(text: str) -> str:
    """NFKC (full-width → half-width), Traditional → Simplified, lower case, single spaces.

    Cached: linking and vectorising one item normalise its product and description several times, moments
    apart, so a small cache (a few MB of descriptions) catches the repeats."""
    # the quick check is ~40x cheaper than normalize() on NFKC text (most product names; a description's
    # full-width punctuation is not)
    folded = text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)
    return _SPACE.sub(" ", _cached_t2s(folded)).strip().lower()


@lru_cache(maxsize=65536)
def _cached_t2s(text: str) -> str:
    return str(_T2S.convert(text))


def is_content_token(token: str) -> bool:
    """A token worth comparing: not whitespace, punctuation, a bare number or a stopword."""
    token = token.strip()
    if not token or token in STOPWORDS or _PUNCT.match(token):
        return False
    return not token.replace(".", "").isdigit()


class TextModel:
    """Segmenter plus hashed TF-IDF weights (scikit-learn conventions: fitted attributes end in ``_``).

    Features are hashed (counted by :mod:`matching.hashing`), so no vocabulary dict is built and a corpus can
    be counted chunk by chunk: at a million firms the dict and the whole-corpus intermediates of
    ``TfidfVectorizer`` cost more memory than the index itself. Weights follow
    ``TfidfVectorizer(sublinear_tf=True)``: ``1 + ln tf`` times the smooth idf ``ln((1+n)/(1+df)) + 1``; a
    feature no fitted document has is dropped, as an out-of-vocabulary term would be.

    Segmentation is cached per jieba block (see :meth:`_analyse`): product names and description phrases
    repeat across a province's firms, so a bulk load segments each distinct block once.
    """

    def __init__(self, dictionary_terms: Iterable[str] = ()) -> None:
        terms = frozenset(t for t in (normalise_text(x) for x in dictionary_terms) if len(t) >= 2 and " " not in t)
        self.tokenizer = _tokenizer_for(terms)
        self.dictionary: frozenset[str] = terms
        self.word_idf_: _Weights | None = None
        self.char_idf_: _Weights | None = None
        self.n_documents_ = 0
        self._chunks: dict[str, list[str]] = {}
        self._hashers()

    def _hashers(self) -> None:
        self._words = TokenHasher(WORD_FEATURES)
        self._chars = CharNgramHasher(CHAR_FEATURES, (2, 3))

    def tokens(self, text: str) -> list[str]:
        """Content tokens of ``text`` (normalised, segmented, stopwords and punctuation dropped)."""
        return self._analyse(normalise_text(text))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the fitted weights, not the segmenter (rebuilt from the dictionary) or its cache."""
        state = dict(self.__dict__)
        state.pop("tokenizer", None)
        state.pop("_words", None)
        state.pop("_chars", None)
        state["_chunks"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.tokenizer = _tokenizer_for(self.dictionary)
        self._hashers()

    # -- fitting, whole or chunked -----------------------------------------------------------------

    def counts(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Raw hashed term counts ``(words, chars)`` of raw ``texts`` (one chunk of a corpus)."""
        docs = [normalise_text(t) for t in texts]
        return self._words.counts(map(self._analyse, docs), len(docs)), self._chars.counts(docs)

    def fit_counts(self, counts: Iterable[tuple[sp.csr_matrix, sp.csr_matrix]]) -> TextModel:
        """Fit the idf weights from the counts of every chunk of the corpus."""
        df_words = np.zeros(WORD_FEATURES, dtype=np.int64)
        df_chars = np.zeros(CHAR_FEATURES, dtype=np.int64)
        n = 0
        for words, chars in counts:
            df_words += np.bincount(words.indices, minlength=WORD_FEATURES)
            df_chars += np.bincount(chars.indices, minlength=CHAR_FEATURES)
            n += words.shape[0]
        self.word_idf_, self.char_idf_ = _Weights.of(df_words, n), _Weights.of(df_chars, n)
        self.n_documents_ = n
        self._chunks.clear()  # the bulk pass is done: keep the memory for the index, not for old chunks
        return self

    def weigh(self, words: sp.csr_matrix, chars: sp.csr_matrix) -> sp.csr_matrix:
        """Unit-length float32 rows (word ⊕ char TF-IDF) from the raw counts of :meth:`counts`."""
        if self.word_idf_ is None or self.char_idf_ is None:
            raise RuntimeError("TextModel is not fitted")
        half = np.float32(math.sqrt(0.5))
        parts = [self.word_idf_.tfidf(words) * half, self.char_idf_.tfidf(chars) * half]
        joint = l2_rows(sp.hstack(parts, format="csr")).astype(np.float32)
        joint.eliminate_zeros()
        return sp.csr_matrix(joint)

    def fit(self, corpus: Sequence[str]) -> TextModel:
        """Fit the idf weights on ``corpus`` (raw texts)."""
        self.fit_transform(corpus)
        return self

    def fit_transform(self, corpus: Sequence[str]) -> sp.csr_matrix:
        """Fit on ``corpus`` and return its rows (as :meth:`transform` would)."""
        counted = self.counts(corpus)
        self.fit_counts([counted])
        return self.weigh(*counted)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Unit-length rows (word ⊕ char TF-IDF); an empty text gives a zero row."""
        if not texts:
            return sp.csr_matrix((0, self.n_features), dtype=np.float32)
        return self.weigh(*self.counts(texts))

    @property
    def n_features(self) -> int:
        """Columns of a vector: the hashed features some fitted document has (0 before fitting)."""
        if self.word_idf_ is None or self.char_idf_ is None:
            return 0
        return self.word_idf_.width + self.char_idf_.width

    def clear_cache(self) -> None:
        self._chunks.clear()

    def _analyse(self, doc: str) -> list[str]:
        """jieba's tokens of ``doc``, segmenting (and caching) one block at a time.

        Blocks are jieba's own (runs of Han, Latin letters, digits and ``+#&._%-``), and jieba yields every
        character between blocks on its own, so the tokens equal ``lcut(doc)``'s; a short block such as
        导电炭黑 repeats across firms far more often than a whole description does.
        """
        out: list[str] = []
        for i, part in enumerate(_JIEBA_BLOCK.split(doc)):
            if not i % 2:  # between blocks
                out.extend(c for c in part if is_content_token(c))
                continue
            hit = self._chunks.get(part)
            if hit is None:
                if len(self._chunks) >= CHUNK_CACHE_SIZE:
                    self._chunks.clear()
                hit = self._chunks[part] = _tokens(self.tokenizer, part)
            out.extend(hit)
        return out


_JIEBA_BLOCK = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)")  # jieba's ``re_han_default``
# 2^20 word and 2^21 character-n-gram buckets: a province's corpus has about 10^5 distinct words and 10^6
# distinct 2–3-grams, so collisions stay rare while the column maps cost 12 MB.
WORD_FEATURES = 1 << 20
CHAR_FEATURES = 1 << 21


def l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """A copy of the float CSR ``m`` with unit-length rows: ``sklearn.preprocessing.normalize(m)`` (the same
    kernel), without its per-call parameter validation, which cost more than the work for the one-text
    transforms of the linker's text fallback."""
    out = sp.csr_matrix(m, copy=True)
    inplace_csr_row_normalize_l2(out)
    return out


class _Weights:
    """The fitted weights of one hashed channel: the smooth idf of each feature some document has, and that
    feature's column (features no document has are dropped, as out-of-vocabulary terms are).

    Columns are dense, so a matrix has as many columns as the corpus has features, not 2^21: a transposed
    row block's ``indptr`` (one entry per column) stays small.
    """

    def __init__(self, idf: np.ndarray, column: np.ndarray) -> None:
        self.idf = idf
        self.column = column
        self.width = len(idf)

    @classmethod
    def of(cls, df: np.ndarray, n: int) -> _Weights:
        seen = np.flatnonzero(df)
        column = np.full(len(df), -1, dtype=np.int32)
        column[seen] = np.arange(len(seen), dtype=np.int32)
        return cls((np.log((1.0 + n) / (1.0 + df[seen])) + 1.0).astype(np.float32), column)

    def tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear tf times idf, each row L2-normalised (sklearn's ``TfidfVectorizer`` weighting)."""
        column = self.column[counts.indices]
        keep = column >= 0
        indptr = np.concatenate([[0], np.cumsum(keep)])[counts.indptr]
        column = column[keep]
        data = (1.0 + np.log(counts.data[keep], dtype=np.float32)) * self.idf[column]
        return l2_rows(sp.csr_matrix((data, column, indptr), shape=(counts.shape[0], self.width)))


CHUNK_CACHE_SIZE = 200_000


@lru_cache(maxsize=4)
def _tokenizer_for(terms: frozenset[str]) -> Any:
    """A private jieba tokenizer whose user dictionary holds the chain terms (one per distinct term set).

    A high frequency makes jieba keep a chain term whole (磷酸锰铁锂, PTMEG) rather than splitting it.
    """
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for term in sorted(terms):
        tokenizer.add_word(term, freq=max(2000, 500 * len(term)))
    return tokenizer


def _tokens(tokenizer: Any, normalised: str) -> list[str]:
    return [t for t in tokenizer.lcut(normalised) if is_content_token(t)]


def item_text(product: str, description: str | None) -> str:
    """The text vectorised for an offer or need: the product name counts twice (it is the strongest
    field; a long description should not drown it). Provenance notes (公开信息, 公开工艺知识 …) say where a
    fact came from, not what the item is, so they are left out: otherwise every such profile looks alike."""
    text = f"{product} {product} {description or ''}"
    return _PROVENANCE.sub(" ", text).strip()


PROVENANCE_PATTERN = r"公开(?:信息|工艺知识|报道|资料)"
_PROVENANCE = re.compile(PROVENANCE_PATTERN)


MADE_FROM = re.compile(r"(?:以|由|用|采用|利用)([^，。；、,;：:（）()]{1,24}?)"
                       r"(?:为(?:主要)?原(?:材)?料|作原料|原料|制得|制成|制备|合成|聚合|生产|加工)")
"""A clause saying what an item is made from (以己二酸为原料, 由尼龙66盐聚合): it names an input."""


def made_from(description: str) -> list[str]:
    """The inputs a description says its item is made from (normalised text spans)."""
    return MADE_FROM.findall(normalise_text(description))


def terms_in(text: str, tokens: Sequence[str], limit: int = 8) -> list[str]:
    """The ``tokens`` (of two or more characters) that occur in ``text``, longest first, then by where they
    first occur: Chinese has no spaces, so a need's 正极材料 is shared with an offer of 三元正极材料 even
    where the offer's segmentation keeps the longer word. Only one side is segmented, which is what makes
    explaining a response cheap."""
    haystack = normalise_text(text)
    found: dict[str, int] = {}
    for tok in tokens:
        if len(tok) >= 2 and tok not in found:
            at = haystack.find(tok)
            if at >= 0:
                found[tok] = at
    return sorted(found, key=lambda t: (-len(t), found[t]))[:limit]
