"""Offline quality evaluation: a judged case set, ranking metrics, and a text-only baseline.

The case set (``tests/eval/corpus.yaml`` + ``tests/eval/cases.yaml``) holds fictional enterprise profiles and
queries judged by hand with graded relevance (1–3). Any ranker with the engine's query API
(:class:`Matcher`: ``suppliers_for``, ``buyers_for``, ``match``) is evaluated the same way:

* a returned item matches a judgement when ``(enterprise id, item id)`` are equal; a judgement whose item
  is null matches any item of that enterprise (inferred buyers who posted no need);
* each judgement is credited once (a second hit on the same judgement counts as not relevant);
* precision@k and NDCG@k (linear gains = grades) use the top k; MRR uses the top ``max(k, 10)``.

:class:`TextBaseline` answers the same queries with character n-gram TF-IDF cosine only: no chain graph,
no distance, no filters (so no certification filter), only the same-enterprise exclusion.
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, Self

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sklearn.feature_extraction.text import TfidfVectorizer

from matching.errors import NotFoundError
from matching.profiles import Enterprise, Need, Offer
from matching.results import Explanation, MatchItem, MatchResult, Party
from matching.weights import MatchFilters, WeightProfile

MRR_DEPTH = 10
HARD_CASE_TAGS: tuple[str, ...] = (
    "synonym",
    "category",
    "use_phrase",
    "distractor_equipment",
    "distractor_service",
    "distractor_consumer",
    "distractor_downstream",
    "distractor_scrap",
    "certification",
    "inferred",
)
QUERY_PARTY_ID = "query"

Hit = tuple[str, str | None]
"""One ranked counterpart: (enterprise id, offer or need id; None for inferred demand)."""


def default_eval_dir() -> Path:
    """The repository's ``tests/eval`` directory."""
    return Path(__file__).resolve().parent.parent / "tests" / "eval"


# ── case-set models ───────────────────────────────────────────────────────────────────────────────


