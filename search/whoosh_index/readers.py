"""A searcher for the index's latest generation that keeps the open readers of the segments that did not change.

whoosh 2.7's `Searcher.refresh` means to reuse them, but keys the old readers by generation and looks them up by
segment id, so it opened every segment of the index again after each commit (a few files and a hash table per
segment): after a one-document commit, most of the time of making the new document searchable."""
from __future__ import annotations

from whoosh.reading import MultiReader, SegmentReader  # type: ignore[import-untyped]
from whoosh.searching import Searcher  # type: ignore[import-untyped]


def refreshed(ix, searcher):  # type: ignore[no-untyped-def]
    """`searcher.refresh()`, reusing the readers of unchanged segments; `searcher` must not be used afterwards."""
    toc = ix._read_toc()
    if not toc.segments or not isinstance(searcher.reader(), (SegmentReader, MultiReader)):
        return searcher.refresh()  # an empty index, before or after
    old = {leaf.segment().segment_id(): leaf for leaf, _ in searcher.reader().leaf_readers()}
    readers = []
    for segment in toc.segments:
        reader = old.get(segment.segment_id())
        # Deletions are the only change a segment sees (its documents are immutable), and they only grow: the
        # same count is the same set.
        if reader is not None and reader.segment().deleted_count() == segment.deleted_count():
            del old[segment.segment_id()]
        else:
            reader = SegmentReader(ix.storage, ix.schema, segment, generation=toc.generation)
        readers.append(reader)
    for gone in old.values():
        gone.close()
    searcher.is_closed = True  # its reader is not closed: the readers kept are shared with the new one
    # Always a MultiReader, also for one segment: it carries the new generation (a kept SegmentReader carries
    # the one it was opened in), which `up_to_date` compares.
    return Searcher(MultiReader(readers, generation=toc.generation), fromindex=ix, weighting=searcher.weighting)
