"""whoosh names segments from the global `random`: reseeding it (Hypothesis does per example; forked workers
share a state) must not make a new segment overwrite an existing one's files."""
from __future__ import annotations

import datetime as dt
import random

from search import AccessFilter, Filters, IndexedDocument, SearchRequest
from search.query import parse
from search.whoosh_index import WhooshIndex


def _doc(document_id: int, text: str) -> IndexedDocument:
    return IndexedDocument(document_id, 1, "20.30/0001/2026", "Rechnung Büro", "general", "20", "20.30", "open",
                           "Rechnung", "document", "text/plain", text, None, dt.datetime(2026, 1, 1))


def test_reseeded_random_does_not_corrupt_the_index(tmp_path) -> None:
    ix = WhooshIndex(tmp_path / "ix")
    try:
        for i, text in enumerate(["Widerspruchsfrist Gewerbeanmeldung", "Quastenflosser", "Rechnung Büromaterial"]):
            random.seed(0)  # as Hypothesis does before each example
            ix.index([_doc(i + 1, text)])
        page = ix.search(SearchRequest(parse(""), AccessFilter(all_units=True), Filters(), "relevance", 0, 20))
        assert sorted(h.document_id for h in page.hits) == [1, 2, 3]
        hits = ix.search(SearchRequest(parse("Quastenflosser"), AccessFilter(all_units=True), Filters(),
                                       "relevance", 0, 20)).hits
        assert [h.document_id for h in hits] == [2]
    finally:
        ix.close()