class ItemRef(BaseModel):
    """A counterpart item: an enterprise and one of its offers or needs (null = any of its items)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enterprise: str
    item: str | None = None

    def matches(self, hit: Hit) -> bool:
        return hit[0] == self.enterprise and (self.item is None or hit[1] == self.item)


class Judgement(ItemRef):
    """A relevant counterpart with its grade: 3 exact, 2 good substitute, 1 marginal."""

    grade: Annotated[int, Field(ge=1, le=3)]


class NeedRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enterprise: str
    need: str


class OfferRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enterprise: str
    offer: str


class AdHocNeed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str = Field(min_length=1)
    description: str | None = None
    required_certifications: list[str] = Field(default_factory=list)

    def to_need(self) -> Need:
        return Need(id="q", product=self.product, description=self.description,
                    required_certifications=list(self.required_certifications))


class AdHocOffer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str = Field(min_length=1)
    description: str | None = None

    def to_offer(self) -> Offer:
        return Offer(id="q", product=self.product, description=self.description)


class Query(BaseModel):
    """Exactly one of: a corpus need, a corpus offer (buyers), an ad-hoc need or an ad-hoc offer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    need_of: NeedRef | None = None
    buyers_of: OfferRef | None = None
    need: AdHocNeed | None = None
    offer: AdHocOffer | None = None
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    certifications: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [f for f in ("need_of", "buyers_of", "need", "offer") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError(f"a query needs exactly one of need_of, buyers_of, need, offer (got {given})")
        if (self.need is not None or self.offer is not None) and self.region_code is None:
            raise ValueError("an ad-hoc query needs region_code")
        return self

    @property
    def direction(self) -> Literal["suppliers", "buyers"]:
        """``suppliers``: the answer lists offers; ``buyers``: it lists needs (or inferred buyers)."""
        return "suppliers" if self.need_of is not None or self.need is not None else "buyers"

    @property
    def asking_enterprise(self) -> str | None:
        if self.need_of is not None:
            return self.need_of.enterprise
        if self.buyers_of is not None:
            return self.buyers_of.enterprise
        return None


class Case(BaseModel):
    """One judged query."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    tags: list[str] = Field(min_length=1)
    query: Query
    relevant: list[Judgement] = Field(min_length=1)
    distractors: list[ItemRef] = Field(default_factory=list)
    must_not: list[ItemRef] = Field(default_factory=list)
    reasoning: str = Field(min_length=20)

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        keys = [(j.enterprise, j.item) for j in self.relevant]
        if len(set(keys)) != len(keys):
            raise ValueError(f"case {self.id}: duplicate relevant entry")
        bad = {(r.enterprise, r.item) for r in [*self.distractors, *self.must_not]} & set(keys)
        if bad:
            raise ValueError(f"case {self.id}: {sorted(bad)} is both relevant and a distractor/must_not")
        return self


class EvalSet(BaseModel):
    """Corpus and cases, with every referenced id checked."""

    enterprises: list[Enterprise]
    cases: list[Case]

    @model_validator(mode="after")
    def _references_exist(self) -> Self:
        problems = reference_problems(self.enterprises, self.cases)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def case(self, case_id: str) -> Case:
        for c in self.cases:
            if c.id == case_id:
                return c
        raise NotFoundError("case", case_id)

    def products(self) -> set[str]:
        """Every product the cases name: queries (posted or ad hoc) and the judged relevant items."""
        by_id = {e.id: e for e in self.enterprises}

        def product(enterprise: str, item: str, offers: bool) -> str:
            items = by_id[enterprise].offers if offers else by_id[enterprise].needs
            return next(i.product for i in items if i.id == item)

        out: set[str] = set()
        for c in self.cases:
            q = c.query
            if q.need_of is not None:
                out.add(product(q.need_of.enterprise, q.need_of.need, offers=False))
            if q.buyers_of is not None:
                out.add(product(q.buyers_of.enterprise, q.buyers_of.offer, offers=True))
            out |= {a.product for a in (q.need, q.offer) if a is not None}
            out |= {product(j.enterprise, j.item, q.direction == "suppliers") for j in c.relevant if j.item}
        return out


def reference_problems(enterprises: Sequence[Enterprise], cases: Sequence[Case]) -> list[str]:
    """Every dangling or duplicate id in a case set (empty when all is well)."""
    problems: list[str] = []
    by_id: dict[str, Enterprise] = {}
    for e in enterprises:
        if e.id in by_id:
            problems.append(f"duplicate enterprise {e.id}")
        by_id[e.id] = e
    offers = {e.id: {o.id for o in e.offers} for e in enterprises}
    needs = {e.id: {n.id for n in e.needs} for e in enterprises}
    seen_cases: set[str] = set()
    for c in cases:
        if c.id in seen_cases:
            problems.append(f"duplicate case {c.id}")
        seen_cases.add(c.id)
        q = c.query
        if q.need_of is not None and q.need_of.need not in needs.get(q.need_of.enterprise, set()):
            problems.append(f"{c.id}: need {q.need_of.enterprise}/{q.need_of.need} not in corpus")
        if q.buyers_of is not None and q.buyers_of.offer not in offers.get(q.buyers_of.enterprise, set()):
            problems.append(f"{c.id}: offer {q.buyers_of.enterprise}/{q.buyers_of.offer} not in corpus")
        items = offers if q.direction == "suppliers" else needs
        for ref in [*c.relevant, *c.distractors, *c.must_not]:
            if ref.enterprise not in by_id:
                problems.append(f"{c.id}: enterprise {ref.enterprise} not in corpus")
            elif ref.item is not None and ref.item not in items[ref.enterprise]:
                kind = "offer" if q.direction == "suppliers" else "need"
                problems.append(f"{c.id}: {kind} {ref.enterprise}/{ref.item} not in corpus")
            if ref.enterprise == q.asking_enterprise:
                problems.append(f"{c.id}: {ref.enterprise} is the asking enterprise itself")
    return problems


def load_corpus(path: Path | None = None) -> list[Enterprise]:
    raw = _read_yaml(path or default_eval_dir() / "corpus.yaml")
    return [Enterprise.model_validate(e) for e in raw["enterprises"]]


def load_cases(path: Path | None = None) -> list[Case]:
    raw = _read_yaml(path or default_eval_dir() / "cases.yaml")
    return [Case.model_validate(c) for c in raw["cases"]]


def load_eval_set(cases_path: Path | None = None, corpus_path: Path | None = None) -> EvalSet:
    """Load and validate cases and corpus (the corpus defaults to ``corpus.yaml`` beside the cases)."""
    cases_file = cases_path or default_eval_dir() / "cases.yaml"
    corpus_file = corpus_path or cases_file.parent / "corpus.yaml"
    return EvalSet(enterprises=load_corpus(corpus_file), cases=load_cases(cases_file))


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# ── metrics ───────────────────────────────────────────────────────────────────────────────────────


def grade_hits(hits: Sequence[Hit], relevant: Sequence[Judgement]) -> list[int]:
    """The grade earned at each rank; a judgement is credited once, exact-item judgements first."""
    used: set[int] = set()
    gains: list[int] = []
    order = sorted(range(len(relevant)), key=lambda i: (relevant[i].item is None, -relevant[i].grade, i))
    for hit in hits:
        gain = 0
        for i in order:
            if i not in used and relevant[i].matches(hit):
                used.add(i)
                gain = relevant[i].grade
                break
        gains.append(gain)
    return gains


def precision_at_k(gains: Sequence[float], k: int) -> float:
    """Share of the k slots holding a relevant item (an empty slot counts as not relevant)."""
    if k <= 0:
        raise ValueError("k must be positive")
    return sum(1 for g in gains[:k] if g > 0) / k


def reciprocal_rank(gains: Sequence[float]) -> float:
    """1 / rank of the first relevant item, 0 when none is found."""
    for rank, g in enumerate(gains, start=1):
        if g > 0:
            return 1.0 / rank
    return 0.0


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain with linear gains: Σ g_i / log2(i + 1), i from 1."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def ndcg_at_k(gains: Sequence[float], ideal_grades: Sequence[float], k: int) -> float:
    """DCG@k over the ideal DCG@k of all judged grades (0 when nothing is judged relevant)."""
    ideal = dcg_at_k(sorted(ideal_grades, reverse=True), k)
    return dcg_at_k(gains, k) / ideal if ideal > 0 else 0.0


class Metrics(BaseModel):
    """Mean metrics over a group of cases."""

    cases: int
    precision: float
    mrr: float
    ndcg: float
    distractor_rate: float = Field(description="Share of cases with a judged distractor in the top k")

    @classmethod
    def mean(cls, results: Sequence[CaseResult]) -> Metrics:
        n = len(results)
        if n == 0:
            return cls(cases=0, precision=0.0, mrr=0.0, ndcg=0.0, distractor_rate=0.0)
        return cls(
            cases=n,
            precision=sum(r.precision for r in results) / n,
            mrr=sum(r.rr for r in results) / n,
            ndcg=sum(r.ndcg for r in results) / n,
            distractor_rate=sum(1 for r in results if r.distractor_hits) / n,
        )


class CaseResult(BaseModel):
    """One case's ranking and scores."""

    id: str
    tags: list[str]
    hits: list[tuple[str, str | None]]
    gains: list[int]
    precision: float
    rr: float
    ndcg: float
    distractor_hits: list[tuple[str, str | None]] = Field(description="Judged distractors in the top k")
    must_not_hits: list[tuple[str, str | None]] = Field(description="Forbidden items in the top k")
    error: str | None = None


class EvalReport(BaseModel):
    """Per-case results, the overall mean and a per-tag breakdown for one system."""

    system: str
    k: int
    cases: list[CaseResult]
    overall: Metrics
    by_tag: dict[str, Metrics]

    def result(self, case_id: str) -> CaseResult:
        for r in self.cases:
            if r.id == case_id:
                return r
        raise NotFoundError("case result", case_id)


def score_case(case: Case, hits: Sequence[Hit], k: int) -> CaseResult:
    """Metrics of one ranked list against a case's judgements."""
    gains = grade_hits(hits, case.relevant)
    top = list(hits[:k])
    return CaseResult(
        id=case.id,
        tags=list(case.tags),
        hits=list(hits),
        gains=gains,
        precision=precision_at_k(gains, k),
        rr=reciprocal_rank(gains[:MRR_DEPTH]),
        ndcg=ndcg_at_k(gains, [j.grade for j in case.relevant], k),
        distractor_hits=[h for h in top if any(d.matches(h) for d in case.distractors)],
        must_not_hits=[h for h in top if any(m.matches(h) for m in case.must_not)],
    )


def summarise(system: str, k: int, results: Sequence[CaseResult]) -> EvalReport:
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        for tag in r.tags:
            groups[tag].append(r)
    return EvalReport(
        system=system,
        k=k,
        cases=list(results),
        overall=Metrics.mean(results),
        by_tag={tag: Metrics.mean(groups[tag]) for tag in sorted(groups)},
    )


# ── running a ranker over the cases ───────────────────────────────────────────────────────────────


class Matcher(Protocol):
    """The query API shared by :class:`matching.engine.MatchEngine` and :class:`TextBaseline`."""

    def suppliers_for(
        self, enterprise_id: str, need_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult: ...

    def buyers_for(
        self, enterprise_id: str, offer_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult: ...

    def match(
        self, query: Need | Offer, *, region_code: str | None = None, certifications: list[str] | None = None,
        k: int = 10, weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult: ...


def run_query(matcher: Matcher, query: Query, depth: int) -> list[Hit]:
    """Ask ``matcher`` one case query; return the counterparts in rank order."""
    if query.need_of is not None:
        result = matcher.suppliers_for(query.need_of.enterprise, query.need_of.need, k=depth)
    elif query.buyers_of is not None:
        result = matcher.buyers_for(query.buyers_of.enterprise, query.buyers_of.offer, k=depth)
    elif query.need is not None:
        result = matcher.match(query.need.to_need(), region_code=query.region_code,
                               certifications=list(query.certifications), k=depth)
    else:
        assert query.offer is not None
        result = matcher.match(query.offer.to_offer(), region_code=query.region_code,
                               certifications=list(query.certifications), k=depth)
    return [_hit(item, query.direction) for item in result.items]


def _hit(item: MatchItem, direction: str) -> Hit:
    if direction == "suppliers":
        return (item.supplier.id, item.offer_id)
    return (item.buyer.id, item.need_id)


def evaluate(matcher: Matcher, eval_set: EvalSet, k: int = 5, system: str = "engine") -> EvalReport:
    """Run every case through ``matcher`` and score it."""
    depth = max(k, MRR_DEPTH)
    results = []
    for case in eval_set.cases:
        try:
            hits = run_query(matcher, case.query, depth)
        except Exception as exc:  # a failing case is reported, not fatal
            result = score_case(case, [], k).model_copy(update={"error": f"{type(exc).__name__}: {exc}"})
        else:
            result = score_case(case, hits, k)
        results.append(result)
    return summarise(system, k, results)


def build_engine(enterprises: Sequence[Enterprise], seeds_dir: Path | None = None) -> Matcher:
    """The real engine over ``enterprises`` with the repository's graph, regions and policy."""
    from matching.chains import load_graph
    from matching.engine import MatchEngine
    from matching.policy import Policy
    from matching.regions import RegionRegistry

    engine: Matcher = MatchEngine.build(
        load_graph(seeds_dir), RegionRegistry.load(seeds_dir), Policy.load(seeds_dir), list(enterprises)
    )
    return engine


def evaluate_engine(eval_set: EvalSet | None = None, k: int = 5, seeds_dir: Path | None = None) -> EvalReport:
    data = eval_set or load_eval_set()
    return evaluate(build_engine(data.enterprises, seeds_dir), data, k, "engine")


def evaluate_baseline(eval_set: EvalSet | None = None, k: int = 5) -> EvalReport:
    data = eval_set or load_eval_set()
    return evaluate(TextBaseline(data.enterprises), data, k, "baseline")


# ── text-only baseline ────────────────────────────────────────────────────────────────────────────


def _normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def item_text(product: str, description: str | None) -> str:
    """Text of an offer or need; the product name counts twice (it is the strongest field)."""
    return f"{product} {product} {description or ''}"


class TextBaseline:
    """Character 1–3-gram TF-IDF cosine over all counterpart items. No graph, no distance, no filters.

    The buyer direction ranks posted needs only, so it cannot find buyers who posted none.
    """

    def __init__(self, enterprises: Iterable[Enterprise]) -> None:
        self.enterprises_: dict[str, Enterprise] = {e.id: e for e in enterprises}
        self.offer_refs_: list[tuple[Enterprise, Offer]] = [
            (e, o) for e in self.enterprises_.values() for o in e.offers
        ]
        self.need_refs_: list[tuple[Enterprise, Need]] = [
            (e, n) for e in self.enterprises_.values() for n in e.needs
        ]
        offer_texts = [item_text(o.product, o.description) for _, o in self.offer_refs_]
        need_texts = [item_text(n.product, n.description) for _, n in self.need_refs_]
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), preprocessor=_normalise, sublinear_tf=True
        )
        self.vectorizer_.fit(offer_texts + need_texts)
        self.offer_matrix_ = self.vectorizer_.transform(offer_texts)
        self.need_matrix_ = self.vectorizer_.transform(need_texts)

    def _enterprise(self, enterprise_id: str) -> Enterprise:
        try:
            return self.enterprises_[enterprise_id]
        except KeyError:
            raise NotFoundError("enterprise", enterprise_id) from None

    def suppliers_for(
        self, enterprise_id: str, need_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        ent = self._enterprise(enterprise_id)
        needs = [n for n in ent.needs if need_id is None or n.id == need_id]
        if not needs:
            raise NotFoundError("need", f"{enterprise_id}/{need_id}")
        me = _party(ent)
        scored = [(s, sup, me, o.id, n.id) for n in needs for s, sup, o in self._offers_like(n, ent.id)]
        return _result(scored, k)

    def buyers_for(
        self, enterprise_id: str, offer_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        ent = self._enterprise(enterprise_id)
        offers = [o for o in ent.offers if offer_id is None or o.id == offer_id]
        if not offers:
            raise NotFoundError("offer", f"{enterprise_id}/{offer_id}")
        me = _party(ent)
        scored = [(s, me, buy, o.id, n.id) for o in offers for s, buy, n in self._needs_like(o, ent.id)]
        return _result(scored, k)

    def match(
        self, query: Need | Offer, *, region_code: str | None = None, certifications: list[str] | None = None,
        k: int = 10, weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        me = Party(id=QUERY_PARTY_ID, name="查询", region_code=region_code)
        if isinstance(query, Need):
            return _result([(s, sup, me, o.id, query.id) for s, sup, o in self._offers_like(query, None)], k)
        return _result([(s, me, buy, query.id, n.id) for s, buy, n in self._needs_like(query, None)], k)

    def _offers_like(self, need: Need, exclude: str | None) -> list[tuple[float, Party, Offer]]:
        sims = self._cosines(need.product, need.description, self.offer_matrix_)
        return [(float(s), _party(e), o) for s, (e, o) in zip(sims, self.offer_refs_, strict=True)
                if s > 0 and e.id != exclude]

    def _needs_like(self, offer: Offer, exclude: str | None) -> list[tuple[float, Party, Need]]:
        sims = self._cosines(offer.product, offer.description, self.need_matrix_)
        return [(float(s), _party(e), n) for s, (e, n) in zip(sims, self.need_refs_, strict=True)
                if s > 0 and e.id != exclude]

    def _cosines(self, product: str, description: str | None, matrix: Any) -> np.ndarray:
        vec = self.vectorizer_.transform([item_text(product, description)])
        return np.asarray((matrix @ vec.T).toarray()).ravel()


def _party(e: Enterprise) -> Party:
    return Party(id=e.id, name=e.name, region_code=e.region_code)


def _result(scored: list[tuple[float, Party, Party, str, str]], k: int) -> MatchResult:
    """Top k by score, ties by ids; one entry per (supplier, offer, buyer, need)."""
    best: dict[tuple[str, str, str, str], tuple[float, Party, Party, str, str]] = {}
    for row in scored:
        key = (row[1].id, row[3], row[2].id, row[4])
        if key not in best or row[0] > best[key][0]:
            best[key] = row
    ranked = sorted(best.values(), key=lambda r: (-r[0], r[1].id, r[3], r[2].id, r[4]))[:k]
    items = [
        MatchItem(
            rank=i, score=round(s, 6), supplier=sup, offer_id=oid, buyer=buy, need_id=nid, inferred=False,
            components={"text": round(s, 6)},
            explanation=Explanation(relation="text", contributions={"text": round(s, 6)},
                                    summary_zh=f"文本相似度基线：字符n-gram TF-IDF余弦 {s:.2f}"),
        )
        for i, (s, sup, buy, oid, nid) in enumerate(ranked, start=1)
    ]
    return MatchResult(items=items, weights={"name": "text-baseline", "version": 1})
