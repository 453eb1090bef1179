"""Declarative matching parameters: every tuning constant of the engine in one frozen, versioned model.

Relation strengths (``relation_*``) say how well an offer at one chain node answers demand at another; the
remaining fields shape candidate generation and how graph and text evidence are fused into the product
component. Each field's description is its one-line reason; ``chainmatch params`` prints them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MatchParams(BaseModel):
    """Tuning constants of the vectorised engine (versioned alongside the weight profile)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(default=3, ge=1, description="Bumped whenever a default below changes")

    # -- relation strengths (offer node → demand node) ------------------------------------------
    relation_same: float = Field(1.0, description="The offer is exactly the node asked for")
    relation_specialisation: float = Field(0.9, description="A kind of the asked node (NCM811 for 正极材料)")
    relation_specialisation_step: float = Field(0.03, description="Each extra is_a level is a little less exact")
    relation_specialisation_min: float = Field(0.8, description="Deep specialisations still answer the need")
    relation_generalisation: float = Field(0.5, description="The broader category may or may not fit")
    relation_input: float = Field(0.6, description="A direct input of what the buyer makes")
    relation_input_specialised: float = Field(0.57, description="A kind of a direct input")
    relation_input_2hop: float = Field(0.35, description="An input of an input: plausible, weaker")
    relation_sibling: float = Field(0.5, description="Same category, neither made from the other: substitute")
    relation_equipment_for: float = Field(0.45, description="Equipment or service for making the buyer's product")
    category_input_span: int = Field(40, description="Specialisations whose inputs a category inherits")

    # -- linking ----------------------------------------------------------------------------------
    category_fallback_confidence: float = Field(
        0.6, description="A category product narrowed by its description keeps the category at this confidence"
    )
    suffix_confidence: float = Field(0.85, description="A known term found after stripping 原料/材料/产品/系列")
    description_head_confidence: float = Field(
        0.6, description="A head taken from the description when the product names nothing: text must help"
    )
    alternative_confidence: float = Field(
        0.6, description="A product a need's description names as acceptable too (X或Y均可): a weaker head"
    )
    low_confidence: float = Field(0.8, description="Below this link confidence, text may carry the rank")

    # -- candidates -------------------------------------------------------------------------------
    graph_top_n: int = Field(
        1024, description="Graph candidates per demand in a single query: the best by relation, distance, "
        "cross-region and standing (benchmarks/candidate_cut.py: top-10 overlap 0.97 with uncapped lists at 1M)"
    )
    buyer_top_n: int = Field(
        2048, description="Graph candidates (explicit needs) per offer in a single buyer query; equal relations "
        "are not ranked by party columns there, so the list is kept longer"
    )
    graph_top_n_batch: int = Field(
        64, description="Graph candidates per demand in a batch run (ties beyond the cut are equals)"
    )
    text_top_n: int = Field(50, description="Text candidates per demand: enough to cover any realistic pool")
    text_candidate_min: float = Field(0.05, description="Cosines below this share no meaningful term")
    text_max_df: float = Field(0.01, description="Text features in more items than this share are not retrieved")
    text_max_df_floor: int = Field(1000, description="... but small corpora never prune (boilerplate is rare)")
    text_champions: int = Field(
        1000, ge=1, description="A retrieved feature lists only the items it weighs most in (champion lists), so "
        "a query's text walk stays bounded at any corpus size"
    )

    # -- fusion of graph and text into the product component -----------------------------------
    text_relation_factor: float = Field(0.5, description="Unlinked or weakly linked side: the text decides")
    linked_text_factor: float = Field(0.25, description="Both confidently linked yet unrelated: text, discounted")
    weak_link_text_factor: float = Field(
        0.9, description="A weakly linked need: a strong text match may outrank the uncertain graph pair"
    )
    head_not_for_use: float = Field(0.9, description="The named kind, but not known as an input of the purpose")
    spec_span: float = Field(0.15, description="Exact-node pairs lose up to this when the text disagrees")
    spec_text_full: float = Field(0.5, description="... and nothing once the texts are this similar")
    sibling_text_full: float = Field(0.35, description="A sibling counts fully once texts are this similar")
    sibling_floor: float = Field(0.2, description="A sibling with no shared text keeps this share")
    sibling_text_min: float = Field(0.05, description="Below this text a sibling only fills short lists")
    backfill_text_min: float = Field(0.1, description="Text-only pairs below this are dropped")
    text_relation_min: float = Field(0.3, description="Text-only pairs below this only fill short lists")
    served: float = Field(0.8, description="A demand served this well by the graph needs no text look-alikes")



DEFAULT_PARAMS = MatchParams()
