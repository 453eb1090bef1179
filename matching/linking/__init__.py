"""Link offer and need texts to chain-graph nodes, with a confidence and a role.

Chinese product phrases are head-final: in 正极材料烧结窑炉 the product is the 窑炉, and 正极材料 only says
what the kiln is for. Linking therefore

1. splits the product text into a *head* span and *use* spans (``X用Y``, ``用于X的Y``, ``Y（X用）``,
   ``X原料``) — :mod:`~matching.linking.spans`;
2. finds dictionary terms with the shared :class:`matching.term_matcher.TermMatcher` (longest first; a term
   inside a longer match does not count separately; a term followed by 级 is a grade such as 电池级 or API级,
   not a product; in descriptions, ASCII terms of three characters or fewer need confirmation because they
   are too often common words) — :mod:`~matching.linking.dictionary`;
3. decides the text's *family* (material, equipment, service, consumer) from whatever ends last in the head
   span: a matched node or a cue word such as 设备 / 窑炉 / 检测 / 服务 / 回收 / 充电宝 —
   :mod:`~matching.linking.cues`;
4. picks the *head noun* and sorts the other terms into modifiers and purposes —
   :mod:`~matching.linking.heads`;
5. keeps head matches of that family as ``head`` links; other matches become ``use`` links (context: what
   the buyer makes, or what the equipment is for);
6. adds description terms that specialise or are siblings of a product head (动力电池电芯 described as
   方形磷酸铁锂电芯) as extra head links — :mod:`~matching.linking.linker`;
7. falls back to TF-IDF similarity against node texts (name, synonyms, description) when the product names
   no node, with a lower confidence and only within the text's family — :mod:`~matching.linking.node_texts`.
"""

from matching.linking.linker import Linker
from matching.linking.links import (
    CONSUMER,
    DESCRIPTION_CONFIDENCE,
    EQUIPMENT,
    MATERIAL,
    SECONDARY_CONFIDENCE,
    SERVICE,
    USE_CONFIDENCE,
    ItemLinks,
    Link,
    compatible,
)

__all__ = [
    "CONSUMER", "DESCRIPTION_CONFIDENCE", "EQUIPMENT", "MATERIAL", "SECONDARY_CONFIDENCE", "SERVICE",
    "USE_CONFIDENCE", "ItemLinks", "Link", "Linker", "compatible",
]
