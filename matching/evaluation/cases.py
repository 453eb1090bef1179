"""Judged case sets: corpus and cases with graded relevance, loaded and reference-checked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from matching.errors import NotFoundError
from matching.profiles import Enterprise, Need, Offer

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

Hit = tuple[str, str | None]
"""One ranked counterpart: (enterprise id, offer or need id; None for inferred demand)."""


EVAL_SETS: tuple[str, ...] = ("dev", "holdout", "blind2")
"""Shipped case sets: ``dev`` (tuned against), ``holdout`` (looked at, so development too), ``blind2`` (blind)."""


def eval_set_dir(name: str) -> Path:
    """Directory of a shipped case set (package data, so it works from an installed wheel)."""
    if name not in EVAL_SETS:
        raise NotFoundError("evaluation set", name)
    return Path(__file__).resolve().parent / "sets" / name


def default_eval_dir() -> Path:
    """The development set's directory."""
    return eval_set_dir("dev")


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

