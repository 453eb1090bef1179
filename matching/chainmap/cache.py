"""Facts built once per state of an index and reused until a write changes it (API and CLI share this)."""

from __future__ import annotations

import threading

from matching.chainmap.facts import ChainFacts, build_facts
from matching.chainmap.params import DEFAULT_MAP_PARAMS, MapParams
from matching.item_index import ItemIndex

_Key = tuple[int, int, int, int, int, int]


class FactsCache:
    """The latest :class:`ChainFacts`; a write (rows appended, records added or removed) invalidates it."""

    def __init__(self, params: MapParams = DEFAULT_MAP_PARAMS) -> None:
        self.params = params
        self._lock = threading.Lock()
        self._key: _Key | None = None
        self._facts: ChainFacts | None = None

    @staticmethod
    def _state(index: ItemIndex) -> _Key:
        alive = int(index.ent_alive.view.sum())  # removals flip flags without appending rows
        return (id(index), len(index.offers), len(index.needs), len(index.ent_id), len(index.records), alive)

    def get(self, index: ItemIndex) -> ChainFacts:
        key = self._state(index)
        with self._lock:
            if self._facts is None or self._key != key:
                self._facts = build_facts(index, self.params)
                self._key = key
            return self._facts
