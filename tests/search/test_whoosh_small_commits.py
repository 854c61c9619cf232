"""The whoosh backend under many small commits (the outbox drain's usual case): segments merge by size tier, a
one-posting list is kept in the term table, the searcher keeps the readers of unchanged segments; every write
is found (and every deletion gone) at once all the same."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from search.whoosh_index import WhooshIndex
from search.whoosh_index.merge import TIER_SIZE
from tests.search.test_whoosh_index import doc, search


@pytest.fixture
def ix(tmp_path: Path) -> Iterator[WhooshIndex]:
    index = WhooshIndex(tmp_path / "index")
    yield index
    index.close()


def _segments(ix: WhooshIndex) -> list[int]:
    with ix._search_lock:
        return sorted(leaf.reader().doc_count_all() for leaf, _ in ix._searcher().leaf_searchers())


def test_small_commits_merge_only_when_a_tier_is_full(ix: WhooshIndex) -> None:
    for i in range(1, TIER_SIZE):
        ix.index([doc(i, f"Vermerk {i}")])
        assert _segments(ix) == [1] * i  # nothing merged yet (whoosh's default merged at the fifth)
    ix.index([doc(TIER_SIZE, f"Vermerk {TIER_SIZE}")])
    assert _segments(ix) == [TIER_SIZE]  # the full tier merged into the new segment
    for i in range(TIER_SIZE + 1, TIER_SIZE * TIER_SIZE + 1):
        ix.index([doc(i, f"Vermerk {i}")])
    assert _segments(ix) == [TIER_SIZE * TIER_SIZE]  # ten segments of ten became one of a hundred
    assert search(ix, "Vermerk", limit=0).total == TIER_SIZE * TIER_SIZE
    assert search(ix, '"Vermerk 57"').total == 1


def test_one_document_segments_keep_postings_inline_and_are_found_exactly(ix: WhooshIndex) -> None:
    ix.index([doc(1, "Antrag auf Baugenehmigung für die Garage", unit="20")])
    ix.index([doc(2, "Widerspruch gegen den Bescheid", unit="21")])
    with ix._search_lock:
        reader = ix._searcher().leaf_searchers()[0][0].reader()
        terms = list(reader.all_terms())
        assert any(field == "text" for field, _ in terms)
        assert all(reader._terms.term_info(f, t).is_inlined() for f, t in terms)  # no block in the postings file
    assert [h.document_id for h in search(ix, '"Antrag auf Baugenehmigung"').hits] == [1]
    assert search(ix, '"auf Baugenehmigung für"').total == 1
    assert search(ix, '"Baugenehmigung Antrag"').total == 0  # positions are kept: word order counts
    assert search(ix, "Bescheid -Garage").total == 1 and search(ix, "unit:20 Garage").total == 1
    assert search(ix, "unit:21 Garage").total == 0
    ix.index([doc(1, "Antrag zurückgenommen")])  # an update of a document in a one-posting segment
    assert search(ix, "Baugenehmigung").total == 0 and search(ix, "zurückgenommen").total == 1
    for i in range(3, TIER_SIZE + 2):  # merging inlined segments keeps their postings
        ix.index([doc(i, f"Vermerk {i}")])
    assert search(ix, "zurückgenommen").total == 1 and search(ix, '"gegen den Bescheid"').total == 1
    assert sorted(ix.document_ids()) == list(range(1, TIER_SIZE + 2))


def test_the_searcher_reopens_only_changed_segments(ix: WhooshIndex) -> None:
    ix.index([doc(1, "Haushalt"), doc(2, "Haushalt")])
    ix.index([doc(3, "Satzung")])
    with ix._search_lock:
        before = {leaf.reader().segment().segment_id(): leaf.reader() for leaf, _ in
                  ix._searcher().leaf_searchers()}
    ix.index([doc(4, "Gebühren")])
    with ix._search_lock:
        after = {leaf.reader().segment().segment_id(): leaf.reader() for leaf, _ in
                 ix._searcher().leaf_searchers()}
    assert all(after[segid] is reader for segid, reader in before.items())  # kept open, not opened again
    assert not any(reader.is_closed for reader in before.values())
    ix.delete([2])  # a segment that gains a deletion is read again, with it
    assert search(ix, "Haushalt").total == 1 and search(ix, "Satzung Gebühren").total == 0
    assert search(ix, "Satzung").total == 1 and search(ix, "Gebühren").total == 1
    other = WhooshIndex(ix.path)  # a write by another instance (another process in real life) is seen too
    other.index([doc(5, "Haushalt")])
    other.close()
    assert search(ix, "Haushalt").total == 2
    assert sorted(ix.document_ids()) == [1, 3, 4, 5]
