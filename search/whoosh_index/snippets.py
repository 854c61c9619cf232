"""Snippets for the hits of a page: the stored (compressed) text of each hit, highlighted where the query
matched. Made for the page's hits only."""
from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from search import Hit
from search.ast import Node
from search.snippets import highlight_terms, make_snippet

if TYPE_CHECKING:  # type only: the evaluation hands over its segments
    from search.whoosh_index.evaluate import _Segment


def page_hits(query: Node, page: list[tuple[_Segment, int, float]]) -> list[Hit]:
    """(segment, local document number, score) of each hit on the page → the hits with their snippets."""
    wanted_terms = highlight_terms(query)
    hits: list[Hit] = []
    for seg, d, score in page:
        body = seg.reader.stored_fields(d).get("body")
        text = zlib.decompress(body).decode("utf-8") if body else ""
        hits.append(Hit(document_id=seg.data.document_ids[d], case_id=seg.data.case_ids[d], score=score,
                        snippet=make_snippet(text, wanted_terms)))
    return hits
