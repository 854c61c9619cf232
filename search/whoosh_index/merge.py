"""When the index merges its segments: a small commit (the outbox drain of a few documents) writes a segment of
its own and merges nothing, until TIER_SIZE segments of about the same size have gathered, which are then merged
into one; a large commit (a reindex chunk) keeps whoosh's own policy.

Why: whoosh's default (MERGE_SMALL) merges the small segments on nearly every commit, so a one-document commit
rewrote the last few documents' postings again and again (40 % of a drain's time, and its slowest commits). By
size tiers each document is rewritten once per tier (four times until it is in a segment of 10,000), and at
most TIER_SIZE - 1 segments of a tier stay unmerged, so a search opens at most about 40 small segments."""
from __future__ import annotations

import math
from collections import defaultdict

from whoosh.reading import SegmentReader  # type: ignore[import-untyped]
from whoosh.writing import MERGE_SMALL  # type: ignore[import-untyped]

TIER_SIZE = 10  # segments per size tier before they merge; a tier spans a factor of TIER_SIZE in documents
LARGE_COMMIT = 1_000  # a commit of this many documents or more merges as whoosh does (reindex chunks)
LARGE_SEGMENT = 10_000  # segments this large are left alone by small commits, as whoosh leaves reindex chunks:
# merging them would make one drain rewrite tens of thousands of documents


def _tier(doc_count: int) -> int:
    return 0 if doc_count < TIER_SIZE else int(math.log(doc_count, TIER_SIZE))


def merge_policy(added: int):  # type: ignore[no-untyped-def]
    """The whoosh merge policy (`writer.commit(mergetype=...)`) for a commit that adds `added` documents."""
    if added >= LARGE_COMMIT:
        return MERGE_SMALL

    def merge_full_tier(writer, segments):  # type: ignore[no-untyped-def]
        """Merge the segments of each size tier that holds TIER_SIZE of them, counting the new segment, into the
        new segment; keep the others. Segments of LARGE_SEGMENT documents or more are left alone."""
        tiers = defaultdict(list)
        for seg in segments:
            if seg.doc_count_all() < LARGE_SEGMENT:
                tiers[_tier(seg.doc_count_all())].append(seg)
        merged: set[int] = set()
        size = added  # of the new segment, which grows by what is merged into it (and may fill the next tier)
        while True:
            new = _tier(size) if size else None
            full = next((t for t in sorted(tiers) if len(tiers[t]) + (t == new) >= TIER_SIZE), None)
            if full is None:
                return [seg for seg in segments if id(seg) not in merged]
            for seg in tiers.pop(full):
                reader = SegmentReader(writer.storage, writer.schema, seg)
                writer.add_reader(reader)
                reader.close()
                merged.add(id(seg))
                size += seg.doc_count_all()

    return merge_full_tier
