"""The embedded search backend: whoosh (the original `Whoosh` 2.7.4, pinned) for storage, with the query
evaluated in bulk over each segment's posting lists.

Layout of one indexed document (`SCHEMA`):

- ``text``, ``title``, ``case_title``: the German analyzer (`search.analysis`), with positions;
  ``all``: a catch-all text field with the reference, file-plan code, kind, case type and the metadata values.
  A word without a field searches all four (ranking weights: title 2, case title 1.5, text and all 1).
- ``text_pairs``: every pair of adjacent terms of ``text`` of which one is a stop word (``"antrag auf"``,
  ``"der anordnung"``), as one term with positions ("common grams"): a phrase's pairs with a stop word are
  looked up as such, its other words as words, so no phrase has to compare the positions of a stop word, which
  occurs in nearly every document. Pairs of two ordinary words are not indexed: there are tens of millions of
  them in 100,000 documents, and whoosh's writer spends its time on distinct terms (indexing was 5x slower).
- ``reference``, ``file_plan_code``, ``mime_type``, ``procedure``: one folded keyword each
  (``reference:20.30/0042/2026``, ``procedure:20.30/0042/2026-3``); the procedure's reference and title are in
  ``all`` too. ``subfile`` (``<case type>/<key>``): an exact keyword for the access filter only.
- ``case_type``, ``unit``, ``status``, ``kind``, ``year``: exact keywords; filters, the access filter and the
  facets use them. A ``unit:fb20`` in a query matches the indexed values that fold to the same.
- ``meta``: metadata as ``name:term`` tokens (value analyzed like text), for ``meta.<name>:value``.
- ``created_at``, ``document_date``: DATETIME with columns; ``document_id`` (the update key) and ``case_id``
  keywords with columns; ``len_*``: word counts per text field (for BM25); ``body``: the text, stored
  zlib-compressed, for snippets.

How a search runs. The query (`search.ast`) is analysed once into a plan; then, for each segment, the plan
is evaluated with set operations on whole posting lists (decoded block by block and cached), never document by
document through whoosh's matchers: the access filter and the filters give the set of documents the caller may
see, the query the set it matches, their intersection is exactly what counts. So the total is exact, the facets
are counted over exactly that set (per-segment arrays of facet values, built once per immutable segment), and
nothing outside the caller's view is ever scored, counted or shown. Relevance is BM25 over the query's positive
terms, computed for the matching documents only; date order uses the creation dates. Snippets are made for the
page's hits only.

Why not whoosh's own query execution: its matchers step through documents one by one in Python (too slow for
exact totals and facets over 100,000 documents), and in compound queries its top-N optimisations lose hits
(`RequireMatcher` returns documents outside the restriction; `replace()`/block-quality skipping drop the best
documents of ``a -b`` and ``(a b) OR c`` queries) in 2.7.4 and in the whoosh-reloaded/whoosh3 forks alike.

Concurrency: whoosh's file lock lets one writer at a time work on the index, across processes; writes wait up
to `WRITE_TIMEOUT` seconds for it. Searches share one searcher, one at a time (they are CPU-bound Python, so
threads would not run them in parallel anyway); it is refreshed before every search when the index has changed
(one directory listing), so a document is found by the first search after its write, from any process.
Segments are written as separate files, not whoosh's compound files (which whoosh 2.7.4 and its forks copy
into memory whole while a reader is open).

The modules, one per concern: `analyzers` (the German analysis as whoosh tokenizers), `schema` (the layout and
what writing a document needs), `postings` (posting lists and positions read in bulk), `plan` (the query
analysed into a plan), `evaluate` (a plan on one segment, and BM25), `facets` (per-segment arrays and facet
counts), `snippets` (the page's snippets), `merge` (when segments merge: by size tiers for small commits),
`readers` (a refreshed searcher that keeps the readers of unchanged segments) and `index` (`WhooshIndex`, which
puts them together).
"""
from __future__ import annotations

from search.whoosh_index.analyzers import FoldedKeywordTokenizer, GermanTokenizer, MetadataTokenizer, PairsTokenizer
from search.whoosh_index.analyzers import german_analyzer
from search.whoosh_index.evaluate import FIELD_WEIGHTS, MAX_PREFIX_TERMS
from search.whoosh_index.index import POSTINGS_CACHE, WhooshIndex
from search.whoosh_index.schema import INDEX_NAME, SCHEMA, SCHEMA_VERSION, WRITE_TIMEOUT, WRITER_POOL_MB

__all__ = ["FIELD_WEIGHTS", "INDEX_NAME", "MAX_PREFIX_TERMS", "POSTINGS_CACHE", "SCHEMA", "SCHEMA_VERSION",
           "WRITER_POOL_MB", "WRITE_TIMEOUT", "FoldedKeywordTokenizer", "GermanTokenizer", "MetadataTokenizer",
           "PairsTokenizer", "WhooshIndex", "german_analyzer"]
