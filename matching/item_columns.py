"""The per-item and per-enterprise columns of :class:`matching.item_index.ItemIndex`.

:class:`ItemColumns` holds one item kind (offers or needs) as growable arrays and row blocks: row ``i`` is item
``i`` in every column. :class:`EntRecord` is what an enterprise keeps outside the columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matching.columns import Growable, RowBlocks
from matching.profiles import Enterprise

HEAD_WIDTH = 4  # head links kept per item (strongest first); real items have one or two
USE_WIDTH = 3
FOR_WIDTH = 4


@dataclass(slots=True)
class EntRecord:
    """Per-enterprise data that is not a column: the profile (as JSON) and its rows.

    The profile is kept as its JSON text and validated again on access: at a million firms the validated
    models would cost several GB, and only single lookups (``MatchEngine.get``, unit warnings) read them.
    """

    profile: str
    slot: int
    region_code: str | None
    certs: frozenset[str]
    offer_rows: list[int] = field(default_factory=list)
    need_rows: list[int] = field(default_factory=list)
    made: dict[int, float] = field(default_factory=dict)  # node → confidence of what it makes
    need_heads: tuple[int, ...] = ()  # head nodes of its explicit needs (what it already asks for)

    @property
    def enterprise(self) -> Enterprise:
        return Enterprise.model_validate_json(self.profile)


class ItemColumns:
    """Columns of one item kind (offers or needs)."""

    def __init__(self, n_features: int, n_nodes: int) -> None:
        self.ent = Growable(np.int32)
        self.alive = Growable(np.bool_, fill=False)
        # Copies of the enterprise's region code and standing per item: a slot's columns never change (a
        # replaced profile gets a new slot), and the graph cut then reads rows of one node, not random slots.
        # Only the supplier cut reads them (offers); needs keep them too so both kinds stay alike.
        self.code = Growable(np.int32, fill=-1)
        self.standing = Growable(np.float32)
        self.family = Growable(np.int8)
        self.confident = Growable(np.bool_)
        self.head_nodes = Growable(np.int32, HEAD_WIDTH, fill=-1)
        self.head_conf = Growable(np.float32, HEAD_WIDTH)
        self.use_nodes = Growable(np.int32, USE_WIDTH, fill=-1)
        self.use_conf = Growable(np.float32, USE_WIDTH)
        self.for_nodes = Growable(np.int32, FOR_WIDTH, fill=-1)
        self.qty = Growable(np.float64, fill=np.nan)
        self.qty_dim = Growable(np.int16, fill=-1)
        self.use_alone = Growable(np.bool_)
        self.part_of_category = Growable(np.bool_)
        self.has_required = Growable(np.bool_)
        self.item_id: list[str] = []
        self.product: list[str] = []
        self.description: list[str | None] = []
        self.unit: list[str | None] = []
        self.required = Growable(object, fill=None)
        self.text = RowBlocks(n_features, transposed=False)  # gathered by row for cosines only
        self.retrieval = RowBlocks(n_features)
        self.head_matrix = RowBlocks(n_nodes)
        self.use_matrix = RowBlocks(n_nodes)
        self.for_matrix = RowBlocks(n_nodes)

    def __len__(self) -> int:
        return len(self.item_id)

    def matrices(self) -> tuple[RowBlocks, ...]:
        """The sparse row matrices, in :mod:`matching.persist`'s order."""
        return self.text, self.retrieval, self.head_matrix, self.use_matrix, self.for_matrix
