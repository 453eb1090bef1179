"""The chain map with its firms, gaps (填空卡位), recruitment targets, supply-chain warnings and plan targets.

All analyses read :class:`~matching.chainmap.facts.ChainFacts`, polars tables built from the engine's link
columns by sparse products (:func:`~matching.chainmap.facts.build_facts`); the suppliers they propose come
from the engine's own vectorised ranking (:mod:`matching.chainmap.ranking`).
"""

from matching.chainmap.chain_map import chain_map
from matching.chainmap.facts import ChainFacts, build_facts
from matching.chainmap.gaps import gaps, recruitment_targets
from matching.chainmap.params import DEFAULT_MAP_PARAMS, MapParams
from matching.chainmap.report import FORMATS, MEDIA_TYPES, Format, Report, render
from matching.chainmap.targets import supplying_firms, targets
from matching.chainmap.warnings import SEVERITIES, warnings

__all__ = [
    "DEFAULT_MAP_PARAMS", "FORMATS", "MEDIA_TYPES", "SEVERITIES", "ChainFacts", "Format", "MapParams", "Report",
    "build_facts", "chain_map", "gaps", "recruitment_targets", "render", "supplying_firms", "targets", "warnings",
]
