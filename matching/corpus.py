"""Enterprises to index, in chunks: a build never holds every validated profile at once.

A build reads the corpus twice: once for the item texts (to fit the TF-IDF weights, which linking needs) and
once for the profiles themselves, chunk by chunk. From frames the first pass never builds a profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import polars as pl

from matching.frames import frames_to_profiles
from matching.profiles import Enterprise
from matching.text import PROVENANCE_PATTERN, item_text

CHUNK_ENTERPRISES = 50_000  # enterprises per chunk: bounds the profiles and text intermediates alive at once


class ProfileChunks(Protocol):
    """Chunks of enterprises in a fixed order; chunk ``i`` of :meth:`texts` belongs to chunk ``i`` of
    :meth:`profiles` and lists its items' texts, all offers first, then all needs, in profile order."""

    def texts(self) -> Iterator[list[str]]: ...

    def profiles(self) -> Iterator[Sequence[Enterprise]]: ...


class ListChunks:
    """Chunks of profiles already in memory."""

    def __init__(self, enterprises: Sequence[Enterprise], size: int | None = None) -> None:
        self.enterprises = enterprises
        self.size = size or CHUNK_ENTERPRISES

    def profiles(self) -> Iterator[Sequence[Enterprise]]:
        for lo in range(0, len(self.enterprises), self.size):
            yield self.enterprises[lo : lo + self.size]

    def texts(self) -> Iterator[list[str]]:
        for chunk in self.profiles():
            yield [*(item_text(o.product, o.description) for e in chunk for o in e.offers),
                   *(item_text(n.product, n.description) for e in chunk for n in e.needs)]


class PagedChunks:
    """Chunks read again on each pass from a source of ``(id, seq, profile JSON object)`` pages (a store
    snapshot), so only one page of profiles is alive at a time. The source must yield the same pages on every
    call. The profile pass records each id's ``seq`` in :attr:`seqs`; ``on_page(phase, enterprises)`` is told
    of every page read (``texts`` or ``profiles``)."""

    def __init__(self, pages: Callable[[], Iterator[list[tuple[str, int, Any]]]],
                 on_page: Callable[[str, int], None] | None = None) -> None:
        self.pages = pages
        self.on_page = on_page
        self.seqs: dict[str, int] = {}

    def profiles(self) -> Iterator[Sequence[Enterprise]]:
        for page in self.pages():
            chunk = [Enterprise.model_validate(profile) for _, _, profile in page]
            self.seqs.update((eid, seq) for eid, seq, _ in page)
            del page
            yield chunk
            if self.on_page is not None:
                self.on_page("profiles", len(chunk))

    def texts(self) -> Iterator[list[str]]:
        """Item texts straight from the stored JSON, which is a validated profile's dump (validation is
        idempotent and keeps every item), so this pass builds no profile."""
        for page in self.pages():
            yield [*(item_text(o["product"], o.get("description")) for _, _, p in page for o in p.get("offers", ())),
                   *(item_text(n["product"], n.get("description")) for _, _, p in page for n in p.get("needs", ()))]
            if self.on_page is not None:
                self.on_page("texts", len(page))


class FrameChunks:
    """Chunks of :func:`matching.frames.profiles_to_frames` frames; profiles are validated one chunk at a time."""

    def __init__(self, enterprises: pl.DataFrame, offers: pl.DataFrame, needs: pl.DataFrame,
                 size: int | None = None) -> None:
        position = enterprises.select(pl.col("id").alias("enterprise_id"),
                                      pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos"))
        self.enterprises = enterprises
        self.offers = _in_profile_order(offers, position)
        self.needs = _in_profile_order(needs, position)
        self.size = size or CHUNK_ENTERPRISES

    def _slices(self) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]]:
        for lo in range(0, self.enterprises.height, self.size):
            hi = lo + self.size
            yield (self.enterprises.slice(lo, self.size),
                   self.offers.filter(pl.col("_pos").is_between(lo, hi, closed="left")),
                   self.needs.filter(pl.col("_pos").is_between(lo, hi, closed="left")))

    def profiles(self) -> Iterator[Sequence[Enterprise]]:
        for ents, offers, needs in self._slices():
            yield frames_to_profiles(ents, offers.drop("_pos"), needs.drop("_pos"))

    def texts(self) -> Iterator[list[str]]:
        for _, offers, needs in self._slices():
            yield [*_texts(offers), *_texts(needs)]


def _in_profile_order(items: pl.DataFrame, position: pl.DataFrame) -> pl.DataFrame:
    """Items sorted by their enterprise's position (stable, so each profile keeps its item order);
    items of an unknown enterprise are dropped, as :func:`frames_to_profiles` drops them."""
    return items.join(position, on="enterprise_id", how="inner", maintain_order="left").sort("_pos",
                                                                                             maintain_order=True)


def _texts(items: pl.DataFrame) -> list[str]:
    product = pl.col("product")
    text = pl.concat_str([product, product, pl.col("description").fill_null("")], separator=" ")
    text = text.str.replace_all(PROVENANCE_PATTERN, " ").str.strip_chars()  # as :func:`item_text` does
    out: list[str] = items.select(text).to_series().to_list()
    return out
