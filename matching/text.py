"""Text: normalisation, jieba segmentation with the chain dictionary, and TF-IDF vectors.

Normalisation is NFKC (which also folds full-width forms to half-width), Traditional → Simplified
(OpenCC ``t2s``) and lower case. Segmentation uses a private :class:`jieba.Tokenizer` whose user
dictionary holds every chain-graph term, so 磷酸锰铁锂 or PTMEG stay one token. Vectors concatenate a
word TF-IDF (jieba tokens) and a character n-gram TF-IDF (``char_wb`` 2–3), each L2-normalised and
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
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

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


def normalise_text(text: str) -> str:
    """NFKC (full-width → half-width), Traditional → Simplified, lower case, single spaces."""
    folded = unicodedata.normalize("NFKC", text)
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
    """Segmenter plus fitted TF-IDF vectorisers (scikit-learn conventions: fitted attributes end in ``_``).

    Segmentation is cached per whitespace-separated chunk: product names and description phrases repeat
    across a province's firms, so a bulk load segments each distinct chunk once.
    """

    def __init__(self, dictionary_terms: Iterable[str] = ()) -> None:
        terms = frozenset(t for t in (normalise_text(x) for x in dictionary_terms) if len(t) >= 2 and " " not in t)
        self.tokenizer = _tokenizer_for(terms)
        self.dictionary: frozenset[str] = terms
        self.word_vectorizer_: TfidfVectorizer | None = None
        self.char_vectorizer_: TfidfVectorizer | None = None
        self._chunks: dict[str, list[str]] = {}

    def tokens(self, text: str) -> list[str]:
        """Content tokens of ``text`` (normalised, segmented, stopwords and punctuation dropped)."""
        return self._analyse(normalise_text(text))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the fitted vocabularies, not the segmenter (rebuilt from the dictionary) or its cache."""
        state = dict(self.__dict__)
        state.pop("tokenizer", None)
        state["_chunks"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.tokenizer = _tokenizer_for(self.dictionary)

    def fit(self, corpus: Sequence[str]) -> TextModel:
        """Fit both vectorisers on ``corpus`` (raw texts)."""
        self.fit_transform(corpus)
        return self

    def fit_transform(self, corpus: Sequence[str]) -> sp.csr_matrix:
        """Fit both vectorisers on ``corpus`` and return its rows (as :meth:`transform` would)."""
        docs = [normalise_text(t) for t in corpus] or ["_"]
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer=self._analyse, sublinear_tf=True, min_df=1, dtype=np.float64
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, min_df=1, dtype=np.float64
        )
        words = self.word_vectorizer_.fit_transform(docs)
        chars = self.char_vectorizer_.fit_transform(docs)
        joint = self._join(words, chars)
        return joint if corpus else joint[:0]

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Unit-length rows (word ⊕ char TF-IDF); an empty text gives a zero row."""
        if self.word_vectorizer_ is None or self.char_vectorizer_ is None:
            raise RuntimeError("TextModel is not fitted")
        docs = [normalise_text(t) for t in texts]
        if not docs:
            return sp.csr_matrix((0, self.n_features), dtype=np.float64)
        return self._join(self.word_vectorizer_.transform(docs), self.char_vectorizer_.transform(docs))

    @staticmethod
    def _join(words: sp.csr_matrix, chars: sp.csr_matrix) -> sp.csr_matrix:
        half = math.sqrt(0.5)
        joint = sp.hstack([normalize(words) * half, normalize(chars) * half], format="csr")
        return normalize(joint).astype(np.float64)

    @property
    def n_features(self) -> int:
        if self.word_vectorizer_ is None or self.char_vectorizer_ is None:
            return 0
        return len(self.word_vectorizer_.vocabulary_) + len(self.char_vectorizer_.vocabulary_)

    def _analyse(self, doc: str) -> list[str]:
        out: list[str] = []
        for chunk in doc.split(" "):
            hit = self._chunks.get(chunk)
            if hit is None:
                if len(self._chunks) >= CHUNK_CACHE_SIZE:
                    self._chunks.clear()
                hit = self._chunks[chunk] = _tokens(self.tokenizer, chunk)
            out.extend(hit)
        return out


CHUNK_CACHE_SIZE = 1_000_000


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
    field; a long description should not drown it)."""
    return f"{product} {product} {description or ''}".strip()


def shared_terms(a: Sequence[str], b: Sequence[str], limit: int = 8) -> list[str]:
    """Tokens common to both lists, longest first then in order of appearance in ``a``."""
    in_b = set(b)
    seen: list[str] = []
    for tok in a:
        if tok in in_b and tok not in seen:
            seen.append(tok)
    seen.sort(key=lambda t: -len(t))
    return seen[:limit]
